//! `metadata.managedFields`: decoding, encoding, and the bookkeeping every non-apply write
//! (create, update, patch, subresource writes) does, as kube-apiserver's field manager.

use serde_json::{Map, Value, json};

use super::SchemaMeta;
use super::fieldset::{FieldSet, PathElement, compare};

pub const APPLY: &str = "Apply";
pub const UPDATE: &str = "Update";

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    /// RFC 3339, seconds. Writes through the scale subresource record none.
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl ManagedEntry {
    /// Whether two entries are the same manager as kube-apiserver keys them: manager,
    /// operation and subresource, plus the apiVersion for updaters (an applier keeps one
    /// entry across versions).
    pub fn same_identity(&self, other: &ManagedEntry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        Value::Object(m)
    }

    /// `None` for an entry kube-apiserver could not decode either.
    pub fn from_json(v: &Value) -> Option<ManagedEntry> {
        let str_of = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        if v.get("fieldsType").and_then(Value::as_str).is_some_and(|t| t != "FieldsV1") {
            return None;
        }
        let fields = match v.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f)?,
        };
        Some(ManagedEntry {
            manager: str_of("manager").unwrap_or_default(),
            operation: str_of("operation").unwrap_or_default(),
            api_version: str_of("apiVersion").unwrap_or_default(),
            time: str_of("time"),
            subresource: str_of("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }
}

/// The entries of an object's `metadata.managedFields`; `None` if any does not decode.
pub fn decode(obj: &Value) -> Option<Vec<ManagedEntry>> {
    match obj.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(ManagedEntry::from_json).collect(),
        Some(_) => None,
    }
}

/// kube-apiserver keeps at most this many `Update` entries; older ones fold into one
/// `ancient-changes` entry per apiVersion, so a stream of distinct managers cannot grow an
/// object without bound.
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Folds the oldest `Update` entries into `ancient-changes` until at most
/// [`MAX_UPDATE_MANAGERS`] remain (kube-apiserver's `capManagersManager`).
pub(crate) fn cap_updaters(entries: &mut Vec<ManagedEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    let mut updaters: Vec<usize> =
        (0..entries.len()).filter(|&i| entries[i].operation != APPLY).collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        let (ea, eb) = (&entries[a], &entries[b]);
        (ea.time.as_deref().unwrap_or(""), &ea.manager)
            .cmp(&(eb.time.as_deref().unwrap_or(""), &eb.manager))
    });
    let mut remaining = updaters.len();
    let mut first_of_version: Vec<(String, usize)> = Vec::new();
    let mut removed: Vec<usize> = Vec::new();
    for &i in &updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        let Some(first) = first_of_version.iter().find(|(v, _)| *v == version).map(|(_, f)| *f)
        else {
            first_of_version.push((version, i));
            continue;
        };
        let existing = (0..entries.len()).find(|&j| {
            !removed.contains(&j)
                && j != i
                && entries[j].manager == ANCIENT_CHANGES
                && entries[j].operation == UPDATE
                && entries[j].subresource.is_none()
                && entries[j].api_version == version
        });
        let bucket = existing.unwrap_or(first);
        if existing.is_none() {
            let b = &mut entries[bucket];
            b.manager = ANCIENT_CHANGES.into();
            b.subresource = None;
        }
        let (fields, time) = (entries[i].fields.clone(), entries[i].time.clone());
        let b = &mut entries[bucket];
        b.fields = b.fields.union(&fields);
        b.time = time;
        removed.push(i);
        remaining -= 1;
    }
    removed.sort_unstable_by(|a, b| b.cmp(a));
    for i in removed {
        entries.remove(i);
    }
}

