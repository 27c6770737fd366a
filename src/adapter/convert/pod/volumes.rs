//! What each pod volume needs before containers start: the files of
//! configMap/secret/downwardAPI/projected volumes computed exactly as the
//! kubelet's volume plugins compute them, and the Docker volumes that back
//! emptyDir (a persistentVolumeClaim's is the storage controller's).

use super::env::{arr, find_container, metadata_field_value, resource_value};
use super::{
    ClaimSource, ConvertError, PodEnv, VolumeAction, emptydir_volume_name, pod_labels, s,
    secret_bytes,
};
use crate::adapter::convert::pod::quantity::Quantity;
use serde_json::Value;
use std::collections::BTreeMap;

/// The files of a projected-type volume: relative path → (content, mode).
pub type Files = BTreeMap<String, (Vec<u8>, u32)>;

/// Kubernetes' default file mode for configMap/secret/downwardAPI/projected (0644).
pub const DEFAULT_MODE: u32 = 0o644;

/// Label on the Docker volume of a persistentVolumeClaim (it outlives pods;
/// set by the storage controller, which creates those volumes).
pub const PVC_LABEL: &str = "k2d.io/persistentvolumeclaim";
/// Label naming the pod volume a Docker volume backs.
pub const VOLUME_LABEL: &str = "k2d.io/volume";

/// One action per entry of `spec.volumes`, in order. Errors read like the
/// kubelet's `FailedMount` events.
pub fn volume_actions(pod: &Value, env: &dyn PodEnv) -> Result<Vec<VolumeAction>, ConvertError> {
    let ns = s(pod, "/metadata/namespace");
    let mut out = Vec::new();
    for vol in arr(pod, "/spec/volumes") {
        let name = s(vol, "/name");
        let fail = |message: String| ConvertError {
            reason: "FailedMount",
            message: format!("MountVolume.SetUp failed for volume {} : {message}", q(name)),
        };
        let projected = |files: Result<Files, String>| -> Result<VolumeAction, ConvertError> {
            let files = files.map_err(fail)?;
            for path in files.keys() {
                check_path(path).map_err(fail)?;
            }
            Ok(VolumeAction::Projected { volume: name.to_string(), files })
        };
        let action = if let Some(src) = vol.get("configMap") {
            projected(configmap_files(src, ns, env, mode(src, "/defaultMode")))?
        } else if let Some(src) = vol.get("secret") {
            projected(secret_files(src, "/secretName", ns, env, mode(src, "/defaultMode")))?
        } else if let Some(src) = vol.get("downwardAPI") {
            projected(downward_files(src, pod, mode(src, "/defaultMode")))?
        } else if let Some(src) = vol.get("projected") {
            projected(projected_files(src, pod, ns, env))?
        } else if let Some(src) = vol.get("emptyDir") {
            let mut labels = pod_labels(pod);
            labels.insert(VOLUME_LABEL.into(), name.into());
            let mut driver_opts = BTreeMap::new();
            match s(src, "/medium") {
                "" => {}
                "Memory" => {
                    // A tmpfs-backed Docker volume, so every container of the pod sees
                    // the same memory filesystem (a per-container tmpfs mount would not).
                    driver_opts.insert("type".into(), "tmpfs".into());
                    driver_opts.insert("device".into(), "tmpfs".into());
                    let size = src
                        .get("sizeLimit")
                        .and_then(Value::as_str)
                        .and_then(Quantity::parse)
                        .map(Quantity::value)
                        .filter(|v| *v > 0);
                    if let Some(size) = size {
                        driver_opts.insert("o".into(), format!("size={size}"));
                    }
                }
                m => return Err(fail(format!("emptyDir medium {m} is not supported by k2d"))),
            }
            VolumeAction::DockerVolume {
                volume: name.into(),
                docker_name: emptydir_volume_name(pod, name),
                labels,
                driver_opts,
            }
        } else if let Some(src) = vol.get("persistentVolumeClaim") {
            let claim = s(src, "/claimName");
            // The claim's bound volume decides whether it can be mounted. Its
            // Docker volume (k2d's provisioner) is the storage controller's
            // to create, with the labels reclaim checks, not the pod's.
            match env.claim_source(ns, claim) {
                Ok(ClaimSource::DockerVolume(_) | ClaimSource::HostPath(_)) => VolumeAction::None,
                Err(why) => return Err(fail(why)),
            }
        } else if vol.get("hostPath").is_some() {
            VolumeAction::None
        } else {
            let kind = vol
                .as_object()
                .and_then(|m| m.keys().find(|k| *k != "name"))
                .map_or("(none)", String::as_str);
            return Err(fail(format!("volume type {kind} is not supported by k2d")));
        };
        out.push(action);
    }
    Ok(out)
}

fn q(v: &str) -> String {
    crate::api::error::go_quote(v)
}

fn mode(src: &Value, ptr: &str) -> u32 {
    src.pointer(ptr).and_then(Value::as_u64).map_or(DEFAULT_MODE, |m| (m & 0o7777) as u32)
}

fn optional(src: &Value) -> bool {
    src.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

/// The atomic writer's rule: files stay inside the volume directory.
fn check_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|c| c == "..")
        || path.starts_with("..");
    if bad {
        return Err(format!("invalid path {}: must be a relative path without '..'", q(path)));
    }
    Ok(())
}

