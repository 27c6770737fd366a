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

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

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
                orphan_dependents(store, queue, o)?;
                remove_finalizer(store, queue, rt, o, ORPHAN)?;
            } else if finalizers.iter().any(|f| f == FOREGROUND) {
                let deps = dependents_of(store, o);
                if deps.is_empty() {
                    remove_finalizer(store, queue, rt, o, FOREGROUND)?;
                } else {
                    for (drt, d) in deps {
                        if d["metadata"].get("deletionTimestamp").is_none() {
                            delete(store, queue, drt, &d, "Foreground")?;
                        }
                    }
                }
            }
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// The kind served from `resource` (only namespaced owners are tracked: every
/// kind k2d's controllers own is namespaced).
fn owner_type(resource: &str) -> Option<&'static ResourceType> {
    kinds::registry().iter().copied().find(|r| r.storage == resource && r.namespaced)
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

/// Namespaced storages, each once (views such as events.k8s.io share one).
fn storages() -> Vec<&'static ResourceType> {
    let mut out: Vec<&'static ResourceType> = Vec::new();
    for rt in kinds::registry() {
        if rt.namespaced && !out.iter().any(|o| o.storage == rt.storage) {
            out.push(rt);
        }
    }
    out
}

/// Objects in the owner's namespace that reference it by uid.
fn dependents_of(store: &Store, owner: &Value) -> Vec<(&'static ResourceType, Arc<Value>)> {
    let ns = owner["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = &owner["metadata"]["uid"];
    let mut out = Vec::new();
    for rt in storages() {
        let (items, _) = store.list(rt.storage, Some(ns), None);
        for o in items {
            if refs(&o).iter().any(|r| r["uid"] == *uid) {
                out.push((rt, o));
            }
        }
    }
    out
}

/// Whether an owner reference points at a live object.
fn alive(store: &Store, ns: &str, r: &Value) -> bool {
    let kind = r["kind"].as_str().unwrap_or("");
    let api_version = r["apiVersion"].as_str().unwrap_or("");
    let Some(rt) =
        kinds::registry().iter().find(|t| t.kind == kind && t.api_version() == api_version)
    else {
        // A kind k2d does not serve: leave the dependent alone.
        return true;
    };
    let ns = if rt.namespaced { ns } else { "" };
    store
        .get(rt.storage, ns, r["name"].as_str().unwrap_or(""))
        .is_some_and(|o| o["metadata"]["uid"] == r["uid"])
}

/// `name` of `rt` is gone: collect what it owned.
fn collect_orphaned(
    store: &Store,
    queue: &Queue,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    for drt in storages() {
        let (items, _) = store.list(drt.storage, Some(ns), None);
        for d in items {
            let mine = refs(&d).iter().any(|r| r["kind"] == rt.kind && r["name"] == name);
            if !mine {
                continue;
            }
            let dangling: Vec<&Value> = refs(&d).iter().filter(|r| !alive(store, ns, r)).collect();
            if dangling.is_empty() {
                continue;
            }
            if dangling.len() == refs(&d).len() {
                if d["metadata"].get("deletionTimestamp").is_none() {
                    delete(store, queue, drt, &d, "Background")?;
                }
            } else {
                let gone: Vec<Value> = dangling.iter().map(|r| r["uid"].clone()).collect();
                drop_refs(store, queue, drt, &d, |r| gone.contains(&r["uid"]))?;
            }
        }
    }
    Ok(())
}

fn orphan_dependents(store: &Store, queue: &Queue, owner: &Value) -> Result<(), String> {
    let uid = owner["metadata"]["uid"].clone();
    for (drt, d) in dependents_of(store, owner) {
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
    Ok(())
}
