//! Patch metadata of every field of the served kinds: what strategic merge
//! patch and server-side apply need to know (merge keys, patch strategies,
//! list and map types), looked up by field path.
//!
//! Built from the same generated schemas as the OpenAPI documents, so what
//! kubectl reads in `/openapi/v3` and what the server does when it merges can
//! never disagree. Only the structure is kept (no descriptions): a few hundred
//! small nodes instead of megabytes of JSON.

use crate::api::openapi::{self, Defs};
use crate::kinds::ResourceType;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The patch-relevant `x-kubernetes-*` extensions of one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMeta {
    /// `x-kubernetes-patch-merge-key` (`name` for containers).
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-patch-strategy`, split at commas (`merge`, `retainKeys`, `replace`).
    pub patch_strategy: Vec<String>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`: `atomic` or `granular`, from the field or, when
    /// the field has none, from the definition it points at (LabelSelector).
    pub map_type: Option<String>,
}

impl FieldMeta {
    fn from_schema(s: &Value) -> FieldMeta {
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        FieldMeta {
            patch_merge_key: text("x-kubernetes-patch-merge-key"),
            patch_strategy: s
                .get("x-kubernetes-patch-strategy")
                .and_then(Value::as_str)
                .map(|v| v.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            list_type: text("x-kubernetes-list-type"),
            list_map_keys: s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            map_type: text("x-kubernetes-map-type"),
        }
    }

    fn is_empty(&self) -> bool {
        *self == FieldMeta::default()
    }
}

/// Where a field leads once list items are looked through.
#[derive(Debug, Clone)]
enum Target {
    /// A scalar, or a structure we know nothing about.
    Leaf,
    /// A definition (index into [`SchemaIndex::defs`]).
    Def(u32),
    /// A map: the next path segment is a key, then this.
    Map(Box<Target>),
}

#[derive(Debug)]
struct Field {
    meta: FieldMeta,
    target: Target,
}

#[derive(Debug, Default)]
struct Def {
    /// Definition-level `x-kubernetes-map-type`.
    map_type: Option<String>,
    /// Fields with metadata or structure below them, sorted by name.
    fields: Vec<(String, Field)>,
}

/// Patch metadata per resource type and field path.
pub struct SchemaIndex {
    defs: Vec<Def>,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by definition lookups in tests"))]
    by_name: HashMap<String, u32>,
    /// (group, version, plural) → root definition.
    roots: HashMap<(String, String, String), u32>,
}

impl SchemaIndex {
    /// Generate the schemas of `registry` and index them.
    pub fn build(registry: &[&ResourceType]) -> SchemaIndex {
        SchemaIndex::from_defs(&openapi::generate(registry), registry)
    }

    pub(crate) fn from_defs(defs: &Defs, registry: &[&ResourceType]) -> SchemaIndex {
        let by_name: HashMap<String, u32> =
            defs.map.keys().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        let defs_vec = defs.map.values().map(|s| index_def(s, &by_name)).collect();
        let roots = registry
            .iter()
            .zip(&defs.roots)
            .filter_map(|(rt, root)| {
                let id = *by_name.get(root)?;
                Some(((rt.group.to_string(), rt.version.to_string(), rt.plural.to_string()), id))
            })
            .collect();
        SchemaIndex { defs: defs_vec, by_name, roots }
    }

    /// Metadata of the field at `path` (field names from the object root; list
    /// items add no segment, map keys do) of `rt`'s objects. Unknown paths give
    /// the empty [`FieldMeta`] (plain merge semantics).
    pub fn field_meta(&self, rt: &ResourceType, path: &[&str]) -> FieldMeta {
        let key = (rt.group.to_string(), rt.version.to_string(), rt.plural.to_string());
        match self.roots.get(&key) {
            Some(&root) => self.walk(root, path),
            None => FieldMeta::default(),
        }
    }

    /// Like [`SchemaIndex::field_meta`], from a definition name
    /// (`io.k8s.api.core.v1.PodSpec`).
    #[cfg(test)]
    pub fn definition_field_meta(&self, definition: &str, path: &[&str]) -> FieldMeta {
        match self.by_name.get(definition) {
            Some(&d) => self.walk(d, path),
            None => FieldMeta::default(),
        }
    }

    /// Drop what Go's JSON encoding omits and kube-apiserver therefore never
    /// stores: empty maps (`labels: {}`, `data: {}`) and empty lists. Empty
    /// structs stay: `emptyDir: {}` means something.
    pub fn prune_empty(&self, rt: &ResourceType, obj: &mut Value) {
        let key = (rt.group.to_string(), rt.version.to_string(), rt.plural.to_string());
        if let Some(&root) = self.roots.get(&key) {
            self.prune(&Target::Def(root), obj);
        }
    }

