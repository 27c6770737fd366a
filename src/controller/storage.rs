//! Persistent storage: what Kubernetes' PV controller, the scheduler's
//! volume binding and a local provisioner do, level-based.
//!
//! - A claim binds to a matching PersistentVolume (`spec.volumeName`, a
//!   pre-bound `claimRef`, or class/size/access modes), else k2d's
//!   provisioner (`k2d.io/local`) creates one: a Docker volume named
//!   `k2d-pvc-<claim uid>` recorded as `spec.csi` of a PV `pvc-<claim uid>`.
//!   Docker volumes live in Docker's own storage, so the data outlives pods,
//!   k2d restarts and k2d's data path, and needs no host-path translation
//!   when k2d itself runs in a container (a `hostPath` under the data path
//!   would).
//! - `WaitForFirstConsumer` claims wait until a pod that mounts them is about
//!   to start (the pod controller calls [`pod_claims_ready`]).
//! - A claim that goes away releases its volume; `Delete` removes the PV and
//!   its Docker volume, `Retain` keeps both.
//! - The protection finalizers go once nothing uses the object.

use super::Queue;
use super::events::{EventType, Recorder, SCHEDULER, Source};
use super::pods::PodRuntime;
use crate::adapter::convert::labels;
use crate::adapter::convert::pod::ClaimSource;
use crate::adapter::convert::pod::quantity::Quantity;
use crate::adapter::docker::DockerError;
use crate::api::meta;
use crate::kinds::persistentvolume::{PV_PROTECTION, volume_class};
use crate::kinds::persistentvolumeclaim::{PVC_PROTECTION, claim_class};
use crate::kinds::storageclass::{PROVISIONER, default_class_name};
use crate::kinds::str_at;
use crate::store::{Change, Store};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const CLAIMS: &str = "persistentvolumeclaims";
pub const VOLUMES: &str = "persistentvolumes";
const CLASSES: &str = "storageclasses";

const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Label on a provisioned Docker volume naming its PersistentVolume.
pub const PV_LABEL: &str = "k2d.io/persistentvolume";

const PV_CONTROLLER: Source = Source { component: "persistentvolume-controller", host: None };
const PROVISIONER_SOURCE: Source = Source { component: PROVISIONER, host: None };

/// The PV k2d provisions for a claim (kube's `pvc-<uid>`).
pub fn volume_name(claim_uid: &str) -> String {
    format!("pvc-{claim_uid}")
}

/// The Docker volume behind a provisioned PV.
pub fn docker_volume_name(claim_uid: &str) -> String {
    format!("k2d-pvc-{claim_uid}")
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    str_at(v, path).unwrap_or("")
}

fn deleting(v: &Value) -> bool {
    v["metadata"].get("deletionTimestamp").is_some()
}

// ------------------------------------------------------------ pure logic

/// What a pod mounts for a claim, from the claim and its bound volume.
pub fn claim_source(claim: Option<&Value>, pv: Option<&Value>) -> Result<ClaimSource, String> {
    let claim = claim.ok_or("persistentvolumeclaim not found")?;
    let name = s(claim, &["metadata", "name"]);
    let volume = s(claim, &["spec", "volumeName"]);
    if volume.is_empty() || s(claim, &["status", "phase"]) != "Bound" {
        return Err(format!("persistentvolumeclaim \"{name}\" is not bound"));
    }
    let pv = pv.ok_or_else(|| format!("persistentvolume \"{volume}\" not found"))?;
    if s(pv, &["spec", "csi", "driver"]) == PROVISIONER {
        return Ok(ClaimSource::DockerVolume(s(pv, &["spec", "csi", "volumeHandle"]).to_string()));
    }
    if let Some(path) = str_at(pv, &["spec", "hostPath", "path"]) {
        return Ok(ClaimSource::HostPath(PathBuf::from(path)));
    }
    if let Some(path) = str_at(pv, &["spec", "local", "path"]) {
        return Ok(ClaimSource::HostPath(PathBuf::from(path)));
    }
    Err(format!("persistentvolume \"{volume}\" has a volume type k2d cannot mount"))
}

