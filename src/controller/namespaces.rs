//! Namespace lifecycle: every live namespace has its `default`
//! ServiceAccount; a terminating namespace is emptied, then removed.

use super::Queue;
use crate::api::meta;
use crate::kinds::{namespace::NAMESPACES, registry, serviceaccount::SERVICEACCOUNTS};
use crate::store::{Change, Store};
use serde_json::{Value, json};

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
        // Look again once the pods had a moment to go.
        queue.enqueue_after("namespaces", "", name, std::time::Duration::from_secs(1));
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
