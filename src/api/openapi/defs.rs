//! The component schemas of every served kind and everything they reference,
//! generated from k8s-openapi's schemars impls and completed with what those
//! impls lack: the `x-kubernetes-*` patch/list extensions (from [`k8s_ext`]),
//! `x-kubernetes-group-version-kind` on top-level kinds, and the `<Kind>List`
//! definitions (k8s-openapi's `List<T>` has no schema).
//!
//! The result is the shared input of the OpenAPI documents and of
//! [`crate::api::schema::SchemaIndex`], so both always agree.

use super::k8s_ext::EXTENSIONS;
use crate::kinds::ResourceType;
use k8s_openapi::Resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Prefix of every `$ref` in the generated schemas (OpenAPI v3 form).
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";

pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
pub(crate) const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";

/// A group/version/kind triple as the `x-kubernetes-group-version-kind` extension spells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk { group: group.into(), version: version.into(), kind: kind.into() }
    }

    fn of<T: Resource>() -> Gvk {
        Gvk::new(T::GROUP, T::VERSION, T::KIND)
    }

    /// The operation form (`group, version, kind`, as the real server orders it).
    pub fn op_value(&self) -> Value {
        json!({"group": self.group, "version": self.version, "kind": self.kind})
    }

    /// The schema form (keys sorted, as the real server orders them).
    fn schema_value(&self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// A subresource whose body is a kind of its own rather than the parent kind.
pub(crate) struct SubKind {
    pub definition: String,
    pub gvk: Gvk,
}

/// Everything generated.
pub(crate) struct Defs {
    /// Definition name → schema; refs point at [`REF_PREFIX`] and keep their
    /// siblings (`description`), which is the Swagger 2.0 form.
    pub map: BTreeMap<String, Value>,
    /// Root definition of each registry entry, in registry order.
    pub roots: Vec<String>,
    /// Bodies of the special subresources, by subresource name.
    pub sub_kinds: BTreeMap<&'static str, SubKind>,
}

impl Defs {
    /// Definitions reachable from `roots`, in name order.
    pub fn closure<'a>(
        &'a self,
        roots: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<&'a str, &'a Value> {
        let mut out = BTreeMap::new();
        let mut todo: Vec<&str> = roots.into_iter().collect();
        while let Some(name) = todo.pop() {
            let Some((key, schema)) = self.map.get_key_value(name) else { continue };
            if out.insert(key.as_str(), schema).is_none() {
                collect_refs(schema, &mut todo);
            }
        }
        out
    }
}

/// Names referenced by `$ref`s anywhere inside `v`.
pub(crate) fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            out.push(name);
                        }
                    }
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The definition name a `{"$ref": ...}` schema points at.
pub(crate) fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(REF_PREFIX)
}

