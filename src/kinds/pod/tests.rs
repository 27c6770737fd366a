use super::*;
use crate::api::error::ApiError;
use serde_json::json;

/// A create as the API does it: typed decode, then defaults, then the create-only status.
fn admit(input: &Value) -> Value {
    let mut obj = PODS.behavior.decode(input).unwrap().object;
    obj["metadata"]["uid"] = json!("u-1");
    PODS.behavior.default(&mut obj);
    PODS.behavior.on_create(&mut obj);
    obj
}

/// The reference pods carry what k2d deliberately leaves out: the service
/// account token volume (k2d has no tokens) and the scheduler's nodeName.
fn without_api_access(spec: &Value) -> Value {
    let mut spec = spec.clone();
    let is_token = |n: &Value| n.as_str().is_some_and(|n| n.starts_with("kube-api-access-"));
    let m = spec.as_object_mut().unwrap();
    m.shift_remove("nodeName");
    if let Some(Value::Array(vols)) = m.get_mut("volumes") {
        vols.retain(|v| !is_token(&v["name"]));
        if vols.is_empty() {
            m.shift_remove("volumes");
        }
    }
    for list in ["containers", "initContainers"] {
        for c in m.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let cm = c.as_object_mut().unwrap();
            if let Some(Value::Array(mounts)) = cm.get_mut("volumeMounts") {
                mounts.retain(|v| !is_token(&v["name"]));
                if mounts.is_empty() {
                    cm.shift_remove("volumeMounts");
                }
            }
        }
    }
    spec
}

fn yaml_docs(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

#[test]
fn defaults_match_the_reference_debug_pod_field_for_field_and_in_order() {
    let docs = yaml_docs(include_str!("testdata/demo-app.yaml"));
    let input = docs.iter().find(|d| d["kind"] == "Pod").unwrap();
    let got = admit(input);
    let want: Value = serde_json::from_str(include_str!("testdata/get-debug.json")).unwrap();
    let want_spec = without_api_access(&want["spec"]);
    assert_eq!(
        serde_json::to_string_pretty(&got["spec"]).unwrap(),
        serde_json::to_string_pretty(&want_spec).unwrap()
    );
    assert_eq!(got["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
}

#[test]
fn defaults_match_the_reference_deployment_pod() {
    let docs = yaml_docs(include_str!("testdata/demo-app.yaml"));
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let input = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "nginx-1", "namespace": "demo"},
        "spec": deploy["spec"]["template"]["spec"]});
    let got = admit(&input);
    let want: Value =
        serde_json::from_str(include_str!("testdata/get-nginx-776d6489c8-fh464.json")).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&got["spec"]).unwrap(),
        serde_json::to_string_pretty(&without_api_access(&want["spec"])).unwrap()
    );
    assert_eq!(got["status"]["qosClass"], "Burstable");
}

#[test]
fn defaults_and_qos_match_the_kubelet_sim_pods() {
    let want: Vec<Value> =
        serde_json::from_str(include_str!("testdata/kubelet-sim-pods.json")).unwrap();
    let inputs = yaml_docs(include_str!("testdata/00-pods.yaml"));
    assert_eq!(inputs.len(), want.len());
    for input in &inputs {
        let name = input["metadata"]["name"].as_str().unwrap();
        let w = want.iter().find(|w| w["name"] == name).unwrap();
        let got = admit(input);
        assert_eq!(got["spec"], without_api_access(&w["spec"]), "{name}");
        assert_eq!(got["status"]["qosClass"], w["qosClass"], "{name}");
    }
}

#[test]
fn defaults_are_idempotent_and_keep_a_written_status() {
    let input = json!({"metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": [{"name": "a", "image": "x:latest", "ports": [{"containerPort": 80}]}]}});
    let once = admit(&input);
    assert_eq!(once["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(once["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");
    let mut twice = once.clone();
    PODS.behavior.default(&mut twice);
    assert_eq!(once, twice);
    // A status written later (by the controller) survives defaulting.
    let mut running = once.clone();
    running["status"] = json!({"phase": "Running", "podIP": "172.18.0.3"});
    PODS.behavior.default(&mut running);
    assert_eq!(running["status"]["phase"], "Running");
    assert_eq!(running["status"]["qosClass"], "BestEffort");
    // On create, a client's status is replaced.
    let mut sent = input.clone();
    sent["status"] = json!({"phase": "Running"});
    assert_eq!(admit(&sent)["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
}

#[test]
fn pod_only_defaults() {
    let got = admit(&json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {
        "hostNetwork": true, "priorityClassName": "system-node-critical",
        "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "readinessProbe": {"httpGet": {"port": 8080}},
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
        "volumes": [{"name": "v"}, {"name": "h", "hostPath": {"path": "/x"}},
            {"name": "s", "secret": {"secretName": "s"}}]}}));
    let c = &got["spec"]["containers"][0];
    assert_eq!(c["ports"][0], json!({"hostPort": 8080, "containerPort": 8080, "protocol": "TCP"}));
    assert_eq!(c["resources"]["requests"], json!({"cpu": "1", "memory": "1Gi"}));
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"],
        json!({"apiVersion": "v1", "fieldPath": "metadata.name"})
    );
    assert_eq!(got["spec"]["volumes"][0], json!({"name": "v", "emptyDir": {}}));
    assert_eq!(got["spec"]["volumes"][1]["hostPath"], json!({"path": "/x", "type": ""}));
    assert_eq!(got["spec"]["volumes"][2]["secret"]["defaultMode"], 420);
    assert_eq!(got["spec"]["priority"], 2_000_001_000);
    assert_eq!(got["status"]["qosClass"], "Guaranteed");
}

