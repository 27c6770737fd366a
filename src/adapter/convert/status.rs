//! A Pod's `status` computed from what Docker says about the pod's containers, the way the
//! kubelet computes it: container states from the runtime, the phase from those states and the
//! restart policy (`getPhase`), the kubelet-owned conditions (`status/generate.go`) and the
//! status manager's rule that a condition's `lastTransitionTime` moves only when its status does.
//!
//! Everything here is pure: the controller gathers `GET /containers/{id}/json` of every
//! container of the pod ([`Observed`]) plus what only it knows (why a container is waiting,
//! [`Waiting`]), and writes the returned status. Tests run on inspects recorded from the
//! Docker daemon of this machine (testdata/pod/, made by its capture.sh).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::labels;

/// What Docker has for one pod.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Inspect of the pod's sandbox (`TYPE=podsandbox`) container, if it exists.
    pub sandbox: Option<Value>,
    /// Inspects of every `TYPE=container` container of the pod, all attempts, any order.
    pub containers: Vec<Value>,
    /// Image id (`sha256:…`, a container inspect's `Image`) → the image's first `RepoDigests`
    /// entry (`repo@sha256:…`, from `GET /images/{id}/json`). Container inspects do not carry
    /// digests, and the kubelet reports `docker-pullable://<digest>` when the image has one.
    /// Images missing here are reported as `docker://sha256:…`, which is also right for
    /// locally built or imported images.
    pub repo_digests: HashMap<String, String>,
}

/// Why a container is not running, as only the controller knows it (`ContainerCreating`,
/// `PodInitializing`, `ErrImagePull`, `ImagePullBackOff`, `CrashLoopBackOff`,
/// `CreateContainerConfigError`, …). Like the kubelet's reason cache, it is shown only while
/// the container's current attempt is not running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    /// May be empty; then no `message` is written.
    pub message: String,
}

/// The node this k2d is.
#[derive(Debug, Clone, Copy)]
pub struct HostInfo<'a> {
    pub host_ip: &'a str,
    pub node_name: &'a str,
}

/// Probe results from the prober (`controller::prober`), keyed by container name, for the
/// containers' current attempts.
///
/// With `None` in place of this (what [`pod_status`] passes, e.g. for mirrored containers),
/// probes are treated as passing: a running container is started and ready. With `Some`, a
/// container that declares a `readinessProbe`
/// (`startupProbe`) is ready (started) only once `ready` (`started`) holds `true` for it;
/// containers without that probe behave as if it passed.
#[derive(Debug, Clone, Default)]
pub struct ProbeResults {
    pub ready: HashMap<String, bool>,
    pub started: HashMap<String, bool>,
}

/// The pod's full `status`, for a pod bound to this node. `now` is RFC 3339 seconds
/// (`2026-11-26T07:14:41Z`); it becomes the `lastTransitionTime` of conditions that change
/// and the `startTime` of a pod seen for the first time.
///
/// Previous values come from `pod["status"]`: transition times, `startTime`, `qosClass`, pod
/// IPs once the sandbox is gone, and the statuses of containers that vanished from Docker.
/// A pod whose `spec.nodeName` is not this node is not ours to report on: its status is
/// returned as it is (phase defaulted to `Pending`).
pub fn pod_status(
    pod: &Value,
    observed: &Observed,
    waiting: &HashMap<String, Waiting>,
    host: &HostInfo,
    now: &str,
) -> Value {
    pod_status_with_probes(pod, observed, waiting, None, host, now)
}

