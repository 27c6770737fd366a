//! Server-side apply (`application/apply-patch+yaml`), following structured-merge-diff:
//! merge the applied configuration into the live object, drop what the applier applied
//! last time but no longer does (unless someone else owns it), and refuse to change fields
//! other managers own unless forced.

use serde_json::{Map, Value};

use super::fieldset::{
    FieldSet, Path, PathElement, applied_set, canonical_json, compare, path_string,
};
use super::managed::{
    APPLY, ManagedEntry, UPDATE, cap_updaters, decode, encode, strip_server_fields, without_managed,
};
use super::{FieldMeta, SchemaMeta};
use crate::api::error::{ApiError, ApiResult, Cause, Details};

/// The annotation client-side `kubectl apply` keeps; server-side apply by `kubectl` keeps
/// it in sync and lets kubectl take over the fields it lists.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager name kubectl uses for `apply --server-side`; only it gets the
/// client-side-apply migration treatment, as in kube-apiserver.
const KUBECTL: &str = "kubectl";

/// Parses an apply patch body: YAML (JSON is YAML, and kubectl sends JSON).
pub fn parse_applied(body: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("error decoding YAML: invalid UTF-8"))?;
    let v: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the apply patch must be an object",
        ));
    }
    Ok(v)
}

#[cfg(test)]
/// Applies `applied` as `manager` over `live` (`None`: the apply creates the object) and
/// returns the new object with its managedFields. `now` becomes the applier's `time` when
/// the object changed. Conflicts with other managers are the 409 kube-apiserver sends,
/// unless `force`.
///
/// The caller still owns identity and server fields: it must check apiVersion/kind/name/
/// namespace against the URL, restore uid/creationTimestamp/resourceVersion handling as
/// for any update, default, validate, and answer 201 when `live` was `None`.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    meta: &dyn SchemaMeta,
    now: &str,
) -> ApiResult<Value> {
    apply_to(live, applied, manager, force, meta, now, None)
}

/// [`apply()`] through a subresource (`kubectl apply --subresource=status`): the applier's
/// entry carries `subresource`. The caller strips what the subresource may not change.
pub fn apply_to(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    meta: &dyn SchemaMeta,
    now: &str,
    subresource: Option<&str>,
) -> ApiResult<Value> {
    if !applied.is_object() {
        return Err(ApiError::bad_request("the apply patch must be an object"));
    }
    if applied.pointer("/metadata/managedFields").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let applied = without_managed(applied);
    let api_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .or_else(|| live.and_then(|l| l.get("apiVersion")).and_then(Value::as_str))
        .unwrap_or("")
        .to_string();

    let mut entries = live.and_then(decode).unwrap_or_default();
    let live_clean = live.map(without_managed).unwrap_or_else(|| Value::Object(Map::new()));

    let mut merged = merge_values(&live_clean, &applied, &mut Vec::new(), meta, false);

    let mut new_set = applied_set(&applied, meta);
    strip_server_fields(&mut new_set);
    let me = ManagedEntry {
        manager: manager.to_string(),
        operation: APPLY.into(),
        api_version: api_version.clone(),
        time: None,
        subresource: subresource.map(str::to_string),
        fields: FieldSet::new(),
    };
    let (last_set, last_time) = match entries.iter().position(|e| e.same_identity(&me)) {
        Some(i) => {
            let e = entries.remove(i);
            (e.fields, e.time)
        }
        None => (FieldSet::new(), None),
    };
    entries.push(ManagedEntry { fields: new_set, time: last_time, ..me.clone() });
    let mine = entries.len() - 1;

    prune(&mut merged, &last_set, &entries, meta);

    let c = compare(live.map(|_| &live_clean), Some(&merged), meta);
    let changed = c.added.union(&c.modified);
    let mut conflicts: Vec<(usize, FieldSet)> = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != mine)
        .map(|(i, e)| (i, e.fields.intersection(&changed)))
        .filter(|(_, s)| !s.is_empty())
        .collect();

    if !force && !conflicts.is_empty() {
        let mut allowed_all = false;
        if manager == KUBECTL
            && let Some(allowed) = allowed_from_last_applied(&live_clean, meta)
        {
            let rest: Vec<(usize, FieldSet)> = conflicts
                .iter()
                .map(|(i, s)| (*i, s.difference(&allowed)))
                .filter(|(_, s)| !s.is_empty())
                .collect();
            if rest.is_empty() {
                allowed_all = true;
            } else {
                conflicts = rest;
            }
        }
        if !allowed_all {
            return Err(conflict_error(&entries, &conflicts));
        }
    }

    for (i, set) in &conflicts {
        entries[*i].fields = entries[*i].fields.difference(set);
    }
    for (i, e) in entries.iter_mut().enumerate() {
        if i != mine {
            e.fields = e.fields.difference(&c.removed);
        }
    }
    if merged != live_clean || live.is_none() {
        entries[mine].time = Some(now.to_string());
    }

    if manager == KUBECTL {
        sync_last_applied(&mut merged, &applied);
    }
    cap_updaters(&mut entries);
    encode(&mut merged, entries);
    Ok(merged)
}

