//! Containers on the host that k2d did not create, shown as read-only Pods.
//!
//! Portainer's k2d lists such containers as pods of `default`, named after the container. k2d
//! gives them a namespace of their own, [`NAMESPACE`], instead: `default` belongs to the user,
//! a foreign container named like a user's pod would collide with it, and one
//! `kubectl get pods -n k2d-external` (or `delete`) then addresses exactly the containers k2d
//! only mirrors. The pod is a pure function of the container's inspect, so rebuilding it after
//! every Docker event and comparing tells whether anything changed.

use serde_json::{Map, Value, json};

use super::labels;
use super::status::{HostInfo, Observed, docker_time, pod_status, qos_class};

/// The namespace foreign containers appear in.
pub const NAMESPACE: &str = "k2d-external";

/// The full Docker container id of the container behind a foreign pod, which `delete` removes.
pub const CONTAINER_ID_ANNOTATION: &str = "k2d.io/container-id";

/// The container's Docker name as Docker spells it (the pod name is a sanitised form).
pub const CONTAINER_NAME_ANNOTATION: &str = "k2d.io/container-name";

/// Longest DNS label, the limit for container names and what `hostname` accepts.
const MAX_LABEL: usize = 63;

/// Whether a container (an inspect, or an entry of `GET /containers/json`) was made by
/// someone other than k2d.
pub fn is_foreign(container: &Value) -> bool {
    let labels = if container["Config"].is_object() {
        &container["Config"]["Labels"]
    } else {
        &container["Labels"]
    };
    labels.get(labels::MANAGED).is_none()
}

