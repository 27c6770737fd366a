//! Content negotiation: what a read answers with, from the `Accept` header.
//!
//! kubectl asks for a server-side Table with plain JSON as the fallback;
//! client-go asks for protobuf first and JSON second; metadata informers ask for
//! `PartialObjectMetadata`. We walk the clauses in the header's preference order,
//! as apimachinery's `NegotiateMediaTypeOptions` does, and take the first one we
//! can produce. Protobuf we cannot produce, so a protobuf clause is skipped and
//! only a header with nothing else is refused (406).

// `ApiError` is large (it carries Status details); every API function returns
// it, as the brief asks, so the size lint is silenced here rather than boxing.

use crate::api::error::{ApiError, ApiResult, Details};
use crate::api::http::{Request, encode_json};
use crate::kinds::ResourceType;
use serde_json::Value;

pub mod yaml;

/// Version of `meta.k8s.io` a Table or PartialObjectMetadata is produced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaVersion {
    V1,
    V1Beta1,
}

/// The brief's name for the Table's version; same type.
pub type TableVersion = MetaVersion;

impl MetaVersion {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            MetaVersion::V1 => "meta.k8s.io/v1",
            MetaVersion::V1Beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// The serialisation a transformed object is written in (the server allows
/// Tables as YAML too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// What to produce for a GET, LIST or WATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    Table {
        version: TableVersion,
        format: Format,
    },
    /// `list` is true for `as=PartialObjectMetadataList`.
    PartialObjectMetadata {
        version: MetaVersion,
        list: bool,
        format: Format,
    },
}

