//! What kube-apiserver fills into a Pod: the v1 defaulting functions
//! (`SetDefaults_PodSpec`, `_Container`, `_Volume`, `_Probe`...), the pod-only
//! `SetDefaults_Pod`, and the admission plugins that touch every pod
//! (ServiceAccount, DefaultTolerationSeconds, Priority).
//!
//! Not added: the `kube-api-access-*` projected volume and its mounts, since
//! k2d issues no service account tokens.

use super::qos_class;
use serde_json::{Map, Value, json};

/// Defaults of a pod spec wherever it appears (pods and pod templates).
pub fn default_pod_spec(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else { return };
    set_if_missing(m, "restartPolicy", json!("Always"));
    set_if_missing(m, "terminationGracePeriodSeconds", json!(30));
    set_if_missing(m, "dnsPolicy", json!("ClusterFirst"));
    set_if_missing(m, "securityContext", json!({}));
    set_if_missing(m, "schedulerName", json!("default-scheduler"));
    // v1 keeps the deprecated `serviceAccount` mirroring `serviceAccountName`.
    let sa = str_of(m, "serviceAccountName").or_else(|| str_of(m, "serviceAccount"));
    if let Some(sa) = sa {
        m.insert("serviceAccountName".into(), json!(sa));
        m.insert("serviceAccount".into(), json!(sa));
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = m.get_mut(list) {
            cs.iter_mut().for_each(default_container);
        }
    }
    if let Some(Value::Array(vols)) = m.get_mut("volumes") {
        vols.iter_mut().for_each(default_volume);
    }
    if let Some(Value::Array(ts)) = m.get_mut("tolerations") {
        ts.iter_mut().for_each(|t| reorder(t, TOLERATION_ORDER));
    }
    reorder(spec, POD_SPEC_ORDER);
}