fn pod_with(containers: Value) -> Value {
    json!({"spec": {"containers": containers}})
}

#[test]
fn qos_classes() {
    let res = |r: Value| json!({"name": "a", "image": "x", "resources": r});
    assert_eq!(qos_class(&pod_with(json!([res(json!({}))]))), "BestEffort");
    assert_eq!(
        qos_class(&pod_with(json!([res(json!({"limits": {"cpu": "1", "memory": "1Gi"},
            "requests": {"cpu": "1000m", "memory": "1024Mi"}}))]))),
        "Guaranteed"
    );
    assert_eq!(
        qos_class(&pod_with(json!([res(json!({"limits": {"cpu": "1", "memory": "1Gi"},
            "requests": {"cpu": "500m", "memory": "1Gi"}}))]))),
        "Burstable"
    );
    // Only memory limited: not every compute resource has a limit.
    assert_eq!(
        qos_class(&pod_with(json!([res(
            json!({"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}})
        )]))),
        "Burstable"
    );
    // One container without limits makes the pod Burstable.
    assert_eq!(
        qos_class(&pod_with(json!([
            res(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}})
            ),
            res(json!({}))
        ]))),
        "Burstable"
    );
    // Non-compute resources and zero quantities do not count.
    assert_eq!(
        qos_class(&pod_with(json!([res(
            json!({"requests": {"ephemeral-storage": "1Gi", "cpu": "0"}})
        )]))),
        "BestEffort"
    );
}

#[test]
fn grace_periods() {
    let b = PODS.behavior;
    let bound = json!({"spec": {"nodeName": "edge-1", "terminationGracePeriodSeconds": 45}, "status": {"phase": "Running"}});
    assert_eq!(b.grace_period(&bound, None), Some(45));
    assert_eq!(b.grace_period(&bound, Some(5)), Some(5));
    assert_eq!(b.grace_period(&bound, Some(0)), Some(0));
    assert_eq!(b.grace_period(&bound, Some(-3)), Some(1));
    let unbound = json!({"spec": {"terminationGracePeriodSeconds": 45}});
    assert_eq!(b.grace_period(&unbound, Some(10)), Some(0));
    let done = json!({"spec": {"nodeName": "n", "terminationGracePeriodSeconds": 45}, "status": {"phase": "Succeeded"}});
    assert_eq!(b.grace_period(&done, None), Some(0));
    // Other kinds delete at once.
    assert_eq!(crate::kinds::configmap::CONFIGMAPS.behavior.grace_period(&bound, Some(5)), None);
}

#[test]
fn discovery_shape() {
    assert_eq!(PODS.verbs, ALL_VERBS);
    assert_eq!(PODS.subresources, &["status", "log"]);
    assert!(PODS.behavior.returns_deleted_object());
}

fn causes(input: Value) -> Vec<(String, String, String)> {
    let obj = admit(&input);
    PODS.behavior.validate(&obj, None).into_iter().map(|c| (c.field, c.reason, c.message)).collect()
}

fn spec_pod(spec: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "d"}, "spec": spec})
}

fn c3(f: &str, r: &str, m: &str) -> (String, String, String) {
    (f.to_string(), r.to_string(), m.to_string())
}

