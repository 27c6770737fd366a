//! Statuses computed from inspects recorded on this machine's Docker 20.10 (see
//! testdata/pod/capture.sh), checked against what a kubelet writes.

use serde_json::{Value, json};

use super::*;

fn load(name: &str) -> Value {
    let text = match name {
        "sandbox" => include_str!("../testdata/pod/sandbox.json"),
        "init-0" => include_str!("../testdata/pod/init-0.json"),
        "app-0" => include_str!("../testdata/pod/app-0.json"),
        "app-1" => include_str!("../testdata/pod/app-1.json"),
        "done-0" => include_str!("../testdata/pod/done-0.json"),
        "oom-0" => include_str!("../testdata/pod/oom-0.json"),
        "created-0" => include_str!("../testdata/pod/created-0.json"),
        "cannotrun-0" => include_str!("../testdata/pod/cannotrun-0.json"),
        "reference-pod-running" => include_str!("../testdata/pod/reference-pod-running.json"),
        "reference-crashloop" => include_str!("../testdata/pod/reference-status-crashloop.json"),
        other => panic!("no testdata {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// A recorded inspect relabelled as another container or attempt of the pod.
fn as_container(name: &str, inspect: &str, attempt: u32) -> Value {
    let mut v = load(inspect);
    let l = &mut v["Config"]["Labels"];
    l[labels::CONTAINER_NAME] = json!(name);
    l[labels::RESTART_COUNT] = json!(attempt.to_string());
    v
}

const HOST: HostInfo = HostInfo { host_ip: "192.168.1.10", node_name: "edge-1" };
const T0: &str = "2026-11-26T09:00:00Z";
const T1: &str = "2026-11-26T09:30:00Z";
const IMAGE_ID: &str =
    "docker://sha256:57cd304020a8778c2038b77c525ab2eb5c3b4d9bc78e6da2051427b7dac699f5";

fn pod(containers: &[&str], restart_policy: &str) -> Value {
    let containers: Vec<Value> =
        containers.iter().map(|n| json!({ "name": n, "image": "k2d-test/busybox:1" })).collect();
    json!({
        "metadata": { "name": "demo", "namespace": "default" },
        "spec": { "containers": containers, "restartPolicy": restart_policy, "nodeName": "edge-1" },
        "status": { "phase": "Pending", "qosClass": "BestEffort" },
    })
}

fn observed(containers: &[Value]) -> Observed {
    Observed {
        sandbox: Some(load("sandbox")),
        containers: containers.to_vec(),
        ..Default::default()
    }
}

fn status(pod: &Value, observed: &Observed, now: &str) -> Value {
    pod_status(pod, observed, &HashMap::new(), &HOST, now)
}

fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    items(&status["conditions"])
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {status:#}"))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn running_pod_after_one_restart() {
    let pod = pod(&["app"], "Always");
    let obs = observed(&[load("app-0"), load("app-1")]);
    let s = status(&pod, &obs, T0);
    assert_eq!(s["phase"], "Running");
    assert_eq!(s["hostIP"], "192.168.1.10");
    assert_eq!(s["hostIPs"], json!([{ "ip": "192.168.1.10" }]));
    assert_eq!(s["podIP"], "172.19.0.2");
    assert_eq!(s["podIPs"], json!([{ "ip": "172.19.0.2" }]));
    // Known from the sandbox, not the time of computing.
    assert_eq!(s["startTime"], "2026-11-26T09:11:44Z");
    assert_eq!(s["qosClass"], "BestEffort");
    let previous_id = format!("docker://{}", load("app-0")["Id"].as_str().unwrap());
    assert_eq!(
        s["containerStatuses"][0],
        json!({
            "name": "app",
            "state": { "running": { "startedAt": "2026-11-26T09:11:45Z" } },
            "lastState": { "terminated": {
                "exitCode": 3,
                "reason": "Error",
                "startedAt": "2026-11-26T09:11:45Z",
                "finishedAt": "2026-11-26T09:11:45Z",
                "containerID": previous_id,
            }},
            "ready": true,
            "restartCount": 1,
            "image": "k2d-test/busybox:1",
            "imageID": IMAGE_ID,
            "containerID": "docker://dd52ff2ef566e5d26c5eef36d505aacea06b43b38fd1059aee176a9aca6b8ac2",
            "started": true,
        })
    );
    for kind in ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"] {
        let c = condition(&s, kind);
        assert_eq!(c["status"], "True", "{kind}");
        assert_eq!(c["lastTransitionTime"], T0);
        assert!(c["lastProbeTime"].is_null());
        assert!(c.get("reason").is_none());
    }
    assert_eq!(condition(&s, "PodScheduled")["status"], "True");
}

#[test]
fn shapes_match_what_the_api_server_returns_for_a_kubelet_status() {
    let reference = load("reference-pod-running");
    let s = status(&pod(&["app"], "Always"), &observed(&[load("app-1")]), T0);
    assert_eq!(keys(&s), keys(&reference["status"]));
    assert_eq!(
        keys(&s["containerStatuses"][0]),
        keys(&reference["status"]["containerStatuses"][0])
    );
    let types: Vec<&Value> = items(&s["conditions"]).iter().map(|c| &c["type"]).collect();
    let want: Vec<&Value> =
        items(&reference["status"]["conditions"]).iter().map(|c| &c["type"]).collect();
    assert_eq!(types, want);
    for (ours, theirs) in
        items(&s["conditions"]).iter().zip(items(&reference["status"]["conditions"]))
    {
        assert_eq!(keys(ours), keys(theirs));
    }
}

#[test]
fn crash_loop_waits_with_the_last_termination() {
    let pod = pod(&["app"], "Always");
    let obs = observed(&[load("app-0")]);
    let why = HashMap::from([(
        "app".to_owned(),
        Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 10s restarting failed container=app pod=demo_default(x)".into(),
        },
    )]);
    let s = pod_status(&pod, &obs, &why, &HOST, T0);
    let reference = &load("reference-crashloop")["status"];
    let app = &s["containerStatuses"][0];
    assert_eq!(keys(app), keys(&reference["containerStatuses"][0]));
    assert_eq!(app["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(app["state"]["waiting"]["message"], why["app"].message);
    assert_eq!(app["lastState"]["terminated"]["exitCode"], 3);
    assert_eq!(app["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(app["ready"], false);
    assert_eq!(app["started"], false);
    assert_eq!(app["restartCount"], 0);
    assert_eq!(s["phase"], "Running");
    for kind in ["Ready", "ContainersReady"] {
        let c = condition(&s, kind);
        assert_eq!(c["status"], "False");
        assert_eq!(c["reason"], "ContainersNotReady");
        assert_eq!(c["message"], "containers with unready status: [app]");
    }
}

#[test]
fn a_running_container_ignores_a_stale_waiting_reason() {
    let why = HashMap::from([(
        "app".to_owned(),
        Waiting { reason: "ContainerCreating".into(), message: String::new() },
    )]);
    let s = pod_status(&pod(&["app"], "Always"), &observed(&[load("app-1")]), &why, &HOST, T0);
    assert!(s["containerStatuses"][0]["state"]["running"].is_object());
}

#[test]
fn never_restarted_failure_fails_the_pod() {
    let s = status(&pod(&["app"], "Never"), &observed(&[load("app-0")]), T0);
    assert_eq!(s["phase"], "Failed");
    let t = &s["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["exitCode"], 3);
    assert_eq!(t["reason"], "Error");
    assert!(t.get("message").is_none());
    assert_eq!(condition(&s, "ContainersReady")["reason"], "PodFailed");
    assert_eq!(condition(&s, "Ready")["reason"], "PodFailed");
    // OnFailure restarts it: still Running.
    let s = status(&pod(&["app"], "OnFailure"), &observed(&[load("app-0")]), T0);
    assert_eq!(s["phase"], "Running");
    // Always too.
    let s = status(&pod(&["app"], "Always"), &observed(&[load("app-0")]), T0);
    assert_eq!(s["phase"], "Running");
}

#[test]
fn success_completes_the_pod_unless_restart_is_always() {
    let done = as_container("app", "done-0", 0);
    for policy in ["OnFailure", "Never"] {
        let s = status(&pod(&["app"], policy), &observed(std::slice::from_ref(&done)), T0);
        assert_eq!(s["phase"], "Succeeded", "{policy}");
        let t = &s["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["reason"], "Completed");
        assert_eq!(t["exitCode"], 0);
        assert_eq!(s["containerStatuses"][0]["ready"], false);
        assert_eq!(s["containerStatuses"][0]["started"], false);
        assert_eq!(condition(&s, "Initialized")["reason"], "PodCompleted");
        assert_eq!(condition(&s, "Initialized")["status"], "True");
        assert_eq!(condition(&s, "Ready")["reason"], "PodCompleted");
        assert!(condition(&s, "Ready").get("message").is_none());
    }
    let s = status(&pod(&["app"], "Always"), &observed(&[done]), T0);
    assert_eq!(s["phase"], "Running");
}

#[test]
fn terminal_phase_is_kept() {
    let mut p = pod(&["app"], "Never");
    p["status"]["phase"] = json!("Succeeded");
    // Even if something restarted a container behind our back.
    let s = status(&p, &observed(&[as_container("app", "app-1", 0)]), T0);
    assert_eq!(s["phase"], "Succeeded");
}

#[test]
fn oom_kill_and_start_failure_reasons() {
    let s = status(
        &pod(&["oom", "cannotrun", "created"], "Never"),
        &observed(&[load("oom-0"), load("cannotrun-0"), load("created-0")]),
        T0,
    );
    let oom = &s["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(oom["reason"], "OOMKilled");
    assert_eq!(oom["exitCode"], 137);
    let failed = &s["containerStatuses"][1]["state"]["terminated"];
    assert_eq!(failed["reason"], "StartError");
    assert_eq!(failed["exitCode"], 127);
    assert!(failed["message"].as_str().unwrap().contains("/no/such/binary"), "{failed}");
    assert_eq!(failed["startedAt"], docker_time(&load("cannotrun-0")["Created"]).unwrap());
    // Created but not started yet: still coming up.
    assert_eq!(
        s["containerStatuses"][2]["state"],
        json!({ "waiting": { "reason": "ContainerCreating" } })
    );
    assert_eq!(s["phase"], "Pending");
}

#[test]
fn nothing_in_docker_yet() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["containers"][0]["volumeMounts"] = json!([{ "name": "v", "mountPath": "/v" }]);
    let obs = Observed::default();
    let why = HashMap::from([(
        "app".to_owned(),
        Waiting {
            reason: "ImagePullBackOff".into(),
            message: "Back-off pulling image \"nope:1\"".into(),
        },
    )]);
    let s = pod_status(&p, &obs, &why, &HOST, T0);
    assert_eq!(s["phase"], "Pending");
    assert_eq!(s["startTime"], T0);
    assert!(s.get("podIP").is_none());
    let app = &s["containerStatuses"][0];
    assert_eq!(app["state"]["waiting"]["reason"], "ImagePullBackOff");
    assert_eq!(app["imageID"], "");
    assert!(app.get("containerID").is_none());
    // Mounts are reported only for containers the runtime has.
    assert!(app.get("volumeMounts").is_none());
    assert_eq!(condition(&s, "PodReadyToStartContainers")["status"], "False");
    let s = pod_status(&p, &obs, &HashMap::new(), &HOST, T0);
    assert_eq!(s["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating");
}

#[test]
fn init_containers_run_first() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["initContainers"] = json!([
        { "name": "init", "image": "k2d-test/busybox:1" },
        { "name": "second", "image": "k2d-test/busybox:1" },
    ]);
    // First done, second running.
    let obs = observed(&[load("init-0"), as_container("second", "app-1", 0)]);
    let s = status(&p, &obs, T0);
    assert_eq!(s["phase"], "Pending");
    let init = &s["initContainerStatuses"];
    assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
    assert_eq!(init[0]["ready"], true);
    assert_eq!(init[1]["ready"], false);
    assert_eq!(init[1]["started"], true);
    assert_eq!(s["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
    let c = condition(&s, "Initialized");
    assert_eq!(c["status"], "False");
    assert_eq!(c["reason"], "ContainersNotInitialized");
    assert_eq!(c["message"], "containers with incomplete status: [second]");

    // Both done and the app running.
    let obs = observed(&[load("init-0"), as_container("second", "done-0", 0), load("app-1")]);
    let s = status(&p, &obs, T0);
    assert_eq!(s["phase"], "Running");
    assert_eq!(condition(&s, "Initialized")["status"], "True");
    assert_eq!(condition(&s, "Ready")["status"], "True");

    // A failed init container fails a Never pod.
    p["spec"]["restartPolicy"] = json!("Never");
    let obs = observed(&[load("init-0"), as_container("second", "app-0", 0)]);
    assert_eq!(status(&p, &obs, T0)["phase"], "Failed");
}

#[test]
fn sidecar_counts_as_initialised_once_started() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["initContainers"] =
        json!([{ "name": "side", "image": "k2d-test/busybox:1", "restartPolicy": "Always" }]);
    let obs = observed(&[as_container("side", "app-1", 0)]);
    let s = status(&p, &obs, T0);
    assert_eq!(condition(&s, "Initialized")["status"], "True");
    assert_eq!(s["initContainerStatuses"][0]["ready"], true);
    // The app has not started: ContainersReady lists it only.
    assert_eq!(
        condition(&s, "ContainersReady")["message"],
        "containers with unready status: [app]"
    );
    assert_eq!(s["phase"], "Pending");
}

#[test]
fn transition_times_move_only_with_the_status() {
    let mut p = pod(&["app"], "Always");
    p["status"] = status(&p, &observed(&[load("app-1")]), T0);
    let again = status(&p, &observed(&[load("app-1")]), T1);
    assert_eq!(again, p["status"], "nothing changed, nothing moves");

    // The container crashed: Ready and ContainersReady flip at T1, the rest stays at T0.
    let s = status(&p, &observed(&[as_container("app", "app-0", 0)]), T1);
    assert_eq!(condition(&s, "Ready")["lastTransitionTime"], T1);
    assert_eq!(condition(&s, "ContainersReady")["lastTransitionTime"], T1);
    assert_eq!(condition(&s, "PodScheduled")["lastTransitionTime"], T0);
    assert_eq!(condition(&s, "Initialized")["lastTransitionTime"], T0);
    assert_eq!(s["startTime"], p["status"]["startTime"]);
}

#[test]
fn foreign_conditions_are_kept_and_gate_readiness() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["readinessGates"] = json!([{ "conditionType": "example.com/lb" }]);
    let s = status(&p, &observed(&[load("app-1")]), T0);
    let ready = condition(&s, "Ready");
    assert_eq!(ready["reason"], "ReadinessGatesNotReady");
    assert_eq!(
        ready["message"],
        "corresponding condition of pod readiness gate \"example.com/lb\" does not exist."
    );
    assert_eq!(condition(&s, "ContainersReady")["status"], "True");

    p["status"]["conditions"] = json!([{ "type": "example.com/lb", "status": "True" }]);
    let s = status(&p, &observed(&[load("app-1")]), T0);
    assert_eq!(condition(&s, "Ready")["status"], "True");
    assert_eq!(s["conditions"][0]["type"], "example.com/lb");
}

#[test]
fn a_vanished_running_container_terminated_unknown() {
    let mut p = pod(&["app"], "Always");
    p["status"] = status(&p, &observed(&[load("app-1")]), T0);
    let s = status(&p, &observed(&[]), T1);
    let app = &s["containerStatuses"][0];
    assert_eq!(app["lastState"]["terminated"]["reason"], "ContainerStatusUnknown");
    assert_eq!(app["lastState"]["terminated"]["exitCode"], 137);
    assert_eq!(app["restartCount"], 2);
    assert_eq!(app["state"]["waiting"]["reason"], "ContainerCreating");
    assert_eq!(s["phase"], "Running");

    // A finished container that was removed keeps its end.
    let mut p = pod(&["app"], "Never");
    p["status"] = status(&p, &observed(&[load("app-0")]), T0);
    let s = status(&p, &Observed::default(), T1);
    assert_eq!(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 3);
    assert_eq!(s["phase"], "Failed");
    // And the pod keeps the IP it had.
    assert_eq!(s["podIP"], "172.19.0.2");
}

#[test]
fn deleted_pod_ends_terminal() {
    let mut p = pod(&["app"], "Always");
    p["metadata"]["deletionTimestamp"] = json!(T0);
    let s = status(&p, &observed(&[load("app-0")]), T0);
    assert_eq!(s["phase"], "Failed");
}

#[test]
fn host_network_uses_the_host_ip_and_digests_make_pullable_ids() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["hostNetwork"] = json!(true);
    let mut obs = observed(&[load("app-1")]);
    let image = load("app-1")["Image"].as_str().unwrap().to_owned();
    obs.repo_digests.insert(image, "busybox@sha256:ab12".into());
    let s = status(&p, &obs, T0);
    assert_eq!(s["podIP"], "192.168.1.10");
    assert_eq!(s["containerStatuses"][0]["imageID"], "docker-pullable://busybox@sha256:ab12");
}

#[test]
fn probes_hook() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["containers"][0]["readinessProbe"] = json!({ "exec": { "command": ["true"] } });
    let obs = observed(&[load("app-1")]);
    // No prober: passes.
    assert_eq!(status(&p, &obs, T0)["containerStatuses"][0]["ready"], true);
    let mut probes = ProbeResults::default();
    let s = pod_status_with_probes(&p, &obs, &HashMap::new(), Some(&probes), &HOST, T0);
    assert_eq!(s["containerStatuses"][0]["ready"], false);
    assert_eq!(condition(&s, "Ready")["status"], "False");
    probes.ready.insert("app".into(), true);
    let s = pod_status_with_probes(&p, &obs, &HashMap::new(), Some(&probes), &HOST, T0);
    assert_eq!(s["containerStatuses"][0]["ready"], true);
}

#[test]
fn startup_probe_gates_started_and_ready() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["containers"][0]["startupProbe"] = json!({ "exec": { "command": ["true"] } });
    let obs = observed(&[load("app-1")]);
    let mut probes = ProbeResults::default();
    // No readiness probe, but not started yet: neither started nor ready.
    probes.started.insert("app".into(), false);
    let s = pod_status_with_probes(&p, &obs, &HashMap::new(), Some(&probes), &HOST, T0);
    let cs = &s["containerStatuses"][0];
    assert_eq!((cs["started"].clone(), cs["ready"].clone()), (json!(false), json!(false)));
    assert_eq!(
        condition(&s, "ContainersReady")["message"],
        "containers with unready status: [app]"
    );
    assert_eq!(s["phase"], "Running");
    probes.started.insert("app".into(), true);
    let s = pod_status_with_probes(&p, &obs, &HashMap::new(), Some(&probes), &HOST, T0);
    let cs = &s["containerStatuses"][0];
    assert_eq!((cs["started"].clone(), cs["ready"].clone()), (json!(true), json!(true)));
    assert_eq!(condition(&s, "Ready")["status"], "True");
}

#[test]
fn volume_mounts_of_started_containers() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["containers"][0]["volumeMounts"] = json!([
        { "name": "token", "mountPath": "/var/run/secrets", "readOnly": true },
        { "name": "data", "mountPath": "/data" },
    ]);
    let s = status(&p, &observed(&[load("app-1")]), T0);
    assert_eq!(
        s["containerStatuses"][0]["volumeMounts"],
        json!([
            { "name": "token", "mountPath": "/var/run/secrets", "readOnly": true, "recursiveReadOnly": "Disabled" },
            { "name": "data", "mountPath": "/data" },
        ])
    );
}

#[test]
fn pods_of_other_nodes_are_left_alone() {
    let mut p = pod(&["app"], "Always");
    p["spec"]["nodeName"] = json!("elsewhere");
    p["status"] = json!({ "phase": "Pending", "qosClass": "BestEffort", "conditions": [] });
    assert_eq!(status(&p, &observed(&[load("app-1")]), T0), p["status"]);
    p["spec"]["nodeName"] = Value::Null;
    p["status"] = json!({});
    assert_eq!(
        status(&p, &observed(&[]), T0),
        json!({ "phase": "Pending", "qosClass": "BestEffort" })
    );
}

#[test]
fn attempts_are_ordered_by_restart_count() {
    let obs = observed(&[load("app-1"), load("app-0"), load("done-0")]);
    assert_eq!(current_attempt(&obs, "app").unwrap()["Id"], load("app-1")["Id"]);
    assert_eq!(previous_attempt(&obs, "app").unwrap()["Id"], load("app-0")["Id"]);
    assert!(previous_attempt(&obs, "done").is_none());
    assert!(current_attempt(&obs, "nope").is_none());
    // The sandbox is no attempt of anything.
    let mut sandbox = load("sandbox");
    sandbox["Config"]["Labels"][labels::CONTAINER_NAME] = json!("app");
    sandbox["Config"]["Labels"][labels::RESTART_COUNT] = json!("9");
    let obs = observed(&[load("app-1"), sandbox]);
    assert_eq!(current_attempt(&obs, "app").unwrap()["Id"], load("app-1")["Id"]);
}

#[test]
fn docker_times() {
    assert_eq!(
        docker_time(&json!("2026-11-26T09:11:45.59139963Z")).as_deref(),
        Some("2026-11-26T09:11:45Z")
    );
    assert_eq!(
        docker_time(&json!("2026-11-26T09:11:45Z")).as_deref(),
        Some("2026-11-26T09:11:45Z")
    );
    assert_eq!(docker_time(&json!("0001-01-01T00:00:00Z")), None);
    assert_eq!(docker_time(&json!("garbage")), None);
    assert_eq!(docker_time(&Value::Null), None);
}

#[test]
fn qos_classes() {
    let spec =
        |resources: Value| json!({ "containers": [{ "name": "a", "resources": resources }] });
    assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
    assert_eq!(
        qos_class(&spec(json!({ "limits": { "cpu": "1", "memory": "1Gi" } }))),
        "Guaranteed"
    );
    assert_eq!(
        qos_class(&spec(json!({
            "limits": { "cpu": "1", "memory": "1Gi" },
            "requests": { "cpu": "1000m", "memory": "1073741824" },
        }))),
        "Guaranteed"
    );
    assert_eq!(
        qos_class(&spec(
            json!({ "limits": { "cpu": "1", "memory": "1Gi" }, "requests": { "cpu": "500m" } })
        )),
        "Burstable"
    );
    assert_eq!(qos_class(&spec(json!({ "requests": { "memory": "64Mi" } }))), "Burstable");
    // Only cpu and memory count.
    assert_eq!(qos_class(&spec(json!({ "limits": { "ephemeral-storage": "1Gi" } }))), "BestEffort");
}
