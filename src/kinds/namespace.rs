//! Namespace: created synchronously, deleted through `Terminating` (the
//! namespace finalizer in `controller/` empties it, then removes it).

use super::{Behavior, Column, NameRule, ResourceType, configmap::name_cell, typed};
use crate::api::table;
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};

pub static NAMESPACES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    short_names: &["ns"],
    categories: &[],
    verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
    subresources: &["status", "finalize"],
    storage: "namespaces",
    behavior: &NamespaceBehavior,
};

struct NamespaceBehavior;

impl Behavior for NamespaceBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Namespace>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Namespace>())
    }

    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut Value) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if !obj["metadata"].get("labels").is_some_and(Value::is_object) {
            obj["metadata"]["labels"] = json!({});
        }
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        if obj.get("spec").and_then(|s| s.get("finalizers")).is_none() {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
        }
        if obj.get("status").and_then(|s| s.get("phase")).is_none() {
            obj["status"] = json!({"phase": "Active"});
        }
    }

    fn on_delete(&self, obj: &mut Value) {
        obj["status"]["phase"] = json!("Terminating");
    }

    /// The namespace controller empties a terminating namespace, then removes it.
    fn grace_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        Some(0)
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.phase" => Some(super::str_at(obj, &["status", "phase"]).unwrap_or("").into()),
            _ => None,
        }
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&["status.phase", "metadata.name"])
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printNamespace`: STATUS is the phase (`Active`, `Terminating`).
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let phase = super::str_at(obj, &["status", "phase"]).unwrap_or("");
        vec![name_cell(obj), Value::from(phase), Value::from(table::age_of(obj, now))]
    }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Status",
        type_: "string",
        format: "",
        description: "The status of the namespace",
        priority: 0,
    },
    table::AGE,
];
