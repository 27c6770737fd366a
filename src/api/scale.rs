//! The `scale` subresource: an `autoscaling/v1` Scale view over any kind whose
//! [`crate::kinds::Behavior::scale_selector`] answers. Writes touch only
//! `spec.replicas`, are tracked in managedFields as subresource `scale`
//! *without a time* (as kube-apiserver records them), and bump `generation`.

use crate::api::Api;
use crate::api::error::{ApiError, ApiResult, Cause};
use crate::api::handlers::write_options;
use crate::api::http::{Reply, Request};
use crate::api::negotiate;
use crate::api::patch::{self, PatchType};
use crate::api::router::Target;
use crate::store::{Change, rv_of};
use serde_json::{Value, json};

/// `GET|PUT|PATCH .../<plural>/<name>/scale`
pub fn handle(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    let name = t.name.clone().unwrap_or_default();
    let ns = if t.rt.namespaced { t.namespace.clone().unwrap_or_default() } else { String::new() };
    let plural = t.rt.qualified_plural();
    let object = match req.method.as_str() {
        "GET" => api
            .store
            .get(t.rt.storage, &ns, &name)
            .ok_or_else(|| ApiError::not_found(&plural, &name))?,
        "PUT" | "PATCH" => {
            let opts = write_options(req)?;
            let ptype = if req.method == "PATCH" {
                let p = patch::patch_type(req.header("content-type"))?;
                if p == PatchType::Apply {
                    return Err(ApiError::unsupported_media_type(
                        req.header("content-type").unwrap_or(""),
                    ));
                }
                Some(p)
            } else {
                None
            };
            let written = api.store.write(t.rt.storage, &ns, &name, opts.dry_run, |cur| {
                let Some(cur) = cur else { return Err(ApiError::not_found(&plural, &name)) };
                let view = scale_view(t, cur);
                let wanted = match ptype {
                    None => crate::api::body::parse_object(req, "Scale")?,
                    Some(p) => patch::patch_object(p, &view, &req.body, &patch::StaticMeta)?,
                };
                let sent_rv =
                    wanted.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
                if ptype.is_none() && !sent_rv.is_empty() && sent_rv != rv_of(cur).to_string() {
                    return Err(ApiError::conflict(
                        &plural,
                        &name,
                        "the object has been modified; please apply your changes to the latest version and try again",
                    ));
                }
                let replicas = match wanted.pointer("/spec/replicas") {
                    None | Some(Value::Null) => 0,
                    Some(v) => v.as_i64().ok_or_else(|| {
                        ApiError::bad_request("Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer")
                    })?,
                };
                if replicas > i64::from(i32::MAX) || replicas < i64::from(i32::MIN) {
                    // What decoding into the typed int32 field answers.
                    return Err(ApiError::bad_request(format!(
                        "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal number {replicas} into Go struct field ScaleSpec.spec.replicas of type int32"
                    )));
                }
                if replicas < 0 {
                    return Err(ApiError::invalid(
                        "Scale",
                        "autoscaling",
                        &name,
                        vec![Cause::new(
                            "FieldValueInvalid",
                            format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                            "spec.replicas",
                        )],
                    ));
                }
                if cur.pointer("/spec/replicas").and_then(Value::as_i64) == Some(replicas) {
                    return Ok(None);
                }
                let mut obj = (**cur).clone();
                obj["spec"]["replicas"] = json!(replicas);
                if let Some(g) = obj["metadata"]["generation"].as_i64() {
                    obj["metadata"]["generation"] = json!(g + 1);
                }
                patch::track_update(
                    Some(cur),
                    &mut obj,
                    &opts.manager,
                    &t.rt.api_version(),
                    None,
                    Some("scale"),
                    &crate::api::schema::KindMeta { rt: t.rt },
                );
                Ok(Some(Change::Put(obj)))
            })?;
            if !opts.dry_run {
                api.after_write(t.rt, &ns, &name);
            }
            match written {
                Some(w) => w.object,
                None => api
                    .store
                    .get(t.rt.storage, &ns, &name)
                    .ok_or_else(|| ApiError::not_found(&plural, &name))?,
            }
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let view = scale_view(t, &object);
    let out = negotiate::negotiate_request(req)?;
    let (ct, bytes) = negotiate::encode(&view, &out, negotiate::is_pretty(req));
    Ok(Reply::new(200, ct, bytes))
}

/// The Scale an object presents.
pub fn scale_view(t: &Target, obj: &Value) -> Value {
    let m = &obj["metadata"];
    let mut meta = serde_json::Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = m.get(k) {
            meta.insert(k.into(), v.clone());
        }
    }
    let mut status =
        json!({"replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0)});
    if let Some(sel) = t.rt.behavior.scale_selector(obj).filter(|s| !s.is_empty()) {
        status["selector"] = json!(sel);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": status,
    })
}