/// `configmap.MakePayload` after the lookup: all keys of `data` and `binaryData`,
/// or only `items` (key → path, per-item mode). A missing map is an empty volume
/// when `optional`; a missing item key is skipped when `optional`.
fn configmap_files(
    src: &Value,
    ns: &str,
    env: &dyn PodEnv,
    default_mode: u32,
) -> Result<Files, String> {
    let name = s(src, "/name");
    let cm = match env.configmap(ns, name) {
        Some(cm) => cm,
        None if optional(src) => return Ok(Files::new()),
        None => return Err(format!("configmap {} not found", q(name))),
    };
    let get = |key: &str| -> Option<Vec<u8>> {
        if let Some(v) = cm.pointer("/data").and_then(|d| d.get(key)).and_then(Value::as_str) {
            return Some(v.as_bytes().to_vec());
        }
        let b64 = cm.pointer("/binaryData").and_then(|d| d.get(key)).and_then(Value::as_str)?;
        decode_b64(b64)
    };
    let mut keys: Vec<String> = Vec::new();
    for field in ["/data", "/binaryData"] {
        if let Some(m) = cm.pointer(field).and_then(Value::as_object) {
            keys.extend(m.keys().cloned());
        }
    }
    payload(src, &keys, get, default_mode, "configmap references non-existent config key")
}

/// `secret.MakePayload` after the lookup (`secretName` for volumes, `name` in projections).
fn secret_files(
    src: &Value,
    name_ptr: &str,
    ns: &str,
    env: &dyn PodEnv,
    default_mode: u32,
) -> Result<Files, String> {
    let name = s(src, name_ptr);
    let secret = match env.secret(ns, name) {
        Some(sec) => sec,
        None if optional(src) => return Ok(Files::new()),
        None => return Err(format!("secret {} not found", q(name))),
    };
    let keys: Vec<String> = secret
        .get("data")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut files = payload(
        src,
        &keys,
        |k| secret_bytes(&secret, k),
        default_mode,
        "references non-existent secret key",
    )?;
    // k2d difference: Secret files are never world-readable, whatever the
    // mode asks (Kubernetes' default 0644 would be). Owner and group keep
    // their bits, so the container's user or group still reads them.
    for (_, mode) in files.values_mut() {
        *mode &= !0o007;
    }
    Ok(files)
}

fn payload(
    src: &Value,
    keys: &[String],
    get: impl Fn(&str) -> Option<Vec<u8>>,
    default_mode: u32,
    missing: &str,
) -> Result<Files, String> {
    let mut files = Files::new();
    let items = arr(src, "/items");
    if items.is_empty() {
        for k in keys {
            if let Some(data) = get(k) {
                files.insert(k.clone(), (data, default_mode));
            }
        }
        return Ok(files);
    }
    for item in items {
        let key = s(item, "/key");
        let Some(data) = get(key) else {
            if optional(src) {
                continue;
            }
            return Err(format!("{missing}: {key}"));
        };
        let m =
            item.get("mode").and_then(Value::as_u64).map_or(default_mode, |m| (m & 0o7777) as u32);
        files.insert(s(item, "/path").to_string(), (data, m));
    }
    Ok(files)
}

/// `downwardapi.CollectData`: metadata fieldRefs and container resourceFieldRefs.
/// Errors of several items are reported together, as Kubernetes aggregates them.
fn downward_files(src: &Value, pod: &Value, default_mode: u32) -> Result<Files, String> {
    let mut files = Files::new();
    let mut errors = Vec::new();
    for item in arr(src, "/items") {
        let path = clean_path(s(item, "/path"));
        let m =
            item.get("mode").and_then(Value::as_u64).map_or(default_mode, |m| (m & 0o7777) as u32);
        let value = if let Some(f) = item.get("fieldRef") {
            metadata_field_value(pod, s(f, "/fieldPath"))
        } else if let Some(r) = item.get("resourceFieldRef") {
            let c = s(r, "/containerName");
            match find_container(pod, c) {
                Some(container) => resource_value(container, s(r, "/resource"), r.get("divisor")),
                None => Err(format!("container {c} not found")),
            }
        } else {
            Ok(String::new())
        };
        match value {
            Ok(v) => {
                files.insert(path, (v.into_bytes(), m));
            }
            Err(e) => errors.push(e),
        }
    }
    aggregate(files, errors)
}

/// Every source of a projected volume merged into one directory, each using the
/// projected volume's `defaultMode`.
fn projected_files(src: &Value, pod: &Value, ns: &str, env: &dyn PodEnv) -> Result<Files, String> {
    let default_mode = mode(src, "/defaultMode");
    let mut files = Files::new();
    let mut errors = Vec::new();
    for source in arr(src, "/sources") {
        let part = if let Some(cm) = source.get("configMap") {
            configmap_files(cm, ns, env, default_mode)
        } else if let Some(sec) = source.get("secret") {
            secret_files(sec, "/name", ns, env, default_mode)
        } else if let Some(d) = source.get("downwardAPI") {
            downward_files(d, pod, default_mode)
        } else {
            // serviceAccountToken and clusterTrustBundle: k2d issues no tokens.
            Ok(Files::new())
        };
        match part {
            Ok(p) => files.extend(p),
            Err(e) => errors.push(e),
        }
    }
    aggregate(files, errors)
}

/// `utilerrors.NewAggregate`: one message, or `[a, b]` for several.
fn aggregate(files: Files, errors: Vec<String>) -> Result<Files, String> {
    match errors.len() {
        0 => Ok(files),
        1 => Err(errors.into_iter().next().unwrap_or_default()),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

/// `filepath.Clean` for relative paths: drops `.` and empty components.
fn clean_path(p: &str) -> String {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    parts.join("/")
}

fn decode_b64(v: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(v).ok()
}
