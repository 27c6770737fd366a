//! Deployment (apps/v1): defaults, validation and Table as kube-apiserver has
//! them. Rolling ReplicaSets over is the controller's (`controller::workloads`).

use super::configmap::name_cell;
use super::replicaset::{
    containers_and_images, default_template, format_selector, immutable_selector, nonnegative,
    reorder, selector_string, validate_selector_and_template,
};
use super::{ALL_VERBS, Behavior, Column, ResourceType, typed};
use crate::api::error::{Cause, go_quote};
use crate::api::table;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::{Value, json};

pub static DEPLOYMENTS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    namespaced: true,
    short_names: &["deploy"],
    categories: &["all"],
    verbs: ALL_VERBS,
    subresources: &["status", "scale"],
    storage: "deployments",
    behavior: &DeploymentBehavior,
};

struct DeploymentBehavior;

const SPEC_ORDER: &[&str] = &[
    "replicas",
    "selector",
    "template",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "paused",
    "progressDeadlineSeconds",
];

impl Behavior for DeploymentBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Deployment>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Deployment>())
    }

    fn has_generation(&self) -> bool {
        true
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    /// `SetDefaults_Deployment` of apps/v1.
    fn default(&self, obj: &mut Value) {
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        let missing = |v: &Value, k: &str| v.get(k).is_none_or(Value::is_null);
        if missing(spec, "replicas") {
            spec["replicas"] = json!(1);
        }
        if !spec.get("strategy").is_some_and(Value::is_object) {
            spec["strategy"] = json!({});
        }
        let strategy = &mut spec["strategy"];
        if strategy.get("type").and_then(Value::as_str).unwrap_or("").is_empty() {
            strategy["type"] = json!("RollingUpdate");
        }
        if strategy["type"] == "RollingUpdate" {
            if !strategy.get("rollingUpdate").is_some_and(Value::is_object) {
                strategy["rollingUpdate"] = json!({});
            }
            let ru = &mut strategy["rollingUpdate"];
            if missing(ru, "maxUnavailable") {
                ru["maxUnavailable"] = json!("25%");
            }
            if missing(ru, "maxSurge") {
                ru["maxSurge"] = json!("25%");
            }
            reorder(ru, &["maxUnavailable", "maxSurge"]);
        }
        reorder(strategy, &["type", "rollingUpdate"]);
        if missing(spec, "revisionHistoryLimit") {
            spec["revisionHistoryLimit"] = json!(10);
        }
        if missing(spec, "progressDeadlineSeconds") {
            spec["progressDeadlineSeconds"] = json!(600);
        }
        default_template(spec);
        reorder(spec, SPEC_ORDER);
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let spec = &obj["spec"];
        let mut out = Vec::new();
        nonnegative(spec, "replicas", "spec.replicas", &mut out);
        validate_selector_and_template(spec, "deployment", &mut out);
        validate_strategy(&spec["strategy"], &mut out);
        nonnegative(spec, "minReadySeconds", "spec.minReadySeconds", &mut out);
        nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", &mut out);
        if let Some(p) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
            nonnegative(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", &mut out);
            let min_ready = spec.get("minReadySeconds").and_then(Value::as_i64).unwrap_or(0);
            if p <= min_ready {
                out.push(Cause::new(
                    "FieldValueInvalid",
                    format!("Invalid value: {p}: must be greater than minReadySeconds"),
                    "spec.progressDeadlineSeconds",
                ));
            }
        }
        if let Some(old) = old {
            immutable_selector(obj, old, &mut out);
        }
        out
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printDeployment`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let int = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        let (names, images) = containers_and_images(&obj["spec"]);
        vec![
            name_cell(obj),
            Value::from(format!("{}/{}", int("/status/readyReplicas"), int("/spec/replicas"))),
            Value::from(int("/status/updatedReplicas")),
            Value::from(int("/status/availableReplicas")),
            Value::from(table::age_of(obj, now)),
            Value::from(names),
            Value::from(images),
            Value::from(format_selector(&obj["spec"]["selector"])),
        ]
    }

    fn scale_selector(&self, obj: &Value) -> Option<String> {
        Some(selector_string(&obj["spec"]["selector"]))
    }
}

/// `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`.
fn validate_strategy(s: &Value, out: &mut Vec<Cause>) {
    let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
    let ru = s.get("rollingUpdate").filter(|v| !v.is_null());
    match ty {
        "Recreate" => {
            if ru.is_some() {
                out.push(Cause::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            let Some(ru) = ru else {
                out.push(Cause::new(
                    "FieldValueRequired",
                    "Required value: this should be defaulted and never be nil",
                    "spec.strategy.rollingUpdate",
                ));
                return;
            };
            let mut values = [0i64; 2];
            for (i, f) in ["maxUnavailable", "maxSurge"].iter().enumerate() {
                let path = format!("spec.strategy.rollingUpdate.{f}");
                match ru.get(*f) {
                    Some(Value::String(p)) => match parse_percent(p) {
                        Some(n) => {
                            values[i] = n;
                            if *f == "maxUnavailable" && n > 100 {
                                out.push(Cause::invalid(&path, p, "must not be greater than 100%"));
                            }
                        }
                        None => out.push(Cause::invalid(
                            &path,
                            p,
                            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                        )),
                    },
                    Some(v) => {
                        let n = v.as_i64().unwrap_or(0);
                        values[i] = n;
                        if n < 0 {
                            out.push(Cause::new(
                                "FieldValueInvalid",
                                format!("Invalid value: {n}: must be greater than or equal to 0"),
                                path,
                            ));
                        }
                    }
                    None => {}
                }
            }
            if values == [0, 0] {
                let v = match &ru["maxUnavailable"] {
                    Value::String(s) => go_quote(s),
                    v => v.to_string(),
                };
                out.push(Cause::new(
                    "FieldValueInvalid",
                    format!("Invalid value: {v}: may not be 0 when `maxSurge` is 0"),
                    "spec.strategy.rollingUpdate.maxUnavailable",
                ));
            }
        }
        other => out.push(Cause::new(
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: \"Recreate\", \"RollingUpdate\"",
                go_quote(other)
            ),
            "spec.strategy.type",
        )),
    }
}

/// `"25%"` → 25; anything but digits followed by `%` is not a percent.
fn parse_percent(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Ready",
        type_: "string",
        format: "",
        description: "Number of the pod with ready state",
        priority: 0,
    },
    Column {
        name: "Up-to-date",
        type_: "string",
        format: "",
        description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        priority: 0,
    },
    Column {
        name: "Available",
        type_: "string",
        format: "",
        description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
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
        description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        priority: 1,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Value {
        let text =
            std::fs::read_to_string("/work/shared/reference/resources/deployments/get-nginx.json");
        text.ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null)
    }

    #[test]
    fn defaults_match_kube_apiserver() {
        let mut d = json!({"spec": {"selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}});
        DeploymentBehavior.default(&mut d);
        let spec = &d["spec"];
        let keys: Vec<&String> = spec.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "replicas",
                "selector",
                "template",
                "strategy",
                "revisionHistoryLimit",
                "progressDeadlineSeconds"
            ]
        );
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        let r = reference();
        if !r.is_null() {
            assert_eq!(spec["strategy"], r["spec"]["strategy"]);
            assert_eq!(
                serde_json::to_string(&spec["strategy"]).unwrap(),
                serde_json::to_string(&r["spec"]["strategy"]).unwrap()
            );
        }
    }

    #[test]
    fn reference_multiple_causes() {
        let d = json!({"spec": {"replicas": -1, "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "c", "image": ""}]}}}});
        let mut d2 = d.clone();
        DeploymentBehavior.default(&mut d2);
        let causes = DeploymentBehavior.validate(&d2, None);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.replicas",
                "spec.template.metadata.labels",
                "spec.template.spec.containers[0].image"
            ]
        );
        assert_eq!(causes[0].message, "Invalid value: -1: must be greater than or equal to 0");
    }

    #[test]
    fn strategy_rules() {
        let mut out = Vec::new();
        validate_strategy(
            &json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "Invalid value: 0: may not be 0 when `maxSurge` is 0");
        out.clear();
        validate_strategy(&json!({"type": "Recreate", "rollingUpdate": {}}), &mut out);
        assert_eq!(out[0].reason, "FieldValueForbidden");
        out.clear();
        validate_strategy(
            &json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "x%", "maxSurge": 1}}),
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn table_row() {
        let r = reference();
        if r.is_null() {
            return;
        }
        let cells = DeploymentBehavior.row(&r, std::time::SystemTime::now());
        assert_eq!(cells[1], "0/2");
        assert_eq!(cells[2], 2);
        assert_eq!(cells[5], "nginx,sidecar");
        assert_eq!(cells[6], "nginx:1.27,busybox:1.36");
        assert_eq!(cells[7], "app=nginx");
    }
}