/// [`pod_status`] with probe results; see [`ProbeResults`].
pub fn pod_status_with_probes(
    pod: &Value,
    observed: &Observed,
    waiting: &HashMap<String, Waiting>,
    probes: Option<&ProbeResults>,
    host: &HostInfo,
    now: &str,
) -> Value {
    let spec = &pod["spec"];
    let old = &pod["status"];
    let node = spec["nodeName"].as_str().unwrap_or_default();
    if node.is_empty() || node != host.node_name {
        return not_ours(spec, old);
    }
    let init_specs = items(&spec["initContainers"]);
    let specs = items(&spec["containers"]);
    let ctx = Ctx {
        observed,
        waiting,
        probes,
        old,
        has_init: !init_specs.is_empty(),
        deleting: pod["metadata"]["deletionTimestamp"].is_string(),
    };
    let init_statuses: Vec<Value> = init_specs.iter().map(|c| ctx.container(c, true)).collect();
    let statuses: Vec<Value> = specs.iter().map(|c| ctx.container(c, false)).collect();

    let any_running =
        init_statuses.iter().chain(&statuses).any(|s| s["state"]["running"].is_object());
    let mut phase =
        phase(spec, init_specs, &init_statuses, &statuses, ctx.deleting && !any_running);
    // The kubelet never moves a pod out of a terminal phase.
    if let Some(p @ ("Succeeded" | "Failed")) = old["phase"].as_str() {
        phase = if p == "Succeeded" { "Succeeded" } else { "Failed" };
    }

    let conditions = conditions(spec, old, observed, &init_statuses, &statuses, phase, now);

    let mut out = Map::new();
    out.insert("phase".into(), json!(phase));
    out.insert("conditions".into(), Value::Array(conditions));
    if !host.host_ip.is_empty() {
        out.insert("hostIP".into(), json!(host.host_ip));
        out.insert("hostIPs".into(), json!([{ "ip": host.host_ip }]));
    }
    let ips = if spec["hostNetwork"].as_bool() == Some(true) {
        vec![host.host_ip.to_owned()].into_iter().filter(|ip| !ip.is_empty()).collect()
    } else {
        observed.sandbox.as_ref().map(sandbox_ips).unwrap_or_default()
    };
    if let Some(first) = ips.first() {
        out.insert("podIP".into(), json!(first));
        out.insert("podIPs".into(), ips.iter().map(|ip| json!({ "ip": ip })).collect());
    } else if old["podIP"].is_string() {
        // A stopped sandbox has no address any more; the kubelet keeps reporting the one the
        // pod had, so completed pods still show their IP.
        out.insert("podIP".into(), old["podIP"].clone());
        if old["podIPs"].is_array() {
            out.insert("podIPs".into(), old["podIPs"].clone());
        }
    }
    let start = old["startTime"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| observed.sandbox.as_ref().and_then(|s| docker_time(&s["Created"])))
        .unwrap_or_else(|| now.to_owned());
    out.insert("startTime".into(), json!(start));
    if !init_specs.is_empty() {
        out.insert("initContainerStatuses".into(), Value::Array(init_statuses));
    }
    out.insert("containerStatuses".into(), Value::Array(statuses));
    out.insert("qosClass".into(), qos_of(spec, old));
    Value::Object(out)
}

/// The newest attempt (highest `RESTART_COUNT` label; the later-created one on a tie) of the
/// named container, as the one whose state is the container's current state.
pub fn current_attempt<'a>(observed: &'a Observed, container: &str) -> Option<&'a Value> {
    attempts(observed, container).next_back()
}

/// The attempt before the current one: what `lastState` and `logs --previous` show.
pub fn previous_attempt<'a>(observed: &'a Observed, container: &str) -> Option<&'a Value> {
    attempts(observed, container).rev().nth(1)
}

/// The attempts of one container, oldest first.
fn attempts<'a>(observed: &'a Observed, container: &str) -> std::vec::IntoIter<&'a Value> {
    let mut found: Vec<&Value> = observed
        .containers
        .iter()
        .filter(|c| label(c, labels::CONTAINER_NAME) == Some(container))
        .filter(|c| label(c, labels::TYPE).is_none_or(|t| t == "container"))
        .collect();
    found.sort_by_key(|c| (attempt_number(c), docker_instant(&c["Created"])));
    found.into_iter()
}