/// A stable pod uid for a container: its id's first 32 hex digits in UUID form, so the uid's
/// first 12 digits (dash aside) are the short id `docker ps` shows.
pub fn pod_uid(container_id: &str) -> String {
    let hex: String = container_id.chars().filter(char::is_ascii_hexdigit).take(32).collect();
    let hex = format!("{hex:0<32}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The pod name for a container: its Docker name as a DNS label (lowercase, `_` and `.` to
/// `-`). A name that had to change gets the first five digits of the id appended, so that
/// `my_app` and an existing `my-app` never map to the same pod.
pub fn pod_name(inspect: &Value) -> String {
    let id = inspect["Id"].as_str().unwrap_or_default();
    let original = inspect["Name"].as_str().unwrap_or_default().trim_start_matches('/');
    let mut name = String::with_capacity(original.len());
    for c in original.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let short: String = id.chars().take(5).collect();
    if name.trim_end_matches('-').is_empty() {
        return format!("container-{short}");
    }
    if name == original && name.len() <= MAX_LABEL && !name.ends_with('-') {
        return name;
    }
    name.truncate(MAX_LABEL - 1 - short.len());
    let name = name.trim_end_matches('-');
    format!("{name}-{short}")
}

/// The Pod k2d shows for a container it did not create: metadata from the container (uid
/// from its id, labels that are valid Kubernetes labels), a one-container spec describing it
/// and its status computed as for k2d's own pods. `resourceVersion` is left to the store.
pub fn pod_from_container(inspect: &Value, node: &HostInfo, namespace: &str) -> Value {
    let name = pod_name(inspect);
    let id = inspect["Id"].as_str().unwrap_or_default();
    let config = &inspect["Config"];
    let host_config = &inspect["HostConfig"];

    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    metadata.insert("namespace".into(), json!(namespace));
    metadata.insert("uid".into(), json!(pod_uid(id)));
    if let Some(created) = docker_time(&inspect["Created"]) {
        metadata.insert("creationTimestamp".into(), json!(created));
    }
    let valid: Map<String, Value> = config["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| is_label_key(k) && v.as_str().is_some_and(is_label_value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !valid.is_empty() {
        metadata.insert("labels".into(), Value::Object(valid));
    }
    let original = inspect["Name"].as_str().unwrap_or_default().trim_start_matches('/');
    metadata.insert(
        "annotations".into(),
        json!({ CONTAINER_ID_ANNOTATION: id, CONTAINER_NAME_ANNOTATION: original }),
    );

    let (volumes, mounts) = volumes(inspect);
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), config["Image"].clone());
    for (field, docker) in [("command", "Entrypoint"), ("args", "Cmd")] {
        if config[docker].as_array().is_some_and(|a| !a.is_empty()) {
            container.insert(field.into(), config[docker].clone());
        }
    }
    if let Some(dir) = config["WorkingDir"].as_str().filter(|d| !d.is_empty()) {
        container.insert("workingDir".into(), json!(dir));
    }
    let ports = ports(inspect);
    if !ports.is_empty() {
        container.insert("ports".into(), Value::Array(ports));
    }
    let env: Vec<Value> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|e| match e.split_once('=') {
            Some((k, v)) => json!({ "name": k, "value": v }),
            None => json!({ "name": e }),
        })
        .collect();
    if !env.is_empty() {
        container.insert("env".into(), Value::Array(env));
    }
    container.insert("resources".into(), resources(host_config));
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), Value::Array(mounts));
    }
    container.insert("terminationMessagePath".into(), json!("/dev/termination-log"));
    container.insert("terminationMessagePolicy".into(), json!("File"));
    container.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    if host_config["Privileged"].as_bool() == Some(true) {
        container.insert("securityContext".into(), json!({ "privileged": true }));
    }
    if config["OpenStdin"].as_bool() == Some(true) {
        container.insert("stdin".into(), json!(true));
    }
    if config["Tty"].as_bool() == Some(true) {
        container.insert("tty".into(), json!(true));
    }

    let restart_policy = match host_config["RestartPolicy"]["Name"].as_str() {
        Some("always" | "unless-stopped") => "Always",
        Some("on-failure") => "OnFailure",
        _ => "Never",
    };
    let host_network = host_config["NetworkMode"].as_str() == Some("host");
    let mut spec = Map::new();
    if !volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(volumes));
    }
    spec.insert("containers".into(), json!([Value::Object(container)]));
    spec.insert("restartPolicy".into(), json!(restart_policy));
    // `docker stop` waits StopTimeout, 10 s unless the container says otherwise.
    let grace = config["StopTimeout"].as_i64().unwrap_or(10);
    spec.insert("terminationGracePeriodSeconds".into(), json!(grace));
    // The container resolves names the way Docker set it up, not through cluster DNS.
    spec.insert("dnsPolicy".into(), json!("Default"));
    spec.insert("nodeName".into(), json!(node.node_name));
    if host_network {
        spec.insert("hostNetwork".into(), json!(true));
    }
    spec.insert("securityContext".into(), json!({}));
    spec.insert("schedulerName".into(), json!("default-scheduler"));
    spec.insert("priority".into(), json!(0));
    spec.insert("enableServiceLinks".into(), json!(false));
    spec.insert("preemptionPolicy".into(), json!("PreemptLowerPriority"));
    let spec = Value::Object(spec);

    // The container is its own sandbox (it owns its network namespace) and its only attempt;
    // Docker's own restart count stands for the kubelet's.
    let mut attempt = inspect.clone();
    if !attempt["Config"]["Labels"].is_object() {
        attempt["Config"]["Labels"] = json!({});
    }
    let restarts = inspect["RestartCount"].as_u64().unwrap_or(0);
    let l = &mut attempt["Config"]["Labels"];
    l[labels::CONTAINER_NAME] = json!(name);
    l[labels::TYPE] = json!("container");
    l[labels::RESTART_COUNT] = json!(restarts.to_string());
    let observed = Observed {
        sandbox: Some(inspect.clone()),
        containers: vec![attempt],
        ..Default::default()
    };
    let qos = qos_class(&spec);
    let pod = json!({ "spec": spec, "status": { "qosClass": qos } });
    // Times come from the container, not the clock, so the same container always gives the
    // same pod.
    let st = &inspect["State"];
    let stamp = [&inspect["Created"], &st["StartedAt"], &st["FinishedAt"]]
        .into_iter()
        .filter_map(docker_time)
        .max()
        .unwrap_or_default();
    let status = pod_status(&pod, &observed, &Default::default(), node, &stamp);
    let Value::Object(mut pod) = pod else { unreachable!("built as an object above") };
    pod.insert("status".into(), status);

    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": metadata,
        "spec": pod.remove("spec").unwrap_or_default(),
        "status": pod.remove("status").unwrap_or_default(),
    })
}

/// `ExposedPorts` and `PortBindings` as container ports, one per host binding.
fn ports(inspect: &Value) -> Vec<Value> {
    let exposed = inspect["Config"]["ExposedPorts"].as_object();
    let bindings = inspect["HostConfig"]["PortBindings"].as_object();
    let mut keys: Vec<&String> = exposed.into_iter().flatten().map(|(k, _)| k).collect();
    for k in bindings.into_iter().flatten().map(|(k, _)| k) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(port) = port.parse::<u16>() else { continue };
        let protocol = proto.to_ascii_uppercase();
        let binds = bindings.and_then(|b| b.get(key)).and_then(Value::as_array);
        let mut any = false;
        for b in binds.into_iter().flatten() {
            let Some(host_port) = b["HostPort"].as_str().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            any = true;
            let mut p = Map::new();
            p.insert("hostPort".into(), json!(host_port));
            p.insert("containerPort".into(), json!(port));
            p.insert("protocol".into(), json!(protocol));
            if let Some(ip) = b["HostIp"].as_str().filter(|ip| !ip.is_empty() && *ip != "0.0.0.0") {
                p.insert("hostIP".into(), json!(ip));
            }
            out.push(Value::Object(p));
        }
        if !any {
            out.push(json!({ "containerPort": port, "protocol": protocol }));
        }
    }
    out
}

