//! PATCH semantics and server-side field management, as pure functions over JSON.
//!
//! kube-apiserver accepts exactly four patch media types; each lives in its own module:
//! [`json`] (RFC 6902 JSON patch and RFC 7386 merge patch), [`strategic`] (the Kubernetes
//! strategic merge patch kubectl sends for `apply`, `edit`, `patch`, `label`...), and
//! [`apply`] (server-side apply). [`managed`] keeps `metadata.managedFields` honest for
//! every write, on top of the field sets of [`fieldset`].
//!
//! None of this touches storage: the handlers fetch the live object, call in here, then
//! validate and store the result.

pub mod apply;
pub mod fieldset;
pub mod json;
pub mod managed;
pub mod strategic;

use serde_json::Value;

use crate::api::error::{ApiError, ApiResult, Cause, Details};

pub use apply::{apply_to, parse_applied};
pub use managed::track_update;

/// The four PATCH flavours kube-apiserver understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply; kubectl sends JSON, which is YAML).
    Apply,
}

/// The patch type named by a request's `Content-Type`. Parameters (`; charset=utf-8`) are
/// ignored; anything else, even plain `application/json`, is the server's bare 415.
pub fn patch_type(content_type: Option<&str>) -> ApiResult<PatchType> {
    let raw = content_type.unwrap_or("");
    let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" => Ok(PatchType::Apply),
        _ => Err(ApiError::unsupported_media_type(raw)),
    }
}

/// Applies a JSON, merge or strategic patch body to `original`. Server-side apply needs a
/// field manager and goes through [`apply()`] instead (this returns 500 for it, a wiring bug).
pub fn patch_object(
    kind: PatchType,
    original: &Value,
    body: &[u8],
    meta: &dyn SchemaMeta,
) -> ApiResult<Value> {
    match kind {
        PatchType::Json => json::json_patch(original, body),
        PatchType::Merge => json::merge_patch(original, body),
        PatchType::Strategic => strategic::strategic_patch(original, body, meta),
        PatchType::Apply => Err(ApiError::internal("apply patches go through patch::apply")),
    }
}

/// The 422 kube-apiserver answers an apply patch without `?fieldManager=`.
pub fn missing_field_manager() -> ApiError {
    let cause = Cause::new(
        "FieldValueRequired",
        "Required value: is required for apply patch",
        "fieldManager",
    );
    ApiError::new(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
    )
    .with_details(Details {
        group: Some("meta.k8s.io".into()),
        kind: Some("PatchOptions".into()),
        causes: vec![cause],
        ..Default::default()
    })
}

/// Patch/apply metadata of one field, from the kind's OpenAPI schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldMeta {
    /// `x-kubernetes-patch-merge-key`: strategic merge patch matches list items on it.
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-patch-strategy` split on ',' (`merge`, `replace`, `retainKeys`).
    pub patch_strategy: Vec<String>,
    /// `x-kubernetes-list-type`: `atomic` | `set` | `map`.
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type` (`atomic` | `granular`). For a list field this describes
    /// its *items* (e.g. `imagePullSecrets` items are atomic `LocalObjectReference`s),
    /// because list items add no path segment.
    pub map_type: Option<String>,
    /// Defaults of `list_map_keys` fields (`protocol: TCP` for ports): structured-merge-diff
    /// fills a missing key from the schema default, which is why an applied port without
    /// protocol is tracked as `k:{"containerPort":80,"protocol":"TCP"}`.
    pub list_map_key_defaults: Vec<(String, Value)>,
    /// The field is present in a Go zero value of its parent: a non-pointer struct (schema
    /// `default: {}`) or a required list (`containers`). Creating one is then not "adding"
    /// it, which decides whether a managedFields entry gets a `"."` for it (`f:spec` and
    /// `f:containers` never have one, `f:labels` and `f:volumes` do).
    pub default_empty: bool,
}

impl FieldMeta {
    fn has_strategy(&self, s: &str) -> bool {
        self.patch_strategy.iter().any(|x| x == s)
    }
}

/// Where patch and apply code learns how a field merges.
pub trait SchemaMeta {
    /// `path` is field names from the object root; list items add no segment.
    fn field(&self, path: &[&str]) -> FieldMeta;
}

