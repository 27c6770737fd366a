//! Volumes: phases from their claims, reclaiming released ones (Delete
//! removes the PV and its Docker volume, Retain keeps both), pv-protection,
//! and the Docker volumes of k2d's provisioner.

use super::*;

/// The labels of every Docker volume k2d creates for a PersistentVolume,
/// whoever creates it (the provisioner, or a pod that finds it missing):
/// reclaim removes only volumes that carry this instance's id and the PV's
/// name, so all of them must.
pub fn volume_labels(instance: &str, pv_name: &str, claim_ns: &str, claim: &str) -> Value {
    json!({
        labels::MANAGED: "true",
        labels::INSTANCE: instance,
        PV_LABEL: pv_name,
        labels::POD_NAMESPACE: claim_ns,
        crate::adapter::convert::pod::volumes::PVC_LABEL: claim,
    })
}

/// Whether the Docker volume `inspect` (`GET /volumes/{name}`) is one this
/// k2d instance created for the PV `pv_name`; any other (made by hand, by
/// another k2d, or named by a PV someone wrote) is not k2d's to remove.
pub fn created_for(inspect: &Value, instance: &str, pv_name: &str) -> bool {
    let l = &inspect["Labels"];
    l[labels::MANAGED] == "true" && l[labels::INSTANCE] == instance && l[PV_LABEL] == pv_name
}

/// `/volumes/{name}` with the name escaped (a PV's `volumeHandle` is
/// whatever its author wrote).
fn volume_path(name: &str) -> String {
    format!("/volumes/{}", encode_query(name))
}