/// The attempt number a container carries in its `RESTART_COUNT` label (0 when absent).
pub fn attempt_number(inspect: &Value) -> u32 {
    label(inspect, labels::RESTART_COUNT).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn label<'a>(inspect: &'a Value, key: &str) -> Option<&'a str> {
    inspect["Config"]["Labels"][key].as_str()
}

/// A Docker timestamp (RFC 3339 with nanoseconds, UTC) as Kubernetes writes times: RFC 3339
/// with whole seconds, truncated as `metav1.Time` does. Docker's zero time
/// (`0001-01-01T00:00:00Z`) means "never" and gives `None`.
pub fn docker_time(value: &Value) -> Option<String> {
    let t = docker_instant(value)?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

fn docker_instant(value: &Value) -> Option<std::time::SystemTime> {
    let s = value.as_str()?;
    if s.starts_with("0001-") {
        return None;
    }
    humantime::parse_rfc3339_weak(s).ok()
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn name_of(v: &Value) -> &str {
    v["name"].as_str().unwrap_or_default()
}

/// Init containers with `restartPolicy: Always` are sidecars: they keep running beside the
/// regular containers and count as initialised once started.
fn is_sidecar(c: &Value) -> bool {
    c["restartPolicy"].as_str() == Some("Always")
}

/// A pod bound elsewhere (or not yet bound): the kubelet of this node does not write its status.
fn not_ours(spec: &Value, old: &Value) -> Value {
    let mut out = old.as_object().cloned().unwrap_or_default();
    out.entry("phase").or_insert_with(|| json!("Pending"));
    out.entry("qosClass").or_insert_with(|| qos_of(spec, old));
    Value::Object(out)
}

struct Ctx<'a> {
    observed: &'a Observed,
    waiting: &'a HashMap<String, Waiting>,
    probes: Option<&'a ProbeResults>,
    old: &'a Value,
    has_init: bool,
    deleting: bool,
}

impl Ctx<'_> {
    fn old_status(&self, name: &str, init: bool) -> Option<&Value> {
        let key = if init { "initContainerStatuses" } else { "containerStatuses" };
        items(&self.old[key]).iter().find(|s| name_of(s) == name)
    }

    /// What a container that has not run yet waits for.
    fn default_waiting(&self) -> Value {
        let reason = if self.has_init { "PodInitializing" } else { "ContainerCreating" };
        json!({ "waiting": { "reason": reason } })
    }

    fn container(&self, spec: &Value, init: bool) -> Value {
        let name = name_of(spec);
        let mut state;
        let mut last_state = json!({});
        let mut restart_count: i64 = 0;
        let mut container_id = None;
        let mut image_id = json!("");
        let mut mounts = None;
        match current_attempt(self.observed, name) {
            Some(current) => {
                state = container_state(current).unwrap_or_else(|| self.default_waiting());
                restart_count = i64::from(attempt_number(current));
                if let Some(t) = previous_attempt(self.observed, name).and_then(terminated) {
                    last_state = json!({ "terminated": t });
                }
                let id = current["Id"].as_str().unwrap_or_default();
                container_id = Some(json!(format!("docker://{id}")));
                image_id = json!(self.image_id(current));
                mounts = Some(volume_mounts(spec));
            }
            None => {
                state = self.default_waiting();
                if let Some(old) = self.old_status(name, init) {
                    restart_count = old["restartCount"].as_i64().unwrap_or(0);
                    if old["lastState"].is_object() {
                        last_state = old["lastState"].clone();
                    }
                    if old["state"]["terminated"].is_object() {
                        // Removed after it finished: what it ended with stays true.
                        state = old["state"].clone();
                        container_id = old.get("containerID").cloned();
                        image_id = old["imageID"].clone();
                    } else if old["state"]["running"].is_object()
                        && !last_state["terminated"].is_object()
                    {
                        // It was running and is gone (`docker rm -f` behind our back): it
                        // terminated with an unknown status, and unless the pod is being
                        // deleted the next attempt is a restart.
                        last_state = json!({ "terminated": {
                            "exitCode": 137,
                            "reason": "ContainerStatusUnknown",
                            "message": "The container could not be located when the pod was deleted.  The container used to be Running",
                            "startedAt": null,
                            "finishedAt": null,
                        }});
                        if !self.deleting {
                            restart_count += 1;
                        }
                    }
                }
            }
        }
        if let Some(w) = self.waiting.get(name)
            && !state["running"].is_object()
        {
            if state["terminated"].is_object() {
                last_state = state;
            }
            let mut waiting = Map::new();
            waiting.insert("reason".into(), json!(w.reason));
            if !w.message.is_empty() {
                waiting.insert("message".into(), json!(w.message));
            }
            state = json!({ "waiting": waiting });
        }

        let running = state["running"].is_object();
        let probes = self.probes;
        let passed =
            |results: fn(&ProbeResults) -> &HashMap<String, bool>, probe: &str| match probes {
                Some(p) if spec[probe].is_object() => results(p).get(name) == Some(&true),
                _ => true,
            };
        let started = running && passed(|p| &p.started, "startupProbe");
        let ready = if init && !is_sidecar(spec) {
            // A finished init container is ready: that is what Initialized counts.
            state["terminated"]["exitCode"].as_i64() == Some(0)
        } else {
            started && passed(|p| &p.ready, "readinessProbe")
        };

        let mut out = Map::new();
        out.insert("name".into(), json!(name));
        out.insert("state".into(), state);
        out.insert("lastState".into(), last_state);
        out.insert("ready".into(), json!(ready));
        out.insert("restartCount".into(), json!(restart_count));
        out.insert("image".into(), spec["image"].clone());
        out.insert("imageID".into(), image_id);
        if let Some(id) = container_id {
            out.insert("containerID".into(), id);
        }
        out.insert("started".into(), json!(started));
        if let Some(m) = mounts.filter(|m| !m.is_empty()) {
            out.insert("volumeMounts".into(), Value::Array(m));
        }
        Value::Object(out)
    }

    fn image_id(&self, inspect: &Value) -> String {
        let image = inspect["Image"].as_str().unwrap_or_default();
        match self.observed.repo_digests.get(image) {
            Some(digest) => format!("docker-pullable://{digest}"),
            None => format!("docker://{image}"),
        }
    }
}