/// A built-in table of the well-known Kubernetes merge keys and list types, matched on the
/// last path segments. Good enough for the built-in kinds k2d serves until a schema-backed
/// [`SchemaMeta`] is wired in; also what the tests use.
#[derive(Debug, Clone, Copy, Default)]
pub struct StaticMeta;

impl StaticMeta {
    fn keyed(key: &str, keys: &[&str]) -> FieldMeta {
        let list_map_key_defaults = if keys.contains(&"protocol") {
            vec![("protocol".to_string(), Value::String("TCP".into()))]
        } else {
            Vec::new()
        };
        FieldMeta {
            list_map_key_defaults,
            patch_merge_key: Some(key.to_string()),
            patch_strategy: vec!["merge".into()],
            list_type: Some("map".into()),
            list_map_keys: keys.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn atomic_list() -> FieldMeta {
        FieldMeta { list_type: Some("atomic".into()), ..Default::default() }
    }

    fn atomic_map() -> FieldMeta {
        FieldMeta { map_type: Some("atomic".into()), ..Default::default() }
    }
}

impl SchemaMeta for StaticMeta {
    fn field(&self, path: &[&str]) -> FieldMeta {
        let last = path.last().copied().unwrap_or("");
        let parent = if path.len() >= 2 { path[path.len() - 2] } else { "" };
        let in_container = path
            .iter()
            .any(|s| matches!(*s, "containers" | "initContainers" | "ephemeralContainers"))
            && parent != "spec";
        match last {
            "containers" if parent == "spec" => {
                FieldMeta { default_empty: true, ..StaticMeta::keyed("name", &["name"]) }
            }
            "initContainers" | "ephemeralContainers" if parent == "spec" => {
                StaticMeta::keyed("name", &["name"])
            }
            "env" if in_container => StaticMeta::keyed("name", &["name"]),
            "ports" if in_container => {
                StaticMeta::keyed("containerPort", &["containerPort", "protocol"])
            }
            // Service ports.
            "ports" if path == ["spec", "ports"] => {
                StaticMeta::keyed("port", &["port", "protocol"])
            }
            "volumeMounts" if in_container => StaticMeta::keyed("mountPath", &["mountPath"]),
            "volumeDevices" if in_container => StaticMeta::keyed("devicePath", &["devicePath"]),
            "resizePolicy" if in_container => {
                FieldMeta { list_type: Some("atomic".into()), ..Default::default() }
            }
            "volumes" if parent == "spec" => {
                let mut m = StaticMeta::keyed("name", &["name"]);
                m.patch_strategy.push("retainKeys".into());
                m
            }
            "imagePullSecrets" => {
                let mut m = StaticMeta::keyed("name", &["name"]);
                m.map_type = Some("atomic".into());
                m
            }
            "hostAliases" => StaticMeta::keyed("ip", &["ip"]),
            "topologySpreadConstraints" => {
                StaticMeta::keyed("topologyKey", &["topologyKey", "whenUnsatisfiable"])
            }
            "resourceClaims" if parent == "spec" => StaticMeta::keyed("name", &["name"]),
            "schedulingGates" => StaticMeta::keyed("name", &["name"]),
            "conditions" => StaticMeta::keyed("type", &["type"]),
            "ownerReferences" if parent == "metadata" => StaticMeta::keyed("uid", &["uid"]),
            "finalizers" if parent == "metadata" => FieldMeta {
                patch_strategy: vec!["merge".into()],
                list_type: Some("set".into()),
                ..Default::default()
            },
            "managedFields" if parent == "metadata" => StaticMeta::atomic_list(),
            "tolerations" | "readinessGates" | "command" | "args" | "envFrom" | "items"
            | "subsets" | "nodeSelectorTerms" | "matchExpressions" | "matchFields" | "ingress"
            | "egress" | "rules" | "clusterIPs" | "ipFamilies" => StaticMeta::atomic_list(),
            "selector" if parent == "spec" && path.len() == 2 && path[0] == "spec" => {
                // Services use a plain string map; workloads a LabelSelector. Both
                // behave well as atomic for apply, and SMP never consults map_type.
                StaticMeta::atomic_map()
            }
            "configMapKeyRef" | "secretKeyRef" | "fieldRef" | "resourceFieldRef"
            | "labelSelector" | "namespaceSelector" | "podSelector" => StaticMeta::atomic_map(),
            "strategy" if parent == "spec" => FieldMeta {
                patch_strategy: vec!["retainKeys".into()],
                default_empty: true,
                ..Default::default()
            },
            "metadata" | "spec" | "status" | "template" | "updateStrategy" | "jobTemplate" => {
                FieldMeta { default_empty: true, ..Default::default() }
            }
            "resources" if in_container => FieldMeta { default_empty: true, ..Default::default() },
            _ => FieldMeta::default(),
        }
    }
}

/// Formats a JSON value roughly as Go's `%v` prints the `interface{}` it decodes to; used
/// in the error messages that quote patch content (`map[image:x name:y]`).
pub(crate) fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{k}:{}", go_value(&m[k.as_str()]))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_types_by_content_type() {
        assert_eq!(patch_type(Some("application/json-patch+json")).unwrap(), PatchType::Json);
        assert_eq!(
            patch_type(Some("application/merge-patch+json; charset=utf-8")).unwrap(),
            PatchType::Merge
        );
        assert_eq!(
            patch_type(Some("application/strategic-merge-patch+json")).unwrap(),
            PatchType::Strategic
        );
        assert_eq!(patch_type(Some("application/apply-patch+yaml")).unwrap(), PatchType::Apply);
    }