/// Create the Docker volume `docker_name` of the PV `pv_name` unless it
/// exists. The name comes from the claim's uid, so a pass retried after a
/// crash between creating it and writing the PV reuses it.
pub(super) fn create_docker_volume(
    rt: &PodRuntime,
    docker_name: &str,
    pv_name: &str,
    claim_ns: &str,
    claim: &str,
) -> Result<(), String> {
    match rt.docker().get_json::<Value>(&volume_path(docker_name)) {
        Ok(_) => return Ok(()),
        Err(DockerError::NotFound(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let labels = volume_labels(rt.instance(), pv_name, claim_ns, claim);
    rt.docker()
        .post_json::<Value>("/volumes/create", &json!({"Name": docker_name, "Labels": labels}))
        .map(|_| ())
        .map_err(|e| format!("creating volume {docker_name}: {e}"))
}

/// Before a pod starts: the Docker volumes of the k2d PVs its claims are
/// bound to exist (recreated empty, with the provisioner's labels, only if
/// they vanished from Docker). Docker would otherwise create a missing named
/// volume itself, unlabelled, when the container is created.
pub fn ensure_claim_volumes(rt: &PodRuntime, store: &Store, pod: &Value) -> Result<(), String> {
    let ns = s(pod, &["metadata", "namespace"]);
    for claim in pod_claims(pod) {
        let Some(c) = store.get(CLAIMS, ns, claim) else { continue };
        let pv_name = s(&c, &["spec", "volumeName"]);
        let Some(pv) = (!pv_name.is_empty()).then(|| store.get(VOLUMES, "", pv_name)).flatten()
        else {
            continue;
        };
        let handle = s(&pv, &["spec", "csi", "volumeHandle"]);
        if provisioned_by_k2d(&pv) && !handle.is_empty() {
            create_docker_volume(rt, handle, pv_name, ns, claim)?;
        }
    }
    Ok(())
}

/// Where removing a PV's Docker volume stands.
enum Reclaim {
    Done,
    /// A removal runs or waits; the PV is queued again.
    Pending,
    /// Not k2d's to remove: kept, and the PV says why.
    Refused(String),
}

/// Remove the Docker volume of the k2d PV `pv` (on the reaper's thread).
fn reclaim_docker_volume(queue: &Queue, rt: &PodRuntime, pv: &Value) -> Result<Reclaim, String> {
    let name = s(pv, &["metadata", "name"]);
    let handle = s(pv, &["spec", "csi", "volumeHandle"]).to_string();
    if handle.is_empty() {
        return Ok(Reclaim::Done);
    }
    match rt.reaper().poll(name) {
        Poll::Running => return Ok(Reclaim::Pending),
        Poll::Removed => return Ok(Reclaim::Done),
        Poll::Failed(e) => return Err(format!("removing volume {handle}: {e}")),
        Poll::Wait(delay) => {
            // A stopped container of a finished pod still holds it: quietly
            // later (and at once when a pod's containers go).
            queue.enqueue_after(VOLUMES, "", name, delay);
            return Ok(Reclaim::Pending);
        }
        Poll::Idle => {}
    }
    let inspect = match rt.docker().get_json::<Value>(&volume_path(&handle)) {
        Ok(v) => v,
        Err(DockerError::NotFound(_)) => return Ok(Reclaim::Done),
        Err(e) => return Err(e.to_string()),
    };
    if !created_for(&inspect, rt.instance(), name) {
        return Ok(Reclaim::Refused(format!(
            "Docker volume \"{handle}\" was not created by this k2d for volume \"{name}\"; it is kept"
        )));
    }
    let docker = rt.docker().clone();
    rt.reaper().submit(name, queue, move || match docker.delete(&volume_path(&handle)) {
        Ok(()) | Err(DockerError::NotFound(_)) => Outcome::Removed,
        Err(DockerError::Conflict(_)) => Outcome::Busy,
        Err(e) => Outcome::Failed(e.to_string()),
    })?;
    Ok(Reclaim::Pending)
}

pub(super) fn provisioned_by_k2d(pv: &Value) -> bool {
    s(pv, &["spec", "csi", "driver"]) == PROVISIONER
}

/// Who a PV's `claimRef` points at, as far as binding goes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClaimState {
    /// No claimRef.
    Unclaimed,
    /// Pre-bound by name (no uid) to a claim that does not exist yet.
    Reserved,
    /// The claim exists but has not bound yet (names no volume).
    Waiting,
    /// The claim is bound to this volume: in use.
    Bound,
    /// The claim went to another volume.
    Elsewhere,
    /// The claim (that uid) is gone: the volume is released.
    Gone,
}

/// Where `pv` stands, decided from its claim itself (the stored phase may
/// lag, e.g. for a PV deleted while Bound).
pub(super) fn claim_state(pv: &Value, claim: Option<&Value>) -> ClaimState {
    let claim_ref = &pv["spec"]["claimRef"];
    if !claim_ref.is_object() {
        return ClaimState::Unclaimed;
    }
    let ref_uid = s(claim_ref, &["uid"]);
    let same = claim.filter(|c| {
        s(c, &["metadata", "namespace"]) == s(claim_ref, &["namespace"])
            && s(c, &["metadata", "name"]) == s(claim_ref, &["name"])
            && (ref_uid.is_empty() || s(c, &["metadata", "uid"]) == ref_uid)
    });
    match same.map(|c| s(c, &["spec", "volumeName"])) {
        Some(v) if v == s(pv, &["metadata", "name"]) => ClaimState::Bound,
        Some("") => ClaimState::Waiting,
        Some(_) => ClaimState::Elsewhere,
        None if ref_uid.is_empty() => ClaimState::Reserved,
        None => ClaimState::Gone,
    }
}

/// One pass over the volume `name`.
pub fn reconcile_volume(
    store: &Store,
    queue: &Queue,
    rt: Option<&PodRuntime>,
    name: &str,
) -> Result<(), String> {
    let Some(pv) = store.get(VOLUMES, "", name) else {
        if let Some(rt) = rt {
            rt.reaper().forget(name);
        }
        return Ok(());
    };
    let policy = s(&pv, &["spec", "persistentVolumeReclaimPolicy"]).to_string();
    let claim_ref = &pv["spec"]["claimRef"];
    let (ns, cname) = (s(claim_ref, &["namespace"]), s(claim_ref, &["name"]));
    let claim = if claim_ref.is_object() { store.get(CLAIMS, ns, cname) } else { None };
    let state = claim_state(&pv, claim.as_deref());
    if deleting(&pv) {
        // pv-protection: a volume goes once no claim is bound to it, and a
        // claim that went first leaves it released and reclaimed (Delete
        // removes the Docker volume) before the finalizer goes.
        if state == ClaimState::Bound {
            return Ok(());
        }
        // (Failed stays: a refused removal is not retried into Released.)
        if state == ClaimState::Gone && s(&pv, &["status", "phase"]) != "Failed" {
            let mut v = (*pv).clone();
            set_phase(&mut v, "Released", None);
            write_obj(store, VOLUMES, &v)?;
        }
        if provisioned_by_k2d(&pv) && policy == "Delete" {
            let rt = rt.ok_or("Docker is not connected yet")?;
            match reclaim_docker_volume(queue, rt, &pv)? {
                Reclaim::Pending => return Ok(()),
                Reclaim::Refused(why) => refuse(store, &pv, &why)?,
                Reclaim::Done => {}
            }
        }
        let pv = store.get(VOLUMES, "", name).unwrap_or(pv);
        return remove_finalizer(store, VOLUMES, &pv, PV_PROTECTION);
    }
    let mut v = (*pv).clone();
    match state {
        ClaimState::Bound => set_phase(&mut v, "Bound", None),
        ClaimState::Waiting => {
            // Pre-bound by name: the claim's pass binds it.
            queue.enqueue(CLAIMS, ns, cname);
            set_phase(&mut v, "Available", None);
        }
        ClaimState::Elsewhere => {
            // The claim went elsewhere: a binding we made is undone.
            if str_at(&v, &["metadata", "annotations", ANN_BOUND_BY_CONTROLLER]) == Some("yes")
                && let Some(spec) = v["spec"].as_object_mut()
            {
                spec.shift_remove("claimRef");
            }
            set_phase(&mut v, "Available", None);
        }
        // Reserved for a claim that does not exist yet, or free.
        ClaimState::Reserved | ClaimState::Unclaimed => set_phase(&mut v, "Available", None),
        ClaimState::Gone => return release(store, queue, rt, &pv, &policy),
    }
    if write_obj(store, VOLUMES, &v)? && state == ClaimState::Unclaimed {
        enqueue_pending_claims(store, queue);
    }
    Ok(())
}

/// The claim is gone: the volume is released and reclaimed.
fn release(
    store: &Store,
    queue: &Queue,
    rt: Option<&PodRuntime>,
    pv: &Arc<Value>,
    policy: &str,
) -> Result<(), String> {
    let name = s(pv, &["metadata", "name"]);
    let pv_ctl = Recorder { store, source: PV_CONTROLLER, node: "" };
    let mut v = (**pv).clone();
    set_phase(&mut v, "Released", None);
    match policy {
        "Delete" if provisioned_by_k2d(pv) => {
            // A volume whose removal was refused stays Failed.
            if s(pv, &["status", "phase"]) != "Failed" {
                write_obj(store, VOLUMES, &v)?;
            }
            let rt = rt.ok_or("Docker is not connected yet")?;
            match reclaim_docker_volume(queue, rt, pv)? {
                Reclaim::Pending => {}
                Reclaim::Refused(why) => refuse(store, pv, &why)?,
                Reclaim::Done => {
                    put_if_changed(store, VOLUMES, "", name, &pv["metadata"]["uid"], |_| {
                        Some(Change::Delete)
                    })?;
                    log::info!("deleted released volume {name}");
                }
            }
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
            if s(pv, &["status", "phase"]) != "Failed" {
                pv_ctl.record(pv, "", EventType::Warning, event, &message);
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

/// A Docker volume k2d will not remove: the PV fails to delete, as
/// Kubernetes' VolumeFailedDelete, and the volume stays.
fn refuse(store: &Store, pv: &Value, why: &str) -> Result<(), String> {
    let cur = store.get(VOLUMES, "", s(pv, &["metadata", "name"]));
    let Some(cur) = cur.filter(|c| c["metadata"]["uid"] == pv["metadata"]["uid"]) else {
        return Ok(());
    };
    if s(&cur, &["status", "phase"]) == "Failed" {
        return Ok(());
    }
    Recorder { store, source: PV_CONTROLLER, node: "" }.record(
        &cur,
        "",
        EventType::Warning,
        "VolumeFailedDelete",
        why,
    );
    let mut v = (*cur).clone();
    set_phase(&mut v, "Failed", Some(why));
    write_obj(store, VOLUMES, &v).map(|_| ())
}
