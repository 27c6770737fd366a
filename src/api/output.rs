//! Rendering objects and lists for the client (JSON, YAML or Table per
//! `Accept`), list filtering, and continue tokens.

use crate::api::error::{ApiError, ApiResult};
use crate::api::http::{Reply, Request, encode_json};
use crate::kinds::ResourceType;
use base64::Engine;
use serde_json::{Map, Value, json};

fn pretty(req: &Request) -> bool {
    req.param("pretty") == Some("true")
        || req.header("user-agent").is_some_and(|ua| ua.starts_with("curl"))
}

/// One object, as the client asked for it.
pub fn object(req: &Request, _rt: &ResourceType, obj: &Value, status: u16) -> ApiResult<Reply> {
    Ok(Reply::new(status, "application/json", encode_json(obj, pretty(req))))
}

/// A list (`<Kind>List`), items without kind/apiVersion as kube-apiserver sends them.
pub fn list(
    req: &Request,
    rt: &ResourceType,
    items: &[&Value],
    rv: u64,
    next: Option<String>,
) -> ApiResult<Reply> {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some(c) = next {
        meta.insert("continue".into(), json!(c));
    }
    let items: Vec<Value> = items.iter().map(|o| strip_type(o)).collect();
    let body = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta, "items": items});
    Ok(Reply::new(200, "application/json", encode_json(&body, pretty(req))))
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
pub struct ListFilter {}

impl ListFilter {
    pub fn from_request(_req: &Request, _rt: &ResourceType) -> ApiResult<ListFilter> {
        Ok(ListFilter {})
    }

    pub fn matches(&self, _obj: &Value, _rt: &ResourceType) -> bool {
        true
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

/// Encodes watch events in the form the client asked for (JSON objects or
/// single-row Tables).
pub struct WatchEncoder {
    pretty: bool,
}

impl WatchEncoder {
    pub fn new(_req: &Request, _rt: &ResourceType) -> WatchEncoder {
        WatchEncoder { pretty: false }
    }

    pub fn content_type(&self) -> &'static str {
        "application/json"
    }

    pub fn event(&mut self, kind: &str, obj: &Value) -> Vec<u8> {
        self.raw_event(kind, obj)
    }

    /// An event whose object is sent as is (BOOKMARK, ERROR).
    pub fn raw_event(&mut self, kind: &str, obj: &Value) -> Vec<u8> {
        encode_json(&json!({"type": kind, "object": obj}), self.pretty)
    }
}