/// The kubelet (1.31+) reports each mount of a started container; k2d has no recursive
/// read-only mounts, so read-only ones are `Disabled`.
fn volume_mounts(spec: &Value) -> Vec<Value> {
    items(&spec["volumeMounts"])
        .iter()
        .map(|m| {
            let mut out = Map::new();
            out.insert("name".into(), m["name"].clone());
            out.insert("mountPath".into(), m["mountPath"].clone());
            if m["readOnly"].as_bool() == Some(true) {
                out.insert("readOnly".into(), json!(true));
                out.insert("recursiveReadOnly".into(), json!("Disabled"));
            }
            Value::Object(out)
        })
        .collect()
}

/// A container's state from its inspect; `None` when Docker created it but has not started
/// it yet (the caller's default waiting reason applies).
fn container_state(inspect: &Value) -> Option<Value> {
    if inspect["State"]["Running"].as_bool() == Some(true) {
        let started = docker_time(&inspect["State"]["StartedAt"]);
        return Some(json!({ "running": { "startedAt": started } }));
    }
    terminated(inspect).map(|t| json!({ "terminated": t }))
}

/// The `terminated` state of a container that is not running, or `None` if it never ran and
/// did not fail to start.
fn terminated(inspect: &Value) -> Option<Value> {
    let st = &inspect["State"];
    if st["Running"].as_bool() == Some(true) {
        return None;
    }
    let exit_code = st["ExitCode"].as_i64().unwrap_or(0);
    let error = st["Error"].as_str().unwrap_or_default();
    let created = st["Status"].as_str() == Some("created");
    let (reason, started_at, finished_at) = if created {
        if error.is_empty() && exit_code == 0 {
            return None;
        }
        // Docker leaves a container that failed to start (missing binary, bad mount) in
        // `created` with the runtime's error and no times; the CRI kubelet calls this
        // StartError and dates it at creation.
        let at = docker_time(&inspect["Created"]);
        ("StartError", at.clone(), at)
    } else {
        let reason = if st["OOMKilled"].as_bool() == Some(true) {
            "OOMKilled"
        } else if exit_code == 0 {
            "Completed"
        } else {
            "Error"
        };
        (reason, docker_time(&st["StartedAt"]), docker_time(&st["FinishedAt"]))
    };
    let mut out = Map::new();
    out.insert("exitCode".into(), json!(exit_code));
    out.insert("reason".into(), json!(reason));
    if !error.is_empty() {
        out.insert("message".into(), json!(error));
    }
    out.insert("startedAt".into(), json!(started_at));
    out.insert("finishedAt".into(), json!(finished_at));
    let id = inspect["Id"].as_str().unwrap_or_default();
    out.insert("containerID".into(), json!(format!("docker://{id}")));
    Some(Value::Object(out))
}