/// kube-apiserver's 409 for apply conflicts (`errors/409-apply-conflict.json`).
fn conflict_error(entries: &[ManagedEntry], conflicts: &[(usize, FieldSet)]) -> ApiError {
    let mut list: Vec<(String, String)> = Vec::new();
    for (i, set) in conflicts {
        let who = print_manager(&entries[*i]);
        for p in set.paths() {
            list.push((who.clone(), path_string(&p)));
        }
    }
    list.sort();
    let causes: Vec<Cause> = list
        .iter()
        .map(|(who, path)| {
            Cause::new("FieldManagerConflict", format!("conflict with {who}"), path.clone())
        })
        .collect();
    let message = if list.len() == 1 {
        format!("Apply failed with 1 conflict: conflict with {}: {}", list[0].0, list[0].1)
    } else {
        let mut lines = Vec::new();
        let mut current: Option<&str> = None;
        for (who, path) in &list {
            if current != Some(who.as_str()) {
                lines.push(format!("conflicts with {who}:"));
                current = Some(who.as_str());
            }
            lines.push(format!("- {path}"));
        }
        format!("Apply failed with {} conflicts: {}", list.len(), lines.join("\n"))
    };
    ApiError::new(409, "Conflict", message).with_details(Details { causes, ..Default::default() })
}

/// How kube-apiserver names a manager in conflicts: `"owner-a"`, or for updaters
/// `"kubectl-edit" using apps/v1`, with `with subresource "status"` when there is one.
fn print_manager(e: &ManagedEntry) -> String {
    let mut s = crate::api::error::go_quote(&e.manager);
    if let Some(sub) = &e.subresource {
        s = format!("{s} with subresource {}", crate::api::error::go_quote(sub));
    }
    if e.operation == UPDATE {
        s = format!("{s} using {}", e.api_version);
    }
    s
}

/// Fields kubectl may take from client-side apply without conflict: those its
/// last-applied annotation lists with the value the object still has.
fn allowed_from_last_applied(live: &Value, meta: &dyn SchemaMeta) -> Option<FieldSet> {
    let raw = live.pointer("/metadata/annotations")?.get(LAST_APPLIED)?.as_str()?;
    if raw.is_empty() {
        return None;
    }
    let last: Value = serde_json::from_str(raw).ok()?;
    let set = applied_set(&last, meta);
    let c = compare(Some(&last), Some(live), meta);
    Some(set.difference(&c.modified))
}

/// Keeps an existing last-applied annotation equal to what kubectl now applies server-side,
/// so a later client-side apply computes from the right base.
fn sync_last_applied(merged: &mut Value, applied: &Value) {
    let has = merged
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    if !has {
        return;
    }
    let mut copy = applied.clone();
    if let Some(a) = copy.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.remove(LAST_APPLIED);
    }
    let value = format!("{}\n", canonical_json(&copy));
    if let Some(a) = merged.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.insert(LAST_APPLIED.into(), Value::String(value));
    }
}