/// Defaults only a Pod gets (not templates), then admission defaults, then
/// the initial status. Idempotent, so it is safe on updates too.
pub fn default_pod(obj: &mut Value) {
    let Some(root) = obj.as_object_mut() else { return };
    if !root.get("spec").is_some_and(Value::is_object) {
        root.insert("spec".into(), json!({}));
    }
    let spec = &mut obj["spec"];
    // SetDefaults_Pod: requests default to limits; hostNetwork ports to hostPorts.
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers"] {
        let Some(Value::Array(cs)) = spec.get_mut(list) else { continue };
        for c in cs {
            requests_from_limits(c);
            if host_network && let Some(Value::Array(ports)) = c.get_mut("ports") {
                for p in ports {
                    let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
                    if hp == 0
                        && let Some(cp) = p.get("containerPort").cloned()
                    {
                        p["hostPort"] = cp;
                    }
                }
            }
        }
    }
    if let Some(m) = spec.as_object_mut() {
        set_if_missing(m, "enableServiceLinks", json!(true));
        // ServiceAccount admission.
        if str_of(m, "serviceAccountName").is_none() && str_of(m, "serviceAccount").is_none() {
            m.insert("serviceAccountName".into(), json!("default"));
        }
        default_tolerations(m);
        // Priority admission: the two built-in classes, else the global default 0.
        if !m.contains_key("priority") {
            let p = match str_of(m, "priorityClassName").as_deref() {
                Some("system-node-critical") => 2_000_001_000,
                Some("system-cluster-critical") => 2_000_000_000,
                _ => 0,
            };
            m.insert("priority".into(), json!(p));
        }
        set_if_missing(m, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    default_pod_spec(spec);

    let qos = qos_class(obj);
    let Some(root) = obj.as_object_mut() else { return };
    let status = root.entry("status").or_insert_with(|| json!({}));
    if let Some(st) = status.as_object_mut() {
        if str_of(st, "phase").is_none() {
            st.insert("phase".into(), json!("Pending"));
        }
        if str_of(st, "qosClass").is_none() {
            st.insert("qosClass".into(), json!(qos));
        }
    }
    reorder(status, STATUS_ORDER);
}

/// The status a new pod starts with (`podStrategy.PrepareForCreate`): whatever
/// the client sent is replaced.
pub fn reset_status(obj: &mut Value) {
    let qos = qos_class(obj);
    if let Some(root) = obj.as_object_mut() {
        root.insert("status".into(), json!({"phase": "Pending", "qosClass": qos}));
    }
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn set_if_missing(m: &mut Map<String, Value>, k: &str, v: Value) {
    if m.get(k).is_none_or(Value::is_null) {
        m.insert(k.into(), v);
    }
}

fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c.pointer("/resources/limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let res = &mut c["resources"];
    if !res.get("requests").is_some_and(Value::is_object) {
        res["requests"] = json!({});
    }
    if let Some(req) = res["requests"].as_object_mut() {
        for (k, v) in limits {
            req.entry(k).or_insert(v);
        }
    }
}

/// DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s
/// unless the pod already tolerates them.
fn default_tolerations(spec: &mut Map<String, Value>) {
    let existing = spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    let tolerates = |key: &str| {
        existing.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let e = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        })
    };
    let mut added = existing.clone();
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        if !tolerates(key) {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if added.len() != existing.len() {
        spec.insert("tolerations".into(), Value::Array(added));
    }
}

/// `SetDefaults_Container`, `_ContainerPort`, `_Probe`, `_HTTPGetAction`, `_ObjectFieldSelector`.
fn default_container(c: &mut Value) {
    let Some(m) = c.as_object_mut() else { return };
    if str_of(m, "imagePullPolicy").is_none() {
        let policy = if image_tag(m.get("image").and_then(Value::as_str).unwrap_or("")) == "latest"
        {
            "Always"
        } else {
            "IfNotPresent"
        };
        m.insert("imagePullPolicy".into(), json!(policy));
    }
    set_if_missing(m, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_missing(m, "terminationMessagePolicy", json!("File"));
    set_if_missing(m, "resources", json!({}));
    if let Some(Value::Array(ports)) = m.get_mut("ports") {
        for p in ports.iter_mut() {
            if let Some(pm) = p.as_object_mut() {
                set_if_missing(pm, "protocol", json!("TCP"));
            }
            reorder(p, PORT_ORDER);
        }
    }
    if let Some(Value::Array(env)) = m.get_mut("env") {
        for e in env {
            if let Some(Value::Object(f)) = e.pointer_mut("/valueFrom/fieldRef") {
                set_if_missing(f, "apiVersion", json!("v1"));
            }
            for sel in ["configMapKeyRef", "secretKeyRef"] {
                if let Some(s) = e.pointer_mut(&format!("/valueFrom/{sel}")) {
                    reorder(s, &["name", "key", "optional"]);
                }
            }
            reorder(e, &["name", "value", "valueFrom"]);
        }
    }
    if let Some(Value::Array(mounts)) = m.get_mut("volumeMounts") {
        mounts.iter_mut().for_each(|v| reorder(v, MOUNT_ORDER));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(Value::Object(p)) = m.get_mut(probe) {
            set_if_missing(p, "timeoutSeconds", json!(1));
            set_if_missing(p, "periodSeconds", json!(10));
            set_if_missing(p, "successThreshold", json!(1));
            set_if_missing(p, "failureThreshold", json!(3));
            default_http_get(p);
            reorder(m.get_mut(probe).unwrap_or(&mut Value::Null), PROBE_ORDER);
        }
    }
    for hook in ["postStart", "preStop"] {
        if let Some(Value::Object(h)) = m.get_mut("lifecycle").and_then(|l| l.get_mut(hook)) {
            default_http_get(h);
        }
    }
    reorder(c, CONTAINER_ORDER);
}

fn default_http_get(handler: &mut Map<String, Value>) {
    if let Some(Value::Object(h)) = handler.get_mut("httpGet") {
        if str_of(h, "path").is_none() {
            h.insert("path".into(), json!("/"));
        }
        set_if_missing(h, "scheme", json!("HTTP"));
    }
    if let Some(h) = handler.get_mut("httpGet") {
        reorder(h, &["path", "port", "host", "scheme", "httpHeaders"]);
    }
}

/// The tag `ParseImageName` finds: "latest" when there is neither tag nor digest.
fn image_tag(image: &str) -> &str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    // A ':' after the last '/' separates the tag (before it is a registry port).
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag,
        None if digest.is_some() => "",
        None => "latest",
    }
}