/// Writes `entries` into `obj`'s metadata, dropping empty ones and in kube-apiserver's
/// order: appliers first, then by time (none first), manager, apiVersion, subresource.
pub fn encode(obj: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (&a.operation, a.time.as_deref().unwrap_or(""), &a.manager, &a.api_version, &a.subresource)
            .cmp(&(
                &b.operation,
                b.time.as_deref().unwrap_or(""),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        let list: Vec<Value> = entries.iter().map(ManagedEntry::to_json).collect();
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// The existing entries a write starts from: those the client sent if it sent any that
/// decode (kubectl rewrites them when migrating to server-side apply), else the live ones.
/// A client sending `[{}]` thereby clears them.
pub(crate) fn starting_entries(old: Option<&Value>, new: &Value) -> Vec<ManagedEntry> {
    let sent = new.pointer("/metadata/managedFields").and_then(Value::as_array);
    if sent.is_some_and(|a| !a.is_empty())
        && let Some(e) = decode(new)
    {
        return e;
    }
    old.and_then(decode).unwrap_or_default()
}

/// A copy without `metadata.managedFields`, so field bookkeeping never tracks itself.
pub(crate) fn without_managed(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    c
}

fn field(n: &str) -> PathElement {
    PathElement::Field(n.to_string())
}

/// Removes the fields no manager ever owns: type and identity, and everything the server
/// sets in metadata (as kube-apiserver's strip-meta manager does, plus deletion fields).
pub(crate) fn strip_server_fields(set: &mut FieldSet) {
    for top in ["apiVersion", "kind"] {
        set.remove_tree(&[field(top)]);
    }
    set.remove(&[field("metadata")]);
    for m in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        set.remove_tree(&[field("metadata"), field(m)]);
    }
    strip_nested_creation_timestamps(set);
}

/// Pod templates carry `metadata.creationTimestamp: null`, which is part of the Go zero
/// value and so never shows up in a real server's field sets.
fn strip_nested_creation_timestamps(set: &mut FieldSet) {
    for p in set.paths() {
        let n = p.len();
        if n >= 2 && p[n - 1] == field("creationTimestamp") && p[n - 2] == field("metadata") {
            set.remove_tree(&p);
        }
    }
}

/// Records a create, update or patch (operation `Update`) by `manager` in `new`'s
/// managedFields: fields this write added or changed become the manager's and leave every
/// other manager's set; removed fields leave all sets; empty entries disappear; the
/// manager's time is refreshed only if it took anything. `now: None` writes no time (what
/// the scale subresource does). `old` is `None` for a create.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: Option<&str>,
    subresource: Option<&str>,
    meta: &dyn SchemaMeta,
) {
    let mut entries = starting_entries(old, new);
    let old_clean = old.map(without_managed);
    let new_clean = without_managed(new);
    let c = compare(old_clean.as_ref(), Some(&new_clean), meta);
    let mut changed = c.added.union(&c.modified);
    strip_server_fields(&mut changed);

    let me = ManagedEntry {
        manager: manager.to_string(),
        operation: UPDATE.into(),
        api_version: api_version.to_string(),
        time: now.map(str::to_string),
        subresource: subresource.map(str::to_string),
        fields: FieldSet::new(),
    };
    for e in entries.iter_mut() {
        e.fields = e.fields.difference(&changed).difference(&c.removed);
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| e.same_identity(&me)) {
            Some(e) => {
                e.fields = e.fields.union(&changed);
                e.time = me.time.clone();
            }
            None => entries.push(ManagedEntry { fields: changed, ..me }),
        }
    }
    cap_updaters(&mut entries);
    encode(new, entries);
}

#[cfg(test)]
mod tests {
    use super::super::StaticMeta;
    use super::*;