/// Generate the definitions for `registry`.
pub(crate) fn generate(registry: &[&ResourceType]) -> Defs {
    let mut g: SchemaGenerator = SchemaSettings::openapi3()
        .with(|s| {
            // k8s-openapi writes its schemas by hand in OpenAPI form already; the
            // transforms would only rewrite them away from what Kubernetes serves.
            s.transforms.clear();
            s.meta_schema = None;
        })
        .into_generator();
    let mut gvks: BTreeMap<String, Vec<Gvk>> = BTreeMap::new();
    let mut roots = Vec::with_capacity(registry.len());
    let mut lists = Vec::new();
    for rt in registry {
        let root = match rt.behavior.schema(&mut g).as_ref().and_then(|s| ref_name(s.as_value())) {
            Some(name) => name.to_string(),
            None => {
                let name = fallback_name(rt);
                let schema = fallback_schema(rt, &mut g);
                g.definitions_mut().insert(name.clone(), schema);
                name
            }
        };
        push_gvk(&mut gvks, &root, Gvk::new(rt.group, rt.version, rt.kind));
        let list = format!("{root}List");
        push_gvk(&mut gvks, &list, Gvk::new(rt.group, rt.version, &rt.list_kind()));
        lists.push((list, root.clone(), rt.kind));
        roots.push(root);
    }

    // The meta kinds every group-version's paths use. DeleteOptions and WatchEvent
    // are registered in every served group-version, as in Kubernetes.
    g.subschema_for::<meta::Status>();
    g.subschema_for::<meta::DeleteOptions>();
    g.subschema_for::<meta::Patch>();
    g.subschema_for::<meta::WatchEvent<meta::Status>>();
    g.subschema_for::<meta::APIResourceList>();
    // Discovery documents (`/openapi/v3/api`, `apis`, `apis/<group>`, `version`).
    g.subschema_for::<meta::APIVersions>();
    g.subschema_for::<meta::APIGroupList>();
    g.subschema_for::<meta::APIGroup>();
    g.subschema_for::<k8s_openapi::apimachinery::pkg::version::Info>();
    for k in ["APIVersions", "APIGroupList", "APIGroup"] {
        push_gvk(
            &mut gvks,
            &format!("io.k8s.apimachinery.pkg.apis.meta.v1.{k}"),
            Gvk::new("", "v1", k),
        );
    }
    push_gvk(&mut gvks, STATUS, Gvk::new("", "v1", "Status"));
    push_gvk(&mut gvks, API_RESOURCE_LIST, Gvk::new("", "v1", "APIResourceList"));
    let mut gvs: Vec<(&str, &str)> = registry.iter().map(|r| (r.group, r.version)).collect();
    gvs.push(("", "v1"));
    gvs.sort();
    gvs.dedup();
    for (group, version) in &gvs {
        push_gvk(&mut gvks, DELETE_OPTIONS, Gvk::new(group, version, "DeleteOptions"));
        push_gvk(&mut gvks, WATCH_EVENT, Gvk::new(group, version, "WatchEvent"));
    }

    let mut sub_kinds = BTreeMap::new();
    let subs: Vec<&str> = registry.iter().flat_map(|r| r.subresources.iter().copied()).collect();
    let mut add_sub = |name: &'static str, schema: Schema, gvk: Gvk| {
        if let Some(def) = ref_name(schema.as_value()) {
            sub_kinds.insert(name, SubKind { definition: def.to_string(), gvk });
        }
    };
    type Schema = schemars::Schema;
    if subs.contains(&"scale") {
        use k8s_openapi::api::autoscaling::v1::Scale;
        add_sub("scale", g.subschema_for::<Scale>(), Gvk::of::<Scale>());
    }
    if subs.contains(&"token") {
        use k8s_openapi::api::authentication::v1::TokenRequest;
        add_sub("token", g.subschema_for::<TokenRequest>(), Gvk::of::<TokenRequest>());
    }
    if subs.contains(&"binding") {
        use k8s_openapi::api::core::v1::Binding;
        add_sub("binding", g.subschema_for::<Binding>(), Gvk::of::<Binding>());
    }
    if subs.contains(&"eviction") {
        use k8s_openapi::api::policy::v1::Eviction;
        add_sub("eviction", g.subschema_for::<Eviction>(), Gvk::of::<Eviction>());
    }
    for sk in sub_kinds.values() {
        push_gvk(&mut gvks, &sk.definition, sk.gvk.clone());
    }

    let mut map: BTreeMap<String, Value> = g.take_definitions(false).into_iter().collect();
    for (list, item, kind) in lists {
        map.entry(list).or_insert_with(|| list_schema(&item, kind));
    }
    for (name, schema) in map.iter_mut() {
        complete(name, schema, gvks.get(name).map(Vec::as_slice).unwrap_or(&[]));
    }
    Defs { map, roots, sub_kinds }
}

fn push_gvk(gvks: &mut BTreeMap<String, Vec<Gvk>>, def: &str, gvk: Gvk) {
    let v = gvks.entry(def.to_string()).or_default();
    if !v.contains(&gvk) {
        v.push(gvk);
    }
}