/// The sandbox's addresses: the first network with an address (a pod's sandbox is on one
/// network), IPv4 first, then its global IPv6 address if any.
fn sandbox_ips(sandbox: &Value) -> Vec<String> {
    let settings = &sandbox["NetworkSettings"];
    let mut ips = Vec::new();
    let network = settings["Networks"]
        .as_object()
        .and_then(|nets| nets.values().find(|n| non_empty(&n["IPAddress"]).is_some()));
    let (v4, v6) = match network {
        Some(n) => (&n["IPAddress"], &n["GlobalIPv6Address"]),
        None => (&settings["IPAddress"], &settings["GlobalIPv6Address"]),
    };
    ips.extend(non_empty(v4).map(str::to_owned));
    ips.extend(non_empty(v6).map(str::to_owned));
    ips
}

fn non_empty(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn state_of(status: &Value) -> &'static str {
    let s = &status["state"];
    if s["running"].is_object() {
        "running"
    } else if s["terminated"].is_object() {
        "terminated"
    } else if s["waiting"].is_object() {
        "waiting"
    } else {
        "unknown"
    }
}

fn has_last_termination(status: &Value) -> bool {
    status["lastState"]["terminated"].is_object()
}

fn exit_code(status: &Value) -> i64 {
    status["state"]["terminated"]["exitCode"].as_i64().unwrap_or(0)
}

/// Whether any regular container has run: after that, init containers are done for good even
/// if a sidecar restarts.
fn any_regular_started(statuses: &[Value]) -> bool {
    statuses.iter().any(|s| matches!(state_of(s), "running" | "terminated"))
}

