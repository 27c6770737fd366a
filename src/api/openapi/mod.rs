//! `/openapi/v3` (index + one document per group-version) and `/openapi/v2`,
//! generated from the kinds registry so they describe exactly what k2d serves.
//!
//! kubectl depends on these more than it looks: `apply`/`create` decide whether
//! the server supports server-side field validation by finding `fieldValidation`
//! among the PATCH parameters of the kind's operation in the v3 document, client
//! side strategic merge finds patch strategies in `components.schemas`, and
//! `explain` renders the schemas. Documents are built once, kept as bytes only
//! (the `serde_json::Value` trees are dropped), and served with the real
//! server's caching headers: the index hands out `?hash=` URLs that are cached
//! as immutable, so a document's bytes must never change under its hash.

mod defs;
mod k8s_ext;
mod paths;
mod proto;

pub(crate) use defs::{Defs, REF_PREFIX, generate, ref_name};

use crate::api::http::{Reply, Request};
use crate::kinds::ResourceType;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `info.version` of the documents: the Kubernetes minor whose types k2d serves
/// (k8s-openapi's `v1_33` feature).
pub const INFO_VERSION: &str = "1.33";

const V3_JSON: &str = "application/json";
/// The protobuf media types of `/openapi/v2`: client-go sends the `@` form
/// (kubectl 1.20 through 1.28 at least); kube-openapi also accepts the others.
const PROTO_V2: [&str; 3] = [
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    "application/com.github.proto-openapiv2.v2.v2.0.0+protobuf",
];
const ONE_YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// One served document.
struct Doc {
    /// `api/v1`, `apis/apps/v1`, ... (the index key); `v2` for Swagger.
    key: String,
    /// Uppercase hex SHA-512 of `bytes`.
    hash: String,
    bytes: Vec<u8>,
}

impl Doc {
    fn new(key: String, bytes: Vec<u8>) -> Doc {
        Doc { key, hash: sha512_hex(&bytes), bytes }
    }

    fn etag(&self) -> String {
        format!("\"{}\"", self.hash)
    }
}

/// The generated OpenAPI documents, ready to serve.
pub struct OpenApi {
    index: Vec<u8>,
    /// v3 documents sorted by key.
    docs: Vec<Doc>,
    v2: Doc,
    /// The same Swagger document as gnostic protobuf, for client-go.
    v2_proto: Doc,
    last_modified: String,
}

impl OpenApi {
    /// Generate every document for `registry`. Takes a few tens of milliseconds
    /// (see the module tests); [`global`] defers it to the first request.
    pub fn build(registry: &[&ResourceType]) -> OpenApi {
        let defs = generate(registry);
        let mut gvs: BTreeMap<(&str, &str), Vec<(&ResourceType, &str)>> = BTreeMap::new();
        for (rt, root) in registry.iter().zip(&defs.roots) {
            gvs.entry((rt.group, rt.version)).or_default().push((rt, root.as_str()));
        }

        let mut docs = Vec::new();
        let mut v2_paths = Map::new();
        // Discovery documents first: `api`, `apis`, `apis/<group>`, `version`.
        let mut discovery = vec![
            (
                "api".to_string(),
                paths::discovery_get(
                    "/api/",
                    "core",
                    "getCoreAPIVersions",
                    "get available API versions",
                    "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions",
                ),
            ),
            (
                "apis".to_string(),
                paths::discovery_get(
                    "/apis/",
                    "apis",
                    "getAPIVersions",
                    "get available API versions",
                    "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList",
                ),
            ),
            (
                "version".to_string(),
                paths::discovery_get(
                    "/version/",
                    "version",
                    "getCodeVersion",
                    "get the version information for this server",
                    "io.k8s.apimachinery.pkg.version.Info",
                ),
            ),
        ];
        let mut groups: Vec<&str> = gvs.keys().map(|(g, _)| *g).filter(|g| !g.is_empty()).collect();
        groups.dedup();
        for g in groups {
            discovery.push((
                format!("apis/{g}"),
                paths::discovery_get(
                    &format!("/apis/{g}/"),
                    &paths::group_tag(g),
                    &format!("get{}APIGroup", paths::group_id(g)),
                    "get information of a group",
                    "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup",
                ),
            ));
        }
        for (key, (path, v3, v2)) in discovery {
            let mut p = Map::new();
            p.insert(path.clone(), v3);
            docs.push(Doc::new(key, v3_document(Value::Object(p), &defs)));
            v2_paths.insert(path, v2);
        }

        for ((group, version), members) in &gvs {
            let p = paths::v3_paths(group, version, members, &defs);
            let key = paths::gv_prefix(group, version).trim_start_matches('/').to_string();
            docs.push(Doc::new(key, v3_document(p, &defs)));
            paths::v2_paths(group, version, members, &defs, &mut v2_paths);
        }
        docs.sort_by(|a, b| a.key.cmp(&b.key));

        let v2_value = v2_document(v2_paths, &defs);
        let v2 = Doc::new("v2".into(), serde_json::to_vec(&v2_value).unwrap_or_default());
        let v2_proto = Doc::new("v2".into(), proto::encode_document(&v2_value));
        drop(v2_value);
        let mut index = Map::new();
        for d in &docs {
            index.insert(
                d.key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{}?hash={}", d.key, d.hash)}),
            );
        }
        let index = serde_json::to_vec(&json!({"paths": index})).unwrap_or_default();
        OpenApi { index, docs, v2, v2_proto, last_modified: http_date(SystemTime::now(), "GMT") }
    }

