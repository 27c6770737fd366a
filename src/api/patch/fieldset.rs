//! Field sets: which fields of an object a manager owns, as structured-merge-diff models
//! them, plus their `FieldsV1` wire form and the two walks over objects that produce them
//! (the fields an applied configuration sets, and what changed between two versions).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{FieldMeta, SchemaMeta};

/// One step of a field path. The variant order is structured-merge-diff's sort order
/// (field names, then keys, then values, then indexes), which `FieldsV1` output follows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// `f:name`: a struct field or map key.
    Field(String),
    /// `k:{"name":"x"}`: an item of an associative list, as the canonical (sorted,
    /// compact) JSON object of its key fields.
    Key(String),
    /// `v:"x"`: an item of a set list, as compact JSON.
    Value(String),
    /// `i:3`: an item of a list with no identity (never produced here, but accepted).
    Index(usize),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(n) => format!("f:{n}"),
            PathElement::Key(k) => format!("k:{k}"),
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Option<PathElement> {
        let (prefix, rest) = s.split_at_checked(2)?;
        match prefix {
            "f:" => Some(PathElement::Field(rest.to_string())),
            "k:" => {
                let v: Value = serde_json::from_str(rest).ok()?;
                v.is_object().then(|| PathElement::Key(canonical_json(&v)))
            }
            "v:" => {
                let v: Value = serde_json::from_str(rest).ok()?;
                Some(PathElement::Value(canonical_json(&v)))
            }
            "i:" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }

    /// structured-merge-diff's `PathElement.String()`: `.name`, `[name="x",port=80]`,
    /// `[="x"]`, `[3]`; conflict messages print paths this way.
    fn display(&self) -> String {
        match self {
            PathElement::Field(n) => format!(".{n}"),
            PathElement::Key(k) => {
                let v: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                let parts: Vec<String> = v
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={}", compact(v))).collect())
                    .unwrap_or_default();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={v}]"),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

pub type Path = Vec<PathElement>;

/// Renders a path the way kube-apiserver prints it in apply conflicts: `.data.color`.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// JSON with object keys sorted at every level, as Go's encoder writes maps.
pub fn canonical_json(v: &Value) -> String {
    compact(&sort_keys(v))
}

/// A copy of `v` with object keys sorted at every level.
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sort_keys(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// A set of field paths, stored as a trie: `members` are the paths ending at this node,
/// `children` the nodes below. A path can be both (a map a manager owns *and* keys in it),
/// which `FieldsV1` writes as `"."`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    #[cfg(test)]
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether `path` or anything below it is in the set.
    pub fn contains_prefix(&self, path: &[PathElement]) -> bool {
        match path {
            [] => !self.is_empty(),
            [last] => {
                self.members.contains(last)
                    || self.children.get(last).is_some_and(|c| !c.is_empty())
            }
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains_prefix(rest)),
        }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (k, c) in &other.children {
            let merged = match out.children.get(k) {
                Some(mine) => mine.union(c),
                None => c.clone(),
            };
            out.children.insert(k.clone(), merged);
        }
        out
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (k, c) in &self.children {
            let d = match other.children.get(k) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (k, c) in &self.children {
            if let Some(o) = other.children.get(k) {
                let i = c.intersection(o);
                if !i.is_empty() {
                    out.children.insert(k.clone(), i);
                }
            }
        }
        out
    }

    /// Removes `path` and everything below it.
    pub fn remove_tree(&mut self, path: &[PathElement]) {
        match path {
            [] => *self = FieldSet::new(),
            [last] => {
                self.members.remove(last);
                self.children.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(c) = self.children.get_mut(first) {
                    c.remove_tree(rest);
                    if c.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// Removes just the member `path`, keeping what is below it.
    pub fn remove(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(c) = self.children.get_mut(first) {
                    c.remove(rest);
                    if c.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// Every member path, sorted.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        let keys: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for k in keys {
            prefix.push(k.clone());
            if self.members.contains(k) {
                out.push(prefix.clone());
            }
            if let Some(c) = self.children.get(k) {
                c.collect(prefix, out);
            }
            prefix.pop();
        }
    }

    /// The `fieldsV1` object for this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        let keys: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for k in keys {
            let child = match self.children.get(k).filter(|c| !c.is_empty()) {
                Some(c) => {
                    let Value::Object(inner) = c.to_fields_v1() else { unreachable!() };
                    let mut node = Map::new();
                    if self.members.contains(k) {
                        node.insert(".".into(), Value::Object(Map::new()));
                    }
                    node.extend(inner);
                    node
                }
                None => Map::new(),
            };
            m.insert(k.encode(), Value::Object(child));
        }
        Value::Object(m)
    }

    /// Parses a `fieldsV1` object; `None` when it is not one.
    pub fn from_fields_v1(v: &Value) -> Option<FieldSet> {
        let m = v.as_object()?;
        let mut set = FieldSet::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = PathElement::decode(k)?;
            let cm = child.as_object()?;
            if cm.is_empty() || cm.contains_key(".") {
                set.members.insert(pe.clone());
            }
            if cm.keys().any(|k| k != ".") {
                set.children.insert(pe, FieldSet::from_fields_v1(child)?);
            }
        }
        Some(set)
    }
}

/// How a list field's items are identified, from its schema metadata.
enum ListKind {
    Atomic,
    Set,
    Map { keys: Vec<String>, defaults: Vec<(String, Value)> },
}

fn list_kind(fm: &FieldMeta) -> ListKind {
    match fm.list_type.as_deref() {
        Some("set") => ListKind::Set,
        Some("map") => {
            let keys = if fm.list_map_keys.is_empty() {
                fm.patch_merge_key.iter().cloned().collect()
            } else {
                fm.list_map_keys.clone()
            };
            ListKind::Map { keys, defaults: fm.list_map_key_defaults.clone() }
        }
        Some(_) => ListKind::Atomic,
        // Built-in types without x-kubernetes-list-type are atomic unless SMP knows a key.
        None => match &fm.patch_merge_key {
            Some(k) => {
                ListKind::Map { keys: vec![k.clone()], defaults: fm.list_map_key_defaults.clone() }
            }
            None => ListKind::Atomic,
        },
    }
}

/// The path element of a list item, or `None` when the list has no item identity.
fn item_element(kind: &ListKind, item: &Value) -> Option<PathElement> {
    match kind {
        ListKind::Atomic => None,
        ListKind::Set => Some(PathElement::Value(canonical_json(item))),
        ListKind::Map { keys, defaults } => {
            let obj = item.as_object()?;
            let mut key = Map::new();
            for k in keys {
                if let Some(v) = obj.get(k) {
                    key.insert(k.clone(), v.clone());
                } else if let Some((_, d)) = defaults.iter().find(|(n, _)| n == k) {
                    key.insert(k.clone(), d.clone());
                }
            }
            if key.is_empty() {
                return None;
            }
            Some(PathElement::Key(canonical_json(&Value::Object(key))))
        }
    }
}

/// The path element of an item of a list field described by `fm`; `None` for atomic lists
/// or items lacking every key field.
pub(crate) fn item_path_element(fm: &FieldMeta, item: &Value) -> Option<PathElement> {
    item_element(&list_kind(fm), item)
}

/// Walks values with the field-name path (for schema lookups) and the set path in step.
pub(crate) struct Walker<'a> {
    pub meta: &'a dyn SchemaMeta,
    names: Vec<String>,
    path: Path,
}

impl<'a> Walker<'a> {
    pub fn new(meta: &'a dyn SchemaMeta) -> Walker<'a> {
        Walker { meta, names: Vec::new(), path: Vec::new() }
    }

    fn field_meta(&self) -> FieldMeta {
        let refs: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.meta.field(&refs)
    }

    /// Meta of the field whose value is at the current node (the list's for list items).
    fn here(&self) -> FieldMeta {
        if self.names.is_empty() { FieldMeta::default() } else { self.field_meta() }
    }
}

/// The fields an applied configuration sets (structured-merge-diff's `ToFieldSet`): every
/// scalar, atomic value and list item, and struct fields only when null or empty.
pub fn applied_set(v: &Value, meta: &dyn SchemaMeta) -> FieldSet {
    let mut set = FieldSet::new();
    let mut w = Walker::new(meta);
    to_set(&mut w, v, false, &mut set);
    set
}

fn to_set(w: &mut Walker, v: &Value, is_item: bool, set: &mut FieldSet) {
    let fm = w.here();
    match v {
        Value::Object(m) => {
            let atomic = fm.map_type.as_deref() == Some("atomic");
            if atomic && !w.path.is_empty() && (is_item || fm.list_type.is_none()) {
                set.insert(&w.path);
                return;
            }
            for (k, child) in m {
                w.names.push(k.clone());
                w.path.push(PathElement::Field(k.clone()));
                to_set(w, child, false, set);
                if child.is_null() || child.as_object().is_some_and(Map::is_empty) {
                    set.insert(&w.path);
                }
                w.path.pop();
                w.names.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(&fm);
            if matches!(kind, ListKind::Atomic) {
                set.insert(&w.path);
                return;
            }
            for item in items {
                let Some(pe) = item_element(&kind, item) else {
                    continue;
                };
                w.path.push(pe);
                if matches!(kind, ListKind::Map { .. }) {
                    to_set(w, item, true, set);
                }
                set.insert(&w.path);
                w.path.pop();
            }
        }
        _ => set.insert(&w.path),
    }
}

/// What changed between two versions of an object, as structured-merge-diff compares them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

/// Compares `old` (absent for a create) with `new`. A container that appears is added
/// together with everything in it; one that exists on both sides is only descended into.
/// Fields whose schema default is `{}` count as present-but-empty when absent, as in a Go
/// zero value.
pub fn compare(old: Option<&Value>, new: Option<&Value>, meta: &dyn SchemaMeta) -> Comparison {
    let mut c = Comparison::default();
    let mut w = Walker::new(meta);
    let empty = Value::Object(Map::new());
    let old = old.or(Some(&empty));
    cmp(&mut w, old, new, false, &mut c);
    c
}

fn is_atomic_map(fm: &FieldMeta, is_item: bool) -> bool {
    fm.map_type.as_deref() == Some("atomic") && (is_item || fm.list_type.is_none())
}

fn cmp(w: &mut Walker, l: Option<&Value>, r: Option<&Value>, is_item: bool, c: &mut Comparison) {
    let fm = w.here();
    let at_root = w.path.is_empty();
    match (l, r) {
        (None, None) => {}
        (Some(Value::Object(lm)), Some(Value::Object(rm)))
            if !is_atomic_map(&fm, is_item) || at_root =>
        {
            let keys: Vec<&String> =
                lm.keys().chain(rm.keys().filter(|k| !lm.contains_key(*k))).collect();
            let empty = Value::Object(Map::new());
            let empty_list = Value::Array(Vec::new());
            for k in keys {
                w.names.push(k.clone());
                w.path.push(PathElement::Field(k.clone()));
                let (mut lc, mut rc) = (lm.get(k), rm.get(k));
                // A Go zero value has non-pointer structs (empty) and required lists
                // (null): such a field is never "added" as a whole, only its content.
                if lc.is_none() != rc.is_none() && w.field_meta().default_empty {
                    let present = lc.or(rc).unwrap_or(&Value::Null);
                    let filler = match present {
                        Value::Object(_) => Some(&empty),
                        Value::Array(_) => Some(&empty_list),
                        _ => None,
                    };
                    if lc.is_none() {
                        lc = filler;
                    } else {
                        rc = filler;
                    }
                }
                cmp(w, lc, rc, false, c);
                w.path.pop();
                w.names.pop();
            }
        }
        (Some(Value::Array(la)), Some(Value::Array(ra))) => {
            let kind = list_kind(&fm);
            if matches!(kind, ListKind::Atomic) {
                if la != ra {
                    c.modified.insert(&w.path);
                }
                return;
            }
            cmp_items(w, &kind, la, ra, c);
        }
        (Some(lv), Some(rv)) => {
            // Scalars, atomic values, or a change of shape: all leaves here.
            if lv != rv {
                c.modified.insert(&w.path);
            }
        }
        (None, Some(v)) => one_sided(w, v, is_item, c, true),
        (Some(v), None) => one_sided(w, v, is_item, c, false),
    }
}

fn cmp_items(w: &mut Walker, kind: &ListKind, la: &[Value], ra: &[Value], c: &mut Comparison) {
    let index = |items: &[Value]| -> Vec<(PathElement, usize)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            if let Some(pe) = item_element(kind, it)
                && seen.insert(pe.clone())
            {
                out.push((pe, i));
            }
        }
        out
    };
    let (li, ri) = (index(la), index(ra));
    let is_map = matches!(kind, ListKind::Map { .. });
    for (pe, i) in &li {
        let other = ri.iter().find(|(p, _)| p == pe).map(|(_, j)| &ra[*j]);
        w.path.push(pe.clone());
        if is_map {
            cmp(w, Some(&la[*i]), other, true, c);
        } else if other.is_none() {
            c.removed.insert(&w.path);
        }
        w.path.pop();
    }
    for (pe, j) in &ri {
        if li.iter().any(|(p, _)| p == pe) {
            continue;
        }
        w.path.push(pe.clone());
        if is_map {
            cmp(w, None, Some(&ra[*j]), true, c);
        } else {
            c.added.insert(&w.path);
        }
        w.path.pop();
    }
}

/// A value present on one side only: it and everything below it is added (or removed).
fn one_sided(w: &mut Walker, v: &Value, is_item: bool, c: &mut Comparison, added: bool) {
    if !w.path.is_empty() {
        if added { c.added.insert(&w.path) } else { c.removed.insert(&w.path) }
    }
    let fm = w.here();
    match v {
        Value::Object(m) if !is_atomic_map(&fm, is_item) || w.path.is_empty() => {
            for (k, child) in m {
                w.names.push(k.clone());
                w.path.push(PathElement::Field(k.clone()));
                one_sided(w, child, false, c, added);
                w.path.pop();
                w.names.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(&fm);
            let is_map = matches!(kind, ListKind::Map { .. });
            if matches!(kind, ListKind::Atomic) {
                return;
            }
            let mut seen = BTreeSet::new();
            for item in items {
                let Some(pe) = item_element(&kind, item) else { continue };
                if !seen.insert(pe.clone()) {
                    continue;
                }
                w.path.push(pe);
                if is_map {
                    one_sided(w, item, true, c, added);
                } else if added {
                    c.added.insert(&w.path);
                } else {
                    c.removed.insert(&w.path);
                }
                w.path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::StaticMeta;
    use super::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::Field(n.into())
    }

    #[test]
    fn fields_v1_round_trips_reference_shapes() {
        let v = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}},
                "f:selector": {}},
            "f:finalizers": {"v:\"a\"": {}}
        });
        let s = FieldSet::from_fields_v1(&v).unwrap();
        assert_eq!(s.to_fields_v1(), v);
        assert!(s.contains(&[f("metadata"), f("labels")]));
        assert!(!s.contains(&[f("metadata")]));
        assert!(FieldSet::from_fields_v1(&json!({"x:bad": {}})).is_none());
    }

    #[test]
    fn output_puts_dot_first_and_sorts_like_smd() {
        let mut s = FieldSet::new();
        s.insert(&[f("b")]);
        s.insert(&[f("a"), f("z")]);
        s.insert(&[f("a")]);
        s.insert(&[f("a"), PathElement::Key("{\"name\":\"x\"}".into())]);
        let out = serde_json::to_string(&s.to_fields_v1()).unwrap();
        assert_eq!(out, r#"{"f:a":{".":{},"f:z":{},"k:{\"name\":\"x\"}":{}},"f:b":{}}"#);
    }

    #[test]
    fn path_strings_match_conflict_messages() {
        let p = vec![
            f("spec"),
            f("containers"),
            PathElement::Key("{\"containerPort\":80,\"protocol\":\"TCP\"}".into()),
            f("name"),
        ];
        assert_eq!(path_string(&p), ".spec.containers[containerPort=80,protocol=\"TCP\"].name");
        assert_eq!(path_string(&[f("data"), f("color")]), ".data.color");
        assert_eq!(path_string(&[f("x"), PathElement::Value("\"a\"".into())]), ".x[=\"a\"]");
    }

    #[test]
    fn set_algebra() {
        let a = FieldSet::from_fields_v1(&json!({"f:a": {".": {}, "f:b": {}}, "f:c": {}})).unwrap();
        let b = FieldSet::from_fields_v1(&json!({"f:a": {"f:b": {}}})).unwrap();
        assert_eq!(a.difference(&b).to_fields_v1(), json!({"f:a": {}, "f:c": {}}));
        assert_eq!(a.intersection(&b).to_fields_v1(), json!({"f:a": {"f:b": {}}}));
        assert_eq!(b.union(&a), a);
        assert!(a.contains_prefix(&[f("a"), f("b")]));
        assert!(b.contains_prefix(&[f("a")]));
        assert!(!b.contains_prefix(&[f("c")]));
        assert_eq!(a.paths().len(), 3);
    }

    #[test]
    fn applied_set_matches_reference_apply_entry() {
        let yaml = include_str!("testdata/05-apply-patch.request.yaml");
        let applied: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let mut set = applied_set(&applied, &StaticMeta);
        for p in [
            ["apiVersion"].as_slice(),
            &["kind"],
            &["metadata", "name"],
            &["metadata", "namespace"],
        ] {
            let p: Path = p.iter().map(|s| f(s)).collect();
            set.remove_tree(&p);
        }
        let want: Value =
            serde_json::from_str(include_str!("testdata/05-apply-patch.response.json")).unwrap();
        let entry = want["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == "kubectl")
            .unwrap();
        assert_eq!(set.to_fields_v1(), entry["fieldsV1"]);
    }

    #[test]
    fn compare_reports_added_modified_removed() {
        let old = json!({"spec": {"a": 1, "b": 2, "m": {"x": 1}}});
        let new = json!({"spec": {"a": 1, "b": 3, "n": {"y": 1}}});
        let c = compare(Some(&old), Some(&new), &StaticMeta);
        assert_eq!(c.modified.to_fields_v1(), json!({"f:spec": {"f:b": {}}}));
        assert_eq!(c.added.to_fields_v1(), json!({"f:spec": {"f:n": {".": {}, "f:y": {}}}}));
        assert_eq!(c.removed.to_fields_v1(), json!({"f:spec": {"f:m": {".": {}, "f:x": {}}}}));
    }

    #[test]
    fn compare_keyed_lists_and_sets() {
        let old = json!({"spec": {"containers": [{"name": "a", "image": "1"}]},
            "metadata": {"finalizers": ["x"]}});
        let new = json!({"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b"}]},
            "metadata": {"finalizers": ["y"]}});
        let c = compare(Some(&old), Some(&new), &StaticMeta);
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {"f:image": {}}}}})
        );
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:metadata": {"f:finalizers": {"v:\"y\"": {}}},
                   "f:spec": {"f:containers": {"k:{\"name\":\"b\"}": {".": {}, "f:name": {}}}}})
        );
        assert_eq!(
            c.removed.to_fields_v1(),
            json!({"f:metadata": {"f:finalizers": {"v:\"x\"": {}}}})
        );
    }

    #[test]
    fn create_treats_default_empty_structs_as_present() {
        let new = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"replicas": 1}});
        let c = compare(None, Some(&new), &StaticMeta);
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {"f:replicas": {}}})
        );
    }
}