/// The pod phase from its container statuses, as the kubelet's `getPhase` decides it.
/// `terminal` is true when the pod is being deleted and nothing runs any more.
fn phase(
    spec: &Value,
    init_specs: &[Value],
    init_statuses: &[Value],
    statuses: &[Value],
    terminal: bool,
) -> &'static str {
    let mut pending_init = 0;
    let mut failed_init = 0;
    let mut pending_sidecars = 0;
    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for (c, s) in init_specs.iter().zip(init_statuses) {
        if is_sidecar(c) {
            match state_of(s) {
                "running" => {
                    if s["started"].as_bool() != Some(true) {
                        pending_sidecars += 1;
                    }
                    running += 1;
                }
                // A sidecar that stopped does not decide the phase.
                "terminated" => {}
                "waiting" if has_last_termination(s) => {}
                "waiting" => {
                    pending_sidecars += 1;
                    waiting += 1;
                }
                _ => {
                    pending_sidecars += 1;
                    unknown += 1;
                }
            }
            continue;
        }
        match state_of(s) {
            "terminated" if exit_code(s) != 0 => failed_init += 1,
            "terminated" => {}
            "waiting" if has_last_termination(s) => {
                if s["lastState"]["terminated"]["exitCode"].as_i64().unwrap_or(0) != 0 {
                    failed_init += 1;
                }
            }
            _ => pending_init += 1,
        }
    }
    for s in statuses {
        match state_of(s) {
            "running" => running += 1,
            "terminated" => {
                stopped += 1;
                if exit_code(s) == 0 {
                    succeeded += 1;
                }
            }
            "waiting" if has_last_termination(s) => stopped += 1,
            "waiting" => waiting += 1,
            _ => unknown += 1,
        }
    }

    let restart_policy = spec["restartPolicy"].as_str().unwrap_or("Always");
    if failed_init > 0 && restart_policy == "Never" {
        return "Failed";
    }
    let regular_started = any_regular_started(statuses);
    if (pending_sidecars > 0 || pending_init > 0) && !regular_started || waiting > 0 {
        return "Pending";
    }
    if running > 0 && unknown == 0 {
        return "Running";
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if terminal {
            return if stopped == succeeded { "Succeeded" } else { "Failed" };
        }
        return match restart_policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        };
    }
    "Pending"
}

/// One kubelet-owned condition before its times are set.
struct Cond {
    kind: &'static str,
    status: &'static str,
    reason: Option<&'static str>,
    message: Option<String>,
}

impl Cond {
    fn yes(kind: &'static str) -> Cond {
        Cond { kind, status: "True", reason: None, message: None }
    }

    fn no(kind: &'static str, reason: Option<&'static str>, message: Option<String>) -> Cond {
        Cond { kind, status: "False", reason, message }
    }
}

/// Go's `%s` of a `[]string`, which the kubelet's messages use: `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