/// Docker's memory and CPU limits; requests equal limits, as API defaulting makes them.
fn resources(host_config: &Value) -> Value {
    let mut limits = Map::new();
    let nano_cpus = host_config["NanoCpus"].as_i64().unwrap_or(0);
    let quota = host_config["CpuQuota"].as_i64().unwrap_or(0);
    let period = host_config["CpuPeriod"].as_i64().filter(|p| *p > 0).unwrap_or(100_000);
    let millis = if nano_cpus > 0 {
        nano_cpus / 1_000_000
    } else if quota > 0 {
        quota * 1000 / period
    } else {
        0
    };
    if millis > 0 {
        let cpu =
            if millis % 1000 == 0 { (millis / 1000).to_string() } else { format!("{millis}m") };
        limits.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = host_config["Memory"].as_i64().filter(|m| *m > 0) {
        limits.insert("memory".into(), json!(memory.to_string()));
    }
    if limits.is_empty() {
        return json!({});
    }
    json!({ "limits": limits, "requests": limits })
}

/// Docker's mounts as `hostPath` volumes (a named volume's data lives at its `Source`).
fn volumes(inspect: &Value) -> (Vec<Value>, Vec<Value>) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (i, m) in inspect["Mounts"].as_array().into_iter().flatten().enumerate() {
        let (Some(source), Some(dest)) = (m["Source"].as_str(), m["Destination"].as_str()) else {
            continue;
        };
        let name = format!("mount-{i}");
        volumes.push(json!({ "name": name, "hostPath": { "path": source, "type": "" } }));
        let mut mount = Map::new();
        mount.insert("name".into(), json!(name));
        if m["RW"].as_bool() == Some(false) {
            mount.insert("readOnly".into(), json!(true));
        }
        mount.insert("mountPath".into(), json!(dest));
        mounts.push(Value::Object(mount));
    }
    (volumes, mounts)
}

/// A label value: at most 63 characters, alphanumeric at both ends, `-_.` inside; may be empty.
fn is_label_value(v: &str) -> bool {
    v.is_empty() || is_label_name(v)
}