#[test]
fn validation_of_containers() {
    assert_eq!(
        causes(spec_pod(json!({}))),
        vec![c3("spec.containers", "FieldValueRequired", "Required value")]
    );
    let got = causes(spec_pod(json!({
        "initContainers": [{"name": "app", "image": "x"}],
        "containers": [
            {"name": "app", "image": ""},
            {"name": "Bad_Name", "image": "x", "ports": [
                {"containerPort": 70000}, {"containerPort": 80, "hostPort": -1},
                {"name": "http", "containerPort": 81}, {"name": "http", "containerPort": 82},
                {"name": "Web--", "containerPort": 83, "protocol": "HTTP"}]},
            {"name": "app", "image": "x"}
        ],
        "restartPolicy": "Sometimes"
    })));
    let label_msg = "Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    assert_eq!(
        got,
        vec![
            c3("spec.containers[0].image", "FieldValueRequired", "Required value"),
            c3("spec.containers[1].name", "FieldValueInvalid", label_msg),
            c3(
                "spec.containers[1].ports[0].containerPort",
                "FieldValueInvalid",
                "Invalid value: 70000: must be between 1 and 65535, inclusive"
            ),
            c3(
                "spec.containers[1].ports[1].hostPort",
                "FieldValueInvalid",
                "Invalid value: -1: must be between 1 and 65535, inclusive"
            ),
            c3(
                "spec.containers[1].ports[3].name",
                "FieldValueDuplicate",
                "Duplicate value: \"http\""
            ),
            c3(
                "spec.containers[1].ports[4].name",
                "FieldValueInvalid",
                "Invalid value: \"Web--\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
            ),
            c3(
                "spec.containers[1].ports[4].name",
                "FieldValueInvalid",
                "Invalid value: \"Web--\": must not contain consecutive hyphens"
            ),
            c3(
                "spec.containers[1].ports[4].name",
                "FieldValueInvalid",
                "Invalid value: \"Web--\": must not begin or end with a hyphen"
            ),
            c3(
                "spec.containers[1].ports[4].protocol",
                "FieldValueNotSupported",
                "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
            ),
            c3("spec.containers[2].name", "FieldValueDuplicate", "Duplicate value: \"app\""),
            c3("spec.initContainers[0].name", "FieldValueDuplicate", "Duplicate value: \"app\""),
            c3(
                "spec.restartPolicy",
                "FieldValueNotSupported",
                "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
            ),
        ]
    );
}

