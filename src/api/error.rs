//! The one error type that crosses the API boundary.
//!
//! Every failure a client can cause ends up as an [`ApiError`], which renders as a
//! Kubernetes `Status` object shaped exactly like kube-apiserver's (see
//! `../shared/reference/errors`). Constructors are named after the Kubernetes
//! `reason` so call sites read like the API conventions.

use serde_json::{Map, Value, json};

/// A `metav1.StatusCause`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Cause {
        Cause { reason: reason.to_string(), message: message.into(), field: field.into() }
    }

    /// `FieldValueInvalid` with the message prefix kube-apiserver uses.
    pub fn invalid(field: &str, value: &str, why: &str) -> Cause {
        Cause::new("FieldValueInvalid", format!("Invalid value: {}: {why}", go_quote(value)), field)
    }

    pub fn required(field: &str) -> Cause {
        Cause::new("FieldValueRequired", "Required value", field)
    }

    pub fn forbidden(field: &str, why: &str) -> Cause {
        Cause::new("FieldValueForbidden", format!("Forbidden: {why}"), field)
    }
}

/// Details of a `Status`. `None` in [`ApiError::details`] means the field is absent
/// (400s have none), `Some(Details::default())` renders as `"details": {}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub uid: Option<String>,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: Option<u64>,
}

/// A failed API request, rendered as a `Status`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    /// Kubernetes `StatusReason`; empty for errors the real server sends without one.
    pub reason: &'static str,
    pub message: String,
    /// Boxed so `ApiResult` stays small on the happy path.
    pub details: Option<Box<Details>>,
    /// Extra fields merged into the Status body (e.g. `metadata.continue` on 410).
    pub metadata: Option<Box<Value>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: None, metadata: None }
    }

    pub fn with_details(mut self, details: Details) -> ApiError {
        self.details = Some(Box::new(details));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for a named object: `configmaps "x" not found`. `resource` is the plural
    /// (with `.group` for non-core groups, as the real server prints it).
    pub fn not_found(resource: &str, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{resource} \"{name}\" not found")).with_details(
            Details {
                name: Some(name.to_string()),
                group: group_of(resource),
                kind: Some(plural_of(resource)),
                ..Default::default()
            },
        )
    }

    /// 404 for a path that names no resource type.
    pub fn unknown_resource() -> ApiError {
        ApiError::new(404, "NotFound", "the server could not find the requested resource")
            .with_details(Details::default())
    }

    pub fn already_exists(resource: &str, name: &str) -> ApiError {
        ApiError::new(409, "AlreadyExists", format!("{resource} \"{name}\" already exists"))
            .with_details(Details {
                name: Some(name.to_string()),
                group: group_of(resource),
                kind: Some(plural_of(resource)),
                ..Default::default()
            })
    }

    /// 409 for an update whose resourceVersion is stale.
    pub fn conflict(resource: &str, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}"),
        )
        .with_details(Details {
            name: Some(name.to_string()),
            group: group_of(resource),
            kind: Some(plural_of(resource)),
            ..Default::default()
        })
    }

    /// 422 with field causes: `ConfigMap "x" is invalid: <field>: <message>, ...`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        let list: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let joined =
            if list.len() == 1 { list[0].clone() } else { format!("[{}]", list.join(", ")) };
        ApiError::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {joined}"))
            .with_details(Details {
                name: Some(name.to_string()),
                group: if group.is_empty() { None } else { Some(group.to_string()) },
                kind: Some(kind.to_string()),
                causes,
                ..Default::default()
            })
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message).with_details(Details::default())
    }

    pub fn not_acceptable(message: impl Into<String>) -> ApiError {
        ApiError::new(406, "NotAcceptable", message)
    }

    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(413, "RequestEntityTooLarge", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> ApiError {
        let _ = content_type;
        ApiError::new(415, "UnsupportedMediaType", "415: Unsupported Media Type")
            .with_details(Details::default())
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The `Status` body for this error.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), self.metadata.as_deref().cloned().unwrap_or_else(|| json!({})));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if !self.reason.is_empty() {
            m.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            let mut dm = Map::new();
            if let Some(n) = &d.name {
                dm.insert("name".into(), json!(n));
            }
            if let Some(g) = &d.group {
                dm.insert("group".into(), json!(g));
            }
            if let Some(k) = &d.kind {
                dm.insert("kind".into(), json!(k));
            }
            if let Some(u) = &d.uid {
                dm.insert("uid".into(), json!(u));
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                dm.insert("causes".into(), Value::Array(causes));
            }
            if let Some(r) = d.retry_after_seconds {
                dm.insert("retryAfterSeconds".into(), json!(r));
            }
            m.insert("details".into(), Value::Object(dm));
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// `configmaps` for `configmaps`, `deployments` for `deployments.apps`.
fn plural_of(resource: &str) -> String {
    resource.split_once('.').map(|(p, _)| p).unwrap_or(resource).to_string()
}

fn group_of(resource: &str) -> Option<String> {
    resource.split_once('.').map(|(_, g)| g.to_string())
}

/// Quote a string the way Go's `%q` does for the printable ASCII we deal with.
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A success `Status` (e.g. the answer to deleting a ConfigMap).
pub fn success_status(details: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("Status"));
    m.insert("apiVersion".into(), json!("v1"));
    m.insert("metadata".into(), json!({}));
    m.insert("status".into(), json!("Success"));
    if let Some(d) = details {
        m.insert("details".into(), d);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_reference_shape() {
        let s = ApiError::not_found("pods", "does-not-exist").to_status();
        assert_eq!(s["message"], "pods \"does-not-exist\" not found");
        assert_eq!(s["details"], json!({"name": "does-not-exist", "kind": "pods"}));
        assert_eq!(s["code"], 404);
    }

    #[test]
    fn bad_request_has_no_details() {
        let s = ApiError::bad_request("x").to_status();
        assert!(s.get("details").is_none());
    }
}