/// `SetDefaults_Volume` and the defaults of its sources.
fn default_volume(v: &mut Value) {
    let Some(m) = v.as_object_mut() else { return };
    if !m.keys().any(|k| k != "name") {
        m.insert("emptyDir".into(), json!({}));
    }
    for src in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(Value::Object(s)) = m.get_mut(src) {
            set_if_missing(s, "defaultMode", json!(420));
        }
    }
    if let Some(Value::Object(h)) = m.get_mut("hostPath") {
        set_if_missing(h, "type", json!(""));
    }
    for (src, name) in [("configMap", "name"), ("secret", "secretName")] {
        if let Some(s) = m.get_mut(src) {
            reorder(s, &[name, "items", "defaultMode", "optional"]);
            if let Some(Value::Array(items)) = s.get_mut("items") {
                items.iter_mut().for_each(|i| reorder(i, &["key", "path", "mode"]));
            }
        }
    }
    if let Some(p) = m.get_mut("projected") {
        reorder(p, &["sources", "defaultMode"]);
    }
    if let Some(d) = m.get_mut("downwardAPI") {
        reorder(d, &["items", "defaultMode"]);
    }
    let field_refs = |items: Option<&mut Value>| {
        if let Some(Value::Array(items)) = items {
            for it in items {
                if let Some(Value::Object(f)) = it.get_mut("fieldRef") {
                    set_if_missing(f, "apiVersion", json!("v1"));
                }
            }
        }
    };
    field_refs(m.get_mut("downwardAPI").and_then(|d| d.get_mut("items")));
    if let Some(Value::Array(sources)) = m.get_mut("projected").and_then(|p| p.get_mut("sources")) {
        for s in sources {
            if let Some(Value::Object(t)) = s.get_mut("serviceAccountToken") {
                set_if_missing(t, "expirationSeconds", json!(3600));
            }
            field_refs(s.get_mut("downwardAPI").and_then(|d| d.get_mut("items")));
        }
    }
    reorder(v, &["name"]);
}

/// Go's field order of `PodSpec` (k8s-openapi serialises alphabetically).
const POD_SPEC_ORDER: &[&str] = &[
    "volumes",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "nodeSelector",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "hostname",
    "subdomain",
    "affinity",
    "schedulerName",
    "tolerations",
    "hostAliases",
    "priorityClassName",
    "priority",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "overhead",
    "topologySpreadConstraints",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "schedulingGates",
    "resourceClaims",
    "resources",
];

const CONTAINER_ORDER: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
];

const MOUNT_ORDER: &[&str] = &[
    "name",
    "readOnly",
    "recursiveReadOnly",
    "mountPath",
    "subPath",
    "mountPropagation",
    "subPathExpr",
];

const PROBE_ORDER: &[&str] = &[
    "exec",
    "httpGet",
    "tcpSocket",
    "grpc",
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
    "terminationGracePeriodSeconds",
];

const TOLERATION_ORDER: &[&str] = &["key", "operator", "value", "effect", "tolerationSeconds"];

const PORT_ORDER: &[&str] = &["name", "hostPort", "containerPort", "protocol", "hostIP"];

const STATUS_ORDER: &[&str] = &[
    "phase",
    "conditions",
    "message",
    "reason",
    "nominatedNodeName",
    "hostIP",
    "hostIPs",
    "podIP",
    "podIPs",
    "startTime",
    "initContainerStatuses",
    "containerStatuses",
    "qosClass",
    "ephemeralContainerStatuses",
    "resize",
    "resourceClaimStatuses",
];

/// Put the known keys in Go's order (unknown ones keep theirs, at the end).
fn reorder(v: &mut Value, order: &[&str]) {
    let Value::Object(m) = v else { return };
    let mut out = Map::new();
    for k in order {
        if let Some(x) = m.shift_remove(*k) {
            out.insert((*k).to_string(), x);
        }
    }
    out.extend(std::mem::take(m));
    *m = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("nginx"), "latest");
        assert_eq!(image_tag("nginx:latest"), "latest");
        assert_eq!(image_tag("nginx:1.27"), "1.27");
        assert_eq!(image_tag("localhost:5000/app"), "latest");
        assert_eq!(image_tag("localhost:5000/app:v1"), "v1");
        assert_eq!(image_tag("app@sha256:abcd"), "");
        assert_eq!(image_tag("app:v2@sha256:abcd"), "v2");
    }

    #[test]
    fn existing_tolerations_suppress_defaults() {
        let mut spec = json!({"tolerations": [{"operator": "Exists"}]});
        default_tolerations(spec.as_object_mut().unwrap());
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 1);
        let mut spec = json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]});
        default_tolerations(spec.as_object_mut().unwrap());
        let t = spec["tolerations"].as_array().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["tolerationSeconds"], 10);
        assert_eq!(t[1]["key"], "node.kubernetes.io/not-ready");
    }

    #[test]
    fn template_defaults_match_the_reference_deployment() {
        let mut spec = json!({"containers": [{"name": "agent", "image": "busybox:1.36",
            "resources": {"limits": {"cpu": "50m"}}}], "tolerations": [{"operator": "Exists"}]});
        default_pod_spec(&mut spec);
        assert_eq!(
            spec,
            json!({"containers": [{"name": "agent", "image": "busybox:1.36",
                "resources": {"limits": {"cpu": "50m"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst", "securityContext": {},
                "schedulerName": "default-scheduler", "tolerations": [{"operator": "Exists"}]})
        );
    }
}