#[test]
fn validation_of_volumes_and_mounts() {
    let got = causes(spec_pod(json!({
        "volumes": [
            {"name": "data", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "Cfg", "configMap": {"name": "c"}},
            {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}},
            {"name": "s", "secret": {"items": [{"key": "k", "path": "../up"}]}}
        ],
        "containers": [{"name": "a", "image": "x", "volumeMounts": [
            {"name": "data", "mountPath": "/d"},
            {"name": "missing", "mountPath": "/d"},
            {"name": "data", "mountPath": "/e", "subPath": "/abs"}
        ], "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2", "memory": "lots"}}}]
    })));
    assert_eq!(
        got,
        vec![
            c3("spec.volumes[1].name", "FieldValueDuplicate", "Duplicate value: \"data\""),
            c3(
                "spec.volumes[2].name",
                "FieldValueInvalid",
                "Invalid value: \"Cfg\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ),
            c3(
                "spec.volumes[3].emptyDir",
                "FieldValueForbidden",
                "Forbidden: may not specify more than 1 volume type"
            ),
            c3("spec.volumes[4].secret.secretName", "FieldValueRequired", "Required value"),
            c3(
                "spec.volumes[4].secret.items[0].path",
                "FieldValueInvalid",
                "Invalid value: \"../up\": must not contain '..'"
            ),
            c3(
                "spec.volumes[4].secret.items[0].path",
                "FieldValueInvalid",
                "Invalid value: \"../up\": must not start with '..'"
            ),
            c3(
                "spec.containers[0].volumeMounts[1].name",
                "FieldValueNotFound",
                "Not found: \"missing\""
            ),
            c3(
                "spec.containers[0].volumeMounts[1].mountPath",
                "FieldValueInvalid",
                "Invalid value: \"/d\": must be unique"
            ),
            c3(
                "spec.containers[0].volumeMounts.subPath",
                "FieldValueInvalid",
                "Invalid value: \"/abs\": must be a relative path"
            ),
            c3(
                "spec.containers[0].resources.requests[memory]",
                "FieldValueInvalid",
                "Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            ),
            c3(
                "spec.containers[0].resources.requests[cpu]",
                "FieldValueInvalid",
                "Invalid value: \"2\": must be less than or equal to cpu limit of 1"
            ),
        ]
    );
}

#[test]
fn dns_policy_none_needs_dns_config() {
    let got =
        causes(spec_pod(json!({"dnsPolicy": "None", "containers": [{"name": "a", "image": "x"}]})));
    assert_eq!(
        got,
        vec![c3(
            "spec.dnsConfig",
            "FieldValueRequired",
            "Required value: must provide `dnsConfig` when `dnsPolicy` is None"
        )]
    );
    let got = causes(spec_pod(
        json!({"dnsPolicy": "Cluster", "containers": [{"name": "a", "image": "x"}]}),
    ));
    assert_eq!(got[0].1, "FieldValueNotSupported");
}

fn update_causes(old: &Value, edit: impl FnOnce(&mut Value)) -> Vec<Cause> {
    let mut new = old.clone();
    edit(&mut new);
    PODS.behavior.default(&mut new);
    PODS.behavior.validate(&new, Some(old))
}

#[test]
fn updates_may_change_only_images_deadlines_tolerations_and_metadata() {
    let old = admit(&spec_pod(json!({"activeDeadlineSeconds": 100, "containers": [
        {"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]})));
    assert!(update_causes(&old, |p| p["spec"]["containers"][0]["image"] = json!("x:2")).is_empty());
    assert!(update_causes(&old, |p| p["metadata"]["labels"] = json!({"new": "label"})).is_empty());
    assert!(update_causes(&old, |p| p["spec"]["activeDeadlineSeconds"] = json!(50)).is_empty());
    assert!(update_causes(&old, |p| p["spec"]["nodeName"] = json!("edge-1")).is_empty());
    assert!(
        update_causes(&old, |p| {
            p["spec"]["tolerations"]
                .as_array_mut()
                .unwrap()
                .push(json!({"key": "k", "operator": "Exists"}));
        })
        .is_empty()
    );
    assert!(
        update_causes(&old, |p| p["spec"]["tolerations"][0]["tolerationSeconds"] = json!(60))
            .is_empty()
    );

    let env = update_causes(&old, |p| p["spec"]["containers"][0]["env"][0]["value"] = json!("2"));
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].field, "spec");
    assert_eq!(env[0].reason, "FieldValueForbidden");
    let err = ApiError::invalid("Pod", "", "p", env);
    assert_eq!(
        err.message,
        "Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
    );
    let more = update_causes(&old, |p| p["spec"]["activeDeadlineSeconds"] = json!(200));
    assert_eq!(more[0].message, "Invalid value: 200: must be less than or equal to previous value");
    let removed = update_causes(&old, |p| {
        p["spec"].as_object_mut().unwrap().shift_remove("activeDeadlineSeconds");
    });
    assert_eq!(
        removed[0].message,
        "Invalid value: \"null\": must not update from a positive integer to a nil value"
    );
    // Like the DefaultTolerationSeconds admission on update, dropped defaults come back.
    assert!(update_causes(&old, |p| p["spec"]["tolerations"] = json!([])).is_empty());
    let mut tolerant = old.clone();
    tolerant["spec"]["tolerations"] =
        json!([{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]);
    PODS.behavior.default(&mut tolerant);
    let tol = update_causes(&tolerant, |p| p["spec"]["tolerations"][0]["value"] = json!("w"));
    assert_eq!(
        tol[0].message,
        "Forbidden: existing toleration can not be modified except its tolerationSeconds"
    );
    let added = update_causes(&old, |p| {
        p["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "b", "image": "y"}));
    });
    assert_eq!(added[0].field, "spec.containers");
    assert_eq!(added[0].message, "Forbidden: pod updates may not add or remove containers");
    let moved = update_causes(&old, |p| {
        p["spec"]["nodeName"] = json!("a");
    });
    assert!(moved.is_empty());
    let mut bound = old.clone();
    bound["spec"]["nodeName"] = json!("a");
    assert_eq!(update_causes(&bound, |p| p["spec"]["nodeName"] = json!("b")).len(), 1);
}

#[test]
fn status_summary_counts_sidecars_like_the_server() {
    let now = std::time::SystemTime::now();
    let pod = |init_statuses: Value, initialized: &str| {
        json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
                "containers": [{"name": "app"}]},
            "status": {"phase": "Running",
                "conditions": [{"type": "Initialized", "status": initialized},
                    {"type": "Ready", "status": "True"}],
                "initContainerStatuses": init_statuses,
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1,
                    "state": {"running": {}}}]}})
    };
    let done = json!({"name": "setup", "restartCount": 4,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let proxy = |started: bool, ready: bool| {
        json!({"name": "proxy", "restartCount": 2, "started": started, "ready": ready,
            "state": {"running": {}}})
    };
    // Initialized: 2 of 2 ready; the finished init container's 4 restarts no longer count.
    let (ready, total, status, restarts) =
        summary(&pod(json!([done.clone(), proxy(true, true)]), "True"), now);
    assert_eq!((ready, total, status.as_str(), restarts.as_str()), (2, 2, "Running", "3"));
    // A sidecar not started yet holds initialization: Init:1/2, every restart counted.
    let (ready, total, status, restarts) =
        summary(&pod(json!([done, proxy(false, false)]), "False"), now);
    assert_eq!((ready, total, status.as_str(), restarts.as_str()), (0, 2, "Init:1/2", "6"));
}