impl Output {
    pub fn format(&self) -> Format {
        match self {
            Output::Json => Format::Json,
            Output::Yaml => Format::Yaml,
            Output::Table { format, .. } | Output::PartialObjectMetadata { format, .. } => *format,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self.format() {
            Format::Json => "application/json",
            Format::Yaml => "application/yaml",
        }
    }
}

/// One clause of an `Accept` header.
#[derive(Debug, Clone)]
struct Clause {
    ty: String,
    sub: String,
    q: f64,
    params: Vec<(String, String)>,
}

impl Clause {
    fn param(&self, k: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

/// `goautoneg.ParseAccept`: clauses ordered by `q`, then by specificity.
fn parse_accept(header: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or_default();
        let mut ts = range.split('/');
        let ty = ts.next().unwrap_or_default().trim().to_string();
        let sub = match (ts.next(), ts.next()) {
            (None, _) if ty == "*" => "*".to_string(),
            (Some(s), None) => s.trim().to_string(),
            _ => continue,
        };
        let mut c = Clause { ty, sub, q: 1.0, params: Vec::new() };
        for p in pieces {
            let Some((k, v)) = p.split_once('=') else { continue };
            let k = k.trim();
            if k == "q" {
                c.q = v.trim().parse().unwrap_or(0.0);
            } else {
                c.params.push((k.to_string(), v.trim().to_string()));
            }
        }
        out.push(c);
    }
    let specificity = |c: &Clause| match (c.ty.as_str(), c.sub.as_str()) {
        ("*", _) => 0,
        (_, "*") => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(specificity(b).cmp(&specificity(a)))
    });
    out
}

/// The serialisations the server offers, in its order of preference.
const OFFERED: [(&str, &str); 3] =
    [("application", "json"), ("application", "yaml"), ("application", "vnd.kubernetes.protobuf")];

/// The 406 body kube-apiserver sends when no clause can be served.
pub fn not_acceptable() -> ApiError {
    ApiError::not_acceptable(
        "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    )
    .with_details(Details::default())
}

/// Decide the output for an `Accept` header (`None` or empty: JSON).
pub fn negotiate(accept: Option<&str>) -> ApiResult<Output> {
    let header = accept.unwrap_or("").trim();
    if header.is_empty() {
        return Ok(Output::Json);
    }
    for clause in parse_accept(header) {
        for (ty, sub) in OFFERED {
            let matches = (clause.ty == ty && (clause.sub == sub || clause.sub == "*"))
                || (clause.ty == "*" && clause.sub == "*");
            if !matches {
                continue;
            }
            if let Some(out) = accept_clause(&clause, sub) {
                return Ok(out);
            }
        }
    }
    Err(not_acceptable())
}

/// [`negotiate`] on a request's `Accept` header.
pub fn negotiate_request(req: &Request) -> ApiResult<Output> {
    negotiate(req.header("accept"))
}

/// `acceptMediaTypeOptions` + `AllowsMediaTypeTransform` for one offered type.
fn accept_clause(c: &Clause, sub: &str) -> Option<Output> {
    let format = match sub {
        "json" => Format::Json,
        "yaml" => Format::Yaml,
        // We cannot write protobuf: let a later clause decide.
        _ => return None,
    };
    if c.param("stream").is_some_and(|s| !s.is_empty() && s != "watch") {
        return None;
    }
    let (as_, g, v) = (c.param("as"), c.param("g"), c.param("v"));
    if as_.is_none() && g.is_none() && v.is_none() {
        return Some(match format {
            Format::Json => Output::Json,
            Format::Yaml => Output::Yaml,
        });
    }
    if g != Some("meta.k8s.io") {
        return None;
    }
    let version = match v {
        Some("v1") => MetaVersion::V1,
        Some("v1beta1") => MetaVersion::V1Beta1,
        _ => return None,
    };
    match as_ {
        Some("Table") => Some(Output::Table { version, format }),
        Some("PartialObjectMetadata") => {
            Some(Output::PartialObjectMetadata { version, list: false, format })
        }
        Some("PartialObjectMetadataList") => {
            Some(Output::PartialObjectMetadata { version, list: true, format })
        }
        _ => None,
    }
}

/// The server refuses `PartialObjectMetadata` for a list and
/// `PartialObjectMetadataList` for a single object with a 406 (after the
/// request was otherwise served). Call with `is_list` = whether the endpoint
/// answers a list (LIST) or one object (GET, WATCH events).
pub fn check_shape(out: &Output, rt: &ResourceType, is_list: bool) -> ApiResult<()> {
    let Output::PartialObjectMetadata { list, .. } = out else { return Ok(()) };
    let pkg = match rt.group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    if is_list && !list {
        return Err(ApiError::not_acceptable(format!(
            "you requested PartialObjectMetadata, but the requested object is a list (*{pkg}.{}List)",
            rt.kind
        )));
    }
    if !is_list && *list {
        return Err(ApiError::not_acceptable(format!(
            "you requested PartialObjectMetadataList, but the requested object is not a list (*{pkg}.{})",
            rt.kind
        )));
    }
    Ok(())
}

/// kube-apiserver indents JSON for `?pretty=<true>` and for browser and CLI
/// user agents (curl, Wget, Mozilla); an explicit `pretty=false` wins.
pub fn is_pretty(req: &Request) -> bool {
    if let Some(p) = req.param("pretty").filter(|p| !p.is_empty()) {
        return matches!(p, "1" | "t" | "T" | "true" | "TRUE" | "True");
    }
    if req.header("accept").is_some_and(|a| a.split([';', ',']).any(|p| p.trim() == "pretty=1")) {
        return true;
    }
    let ua = req.header("user-agent").unwrap_or("");
    ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
}

/// Serialise an already transformed body (object, list, Table, ...) for
/// `out`: returns the Content-Type and the bytes. JSON follows
/// [`encode_json`]; YAML has its keys sorted, as Go's encoder writes them.
pub fn encode(v: &Value, out: &Output, pretty: bool) -> (&'static str, Vec<u8>) {
    match out.format() {
        Format::Json => ("application/json", encode_json(v, pretty)),
        Format::Yaml => ("application/yaml", encode_yaml(v)),
    }
}

/// YAML as kube-apiserver writes it: sigs.k8s.io/yaml turns the JSON into a
/// Go map (sorted keys) and go-yaml v2 emits it, double-quoting strings that
/// YAML 1.1 would read as another type (`"232"`, timestamps, `"true"`).
/// serde_yaml_ng quotes differently (`'232'`, bare timestamps), so the block
/// style is written here; see [`yaml`].
pub fn encode_yaml(v: &Value) -> Vec<u8> {
    yaml::to_string(v).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KUBECTL_GET: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn table(version: MetaVersion) -> Output {
        Output::Table { version, format: Format::Json }
    }

    #[test]
    fn kubectl_get_gets_a_v1_table() {
        assert_eq!(negotiate(Some(KUBECTL_GET)).unwrap(), table(MetaVersion::V1));
        assert_eq!(
            negotiate(Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io")).unwrap(),
            table(MetaVersion::V1Beta1)
        );
        assert_eq!(
            negotiate(Some("application/json;as=Table;v=v2;g=meta.k8s.io,application/json"))
                .unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(Some("application/yaml;as=Table;v=v1;g=meta.k8s.io")).unwrap(),
            Output::Table { version: MetaVersion::V1, format: Format::Yaml }
        );
    }

    #[test]
    fn plain_types_and_wildcards() {
        assert_eq!(negotiate(None).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("")).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("*/*")).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("*")).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("application/*")).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("application/yaml")).unwrap(), Output::Yaml);
        assert_eq!(negotiate(Some("application/json, */*")).unwrap(), Output::Json);
        assert_eq!(negotiate(Some("application/json;stream=watch")).unwrap(), Output::Json);
        assert_eq!(
            negotiate(Some("application/yaml;q=0.5,application/json")).unwrap(),
            Output::Json
        );
        assert_eq!(negotiate(Some("*/*;q=0.8,application/yaml")).unwrap(), Output::Yaml);
    }

    #[test]
    fn protobuf_falls_through_or_is_refused() {
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf,application/json")).unwrap(),
            Output::Json
        );
        let e = negotiate(Some("application/vnd.kubernetes.protobuf")).unwrap_err();
        assert_eq!(e.code, 406);
        let e = negotiate(Some("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"))
            .unwrap_err();
        assert_eq!(e.code, 406);
    }

    #[test]
    fn not_acceptable_matches_reference() {
        let e = negotiate(Some("application/xml")).unwrap_err();
        let expected =
            std::fs::read_to_string("/work/shared/reference/errors/406-not-acceptable.json")
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        if let Some(expected) = expected {
            assert_eq!(e.to_status(), expected);
        }
        assert_eq!(e.to_status()["details"], json!({}));
        assert_eq!(e.to_status()["reason"], "NotAcceptable");
    }

    #[test]
    fn partial_object_metadata() {
        let single =
            negotiate(Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"))
                .unwrap();
        assert_eq!(
            single,
            Output::PartialObjectMetadata {
                version: MetaVersion::V1,
                list: false,
                format: Format::Json
            }
        );
        let list = negotiate(Some(
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
        ))
        .unwrap();
        assert!(matches!(list, Output::PartialObjectMetadata { list: true, .. }));
        let rt = &crate::kinds::configmap::CONFIGMAPS;
        assert!(check_shape(&list, rt, true).is_ok());
        assert_eq!(
            check_shape(&single, rt, true).unwrap_err().message,
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
        );
        assert_eq!(check_shape(&list, rt, false).unwrap_err().code, 406);
        assert!(check_shape(&Output::Json, rt, true).is_ok());
    }

    fn req(ua: &str, query: &[(&str, &str)]) -> Request {
        Request {
            headers: vec![("user-agent".into(), ua.into())],
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn pretty_rules() {
        assert!(is_pretty(&req("curl/8.5.0", &[])));
        assert!(!is_pretty(&req("kubectl/v1.32.5 (linux/amd64) kubernetes/9894294", &[])));
        assert!(is_pretty(&req("kubectl/v1.32.5", &[("pretty", "true")])));
        assert!(!is_pretty(&req("curl/8.5.0", &[("pretty", "false")])));
    }

    #[test]
    fn yaml_matches_reference() {
        let path = "/work/shared/reference/errors/200-accept-yaml.yaml";
        let Ok(expected) = std::fs::read_to_string(path) else { return };
        let obj: Value = serde_yaml_ng::from_str(&expected).unwrap();
        let (ct, bytes) = encode(&obj, &Output::Yaml, false);
        assert_eq!(ct, "application/yaml");
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn json_encoding_follows_pretty() {
        let v = json!({"a": "<none>"});
        assert_eq!(encode(&v, &Output::Json, false).1, b"{\"a\":\"\\u003cnone\\u003e\"}\n");
        assert_eq!(encode(&v, &table(MetaVersion::V1), true).0, "application/json");
    }
}