    fn prune(&self, target: &Target, v: &mut Value) {
        match (target, v) {
            (_, Value::Array(items)) => items.iter_mut().for_each(|it| self.prune(target, it)),
            (Target::Map(inner), Value::Object(m)) => {
                m.values_mut().for_each(|x| self.prune(inner, x))
            }
            (Target::Def(d), Value::Object(m)) => {
                let fields = &self.defs[*d as usize].fields;
                let lookup = |k: &str| {
                    fields
                        .binary_search_by(|(n, _)| n.as_str().cmp(k))
                        .ok()
                        .map(|i| &fields[i].1.target)
                };
                m.retain(|k, val| match val {
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => {
                        !(o.is_empty() && matches!(lookup(k), Some(Target::Map(_))))
                    }
                    _ => true,
                });
                for (k, val) in m.iter_mut() {
                    if let Some(t) = lookup(k) {
                        self.prune(t, val);
                    }
                }
            }
            _ => {}
        }
    }

    fn walk(&self, root: u32, path: &[&str]) -> FieldMeta {
        let mut cur = Target::Def(root);
        let mut meta = FieldMeta::default();
        for seg in path {
            match cur {
                Target::Def(d) => {
                    let fields = &self.defs[d as usize].fields;
                    let Ok(i) = fields.binary_search_by(|(n, _)| n.as_str().cmp(seg)) else {
                        return FieldMeta::default();
                    };
                    meta = fields[i].1.meta.clone();
                    cur = fields[i].1.target.clone();
                }
                Target::Map(inner) => {
                    meta = FieldMeta::default();
                    cur = *inner;
                }
                Target::Leaf => return FieldMeta::default(),
            }
        }
        if meta.map_type.is_none()
            && let Target::Def(d) = cur
        {
            meta.map_type = self.defs[d as usize].map_type.clone();
        }
        meta
    }
}

fn index_def(schema: &Value, by_name: &HashMap<String, u32>) -> Def {
    let mut fields: Vec<(String, Field)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter_map(|(name, s)| {
                    let field =
                        Field { meta: FieldMeta::from_schema(s), target: target(s, by_name) };
                    let keep = !field.meta.is_empty() || !matches!(field.target, Target::Leaf);
                    keep.then(|| (name.clone(), field))
                })
                .collect()
        })
        .unwrap_or_default();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Def {
        map_type: schema.get("x-kubernetes-map-type").and_then(Value::as_str).map(str::to_string),
        fields,
    }
}

fn target(s: &Value, by_name: &HashMap<String, u32>) -> Target {
    if let Some(name) = openapi::ref_name(s).or_else(|| {
        s.get("allOf").and_then(Value::as_array).and_then(|a| a.first()).and_then(openapi::ref_name)
    }) {
        return by_name.get(name).map_or(Target::Leaf, |&d| Target::Def(d));
    }
    if let Some(items) = s.get("items") {
        return target(items, by_name);
    }
    if let Some(values) = s.get("additionalProperties").filter(|v| v.is_object()) {
        return Target::Map(Box::new(target(values, by_name)));
    }
    Target::Leaf
}

/// The index for [`crate::kinds::registry`], built on first use.
pub fn global() -> &'static SchemaIndex {
    static INDEX: OnceLock<SchemaIndex> = OnceLock::new();
    INDEX.get_or_init(|| SchemaIndex::build(crate::kinds::registry()))
}

/// Kinds not yet in the registry, for tests of generation and lookup.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::kinds::{ALL_VERBS, Behavior, ResourceType, typed};
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::Value;

    struct PodKind;
    impl Behavior for PodKind {
        fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
            typed::decode::<Pod>(obj)
        }
        fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
            Some(g.subschema_for::<Pod>())
        }
    }
    struct DeploymentKind;
    impl Behavior for DeploymentKind {
        fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
            typed::decode::<Deployment>(obj)
        }
        fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
            Some(g.subschema_for::<Deployment>())
        }
    }

    pub(crate) static PODS: ResourceType = ResourceType {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        verbs: ALL_VERBS,
        subresources: &["status", "log", "exec", "binding", "eviction"],
        storage: "pods",
        behavior: &PodKind,
    };
    pub(crate) static DEPLOYMENTS: ResourceType = ResourceType {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        singular: "deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        verbs: ALL_VERBS,
        subresources: &["status", "scale"],
        storage: "deployments",
        behavior: &DeploymentKind,
    };
}

#[cfg(test)]
mod tests {
    use super::tests_support::{DEPLOYMENTS, PODS};