fn meta_at(meta: &dyn SchemaMeta, names: &[String]) -> FieldMeta {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    meta.field(&refs)
}

fn is_atomic_object(fm: &FieldMeta, is_item: bool) -> bool {
    fm.map_type.as_deref() == Some("atomic") && (is_item || fm.list_type.is_none())
}

/// structured-merge-diff's merge of an applied configuration (`rhs`) into `lhs`: objects
/// merge key by key (a `null` in the configuration removes the field), atomic values and
/// scalars take the applied value, lists merge per their list type.
fn merge_values(
    lhs: &Value,
    rhs: &Value,
    names: &mut Vec<String>,
    meta: &dyn SchemaMeta,
    is_item: bool,
) -> Value {
    let fm = if names.is_empty() { FieldMeta::default() } else { meta_at(meta, names) };
    match (lhs, rhs) {
        (Value::Object(l), Value::Object(r))
            if names.is_empty() || !is_atomic_object(&fm, is_item) =>
        {
            let mut out = l.clone();
            for (k, rv) in r {
                if rv.is_null() {
                    out.remove(k);
                    continue;
                }
                names.push(k.clone());
                let v = match l.get(k) {
                    Some(lv) => merge_values(lv, rv, names, meta, false),
                    None => merge_values(&Value::Null, rv, names, meta, false),
                };
                names.pop();
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        (Value::Null, Value::Object(r)) if !is_atomic_object(&fm, is_item) => {
            // Nothing live: still drop nulls the configuration carries.
            merge_values(
                &Value::Object(Map::new()),
                &Value::Object(r.clone()),
                names,
                meta,
                is_item,
            )
        }
        (Value::Array(l), Value::Array(r)) => merge_lists(l, r, names, meta, &fm),
        (_, r) => r.clone(),
    }
}

/// Identity of list items: `k:`/`v:` path elements; `None` for atomic lists.
fn item_ids(items: &[Value], fm: &FieldMeta) -> Option<Vec<PathElement>> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        out.push(super::fieldset::item_path_element(fm, it)?);
    }
    Some(out)
}

