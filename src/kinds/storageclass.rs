//! StorageClass (`storage.k8s.io/v1`): how claims of a class get volumes.
//! k2d's own provisioner ([`PROVISIONER`]) backs volumes with Docker
//! volumes; the class `local` is created at startup as the default.

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, ResourceType, str_at, typed};
use crate::api::error::Cause;
use crate::api::table;
use crate::store::{Change, Store};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

pub static STORAGECLASSES: ResourceType = ResourceType {
    group: "storage.k8s.io",
    version: "v1",
    kind: "StorageClass",
    plural: "storageclasses",
    singular: "storageclass",
    namespaced: false,
    short_names: &["sc"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "storageclasses",
    behavior: &StorageClassBehavior,
};

/// The provisioner name of k2d's Docker-volume provisioner.
pub const PROVISIONER: &str = "k2d.io/local";
/// The class k2d creates at startup.
pub const DEFAULT_CLASS: &str = "local";
pub const DEFAULT_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT_ANNOTATION: &str = "storageclass.beta.kubernetes.io/is-default-class";

/// The store, for admission that looks at other objects (the default class
/// of a new claim). Without it (unit tests) claims get no default class.
static STORE: OnceLock<Arc<Store>> = OnceLock::new();

pub fn attach_store(store: Arc<Store>) {
    let _ = STORE.set(store);
}

pub(crate) fn store() -> Option<&'static Arc<Store>> {
    STORE.get()
}

struct StorageClassBehavior;