fn quantity(v: &Value, path: &[&str]) -> Option<i64> {
    str_at(v, path).and_then(Quantity::parse).map(Quantity::value)
}

fn modes(v: &Value) -> Vec<&str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

/// Whether `labels` satisfy the claim's `spec.selector` (matchLabels and
/// In/NotIn/Exists/DoesNotExist expressions).
fn selector_matches(selector: &Value, labels: &Value) -> bool {
    if selector.is_null() {
        return true;
    }
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let ok_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let ok_exprs = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let key = s(e, &["key"]);
        let values = modes(&e["values"]);
        match s(e, &["operator"]) {
            "In" => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            _ => false,
        }
    });
    ok_labels && ok_exprs
}

/// Whether `pv`'s `claimRef` names `claim` (a reference without uid is a
/// pre-binding by name).
fn refers_to(pv: &Value, claim: &Value) -> bool {
    let r = &pv["spec"]["claimRef"];
    r.is_object()
        && s(r, &["namespace"]) == s(claim, &["metadata", "namespace"])
        && s(r, &["name"]) == s(claim, &["metadata", "name"])
        && (s(r, &["uid"]).is_empty() || s(r, &["uid"]) == s(claim, &["metadata", "uid"]))
}

/// kube's `findBestMatchForClaim`: a volume pre-bound to the claim wins;
/// otherwise the smallest unbound volume of the claim's class, volume mode
/// and selector that offers its access modes and size.
pub fn find_match<'a>(claim: &Value, volumes: &'a [Arc<Value>]) -> Option<&'a Arc<Value>> {
    let request = quantity(claim, &["spec", "resources", "requests", "storage"]).unwrap_or(0);
    let wanted = modes(&claim["spec"]["accessModes"]);
    let class = claim_class(claim);
    let mode = |v: &Value, p: &[&str]| str_at(v, p).unwrap_or("Filesystem").to_string();
    let fits = |pv: &Value| {
        let offered = modes(&pv["spec"]["accessModes"]);
        !deleting(pv)
            && matches!(s(pv, &["status", "phase"]), "" | "Pending" | "Available")
            && volume_class(pv) == class
            && mode(pv, &["spec", "volumeMode"]) == mode(claim, &["spec", "volumeMode"])
            && wanted.iter().all(|m| offered.contains(m))
            && quantity(pv, &["spec", "capacity", "storage"]).unwrap_or(0) >= request
            && selector_matches(&claim["spec"]["selector"], &pv["metadata"]["labels"])
    };
    if let Some(pre) = volumes.iter().find(|pv| refers_to(pv, claim) && fits(pv)) {
        return Some(pre);
    }
    volumes
        .iter()
        .filter(|pv| pv["spec"].get("claimRef").is_none_or(Value::is_null) && fits(pv))
        .min_by_key(|pv| quantity(pv, &["spec", "capacity", "storage"]).unwrap_or(0))
}

/// The PV k2d's provisioner creates for `claim` of `class`.
pub fn provisioned_volume(claim: &Value, class: &Value) -> Value {
    let uid = s(claim, &["metadata", "uid"]);
    let name = volume_name(uid);
    let policy = str_at(class, &["reclaimPolicy"]).unwrap_or("Delete");
    json!({
        "kind": "PersistentVolume",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": meta::new_uid(),
            "resourceVersion": "",
            "creationTimestamp": meta::now_rfc3339(),
            "annotations": {ANN_PROVISIONED_BY: PROVISIONER},
            "finalizers": [PV_PROTECTION],
        },
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
            "csi": {"driver": PROVISIONER, "volumeHandle": docker_volume_name(uid), "fsType": "ext4"},
            "accessModes": claim["spec"]["accessModes"],
            "claimRef": claim_ref(claim),
            "persistentVolumeReclaimPolicy": policy,
            "storageClassName": s(class, &["metadata", "name"]),
            "volumeMode": str_at(claim, &["spec", "volumeMode"]).unwrap_or("Filesystem"),
        },
        "status": {"phase": "Bound", "lastPhaseTransitionTime": meta::now_rfc3339()},
    })
}