fn is_label_name(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name.
fn is_label_key(k: &str) -> bool {
    match k.split_once('/') {
        None => is_label_name(k),
        Some((prefix, name)) => {
            is_label_name(name)
                && prefix.len() <= 253
                && prefix.split('.').all(|part| {
                    let b = part.as_bytes();
                    !b.is_empty()
                        && b.len() <= MAX_LABEL
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                        && b[0] != b'-'
                        && b[b.len() - 1] != b'-'
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> Value {
        let text = match name {
            "running" => include_str!("testdata/pod/foreign-running.json"),
            "exited" => include_str!("testdata/pod/foreign-exited.json"),
            "managed" => include_str!("testdata/pod/app-1.json"),
            other => panic!("no testdata {other}"),
        };
        serde_json::from_str(text).unwrap()
    }

    const NODE: HostInfo = HostInfo { host_ip: "192.168.1.10", node_name: "edge-1" };

    #[test]
    fn foreign_or_managed() {
        assert!(is_foreign(&load("running")));
        assert!(!is_foreign(&load("managed")));
        // `GET /containers/json` entries carry labels at the top.
        assert!(!is_foreign(&json!({ "Labels": { labels::MANAGED: "true" } })));
        assert!(is_foreign(&json!({ "Labels": {} })));
    }

    #[test]
    fn names_and_uids() {
        let c = load("running");
        let id = c["Id"].as_str().unwrap();
        assert_eq!(pod_name(&c), format!("my-web-1-{}", &id[..5]));
        assert_eq!(pod_name(&load("exited")), "plain");
        let named = |n: &str| pod_name(&json!({ "Id": "abcdef0123", "Name": n }));
        assert_eq!(named("/ok-name"), "ok-name");
        assert_eq!(named("/quirky_turing"), "quirky-turing-abcde");
        assert_eq!(named("/__"), "container-abcde");
        let long = named(&format!("/{}", "a".repeat(80)));
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("-abcde"));
        let uid = pod_uid(id);
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.replace('-', ""), id[..32]);
        assert_eq!(pod_uid(id), uid, "stable");
    }

    #[test]
    fn running_container_as_pod() {
        let c = load("running");
        let id = c["Id"].as_str().unwrap();
        let pod = pod_from_container(&c, &NODE, NAMESPACE);
        let name = pod_name(&c);
        assert_eq!(pod["kind"], "Pod");
        let meta = &pod["metadata"];
        assert_eq!(meta["name"], name);
        assert_eq!(meta["namespace"], "k2d-external");
        assert_eq!(meta["uid"], pod_uid(id));
        assert_eq!(meta["creationTimestamp"], docker_time(&c["Created"]).unwrap());
        // `a/b/c` is no label key and `/srv/www` no label value.
        assert_eq!(meta["labels"], json!({ "com.example.tier": "front" }));
        assert_eq!(meta["annotations"][CONTAINER_ID_ANNOTATION], id);
        assert_eq!(meta["annotations"][CONTAINER_NAME_ANNOTATION], "my_Web.1");

        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["nodeName"], "edge-1");
        let ctr = &spec["containers"][0];
        assert_eq!(ctr["name"], name);
        assert_eq!(ctr["image"], "k2d-test/busybox:1");
        assert!(ctr.get("command").is_none());
        assert_eq!(ctr["args"], json!(["httpd", "-f", "-p", "80"]));
        assert_eq!(ctr["workingDir"], "/srv");
        assert_eq!(
            ctr["ports"],
            json!([{ "hostPort": 18080, "containerPort": 80, "protocol": "TCP", "hostIP": "127.0.0.1" }])
        );
        assert_eq!(ctr["env"][0], json!({ "name": "GREETING", "value": "hello" }));
        assert_eq!(ctr["resources"], json!({}));

        let st = &pod["status"];
        assert_eq!(st["phase"], "Running");
        assert_eq!(st["qosClass"], "BestEffort");
        assert!(st["podIP"].as_str().unwrap().starts_with("172."), "{st}");
        let cs = &st["containerStatuses"][0];
        assert_eq!(cs["name"], name);
        assert_eq!(cs["ready"], true);
        assert_eq!(cs["containerID"], format!("docker://{id}"));
        assert_eq!(cs["restartCount"], 0);
        assert_eq!(st["startTime"], docker_time(&c["Created"]).unwrap());
        let ready = st["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready");
        assert_eq!(ready.unwrap()["status"], "True");

        assert_eq!(pod_from_container(&c, &NODE, NAMESPACE), pod, "a pure function of the inspect");
    }

    #[test]
    fn exited_container_as_pod() {
        let c = load("exited");
        let pod = pod_from_container(&c, &NODE, "elsewhere");
        assert_eq!(pod["metadata"]["namespace"], "elsewhere");
        assert!(pod["metadata"].get("labels").is_none());
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["containers"][0]["args"], json!(["sh", "-c", "echo hi"]));
        let st = &pod["status"];
        assert_eq!(st["phase"], "Succeeded");
        assert_eq!(st["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
        // Conditions date from the container's last change, not from now.
        let finished = docker_time(&c["State"]["FinishedAt"]).unwrap();
        for cond in st["conditions"].as_array().unwrap() {
            assert_eq!(cond["lastTransitionTime"], finished.as_str());
        }
    }

    #[test]
    fn limits_mounts_and_host_network() {
        let mut c = load("exited");
        c["HostConfig"]["NanoCpus"] = json!(1_500_000_000i64);
        c["HostConfig"]["Memory"] = json!(67_108_864);
        c["HostConfig"]["NetworkMode"] = json!("host");
        c["Mounts"] = json!([
            { "Type": "bind", "Source": "/srv/data", "Destination": "/data", "RW": false },
        ]);
        let pod = pod_from_container(&c, &NODE, NAMESPACE);
        let ctr = &pod["spec"]["containers"][0];
        let limits = json!({ "cpu": "1500m", "memory": "67108864" });
        assert_eq!(ctr["resources"], json!({ "limits": limits, "requests": limits }));
        assert_eq!(pod["status"]["qosClass"], "Guaranteed");
        assert_eq!(
            ctr["volumeMounts"],
            json!([{ "name": "mount-0", "readOnly": true, "mountPath": "/data" }])
        );
        assert_eq!(pod["spec"]["volumes"][0]["hostPath"]["path"], "/srv/data");
        assert_eq!(pod["spec"]["hostNetwork"], true);
        assert_eq!(pod["status"]["podIP"], "192.168.1.10");
    }

    #[test]
    fn label_validation() {
        assert!(is_label_key("app"));
        assert!(is_label_key("com.docker.compose.project"));
        assert!(is_label_key("example.com/tier"));
        assert!(!is_label_key("a/b/c"));
        assert!(!is_label_key("Example.com/tier"));
        assert!(!is_label_key("-x"));
        assert!(is_label_value(""));
        assert!(is_label_value("v1.2_3"));
        assert!(!is_label_value("/srv"));
        assert!(!is_label_value(&"a".repeat(64)));
    }
}
