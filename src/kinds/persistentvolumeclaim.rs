//! PersistentVolumeClaim: a namespaced request for storage. Admission fills
//! in the default class (kube's DefaultStorageClass plugin) and the
//! `kubernetes.io/pvc-protection` finalizer (StorageObjectInUseProtection);
//! the storage controller binds it.

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, ResourceType, str_at, typed};
use crate::adapter::convert::pod::quantity::Quantity;
use crate::api::error::{Cause, go_quote};
use crate::api::table;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::{Value, json};

pub static PERSISTENTVOLUMECLAIMS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    namespaced: true,
    short_names: &["pvc"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &["status"],
    storage: "persistentvolumeclaims",
    behavior: &ClaimBehavior,
};

pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The beta annotation that still wins over `spec.storageClassName`.
pub const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

const ACCESS_MODES: &[(&str, &str)] = &[
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
];

struct ClaimBehavior;

impl Behavior for ClaimBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<PersistentVolumeClaim>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<PersistentVolumeClaim>())
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    /// `SetDefaults_PersistentVolumeClaimSpec`.
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
            && spec.get("volumeMode").is_none_or(Value::is_null)
        {
            spec.insert("volumeMode".into(), json!("Filesystem"));
        }
    }

    /// Status starts `Pending`; the admission plugins' class and finalizer.
    fn on_create(&self, obj: &mut Value) {
        obj["status"] = json!({"phase": "Pending"});
        add_finalizer(obj, PVC_PROTECTION);
        let unset = obj["spec"].get("storageClassName").is_none_or(Value::is_null)
            && str_at(obj, &["metadata", "annotations", BETA_CLASS_ANNOTATION]).is_none();
        if unset
            && obj["spec"].is_object()
            && let Some(class) = super::storageclass::store()
                .and_then(|s| super::storageclass::default_class_name(s))
        {
            obj["spec"]["storageClassName"] = json!(class);
        }
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = validate_spec(obj);
        if let Some(old) = old {
            causes.extend(validate_update(obj, old));
        }
        causes
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printPersistentVolumeClaim`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let mut phase = str_at(obj, &["status", "phase"]).unwrap_or("").to_string();
        if obj["metadata"].get("deletionTimestamp").is_some() {
            phase = "Terminating".into();
        }
        let volume = str_at(obj, &["spec", "volumeName"]).unwrap_or("");
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (
                str_at(obj, &["status", "capacity", "storage"]).unwrap_or("").to_string(),
                access_modes_string(&obj["status"]["accessModes"]),
            )
        };
        vec![
            name_cell(obj),
            json!(phase),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(claim_class(obj)),
            json!(unset_or(str_at(obj, &["spec", "volumeAttributesClassName"]))),
            json!(table::age_of(obj, now)),
            json!(unset_or(str_at(obj, &["spec", "volumeMode"]))),
        ]
    }
}

pub(crate) fn unset_or(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("<unset>")
}

pub(crate) fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let m = &mut obj["metadata"];
    if !m["finalizers"].is_array() {
        m["finalizers"] = json!([]);
    }
    if let Some(list) = m["finalizers"].as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
}

/// `GetAccessModesAsString`: each mode once, in a fixed order.
pub fn access_modes_string(modes: &Value) -> String {
    let modes: Vec<&str> =
        modes.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    ACCESS_MODES
        .iter()
        .filter(|(m, _)| modes.contains(m))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

/// `GetPersistentVolumeClaimClass`: the beta annotation, else the field.
pub fn claim_class(obj: &Value) -> &str {
    str_at(obj, &["metadata", "annotations", BETA_CLASS_ANNOTATION])
        .or_else(|| str_at(obj, &["spec", "storageClassName"]))
        .unwrap_or("")
}

/// Access modes must be given and known (shared with PersistentVolume).
pub(crate) fn validate_access_modes(modes: &Value, field: &str, causes: &mut Vec<Cause>) {
    let list = modes.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "Required value: at least 1 access mode is required",
            field,
        ));
        return;
    }
    for m in list {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.iter().any(|(a, _)| *a == m) {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!(
                    "Unsupported value: {}: supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                    go_quote(m)
                ),
                field,
            ));
        }
    }
    if list.len() > 1 && list.iter().any(|m| m == "ReadWriteOncePod") {
        causes
            .push(Cause::forbidden(field, "may not use ReadWriteOncePod with other access modes"));
    }
}

/// A storage quantity: required and positive.
pub(crate) fn validate_storage(value: Option<&Value>, field: &str, causes: &mut Vec<Cause>) {
    match value.and_then(Value::as_str) {
        None => causes.push(Cause::required(field)),
        Some(v) => match Quantity::parse(v) {
            Some(q) if q.is_positive() => {}
            Some(_) => causes.push(Cause::invalid(field, v, "must be greater than zero")),
            None => causes.push(Cause::invalid(
                field,
                v,
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )),
        },
    }
}

fn validate_spec(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let spec = &obj["spec"];
    validate_access_modes(&spec["accessModes"], "spec.accessModes", &mut causes);
    validate_storage(
        spec.pointer("/resources/requests/storage"),
        "spec.resources[storage]",
        &mut causes,
    );
    if let Some(m) = str_at(spec, &["volumeMode"])
        && m != "Filesystem"
        && m != "Block"
    {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: \"Block\", \"Filesystem\"",
                go_quote(m)
            ),
            "spec.volumeMode",
        ));
    }
    causes
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed once created,
/// except that the binder sets `volumeName` once, an unset class may be
/// set (retroactive default class), and a bound claim may grow.
fn validate_update(obj: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut new_spec = obj["spec"].clone();
    let mut old_spec = old["spec"].clone();
    let old_volume = str_at(&old_spec, &["volumeName"]).unwrap_or("");
    if old_volume.is_empty() {
        old_spec["volumeName"] = new_spec.get("volumeName").cloned().unwrap_or(Value::Null);
    }
    if old_spec.get("storageClassName").is_none_or(Value::is_null) {
        old_spec["storageClassName"] =
            new_spec.get("storageClassName").cloned().unwrap_or(Value::Null);
    }
    let bound = str_at(obj, &["status", "phase"]) == Some("Bound");
    let new_size = new_spec.pointer("/resources/requests/storage").cloned();
    let old_size = old_spec.pointer("/resources/requests/storage").cloned();
    if bound && new_spec.pointer("/resources/requests").is_some_and(Value::is_object) {
        new_spec["resources"]["requests"]["storage"] = old_size.clone().unwrap_or(Value::Null);
    }
    for s in [&mut new_spec, &mut old_spec] {
        if let Some(m) = s.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
    }
    if new_spec != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let parse = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).and_then(Quantity::parse);
    if let (Some(n), Some(o)) = (parse(&new_size), parse(&old_size))
        && n.milli_value() < o.milli_value()
    {
        causes.push(Cause::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than previous value",
        ));
    }
    causes
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Status",
        type_: "string",
        format: "",
        description: "phase represents the current phase of PersistentVolumeClaim.",
        priority: 0,
    },
    Column {
        name: "Volume",
        type_: "string",
        format: "",
        description: "volumeName is the binding reference to the PersistentVolume backing this claim.",
        priority: 0,
    },
    Column {
        name: "Capacity",
        type_: "string",
        format: "",
        description: "capacity represents the actual resources of the underlying volume.",
        priority: 0,
    },
    Column {
        name: "Access Modes",
        type_: "string",
        format: "",
        description: "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
        priority: 0,
    },
    Column {
        name: "StorageClass",
        type_: "string",
        format: "",
        description: "StorageClass of the pvc",
        priority: 0,
    },
    Column {
        name: "VolumeAttributesClass",
        type_: "string",
        format: "",
        description: "VolumeAttributesClass of the pvc",
        priority: 0,
    },
    table::AGE,
    Column {
        name: "VolumeMode",
        type_: "string",
        format: "",
        description: "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
        priority: 1,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(spec: Value) -> Value {
        let mut c = json!({"metadata": {"name": "c", "namespace": "n"}, "spec": spec});
        PERSISTENTVOLUMECLAIMS.behavior.default(&mut c);
        PERSISTENTVOLUMECLAIMS.behavior.on_create(&mut c);
        c
    }

    #[test]
    fn created_claims_are_pending_and_protected() {
        let c = claim(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}),
        );
        assert_eq!(c["status"], json!({"phase": "Pending"}));
        assert_eq!(c["metadata"]["finalizers"], json!([PVC_PROTECTION]));
        assert_eq!(c["spec"]["volumeMode"], "Filesystem");
        assert!(PERSISTENTVOLUMECLAIMS.behavior.validate(&c, None).is_empty());
    }

    #[test]
    fn access_modes_and_size_are_required() {
        let c = claim(json!({}));
        let fields: Vec<String> =
            validate_spec(&c).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(
            fields,
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value"
            ]
        );
        let c = claim(
            json!({"accessModes": ["Sometimes"], "resources": {"requests": {"storage": "0"}}}),
        );
        let reasons: Vec<String> = validate_spec(&c).into_iter().map(|c| c.reason).collect();
        assert_eq!(reasons, ["FieldValueNotSupported", "FieldValueInvalid"]);
    }

    #[test]
    fn spec_is_immutable_except_binding_and_growth_when_bound() {
        let old = claim(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}),
        );
        let mut bound = old.clone();
        bound["spec"]["volumeName"] = json!("pv-1");
        bound["spec"]["storageClassName"] = json!("local");
        assert!(validate_update(&bound, &old).is_empty(), "binder's writes");
        let mut grown = bound.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(validate_update(&grown, &bound).len(), 1, "unbound claims cannot grow");
        grown["status"]["phase"] = json!("Bound");
        assert!(validate_update(&grown, &bound).is_empty());
        let mut shrunk = bound.clone();
        shrunk["status"]["phase"] = json!("Bound");
        shrunk["spec"]["resources"]["requests"]["storage"] = json!("1Mi");
        assert_eq!(validate_update(&shrunk, &bound)[0].field, "spec.resources.requests.storage");
        let mut moved = bound.clone();
        moved["spec"]["volumeName"] = json!("pv-2");
        assert_eq!(validate_update(&moved, &bound)[0].field, "spec");
    }

    #[test]
    fn access_modes_print_in_kubes_order() {
        assert_eq!(
            access_modes_string(&json!(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"])),
            "RWO,RWX"
        );
        assert_eq!(access_modes_string(&Value::Null), "");
    }
}
