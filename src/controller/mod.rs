//! The controller: one thread that reconciles stored objects with the host,
//! level-based (it re-reads the store for each key, so a burst of writes to
//! one object is one reconcile). Work arrives on three priority queues so
//! what pods depend on (ConfigMaps, Secrets, PVCs) is ready before pods, and
//! Services come last.

pub mod events;
mod gc;
mod namespaces;
pub mod pods;
pub mod prober;
pub mod services;
pub mod storage;
pub mod workloads;

use crate::adapter::files::FileStore;
use crate::store::Store;
use base64::Engine;
use crossbeam_channel::{Receiver, Sender, unbounded};
use parking_lot::Mutex;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// First retry delay after a failed reconcile; doubles per failure up to
/// [`MAX_BACKOFF`], like the workqueue rate limiter of Kubernetes controllers.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long the loop sleeps when nothing is queued or due.
const IDLE: Duration = Duration::from_secs(5);

/// One object to reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Keys to queue later (retries, crash-loop and pull back-offs), earliest
    /// first; drained by the controller thread, at most one entry per key.
    delayed: Arc<Mutex<Delayed>>,
    /// Set when what failed may work now (Docker reconnected): the
    /// controller forgets its back-off counts.
    fresh_start: Arc<AtomicBool>,
}

type Delayed = BinaryHeap<Reverse<(Instant, Key)>>;

impl Queue {
    /// Forget accumulated back-off: failures so far (e.g. while Docker was
    /// restarting) say nothing about the next attempt.
    pub fn reset_backoff(&self) {
        self.fresh_start.store(true, Ordering::Relaxed);
    }

    pub fn enqueue(&self, resource: &str, namespace: &str, name: &str) {
        self.push(Key {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        });
    }

    fn push(&self, key: Key) {
        // Now beats later: a resync or a fresh event must not wait behind a
        // long back-off (level-based reconcile reschedules what still waits).
        {
            let mut d = self.delayed.lock();
            if d.iter().any(|Reverse((_, k))| *k == key) {
                d.retain(|Reverse((_, k))| *k != key);
            }
        }
        if !self.pending.lock().insert(key.clone()) {
            return;
        }
        let p = priority(&key.resource) as usize;
        let _ = self.senders[p].send(key);
    }

    /// Queue the object after `delay` (an earlier pending entry for it wins).
    pub fn enqueue_after(&self, resource: &str, namespace: &str, name: &str, delay: Duration) {
        let key = Key { resource: resource.into(), namespace: namespace.into(), name: name.into() };
        let at = Instant::now() + delay;
        let mut d = self.delayed.lock();
        if d.iter().any(|Reverse((t, k))| *k == key && *t <= at) {
            return;
        }
        d.retain(|Reverse((_, k))| *k != key);
        d.push(Reverse((at, key)));
        // Wake the loop so it recomputes its sleep.
        let _ = self.senders[Priority::Low as usize].send(WAKE.clone());
    }

    /// Move due keys to the queues; returns how long until the next is due.
    fn release_due(&self) -> Duration {
        let now = Instant::now();
        let mut ready = Vec::new();
        let next = {
            let mut d = self.delayed.lock();
            while d.peek().is_some_and(|Reverse((at, _))| *at <= now) {
                if let Some(Reverse((_, k))) = d.pop() {
                    ready.push(k);
                }
            }
            d.peek().map_or(IDLE, |Reverse((at, _))| at.saturating_duration_since(now))
        };
        for k in ready {
            self.push(k);
        }
        next
    }
}

/// A key that only wakes the controller loop.
static WAKE: Key = Key { resource: String::new(), namespace: String::new(), name: String::new() };

pub struct Controller {
    store: Arc<Store>,
    files: FileStore,
    queue: Queue,
    receivers: [Receiver<Key>; 3],
    /// Set once Docker answers; until then pod work is retried.
    pods: Arc<OnceLock<pods::PodRuntime>>,
}

pub fn new(store: Arc<Store>, files: FileStore) -> Controller {
    let (h, hr) = unbounded();
    let (m, mr) = unbounded();
    let (l, lr) = unbounded();
    let queue = Queue {
        senders: [h, m, l],
        pending: Arc::new(Mutex::new(HashSet::new())),
        delayed: Arc::new(Mutex::new(BinaryHeap::new())),
        fresh_start: Arc::new(AtomicBool::new(false)),
    };
    Controller { store, files, queue, receivers: [hr, mr, lr], pods: Arc::new(OnceLock::new()) }
}

impl Controller {
    pub fn queue(&self) -> Queue {
        self.queue.clone()
    }

    /// Where the pod runtime is installed once Docker is reachable.
    pub fn pod_runtime(&self) -> Arc<OnceLock<pods::PodRuntime>> {
        self.pods.clone()
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
        workloads::spawn_owner_watch(self.store.clone(), self.queue.clone())?;
        std::thread::Builder::new().name("controller".into()).spawn(move || self.run())
    }

    /// The next key by priority, waiting at most `wait`.
    fn next(&self, wait: Duration) -> Option<Key> {
        for r in &self.receivers {
            if let Ok(k) = r.try_recv() {
                return Some(k);
            }
        }
        let mut sel = crossbeam_channel::Select::new();
        for r in &self.receivers {
            sel.recv(r);
        }
        let op = sel.select_timeout(wait).ok()?;
        let i = op.index();
        op.recv(&self.receivers[i]).ok()
    }

