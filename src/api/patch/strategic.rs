//! Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).
//!
//! Like a JSON merge patch, except lists: a list whose field has patch strategy `merge`
//! and a merge key merges item by item on that key; a `merge` list of primitives merges
//! as a set; every other list is replaced. Directives steer the rest:
//! `$patch: replace|delete|merge` (in a map or as a list item), `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`. This is what
//! client-side `kubectl apply`, `edit`, `patch`, `label` and `annotate` send.

use serde_json::{Map, Value};

use super::{FieldMeta, SchemaMeta, go_value};
use crate::api::error::{ApiError, ApiResult};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// Applies a strategic merge patch body to `original`.
///
/// Errors follow kube-apiserver: a body that is not a JSON object or a malformed directive
/// is a 400, retainKeys mismatches a 422, and the merge errors it does not classify
/// (missing merge key, unknown `$patch` value) a 500 without reason.
pub fn strategic_patch(original: &Value, body: &[u8], meta: &dyn SchemaMeta) -> ApiResult<Value> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Value::Object(patch) = raw else {
        return Err(super::json::cannot_unmarshal(
            super::json::go_kind(&raw),
            "map[string]interface {}",
        ));
    };
    let base = match original {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let mut path = Vec::new();
    merge_map(base, patch, &mut path, meta).map(Value::Object)
}

/// The bare-Go-error case: kube-apiserver renders it as a 500 without `reason`.
fn unclassified(message: String) -> ApiError {
    ApiError::new(500, "", message)
}

fn bad_request(message: &str) -> ApiError {
    ApiError::bad_request(message)
}

fn field_meta(meta: &dyn SchemaMeta, path: &[String]) -> FieldMeta {
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    meta.field(&refs)
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    path: &mut Vec<String>,
    meta: &dyn SchemaMeta,
) -> ApiResult<Map<String, Value>> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        match directive.as_str() {
            Some("replace") => return merge_map(Map::new(), patch, path, meta),
            Some("delete") => return Ok(Map::new()),
            Some("merge") => {}
            _ => {
                return Err(unclassified(format!(
                    "Unknown patch type: {} in map: {}",
                    go_value(&directive),
                    go_value(&Value::Object(patch))
                )));
            }
        }
    }

    if let Some(retain) = patch.remove(RETAIN_KEYS) {
        let keys: Vec<String> = match &retain {
            Value::Array(a) if a.iter().all(Value::is_string) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
            }
            _ => return Err(bad_request("invalid patch format of retainKeys")),
        };
        for k in patch.keys() {
            if !k.starts_with('$') && !keys.contains(k) {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                )
                .with_details(Default::default()));
            }
        }
        original.retain(|k, _| keys.contains(k));
    }

    // Field, wanted order, and the live list (its item ids) the order is relative to.
    let mut orders: Vec<(String, Vec<Value>, Vec<Value>)> = Vec::new();
    for (k, v) in &patch {
        if let Some(field) = k.strip_prefix(DELETE_FROM_PRIMITIVE) {
            let Value::Array(drop) = v else {
                return Err(bad_request("invalid patch format of primitive list"));
            };
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|item| !drop.contains(item));
            }
        } else if let Some(field) = k.strip_prefix(SET_ELEMENT_ORDER) {
            let Value::Array(order) = v else {
                return Err(bad_request("invalid patch format of setElementOrder list"));
            };
            let server: Vec<Value> = match original.get(field) {
                Some(Value::Array(list)) => list.clone(),
                _ => Vec::new(),
            };
            orders.push((field.to_string(), order.clone(), server));
        }
    }

    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            original.remove(&k);
            continue;
        }
        path.push(k.clone());
        let merged = match original.remove(&k) {
            Some(Value::Object(o)) if v.is_object() => {
                let Value::Object(p) = v else { unreachable!("checked is_object") };
                merge_map(o, p, path, meta).map(Value::Object)
            }
            Some(Value::Array(o)) if v.is_array() => {
                let Value::Array(p) = v else { unreachable!("checked is_array") };
                merge_list(o, p, path, meta).map(Value::Array)
            }
            _ => fresh(v, path, meta),
        };
        path.pop();
        original.insert(k, merged?);
    }

    for (field, order, server) in orders {
        path.push(field.clone());
        let fm = field_meta(meta, path);
        path.pop();
        if let Some(Value::Array(list)) = original.get_mut(&field) {
            let key = fm.patch_merge_key.as_deref();
            let server: Vec<Value> = match key {
                Some(k) => {
                    server.iter().map(|v| v.get(k).cloned().unwrap_or(Value::Null)).collect()
                }
                None => server,
            };
            *list = reorder(std::mem::take(list), &order, key, &server);
        }
    }
    Ok(original)
}

