//! Pods as Docker containers, reconciled level-based: each pass reads the
//! stored Pod and what Docker has for it (by labels), takes the next step
//! (bind, prepare volumes, start the sandbox, run init containers in order,
//! start or restart containers, tear down), and writes the status Docker
//! shows. Docker events and delayed requeues bring the next pass.
//!
//! Nothing slow runs here: image pulls run in [`Images`]' own threads and
//! graceful stops and probe kills in small worker pools of their own; all requeue the pod
//! when done.

use super::Queue;
use super::events::{EventType, KUBELET, Recorder, SCHEDULER};
use super::prober::{self, Prober};
use crate::adapter::convert::labels;
use crate::adapter::convert::pod::{self as conv, ContainerKind, PodContext, PodEnv, VolumeAction};
use crate::adapter::convert::status::{self, HostInfo, Observed, Waiting};
use crate::adapter::docker::{Docker, DockerError, encode_query};
use crate::adapter::files;
use crate::adapter::images::{ImageStatus, Images, KubeletEvent, Notify, PullEvent, PullPolicy};
use crate::api::meta;
use crate::store::{Change, Store};
use crossbeam_channel::{Sender, bounded};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The Docker network every pod sandbox joins (so pods reach each other).
pub const NETWORK: &str = "k2d";
/// Crash-loop back-off, as the kubelet: 10 s doubling to 5 minutes.
const CRASH_BACKOFF_START: Duration = Duration::from_secs(10);
const CRASH_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A container that ran this long resets its back-off, as in the kubelet.
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// Concurrent graceful stops.
const STOP_WORKERS: usize = 4;
/// Concurrent probe kills. Apart from the stops: a kill waits out the container's grace
/// period, and kills of pods with long ones must not hold up pod deletions.
const KILL_WORKERS: usize = 2;
/// Probe kills waiting for a worker; past it a kill is handed out again a second later.
const KILL_QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// `n` threads named `name-i` running the jobs sent on the returned channel, which holds at
/// most `queue` waiting jobs.
fn job_pool(name: &str, n: usize, queue: usize) -> Sender<Job> {
    let (tx, rx) = bounded::<Job>(queue);
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        if let Err(e) = spawned {
            log::error!("cannot start a {name} worker: {e}");
        }
    }
    tx
}

/// Everything the pod reconciler needs besides the store and the queue.
pub struct PodRuntime {
    docker: Arc<Docker>,
    /// This k2d's instance id (label [`labels::INSTANCE`]).
    instance: String,
    images: Arc<Images>,
    data_path: PathBuf,
    pause_image: Mutex<Option<String>>,
    /// Pods (by uid) whose containers are being stopped by a worker.
    stopping: Arc<Mutex<HashSet<String>>>,
    stop_jobs: Sender<Job>,
    /// Probe kills (`docker stop` of a container that failed liveness or startup).
    kill_jobs: Sender<Job>,
    /// Runs the containers' probes; `None` if its threads could not start (probes are
    /// then treated as passing, as before probes existed).
    prober: Option<Prober>,
    /// Removes the Docker volumes of released PVs off the controller thread.
    reaper: super::storage::Reaper,
}

impl PodRuntime {
    pub fn new(
        docker: Arc<Docker>,
        images: Arc<Images>,
        data_path: PathBuf,
        instance: String,
    ) -> PodRuntime {
        PodRuntime {
            docker,
            instance,
            images,
            data_path,
            pause_image: Mutex::new(None),
            stopping: Arc::new(Mutex::new(HashSet::new())),
            stop_jobs: job_pool("pod-stop", STOP_WORKERS, 1024),
            kill_jobs: job_pool("probe-kill", KILL_WORKERS, KILL_QUEUE),
            prober: None,
            reaper: super::storage::Reaper::new(),
        }
    }

    /// Install the prober (it needs the store and the queue, which `new` does not get).
    pub fn set_prober(&mut self, prober: Prober) {
        self.prober = Some(prober);
    }

