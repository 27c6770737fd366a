//! Volumes: phases from their claims, reclaiming released ones (Delete
//! removes the PV and its Docker volume, Retain keeps both), pv-protection,
//! and the Docker volumes of k2d's provisioner.

use super::*;

pub(super) fn create_docker_volume(
    rt: &PodRuntime,
    claim: &Value,
    pv_name: &str,
) -> Result<(), String> {
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
pub(super) fn delete_docker_volume(rt: &PodRuntime, pv: &Value) -> Result<(), String> {
    let handle = s(pv, &["spec", "csi", "volumeHandle"]);
    if handle.is_empty() {
        return Ok(());
    }
    match rt.docker().delete(&format!("/volumes/{handle}")) {
        Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
        Err(e) => Err(format!("removing volume {handle}: {e}")),
    }
}

pub(super) fn provisioned_by_k2d(pv: &Value) -> bool {
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