fn claim_ref(claim: &Value) -> Value {
    json!({
        "kind": "PersistentVolumeClaim",
        "namespace": claim["metadata"]["namespace"],
        "name": claim["metadata"]["name"],
        "uid": claim["metadata"]["uid"],
        "apiVersion": "v1",
        "resourceVersion": claim["metadata"]["resourceVersion"],
    })
}

/// `claim` bound to `pv` (both directions are written separately).
pub fn bound_claim(claim: &Value, pv: &Value) -> Value {
    let mut c = claim.clone();
    let pv_name = s(pv, &["metadata", "name"]).to_string();
    if s(&c, &["spec", "volumeName"]).is_empty() {
        c["spec"]["volumeName"] = json!(pv_name);
        annotate(&mut c, ANN_BOUND_BY_CONTROLLER, "yes");
    }
    annotate(&mut c, ANN_BIND_COMPLETED, "yes");
    c["status"] = json!({
        "phase": "Bound",
        "accessModes": pv["spec"]["accessModes"],
        "capacity": pv["spec"]["capacity"],
    });
    c
}

/// `pv` bound to `claim`.
pub fn bound_volume(pv: &Value, claim: &Value) -> Value {
    let mut v = pv.clone();
    if !refers_to(&v, claim) || s(&v, &["spec", "claimRef", "uid"]).is_empty() {
        v["spec"]["claimRef"] = claim_ref(claim);
        annotate(&mut v, ANN_BOUND_BY_CONTROLLER, "yes");
    }
    set_phase(&mut v, "Bound", None);
    v
}

fn annotate(obj: &mut Value, key: &str, value: &str) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

fn set_phase(pv: &mut Value, phase: &str, message: Option<&str>) {
    if s(pv, &["status", "phase"]) == phase {
        return;
    }
    let mut status = json!({"phase": phase});
    if let Some(m) = message {
        status["message"] = json!(m);
    }
    status["lastPhaseTransitionTime"] = json!(meta::now_rfc3339());
    pv["status"] = status;
}

// ------------------------------------------------------------ store work

fn put_if_changed(
    store: &Store,
    resource: &str,
    ns: &str,
    name: &str,
    uid: &Value,
    change: impl FnOnce(&Value) -> Option<Change>,
) -> Result<bool, String> {
    let mut changed = false;
    store
        .write(resource, ns, name, false, |cur| {
            let Some(cur) = cur.filter(|c| c["metadata"]["uid"] == *uid) else { return Ok(None) };
            let out = change(cur);
            changed = match &out {
                Some(Change::Put(v)) => v != &**cur,
                Some(Change::Delete) => true,
                None => false,
            };
            Ok(out.filter(|_| changed).map(|c| match c {
                Change::Put(v) => Change::Put(meta::canonical_order(v)),
                d => d,
            }))
        })
        .map_err(|e| e.to_string())?;
    Ok(changed)
}

fn write_obj(store: &Store, resource: &str, obj: &Value) -> Result<bool, String> {
    let m = &obj["metadata"];
    put_if_changed(
        store,
        resource,
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
        &m["uid"],
        |_| Some(Change::Put(obj.clone())),
    )
}

/// Drop `finalizer`; the last one gone deletes the object.
fn remove_finalizer(
    store: &Store,
    resource: &str,
    obj: &Value,
    finalizer: &str,
) -> Result<(), String> {
    let m = &obj["metadata"];
    put_if_changed(
        store,
        resource,
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
        &m["uid"],
        |cur| {
            let mut o = cur.clone();
            let list = o["metadata"]["finalizers"].as_array_mut()?;
            list.retain(|f| f != finalizer);
            if list.is_empty() {
                if deleting(&o) {
                    return Some(Change::Delete);
                }
                o["metadata"].as_object_mut()?.shift_remove("finalizers");
            }
            Some(Change::Put(o))
        },
    )
    .map(|_| ())
}

/// Claims a pod mounts.
fn pod_claims(pod: &Value) -> Vec<&str> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str))
        .collect()
}

fn finished(pod: &Value) -> bool {
    matches!(s(pod, &["status", "phase"]), "Succeeded" | "Failed")
}