impl Behavior for StorageClassBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<StorageClass>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<StorageClass>())
    }

    /// `SetDefaults_StorageClass`.
    fn default(&self, obj: &mut Value) {
        let Some(m) = obj.as_object_mut() else { return };
        if m.get("reclaimPolicy").is_none_or(Value::is_null) {
            m.insert("reclaimPolicy".into(), json!("Delete"));
        }
        if m.get("volumeBindingMode").is_none_or(Value::is_null) {
            m.insert("volumeBindingMode".into(), json!("Immediate"));
        }
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        validate(obj, old)
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printStorageClass`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let mut name = name_cell(obj).as_str().unwrap_or("").to_string();
        if is_default(obj) {
            name.push_str(" (default)");
        }
        vec![
            json!(name),
            json!(str_at(obj, &["provisioner"]).unwrap_or("")),
            json!(str_at(obj, &["reclaimPolicy"]).unwrap_or("Delete")),
            json!(str_at(obj, &["volumeBindingMode"]).unwrap_or("Immediate")),
            json!(obj.get("allowVolumeExpansion").and_then(Value::as_bool).unwrap_or(false)),
            json!(table::age_of(obj, now)),
        ]
    }
}

fn validate(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let provisioner = str_at(obj, &["provisioner"]).unwrap_or("");
    if provisioner.is_empty() {
        causes.push(Cause::required("provisioner"));
    }
    let one_of = |field: &str, allowed: &[&str], causes: &mut Vec<Cause>| {
        if let Some(v) = str_at(obj, &[field])
            && !allowed.contains(&v)
        {
            let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!(
                    "Unsupported value: {}: supported values: {}",
                    crate::api::error::go_quote(v),
                    list.join(", ")
                ),
                field,
            ));
        }
    };
    one_of("reclaimPolicy", &["Delete", "Retain"], &mut causes);
    one_of("volumeBindingMode", &["Immediate", "WaitForFirstConsumer"], &mut causes);
    if let Some(old) = old {
        // `ValidateStorageClassUpdate`: only metadata and allowVolumeExpansion change.
        for (field, message) in [
            ("parameters", "updates to parameters are forbidden."),
            ("provisioner", "updates to provisioner are forbidden."),
            ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
            ("volumeBindingMode", "field is immutable"),
        ] {
            if obj.get(field) != old.get(field) {
                causes.push(Cause::forbidden(field, message));
            }
        }
    }
    causes
}

/// `IsDefaultAnnotation`: the GA or the beta annotation says `"true"`.
pub fn is_default(class: &Value) -> bool {
    [DEFAULT_ANNOTATION, BETA_DEFAULT_ANNOTATION]
        .iter()
        .any(|a| str_at(class, &["metadata", "annotations", a]) == Some("true"))
}

/// The default class among `classes`: the newest marked default, ties broken
/// by name (kube's `GetDefaultClass`).
pub fn pick_default(classes: &[Arc<Value>]) -> Option<&Arc<Value>> {
    classes.iter().filter(|c| is_default(c)).max_by(|a, b| {
        let created =
            |c: &Arc<Value>| c["metadata"]["creationTimestamp"].as_str().map(String::from);
        let name = |c: &Arc<Value>| c["metadata"]["name"].as_str().map(String::from);
        created(a).cmp(&created(b)).then_with(|| name(b).cmp(&name(a)))
    })
}

/// Name of the cluster's default class, if one is marked.
pub fn default_class_name(store: &Store) -> Option<String> {
    let (classes, _) = store.list(STORAGECLASSES.storage, None, None);
    pick_default(&classes).and_then(|c| str_at(c, &["metadata", "name"]).map(str::to_string))
}

/// Create the `local` class at startup unless it exists (a user who deleted
/// or changed it keeps their choice only until the next start, like the
/// addon manager's `EnsureExists` mode it imitates — it is only recreated
/// when absent).
pub fn ensure_default_class(store: &Store) -> Result<(), String> {
    store
        .write(STORAGECLASSES.storage, "", DEFAULT_CLASS, false, |cur| {
            if cur.is_some() {
                return Ok(None);
            }
            Ok(Some(Change::Put(json!({
                "kind": "StorageClass",
                "apiVersion": "storage.k8s.io/v1",
                "metadata": {
                    "name": DEFAULT_CLASS,
                    "uid": crate::api::meta::new_uid(),
                    "creationTimestamp": crate::api::meta::now_rfc3339(),
                    "annotations": {DEFAULT_ANNOTATION: "true"},
                },
                "provisioner": PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
            }))))
        })
        .map(|_| ())
        .map_err(|e| format!("creating storage class {DEFAULT_CLASS}: {e}"))
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Provisioner",
        type_: "string",
        format: "",
        description: "provisioner indicates the type of the provisioner.",
        priority: 0,
    },
    Column {
        name: "ReclaimPolicy",
        type_: "string",
        format: "",
        description: "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
        priority: 0,
    },
    Column {
        name: "VolumeBindingMode",
        type_: "string",
        format: "",
        description: "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
        priority: 0,
    },
    Column {
        name: "AllowVolumeExpansion",
        type_: "string",
        format: "",
        description: "allowVolumeExpansion shows whether the storage class allow volume expand.",
        priority: 0,
    },
    table::AGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_immutable_fields() {
        let mut sc = json!({"metadata": {"name": "x"}, "provisioner": "p"});
        STORAGECLASSES.behavior.default(&mut sc);
        assert_eq!(sc["reclaimPolicy"], "Delete");
        assert_eq!(sc["volumeBindingMode"], "Immediate");
        assert!(validate(&sc, None).is_empty());
        let mut changed = sc.clone();
        changed["volumeBindingMode"] = json!("WaitForFirstConsumer");
        changed["allowVolumeExpansion"] = json!(true);
        let causes = validate(&changed, Some(&sc));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "volumeBindingMode");
        let bad = json!({"metadata": {"name": "x"}, "reclaimPolicy": "Recycle"});
        let fields: Vec<String> = validate(&bad, None).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["provisioner", "reclaimPolicy"]);
    }

    #[test]
    fn newest_default_class_wins() {
        let c = |name: &str, ts: &str, default: bool| {
            let mut v = json!({"metadata": {"name": name, "creationTimestamp": ts}});
            if default {
                v["metadata"]["annotations"] = json!({DEFAULT_ANNOTATION: "true"});
            }
            Arc::new(v)
        };
        let classes = vec![
            c("a", "2026-01-01T00:00:00Z", true),
            c("b", "2026-01-02T00:00:00Z", true),
            c("c", "2026-01-03T00:00:00Z", false),
        ];
        assert_eq!(pick_default(&classes).unwrap()["metadata"]["name"], "b");
        assert!(pick_default(&classes[2..]).is_none());
    }
}
