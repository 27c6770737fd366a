//! Rendering objects and lists for the client (JSON, YAML or Table per
//! `Accept`), list filtering, and continue tokens.

use crate::api::error::{ApiError, ApiResult};
use crate::api::http::{Reply, Request};
use crate::api::negotiate::{self, Output};
use crate::api::selector::{FieldSelector, LabelSelector};
use crate::api::table::{self, IncludeObject, TableWatch};
use crate::kinds::ResourceType;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::time::SystemTime;

/// One object, as the client asked for it (JSON, YAML, Table or
/// PartialObjectMetadata).
pub fn object(req: &Request, rt: &ResourceType, stored: &Value, status: u16) -> ApiResult<Reply> {
    let obj = &*rt.behavior.present(stored);
    let out = negotiate::negotiate_request(req)?;
    negotiate::check_shape(&out, rt, false)?;
    let body = match out {
        Output::Table { version, .. } => table::table(
            rt,
            &[obj],
            IncludeObject::from_request(req)?,
            version,
            None,
            SystemTime::now(),
        ),
        Output::PartialObjectMetadata { version, .. } => {
            table::partial_object_metadata(obj, version)
        }
        Output::Json | Output::Yaml => obj.clone(),
    };
    Ok(encoded(req, &out, &body, status))
}

fn encoded(req: &Request, out: &Output, body: &Value, status: u16) -> Reply {
    let (ct, bytes) = negotiate::encode(body, out, negotiate::is_pretty(req));
    Reply::new(status, ct, bytes)
}

/// A list (`<Kind>List`), items without kind/apiVersion as kube-apiserver sends them.
pub fn list(
    req: &Request,
    rt: &ResourceType,
    items: &[&Value],
    rv: u64,
    next: Option<String>,
) -> ApiResult<Reply> {
    let out = negotiate::negotiate_request(req)?;
    negotiate::check_shape(&out, rt, true)?;
    let views: Vec<std::borrow::Cow<Value>> =
        items.iter().map(|o| rt.behavior.present(o)).collect();
    let items: Vec<&Value> = views.iter().map(|c| &**c).collect();
    let items = &items[..];
    let body = match out {
        Output::Table { version, .. } => table::table(
            rt,
            items,
            IncludeObject::from_request(req)?,
            version,
            Some((rv.to_string(), next)),
            SystemTime::now(),
        ),
        Output::PartialObjectMetadata { version, .. } => {
            table::partial_object_metadata_list(items, version, &rv.to_string(), next.as_deref())
        }
        Output::Json | Output::Yaml => {
            let mut meta = Map::new();
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            if let Some(c) = next {
                meta.insert("continue".into(), json!(c));
            }
            let items: Vec<Value> = items.iter().map(|o| strip_type(o)).collect();
            json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta, "items": items})
        }
    };
    Ok(encoded(req, &out, &body, 200))
}

pub fn strip_type(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
    o
}

/// Label and field selectors of a list, watch or deletecollection.
pub struct ListFilter {
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl ListFilter {
    pub fn from_request(req: &Request, rt: &ResourceType) -> ApiResult<ListFilter> {
        let labels = match req.param("labelSelector") {
            Some(s) if !s.trim().is_empty() => Some(LabelSelector::parse(s)?),
            _ => None,
        };
        let fields = match req.param("fieldSelector") {
            Some(s) if !s.trim().is_empty() => {
                let f = FieldSelector::parse(s)?;
                f.validate_for(rt)?;
                Some(f)
            }
            _ => None,
        };
        Ok(ListFilter { labels, fields })
    }

    /// Match a stored object, as the resource presents it.
    pub fn matches(&self, stored: &Value, rt: &ResourceType) -> bool {
        if self.labels.is_none() && self.fields.is_none() {
            return true;
        }
        let obj = &*rt.behavior.present(stored);
        self.labels.as_ref().is_none_or(|l| l.matches_object(obj))
            && self.fields.as_ref().is_none_or(|f| f.matches(obj, rt))
    }
}

/// kube-apiserver's continue token: unpadded base64url of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"<ns>/<name>\u0000"}`.
pub fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let start = if ns.is_empty() { format!("{name}\u{0}") } else { format!("{ns}/{name}\u{0}") };
    let body = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The (namespace, name) key to continue after.
pub fn decode_continue(tok: &str) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::bad_request(
            "invalid continue token: continue key is not valid: the token could not be decoded",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tok.trim_end_matches('='))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad());
    }
    let start = v["start"].as_str().ok_or_else(bad)?.trim_end_matches('\u{0}');
    Ok(match start.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (String::new(), start.to_string()),
    })
}

/// Encodes watch events in the form the client asked for (JSON objects or
/// single-row Tables).
pub struct WatchEncoder {
    rt: &'static ResourceType,
    out: Output,
    table: Option<TableWatch>,
}

impl WatchEncoder {
    pub fn new(req: &Request, rt: &'static ResourceType) -> ApiResult<WatchEncoder> {
        let out = negotiate::negotiate_request(req)?;
        let table = match out {
            Output::Table { version, .. } => {
                Some(TableWatch::new(rt, IncludeObject::from_request(req)?, version))
            }
            _ => None,
        };
        Ok(WatchEncoder { rt, out, table })
    }

    pub fn content_type(&self) -> &'static str {
        self.out.content_type()
    }

    /// An ADDED/MODIFIED/DELETED event.
    pub fn event(&mut self, kind: &str, stored: &Value) -> Vec<u8> {
        let view = self.rt.behavior.present(stored);
        let obj = &*view;
        let obj = match (&mut self.table, self.out) {
            (Some(t), _) => t.event_object(obj, SystemTime::now()),
            (None, Output::PartialObjectMetadata { version, .. }) => {
                table::partial_object_metadata(obj, version)
            }
            _ => obj.clone(),
        };
        self.raw_event(kind, &obj)
    }

    /// An event whose object is sent as is (BOOKMARK, ERROR). Watch streams
    /// are never pretty-printed.
    pub fn raw_event(&mut self, kind: &str, obj: &Value) -> Vec<u8> {
        negotiate::encode(&json!({"type": kind, "object": obj}), &self.out, false).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_round_trip() {
        let t = encode_continue(42, "demo", "b");
        assert_eq!(decode_continue(&t).unwrap(), ("demo".into(), "b".into()));
        assert!(decode_continue("!!!").is_err());
    }
}