    fn run(self) {
        // Failed keys wait in the queue's delayed heap until their backoff
        // expires: no thread or timer per failure, one entry per object.
        // Per key: consecutive failures and when the pending retry is due.
        let mut failures: HashMap<Key, (u32, Instant)> = HashMap::new();
        loop {
            if self.queue.fresh_start.swap(false, Ordering::Relaxed) {
                failures.clear();
            }
            let wait = self.queue.release_due();
            let Some(key) = self.next(wait) else { continue };
            if key.resource.is_empty() {
                continue;
            }
            self.queue.pending.lock().remove(&key);
            match self.reconcile(&key) {
                Ok(()) => {
                    failures.remove(&key);
                }
                Err(e) => {
                    // A failure on a pass an event brought before the retry
                    // was due says nothing new: only failed retries back off
                    // further, so a burst of events cannot push the next try
                    // minutes away.
                    let now = Instant::now();
                    let entry = failures.entry(key.clone()).or_insert((0, now));
                    if now >= entry.1 {
                        entry.0 += 1;
                    }
                    let delay = backoff(entry.0);
                    entry.1 = now + delay;
                    log::warn!(
                        "reconciling {} {}/{} failed ({e}); retrying in {delay:?}",
                        key.resource,
                        key.namespace,
                        key.name
                    );
                    self.queue.enqueue_after(&key.resource, &key.namespace, &key.name, delay);
                }
            }
        }
    }

    fn reconcile(&self, key: &Key) -> Result<(), String> {
        let result = self.reconcile_key(key);
        if !key.namespace.is_empty()
            && key.resource != "namespaces"
            && self.store.get(&key.resource, &key.namespace, &key.name).is_none()
        {
            namespaces::object_gone(&self.store, &self.queue, &key.namespace);
        }
        result
    }

    fn reconcile_key(&self, key: &Key) -> Result<(), String> {
        let obj = self.store.get(&key.resource, &key.namespace, &key.name);
        gc::reconcile(
            &self.store,
            &self.queue,
            &key.resource,
            &key.namespace,
            &key.name,
            obj.as_deref(),
        )?;
        if matches!(key.resource.as_str(), "configmaps" | "secrets") {
            // Pods of the namespace re-project their volumes (a no-op when
            // nothing they mount changed).
            let (pods, _) = self.store.list("pods", Some(&key.namespace), None);
            for p in pods {
                self.queue.enqueue(
                    "pods",
                    &key.namespace,
                    p["metadata"]["name"].as_str().unwrap_or(""),
                );
            }
        }
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
            "pods" => {
                // Before Docker answers there is nothing to do: connecting
                // queues every pod again.
                let Some(rt) = self.pods.get() else { return Ok(()) };
                if key.namespace == crate::adapter::convert::foreign::NAMESPACE {
                    pods::sync_foreign(rt, &self.store)
                } else {
                    // Services of the namespace follow their pods.
                    services::enqueue_namespace(&self.store, &self.queue, &key.namespace);
                    pods::reconcile(rt, &self.store, &self.queue, &key.namespace, &key.name)
                }
            }
            "persistentvolumeclaims" => storage::reconcile_claim(
                &self.store,
                &self.queue,
                self.pods.get(),
                &key.namespace,
                &key.name,
            ),
            "storageclasses" => storage::reconcile_class(&self.store, &self.queue),
            "persistentvolumes" => {
                storage::reconcile_volume(&self.store, &self.queue, self.pods.get(), &key.name)
            }
            "replicasets" => workloads::replicaset::reconcile(
                &self.store,
                &self.queue,
                &key.namespace,
                &key.name,
            ),
            "deployments" => workloads::deployment::reconcile(
                &self.store,
                &self.queue,
                &key.namespace,
                &key.name,
            ),
            "services" | "endpoints" => match self.pods.get() {
                Some(rt) => services::reconcile(
                    rt,
                    &self.store,
                    &self.queue,
                    &key.namespace,
                    &key.name,
                    key.resource == "endpoints",
                ),
                // Connecting to Docker queues every Service.
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// Exponential backoff for the `n`th consecutive failure of one key.
fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1u32 << n.saturating_sub(1).min(20)).min(MAX_BACKOFF)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
        assert_eq!(MAX_BACKOFF, Duration::from_secs(60));
    }

    #[test]
    fn queue_holds_one_entry_per_object() {
        let dir = std::env::temp_dir().join(format!("k2d-ctl-{}", std::process::id()));
        let store = Arc::new(Store::open(&dir).unwrap());
        let c = new(store, FileStore::new(&dir));
        let q = c.queue();
        q.enqueue("configmaps", "ns", "a");
        q.enqueue("configmaps", "ns", "a");
        q.enqueue("services", "ns", "s");
        assert_eq!(c.receivers[Priority::High as usize].len(), 1);
        assert_eq!(c.receivers[Priority::Low as usize].len(), 1);
        // High priority first.
        assert_eq!(c.next(Duration::ZERO).unwrap().resource, "configmaps");
        c.queue.pending.lock().clear();
        q.enqueue_after("pods", "ns", "p", Duration::from_millis(30));
        q.enqueue_after("pods", "ns", "p", Duration::from_secs(60));
        assert_eq!(c.queue.delayed.lock().len(), 1);
        std::thread::sleep(Duration::from_millis(40));
        c.queue.release_due();
        assert_eq!(c.receivers[Priority::Medium as usize].len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
