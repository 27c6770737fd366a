//! The garbage collector: dependents follow their owners per
//! `ownerReferences`, as kube-controller-manager's garbage collector does.
//!
//! - An owner gone (Background deletion, or deleted behind our back): every
//!   dependent whose owners are all gone is deleted; a dependent with a live
//!   owner left only loses the dangling reference.
//! - An owner with the `foregroundDeletion` finalizer: its dependents are
//!   deleted (in the foreground themselves, so grandchildren go first); once
//!   none is left the finalizer goes and the owner with it.
//! - An owner with the `orphan` finalizer: its dependents lose their
//!   reference to it, then the finalizer goes.
//!
//! Nothing is cached: dependents are found by listing the owner's namespace
//! when a key that needs it is reconciled (a deletion), which keeps memory
//! flat at the price of a scan per deletion.

use super::Queue;
use crate::api::handlers::{DeleteOptions, delete_one};
use crate::api::meta;
use crate::kinds::{self, ResourceType};
use crate::store::{Change, Store};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

/// Longest wait between looks at an owner whose foreground deletion waits
/// for dependents nothing else will requeue it for.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Run for every reconciled key, before the kind's own controller.
pub fn reconcile(
    store: &Store,
    queue: &Queue,
    resource: &str,
    ns: &str,
    name: &str,
    obj: Option<&Value>,
) -> Result<(), String> {
    let Some(rt) = owner_type(resource) else { return Ok(()) };
    match obj {
        None => collect_orphaned(store, queue, rt, ns, name),
        Some(o) if o["metadata"].get("deletionTimestamp").is_some() => {
            let finalizers = finalizers(o);
            if finalizers.iter().any(|f| f == ORPHAN) {
                orphan_dependents(store, queue, rt, o)?;
                remove_finalizer(store, queue, rt, o, ORPHAN)?;
            } else if finalizers.iter().any(|f| f == FOREGROUND) {
                // Every dependent is deleted, but only those with
                // `blockOwnerDeletion: true` hold the owner (as Kubernetes'
                // `blockingDependents`); the rest are collected once it is gone.
                let uid = &o["metadata"]["uid"];
                let mut blocking = false;
                for (drt, d) in dependents_of(store, rt, o) {
                    blocking |= refs(&d).iter().any(|r| r["uid"] == *uid && blocks(r));
                    if d["metadata"].get("deletionTimestamp").is_none() {
                        delete(store, queue, drt, &d, "Foreground")?;
                    }
                }
                if blocking {
                    // Dependents may go without anything queueing the owner
                    // (a controller deleting its own EndpointSlice): look
                    // again, less often the longer it takes.
                    let since = o["metadata"]["deletionTimestamp"].as_str().unwrap_or("");
                    queue.enqueue_after(
                        rt.storage,
                        ns,
                        name,
                        settle_delay(since, SystemTime::now(), MAX_RETRY),
                    );
                } else {
                    remove_finalizer(store, queue, rt, o, FOREGROUND)?;
                }
            }
            Ok(())
        }
        Some(o) => collect_if_dangling(store, queue, rt, o),
    }
}

/// How long to wait before looking again at something that has been
/// settling since `since` (RFC 3339): about as long as it has already taken,
/// between 1 s and `max` — an exponential back-off that needs no state,
/// since each look comes roughly when the previous delay ran out.
pub(super) fn settle_delay(since: &str, now: SystemTime, max: Duration) -> Duration {
    let start = crate::api::table::parse_rfc3339(since).unwrap_or(0);
    let now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
    let age = u64::try_from((now - start).max(0) / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::from_secs(age).clamp(Duration::from_secs(1), max)
}

fn blocks(r: &Value) -> bool {
    r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
}

/// The kind served from `resource`. Cluster-scoped owners are tracked too
/// (their namespaced dependents are found in every namespace).
fn owner_type(resource: &str) -> Option<&'static ResourceType> {
    kinds::registry().iter().copied().find(|r| r.storage == resource)
}

