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
    // Objects of this kinds go at once; kinds that need host cleanup
    // (pods) will hold the namespace until the controller has finished them.
    for rt in registry().iter().filter(|rt| rt.namespaced) {
        let (items, _) = store.list(rt.storage, Some(name), None);
        for obj in items {
            let oname = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            store
                .write(rt.storage, name, &oname, false, |cur| Ok(cur.map(|_| Change::Delete)))
                .map_err(|e| e.to_string())?;
            queue.enqueue(rt.storage, name, &oname);
        }
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