    #[test]
    fn other_content_types_are_415_like_the_reference() {
        let want: Value =
            serde_json::from_str(include_str!("testdata/415-patch-application-json.json")).unwrap();
        for ct in [Some("application/json"), Some("text/plain"), None, Some("")] {
            let e = patch_type(ct).unwrap_err();
            assert_eq!(e.to_status(), want, "{ct:?}");
        }
    }

    #[test]
    fn missing_field_manager_matches_reference() {
        let want: Value = serde_json::from_str(include_str!(
            "testdata/422-apply-patch-without-fieldmanager.json"
        ))
        .unwrap();
        assert_eq!(missing_field_manager().to_status(), want);
    }

    #[test]
    fn static_meta_knows_common_keys() {
        let m = StaticMeta;
        let c = m.field(&["spec", "template", "spec", "containers"]);
        assert_eq!(c.patch_merge_key.as_deref(), Some("name"));
        let p = m.field(&["spec", "template", "spec", "containers", "ports"]);
        assert_eq!(p.list_map_keys, vec!["containerPort", "protocol"]);
        let s = m.field(&["spec", "ports"]);
        assert_eq!(s.patch_merge_key.as_deref(), Some("port"));
        assert_eq!(m.field(&["metadata", "finalizers"]).list_type.as_deref(), Some("set"));
        assert!(m.field(&["spec"]).default_empty);
        assert!(!m.field(&["metadata", "labels"]).default_empty);
        assert_eq!(m.field(&["spec", "tolerations"]).list_type.as_deref(), Some("atomic"));
    }

    #[test]
    fn patch_object_dispatches_on_type() {
        let doc = serde_json::json!({"metadata": {"finalizers": ["a"]}});
        let body = br#"{"metadata": {"finalizers": ["b"]}}"#;
        let smp = patch_object(PatchType::Strategic, &doc, body, &StaticMeta).unwrap();
        assert_eq!(smp["metadata"]["finalizers"], serde_json::json!(["a", "b"]));
        let merge = patch_object(PatchType::Merge, &doc, body, &StaticMeta).unwrap();
        assert_eq!(merge["metadata"]["finalizers"], serde_json::json!(["b"]));
        let jp = br#"[{"op": "add", "path": "/metadata/finalizers/-", "value": "c"}]"#;
        let json = patch_object(PatchType::Json, &doc, jp, &StaticMeta).unwrap();
        assert_eq!(json["metadata"]["finalizers"], serde_json::json!(["a", "c"]));
        assert_eq!(patch_object(PatchType::Apply, &doc, body, &StaticMeta).unwrap_err().code, 500);
    }

    #[test]
    fn go_value_formats_like_go() {
        let v = serde_json::json!({"name": "x", "a": [1, true]});
        assert_eq!(go_value(&v), "map[a:[1 true] name:x]");
    }
}
