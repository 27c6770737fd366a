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
//!   its Docker volume, `Retain` keeps both. Only a Docker volume carrying
//!   this instance's labels for that PV is removed (a PV anyone can write
//!   names any volume), and removal runs on the [`Reaper`]'s thread.
//! - The protection finalizers go once nothing uses the object.

use super::Queue;
use super::events::{EventType, Recorder, SCHEDULER, Source};
use super::pods::PodRuntime;
use crate::adapter::convert::labels;
use crate::adapter::convert::pod::ClaimSource;
use crate::adapter::convert::pod::quantity::Quantity;
use crate::adapter::docker::{DockerError, encode_query};
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

mod binding;
mod reaper;
mod scheduling;
mod volumes;

use binding::*;
pub use reaper::Reaper;
use reaper::{Outcome, Poll};
pub use scheduling::pod_claims_ready;
use volumes::*;
pub use volumes::{ensure_claim_volumes, reconcile_volume};

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
    let volume = s(&claim, &["spec", "volumeName"]).to_string();
    // Retroactive default class: an unbound claim created before any
    // default class gets the class that exists now (a claim that names its
    // volume keeps matching that volume's class, as in Kubernetes).
    if volume.is_empty()
        && claim["spec"].get("storageClassName").is_none_or(Value::is_null)
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

    if !volume.is_empty() {
        return sync_named_volume(store, queue, &pv_ctl, &claim, &volume);
    }
    let class_name = claim_class(&claim).to_string();
    let class = (!class_name.is_empty()).then(|| store.get(CLASSES, "", &class_name)).flatten();
    // Kubernetes' delayBinding: until the scheduler picks a node for a
    // WaitForFirstConsumer claim, only a volume pre-bound to it may bind.
    let delayed =
        class.as_ref().is_some_and(|c| s(c, &["volumeBindingMode"]) == "WaitForFirstConsumer")
            && str_at(&claim, &["metadata", "annotations", ANN_SELECTED_NODE]).is_none();
    let (mut volumes, _) = store.list(VOLUMES, None, None);
    if delayed {
        volumes.retain(|pv| refers_to(pv, &claim));
    }
    if let Some(pv) = find_match(&claim, &volumes) {
        return bind(store, queue, &claim, pv);
    }
    // A volume provisioned for this claim before a restart cut the binding short.
    if let Some(pv) = store.get(VOLUMES, "", &volume_name(s(&claim, &["metadata", "uid"])))
        && refers_to(&pv, &claim)
    {
        return bind(store, queue, &claim, &pv);
    }
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
    let Some(class) = class else {
        pv_ctl.record(
            &claim,
            "",
            EventType::Warning,
            "ProvisioningFailed",
            &format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        );
        return Ok(());
    };
    if delayed {
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
    let handle = s(&pv, &["spec", "csi", "volumeHandle"]);
    create_docker_volume(rt, handle, &pv_name, ns, name)?;
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
    if free && let Some(why) = unsatisfied(&pv, claim) {
        pv_ctl.record(
            claim,
            "",
            EventType::Warning,
            "FailedBinding",
            &format!("Cannot bind to requested volume \"{volume}\": {why}"),
        );
        return Ok(());
    }
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

#[cfg(test)]
mod tests;