    /// Serve a request under `/openapi/`; `None` for any other path.
    pub fn handle(&self, req: &Request) -> Option<Reply> {
        let rest = req.path.strip_prefix("/openapi/")?;
        Some(match rest {
            "v2" => self.serve_v2(req),
            "v3" | "v3/" => Reply::new(200, "text/plain; charset=utf-8", self.index.clone())
                .header("Cache-Control", "no-cache, private")
                .header("Last-Modified", &self.last_modified),
            _ => match rest.strip_prefix("v3/").and_then(|k| self.doc(k)) {
                Some(doc) => self.serve_v3(doc, req),
                None => not_found(),
            },
        })
    }

    fn doc(&self, key: &str) -> Option<&Doc> {
        self.docs.binary_search_by(|d| d.key.as_str().cmp(key)).ok().map(|i| &self.docs[i])
    }

    fn serve_v3(&self, doc: &Doc, req: &Request) -> Reply {
        let etag = doc.etag();
        let redirect = req.param("hash").filter(|h| *h != doc.hash).is_some();
        if redirect {
            // A stale hash: the client's index is older than this document.
            return Reply::new(301, V3_JSON, Vec::new())
                .header("Cache-Control", "no-cache, private")
                .header("Etag", &etag)
                .header("Location", &format!("/openapi/v3/{}?hash={}", doc.key, doc.hash))
                .header("Vary", "Accept");
        }
        if !accepts(req, &[V3_JSON, "application/*"]) {
            return not_acceptable();
        }
        let reply = if req.param("hash").is_some() {
            Reply::new(200, V3_JSON, Vec::new())
                .header("Cache-Control", "public, immutable")
                .header("Expires", &http_date(SystemTime::now() + ONE_YEAR, "UTC"))
        } else {
            Reply::new(200, V3_JSON, Vec::new()).header("Cache-Control", "no-cache, private")
        };
        self.with_body(reply, doc, req).header("Vary", "Accept")
    }

    fn serve_v2(&self, req: &Request) -> Reply {
        let proto = req.header("accept").and_then(|a| {
            a.split(',')
                .map(|t| t.split(';').next().unwrap_or("").trim())
                .find_map(|m| PROTO_V2.iter().find(|p| p.eq_ignore_ascii_case(m)))
        });
        // Answered with the dot form whatever was asked: `@` is not valid in a
        // media type and client-go's Content-Type parser rejects it.
        let (doc, content_type) = if proto.is_some() {
            (&self.v2_proto, PROTO_V2[1])
        } else if accepts(req, &["application/json", "application/*"]) {
            (&self.v2, "application/json")
        } else {
            return not_acceptable();
        };
        let reply =
            Reply::new(200, content_type, Vec::new()).header("Cache-Control", "no-cache, private");
        self.with_body(reply, doc, req).header("Vary", "Accept")
    }

    /// Body, ETag and Last-Modified, or a 304 when the client has these bytes.
    fn with_body(&self, mut reply: Reply, doc: &Doc, req: &Request) -> Reply {
        let etag = doc.etag();
        let fresh =
            req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        if fresh {
            reply.status = 304;
        } else {
            reply.body = doc.bytes.clone();
            reply = reply.header("Accept-Ranges", "bytes");
        }
        reply.header("Etag", &etag).header("Last-Modified", &self.last_modified)
    }

    #[cfg(test)]
    /// The `/openapi/v3` index bytes.
    pub fn index(&self) -> &[u8] {
        &self.index
    }

    #[cfg(test)]
    /// A v3 document by index key (`api/v1`, `apis/events.k8s.io/v1`).
    pub fn document(&self, key: &str) -> Option<&[u8]> {
        self.doc(key).map(|d| d.bytes.as_slice())
    }

    #[cfg(test)]
    /// The Swagger 2.0 document.
    pub fn v2(&self) -> &[u8] {
        &self.v2.bytes
    }

    #[cfg(test)]
    /// The Swagger 2.0 document as gnostic protobuf.
    pub fn v2_protobuf(&self) -> &[u8] {
        &self.v2_proto.bytes
    }

    #[cfg(test)]
    /// Total bytes held (index + documents), for resource accounting.
    pub fn size(&self) -> usize {
        self.index.len()
            + self.v2.bytes.len()
            + self.v2_proto.bytes.len()
            + self.docs.iter().map(|d| d.bytes.len()).sum::<usize>()
    }
}