fn merge_lists(
    l: &[Value],
    r: &[Value],
    names: &mut Vec<String>,
    meta: &dyn SchemaMeta,
    fm: &FieldMeta,
) -> Value {
    let (Some(lpe), Some(rpe)) = (item_ids(l, fm), item_ids(r, fm)) else {
        return Value::Array(r.to_vec());
    };
    let is_map = matches!(fm.list_type.as_deref(), Some("map"))
        || (fm.list_type.is_none() && fm.patch_merge_key.is_some());
    let find = |pes: &[PathElement], pe: &PathElement| pes.iter().position(|p| p == pe);
    let merge_item = |li: Option<usize>, ri: usize, names: &mut Vec<String>| -> Value {
        match li {
            Some(li) if is_map => merge_values(&l[li], &r[ri], names, meta, true),
            _ if is_map => merge_values(&Value::Null, &r[ri], names, meta, true),
            _ => r[ri].clone(),
        }
    };

    // The shared items in the configuration's order; live-only items keep their places.
    let mut shared: std::collections::VecDeque<&PathElement> =
        rpe.iter().filter(|pe| find(&lpe, pe).is_some()).collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(l.len().max(r.len()));
    let (mut li, mut ri) = (0, 0);
    while li < l.len() || ri < r.len() {
        if li < l.len() && ri < r.len() {
            if lpe[li] == rpe[ri] {
                merged_rhs.push(&rpe[ri]);
                out.push(merge_item(Some(li), ri, names));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if find(&rpe, &lpe[li]).is_some() && next_shared.is_some_and(|n| *n != lpe[li]) {
                li += 1;
                continue;
            }
        }
        if li < l.len() {
            if find(&rpe, &lpe[li]).is_none() {
                out.push(l[li].clone());
                li += 1;
                continue;
            } else if merged_rhs.contains(&&lpe[li]) || ri >= r.len() {
                li += 1;
                continue;
            }
        }
        if ri < r.len() {
            let pe = &rpe[ri];
            merged_rhs.push(pe);
            out.push(merge_item(find(&lpe, pe), ri, names));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    Value::Array(out)
}

/// Removes from `merged` what the applier applied last time (`last`) but no manager owns
/// any more, neither the field itself nor anything below it.
fn prune(merged: &mut Value, last: &FieldSet, entries: &[ManagedEntry], meta: &dyn SchemaMeta) {
    if last.is_empty() {
        return;
    }
    let owned = entries.iter().fold(FieldSet::new(), |acc, e| acc.union(&e.fields));
    let mut paths = last.paths();
    // Deepest first, so removing a child never invalidates a path still to be visited.
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in paths {
        if owned.contains_prefix(&p) || is_key_field(&p) {
            continue;
        }
        remove_path(merged, &p, &mut Vec::new(), meta);
    }
}

/// A key field of an associative-list item (`name` under `k:{"name":...}`) goes with its
/// item, never alone.
fn is_key_field(p: &Path) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    match (&p[n - 2], &p[n - 1]) {
        (PathElement::Key(k), PathElement::Field(f)) => serde_json::from_str::<Value>(k)
            .ok()
            .and_then(|v| v.as_object().map(|m| m.contains_key(f)))
            .unwrap_or(false),
        _ => false,
    }
}

fn remove_path(
    v: &mut Value,
    path: &[PathElement],
    names: &mut Vec<String>,
    meta: &dyn SchemaMeta,
) {
    let Some((first, rest)) = path.split_first() else { return };
    match (first, v) {
        (PathElement::Field(f), Value::Object(m)) => {
            if rest.is_empty() {
                m.remove(f);
                return;
            }
            if let Some(child) = m.get_mut(f) {
                names.push(f.clone());
                remove_path(child, rest, names, meta);
                let fm = meta_at(meta, names);
                names.pop();
                let emptied = child.as_object().is_some_and(Map::is_empty)
                    || child.as_array().is_some_and(Vec::is_empty);
                if emptied && !fm.default_empty {
                    m.remove(f);
                }
            }
        }
        (PathElement::Key(_) | PathElement::Value(_), Value::Array(items)) => {
            let fm = meta_at(meta, names);
            let Some(i) = items
                .iter()
                .position(|it| super::fieldset::item_path_element(&fm, it).as_ref() == Some(first))
            else {
                return;
            };
            if rest.is_empty() {
                items.remove(i);
            } else {
                remove_path(&mut items[i], rest, names, meta);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::StaticMeta;
    use super::super::managed::track_update;
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-11-26T07:15:31Z";

    fn load(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn yaml(s: &str) -> Value {
        parse_applied(s.as_bytes()).unwrap()
    }

    fn strip_server(v: &Value) -> Value {
        let mut v = v.clone();
        let m = v["metadata"].as_object_mut().unwrap();
        for k in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            m.remove(k);
        }
        v
    }

    #[test]
    fn apply_creates_like_reference_owner_a() {
        let applied = yaml(include_str!("testdata/req-apply-owner-a.yaml"));
        let got = apply(None, &applied, "owner-a", false, &StaticMeta, NOW).unwrap();
        let want = strip_server(&load(include_str!("testdata/setup-ssa-owner-a.json")));
        assert_eq!(got, want);
    }

    #[test]
    fn conflict_matches_reference_409() {
        let live = load(include_str!("testdata/setup-ssa-owner-a.json"));
        let applied = yaml(include_str!("testdata/req-apply-owner-b.yaml"));
        let err = apply(Some(&live), &applied, "owner-b", false, &StaticMeta, NOW).unwrap_err();
        assert_eq!(err.to_status(), load(include_str!("testdata/409-apply-conflict.json")));
    }

    #[test]
    fn force_moves_fields_like_reference_200() {
        let live = load(include_str!("testdata/setup-ssa-owner-a.json"));
        let applied = yaml(include_str!("testdata/req-apply-owner-b.yaml"));
        let got = apply(Some(&live), &applied, "owner-b", true, &StaticMeta, NOW).unwrap();
        let want = load(include_str!("testdata/200-apply-force.json"));
        assert_eq!(strip_server(&got), strip_server(&want));
    }

    #[test]
    fn single_conflict_message_and_updater_naming() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d",
            "managedFields": [{"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
                "time": "T", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
            "spec": {"replicas": 1}});
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2}});
        let err = apply(Some(&live), &applied, "me", false, &StaticMeta, NOW).unwrap_err();
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
        );
        assert_eq!(err.details.as_ref().unwrap().causes[0].field, ".spec.replicas");
    }

    #[test]
    fn equal_values_are_shared_not_conflicting() {
        let before = load(include_str!("testdata/04-json-patch.response.json"));
        let applied = yaml(include_str!("testdata/05-apply-patch.request.yaml"));
        let got =
            apply(Some(&before), &applied, "kubectl", false, &StaticMeta, "2026-11-26T07:15:35Z")
                .unwrap();
        let want = load(include_str!("testdata/05-apply-patch.response.json"));
        assert_eq!(got["spec"], want["spec"]);
        assert_eq!(got["metadata"]["annotations"], want["metadata"]["annotations"]);
        let mf_got = &got["metadata"]["managedFields"];
        let mf_want = &want["metadata"]["managedFields"];
        assert_eq!(mf_got, mf_want);
    }

    #[test]
    fn dropped_fields_are_removed_unless_owned_elsewhere() {
        let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1", "b": "2", "c": "3"}});
        let live = apply(None, &first, "me", false, &StaticMeta, NOW).unwrap();
        // Someone else also sets b (same value), then takes c with a new value.
        let mut live2 = live.clone();
        live2["data"]["c"] = json!("33");
        track_update(Some(&live), &mut live2, "other", "v1", Some(NOW), None, &StaticMeta);
        let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"b": "2"}});
        let got = apply(Some(&live2), &second, "me", false, &StaticMeta, NOW).unwrap();
        assert_eq!(got["data"], json!({"b": "2", "c": "33"}));
    }

    #[test]
    fn keyed_lists_merge_and_prune_items() {
        let first = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let live = apply(None, &first, "me", false, &StaticMeta, NOW).unwrap();
        assert_eq!(
            live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"],
            json!({"k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:name": {}},
                   "k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}})
        );
        let second = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "b", "image": "z"}]}});
        let got = apply(Some(&live), &second, "me", false, &StaticMeta, NOW).unwrap();
        assert_eq!(got["spec"]["containers"], json!([{"name": "b", "image": "z"}]));
    }

    #[test]
    fn list_merge_keeps_live_only_items_in_place() {
        let fm = StaticMeta.field(&["spec", "containers"]);
        let l = vec![json!({"name": "a"}), json!({"name": "x"}), json!({"name": "b"})];
        let r =
            vec![json!({"name": "b", "i": 1}), json!({"name": "a", "i": 2}), json!({"name": "c"})];
        let got =
            merge_lists(&l, &r, &mut vec!["spec".into(), "containers".into()], &StaticMeta, &fm);
        let names: Vec<&str> =
            got.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["x", "b", "a", "c"]);
    }

    #[test]
    fn server_side_migration_from_client_side_apply() {
        // kubectl-logs/kubectl-apply-server-side.log: the object as client-side apply left it.
        let live = json!({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"web-settings","namespace":"demo","uid":"d27e94da-794d-4aba-bba6-c5fb760f1dd9","resourceVersion":"867","creationTimestamp":"2026-11-26T07:16:12Z","labels":{"app":"web"},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"data\":{\"color\":\"green\",\"theme\":\"dark\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"web\"},\"name\":\"web-settings\",\"namespace\":\"demo\"}}\n"},"managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2026-11-26T07:16:12Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:color":{},"f:theme":{}},"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}},"f:labels":{".":{},"f:app":{}}}}}]},"data":{"color":"green","theme":"dark"}});
        let t = "2026-11-26T07:16:12Z";
        let body = br#"{"apiVersion":"v1","data":{"color":"red","theme":"dark"},"kind":"ConfigMap","metadata":{"labels":{"app":"web","tier":"frontend"},"name":"web-settings","namespace":"demo"}}"#;
        let applied = parse_applied(body).unwrap();

        // 1. Apply as kubectl: color conflicts with client-side apply but is allowed.
        let r1 = apply(Some(&live), &applied, "kubectl", false, &StaticMeta, t).unwrap();
        let la = "{\"apiVersion\":\"v1\",\"data\":{\"color\":\"red\",\"theme\":\"dark\"},\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"frontend\"},\"name\":\"web-settings\",\"namespace\":\"demo\"}}\n";
        assert_eq!(r1["metadata"]["annotations"][LAST_APPLIED], la);
        assert_eq!(r1["data"]["color"], "red");
        let mf = &r1["metadata"]["managedFields"];
        assert_eq!(mf[0]["manager"], "kubectl");
        assert_eq!(
            mf[0]["fieldsV1"],
            json!({"f:data": {"f:color": {}, "f:theme": {}},
            "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}})
        );
        assert_eq!(mf[1]["manager"], "kubectl-client-side-apply");
        assert_eq!(mf[1]["fieldsV1"]["f:data"], json!({".": {}, "f:theme": {}}));

        // 2. Apply the annotation as kubectl-last-applied: a no-op, so no time.
        let ann = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"annotations":{LAST_APPLIED: la},"name":"web-settings","namespace":"demo"}});
        let r2 = apply(Some(&r1), &ann, "kubectl-last-applied", false, &StaticMeta, t).unwrap();
        let e = &r2["metadata"]["managedFields"][0];
        assert_eq!(e["manager"], "kubectl-last-applied");
        assert!(e.get("time").is_none());

        // 3. kubectl rewrites managedFields with a JSON patch (handled by track_update).
        let jp = br#"[{"op":"replace","path":"/metadata/managedFields","value":[{"manager":"kubectl-last-applied","operation":"Apply","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}},{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2026-11-26T07:16:12Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:color":{},"f:theme":{}},"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}},"f:labels":{".":{},"f:app":{},"f:tier":{}}}}}]}]"#;
        let mut r3 = super::super::json::json_patch(&r2, jp).unwrap();
        track_update(Some(&r2), &mut r3, "kubectl", "v1", Some(t), None, &StaticMeta);
        let sent: Value = serde_json::from_slice::<Value>(jp).unwrap()[0]["value"].clone();
        assert_eq!(r3["metadata"]["managedFields"], sent);

        // 4. Apply again as kubectl: the annotation survives (kubectl-last-applied owns it).
        let r4 = apply(Some(&r3), &applied, "kubectl", false, &StaticMeta, t).unwrap();
        assert_eq!(r4["metadata"]["annotations"][LAST_APPLIED], la);
        assert_eq!(
            r4["metadata"]["managedFields"],
            json!([
                {"manager":"kubectl-last-applied","operation":"Apply","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}},
                {"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2026-11-26T07:16:12Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:color":{},"f:theme":{}},"f:metadata":{"f:labels":{"f:app":{},"f:tier":{}}}}}
            ])
        );
        assert_eq!(r4["data"], json!({"color": "red", "theme": "dark"}));
    }

    #[test]
    fn rejects_managed_fields_in_configuration_and_bad_yaml() {
        let applied = json!({"metadata": {"managedFields": [{"manager": "x"}]}});
        assert_eq!(apply(None, &applied, "m", false, &StaticMeta, NOW).unwrap_err().code, 400);
        assert_eq!(parse_applied(b"a: [").unwrap_err().code, 400);
        assert_eq!(parse_applied(b"- 1").unwrap_err().code, 400);
    }

    #[test]
    fn nulls_in_configuration_remove_fields() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": null, "b": "2"}});
        let got = apply(Some(&live), &applied, "m", false, &StaticMeta, NOW).unwrap();
        assert_eq!(got["data"], json!({"b": "2"}));
    }
}