/// A patch value for a field the original lacks: directives and nulls are resolved
/// against an empty value, so they never leak into the stored object.
fn fresh(v: Value, path: &mut Vec<String>, meta: &dyn SchemaMeta) -> ApiResult<Value> {
    match v {
        Value::Object(p) => merge_map(Map::new(), p, path, meta).map(Value::Object),
        Value::Array(p) => merge_list(Vec::new(), p, path, meta).map(Value::Array),
        other => Ok(other),
    }
}

fn merge_list(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    path: &mut Vec<String>,
    meta: &dyn SchemaMeta,
) -> ApiResult<Vec<Value>> {
    let fm = field_meta(meta, path);
    if !fm.has_strategy("merge") {
        return Ok(patch);
    }
    let of_maps = patch.iter().chain(original.iter()).any(Value::is_object);
    if !of_maps {
        for item in patch {
            if !original.contains(&item) {
                original.push(item);
            }
        }
        return Ok(original);
    }
    let Some(key) = fm.patch_merge_key.clone() else {
        return Ok(patch);
    };

    let mut items = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(mut m) = item else {
            return Err(unclassified(format!(
                "unable to find api field in struct {} for the json field {:?}",
                path.last().map(String::as_str).unwrap_or(""),
                go_value(&item)
            )));
        };
        match m.get(DIRECTIVE).cloned() {
            None => items.push(m),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let Some(kv) = m.get(&key) else {
                        return Err(no_merge_key(&m, &key));
                    };
                    original.retain(|o| o.get(&key) != Some(kv));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(unclassified(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => {
                    m.remove(DIRECTIVE);
                    return Err(unclassified(format!(
                        "Unknown patch type: {} in map: {}",
                        go_value(&d),
                        go_value(&Value::Object(m))
                    )));
                }
            },
        }
    }
    if replace {
        let mut out = Vec::with_capacity(items.len());
        for m in items {
            out.push(Value::Object(merge_map(Map::new(), m, path, meta)?));
        }
        return Ok(out);
    }
    for m in items {
        let Some(kv) = m.get(&key).cloned() else {
            return Err(no_merge_key(&m, &key));
        };
        match original.iter().position(|o| o.get(&key) == Some(&kv)) {
            Some(i) => {
                let base = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(base, m, path, meta)?);
            }
            None => original.push(Value::Object(merge_map(Map::new(), m, path, meta)?)),
        }
    }
    Ok(original)
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> ApiError {
    unclassified(format!(
        "map: {} does not contain declared merge key: {key}",
        go_value(&Value::Object(m.clone()))
    ))
}