    #[test]
    fn prune_drops_empty_maps_and_lists_but_not_empty_structs() {
        let idx = global();
        let mut cm = serde_json::json!({"metadata": {"name": "a", "annotations": {}, "labels": {"x": "y"}, "finalizers": []}, "data": {}});
        idx.prune_empty(&crate::kinds::configmap::CONFIGMAPS, &mut cm);
        assert_eq!(cm, serde_json::json!({"metadata": {"name": "a", "labels": {"x": "y"}}}));
        let mut pod = serde_json::json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}], "nodeSelector": {}}});
        idx.prune_empty(&crate::kinds::pod::PODS, &mut pod);
        assert_eq!(pod, serde_json::json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}));
    }

    use super::*;

    fn index() -> SchemaIndex {
        SchemaIndex::build(&[&PODS, &DEPLOYMENTS, &crate::kinds::configmap::CONFIGMAPS])
    }

    #[test]
    fn containers_merge_by_name() {
        let idx = index();
        let m = idx.field_meta(&PODS, &["spec", "containers"]);
        assert_eq!(m.patch_merge_key.as_deref(), Some("name"));
        assert_eq!(m.patch_strategy, vec!["merge"]);
        assert_eq!(m.list_type.as_deref(), Some("map"));
        assert_eq!(m.list_map_keys, vec!["name"]);
        // Through a list (no segment for the item) into the container's ports.
        let ports = idx.field_meta(&PODS, &["spec", "containers", "ports"]);
        assert_eq!(ports.patch_merge_key.as_deref(), Some("containerPort"));
        assert_eq!(ports.list_map_keys, vec!["containerPort", "protocol"]);
    }

    #[test]
    fn retain_keys_and_nested_template() {
        let idx = index();
        let v = idx.field_meta(&DEPLOYMENTS, &["spec", "template", "spec", "volumes"]);
        assert_eq!(v.patch_strategy, vec!["merge", "retainKeys"]);
        let s = idx.field_meta(&DEPLOYMENTS, &["spec", "strategy"]);
        assert_eq!(s.patch_strategy, vec!["retainKeys"]);
    }

    #[test]
    fn atomic_map_type_from_the_definition() {
        let idx = index();
        // LabelSelector is atomic as a whole; the field itself carries nothing.
        let sel = idx.field_meta(&DEPLOYMENTS, &["spec", "selector"]);
        assert_eq!(sel.map_type.as_deref(), Some("atomic"));
        assert_eq!(sel.patch_merge_key, None);
    }

    #[test]
    fn maps_and_unknown_paths() {
        let idx = index();
        let cm = &crate::kinds::configmap::CONFIGMAPS;
        assert_eq!(idx.field_meta(cm, &["data", "key"]), FieldMeta::default());
        assert_eq!(idx.field_meta(cm, &["nope", "deeper"]), FieldMeta::default());
        let owners = idx.field_meta(cm, &["metadata", "ownerReferences"]);
        assert_eq!(owners.patch_merge_key.as_deref(), Some("uid"));
        let finalizers = idx.field_meta(cm, &["metadata", "finalizers"]);
        assert_eq!(finalizers.list_type.as_deref(), Some("set"));
        assert_eq!(finalizers.patch_strategy, vec!["merge"]);
        // Pod conditions: map keyed by type.
        let c = idx.field_meta(&PODS, &["status", "conditions"]);
        assert_eq!(c.patch_merge_key.as_deref(), Some("type"));
        // Map values that are structures: the key consumes a segment.
        let d = idx.definition_field_meta("io.k8s.api.core.v1.PodSpec", &["overhead", "cpu"]);
        assert_eq!(d, FieldMeta::default());
    }

    #[test]
    fn index_is_small() {
        let idx = index();
        let fields: usize = idx.defs.iter().map(|d| d.fields.len()).sum();
        assert!(idx.defs.len() < 400 && fields < 3000, "{} defs, {fields} fields", idx.defs.len());
    }
}

/// Patch and apply metadata of one kind, read from its OpenAPI schema. The
/// schema carries merge keys and list types; the defaults of list-map keys and
/// Go zero-value presence are not in k8s-openapi's schemas, so those come from
/// the built-in table.
pub struct KindMeta {
    pub rt: &'static ResourceType,
}

impl crate::api::patch::SchemaMeta for KindMeta {
    fn field(&self, path: &[&str]) -> crate::api::patch::FieldMeta {
        use crate::api::patch::StaticMeta;
        let mut m = StaticMeta.field(path);
        let s = global().field_meta(self.rt, path);
        if s.patch_merge_key.is_some() {
            m.patch_merge_key = s.patch_merge_key;
        }
        if !s.patch_strategy.is_empty() {
            m.patch_strategy = s.patch_strategy;
        }
        if s.list_type.is_some() {
            m.list_type = s.list_type;
        }
        if !s.list_map_keys.is_empty() {
            m.list_map_keys = s.list_map_keys;
        }
        if s.map_type.is_some() {
            m.map_type = s.map_type;
        }
        m
    }
}
