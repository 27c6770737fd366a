//! PersistentVolume: cluster-scoped storage a claim binds to. k2d mounts
//! two kinds: `hostPath` (a directory of the Docker host) and volumes of its
//! own provisioner (`csi` with driver `k2d.io/local`, whose volume handle is
//! a Docker volume's name).

use super::configmap::name_cell;
use super::persistentvolumeclaim::{
    access_modes_string, add_finalizer, unset_or, validate_access_modes, validate_storage,
};
use super::{ALL_VERBS, Behavior, Column, ResourceType, str_at, typed};
use crate::api::error::Cause;
use crate::api::table;
use k8s_openapi::api::core::v1::PersistentVolume;
use serde_json::{Value, json};

pub static PERSISTENTVOLUMES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "PersistentVolume",
    plural: "persistentvolumes",
    singular: "persistentvolume",
    namespaced: false,
    short_names: &["pv"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &["status"],
    storage: "persistentvolumes",
    behavior: &VolumeBehavior,
};

pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// Every volume source a PersistentVolumeSpec can name.
pub const SOURCES: &[&str] = &[
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];

struct VolumeBehavior;

impl Behavior for VolumeBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<PersistentVolume>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<PersistentVolume>())
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    /// `SetDefaults_PersistentVolume` and `SetDefaults_HostPathVolumeSource`.
    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return };
        if spec.get("persistentVolumeReclaimPolicy").is_none_or(Value::is_null) {
            spec.insert("persistentVolumeReclaimPolicy".into(), json!("Retain"));
        }
        if spec.get("volumeMode").is_none_or(Value::is_null) {
            spec.insert("volumeMode".into(), json!("Filesystem"));
        }
        if let Some(hp) = spec.get_mut("hostPath").and_then(Value::as_object_mut)
            && hp.get("type").is_none_or(Value::is_null)
        {
            hp.insert("type".into(), json!(""));
        }
    }

    /// Status starts `Pending` (the binder makes it `Available`); the
    /// StorageObjectInUseProtection plugin's finalizer.
    fn on_create(&self, obj: &mut Value) {
        obj["status"] =
            json!({"phase": "Pending", "lastPhaseTransitionTime": crate::api::meta::now_rfc3339()});
        add_finalizer(obj, PV_PROTECTION);
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = validate(obj);
        if let Some(old) = old {
            let source =
                |o: &Value| SOURCES.iter().map(|s| o["spec"].get(*s).cloned()).collect::<Vec<_>>();
            if source(obj) != source(old) {
                causes.push(Cause::forbidden(
                    "spec.persistentvolumesource",
                    "spec.persistentvolumesource is immutable after creation",
                ));
            }
            if obj["spec"].get("volumeMode") != old["spec"].get("volumeMode") {
                causes.push(Cause::invalid(
                    "spec.volumeMode",
                    str_at(obj, &["spec", "volumeMode"]).unwrap_or(""),
                    "field is immutable",
                ));
            }
        }
        causes
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printPersistentVolume`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let claim = match obj["spec"].get("claimRef") {
            Some(r) if r.is_object() => format!(
                "{}/{}",
                str_at(r, &["namespace"]).unwrap_or(""),
                str_at(r, &["name"]).unwrap_or("")
            ),
            _ => String::new(),
        };
        let mut phase = str_at(obj, &["status", "phase"]).unwrap_or("").to_string();
        if obj["metadata"].get("deletionTimestamp").is_some() {
            phase = "Terminating".into();
        }
        vec![
            name_cell(obj),
            json!(str_at(obj, &["spec", "capacity", "storage"]).unwrap_or("0")),
            json!(access_modes_string(&obj["spec"]["accessModes"])),
            json!(str_at(obj, &["spec", "persistentVolumeReclaimPolicy"]).unwrap_or("")),
            json!(phase),
            json!(claim),
            json!(volume_class(obj)),
            json!(unset_or(str_at(obj, &["spec", "volumeAttributesClassName"]))),
            json!(str_at(obj, &["status", "reason"]).unwrap_or("")),
            json!(table::age_of(obj, now)),
            json!(unset_or(str_at(obj, &["spec", "volumeMode"]))),
        ]
    }
}

/// `GetPersistentVolumeClass`: the beta annotation, else the field.
pub fn volume_class(obj: &Value) -> &str {
    str_at(obj, &["metadata", "annotations", super::persistentvolumeclaim::BETA_CLASS_ANNOTATION])
        .or_else(|| str_at(obj, &["spec", "storageClassName"]))
        .unwrap_or("")
}

/// `ValidatePersistentVolumeSpec`, for the fields k2d acts on.
fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let spec = &obj["spec"];
    validate_access_modes(&spec["accessModes"], "spec.accessModes", &mut causes);
    if spec.get("capacity").is_none_or(|c| c.as_object().is_none_or(|m| m.is_empty())) {
        causes.push(Cause::required("spec.capacity"));
    } else {
        validate_storage(spec.pointer("/capacity/storage"), "spec.capacity[storage]", &mut causes);
    }
    let given: Vec<&&str> =
        SOURCES.iter().filter(|s| spec.get(**s).is_some_and(|v| !v.is_null())).collect();
    match given.len() {
        0 => causes.push(Cause::new(
            "FieldValueRequired",
            "Required value: must specify a volume type",
            "spec",
        )),
        1 => {}
        _ => causes.push(Cause::forbidden(
            &format!("spec.{}", given[1]),
            "may not specify more than 1 volume type",
        )),
    }
    if spec.get("hostPath").is_some_and(Value::is_object) {
        let path = str_at(spec, &["hostPath", "path"]).unwrap_or("");
        if path.is_empty() {
            causes.push(Cause::required("spec.hostPath.path"));
        } else if path.split('/').any(|c| c == "..") {
            causes.push(Cause::invalid("spec.hostPath.path", path, "must not contain '..'"));
        }
    }
    if spec.get("csi").is_some_and(Value::is_object) {
        for f in ["driver", "volumeHandle"] {
            if str_at(spec, &["csi", f]).unwrap_or("").is_empty() {
                causes.push(Cause::required(&format!("spec.csi.{f}")));
            }
        }
    }
    if let Some(p) = str_at(spec, &["persistentVolumeReclaimPolicy"])
        && !["Delete", "Recycle", "Retain"].contains(&p)
    {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: \"Delete\", \"Recycle\", \"Retain\"",
                crate::api::error::go_quote(p)
            ),
            "spec.persistentVolumeReclaimPolicy",
        ));
    }
    causes
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Capacity",
        type_: "string",
        format: "",
        description: "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
        priority: 0,
    },
    Column {
        name: "Access Modes",
        type_: "string",
        format: "",
        description: "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
        priority: 0,
    },
    Column {
        name: "Reclaim Policy",
        type_: "string",
        format: "",
        description: "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
        priority: 0,
    },
    Column {
        name: "Status",
        type_: "string",
        format: "",
        description: "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
        priority: 0,
    },
    Column {
        name: "Claim",
        type_: "string",
        format: "",
        description: "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
        priority: 0,
    },
    Column {
        name: "StorageClass",
        type_: "string",
        format: "",
        description: "StorageClass of the pv",
        priority: 0,
    },
    Column {
        name: "VolumeAttributesClass",
        type_: "string",
        format: "",
        description: "VolumeAttributesClass of the pv",
        priority: 0,
    },
    Column {
        name: "Reason",
        type_: "string",
        format: "",
        description: "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
        priority: 0,
    },
    table::AGE,
    Column {
        name: "VolumeMode",
        type_: "string",
        format: "",
        description: "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
        priority: 1,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let mut pv = json!({"metadata": {"name": "p"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/srv/x"}}});
        PERSISTENTVOLUMES.behavior.default(&mut pv);
        PERSISTENTVOLUMES.behavior.on_create(&mut pv);
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["hostPath"]["type"], "");
        assert_eq!(pv["status"]["phase"], "Pending");
        assert_eq!(pv["metadata"]["finalizers"], json!([PV_PROTECTION]));
        assert!(PERSISTENTVOLUMES.behavior.validate(&pv, None).is_empty());
        let mut moved = pv.clone();
        moved["spec"]["hostPath"]["path"] = json!("/srv/y");
        assert_eq!(
            PERSISTENTVOLUMES.behavior.validate(&moved, Some(&pv))[0].field,
            "spec.persistentvolumesource"
        );
        let bare = json!({"metadata": {"name": "p"}, "spec": {}});
        let fields: Vec<String> = validate(&bare).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["spec.accessModes", "spec.capacity", "spec"]);
    }
}
