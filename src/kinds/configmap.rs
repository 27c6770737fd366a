//! ConfigMap: plain data; keys validated; `immutable` enforced.

use super::{ALL_VERBS, Behavior, Column, ResourceType, typed};
use crate::api::error::Cause;
use crate::api::table;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

pub static CONFIGMAPS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    namespaced: true,
    short_names: &["cm"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "configmaps",
    behavior: &ConfigMapBehavior,
};

struct ConfigMapBehavior;

impl Behavior for ConfigMapBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<ConfigMap>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<ConfigMap>())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printConfigMap`: DATA counts `data` and `binaryData` keys.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let n = count_keys(obj, "data") + count_keys(obj, "binaryData");
        vec![name_cell(obj), Value::from(n), Value::from(table::age_of(obj, now))]
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = validate_keys(obj, &["data", "binaryData"]);
        if let Some(old) = old {
            causes.extend(immutable_data(obj, old, &["data", "binaryData"]));
        }
        causes
    }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Data",
        type_: "string",
        format: "",
        description: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
        priority: 0,
    },
    table::AGE,
];

/// Number of keys in an object-valued field (0 when absent). Shared with Secret.
pub(crate) fn count_keys(obj: &Value, field: &str) -> i64 {
    obj.get(field).and_then(Value::as_object).map_or(0, |m| m.len() as i64)
}

/// The `Name` cell. Shared by every kind's printer.
pub(crate) fn name_cell(obj: &Value) -> Value {
    Value::from(super::str_at(obj, &["metadata", "name"]).unwrap_or(""))
}

/// Keys of data maps must be valid file names: `[-._a-zA-Z0-9]+`, at most 253
/// characters, not `.` or `..`. Shared with Secret.
pub(crate) fn validate_keys(obj: &Value, maps: &[&str]) -> Vec<Cause> {
    let mut causes = Vec::new();
    for m in maps {
        if let Some(Value::Object(data)) = obj.get(*m) {
            for k in data.keys() {
                if let Some(why) = invalid_config_key(k) {
                    causes.push(Cause::invalid(&format!("{m}[{k}]"), k, &why));
                }
            }
        }
    }
    causes
}

fn invalid_config_key(k: &str) -> Option<String> {
    if k.is_empty() || k.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    if k == "." || k == ".." {
        return Some(format!("must not be '{k}'"));
    }
    if k.starts_with("..") {
        return Some("must not start with '..'".into());
    }
    if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        return Some(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".into(),
        );
    }
    None
}

/// Once `immutable: true` is stored, data may not change and the flag may not be
/// cleared. Shared with Secret.
pub(crate) fn immutable_data(obj: &Value, old: &Value, fields: &[&str]) -> Vec<Cause> {
    if old.get("immutable") != Some(&Value::Bool(true)) {
        return Vec::new();
    }
    let mut causes = Vec::new();
    if obj.get("immutable") != Some(&Value::Bool(true)) {
        causes.push(Cause::forbidden("immutable", "field is immutable when `immutable` is set"));
    }
    for f in fields {
        if obj.get(*f) != old.get(*f) {
            causes.push(Cause::forbidden(f, "field is immutable when `immutable` is set"));
        }
    }
    causes
}
