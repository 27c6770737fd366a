//! Request bodies: size limit, JSON, YAML or Kubernetes protobuf, and the decode errors
//! kube-apiserver gives for each.

use crate::api::error::{ApiError, ApiResult};
use crate::api::http::Request;
use crate::api::protobuf;
use serde_json::Value;

/// kube-apiserver's limit on a request body (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Parse a POST/PUT body as JSON or YAML per its Content-Type.
pub fn parse_object(req: &Request, expected_kind: &str) -> ApiResult<Value> {
    let ct = req.header("content-type").unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let unrecognized = |detail: String| {
        let snippet: String = String::from_utf8_lossy(&req.body).chars().take(30).collect();
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {expected_kind}): couldn't get version/kind; json parse error: {detail} ({snippet} ...)"
        ))
    };
    let v: Value = match media.as_str() {
        "application/json" | "" | "*/*" => {
            serde_json::from_slice(&req.body).map_err(|e| unrecognized(e.to_string()))?
        }
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            serde_yaml_ng::from_slice(&req.body).map_err(|e| unrecognized(e.to_string()))?
        }
        protobuf::MEDIA_TYPE => match protobuf::decode(&req.body, expected_kind) {
            Ok(v) => v,
            Err(protobuf::DecodeError::UnknownKind { .. }) => {
                return Err(ApiError::unsupported_media_type(ct));
            }
            Err(e) => {
                return Err(ApiError::bad_request(format!("unable to decode protobuf body: {e}")));
            }
        },
        _ => return Err(ApiError::unsupported_media_type(ct)),
    };
    if !v.is_object() {
        return Err(unrecognized("expected a JSON object".into()));
    }
    Ok(v)
}

/// Parse a JSON (or YAML) body that is an options object (DeleteOptions); an
/// empty body is `None`.
pub fn parse_options(req: &Request) -> ApiResult<Option<Value>> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&req.body)
        .or_else(|_| serde_yaml_ng::from_slice(&req.body))
        .map_err(|e| ApiError::bad_request(format!("couldn't decode request body: {e}")))?;
    Ok(Some(v))
}