fn conditions(
    spec: &Value,
    old: &Value,
    observed: &Observed,
    init_statuses: &[Value],
    statuses: &[Value],
    phase: &str,
    now: &str,
) -> Vec<Value> {
    let old_conditions = items(&old["conditions"]);
    let init_specs = items(&spec["initContainers"]);

    let sandbox_ready =
        observed.sandbox.as_ref().is_some_and(|s| s["State"]["Running"].as_bool() == Some(true));
    let ready_to_start = if sandbox_ready {
        Cond::yes("PodReadyToStartContainers")
    } else {
        Cond::no("PodReadyToStartContainers", None, None)
    };

    let incomplete: Vec<&str> = init_specs
        .iter()
        .zip(init_statuses)
        .filter(|(c, s)| {
            let key = if is_sidecar(c) { "started" } else { "ready" };
            s[key].as_bool() != Some(true)
        })
        .map(|(c, _)| name_of(c))
        .collect();
    let initialized = if phase == "Succeeded" {
        Cond { reason: Some("PodCompleted"), ..Cond::yes("Initialized") }
    } else if incomplete.is_empty() || any_regular_started(statuses) {
        Cond::yes("Initialized")
    } else {
        let message = format!("containers with incomplete status: {}", go_list(&incomplete));
        Cond::no("Initialized", Some("ContainersNotInitialized"), Some(message))
    };

    let unready: Vec<&str> = init_specs
        .iter()
        .zip(init_statuses)
        .filter(|(c, _)| is_sidecar(c))
        .map(|(_, s)| s)
        .chain(statuses)
        .filter(|s| s["ready"].as_bool() != Some(true))
        .map(name_of)
        .collect();
    let containers_ready = match phase {
        "Succeeded" => Cond::no("ContainersReady", Some("PodCompleted"), None),
        "Failed" => Cond::no("ContainersReady", Some("PodFailed"), None),
        _ if unready.is_empty() => Cond::yes("ContainersReady"),
        _ => {
            let message = format!("containers with unready status: {}", go_list(&unready));
            Cond::no("ContainersReady", Some("ContainersNotReady"), Some(message))
        }
    };

    let ready = if containers_ready.status != "True" {
        Cond { kind: "Ready", message: containers_ready.message.clone(), ..containers_ready }
    } else {
        let gates: Vec<String> = items(&spec["readinessGates"])
            .iter()
            .filter_map(|g| {
                let kind = g["conditionType"].as_str().unwrap_or_default();
                match old_conditions.iter().find(|c| c["type"].as_str() == Some(kind)) {
                    None => Some(format!(
                        "corresponding condition of pod readiness gate {kind:?} does not exist."
                    )),
                    Some(c) if c["status"].as_str() != Some("True") => Some(format!(
                        "the status of pod readiness gate {kind:?} is not \"True\", but {}",
                        c["status"].as_str().unwrap_or_default()
                    )),
                    Some(_) => None,
                }
            })
            .collect();
        if gates.is_empty() {
            Cond::yes("Ready")
        } else {
            Cond::no("Ready", Some("ReadinessGatesNotReady"), Some(gates.join(", ")))
        }
    };

    let ours = [ready_to_start, initialized, ready, containers_ready, Cond::yes("PodScheduled")];
    // Conditions others own (readiness gates, DisruptionTarget) stay, first, as the status
    // manager keeps them.
    let mut out: Vec<Value> = old_conditions
        .iter()
        .filter(|c| !ours.iter().any(|o| c["type"].as_str() == Some(o.kind)))
        .cloned()
        .collect();
    for c in ours {
        let previous = old_conditions.iter().find(|o| o["type"].as_str() == Some(c.kind));
        let since = previous
            .filter(|p| p["status"].as_str() == Some(c.status))
            .and_then(|p| p["lastTransitionTime"].as_str())
            .unwrap_or(now);
        let mut m = Map::new();
        m.insert("type".into(), json!(c.kind));
        m.insert("status".into(), json!(c.status));
        m.insert("lastProbeTime".into(), Value::Null);
        m.insert("lastTransitionTime".into(), json!(since));
        if let Some(r) = c.reason {
            m.insert("reason".into(), json!(r));
        }
        if let Some(msg) = c.message {
            m.insert("message".into(), json!(msg));
        }
        out.push(Value::Object(m));
    }
    out
}

fn qos_of(spec: &Value, old: &Value) -> Value {
    match old["qosClass"].as_str() {
        Some(q) if !q.is_empty() => json!(q),
        _ => json!(qos_class(spec)),
    }
}

/// The pod's QoS class from its containers' cpu and memory requests and limits, as the API
/// server computes it at creation: `BestEffort` with none at all, `Guaranteed` when every
/// container limits both and requests equal limits, else `Burstable`.
pub fn qos_class(spec: &Value) -> &'static str {
    const TRACKED: [&str; 2] = ["cpu", "memory"];
    let mut any = false;
    let mut guaranteed = true;
    for c in items(&spec["initContainers"]).iter().chain(items(&spec["containers"])) {
        let requests = &c["resources"]["requests"];
        let limits = &c["resources"]["limits"];
        let amount = |v: &Value, r: &str| quantity(&v[r]).filter(|q| *q != 0.0);
        for r in TRACKED {
            let (req, lim) = (amount(requests, r), amount(limits, r));
            any |= req.is_some() || lim.is_some();
            // Requests default to limits, so a missing request matches.
            match (req, lim) {
                (_, None) => guaranteed = false,
                (Some(q), Some(l)) if q != l => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A Kubernetes quantity (`100m`, `1.5Gi`, `2e3`, `128974848`) as a number, enough to compare
/// requests with limits.
fn quantity(v: &Value) -> Option<f64> {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(n) => return n.as_f64(),
        _ => return None,
    };
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = s.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    for (suffix, factor) in [("P", 1e15), ("E", 1e18)] {
        if let Some(num) = s.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests;
