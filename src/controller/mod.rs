//! The controller: one thread that reconciles stored objects with the host,
//! level-based (it re-reads the store for each key, so a burst of writes to
//! one object is one reconcile). Work arrives on three priority queues so
//! what pods depend on (ConfigMaps, Secrets, PVCs) is ready before pods, and
//! Services come last.

mod namespaces;

use crate::adapter::files::FileStore;
use crate::store::Store;
use base64::Engine;
use crossbeam_channel::{Receiver, Sender, unbounded};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One object to reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy)]
enum Priority {
    High,
    Medium,
    Low,
}

fn priority(resource: &str) -> Priority {
    match resource {
        "configmaps" | "secrets" | "persistentvolumeclaims" | "namespaces" => Priority::High,
        "services" | "endpoints" => Priority::Low,
        _ => Priority::Medium,
    }
}

/// The sending side, cloned into the API. Keys already queued are not queued
/// again, so the queues hold at most one entry per object.
#[derive(Clone)]
pub struct Queue {
    senders: [Sender<Key>; 3],
    pending: Arc<Mutex<HashSet<Key>>>,
}

impl Queue {
    pub fn enqueue(&self, resource: &str, namespace: &str, name: &str) {
        let key = Key { resource: resource.into(), namespace: namespace.into(), name: name.into() };
        if !self.pending.lock().insert(key.clone()) {
            return;
        }
        let _ = self.senders[priority(resource) as usize].send(key);
    }
}

pub struct Controller {
    store: Arc<Store>,
    files: FileStore,
    queue: Queue,
    receivers: [Receiver<Key>; 3],
}

pub fn new(store: Arc<Store>, files: FileStore) -> Controller {
    let (h, hr) = unbounded();
    let (m, mr) = unbounded();
    let (l, lr) = unbounded();
    let queue = Queue { senders: [h, m, l], pending: Arc::new(Mutex::new(HashSet::new())) };
    Controller { store, files, queue, receivers: [hr, mr, lr] }
}

impl Controller {
    pub fn queue(&self) -> Queue {
        self.queue.clone()
    }

    /// Queue every stored object once: after a restart the host converges to
    /// the store whatever happened while k2d was down.
    pub fn resync(&self) {
        for rt in crate::kinds::registry() {
            let (items, _) = self.store.list(rt.storage, None, None);
            for obj in items {
                let m = &obj["metadata"];
                self.queue.enqueue(
                    rt.storage,
                    m["namespace"].as_str().unwrap_or(""),
                    m["name"].as_str().unwrap_or(""),
                );
            }
        }
    }

    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new().name("controller".into()).spawn(move || self.run())
    }

    fn next(&self) -> Option<Key> {
        for r in &self.receivers {
            if let Ok(k) = r.try_recv() {
                return Some(k);
            }
        }
        let mut sel = crossbeam_channel::Select::new();
        for r in &self.receivers {
            sel.recv(r);
        }
        let op = sel.select_timeout(Duration::from_secs(5)).ok()?;
        let i = op.index();
        op.recv(&self.receivers[i]).ok()
    }

    fn run(self) {
        loop {
            let Some(key) = self.next() else { continue };
            self.queue.pending.lock().remove(&key);
            if let Err(e) = self.reconcile(&key) {
                log::warn!("reconciling {} {}/{}: {e}", key.resource, key.namespace, key.name);
                // Retry later without blocking the loop.
                let q = self.queue.clone();
                let _ = std::thread::Builder::new().name("retry".into()).spawn(move || {
                    std::thread::sleep(Duration::from_secs(2));
                    q.enqueue(&key.resource, &key.namespace, &key.name);
                });
            }
        }
    }

    fn reconcile(&self, key: &Key) -> Result<(), String> {
        let obj = self.store.get(&key.resource, &key.namespace, &key.name);
        match key.resource.as_str() {
            "configmaps" => {
                let data = obj.as_deref().map(configmap_files);
                self.files
                    .sync("configmaps", &key.namespace, &key.name, data.as_ref(), false)
                    .map_err(|e| e.to_string())
            }
            "secrets" => {
                let data = obj.as_deref().map(secret_files);
                self.files
                    .sync("secrets", &key.namespace, &key.name, data.as_ref(), true)
                    .map_err(|e| e.to_string())
            }
            "namespaces" => {
                namespaces::reconcile(&self.store, &self.queue, &key.name, obj.as_deref())
            }
            _ => Ok(()),
        }
    }
}

fn configmap_files(obj: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(d)) = obj.get("data") {
        for (k, v) in d {
            out.insert(k.clone(), v.as_str().unwrap_or("").as_bytes().to_vec());
        }
    }
    if let Some(Value::Object(d)) = obj.get("binaryData") {
        for (k, v) in d {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default();
            out.insert(k.clone(), bytes);
        }
    }
    out
}

fn secret_files(obj: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(d)) = obj.get("data") {
        for (k, v) in d {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default();
            out.insert(k.clone(), bytes);
        }
    }
    out
}
