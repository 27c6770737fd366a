//! ReplicaSet (apps/v1): defaults, validation and Table as kube-apiserver has
//! them. Keeping pods running is the controller's (`controller::workloads`).
//!
//! The pod-template helpers here (defaults, validation, selector printing) are
//! shared with Deployment, whose template follows the same rules.

use super::configmap::name_cell;
use super::pod::{defaults::default_pod_spec, validation};
use super::{ALL_VERBS, Behavior, Column, ResourceType, typed};
use crate::api::error::{Cause, go_quote};
use crate::api::selector::LabelSelector;
use crate::api::table;
use k8s_openapi::api::apps::v1::ReplicaSet;
use serde_json::{Map, Value, json};

pub static REPLICASETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    namespaced: true,
    short_names: &["rs"],
    categories: &["all"],
    verbs: ALL_VERBS,
    subresources: &["status", "scale"],
    storage: "replicasets",
    behavior: &ReplicaSetBehavior,
};

struct ReplicaSetBehavior;

const SPEC_ORDER: &[&str] = &["replicas", "minReadySeconds", "selector", "template"];

impl Behavior for ReplicaSetBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<ReplicaSet>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<ReplicaSet>())
    }

    fn has_generation(&self) -> bool {
        true
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    /// `SetDefaults_ReplicaSet`: one replica; the template's pod spec defaults.
    fn default(&self, obj: &mut Value) {
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        if spec.get("replicas").is_none_or(Value::is_null) {
            spec["replicas"] = json!(1);
        }
        default_template(spec);
        reorder(spec, SPEC_ORDER);
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let spec = &obj["spec"];
        let mut out = Vec::new();
        nonnegative(spec, "replicas", "spec.replicas", &mut out);
        nonnegative(spec, "minReadySeconds", "spec.minReadySeconds", &mut out);
        validate_selector_and_template(spec, "replicaset", &mut out);
        if let Some(old) = old {
            immutable_selector(obj, old, &mut out);
        }
        out
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printReplicaSet`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let int = |p: &str| Value::from(obj.pointer(p).and_then(Value::as_i64).unwrap_or(0));
        let (names, images) = containers_and_images(&obj["spec"]);
        vec![
            name_cell(obj),
            int("/spec/replicas"),
            int("/status/replicas"),
            int("/status/readyReplicas"),
            Value::from(table::age_of(obj, now)),
            Value::from(names),
            Value::from(images),
            Value::from(format_selector(&obj["spec"]["selector"])),
        ]
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&["metadata.name", "metadata.namespace", "status.replicas"])
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.replicas" => Some(
                obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0).to_string(),
            ),
            _ => None,
        }
    }

    fn scale_selector(&self, obj: &Value) -> Option<String> {
        Some(selector_string(&obj["spec"]["selector"]))
    }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Desired",
        type_: "integer",
        format: "",
        description: "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        priority: 0,
    },
    Column {
        name: "Current",
        type_: "integer",
        format: "",
        description: "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        priority: 0,
    },
    Column {
        name: "Ready",
        type_: "integer",
        format: "",
        description: "The number of ready replicas for this replica set.",
        priority: 0,
    },
    table::AGE,
    Column {
        name: "Containers",
        type_: "string",
        format: "",
        description: "Names of each container in the template.",
        priority: 1,
    },
    Column {
        name: "Images",
        type_: "string",
        format: "",
        description: "Images referenced by each container in the template.",
        priority: 1,
    },
    Column {
        name: "Selector",
        type_: "string",
        format: "",
        description: "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        priority: 1,
    },
];

/// Pod template defaults: the pod spec's, and the `creationTimestamp: null`
/// Go's `ObjectMeta` serialises for a template.
pub(crate) fn default_template(spec: &mut Value) {
    if !spec.get("template").is_some_and(Value::is_object) {
        spec["template"] = json!({});
    }
    let t = &mut spec["template"];
    let meta = match t.get_mut("metadata").map(Value::take) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut meta =
        crate::api::meta::canonical_order(json!({ "metadata": meta }))["metadata"].take();
    if meta.get("creationTimestamp").is_none() {
        // After name/namespace/uid..., before labels: Go's field order.
        let mut out = Map::new();
        let Value::Object(m) = meta.take() else { return };
        let mut placed = false;
        for (k, v) in m {
            if !placed
                && !matches!(
                    k.as_str(),
                    "name"
                        | "generateName"
                        | "namespace"
                        | "selfLink"
                        | "uid"
                        | "resourceVersion"
                        | "generation"
                )
            {
                out.insert("creationTimestamp".into(), Value::Null);
                placed = true;
            }
            out.insert(k, v);
        }
        if !placed {
            out.insert("creationTimestamp".into(), Value::Null);
        }
        meta = Value::Object(out);
    }
    t["metadata"] = meta;
    if !t.get("spec").is_some_and(Value::is_object) {
        t["spec"] = json!({});
    }
    default_pod_spec(&mut t["spec"]);
    reorder(t, &["metadata", "spec"]);
}

/// Put the known keys in Go's order (unknown ones keep theirs, at the end).
pub(crate) fn reorder(v: &mut Value, order: &[&str]) {
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

pub(crate) fn nonnegative(obj: &Value, key: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(n) = obj.get(key).and_then(Value::as_i64)
        && n < 0
    {
        out.push(Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {n}: must be greater than or equal to 0"),
            path,
        ));
    }
}

/// The selector and template rules Deployment and ReplicaSet share
/// (`ValidatePodTemplateSpecForReplicaSet`): a non-empty selector that the
/// template's labels satisfy, a valid pod spec, `restartPolicy: Always`.
pub(crate) fn validate_selector_and_template(spec: &Value, kind: &str, out: &mut Vec<Cause>) {
    let sel = spec.get("selector").filter(|s| !s.is_null());
    let selector = match sel {
        None => {
            out.push(Cause::required("spec.selector"));
            None
        }
        Some(s) => {
            let n = s.get("matchLabels").and_then(Value::as_object).map_or(0, Map::len)
                + s.get("matchExpressions").and_then(Value::as_array).map_or(0, Vec::len);
            if n == 0 {
                out.push(Cause::new(
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {}: empty selector is invalid for {kind}",
                        go_label_selector(s)
                    ),
                    "spec.selector",
                ));
            }
            match LabelSelector::from_label_selector_object(s) {
                Ok(sel) => Some(sel),
                Err(e) => {
                    out.push(Cause::new(
                        "FieldValueInvalid",
                        format!("Invalid value: {}: {}", go_label_selector(s), e.message),
                        "spec.selector",
                    ));
                    None
                }
            }
        }
    };
    let template = &spec["template"];
    if let Some(sel) = selector
        && !sel.matches_object(template)
    {
        out.push(Cause::new(
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: `selector` does not match template `labels`",
                go_string_map(template.pointer("/metadata/labels"))
            ),
            "spec.template.metadata.labels",
        ));
    }
    for mut c in validation::validate_spec(&template["spec"]) {
        if let Some(rest) = c.field.strip_prefix("spec.") {
            c.field = format!("spec.template.spec.{rest}");
        }
        out.push(c);
    }
    let policy =
        template.pointer("/spec/restartPolicy").and_then(Value::as_str).unwrap_or("Always");
    if policy != "Always" {
        out.push(Cause::new(
            "FieldValueNotSupported",
            format!("Unsupported value: {}: supported values: \"Always\"", go_quote(policy)),
            "spec.template.spec.restartPolicy",
        ));
    }
    if template.pointer("/spec/activeDeadlineSeconds").is_some_and(|v| !v.is_null()) {
        out.push(Cause::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

/// apps/v1 selectors cannot change once created.
pub(crate) fn immutable_selector(obj: &Value, old: &Value, out: &mut Vec<Cause>) {
    let new = &obj["spec"]["selector"];
    if *new != old["spec"]["selector"] {
        out.push(Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {}: field is immutable", go_label_selector(new)),
            "spec.selector",
        ));
    }
}

/// Go's `%#v` of a `map[string]string` (keys sorted, as fmt prints maps).
pub(crate) fn go_string_map(m: Option<&Value>) -> String {
    let Some(Value::Object(m)) = m else { return "map[string]string(nil)".into() };
    let mut kv: Vec<(&String, &str)> =
        m.iter().map(|(k, v)| (k, v.as_str().unwrap_or(""))).collect();
    kv.sort();
    let items: Vec<String> =
        kv.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// Go's `%#v` of a `*v1.LabelSelector`, as immutability errors print it.
pub(crate) fn go_label_selector(s: &Value) -> String {
    if s.is_null() {
        return "(*v1.LabelSelector)(nil)".into();
    }
    let exprs = match s.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|e| {
                    let values = match e.get("values").and_then(Value::as_array) {
                        None => "[]string(nil)".to_string(),
                        Some(v) => format!(
                            "[]string{{{}}}",
                            v.iter()
                                .map(|x| go_quote(x.as_str().unwrap_or("")))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
                        go_quote(e["key"].as_str().unwrap_or("")),
                        go_quote(e["operator"].as_str().unwrap_or(""))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(s.get("matchLabels"))
    )
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty.
pub(crate) fn format_selector(s: &Value) -> String {
    let out = selector_string(s);
    if out.is_empty() { "<none>".into() } else { out }
}

/// `LabelSelectorAsSelector(s).String()`: what a Scale's `status.selector` holds.
pub(crate) fn selector_string(s: &Value) -> String {
    LabelSelector::from_label_selector_object(s).map(|s| s.to_string()).unwrap_or_default()
}

/// The wide Table's Containers and Images cells of a pod template.
pub(crate) fn containers_and_images(spec: &Value) -> (String, String) {
    let cs = spec.pointer("/template/spec/containers").and_then(Value::as_array);
    let cs = cs.map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = cs.iter().map(|c| c["name"].as_str().unwrap_or("")).collect();
    let images: Vec<&str> = cs.iter().map(|c| c["image"].as_str().unwrap_or("")).collect();
    (names.join(","), images.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_template_metadata() {
        let mut rs = json!({"spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        ReplicaSetBehavior.default(&mut rs);
        let keys: Vec<&String> = rs["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["replicas", "selector", "template"]);
        assert_eq!(rs["spec"]["replicas"], 1);
        let meta = serde_json::to_string(&rs["spec"]["template"]["metadata"]).unwrap();
        assert_eq!(meta, r#"{"creationTimestamp":null,"labels":{"a":"b"}}"#);
        assert_eq!(rs["spec"]["template"]["spec"]["restartPolicy"], "Always");
    }

    #[test]
    fn selector_must_match_template() {
        let spec = json!({"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "c", "image": ""}]}}});
        let mut out = Vec::new();
        validate_selector_and_template(&spec, "deployment", &mut out);
        assert_eq!(out[0].field, "spec.template.metadata.labels");
        assert_eq!(
            out[0].message,
            "Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`"
        );
        assert_eq!(out[1].field, "spec.template.spec.containers[0].image");
        assert_eq!(out[1].message, "Required value");
    }

    #[test]
    fn immutable_selector_prints_go_value() {
        let old = json!({"spec": {"selector": {"matchLabels": {"app": "nginx"}}}});
        let new = json!({"spec": {"selector": {"matchLabels": {"app": "nginx", "tier": "web"}}}});
        let mut out = Vec::new();
        immutable_selector(&new, &old, &mut out);
        assert_eq!(
            out[0].message,
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"nginx\", \"tier\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        );
    }
}