    /// The Docker network pods join; created once, kept across restarts.
    pub fn ensure_network(&self) -> Result<(), String> {
        match self.docker.get_json::<Value>(&format!("/networks/{NETWORK}")) {
            Ok(_) => Ok(()),
            Err(DockerError::NotFound(_)) => self
                .docker
                .post_json::<Value>(
                    "/networks/create",
                    &json!({
                        "Name": NETWORK,
                        "Driver": "bridge",
                        "CheckDuplicate": true,
                        "Labels": {labels::MANAGED: "true"},
                    }),
                )
                .map(|_| ())
                .map_err(|e| format!("creating network {NETWORK}: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(crate) fn docker(&self) -> &Arc<Docker> {
        &self.docker
    }

    pub(crate) fn reaper(&self) -> &super::storage::Reaper {
        &self.reaper
    }

    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    pub(crate) fn data_path(&self) -> &std::path::Path {
        &self.data_path
    }

    pub(crate) fn pause_image(&self) -> Result<String, String> {
        let mut cached = self.pause_image.lock();
        if let Some(i) = &*cached {
            return Ok(i.clone());
        }
        let image =
            crate::adapter::images::ensure_pause_image(&self.docker).map_err(|e| e.to_string())?;
        *cached = Some(image.clone());
        Ok(image)
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.data_path.join("pods").join(uid)
    }

    fn volume_dir(&self, uid: &str, volume: &str) -> PathBuf {
        self.pod_dir(uid).join("volumes").join(volume)
    }

    /// Every Docker container of the pod `ns/name`, inspected.
    fn observe(&self, ns: &str, name: &str) -> Result<Vec<Value>, String> {
        let filters = json!({"label": [
            format!("{}={ns}", labels::POD_NAMESPACE),
            format!("{}={name}", labels::POD_NAME),
            format!("{}=true", labels::MANAGED),
            format!("{}={}", labels::INSTANCE, self.instance),
        ]});
        let list: Vec<Value> = self
            .docker
            .get_json(&format!(
                "/containers/json?all=1&filters={}",
                encode_query(&filters.to_string())
            ))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for c in list {
            let id = c["Id"].as_str().unwrap_or("");
            match self.docker.get_json::<Value>(&format!("/containers/{id}/json")) {
                // A "dead" container (Docker failed to remove it, typically
                // around a daemon restart) can neither run nor be trusted:
                // try to remove it again and otherwise leave it out.
                Ok(i) if i.pointer("/State/Dead").and_then(Value::as_bool) == Some(true) => {
                    let _ = self.docker.delete(&format!("/containers/{id}?force=1&v=1"));
                }
                Ok(i) => out.push(i),
                // Removed between list and inspect.
                Err(DockerError::NotFound(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(out)
    }

    /// Create a container (owned by this instance) and return its id.
    fn create(&self, name: &str, config: &Value) -> Result<String, DockerError> {
        let mut config = config.clone();
        config["Labels"][labels::INSTANCE] = json!(self.instance);
        let v: Value =
            self.docker.post_json(&format!("/containers/create?name={name}"), &config)?;
        Ok(v["Id"].as_str().unwrap_or("").to_string())
    }

    fn remove_container(&self, id: &str) -> Result<(), String> {
        match self.docker.delete(&format!("/containers/{id}?force=1&v=1")) {
            Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
            Err(e) => {
                // Docker sometimes cannot remove a container after a daemon
                // restart (its file system is still busy). Free the name so
                // the pod can go on; `observe` retries the removal later.
                let spare = format!("k2d_dead_{}", &id[..id.len().min(12)]);
                match self
                    .docker
                    .post_empty::<Value>(&format!("/containers/{id}/rename?name={spare}"))
                {
                    Ok(_) => {
                        log::warn!("could not remove container {id} ({e}); renamed it {spare}");
                        Ok(())
                    }
                    Err(_) => Err(e.to_string()),
                }
            }
        }
    }
}

/// Store (and Docker volume) lookups for the converter.
struct StoreEnv<'a>(&'a Store, &'a Docker);

impl PodEnv for StoreEnv<'_> {
    fn configmap(&self, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.0.get("configmaps", namespace, name)
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.0.get("secrets", namespace, name)
    }

    fn claim_source(&self, namespace: &str, claim: &str) -> Result<conv::ClaimSource, String> {
        super::storage::claim_source_in(self.0, namespace, claim)
    }

    /// Docker's own path of the volume. Binds are resolved by the daemon, so the path is
    /// right even when k2d itself runs in a container.
    fn volume_mountpoint(&self, docker_name: &str) -> Option<PathBuf> {
        let path = format!("/volumes/{}", encode_query(docker_name));
        let v: Value = self.1.get_json(&path).ok()?;
        v["Mountpoint"].as_str().filter(|m| !m.is_empty()).map(PathBuf::from)
    }
}

fn label<'a>(c: &'a Value, key: &str) -> &'a str {
    c.pointer("/Config/Labels").and_then(|l| l.get(key)).and_then(Value::as_str).unwrap_or("")
}

fn is_sandbox(c: &Value) -> bool {
    label(c, labels::TYPE) == "podsandbox"
}

fn attempt(c: &Value) -> u32 {
    label(c, labels::RESTART_COUNT).parse().unwrap_or(0)
}

fn running(c: &Value) -> bool {
    c.pointer("/State/Running").and_then(Value::as_bool).unwrap_or(false)
}

fn exit_code(c: &Value) -> i64 {
    c.pointer("/State/ExitCode").and_then(Value::as_i64).unwrap_or(0)
}

fn id_of(c: &Value) -> &str {
    c["Id"].as_str().unwrap_or("")
}

fn docker_time(c: &Value, field: &str) -> Option<SystemTime> {
    let t = c.pointer(&format!("/State/{field}")).and_then(Value::as_str)?;
    if t.starts_with("0001-") {
        return None;
    }
    humantime::parse_rfc3339_weak(t).ok().or_else(|| humantime::parse_rfc3339(t).ok())
}

/// The node this k2d describes (name and InternalIP).
fn node_info(store: &Store) -> (String, String) {
    let (nodes, _) = store.list("nodes", None, None);
    let Some(n) = nodes.first() else { return (String::new(), String::new()) };
    let name = n["metadata"]["name"].as_str().unwrap_or("").to_string();
    let ip = n
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("")
        .to_string();
    (name, ip)
}

/// One reconcile pass of the pod `ns/name`.
pub fn reconcile(
    rt: &PodRuntime,
    store: &Arc<Store>,
    queue: &Queue,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    let observed = rt.observe(ns, name)?;
    let Some(pod) = store.get("pods", ns, name) else {
        // The pod is gone: nothing of it may remain in Docker.
        if let Some(p) = &rt.prober {
            p.forget(ns, name);
        }
        for c in &observed {
            rt.remove_container(id_of(c))?;
        }
        remove_pod_volumes(rt, observed.iter().map(|c| label(c, labels::POD_UID)))?;
        // Released volumes its containers held can go now.
        rt.reaper.wake(queue);
        return Ok(());
    };
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
    // Leftovers of an earlier pod with the same name.
    let (stale, mine): (Vec<Value>, Vec<Value>) =
        observed.into_iter().partition(|c| label(c, labels::POD_UID) != uid);
    for c in &stale {
        rt.remove_container(id_of(c))?;
    }
    remove_pod_volumes(rt, stale.iter().map(|c| label(c, labels::POD_UID)))?;

    let (node, host_ip) = node_info(store);
    let kubelet = Recorder { store, source: KUBELET, node: &node };
    if pod["metadata"].get("deletionTimestamp").is_some() {
        if let Some(p) = &rt.prober {
            p.forget(ns, name);
        }
        return terminate(rt, store, queue, &kubelet, &pod, mine);
    }
    // A pod starts only once every claim it mounts is bound (the scheduler's
    // volume binding; WaitForFirstConsumer claims are provisioned now).
    if mine.is_empty() && !super::storage::pod_claims_ready(store, queue, &pod, &node)? {
        return Ok(());
    }
    let pod = if pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("").is_empty() {
        bind(store, &pod, &node)?
    } else {
        pod
    };

    let mut waiting: HashMap<String, Waiting> = HashMap::new();
    let mut observed = Observed::default();
    for c in mine {
        if is_sandbox(&c) {
            observed.sandbox = Some(c);
        } else {
            observed.containers.push(c);
        }
    }
    let step = run_pod(
        &Pass { rt, store, queue, kubelet: &kubelet, pod: &pod },
        &mut observed,
        &mut waiting,
        &host_ip,
        &node,
    );
    // Whatever happened, report what Docker now shows.
    let observed = match rt.observe(ns, name) {
        Ok(all) => {
            let mut o = Observed::default();
            for c in all.into_iter().filter(|c| label(c, labels::POD_UID) == uid) {
                if is_sandbox(&c) {
                    o.sandbox = Some(c);
                } else {
                    o.containers.push(c);
                }
            }
            o
        }
        Err(_) => observed,
    };
    let probes = rt.prober.as_ref().map(|p| {
        let pass = Pass { rt, store, queue, kubelet: &kubelet, pod: &pod };
        probe_pass(&pass, p, &observed, &node, &host_ip)
    });
    write_status(store, &pod, &observed, &waiting, probes.as_ref(), &host_ip, &node)?;
    step
}

/// Tell the prober which containers run now, kill those that failed liveness or startup
/// (off this thread; the stop requeues the pod, whose restart policy then applies), and
/// return the results the status shows.
fn probe_pass(
    pass: &Pass,
    prober: &Prober,
    observed: &Observed,
    node: &str,
    host_ip: &str,
) -> status::ProbeResults {
    let Pass { rt, queue, kubelet, pod, .. } = *pass;
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let sandbox_up = observed.sandbox.as_ref().is_some_and(running);
    let pod_ip = probe_ip(pod, observed.sandbox.as_ref(), host_ip);
    let specs = containers_of(pod, "containers")
        .map(|c| (c, false))
        // Sidecars (restartable init containers) are probed too.
        .chain(
            containers_of(pod, "initContainers")
                .filter(|c| c["restartPolicy"] == "Always")
                .map(|c| (c, true)),
        );
    let mut live = Vec::new();
    for (spec, init) in specs {
        let cname = spec["name"].as_str().unwrap_or("");
        if let Some(cur) = status::current_attempt(observed, cname).filter(|c| running(c))
            && sandbox_up
        {
            live.push(prober::Running {
                spec,
                init,
                docker_id: id_of(cur),
                started_at: docker_time(cur, "StartedAt").unwrap_or_else(SystemTime::now),
            });
        }
    }
    prober.sync(pod, node, &pod_ip, &live);
    let restarts =
        pod.pointer("/spec/restartPolicy").and_then(Value::as_str).unwrap_or("Always") != "Never";
    for kill in prober.take_kills(&ns, &name) {
        let what = kill.kind.lower();
        let mut message = format!("Container {} failed {what} probe", kill.container);
        if restarts {
            message.push_str(", will be restarted");
        }
        kubelet.record(pod, &kill.field_path, EventType::Normal, "Killing", &message);
        let docker = rt.docker.clone();
        let q = queue.clone();
        let p = prober.clone();
        let docker_id = kill.docker_id.clone();
        let (jns, jname) = (ns.clone(), name.clone());
        let job = move || {
            let path = format!("/containers/{}/stop?t={}", kill.docker_id, kill.grace);
            match docker.post_empty::<Value>(&path) {
                Ok(_) | Err(DockerError::NotFound(_)) => {}
                Err(e) => {
                    log::warn!("killing {} of {jns}/{jname}: {e}", kill.container);
                    p.kill_failed(&jns, &jname, &kill.docker_id);
                }
            }
            q.enqueue("pods", &jns, &jname);
        };
        if rt.kill_jobs.try_send(Box::new(job)).is_err() {
            prober.kill_failed(&ns, &name, &docker_id);
            queue.enqueue_after("pods", &ns, &name, Duration::from_secs(1));
        }
    }
    prober.results(&ns, &name, uid)
}

/// Where probes reach the pod: its IP, which for a host-network pod is the host's (its
/// `status.podIP`, which the kubelet probes), or loopback while the host's is unknown.
fn probe_ip(pod: &Value, sandbox: Option<&Value>, host_ip: &str) -> String {
    if pod.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false) {
        return if host_ip.is_empty() { "127.0.0.1".into() } else { host_ip.to_string() };
    }
    sandbox
        .and_then(|s| s.pointer(&format!("/NetworkSettings/Networks/{NETWORK}/IPAddress")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Whether a regular container that exited is started again. The kubelet restarts one it
/// killed for failing liveness or startup whenever the policy is not Never, whatever it
/// exited with (a process that exits 0 on SIGTERM is still unhealthy, not done).
fn restarts(policy: &str, exit_code: i64, probe_killed: bool) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0 || probe_killed,
        _ => true,
    }
}

/// Set `spec.nodeName` (the scheduler's job in Kubernetes) and say so.
fn bind(store: &Store, pod: &Arc<Value>, node: &str) -> Result<Arc<Value>, String> {
    if node.is_empty() {
        return Err("the node is not described yet".into());
    }
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let written = store
        .write("pods", ns, name, false, |cur| {
            let Some(cur) = cur else { return Ok(None) };
            let mut p = (**cur).clone();
            p["spec"]["nodeName"] = json!(node);
            let conds = p["status"]["conditions"].as_array().cloned().unwrap_or_default();
            if !conds.iter().any(|c| c["type"] == "PodScheduled") {
                let mut conds = conds;
                conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": meta::now_rfc3339()}));
                p["status"]["conditions"] = json!(conds);
            }
            Ok(Some(Change::Put(p)))
        })
        .map_err(|e| e.to_string())?;
    let pod = written.map(|w| w.object).unwrap_or_else(|| pod.clone());
    let scheduler = Recorder { store, source: SCHEDULER, node: "" };
    scheduler.record(
        &pod,
        "",
        EventType::Normal,
        "Scheduled",
        &format!("Successfully assigned {ns}/{name} to {node}"),
    );
    Ok(pod)
}

/// What every step of one pod's reconcile pass works with.
#[derive(Clone, Copy)]
struct Pass<'a> {
    rt: &'a PodRuntime,
    store: &'a Arc<Store>,
    queue: &'a Queue,
    kubelet: &'a Recorder<'a>,
    pod: &'a Value,
}

fn run_pod(
    pass: &Pass,
    observed: &mut Observed,
    waiting: &mut HashMap<String, Waiting>,
    host_ip: &str,
    node: &str,
) -> Result<(), String> {
    let Pass { rt, store, queue, kubelet, pod } = *pass;
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let requeue = |d: Duration| queue.enqueue_after("pods", &ns, &name, d);
    let all_waiting = |waiting: &mut HashMap<String, Waiting>, reason: &str, message: &str| {
        for c in containers_of(pod, "initContainers").chain(containers_of(pod, "containers")) {
            waiting
                .entry(c["name"].as_str().unwrap_or("").to_string())
                .or_insert(Waiting { reason: reason.to_string(), message: message.to_string() });
        }
    };
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        // Finished pods keep their containers (for logs) and never restart.
        return Ok(());
    }

    // Volumes first: a pod never starts without its files.
    let env = StoreEnv(store, &rt.docker);
    match conv::volumes(pod, &env) {
        Ok(actions) => {
            super::storage::ensure_claim_volumes(rt, store, pod)?;
            prepare_volumes(rt, &uid, actions)?
        }
        Err(e) => {
            kubelet.record(pod, "", EventType::Warning, "FailedMount", &e.message);
            all_waiting(waiting, "ContainerCreating", "");
            requeue(Duration::from_secs(5));
            return Ok(());
        }
    }

    // The sandbox owns the network namespace; without it nothing runs.
    let sandbox_ok = observed.sandbox.as_ref().is_some_and(running);
    if !sandbox_ok {
        if let Some(old) = observed.sandbox.take() {
            // A dead sandbox takes its containers' network with it: restart all.
            for c in observed.containers.iter().filter(|c| running(c)) {
                rt.remove_container(id_of(c))?;
            }
            rt.remove_container(id_of(&old))?;
        }
        let pause = rt.pause_image()?;
        let vol_dir = |v: &str| rt.volume_dir(&uid, v);
        let ctx = PodContext {
            env: &env,
            node_name: node,
            host_ip,
            pod_ip: "",
            sandbox_id: "",
            pause_image: &pause,
            network: NETWORK,
            volume_dir: &vol_dir,
        };
        let mut config = conv::sandbox_config(pod, &ctx).map_err(|e| e.message)?;
        // Cluster DNS search path, and the names of headless Services it backs.
        super::services::prepare_sandbox(store, pod, &mut config);
        let id = create_and_start(rt, &conv::sandbox_name(pod), &config)?;
        let inspect = rt
            .docker
            .get_json::<Value>(&format!("/containers/{id}/json"))
            .map_err(|e| e.to_string())?;
        observed.sandbox = Some(inspect);
        // Re-observe containers on the next pass (they were reset above).
        all_waiting(waiting, "ContainerCreating", "");
        queue.enqueue("pods", &ns, &name);
        return Ok(());
    }
    let sandbox = observed.sandbox.clone().unwrap_or(Value::Null);
    let sandbox_id = id_of(&sandbox).to_string();
    let pod_ip = if pod.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false) {
        host_ip.to_string()
    } else {
        sandbox
            .pointer(&format!("/NetworkSettings/Networks/{NETWORK}/IPAddress"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let pause = rt.pause_image()?;
    let vol_dir = |v: &str| rt.volume_dir(&uid, v);
    let ctx = PodContext {
        env: &env,
        node_name: node,
        host_ip,
        pod_ip: &pod_ip,
        sandbox_id: &sandbox_id,
        pause_image: &pause,
        network: NETWORK,
        volume_dir: &vol_dir,
    };
    let policy =
        pod.pointer("/spec/restartPolicy").and_then(Value::as_str).unwrap_or("Always").to_string();

    // Init containers, one at a time, in order. Sidecars (`restartPolicy: Always` init
    // containers) start in their turn and keep running beside the app: the next init
    // container waits only until the sidecar has started, and a sidecar that exits is
    // restarted whatever the pod's restartPolicy, until the app is done.
    let app_began = containers_of(pod, "containers")
        .any(|c| status::current_attempt(observed, c["name"].as_str().unwrap_or("")).is_some());
    let app_done = app_finished(rt, pod, observed, &policy);
    for c in containers_of(pod, "initContainers") {
        let cname = c["name"].as_str().unwrap_or("");
        let sidecar = is_sidecar_spec(c);
        let current = status::current_attempt(observed, cname).cloned();
        match current {
            None if sidecar && app_done => continue,
            None => {
                let n = first_attempt(pod, "initContainerStatuses", cname);
                start(pass, c, ContainerKind::Init, n, &ctx, waiting)?;
                if sidecar && app_began {
                    continue;
                }
                return Ok(());
            }
            Some(cur) if running(&cur) => {
                if sidecar && (app_began || sidecar_started(pass, c)) {
                    continue;
                }
                all_waiting_regular(pod, waiting, "PodInitializing");
                return Ok(());
            }
            Some(_) if sidecar && app_done => continue,
            Some(cur) if sidecar => {
                restart_with_backoff(pass, c, ContainerKind::Init, &cur, &ctx, waiting)?;
                cleanup_old_attempts(rt, observed, cname)?;
                if app_began {
                    continue;
                }
                all_waiting_regular(pod, waiting, "PodInitializing");
                return Ok(());
            }
            Some(cur) if exit_code(&cur) == 0 => continue,
            Some(cur) => {
                // A failed init container: the pod fails (Never) or retries it.
                if policy == "Never" {
                    return Ok(());
                }
                restart_with_backoff(pass, c, ContainerKind::Init, &cur, &ctx, waiting)?;
                all_waiting_regular(pod, waiting, "PodInitializing");
                return Ok(());
            }
        }
    }
    if app_done {
        // The app finished for good: its sidecars are stopped so the pod can complete.
        stop_sidecars(pass, observed);
        return Ok(());
    }

    for c in containers_of(pod, "containers") {
        let cname = c["name"].as_str().unwrap_or("");
        let current = status::current_attempt(observed, cname).cloned();
        match current {
            None => {
                let n = first_attempt(pod, "containerStatuses", cname);
                start(pass, c, ContainerKind::Regular, n, &ctx, waiting)?
            }
            Some(cur) if running(&cur) => {}
            Some(cur) => {
                let killed = rt.prober.as_ref().is_some_and(|p| p.killed(id_of(&cur)));
                if restarts(&policy, exit_code(&cur), killed) {
                    restart_with_backoff(pass, c, ContainerKind::Regular, &cur, &ctx, waiting)?;
                }
            }
        }
        cleanup_old_attempts(rt, observed, cname)?;
    }
    Ok(())
}

fn is_sidecar_spec(c: &Value) -> bool {
    c["restartPolicy"].as_str() == Some("Always")
}

/// A running sidecar counts as started once its startupProbe (if any) has passed.
fn sidecar_started(pass: &Pass, c: &Value) -> bool {
    if c.get("startupProbe").is_none_or(Value::is_null) {
        return true;
    }
    let Some(prober) = &pass.rt.prober else { return true };
    let m = &pass.pod["metadata"];
    let results = prober.results(
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
        m["uid"].as_str().unwrap_or(""),
    );
    results.started.get(c["name"].as_str().unwrap_or("")) == Some(&true)
}

/// Every app container has exited and none will be restarted (the same decision as the
/// restart below: `Never`, or `OnFailure` after a success that no probe forced): the point
/// where the kubelet stops a pod's sidecars.
fn app_finished(rt: &PodRuntime, pod: &Value, observed: &Observed, policy: &str) -> bool {
    if policy == "Always" {
        return false;
    }
    let mut apps = containers_of(pod, "containers").peekable();
    apps.peek().is_some()
        && apps.all(|c| {
            status::current_attempt(observed, c["name"].as_str().unwrap_or("")).is_some_and(|cur| {
                let killed = rt.prober.as_ref().is_some_and(|p| p.killed(id_of(cur)));
                !running(cur) && !restarts(policy, exit_code(cur), killed)
            })
        })
}

/// Stop the running sidecars of a finished pod, last-declared first, off this thread.
fn stop_sidecars(pass: &Pass, observed: &Observed) {
    let Pass { rt, queue, kubelet, pod, .. } = *pass;
    let mut ids = Vec::new();
    for c in containers_of(pod, "initContainers").filter(|c| is_sidecar_spec(c)) {
        let cname = c["name"].as_str().unwrap_or("");
        if let Some(cur) = status::current_attempt(observed, cname).filter(|c| running(c)) {
            ids.push(id_of(cur).to_string());
            kubelet.record(
                pod,
                &format!("spec.initContainers{{{cname}}}"),
                EventType::Normal,
                "Killing",
                &format!("Stopping container {cname}"),
            );
        }
    }
    let m = &pod["metadata"];
    let key = format!("{}/sidecars", m["uid"].as_str().unwrap_or(""));
    if ids.is_empty() || !rt.stopping.lock().insert(key.clone()) {
        return;
    }
    ids.reverse();
    let grace = pod["spec"]["terminationGracePeriodSeconds"].as_i64().unwrap_or(30).max(0);
    let (ns, name) = (m["namespace"].as_str().unwrap_or(""), m["name"].as_str().unwrap_or(""));
    let (ns, name) = (ns.to_string(), name.to_string());
    let (docker, stopping, q) = (rt.docker.clone(), rt.stopping.clone(), queue.clone());
    let job = move || {
        for id in ids {
            if let Err(e) = docker.post_empty::<Value>(&format!("/containers/{id}/stop?t={grace}"))
            {
                log::debug!("stopping sidecar {id}: {e}");
            }
        }
        stopping.lock().remove(&key);
        q.enqueue("pods", &ns, &name);
    };
    if rt.stop_jobs.try_send(Box::new(job)).is_err() {
        rt.stopping.lock().remove(&format!("{}/sidecars", m["uid"].as_str().unwrap_or("")));
        queue.enqueue_after(
            "pods",
            m["namespace"].as_str().unwrap_or(""),
            m["name"].as_str().unwrap_or(""),
            Duration::from_secs(1),
        );
    }
}

/// The attempt number for a container Docker has no attempt of. Usually 0;
/// but when its container vanished behind k2d's back (`docker rm -f`), the
/// reported status still knows it ran, so the restart counts as one.
fn first_attempt(pod: &Value, statuses: &str, cname: &str) -> u32 {
    let Some(cs) = pod
        .pointer(&format!("/status/{statuses}"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|cs| cs["name"] == cname))
    else {
        return 0;
    };
    let reported = cs["restartCount"].as_u64().unwrap_or(0) as u32;
    let ran = ["running", "terminated"]
        .iter()
        .any(|s| cs.pointer(&format!("/state/{s}")).is_some() && cs.get("containerID").is_some());
    if ran { reported + 1 } else { reported }
}

fn all_waiting_regular(pod: &Value, waiting: &mut HashMap<String, Waiting>, reason: &str) {
    for c in containers_of(pod, "containers") {
        waiting
            .entry(c["name"].as_str().unwrap_or("").to_string())
            .or_insert(Waiting { reason: reason.to_string(), message: String::new() });
    }
}

fn containers_of<'a>(pod: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    pod.pointer(&format!("/spec/{field}")).and_then(Value::as_array).into_iter().flatten()
}

/// Keep the current and the previous attempt (for `logs --previous`); older
/// ones only take space.
fn cleanup_old_attempts(rt: &PodRuntime, observed: &Observed, cname: &str) -> Result<(), String> {
    let Some(cur) = status::current_attempt(observed, cname) else { return Ok(()) };
    let n = attempt(cur);
    for c in observed.containers.iter().filter(|c| label(c, labels::CONTAINER_NAME) == cname) {
        if attempt(c) + 1 < n {
            rt.remove_container(id_of(c))?;
        }
    }
    Ok(())
}

fn restart_with_backoff(
    pass: &Pass,
    c: &Value,
    kind: ContainerKind,
    last: &Value,
    ctx: &PodContext,
    waiting: &mut HashMap<String, Waiting>,
) -> Result<(), String> {
    let Pass { queue, kubelet, pod, .. } = *pass;
    let cname = c["name"].as_str().unwrap_or("");
    let n = attempt(last);
    let finished = attempt_finished(last);
    let ran = match (docker_time(last, "StartedAt"), docker_time(last, "FinishedAt")) {
        (Some(s), Some(f)) => f.duration_since(s).unwrap_or_default(),
        _ => Duration::ZERO,
    };
    let delay = crash_backoff(n, ran);
    let elapsed = SystemTime::now().duration_since(finished).unwrap_or_default();
    if elapsed < delay {
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
        let message = format!(
            "back-off {} restarting failed container={cname} pod={name}_{ns}({uid})",
            human_secs(delay)
        );
        kubelet.record(
            pod,
            &field_path(kind, cname),
            EventType::Warning,
            "BackOff",
            "Back-off restarting failed container",
        );
        waiting.insert(cname.to_string(), Waiting { reason: "CrashLoopBackOff".into(), message });
        queue.enqueue_after("pods", ns, name, delay - elapsed);
        return Ok(());
    }
    start(pass, c, kind, n + 1, ctx, waiting)
}

/// When an exited attempt ended. Docker forgets `FinishedAt` of a container that never
/// started (a start that failed while dockerd was going down) once it restarts; such an
/// attempt ended no later than it was created. Counting from "now" instead made the back-off
/// start over on every pass, so the container was never restarted.
fn attempt_finished(last: &Value) -> SystemTime {
    let created = last["Created"].as_str().filter(|t| !t.starts_with("0001-")).and_then(|t| {
        humantime::parse_rfc3339_weak(t).ok().or_else(|| humantime::parse_rfc3339(t).ok())
    });
    docker_time(last, "FinishedAt")
        .or_else(|| docker_time(last, "StartedAt"))
        .or(created)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// How long to wait before attempt `n + 1` after attempt `n` ran for `ran`:
/// like the kubelet, the first restart is immediate, then 10 s doubling to
/// 5 minutes; a container that ran 10 minutes starts over.
fn crash_backoff(n: u32, ran: Duration) -> Duration {
    if n == 0 || ran >= BACKOFF_RESET {
        return Duration::ZERO;
    }
    CRASH_BACKOFF_START.saturating_mul(1u32 << (n - 1).min(10)).min(CRASH_BACKOFF_MAX)
}

fn human_secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 { format!("{}m{}s", s / 60, s % 60) } else { format!("{s}s") }
}

fn field_path(kind: ContainerKind, cname: &str) -> String {
    match kind {
        ContainerKind::Init => format!("spec.initContainers{{{cname}}}"),
        ContainerKind::Regular => format!("spec.containers{{{cname}}}"),
    }
}

/// Pull if needed, then create and start one attempt of a container.
fn start(
    pass: &Pass,
    c: &Value,
    kind: ContainerKind,
    n: u32,
    ctx: &PodContext,
    waiting: &mut HashMap<String, Waiting>,
) -> Result<(), String> {
    let Pass { rt, store, queue, kubelet, pod } = *pass;
    let cname = c["name"].as_str().unwrap_or("").to_string();
    let fp = field_path(kind, &cname);
    let image = c["image"].as_str().unwrap_or("").to_string();
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let secrets: Vec<Value> = pod
        .pointer("/spec/imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .filter_map(|s| ctx.env.secret(&ns, s))
        .map(|s| (*s).clone())
        .collect();
    let auth = crate::adapter::images::registry_auth(&image, &secrets);
    let policy = PullPolicy::of(c["imagePullPolicy"].as_str(), &image);
    // Only the first attempt pulls with "Always"; restarts reuse the image.
    let policy =
        if n > 0 && policy == PullPolicy::Always { PullPolicy::IfNotPresent } else { policy };
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let notify =
        pull_notifier(store.clone(), queue.clone(), pod.clone(), fp.clone(), image.clone());
    match rt.images.ensure(&image, policy, auth, uid, notify) {
        ImageStatus::Present { .. } => {
            if policy != PullPolicy::Always {
                let e = KubeletEvent::already_present(&image);
                kubelet.record(pod, &fp, event_type(&e), e.reason, &e.message);
            }
        }
        ImageStatus::Pulling => {
            waiting.insert(
                cname,
                Waiting { reason: "ContainerCreating".into(), message: String::new() },
            );
            return Ok(());
        }
        failed @ ImageStatus::Failed { .. } => {
            for e in failed.kubelet_events(&image) {
                kubelet.record(pod, &fp, event_type(&e), e.reason, &e.message);
            }
            if let ImageStatus::Failed { reason, message, retry_in } = failed {
                waiting.insert(cname, Waiting { reason: reason.to_string(), message });
                queue.enqueue_after(
                    "pods",
                    &ns,
                    &name,
                    retry_in.unwrap_or(Duration::from_secs(10)),
                );
            }
            return Ok(());
        }
    }
    let config = match conv::container_config(pod, c, kind, n, ctx) {
        Ok(cfg) => cfg,
        Err(e) => {
            kubelet.record(
                pod,
                &fp,
                EventType::Warning,
                "Failed",
                &format!("Error: {}", e.message),
            );
            waiting.insert(cname, Waiting { reason: e.reason.to_string(), message: e.message });
            queue.enqueue_after("pods", &ns, &name, Duration::from_secs(10));
            return Ok(());
        }
    };
    let docker_name = conv::container_name(pod, &cname, n);
    let id = match rt.create(&docker_name, &config) {
        Ok(id) => id,
        Err(DockerError::Conflict(_)) => {
            // A create that raced a previous pass: replace it.
            rt.remove_container(&docker_name)?;
            return Err(format!("container {docker_name} already existed; retrying"));
        }
        Err(e) => {
            kubelet.record(
                pod,
                &fp,
                EventType::Warning,
                "Failed",
                &format!("Error: {}", e.message()),
            );
            return Err(e.to_string());
        }
    };
    kubelet.record(pod, &fp, EventType::Normal, "Created", &format!("Created container {cname}"));
    match rt.docker.post_empty::<Value>(&format!("/containers/{id}/start")) {
        Ok(_) => {
            kubelet.record(
                pod,
                &fp,
                EventType::Normal,
                "Started",
                &format!("Started container {cname}"),
            );
            Ok(())
        }
        Err(e) => {
            // The container stays, exited, and the restart policy decides.
            kubelet.record(
                pod,
                &fp,
                EventType::Warning,
                "Failed",
                &format!("Error: {}", e.message()),
            );
            Ok(())
        }
    }
}

/// Turns pull progress into kubelet Events and a requeue of the pod.
fn pull_notifier(
    store: Arc<Store>,
    queue: Queue,
    pod: Value,
    field_path: String,
    image: String,
) -> Notify {
    Box::new(move |ev: PullEvent| {
        let (node, _) = node_info(&store);
        let kubelet = Recorder { store: &store, source: KUBELET, node: &node };
        for e in ev.kubelet_events(&image) {
            kubelet.record(&pod, &field_path, event_type(&e), e.reason, &e.message);
        }
        if !matches!(ev, PullEvent::Started) {
            let m = &pod["metadata"];
            queue.enqueue(
                "pods",
                m["namespace"].as_str().unwrap_or(""),
                m["name"].as_str().unwrap_or(""),
            );
        }
    })
}

fn event_type(e: &KubeletEvent) -> EventType {
    if e.warning { EventType::Warning } else { EventType::Normal }
}

fn create_and_start(rt: &PodRuntime, name: &str, config: &Value) -> Result<String, String> {
    let id = match rt.create(name, config) {
        Ok(id) => id,
        Err(DockerError::Conflict(_)) => {
            rt.remove_container(name)?;
            return Err(format!("container {name} already existed; retrying"));
        }
        Err(e) => return Err(e.to_string()),
    };
    rt.docker.post_empty::<Value>(&format!("/containers/{id}/start")).map_err(|e| e.to_string())?;
    Ok(id)
}

/// Docker volumes and projected files of the pod.
fn prepare_volumes(rt: &PodRuntime, uid: &str, actions: Vec<VolumeAction>) -> Result<(), String> {
    for a in actions {
        match a {
            VolumeAction::DockerVolume { docker_name, labels: l, driver_opts, .. } => {
                match rt.docker.get_json::<Value>(&format!("/volumes/{docker_name}")) {
                    Ok(_) => {}
                    Err(DockerError::NotFound(_)) => {
                        rt.docker
                            .post_json::<Value>(
                                "/volumes/create",
                                &json!({"Name": docker_name, "Labels": l, "DriverOpts": driver_opts}),
                            )
                            .map_err(|e| format!("creating volume {docker_name}: {e}"))?;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            VolumeAction::Projected { volume, files: f } => {
                files::write_dir(&rt.volume_dir(uid, &volume), &f, false)
                    .map_err(|e| format!("writing volume {volume}: {e}"))?;
            }
            VolumeAction::None => {}
        }
    }
    Ok(())
}

/// Remove the per-pod Docker volumes (emptyDir) and files of pods that are gone.
fn remove_pod_volumes<'a>(
    rt: &PodRuntime,
    uids: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    let uids: HashSet<&str> = uids.filter(|u| !u.is_empty()).collect();
    for uid in uids {
        let filters = json!({"label": [format!("{}={uid}", labels::POD_UID)]});
        let vols: Value = rt
            .docker
            .get_json(&format!("/volumes?filters={}", encode_query(&filters.to_string())))
            .map_err(|e| e.to_string())?;
        for v in vols["Volumes"].as_array().into_iter().flatten() {
            let vname = v["Name"].as_str().unwrap_or("");
            match rt.docker.delete(&format!("/volumes/{vname}")) {
                Ok(()) | Err(DockerError::NotFound(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        files::remove_dir(&rt.pod_dir(uid)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A terminating pod: stop its containers gracefully (off this thread), then
/// remove everything, then the object itself.
fn terminate(
    rt: &PodRuntime,
    store: &Store,
    queue: &Queue,
    kubelet: &Recorder,
    pod: &Arc<Value>,
    containers: Vec<Value>,
) -> Result<(), String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let live: Vec<&Value> = containers.iter().filter(|c| running(c)).collect();
    if !live.is_empty() {
        if rt.stopping.lock().insert(uid.clone()) {
            let deadline = pod["metadata"]["deletionTimestamp"]
                .as_str()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .unwrap_or_else(SystemTime::now);
            let grace = deadline.duration_since(SystemTime::now()).unwrap_or_default().as_secs();
            // Application containers first, the sandbox last (as the kubelet).
            let mut ids: Vec<(String, bool, String)> = live
                .iter()
                .map(|c| {
                    (
                        id_of(c).to_string(),
                        is_sandbox(c),
                        label(c, labels::CONTAINER_NAME).to_string(),
                    )
                })
                .collect();
            // Sidecars after the app containers, in reverse order (as the kubelet).
            let sidecars: Vec<&str> = containers_of(pod, "initContainers")
                .filter(|c| is_sidecar_spec(c))
                .map(|c| c["name"].as_str().unwrap_or(""))
                .collect();
            let rank = |sandbox: bool, cname: &str| match sidecars.iter().position(|s| *s == cname)
            {
                _ if sandbox => usize::MAX,
                Some(i) => usize::MAX - 1 - i,
                None => 0,
            };
            ids.sort_by_key(|(_, sandbox, cname)| rank(*sandbox, cname));
            for (_, sandbox, cname) in &ids {
                if !sandbox {
                    kubelet.record(
                        pod,
                        &format!("spec.containers{{{cname}}}"),
                        EventType::Normal,
                        "Killing",
                        &format!("Stopping container {cname}"),
                    );
                }
            }
            let docker = rt.docker.clone();
            let stopping = rt.stopping.clone();
            let q = queue.clone();
            let job = move || {
                for (id, _, _) in ids {
                    if let Err(e) =
                        docker.post_empty::<Value>(&format!("/containers/{id}/stop?t={grace}"))
                    {
                        log::debug!("stopping {id}: {e}");
                    }
                }
                stopping.lock().remove(&uid);
                q.enqueue("pods", &ns, &name);
            };
            if rt.stop_jobs.try_send(Box::new(job)).is_err() {
                rt.stopping.lock().remove(pod["metadata"]["uid"].as_str().unwrap_or(""));
                return Err("too many pods stopping at once".into());
            }
        }
        return Ok(());
    }
    for c in &containers {
        rt.remove_container(id_of(c))?;
    }
    remove_pod_volumes(rt, std::iter::once(uid.as_str()))?;
    rt.reaper.wake(queue);
    rt.images.forget(&uid);
    store
        .write("pods", &ns, &name, false, |cur| {
            Ok(cur.filter(|c| c["metadata"]["uid"] == json!(uid)).map(|_| Change::Delete))
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Write the status Docker shows, if it changed.
fn write_status(
    store: &Store,
    pod: &Value,
    observed: &Observed,
    waiting: &HashMap<String, Waiting>,
    probes: Option<&status::ProbeResults>,
    host_ip: &str,
    node: &str,
) -> Result<(), String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let uid = pod["metadata"]["uid"].clone();
    let host = HostInfo { host_ip, node_name: node };
    store
        .write("pods", ns, name, false, |cur| {
            let Some(cur) = cur else { return Ok(None) };
            if cur["metadata"]["uid"] != uid || cur["metadata"].get("deletionTimestamp").is_some() {
                return Ok(None);
            }
            let now = meta::now_rfc3339();
            let status =
                status::pod_status_with_probes(cur, observed, waiting, probes, &host, &now);
            if cur.get("status") == Some(&status) {
                return Ok(None);
            }
            let mut p = (**cur).clone();
            p["status"] = status;
            Ok(Some(Change::Put(p)))
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Mirror the containers k2d did not create as read-only pods in their own
/// namespace, and carry out deletions of those pods.
pub fn sync_foreign(rt: &PodRuntime, store: &Store) -> Result<(), String> {
    use crate::adapter::convert::foreign;
    let list: Vec<Value> =
        rt.docker.get_json("/containers/json?all=1").map_err(|e| e.to_string())?;
    let (node, host_ip) = node_info(store);
    let host = HostInfo { host_ip: &host_ip, node_name: &node };
    let ns = foreign::NAMESPACE;
    let mut seen = HashSet::new();
    for c in list.iter().filter(|c| foreign::is_foreign(c)) {
        let id = id_of(c);
        let inspect = match rt.docker.get_json::<Value>(&format!("/containers/{id}/json")) {
            Ok(i) => i,
            Err(DockerError::NotFound(_)) => continue,
            Err(e) => return Err(e.to_string()),
        };
        let mut pod = foreign::pod_from_container(&inspect, &host, ns);
        let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        seen.insert(name.clone());
        store
            .write("pods", ns, &name, false, |cur| {
                if let Some(cur) = cur {
                    if cur["metadata"].get("deletionTimestamp").is_some() {
                        // Deleting a mirrored pod removes its container.
                        if let Err(e) = rt.remove_container(id) {
                            log::warn!("removing container {id}: {e}");
                            return Ok(None);
                        }
                        return Ok(Some(Change::Delete));
                    }
                    // Keep what the store owns; the rest mirrors Docker.
                    pod["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
                    if pod == **cur {
                        return Ok(None);
                    }
                } else {
                    pod["metadata"]["resourceVersion"] = json!("");
                }
                Ok(Some(Change::Put(meta::canonical_order(pod.clone()))))
            })
            .map_err(|e| e.to_string())?;
    }
    // Pods whose container is gone.
    let (pods, _) = store.list("pods", Some(ns), None);
    for p in pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("").to_string();
        if !seen.contains(&name) {
            store
                .write("pods", ns, &name, false, |cur| Ok(cur.map(|_| Change::Delete)))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Connect to Docker in the background (retrying until it answers), install
/// the pod runtime, and follow Docker's events: every change to a pod's
/// container queues that pod, a container k2d did not create queues the
/// mirror, and each (re)connection resyncs everything, so k2d and dockerd
/// restarts both end with every pod converged.
pub fn run_runtime(
    store: Arc<Store>,
    queue: Queue,
    slot: Arc<std::sync::OnceLock<PodRuntime>>,
    socket: PathBuf,
    data_path: PathBuf,
) {
    use crate::adapter::convert::foreign;
    use crate::adapter::docker::events;
    let spawned = std::thread::Builder::new().name("docker-connect".into()).spawn(move || {
        let mut delay = Duration::from_millis(500);
        let docker = loop {
            match Docker::connect(&socket) {
                Ok(d) => break d,
                Err(e) => {
                    log::warn!("connecting to Docker at {}: {e} (retrying)", socket.display())
                }
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(10));
        };
        let images = Arc::new(Images::new(&socket));
        let mut rt =
            PodRuntime::new(Arc::new(docker), images, data_path.clone(), instance_id(&data_path));
        if let Err(e) = rt.ensure_network() {
            log::error!("{e}");
        }
        prober::join_pod_network(rt.docker(), NETWORK);
        match Prober::start(rt.docker().clone(), store.clone(), queue.clone()) {
            Ok(p) => rt.set_prober(p),
            Err(e) => log::error!("cannot start the prober (probes treated as passing): {e}"),
        }
        let _ = slot.set(rt);
        let q = queue.clone();
        let instance = instance_id(&data_path);
        let on_event = Box::new(move |ev: events::ContainerEvent| {
            if ev.action.starts_with("exec_") || ev.action.starts_with("health_status") {
                return;
            }
            if ev.labels.contains_key(labels::MANAGED) {
                // Another k2d's containers are neither ours nor foreign.
                if ev.labels.get(labels::INSTANCE) == Some(&instance)
                    && let (Some(ns), Some(name)) =
                        (ev.labels.get(labels::POD_NAMESPACE), ev.labels.get(labels::POD_NAME))
                {
                    q.enqueue("pods", ns, name);
                }
                if ev.labels.get(labels::INSTANCE) == Some(&instance) {
                    super::services::on_container_event(&q, &ev.labels);
                }
            } else {
                q.enqueue("pods", foreign::NAMESPACE, "");
            }
        });
        let q = queue.clone();
        let st = store.clone();
        let on_connected = Box::new(move || {
            q.reset_backoff();
            let (pods, _) = st.list("pods", None, None);
            for p in pods {
                let m = &p["metadata"];
                q.enqueue(
                    "pods",
                    m["namespace"].as_str().unwrap_or(""),
                    m["name"].as_str().unwrap_or(""),
                );
            }
            q.enqueue("pods", foreign::NAMESPACE, "");
            // Every Service, and proxies whose Service is gone.
            q.enqueue("services", "", "");
        });
        if let Err(e) = events::spawn(socket, on_event, on_connected) {
            log::error!("cannot follow Docker events: {e}");
        }
    });
    if let Err(e) = spawned {
        log::error!("cannot start the Docker connection thread: {e}");
    }
}

/// This data path's instance id, created once (`<data>/instance`).
pub fn instance_id(data_path: &std::path::Path) -> String {
    let path = data_path.join("instance");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if !s.is_empty() {
            return s;
        }
    }
    let id = meta::new_uid();
    if let Err(e) = crate::store::disk::write_atomic(&path, id.as_bytes()) {
        log::error!("writing {}: {e}", path.display());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_container_counts_as_a_restart() {
        let never_ran = json!({"status": {"containerStatuses": [
            {"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(first_attempt(&never_ran, "containerStatuses", "c"), 0);
        let was_running = json!({"status": {"containerStatuses": [
            {"name": "c", "restartCount": 2, "containerID": "docker://x", "state": {"running": {}}}]}});
        assert_eq!(first_attempt(&was_running, "containerStatuses", "c"), 3);
        // Already reported as vanished (restartCount bumped, now waiting).
        let reported = json!({"status": {"containerStatuses": [
            {"name": "c", "restartCount": 3, "state": {"waiting": {}},
             "lastState": {"terminated": {"reason": "ContainerStatusUnknown"}}}]}});
        assert_eq!(first_attempt(&reported, "containerStatuses", "c"), 3);
        assert_eq!(first_attempt(&json!({}), "containerStatuses", "c"), 0);
    }

    #[test]
    fn probe_killed_containers_restart_unless_never() {
        assert!(restarts("Always", 0, false));
        assert!(!restarts("OnFailure", 0, false));
        assert!(restarts("OnFailure", 1, false));
        assert!(restarts("OnFailure", 0, true), "killed by a probe, exit 0 or not");
        assert!(!restarts("Never", 137, true));
    }

    #[test]
    fn probes_reach_host_network_pods_at_the_host_ip() {
        let sandbox =
            json!({"NetworkSettings": {"Networks": {NETWORK: {"IPAddress": "172.20.0.7"}}}});
        let pod = json!({"spec": {}});
        assert_eq!(probe_ip(&pod, Some(&sandbox), "10.1.2.3"), "172.20.0.7");
        assert_eq!(probe_ip(&pod, None, "10.1.2.3"), "");
        let host = json!({"spec": {"hostNetwork": true}});
        assert_eq!(probe_ip(&host, Some(&sandbox), "10.1.2.3"), "10.1.2.3");
        assert_eq!(probe_ip(&host, Some(&sandbox), ""), "127.0.0.1");
    }

    #[test]
    fn an_attempt_docker_forgot_the_end_of_ended_when_it_was_created() {
        let t = |s: &str| humantime::parse_rfc3339(s).unwrap();
        let ended = json!({"Created": "2026-11-26T12:51:37Z",
            "State": {"StartedAt": "2026-11-26T12:51:38Z", "FinishedAt": "2026-11-26T12:51:39Z"}});
        assert_eq!(attempt_finished(&ended), t("2026-11-26T12:51:39Z"));
        let forgotten = json!({"Created": "2026-11-26T12:51:37.5Z",
            "State": {"StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}});
        assert_eq!(attempt_finished(&forgotten), t("2026-11-26T12:51:37.5Z"));
        assert_eq!(attempt_finished(&json!({})), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn crash_backoff_is_the_kubelets() {
        let quick = Duration::from_secs(1);
        assert_eq!(crash_backoff(0, quick), Duration::ZERO);
        assert_eq!(crash_backoff(1, quick), Duration::from_secs(10));
        assert_eq!(crash_backoff(2, quick), Duration::from_secs(20));
        assert_eq!(crash_backoff(9, quick), CRASH_BACKOFF_MAX);
        assert_eq!(crash_backoff(5, BACKOFF_RESET), Duration::ZERO);
    }

    #[test]
    fn instance_id_is_created_once() {
        let dir = std::env::temp_dir().join(format!("k2d-instance-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let a = instance_id(&dir);
        assert_eq!(instance_id(&dir), a);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