/// Applies `$setElementOrder` as apimachinery's `normalizeElementOrder` does: items named
/// in `order` take that order, the others keep the live order, and the two runs are
/// interleaved by their positions in the live list (`server`).
fn reorder(list: Vec<Value>, order: &[Value], key: Option<&str>, server: &[Value]) -> Vec<Value> {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let order_ids: Vec<Value> = order.iter().map(&id).collect();
    let (mut named, rest): (Vec<Value>, Vec<Value>) =
        list.into_iter().partition(|v| order_ids.contains(&id(v)));
    named.sort_by_key(|v| order_ids.iter().position(|o| *o == id(v)).unwrap_or(usize::MAX));
    let server_index = |v: &Value| server.iter().position(|s| *s == id(v));
    let mut out = Vec::with_capacity(named.len() + rest.len());
    let (mut left, mut right) = (rest.into_iter().peekable(), named.into_iter().peekable());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (server_index(l), server_index(r)) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::StaticMeta;
    use super::*;
    use serde_json::json;

    fn smp(original: Value, patch: Value) -> ApiResult<Value> {
        strategic_patch(&original, patch.to_string().as_bytes(), &StaticMeta)
    }

    fn load(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn reference_image_change_merges_containers_by_name() {
        let before = load(include_str!("testdata/00-deployment-before.json"));
        let got = strategic_patch(
            &before,
            include_bytes!("testdata/01-strategic-merge-image.request.json"),
            &StaticMeta,
        )
        .unwrap();
        let want = load(include_str!("testdata/01-strategic-merge-image.response.json"));
        assert_eq!(got["spec"]["template"]["spec"], want["spec"]["template"]["spec"]);
        assert_eq!(got["metadata"]["labels"], want["metadata"]["labels"]);
    }

    #[test]
    fn reference_delete_directive_removes_one_env_entry() {
        let before = load(include_str!("testdata/01-strategic-merge-image.response.json"));
        let got = strategic_patch(
            &before,
            include_bytes!("testdata/02-strategic-merge-delete-env.request.json"),
            &StaticMeta,
        )
        .unwrap();
        let want = load(include_str!("testdata/02-strategic-merge-delete-env.response.json"));
        assert_eq!(got["spec"]["template"]["spec"], want["spec"]["template"]["spec"]);
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let got = smp(
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
        )
        .unwrap();
        assert_eq!(got, json!({"metadata": {"labels": {"b": "2", "c": "3"}}}));
    }

    #[test]
    fn lists_without_merge_strategy_replace() {
        let got = smp(
            json!({"spec": {"containers": [{"name": "a", "command": ["x", "y"]}]}}),
            json!({"spec": {"containers": [{"name": "a", "command": ["z"]}]}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["containers"][0]["command"], json!(["z"]));
        let got = smp(
            json!({"spec": {"tolerations": [{"key": "a"}]}}),
            json!({"spec": {"tolerations": [{"key": "b"}]}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["tolerations"], json!([{"key": "b"}]));
    }

    #[test]
    fn new_keyed_items_append_and_nulls_inside_are_dropped() {
        let got = smp(
            json!({"spec": {"containers": [{"name": "a", "image": "i"}]}}),
            json!({"spec": {"containers": [{"name": "b", "image": "j", "x": null}]}}),
        )
        .unwrap();
        assert_eq!(
            got["spec"]["containers"],
            json!([{"name": "a", "image": "i"}, {"name": "b", "image": "j"}])
        );
    }

    #[test]
    fn primitive_merge_lists_are_sets_and_delete_from_primitive_list() {
        let got = smp(
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
        )
        .unwrap();
        assert_eq!(got["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let got = smp(
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .unwrap();
        assert_eq!(got["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn replace_directives() {
        let got = smp(
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}),
            json!({"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["containers"], json!([{"name": "c"}]));
        let got = smp(
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"b": "2", "$patch": "replace"}}}),
        )
        .unwrap();
        assert_eq!(got["metadata"]["labels"], json!({"b": "2"}));
        let got = smp(
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
        )
        .unwrap();
        assert_eq!(got["metadata"]["labels"], json!({}));
        let got = smp(
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"b": "1", "$patch": "merge"}}}),
        )
        .unwrap();
        assert_eq!(got["metadata"]["labels"], json!({"a": "1", "b": "1"}));
    }

    #[test]
    fn retain_keys_clears_other_fields() {
        let got = smp(
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        )
        .unwrap();
        assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
        let e = smp(json!({}), json!({"spec": {"$retainKeys": "x"}})).unwrap_err();
        assert_eq!(e.code, 400);
        let e = smp(json!({}), json!({"spec": {"$retainKeys": ["a"], "b": 1}})).unwrap_err();
        assert_eq!(e.code, 422);
    }

    #[test]
    fn set_element_order_reorders_and_keeps_server_only_items() {
        let got = smp(
            json!({"spec": {"containers": [{"name": "a"}, {"name": "s"}, {"name": "b"}]}}),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                "containers": [{"name": "b", "image": "x"}]
            }}),
        )
        .unwrap();
        let names: Vec<&str> = got["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // apimachinery's merge puts the live-only "s" first: it precedes "b" live.
        assert_eq!(names, ["s", "b", "a"]);
        assert_eq!(got["spec"]["containers"][1]["image"], "x");
        let got = smp(
            json!({"spec": {"containers": [{"name": "a"}, {"name": "s"}, {"name": "b"}]}}),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "n"}, {"name": "b"}],
                "containers": [{"name": "n"}]
            }}),
        )
        .unwrap();
        let names: Vec<&str> = got["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // A new item has no live position, so it wins every comparison (apimachinery).
        assert_eq!(names, ["a", "n", "s", "b"]);
    }

    #[test]
    fn kubectl_client_side_apply_shaped_patch() {
        // What `kubectl apply` (client side) sends after removing an env var and an
        // annotation while adding a container port.
        let live = json!({"metadata": {"annotations": {"a": "1", "keep": "2"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}});
        let patch = json!({"metadata": {"annotations": {"a": null}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"name": "web",
                    "$setElementOrder/env": [{"name": "B"}],
                    "$setElementOrder/ports": [{"containerPort": 443}, {"containerPort": 80}],
                    "env": [{"name": "A", "$patch": "delete"}],
                    "ports": [{"containerPort": 443, "protocol": "TCP"}]}]}}}});
        let got = smp(live, patch).unwrap();
        assert_eq!(got["metadata"]["annotations"], json!({"keep": "2"}));
        let c = &got["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["env"], json!([{"name": "B", "value": "2"}]));
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 443, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP"}])
        );
    }

    #[test]
    fn service_ports_merge_by_port_and_owner_references_by_uid() {
        let got = smp(
            json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]},
                   "metadata": {"ownerReferences": [{"uid": "u1", "name": "a"}]}}),
            json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]},
                   "metadata": {"ownerReferences": [{"uid": "u2", "name": "b"}]}}),
        )
        .unwrap();
        assert_eq!(
            got["spec"]["ports"],
            json!([{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": 8443}])
        );
        assert_eq!(got["metadata"]["ownerReferences"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn kubectl_diff_patch_with_resource_version() {
        let live = json!({"metadata": {"name": "web-settings", "resourceVersion": "866", "labels": {"app": "web"}},
            "data": {"color": "green", "theme": "dark"}});
        let body = br#"{"data":{"color":"red"},"metadata":{"labels":{"tier":"frontend"},"resourceVersion":"867"}}"#;
        let got = strategic_patch(&live, body, &StaticMeta).unwrap();
        assert_eq!(got["metadata"]["resourceVersion"], "867");
        assert_eq!(got["metadata"]["labels"], json!({"app": "web", "tier": "frontend"}));
        assert_eq!(got["data"], json!({"color": "red", "theme": "dark"}));
    }

    #[test]
    fn errors_match_kube_apiserver_classes() {
        let e = smp(json!({}), json!({"spec": {"containers": [{"image": "x"}]}})).unwrap_err();
        assert_eq!(e.code, 500);
        assert_eq!(e.message, "map: map[image:x] does not contain declared merge key: name");
        assert!(e.to_status().get("reason").is_none());
        let e = smp(json!({}), json!({"metadata": {"$patch": "bogus"}})).unwrap_err();
        assert_eq!(e.code, 500);
        let e = strategic_patch(&json!({}), b"[1]", &StaticMeta).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }
}
