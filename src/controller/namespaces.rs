//! Namespace lifecycle: every live namespace has its `default`
//! ServiceAccount; a terminating namespace is emptied, then removed.

use super::Queue;
use crate::api::meta;
use crate::kinds::{namespace::NAMESPACES, registry, serviceaccount::SERVICEACCOUNTS};
use crate::store::{Change, Store};
use serde_json::{Value, json};

/// Longest wait between looks at a namespace that cannot be emptied yet.
const MAX_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// An object of namespace `ns` was reconciled and is gone: a terminating
/// namespace may be empty now. Looked at a moment later, not at once: the
/// namespace's key outranks Services, whose Docker side (network aliases)
/// should be undone before the namespace is reported gone.
pub fn object_gone(store: &Store, queue: &Queue, ns: &str) {
    if store
        .get(NAMESPACES.storage, "", ns)
        .is_some_and(|n| n["metadata"].get("deletionTimestamp").is_some())
    {
        queue.enqueue_after("namespaces", "", ns, std::time::Duration::from_secs(1));
    }
}

pub fn reconcile(
    store: &Store,
    queue: &Queue,
    name: &str,
    ns: Option<&Value>,
) -> Result<(), String> {
    let Some(ns) = ns else { return Ok(()) };
    if ns["metadata"].get("deletionTimestamp").is_none() {
        return ensure_default_service_account(store, name);
    }
    // Plain objects go at once; kinds whose deletion the controller finishes
    // (pods: containers to stop) are marked terminating, and the namespace
    // waits for them.
    let mut remaining = 0;
    for rt in registry().iter().filter(|rt| rt.namespaced && rt.storage == rt.plural) {
        let (items, _) = store.list(rt.storage, Some(name), None);
        for obj in items {
            let oname = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            store
                .write(rt.storage, name, &oname, false, |cur| {
                    let Some(cur) = cur else { return Ok(None) };
                    // Finalizers hold an object as an API DELETE would (a
                    // claim stays while a pod of the namespace mounts it).
                    let finalizers =
                        cur["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
                    match rt.behavior.grace_period(cur, None).or(finalizers.then_some(0)) {
                        Some(grace) => {
                            remaining += 1;
                            let mut o = (**cur).clone();
                            meta::start_deletion(&mut o, grace);
                            Ok((o != **cur).then_some(Change::Put(o)))
                        }
                        None => Ok(Some(Change::Delete)),
                    }
                })
                .map_err(|e| e.to_string())?;
            queue.enqueue(rt.storage, name, &oname);
        }
    }
    if remaining > 0 {
        // Look again once the pods had a moment to go, backing off while
        // something holds the namespace (a finalizer nobody removes) so
        // its objects are not rewritten every second forever. Objects that
        // go queue the namespace themselves ([`object_gone`]).
        let since = ns["metadata"]["deletionTimestamp"].as_str().unwrap_or("");
        let delay = super::gc::settle_delay(since, std::time::SystemTime::now(), MAX_RETRY);
        queue.enqueue_after("namespaces", "", name, delay);
        return Ok(());
    }
    store
        .write(NAMESPACES.storage, "", name, false, |cur| Ok(cur.map(|_| Change::Delete)))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn ensure_default_service_account(store: &Store, ns: &str) -> Result<(), String> {
    store
        .write(SERVICEACCOUNTS.storage, ns, "default", false, |cur| {
            if cur.is_some() {
                return Ok(None);
            }
            Ok(Some(Change::Put(json!({
                "kind": "ServiceAccount",
                "apiVersion": "v1",
                "metadata": {
                    "name": "default",
                    "namespace": ns,
                    "uid": meta::new_uid(),
                    "creationTimestamp": meta::now_rfc3339(),
                }
            }))))
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}