/// The documents for [`crate::kinds::registry`], generated on first use so
/// that startup does not pay for them.
pub fn global() -> &'static OpenApi {
    static API: OnceLock<OpenApi> = OnceLock::new();
    API.get_or_init(|| OpenApi::build(crate::kinds::registry()))
}

fn not_found() -> Reply {
    Reply::text(404, "404 page not found\n").header("Cache-Control", "no-cache, private")
}

fn not_acceptable() -> Reply {
    Reply::text(406, "406 Not Acceptable\n").header("Cache-Control", "no-cache, private")
}

/// Whether the request's `Accept` admits JSON: absent, `*/*`, or one of `types`.
fn accepts(req: &Request, types: &[&str]) -> bool {
    let Some(accept) = req.header("accept").filter(|a| !a.trim().is_empty()) else { return true };
    accept.split(',').any(|t| {
        let media = t.split(';').next().unwrap_or("").trim();
        media == "*/*" || types.iter().any(|x| media.eq_ignore_ascii_case(x))
    })
}

/// An OpenAPI 3.0 document: `paths` plus the schemas they reach.
fn v3_document(paths: Value, defs: &Defs) -> Vec<u8> {
    let mut refs = Vec::new();
    defs::collect_refs(&paths, &mut refs);
    let schemas: Map<String, Value> = defs
        .closure(refs)
        .into_iter()
        .map(|(name, schema)| {
            let mut s = schema.clone();
            v3_form(name, &mut s);
            (name.to_string(), s)
        })
        .collect();
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": INFO_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {
                "type": "apiKey", "description": "Bearer Token authentication",
                "name": "authorization", "in": "header",
            }},
        },
    });
    // Kubernetes' encoder: compact, `<>&` escaped, no trailing newline.
    let mut bytes = crate::api::http::encode_json(&doc, false);
    bytes.pop();
    bytes
}

/// A definition as Kubernetes writes it in OpenAPI v3.
fn v3_form(name: &str, s: &mut Value) {
    wrap_ref_siblings(s);
    let alternatives = match name {
        defs::QUANTITY => json!([{"type": "string"}, {"type": "number"}]),
        defs::INT_OR_STRING => json!([{"type": "integer"}, {"type": "string"}]),
        _ => return,
    };
    if let Some(m) = s.as_object_mut() {
        m.remove("type");
        m.insert("oneOf".into(), alternatives);
    }
}

/// OpenAPI 3.0 ignores the siblings of a `$ref`, so Kubernetes moves the ref
/// into `allOf` to keep field descriptions (what `kubectl explain` prints).
fn wrap_ref_siblings(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.len() > 1
                && let Some(r) = m.remove("$ref")
            {
                m.insert("allOf".into(), json!([{"$ref": r}]));
            }
            m.values_mut().for_each(wrap_ref_siblings);
        }
        Value::Array(a) => a.iter_mut().for_each(wrap_ref_siblings),
        _ => {}
    }
}

/// The Swagger 2.0 document: all paths, the definitions they reach.
fn v2_document(paths: Map<String, Value>, defs: &Defs) -> Value {
    let paths = Value::Object(paths);
    let mut refs = Vec::new();
    defs::collect_refs(&paths, &mut refs);
    // Paths were rendered with v2 refs already; collect those names too.
    collect_v2_refs(&paths, &mut refs);
    let definitions: Map<String, Value> = defs
        .closure(refs)
        .into_iter()
        .map(|(name, schema)| {
            let mut s = schema.clone();
            to_v2_refs(&mut s);
            (name.to_string(), s)
        })
        .collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": INFO_VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {
            "description": "Bearer Token authentication", "type": "apiKey",
            "name": "authorization", "in": "header",
        }},
        "security": [{"BearerToken": []}],
    })
}

fn collect_v2_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let ("$ref", Value::String(r)) = (k.as_str(), x) {
                    if let Some(n) = r.strip_prefix("#/definitions/") {
                        out.push(n);
                    }
                } else {
                    collect_v2_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_v2_refs(x, out)),
        _ => {}
    }
}

fn to_v2_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(r) if k == "$ref" => {
                        if let Some(n) = r.strip_prefix(REF_PREFIX) {
                            *r = format!("#/definitions/{n}");
                        }
                    }
                    _ => to_v2_refs(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(to_v2_refs),
        _ => {}
    }
}

/// Uppercase hex SHA-512, kube-apiserver's hash for OpenAPI and discovery.
pub fn sha512_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let digest = Sha512::digest(bytes);
    let mut s = String::with_capacity(128);
    for b in digest.iter() {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// An IMF-fixdate (`Thu, 26 Nov 2026 07:14:46 GMT`). kube-apiserver writes
/// `Expires` with the zone `UTC`, so the zone is a parameter.
fn http_date(t: SystemTime, zone: &str) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {zone}",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests;