/// Pods of `ns` that mount `claim` and have not finished.
fn users(store: &Store, ns: &str, claim: &str) -> Vec<Arc<Value>> {
    let (pods, _) = store.list("pods", Some(ns), None);
    pods.into_iter().filter(|p| !finished(p) && pod_claims(p).contains(&claim)).collect()
}

fn enqueue_users(store: &Store, queue: &Queue, ns: &str, claim: &str) {
    for p in users(store, ns, claim) {
        queue.enqueue("pods", ns, s(&p, &["metadata", "name"]));
    }
}

fn enqueue_volumes(store: &Store, queue: &Queue) {
    let (pvs, _) = store.list(VOLUMES, None, None);
    for pv in pvs {
        queue.enqueue(VOLUMES, "", s(&pv, &["metadata", "name"]));
    }
}

/// Unbound claims of every namespace: a new volume or class may serve them.
fn enqueue_pending_claims(store: &Store, queue: &Queue) {
    let (claims, _) = store.list(CLAIMS, None, None);
    for c in claims.iter().filter(|c| s(c, &["status", "phase"]) == "Pending") {
        queue.enqueue(CLAIMS, s(c, &["metadata", "namespace"]), s(c, &["metadata", "name"]));
    }
}

/// A class that appeared or changed (e.g. became the default): claims still
/// waiting look again.
pub fn reconcile_class(store: &Store, queue: &Queue) -> Result<(), String> {
    enqueue_pending_claims(store, queue);
    Ok(())
}

/// What the converter mounts for `ns/claim`.
pub fn claim_source_in(store: &Store, ns: &str, claim: &str) -> Result<ClaimSource, String> {
    let pvc = store.get(CLAIMS, ns, claim);
    let pv = pvc.as_ref().and_then(|c| {
        let v = s(c, &["spec", "volumeName"]);
        (!v.is_empty()).then(|| store.get(VOLUMES, "", v)).flatten()
    });
    match pvc {
        None => Err(format!("persistentvolumeclaim \"{claim}\" not found")),
        Some(c) => claim_source(Some(&c), pv.as_deref()),
    }
}

