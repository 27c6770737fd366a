//! The binder's pure decisions: which volume serves a claim, what a
//! provisioned volume looks like, and both sides of a binding.

use super::*;

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

pub(super) fn quantity(v: &Value, path: &[&str]) -> Option<i64> {
    str_at(v, path).and_then(Quantity::parse).map(Quantity::value)
}

pub(super) fn modes(v: &Value) -> Vec<&str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

/// Whether `labels` satisfy the claim's `spec.selector` (matchLabels and
/// In/NotIn/Exists/DoesNotExist expressions).
pub(super) fn selector_matches(selector: &Value, labels: &Value) -> bool {
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
pub(super) fn refers_to(pv: &Value, claim: &Value) -> bool {
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

/// kube's `checkVolumeSatisfyClaim`: why a free volume a claim names cannot
/// serve it.
pub fn unsatisfied(pv: &Value, claim: &Value) -> Option<&'static str> {
    let request = quantity(claim, &["spec", "resources", "requests", "storage"]).unwrap_or(0);
    if quantity(pv, &["spec", "capacity", "storage"]).unwrap_or(0) < request {
        return Some("requested PV is too small");
    }
    if volume_class(pv) != claim_class(claim) {
        return Some("storageClassName does not match");
    }
    let mode = |v: &Value| str_at(v, &["spec", "volumeMode"]).unwrap_or("Filesystem").to_string();
    if mode(pv) != mode(claim) {
        return Some("incompatible volumeMode");
    }
    let offered = modes(&pv["spec"]["accessModes"]);
    if !modes(&claim["spec"]["accessModes"]).iter().all(|m| offered.contains(m)) {
        return Some("incompatible accessMode");
    }
    None
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

pub(super) fn claim_ref(claim: &Value) -> Value {
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

pub(super) fn annotate(obj: &mut Value, key: &str, value: &str) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

pub(super) fn set_phase(pv: &mut Value, phase: &str, message: Option<&str>) {
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