    fn load(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
        obj["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .unwrap_or_else(|| panic!("no entry for {manager}"))
    }

    fn managers(obj: &Value) -> Vec<String> {
        obj["metadata"]["managedFields"]
            .as_array()
            .map(|a| a.iter().map(|e| e["manager"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    /// Replays one reference patch: `before` + the server's patched object without its
    /// managedFields, tracked as `manager`, must give the reference managedFields.
    fn replay(before: &str, after: &str, manager: &str, now: Option<&str>, sub: Option<&str>) {
        let before = load(before);
        let want = load(after);
        let mut new = want.clone();
        new["metadata"]["managedFields"] = before["metadata"]["managedFields"].clone();
        // Controllers' status writes happen between the captures; give the old object the
        // same status so only this write is compared.
        let mut old = before.clone();
        old["status"] = want["status"].clone();
        old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
            want["metadata"]["annotations"]["deployment.kubernetes.io/revision"].clone();
        track_update(Some(&old), &mut new, manager, "apps/v1", now, sub, &StaticMeta);
        for m in managers(&want) {
            if m == "kube-controller-manager" {
                continue;
            }
            assert_eq!(entry(&new, &m)["fieldsV1"], entry(&want, &m)["fieldsV1"], "manager {m}");
        }
        let mut got: Vec<String> = managers(&new);
        let mut exp: Vec<String> = managers(&want);
        got.sort();
        exp.sort();
        assert_eq!(got, exp);
    }

    #[test]
    fn reference_strategic_patch_takes_image_from_creator() {
        replay(
            include_str!("testdata/00-deployment-before.json"),
            include_str!("testdata/01-strategic-merge-image.response.json"),
            "kubectl-patch",
            Some("2026-11-26T07:15:35Z"),
            None,
        );
    }

    #[test]
    fn reference_env_delete_removes_from_creator() {
        replay(
            include_str!("testdata/01-strategic-merge-image.response.json"),
            include_str!("testdata/02-strategic-merge-delete-env.response.json"),
            "kubectl-patch",
            Some("2026-11-26T07:15:35Z"),
            None,
        );
    }

    #[test]
    fn reference_merge_patch_adds_to_existing_entry() {
        replay(
            include_str!("testdata/02-strategic-merge-delete-env.response.json"),
            include_str!("testdata/03-merge-patch.response.json"),
            "kubectl-patch",
            Some("2026-11-26T07:15:35Z"),
            None,
        );
    }

    #[test]
    fn reference_json_patch() {
        replay(
            include_str!("testdata/03-merge-patch.response.json"),
            include_str!("testdata/04-json-patch.response.json"),
            "kubectl-patch",
            Some("2026-11-26T07:15:35Z"),
            None,
        );
    }

    #[test]
    fn reference_scale_entry_has_no_time() {
        // 09 is the state after the scale write; the scale took spec.replicas from both
        // the applier and kubectl-patch.
        let before = load(include_str!("testdata/05-apply-patch.response.json"));
        let after = load(include_str!("testdata/09-deployment-after.json"));
        let mut new = before.clone();
        new["spec"]["replicas"] = after["spec"]["replicas"].clone();
        track_update(
            Some(&before),
            &mut new,
            "kubectl-scale",
            "apps/v1",
            None,
            Some("scale"),
            &StaticMeta,
        );
        let e = entry(&new, "kubectl-scale");
        assert_eq!(e, entry(&after, "kubectl-scale"));
        for m in ["kubectl", "kubectl-patch", "kubectl-create"] {
            assert_eq!(entry(&new, m)["fieldsV1"], entry(&after, m)["fieldsV1"], "{m}");
        }
        // Apply first, then the untimed entry, then by time and name (the controller and
        // kubectl-patch share a second in 05; the controller wrote again before 09).
        assert_eq!(
            managers(&new),
            [
                "kubectl",
                "kubectl-scale",
                "kubectl-create",
                "kube-controller-manager",
                "kubectl-patch"
            ]
        );
    }

    #[test]
    fn create_records_everything_with_dots_like_the_reference() {
        let created = load(include_str!("testdata/00-deployment-before.json"));
        let mut new = without_managed(&created);
        new.as_object_mut().unwrap().remove("status");
        // Written by the deployment controller after the create.
        new["metadata"].as_object_mut().unwrap().remove("annotations");
        track_update(
            None,
            &mut new,
            "kubectl-create",
            "apps/v1",
            Some("2026-11-26T07:14:41Z"),
            None,
            &StaticMeta,
        );
        assert_eq!(entry(&new, "kubectl-create"), entry(&created, "kubectl-create"));
    }

    #[test]
    fn unchanged_write_adds_no_entry_and_keeps_times() {
        let old = json!({"metadata": {"name": "x", "managedFields": [
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "T0",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:k": {}}}}]},
            "data": {"k": "v"}});
        let mut new = old.clone();
        new["metadata"]["resourceVersion"] = json!("9");
        track_update(Some(&old), &mut new, "b", "v1", Some("T1"), None, &StaticMeta);
        assert_eq!(new["metadata"]["managedFields"], old["metadata"]["managedFields"]);
    }

    #[test]
    fn same_manager_entries_merge_and_others_drop_when_empty() {
        let old = json!({"metadata": {"name": "x", "managedFields": [
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "T0",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}},
            {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "T0",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:j": {}}}}]},
            "data": {"k": "v", "j": "w"}});
        let mut new = old.clone();
        new["data"]["k"] = json!("v2");
        new["data"]["j"] = json!("w2");
        track_update(Some(&old), &mut new, "b", "v1", Some("T1"), None, &StaticMeta);
        let mf = new["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0]["manager"], "b");
        assert_eq!(mf[0]["time"], "T1");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:j": {}, "f:k": {}}}));
    }

    #[test]
    fn client_sent_managed_fields_win_and_empty_entry_clears() {
        let old = json!({"metadata": {"name": "x", "managedFields": [
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "T0",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}]},
            "data": {"k": "v"}});
        let mut new = old.clone();
        new["metadata"]["managedFields"] = json!([{}]);
        track_update(Some(&old), &mut new, "b", "v1", Some("T1"), None, &StaticMeta);
        assert!(new["metadata"].get("managedFields").is_none());

        let sent = json!([{"manager": "z", "operation": "Apply", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}]);
        let mut new = old.clone();
        new["metadata"]["managedFields"] = sent.clone();
        track_update(Some(&old), &mut new, "b", "v1", Some("T1"), None, &StaticMeta);
        assert_eq!(new["metadata"]["managedFields"], sent);
    }

    #[test]
    fn update_managers_are_capped_into_ancient_changes() {
        let mut obj = json!({"metadata": {"name": "x"}, "data": {}});
        for i in 0..12 {
            let old = obj.clone();
            obj["data"][format!("k{i}")] = json!("v");
            let t = format!("2026-01-01T00:00:{i:02}Z");
            track_update(
                Some(&old),
                &mut obj,
                &format!("m{i:02}"),
                "v1",
                Some(&t),
                None,
                &StaticMeta,
            );
        }
        let names = managers(&obj);
        assert_eq!(names.len(), 10);
        assert_eq!(names[0], "ancient-changes");
        let ancient = entry(&obj, "ancient-changes");
        assert_eq!(ancient["fieldsV1"], json!({"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}}));
        assert_eq!(ancient["time"], "2026-01-01T00:00:02Z");
        assert!(names.contains(&"m11".to_string()));
    }

    #[test]
    fn server_owned_metadata_is_never_tracked() {
        let mut new = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "d", "uid": "u", "resourceVersion": "1",
                "generation": 1, "creationTimestamp": "T", "labels": {"a": "b"}}});
        track_update(None, &mut new, "m", "v1", Some("T"), None, &StaticMeta);
        assert_eq!(
            new["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
        );
    }
}