/// One pass over the claim `ns/name`.
pub fn reconcile_claim(
    store: &Store,
    queue: &Queue,
    rt: Option<&PodRuntime>,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    let Some(claim) = store.get(CLAIMS, ns, name) else {
        // Its volume (if any) is released now.
        enqueue_volumes(store, queue);
        return Ok(());
    };
    let pv_ctl = Recorder { store, source: PV_CONTROLLER, node: "" };
    if deleting(&claim) {
        // pvc-protection: the claim goes once no running pod mounts it.
        if users(store, ns, name).is_empty() {
            remove_finalizer(store, CLAIMS, &claim, PVC_PROTECTION)?;
            enqueue_volumes(store, queue);
        } else {
            queue.enqueue_after(CLAIMS, ns, name, Duration::from_secs(2));
        }
        return Ok(());
    }
    // Retroactive default class: a claim created before any default class
    // gets the class that exists now.
    if claim["spec"].get("storageClassName").is_none_or(Value::is_null)
        && str_at(
            &claim,
            &[
                "metadata",
                "annotations",
                crate::kinds::persistentvolumeclaim::BETA_CLASS_ANNOTATION,
            ],
        )
        .is_none()
        && let Some(default) = default_class_name(store)
    {
        let mut c = (*claim).clone();
        c["spec"]["storageClassName"] = json!(default);
        write_obj(store, CLAIMS, &c)?;
        queue.enqueue(CLAIMS, ns, name);
        return Ok(());
    }

    let volume = s(&claim, &["spec", "volumeName"]).to_string();
    if !volume.is_empty() {
        return sync_named_volume(store, queue, &pv_ctl, &claim, &volume);
    }
    let (volumes, _) = store.list(VOLUMES, None, None);
    if let Some(pv) = find_match(&claim, &volumes) {
        return bind(store, queue, &claim, pv);
    }
    // A volume provisioned for this claim before a restart cut the binding short.
    if let Some(pv) = store.get(VOLUMES, "", &volume_name(s(&claim, &["metadata", "uid"])))
        && refers_to(&pv, &claim)
    {
        return bind(store, queue, &claim, &pv);
    }
    let class_name = claim_class(&claim).to_string();
    if class_name.is_empty() {
        pv_ctl.record(
            &claim,
            "",
            EventType::Normal,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
        return Ok(());
    }
    let Some(class) = store.get(CLASSES, "", &class_name) else {
        pv_ctl.record(
            &claim,
            "",
            EventType::Warning,
            "ProvisioningFailed",
            &format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        );
        return Ok(());
    };
    let wait_for_consumer = s(&class, &["volumeBindingMode"]) == "WaitForFirstConsumer";
    if wait_for_consumer
        && str_at(&claim, &["metadata", "annotations", ANN_SELECTED_NODE]).is_none()
    {
        pv_ctl.record(
            &claim,
            "",
            EventType::Normal,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        );
        enqueue_users(store, queue, ns, name);
        return Ok(());
    }
    let provisioner = s(&class, &["provisioner"]).to_string();
    if provisioner == "kubernetes.io/no-provisioner" {
        pv_ctl.record(
            &claim,
            "",
            EventType::Normal,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
        return Ok(());
    }
    let mut annotated = (*claim).clone();
    annotate(&mut annotated, ANN_STORAGE_PROVISIONER, &provisioner);
    annotate(&mut annotated, ANN_BETA_STORAGE_PROVISIONER, &provisioner);
    write_obj(store, CLAIMS, &annotated)?;
    if provisioner != PROVISIONER {
        pv_ctl.record(
            &claim,
            "",
            EventType::Normal,
            "ExternalProvisioning",
            &format!("Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."),
        );
        return Ok(());
    }
    let prov = Recorder { store, source: PROVISIONER_SOURCE, node: "" };
    if claim["spec"].get("selector").is_some_and(|v| !v.is_null()) {
        prov.record(
            &claim,
            "",
            EventType::Warning,
            "ProvisioningFailed",
            "failed to provision volume: claim Selector is not supported",
        );
        return Ok(());
    }
    let rt = rt.ok_or("Docker is not connected yet")?;
    let claim = store.get(CLAIMS, ns, name).unwrap_or(claim);
    prov.record(
        &claim,
        "",
        EventType::Normal,
        "Provisioning",
        &format!("External provisioner is provisioning volume for claim \"{ns}/{name}\""),
    );
    let pv = provisioned_volume(&claim, &class);
    let pv_name = s(&pv, &["metadata", "name"]).to_string();
    create_docker_volume(rt, &claim, &pv_name)?;
    let written = store
        .write(VOLUMES, "", &pv_name, false, |cur| {
            Ok(if cur.is_some() { None } else { Some(Change::Put(pv.clone())) })
        })
        .map_err(|e| e.to_string())?;
    let pv = written.map(|w| w.object).or_else(|| store.get(VOLUMES, "", &pv_name));
    let Some(pv) = pv else { return Err(format!("persistentvolume {pv_name} vanished")) };
    prov.record(
        &claim,
        "",
        EventType::Normal,
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {pv_name}"),
    );
    bind(store, queue, &claim, &pv)
}

/// A claim that names its volume: bind to it if it is free or ours.
fn sync_named_volume(
    store: &Store,
    queue: &Queue,
    pv_ctl: &Recorder,
    claim: &Arc<Value>,
    volume: &str,
) -> Result<(), String> {
    let Some(pv) = store.get(VOLUMES, "", volume) else {
        if s(claim, &["status", "phase"]) == "Bound" {
            let mut c = (**claim).clone();
            c["status"]["phase"] = json!("Lost");
            write_obj(store, CLAIMS, &c)?;
            pv_ctl.record(
                claim,
                "",
                EventType::Warning,
                "ClaimLost",
                "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
            );
        } else {
            pv_ctl.record(
                claim,
                "",
                EventType::Normal,
                "FailedBinding",
                &format!("volume \"{volume}\" not found"),
            );
        }
        return Ok(());
    };
    let free = pv["spec"].get("claimRef").is_none_or(Value::is_null);
    if free || refers_to(&pv, claim) {
        let pv = expand(store, claim, pv)?;
        return bind(store, queue, claim, &pv);
    }
    pv_ctl.record(
        claim,
        "",
        EventType::Warning,
        "FailedBinding",
        &format!("volume \"{volume}\" already bound to a different claim."),
    );
    Ok(())
}

/// A bound claim that asks for more than its k2d-provisioned volume has
/// grows it when its class allows expansion: a Docker volume has no size of
/// its own, so the new capacity is recorded at once (online expansion).
fn expand(store: &Store, claim: &Value, pv: Arc<Value>) -> Result<Arc<Value>, String> {
    let request = quantity(claim, &["spec", "resources", "requests", "storage"]).unwrap_or(0);
    let capacity = quantity(&pv, &["spec", "capacity", "storage"]).unwrap_or(0);
    if request <= capacity || !provisioned_by_k2d(&pv) {
        return Ok(pv);
    }
    let class = store.get(CLASSES, "", claim_class(claim));
    if !class.is_some_and(|c| c["allowVolumeExpansion"] == true) {
        return Ok(pv);
    }
    let mut grown = (*pv).clone();
    grown["spec"]["capacity"]["storage"] =
        claim["spec"]["resources"]["requests"]["storage"].clone();
    write_obj(store, VOLUMES, &grown)?;
    let pv_name = s(&pv, &["metadata", "name"]);
    Recorder { store, source: PROVISIONER_SOURCE, node: "" }.record(
        claim,
        "",
        EventType::Normal,
        "VolumeResizeSuccessful",
        &format!("resize volume \"{pv_name}\" by resizer \"{PROVISIONER}\" succeeded"),
    );
    Ok(Arc::new(grown))
}

fn bind(store: &Store, queue: &Queue, claim: &Value, pv: &Value) -> Result<(), String> {
    write_obj(store, VOLUMES, &bound_volume(pv, claim))?;
    // The claim's stored form may have moved on (annotations written above).
    let ns = s(claim, &["metadata", "namespace"]);
    let name = s(claim, &["metadata", "name"]);
    let cur = store.get(CLAIMS, ns, name).unwrap_or_else(|| Arc::new(claim.clone()));
    write_obj(store, CLAIMS, &bound_claim(&cur, pv))?;
    enqueue_users(store, queue, ns, name);
    Ok(())
}

fn create_docker_volume(rt: &PodRuntime, claim: &Value, pv_name: &str) -> Result<(), String> {
    let docker_name = docker_volume_name(s(claim, &["metadata", "uid"]));
    match rt.docker().get_json::<Value>(&format!("/volumes/{docker_name}")) {
        Ok(_) => return Ok(()),
        Err(DockerError::NotFound(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let labels = json!({
        labels::MANAGED: "true",
        labels::INSTANCE: rt.instance(),
        PV_LABEL: pv_name,
        labels::POD_NAMESPACE: s(claim, &["metadata", "namespace"]),
        crate::adapter::convert::pod::volumes::PVC_LABEL: s(claim, &["metadata", "name"]),
    });
    rt.docker()
        .post_json::<Value>("/volumes/create", &json!({"Name": docker_name, "Labels": labels}))
        .map(|_| ())
        .map_err(|e| format!("creating volume {docker_name}: {e}"))
}

/// Remove a provisioned volume's Docker volume; busy (a container still
/// holds it) is an error so the pass is retried.
fn delete_docker_volume(rt: &PodRuntime, pv: &Value) -> Result<(), String> {
    let handle = s(pv, &["spec", "csi", "volumeHandle"]);
    if handle.is_empty() {
        return Ok(());
    }
    match rt.docker().delete(&format!("/volumes/{handle}")) {
        Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
        Err(e) => Err(format!("removing volume {handle}: {e}")),
    }
}

fn provisioned_by_k2d(pv: &Value) -> bool {
    s(pv, &["spec", "csi", "driver"]) == PROVISIONER
}

/// One pass over the volume `name`.
pub fn reconcile_volume(
    store: &Store,
    queue: &Queue,
    rt: Option<&PodRuntime>,
    name: &str,
) -> Result<(), String> {
    let Some(pv) = store.get(VOLUMES, "", name) else { return Ok(()) };
    let pv_ctl = Recorder { store, source: PV_CONTROLLER, node: "" };
    let policy = s(&pv, &["spec", "persistentVolumeReclaimPolicy"]).to_string();
    if deleting(&pv) {
        // pv-protection: a volume goes once no claim is bound to it.
        if s(&pv, &["status", "phase"]) == "Bound" {
            return Ok(());
        }
        if provisioned_by_k2d(&pv) && policy == "Delete" {
            delete_docker_volume(rt.ok_or("Docker is not connected yet")?, &pv)?;
        }
        return remove_finalizer(store, VOLUMES, &pv, PV_PROTECTION);
    }
    let claim_ref = &pv["spec"]["claimRef"];
    if !claim_ref.is_object() {
        let mut v = (*pv).clone();
        set_phase(&mut v, "Available", None);
        if write_obj(store, VOLUMES, &v)? {
            enqueue_pending_claims(store, queue);
        }
        return Ok(());
    }
    let (ns, cname, ref_uid) =
        (s(claim_ref, &["namespace"]), s(claim_ref, &["name"]), s(claim_ref, &["uid"]));
    let claim = store.get(CLAIMS, ns, cname);
    let same_claim =
        claim.as_ref().filter(|c| ref_uid.is_empty() || s(c, &["metadata", "uid"]) == ref_uid);
    if let Some(c) = same_claim {
        let mut v = (*pv).clone();
        match s(c, &["spec", "volumeName"]) {
            n if n == name => set_phase(&mut v, "Bound", None),
            "" => {
                // Pre-bound by name: the claim's pass binds it.
                queue.enqueue(CLAIMS, ns, cname);
                set_phase(&mut v, "Available", None);
            }
            _ => {
                // The claim went elsewhere: a binding we made is undone.
                if str_at(&v, &["metadata", "annotations", ANN_BOUND_BY_CONTROLLER]) == Some("yes")
                    && let Some(spec) = v["spec"].as_object_mut()
                {
                    spec.shift_remove("claimRef");
                }
                set_phase(&mut v, "Available", None);
            }
        }
        write_obj(store, VOLUMES, &v)?;
        return Ok(());
    }
    if ref_uid.is_empty() {
        // Reserved for a claim that does not exist yet.
        let mut v = (*pv).clone();
        set_phase(&mut v, "Available", None);
        write_obj(store, VOLUMES, &v)?;
        return Ok(());
    }
    // The claim is gone: the volume is released and reclaimed.
    let mut v = (*pv).clone();
    set_phase(&mut v, "Released", None);
    match policy.as_str() {
        "Delete" if provisioned_by_k2d(&pv) => {
            write_obj(store, VOLUMES, &v)?;
            delete_docker_volume(rt.ok_or("Docker is not connected yet")?, &pv)?;
            put_if_changed(store, VOLUMES, "", name, &pv["metadata"]["uid"], |_| {
                Some(Change::Delete)
            })?;
            log::info!("deleted released volume {name}");
        }
        "Delete" | "Recycle" => {
            let message = if policy == "Delete" {
                format!(
                    "error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched"
                )
            } else {
                format!(
                    "no volume plugin matched name: recycling volume \"{name}\" is not supported by k2d"
                )
            };
            let event =
                if policy == "Delete" { "VolumeFailedDelete" } else { "VolumeFailedRecycle" };
            if s(&pv, &["status", "phase"]) != "Failed" {
                pv_ctl.record(&pv, "", EventType::Warning, event, &message);
            }
            set_phase(&mut v, "Failed", Some(&message));
            write_obj(store, VOLUMES, &v)?;
        }
        _ => {
            write_obj(store, VOLUMES, &v)?;
        }
    }
    Ok(())
}

/// The scheduler's volume binding for a pod about to start: `true` when
/// every claim it mounts is bound. Otherwise claims waiting for their first
/// consumer are told the node (so they are provisioned now), and a claim that
/// cannot bind makes the pod Unschedulable, as kube-scheduler reports it.
pub fn pod_claims_ready(
    store: &Store,
    queue: &Queue,
    pod: &Value,
    node: &str,
) -> Result<bool, String> {
    let claims = pod_claims(pod);
    if claims.is_empty() || finished(pod) {
        return Ok(true);
    }
    let ns = s(pod, &["metadata", "namespace"]);
    let pod_name = s(pod, &["metadata", "name"]);
    let mut problem: Option<String> = None;
    let mut waiting = false;
    for c in claims {
        let Some(claim) = store.get(CLAIMS, ns, c) else {
            problem = Some(format!("persistentvolumeclaim \"{c}\" not found"));
            continue;
        };
        if deleting(&claim) {
            problem = Some(format!("persistentvolumeclaim \"{c}\" is being deleted"));
            continue;
        }
        if s(&claim, &["status", "phase"]) == "Bound"
            && !s(&claim, &["spec", "volumeName"]).is_empty()
        {
            continue;
        }
        let class = store.get(CLASSES, "", claim_class(&claim));
        let class_mode = class.as_ref().map(|c| s(c, &["volumeBindingMode"]).to_string());
        let ours = class.as_ref().is_some_and(|c| s(c, &["provisioner"]) == PROVISIONER);
        if class_mode.as_deref() == Some("WaitForFirstConsumer") {
            waiting = true;
            if str_at(&claim, &["metadata", "annotations", ANN_SELECTED_NODE]).is_none()
                && !node.is_empty()
            {
                let mut annotated = (*claim).clone();
                annotate(&mut annotated, ANN_SELECTED_NODE, node);
                write_obj(store, CLAIMS, &annotated)?;
            }
            queue.enqueue(CLAIMS, ns, c);
        } else if ours {
            waiting = true;
            queue.enqueue(CLAIMS, ns, c);
        } else {
            problem = Some("pod has unbound immediate PersistentVolumeClaims".into());
        }
    }
    if problem.is_none() && !waiting {
        clear_unschedulable(store, pod)?;
        return Ok(true);
    }
    // Bindings enqueue the pod; this is the safety net.
    queue.enqueue_after("pods", ns, pod_name, Duration::from_secs(5));
    if let Some(p) = problem {
        let message = format!(
            "0/1 nodes are available: {p}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        );
        let changed = put_if_changed(
            store,
            "pods",
            ns,
            pod_name,
            &pod["metadata"]["uid"],
            |cur| {
                let mut p = cur.clone();
                let mut conds: Vec<Value> =
                    p["status"]["conditions"].as_array().cloned().unwrap_or_default();
                conds.retain(|c| c["type"] != "PodScheduled");
                conds.push(json!({"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                "lastTransitionTime": meta::now_rfc3339(), "reason": "Unschedulable", "message": message}));
                let old = cur["status"]["conditions"]
                    .as_array()
                    .and_then(|a| a.iter().find(|c| c["type"] == "PodScheduled"))
                    .map(|c| (c["status"].clone(), c["message"].clone()));
                if old == Some((json!("False"), json!(message))) {
                    return None;
                }
                p["status"]["conditions"] = json!(conds);
                Some(Change::Put(p))
            },
        )?;
        let scheduler = Recorder { store, source: SCHEDULER, node: "" };
        if changed {
            scheduler.record(pod, "", EventType::Warning, "FailedScheduling", &message);
        }
    }
    Ok(false)
}

/// A pod that was Unschedulable for its claims is schedulable again (the
/// pod controller then records it as scheduled).
fn clear_unschedulable(store: &Store, pod: &Value) -> Result<(), String> {
    let unschedulable = pod["status"]["conditions"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["type"] == "PodScheduled" && c["status"] == "False"));
    if !unschedulable {
        return Ok(());
    }
    let m = &pod["metadata"];
    put_if_changed(
        store,
        "pods",
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
        &m["uid"],
        |cur| {
            let mut p = cur.clone();
            p["status"]["conditions"].as_array_mut()?.retain(|c| c["type"] != "PodScheduled");
            Some(Change::Put(p))
        },
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests;
