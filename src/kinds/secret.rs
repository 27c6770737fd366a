//! Secret: `stringData` folds into base64 `data`; type-specific keys checked.

use super::{ALL_VERBS, Behavior, Column, ResourceType, configmap, typed};
use crate::api::error::Cause;
use crate::api::table;
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

pub static SECRETS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "secrets",
    behavior: &SecretBehavior,
};

struct SecretBehavior;

impl Behavior for SecretBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Secret>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Secret>())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printSecret`: TYPE and the number of `data` keys.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        vec![
            configmap::name_cell(obj),
            Value::from(obj.get("type").and_then(Value::as_str).unwrap_or("")),
            Value::from(configmap::count_keys(obj, "data")),
            Value::from(table::age_of(obj, now)),
        ]
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "type" => Some(obj.get("type").and_then(Value::as_str).unwrap_or("").to_string()),
            _ => None,
        }
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&["type", "metadata.namespace", "metadata.name"])
    }

    fn default(&self, obj: &mut Value) {
        fold_string_data(obj);
        if obj.get("type").is_none_or(|t| t.as_str().unwrap_or("").is_empty()) {
            obj["type"] = json!("Opaque");
        }
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = configmap::validate_keys(obj, &["data"]);
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("Opaque");
        let has = |k: &str| obj.get("data").and_then(|d| d.get(k)).is_some();
        let required: &[&str] = match ty {
            "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
            "kubernetes.io/dockercfg" => &[".dockercfg"],
            "kubernetes.io/tls" => &["tls.crt", "tls.key"],
            "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
            _ => &[],
        };
        for k in required {
            if !has(k) {
                causes.push(Cause::required(&format!("data[{k}]")));
            }
        }
        if let Some(old) = old {
            if old.get("type") != obj.get("type") {
                causes.push(Cause::invalid("type", ty, "field is immutable"));
            }
            causes.extend(configmap::immutable_data(obj, old, &["data"]));
        }
        causes
    }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Type",
        type_: "string",
        format: "",
        description: "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
        priority: 0,
    },
    Column {
        name: "Data",
        type_: "string",
        format: "",
        description: "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
        priority: 0,
    },
    table::AGE,
];

/// Kubernetes never stores `stringData`: each entry overwrites the base64 `data` key.
fn fold_string_data(obj: &mut Value) {
    let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = json!({});
    }
    for (k, v) in sd {
        let s = v.as_str().unwrap_or_default();
        obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(s));
    }
}