fn finalizers(o: &Value) -> Vec<String> {
    o["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn refs(o: &Value) -> &[Value] {
    o["metadata"]["ownerReferences"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Where dependents of `owner` may live: namespaced storages of its own
/// namespace, or for a cluster-scoped owner every storage everywhere. Each
/// storage once (views such as events.k8s.io share one).
fn scopes<'a>(
    owner: &'static ResourceType,
    ns: &'a str,
) -> Vec<(&'static ResourceType, Option<&'a str>)> {
    let mut out: Vec<(&'static ResourceType, Option<&'a str>)> = Vec::new();
    for rt in kinds::registry() {
        if (rt.namespaced || !owner.namespaced) && !out.iter().any(|(o, _)| o.storage == rt.storage)
        {
            out.push((rt, if owner.namespaced { Some(ns) } else { None }));
        }
    }
    out
}

/// Objects that reference `owner` by uid.
fn dependents_of(
    store: &Store,
    rt: &'static ResourceType,
    owner: &Value,
) -> Vec<(&'static ResourceType, Arc<Value>)> {
    let ns = owner["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = &owner["metadata"]["uid"];
    let mut out = Vec::new();
    for (drt, scope) in scopes(rt, ns) {
        let (items, _) = store.list(drt.storage, scope, None);
        for o in items {
            if refs(&o).iter().any(|r| r["uid"] == *uid) {
                out.push((drt, o));
            }
        }
    }
    out
}

/// The kind an owner reference names, if k2d serves it.
fn referenced_type(r: &Value) -> Option<&'static ResourceType> {
    let kind = r["kind"].as_str().unwrap_or("");
    let api_version = r["apiVersion"].as_str().unwrap_or("");
    kinds::registry().iter().copied().find(|t| t.kind == kind && t.api_version() == api_version)
}

/// Whether an owner reference of an object in `ns` ("" if cluster-scoped)
/// may point at a live object. Unresolvable references count as alive, as
/// Kubernetes' collector never deletes through them: a kind k2d does not
/// serve, and a namespaced owner of a cluster-scoped object.
fn alive(store: &Store, ns: &str, r: &Value) -> bool {
    let Some(rt) = referenced_type(r) else { return true };
    if rt.namespaced && ns.is_empty() {
        return true;
    }
    let ns = if rt.namespaced { ns } else { "" };
    store
        .get(rt.storage, ns, r["name"].as_str().unwrap_or(""))
        .is_some_and(|o| o["metadata"]["uid"] == r["uid"])
}

/// What to do with an object whose owners are checked.
#[derive(Debug, PartialEq)]
enum Verdict {
    Keep,
    /// Every owner is gone: collect it.
    Delete,
    /// Some owners are gone: forget these uids.
    DropRefs(Vec<Value>),
}

fn verdict(refs: &[Value], alive: impl Fn(&Value) -> bool) -> Verdict {
    let dangling: Vec<Value> =
        refs.iter().filter(|r| !alive(r)).map(|r| r["uid"].clone()).collect();
    if dangling.is_empty() {
        Verdict::Keep
    } else if dangling.len() == refs.len() {
        Verdict::Delete
    } else {
        Verdict::DropRefs(dangling)
    }
}

/// Collect `d` if all its owners are gone, or drop the references to those
/// gone; what a missed deletion (k2d down, a queue entry lost) left behind.
fn collect_if_dangling(
    store: &Store,
    queue: &Queue,
    drt: &'static ResourceType,
    d: &Value,
) -> Result<(), String> {
    if refs(d).is_empty() || d["metadata"].get("deletionTimestamp").is_some() {
        return Ok(());
    }
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    match verdict(refs(d), |r| alive(store, ns, r)) {
        Verdict::Keep => Ok(()),
        Verdict::Delete => delete(store, queue, drt, d, "Background"),
        Verdict::DropRefs(gone) => drop_refs(store, queue, drt, d, |r| gone.contains(&r["uid"])),
    }
}

/// `name` of `rt` is gone: collect what it owned.
fn collect_orphaned(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    for (drt, scope) in scopes(rt, ns) {
        let (items, _) = store.list(drt.storage, scope, None);
        for d in items {
            if refs(&d).iter().any(|r| r["kind"] == rt.kind && r["name"] == name) {
                collect_if_dangling(store, queue, drt, &d)?;
            }
        }
    }
    Ok(())
}

/// Queue the owners `obj` names: an owner waiting in the foreground for its
/// dependents looks again as soon as one goes.
fn enqueue_owners(queue: &Queue, obj: &Value) {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    for r in refs(obj) {
        if let Some(rt) = referenced_type(r) {
            queue.enqueue(
                rt.storage,
                if rt.namespaced { ns } else { "" },
                r["name"].as_str().unwrap_or(""),
            );
        }
    }
}

fn orphan_dependents(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    owner: &Value,
) -> Result<(), String> {
    let uid = owner["metadata"]["uid"].clone();
    for (drt, d) in dependents_of(store, rt, owner) {
        drop_refs(store, queue, drt, &d, |r| r["uid"] == uid)?;
    }
    Ok(())
}

fn delete(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    obj: &Value,
    propagation: &str,
) -> Result<(), String> {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let mut opts = DeleteOptions::background(obj["metadata"]["uid"].as_str().map(str::to_string));
    opts.propagation = propagation.to_string();
    match delete_one(store, rt, ns, name, &opts) {
        Ok(_) => {}
        Err(e) if e.code == 404 || e.code == 409 => {}
        Err(e) => return Err(e.message),
    }
    queue.enqueue(rt.storage, ns, name);
    enqueue_owners(queue, obj);
    Ok(())
}

fn drop_refs(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    obj: &Value,
    drop: impl Fn(&Value) -> bool,
) -> Result<(), String> {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let uid = obj["metadata"]["uid"].clone();
    store
        .write(rt.storage, ns, name, false, |cur| {
            let Some(cur) = cur.filter(|c| c["metadata"]["uid"] == uid) else { return Ok(None) };
            let mut o = (**cur).clone();
            let Some(a) = o["metadata"]["ownerReferences"].as_array_mut() else { return Ok(None) };
            let before = a.len();
            a.retain(|r| !drop(r));
            if a.len() == before {
                return Ok(None);
            }
            if a.is_empty()
                && let Some(m) = o["metadata"].as_object_mut()
            {
                m.shift_remove("ownerReferences");
            }
            Ok(Some(Change::Put(o)))
        })
        .map_err(|e| e.message)?;
    queue.enqueue(rt.storage, ns, name);
    Ok(())
}

/// Remove a GC finalizer; the last finalizer gone deletes the object (as an
/// update through the API would).
fn remove_finalizer(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    obj: &Value,
    finalizer: &str,
) -> Result<(), String> {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let uid = obj["metadata"]["uid"].clone();
    store
        .write(rt.storage, ns, name, false, |cur| {
            let Some(cur) = cur.filter(|c| c["metadata"]["uid"] == uid) else { return Ok(None) };
            let mut o = (**cur).clone();
            let Some(a) = o["metadata"]["finalizers"].as_array_mut() else { return Ok(None) };
            a.retain(|f| f != finalizer);
            if a.is_empty() {
                if rt.behavior.grace_period(&o, None).is_none() {
                    return Ok(Some(Change::Delete));
                }
                if let Some(m) = o["metadata"].as_object_mut() {
                    m.shift_remove("finalizers");
                }
            }
            Ok(Some(Change::Put(meta::canonical_order(o))))
        })
        .map_err(|e| e.message)?;
    queue.enqueue(rt.storage, ns, name);
    enqueue_owners(queue, obj);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(uid: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "name": uid, "uid": uid})
    }

    #[test]
    fn dangling_owners_collect_or_are_dropped() {
        let live = |r: &Value| r["uid"] == "a";
        assert_eq!(verdict(&[r("a")], live), Verdict::Keep);
        assert_eq!(verdict(&[r("b")], live), Verdict::Delete);
        assert_eq!(verdict(&[r("b"), r("c")], live), Verdict::Delete);
        assert_eq!(verdict(&[r("a"), r("b")], live), Verdict::DropRefs(vec![json!("b")]));
    }

    fn store(tag: &str) -> (std::path::PathBuf, Arc<Store>, Queue) {
        let dir = std::env::temp_dir().join(format!("k2d-gc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(Store::open(&dir).unwrap());
        let files = crate::adapter::files::FileStore::new(&dir);
        let queue = crate::controller::new(store.clone(), files).queue();
        (dir, store, queue)
    }

    fn put(store: &Store, name: &str, uid: &str, owners: Value) {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": uid}});
        if !owners.is_null() {
            o["metadata"]["ownerReferences"] = owners;
        }
        store.write("configmaps", "default", name, false, |_| Ok(Some(Change::Put(o)))).unwrap();
    }

    #[test]
    fn reconciling_a_dependent_collects_it_once_its_owners_are_gone() {
        let (dir, store, queue) = store("dangling");
        put(&store, "owner", "u-owner", Value::Null);
        put(&store, "orphan", "u1", json!([r("ghost")]));
        put(
            &store,
            "half",
            "u2",
            json!([r("ghost"), {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-owner"}]),
        );
        put(
            &store,
            "foreign",
            "u3",
            json!([{"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "x"}]),
        );
        for name in ["orphan", "half", "foreign"] {
            let o = store.get("configmaps", "default", name).unwrap();
            reconcile(&store, &queue, "configmaps", "default", name, Some(&o)).unwrap();
        }
        assert!(store.get("configmaps", "default", "orphan").is_none());
        let half = store.get("configmaps", "default", "half").unwrap();
        assert_eq!(half["metadata"]["ownerReferences"].as_array().unwrap().len(), 1);
        assert_eq!(half["metadata"]["ownerReferences"][0]["uid"], "u-owner");
        assert!(store.get("configmaps", "default", "foreign").is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn unresolvable_owner_kinds_count_as_alive() {
        let (dir, store, _queue) = store("alive");
        let foreign =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "u"});
        assert!(alive(&store, "default", &foreign));
        // A namespaced owner of a cluster-scoped object cannot be resolved.
        assert!(alive(&store, "", &r("u")));
        assert!(!alive(&store, "default", &r("u")));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn settle_delay_backs_off_with_age_within_bounds() {
        let t0 = crate::api::table::parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
        let at = |secs: u64| {
            SystemTime::UNIX_EPOCH + Duration::from_nanos(t0 as u64) + Duration::from_secs(secs)
        };
        let max = Duration::from_secs(30);
        let since = "2024-01-01T00:00:00Z";
        assert_eq!(settle_delay(since, at(0), max), Duration::from_secs(1));
        assert_eq!(settle_delay(since, at(4), max), Duration::from_secs(4));
        assert_eq!(settle_delay(since, at(3600), max), max);
        assert_eq!(settle_delay("garbage", at(0), max), max);
    }

    #[test]
    fn blocking_needs_block_owner_deletion_true() {
        assert!(blocks(&json!({"blockOwnerDeletion": true})));
        assert!(!blocks(&json!({"blockOwnerDeletion": false})));
        assert!(!blocks(&json!({})));
    }
}