/// Add what k8s-openapi's schemas lack to one definition.
fn complete(name: &str, schema: &mut Value, gvks: &[Gvk]) {
    let Some(obj) = schema.as_object_mut() else { return };
    // k8s-openapi marks these with the CRD-only `x-kubernetes-int-or-string`;
    // Kubernetes publishes them as strings (v2) with `oneOf` added in v3
    // (see `v3_form`).
    if name == QUANTITY || name == INT_OR_STRING {
        obj.remove("x-kubernetes-int-or-string");
        obj.insert("type".into(), "string".into());
        if name == INT_OR_STRING {
            obj.insert("format".into(), "int-or-string".into());
        }
    }
    let is_kind = !gvks.is_empty();
    if is_kind {
        // k8s-openapi marks `metadata` required because its Rust field is not an
        // Option; Kubernetes does not (generateName-only manifests are valid).
        if let Some(Value::Array(req)) = obj.get_mut("required") {
            req.retain(|r| r != "metadata");
            if req.is_empty() {
                obj.remove("required");
            }
        }
    }
    if let Ok(i) = EXTENSIONS.binary_search_by(|(n, _)| (*n).cmp(name)) {
        for &(prop, merge_key, strategy, list_type, map_keys, map_type) in EXTENSIONS[i].1 {
            let target = if prop.is_empty() {
                Some(&mut *obj)
            } else {
                obj.get_mut("properties")
                    .and_then(|p| p.get_mut(prop))
                    .and_then(Value::as_object_mut)
            };
            let Some(t) = target else { continue };
            let mut set = |k: &str, v: Value| {
                t.insert(k.to_string(), v);
            };
            if !list_type.is_empty() {
                set("x-kubernetes-list-type", list_type.into());
            }
            if !map_keys.is_empty() {
                set(
                    "x-kubernetes-list-map-keys",
                    map_keys.iter().map(|k| Value::from(*k)).collect(),
                );
            }
            if !map_type.is_empty() {
                set("x-kubernetes-map-type", map_type.into());
            }
            if !merge_key.is_empty() {
                set("x-kubernetes-patch-merge-key", merge_key.into());
            }
            if !strategy.is_empty() {
                set("x-kubernetes-patch-strategy", strategy.into());
            }
        }
    }
    if is_kind {
        let mut sorted = gvks.to_vec();
        sorted.sort();
        obj.insert(
            "x-kubernetes-group-version-kind".into(),
            sorted.iter().map(Gvk::schema_value).collect(),
        );
    }
}

/// `<Kind>List`, as Kubernetes defines every list kind.
fn list_schema(item: &str, kind: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
            "items": {
                "description": format!("Items is the list of {kind} objects."),
                "type": "array",
                "items": {"$ref": format!("{REF_PREFIX}{item}")},
            },
            "kind": {"description": KIND_DOC, "type": "string"},
            "metadata": {
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"),
            },
        },
    })
}

/// A kind without a typed schema: any fields accepted, metadata still typed.
fn fallback_schema(rt: &ResourceType, g: &mut SchemaGenerator) -> Value {
    let meta_ref = g.subschema_for::<meta::ObjectMeta>().to_value();
    let mut props = Map::new();
    props.insert("apiVersion".into(), json!({"description": API_VERSION_DOC, "type": "string"}));
    props.insert("kind".into(), json!({"description": KIND_DOC, "type": "string"}));
    props.insert("metadata".into(), meta_ref);
    json!({
        "description": format!("{} (schema not published by k2d: any fields are accepted).", rt.kind),
        "type": "object",
        "properties": props,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

fn fallback_name(rt: &ResourceType) -> String {
    let group = if rt.group.is_empty() { "core" } else { rt.group };
    format!("io.k2d.{group}.{}.{}", rt.version, rt.kind)
}

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_table_is_sorted_for_binary_search() {
        assert!(EXTENSIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
