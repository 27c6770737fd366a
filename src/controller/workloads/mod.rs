//! Workload controllers: Deployments roll ReplicaSets, ReplicaSets keep pods.
//! They only write the store (the pod controller runs what they create), as
//! kube-controller-manager's deployment and replicaset controllers do.
//!
//! Both are level-based: each reconcile reads the store afresh, so there are
//! no "expectations" to track — a pod created a moment ago is already listed.
//! Changes to pods and ReplicaSets requeue their controller through
//! [`spawn_owner_watch`].

pub mod deployment;
pub mod hash;
pub mod replicaset;
pub mod rolling;

use super::Queue;
use crate::api::error::ApiError;
use crate::api::selector::LabelSelector;
use crate::api::{meta, patch, schema::KindMeta};
use crate::kinds::ResourceType;
use crate::store::{Change, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The field manager controller writes are recorded under.
const MANAGER: &str = "kube-controller-manager";

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

fn terminating(obj: &Value) -> bool {
    obj["metadata"].get("deletionTimestamp").is_some_and(|v| !v.is_null())
}

/// The ownerReference that makes `owner` the controller of what it creates.
fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The ownerReference with `controller: true`, if any.
pub fn controller_of(obj: &Value) -> Option<&Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Create an object as kube-controller-manager would through the API:
/// server metadata, the kind's defaults, managedFields. A `generateName`
/// gets a fresh suffix until the name is free.
fn create(store: &Store, rt: &'static ResourceType, mut obj: Value) -> Result<Arc<Value>, String> {
    let now = meta::now_rfc3339();
    obj["kind"] = json!(rt.kind);
    obj["apiVersion"] = json!(rt.api_version());
    {
        let m = &mut obj["metadata"];
        m["uid"] = json!(meta::new_uid());
        m["resourceVersion"] = json!("");
        m["creationTimestamp"] = json!(now);
        if rt.behavior.has_generation() {
            m["generation"] = json!(1);
        }
    }
    rt.behavior.default(&mut obj);
    rt.behavior.on_create(&mut obj);
    patch::track_update(
        None,
        &mut obj,
        MANAGER,
        &rt.api_version(),
        Some(&now),
        None,
        &KindMeta { rt },
    );
    let obj = meta::canonical_order(obj);
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    // As the API refuses: nothing new in a missing or terminating namespace.
    match store.get("namespaces", "", &ns) {
        Some(n) if !terminating(&n) => {}
        _ => return Err(format!("namespace {ns} is missing or being terminated")),
    }
    let prefix = obj["metadata"]["generateName"].as_str().map(str::to_string);
    for _ in 0..5 {
        let mut o = obj.clone();
        let name = match &prefix {
            Some(p) if name_of(&o).is_empty() => {
                let n = meta::generate_name(p);
                o["metadata"]["name"] = json!(n);
                n
            }
            _ => name_of(&o).to_string(),
        };
        let res = store.write(rt.storage, &ns, &name, false, |cur| {
            if cur.is_some() {
                return Err(ApiError::already_exists(&rt.qualified_plural(), &name));
            }
            Ok(Some(Change::Put(o)))
        });
        match res {
            Ok(Some(w)) => return Ok(w.object),
            Ok(None) => return Err("create wrote nothing".into()),
            Err(e) if e.code == 409 && prefix.is_some() => continue,
            Err(e) => return Err(e.message),
        }
    }
    Err(format!("no free name for {}", prefix.unwrap_or_default()))
}

/// Change the main resource of one incarnation (`uid`) of an object; a
/// spec change bumps `generation` as the API would. Returns the object as
/// stored afterwards (`None` if it is gone or was replaced).
fn update(
    store: &Store,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    uid: &str,
    change: impl FnOnce(&mut Value),
) -> Result<Option<Arc<Value>>, String> {
    let mut result = None;
    let w = store
        .write(rt.storage, ns, name, false, |cur| {
            let Some(cur) = cur.filter(|c| uid_of(c) == uid) else { return Ok(None) };
            result = Some(cur.clone());
            let mut obj = (**cur).clone();
            change(&mut obj);
            if rt.behavior.has_generation()
                && rt.behavior.spec_fields().iter().any(|f| obj.get(*f) != cur.get(*f))
            {
                let g = cur["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
            if obj == **cur {
                return Ok(None);
            }
            let now = meta::now_rfc3339();
            patch::track_update(
                Some(cur),
                &mut obj,
                MANAGER,
                &rt.api_version(),
                Some(&now),
                None,
                &KindMeta { rt },
            );
            Ok(Some(Change::Put(obj)))
        })
        .map_err(|e| e.message)?;
    Ok(w.map(|w| w.object).or(result))
}

/// Replace `status` through the status subresource's bookkeeping.
fn write_status(
    store: &Store,
    rt: &'static ResourceType,
    cur: &Value,
    status: Value,
) -> Result<(), String> {
    let (ns, name, uid) = (
        cur["metadata"]["namespace"].as_str().unwrap_or(""),
        name_of(cur),
        uid_of(cur).to_string(),
    );
    store
        .write(rt.storage, ns, name, false, |cur| {
            let Some(cur) = cur.filter(|c| uid_of(c) == uid) else { return Ok(None) };
            if cur.get("status") == Some(&status) {
                return Ok(None);
            }
            let mut obj = (**cur).clone();
            obj["status"] = status;
            let now = meta::now_rfc3339();
            patch::track_update(
                Some(cur),
                &mut obj,
                MANAGER,
                &rt.api_version(),
                Some(&now),
                Some("status"),
                &KindMeta { rt },
            );
            Ok(Some(Change::Put(obj)))
        })
        .map(|_| ())
        .map_err(|e| e.message)
}

/// Seconds since an RFC 3339 time (0 when unparsable or in the future).
fn seconds_since(ts: &str, now: SystemTime) -> i64 {
    let Some(nanos) = crate::api::table::parse_rfc3339(ts) else { return 0 };
    let now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
    ((now - nanos) / 1_000_000_000).max(0) as i64
}

/// Requeue the controllers of pods and ReplicaSets whenever those change, so
/// a pod that becomes ready, fails or is deleted (by anyone) is seen by its
/// ReplicaSet, and a ReplicaSet's status by its Deployment. One thread; a
/// dropped subscription (the watcher fell behind) is renewed with a full
/// requeue.
pub fn spawn_owner_watch(store: Arc<Store>, queue: Queue) -> std::io::Result<()> {
    std::thread::Builder::new().name("owner-watch".into()).spawn(move || {
        loop {
            let (pods, _, pod_sub) = store.list_and_watch("pods", None);
            let (sets, _, rs_sub) = store.list_and_watch("replicasets", None);
            for o in pods.iter().chain(sets.iter()) {
                enqueue_owner(&store, &queue, o);
            }
            loop {
                let mut sel = crossbeam_channel::Select::new();
                sel.recv(&pod_sub.events);
                sel.recv(&rs_sub.events);
                let op = sel.select();
                let i = op.index();
                let ev = if i == 0 { op.recv(&pod_sub.events) } else { op.recv(&rs_sub.events) };
                match ev {
                    Ok(ev) => {
                        enqueue_owner(&store, &queue, &ev.object);
                        if i == 0 {
                            // A Recreate rollout waits for old pods to be gone,
                            // which changes nothing of their ReplicaSet's status.
                            enqueue_grand_owner(&store, &queue, &ev.object);
                        }
                    }
                    Err(_) => break,
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })?;
    Ok(())
}

fn enqueue_grand_owner(store: &Store, queue: &Queue, pod: &Value) {
    let Some(r) = controller_of(pod).filter(|r| r["kind"] == "ReplicaSet") else { return };
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    if let Some(rs) = store.get("replicasets", ns, r["name"].as_str().unwrap_or("")) {
        enqueue_owner(store, queue, &rs);
    }
}

/// Queue the controller of `obj`; for an orphan, every would-be controller
/// whose selector matches it, so it is adopted without waiting for that
/// controller's next event.
fn enqueue_owner(store: &Store, queue: &Queue, obj: &Value) {
    let Some(r) = controller_of(obj) else {
        enqueue_adopters(store, queue, obj);
        return;
    };
    let resource = match r["kind"].as_str() {
        Some("ReplicaSet") => "replicasets",
        Some("Deployment") => "deployments",
        _ => return,
    };
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    queue.enqueue(resource, ns, r["name"].as_str().unwrap_or(""));
}

/// The kind that would adopt an orphan of `kind`.
fn adopter_of(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("replicasets"),
        "ReplicaSet" => Some("deployments"),
        _ => None,
    }
}

fn enqueue_adopters(store: &Store, queue: &Queue, orphan: &Value) {
    let Some(resource) = adopter_of(orphan["kind"].as_str().unwrap_or("")) else { return };
    if terminating(orphan) {
        return;
    }
    let ns = orphan["metadata"]["namespace"].as_str().unwrap_or("");
    let (owners, _) = store.list(resource, Some(ns), None);
    for o in owners.iter().filter(|o| !terminating(o)) {
        let matches = LabelSelector::from_label_selector_object(&o["spec"]["selector"])
            .is_ok_and(|s| s.matches_object(orphan));
        if matches {
            queue.enqueue(resource, ns, name_of(o));
        }
    }
}
