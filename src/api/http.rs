//! Transport-neutral request and reply types, so handlers and their tests need
//! no live connection.

use serde_json::Value;

/// An incoming API request, already read from the connection.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// Path without the query string, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A query flag such as `?verbose` or `watch=true`.
    pub fn flag(&self, name: &str) -> bool {
        self.param(name).is_some_and(|v| v.is_empty() || v == "true" || v == "1")
    }
}

/// A complete (non-streaming) reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", body.as_bytes().to_vec())
            .header("X-Content-Type-Options", "nosniff")
    }

    /// JSON with kube-apiserver's encoding: compact plus `\n`, `<>&` escaped.
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply::new(status, "application/json", encode_json(v, false))
    }

    /// Re-encode a JSON body indented, as kube-apiserver sends `/version`.
    pub fn body_pretty(mut self) -> Reply {
        if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
            self.body = encode_json(&v, true);
        }
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn get_header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str())
    }
}

/// Serialise as kube-apiserver does: compact + newline (or 2-space indented
/// without a newline when `pretty`), with `<`, `>`, `&` escaped as `\u003c` etc.
pub fn encode_json(v: &Value, pretty: bool) -> Vec<u8> {
    let s = if pretty {
        serde_json::to_string_pretty(v).unwrap_or_default()
    } else {
        let mut s = serde_json::to_string(v).unwrap_or_default();
        s.push('\n');
        s
    };
    if !s.contains(['<', '>', '&']) {
        return s.into_bytes();
    }
    // These characters only occur inside JSON strings, so a plain replace is exact.
    s.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026").into_bytes()
}
