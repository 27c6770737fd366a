//! The object store: every object on disk under `<data>/store`, an in-memory
//! index for reads, one monotonic resourceVersion, and watch fan-out.
//!
//! Writes are serialised by one lock: a single edge box sees few writes, and
//! one writer makes "persist, then index, then publish" trivially ordered, so
//! watchers see events in resourceVersion order and a write is acknowledged
//! only after it is durable.
//!
//! The store knows nothing of Kubernetes semantics beyond `resourceVersion`:
//! metadata, validation and conflicts on content are the API machinery's job.

pub mod disk;
pub mod watch;

use crate::api::error::{ApiError, ApiResult};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use watch::{Event, EventType, Hub, Subscription, TooOld};

/// resourceVersions are reserved on disk in blocks, so a restart never reuses
/// one without an extra fsync per write.
const RV_BLOCK: u64 = 1000;

/// Objects of one resource, ordered by (namespace, name) like etcd's keys.
type Objects = BTreeMap<(String, String), Arc<Value>>;

/// What a write decides to do with the object it was shown.
pub enum Change {
    Put(Value),
    Delete,
}

/// The result of a committed (or dry-run) write.
pub struct Written {
    /// The stored object (for a delete, the object as it was, with the
    /// deletion's resourceVersion).
    pub object: Arc<Value>,
}

struct RvState {
    current: u64,
    ceiling: u64,
}

pub struct Store {
    root: PathBuf,
    index: RwLock<HashMap<String, Objects>>,
    writer: Mutex<RvState>,
    /// The resourceVersion the index reflects; changed only under the index's
    /// write lock so readers get a consistent (objects, version) pair without
    /// waiting for a writer's fsync. Lock order everywhere: writer, index, hub.
    indexed_rv: AtomicU64,
    hub: Mutex<Hub>,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Store {
    /// Open (or create) the store under `data_path/store`, loading every object.
    pub fn open(data_path: &Path) -> Result<Store, StoreError> {
        let root = data_path.join("store");
        disk::create_private_dir(&root)
            .map_err(|e| StoreError(format!("creating {}: {e}", root.display())))?;
        let mut index: HashMap<String, Objects> = HashMap::new();
        let mut max_rv = read_ceiling(&root);
        for res_dir in read_dirs(&root) {
            let Some(resource) = res_dir.file_name().and_then(|n| n.to_str()).map(str::to_string)
            else {
                continue;
            };
            for ns_dir in read_dirs(&res_dir) {
                let ns = ns_dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
                let ns = if ns == CLUSTER_DIR { String::new() } else { ns };
                for file in read_files(&ns_dir) {
                    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.starts_with('.') {
                        // A temporary file from a write that never completed: the
                        // write was never acknowledged, so dropping it loses nothing.
                        let _ = std::fs::remove_file(&file);
                        continue;
                    }
                    let Some(obj_name) = name.strip_suffix(".json") else { continue };
                    match std::fs::read(&file).map_err(|e| e.to_string()).and_then(|b| {
                        serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string())
                    }) {
                        Ok(obj) => {
                            max_rv = max_rv.max(rv_of(&obj));
                            index
                                .entry(resource.clone())
                                .or_default()
                                .insert((ns.clone(), obj_name.to_string()), Arc::new(obj));
                        }
                        Err(e) => log::error!("ignoring unreadable object {}: {e}", file.display()),
                    }
                }
            }
        }
        let store = Store {
            root,
            index: RwLock::new(index),
            writer: Mutex::new(RvState { current: max_rv, ceiling: max_rv }),
            indexed_rv: AtomicU64::new(max_rv),
            hub: Mutex::new(Hub::new(max_rv)),
        };
        store.reserve(&mut store.writer.lock())?;
        Ok(store)
    }

    /// The newest resourceVersion handed out.
    pub fn current_rv(&self) -> u64 {
        self.indexed_rv.load(Ordering::Acquire)
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.index
            .read()
            .get(resource)
            .and_then(|m| m.get(&(namespace.to_string(), name.to_string())))
            .cloned()
    }

    /// Objects of `resource` in `namespace` (all namespaces when `None`), in key
    /// order, starting after the key `after` (for `continue`), with the
    /// resourceVersion the list is consistent with.
    pub fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<&(String, String)>,
    ) -> (Vec<Arc<Value>>, u64) {
        let index = self.index.read();
        let rv = self.indexed_rv.load(Ordering::Acquire);
        let Some(objects) = index.get(resource) else { return (Vec::new(), rv) };
        let items = objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .filter(|(k, _)| after.is_none_or(|a| *k > a))
            .map(|(_, v)| v.clone())
            .collect();
        (items, rv)
    }

    /// Read-modify-write one object atomically. `decide` sees the current object
    /// (if any) and returns the change to make, or `None` to leave it alone.
    /// With `dry_run` nothing is persisted or published, but the answer is the
    /// same as a real write's.
    pub fn write<F>(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        dry_run: bool,
        decide: F,
    ) -> ApiResult<Option<Written>>
    where
        F: FnOnce(Option<&Arc<Value>>) -> ApiResult<Option<Change>>,
    {
        check_path_segment(name)?;
        if !namespace.is_empty() {
            check_path_segment(namespace)?;
        }
        let mut rv_state = self.writer.lock();
        let key = (namespace.to_string(), name.to_string());
        let current = self.index.read().get(resource).and_then(|m| m.get(&key)).cloned();
        let Some(change) = decide(current.as_ref())? else { return Ok(None) };
        let next_rv = rv_state.current + 1;
        let (kind, mut object) = match change {
            Change::Put(obj) => {
                (if current.is_some() { EventType::Modified } else { EventType::Added }, obj)
            }
            Change::Delete => {
                let Some(cur) = current.as_ref() else {
                    return Err(ApiError::internal(format!("delete of missing {resource} {name}")));
                };
                (EventType::Deleted, (**cur).clone())
            }
        };
        if dry_run {
            // Nothing is stored, so no version is consumed: an update answers with
            // the current version, a create with none (as kube-apiserver does).
            match &current {
                Some(cur) => set_rv(&mut object, rv_of(cur)),
                None => {
                    if let Some(m) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.shift_remove("resourceVersion");
                    }
                }
            }
            return Ok(Some(Written { object: Arc::new(object) }));
        }
        set_rv(&mut object, next_rv);
        let object = Arc::new(object);
        let path = self.path(resource, namespace, name);
        let persisted = match kind {
            EventType::Deleted => disk::remove(&path),
            _ => disk::write_atomic(&path, &serde_json::to_vec(&*object).unwrap_or_default()),
        };
        persisted.map_err(|e| {
            log::error!("persisting {}: {e}", path.display());
            ApiError::internal(format!("storing {resource} \"{name}\" failed: {e}"))
        })?;
        rv_state.current = next_rv;
        if next_rv >= rv_state.ceiling {
            self.reserve(&mut rv_state).map_err(|e| ApiError::internal(e.0))?;
        }
        {
            let mut index = self.index.write();
            let objects = index.entry(resource.to_string()).or_default();
            match kind {
                EventType::Deleted => objects.remove(&key),
                _ => objects.insert(key, object.clone()),
            };
            self.indexed_rv.store(next_rv, Ordering::Release);
        }
        self.hub.lock().publish(Event {
            kind,
            resource: resource.into(),
            namespace: namespace.to_string(),
            object: object.clone(),
            rv: next_rv,
        });
        drop(rv_state);
        Ok(Some(Written { object }))
    }

    /// Watch `resource` for changes after resourceVersion `from`.
    pub fn watch(
        &self,
        resource: &str,
        namespace: Option<&str>,
        from: u64,
    ) -> Result<Subscription, TooOld> {
        // Holding the writer lock orders this subscription with publishes.
        let _w = self.writer.lock();
        self.hub.lock().subscribe(resource, namespace, from)
    }

    /// Atomically snapshot the current objects and watch for what follows.
    pub fn list_and_watch(
        &self,
        resource: &str,
        namespace: Option<&str>,
    ) -> (Vec<Arc<Value>>, u64, Subscription) {
        let w = self.writer.lock();
        let rv = w.current;
        let items = {
            let index = self.index.read();
            index.get(resource).map_or_else(Vec::new, |m| {
                m.iter()
                    .filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
                    .map(|(_, v)| v.clone())
                    .collect()
            })
        };
        let sub = match self.hub.lock().subscribe(resource, namespace, rv) {
            Ok(s) => s,
            // Subscribing at the current version always has full history.
            Err(_) => unreachable!("subscribe at current rv cannot be too old"),
        };
        (items, rv, sub)
    }

    fn path(&self, resource: &str, namespace: &str, name: &str) -> PathBuf {
        let ns = if namespace.is_empty() { CLUSTER_DIR } else { namespace };
        self.root.join(resource).join(ns).join(format!("{name}.json"))
    }

    fn reserve(&self, st: &mut RvState) -> Result<(), StoreError> {
        st.ceiling = st.current + RV_BLOCK;
        disk::write_atomic(&self.root.join(RV_FILE), st.ceiling.to_string().as_bytes())
            .map_err(|e| StoreError(format!("reserving resourceVersions: {e}")))
    }
}

/// Directory for cluster-scoped objects; `_` cannot be a namespace name.
const CLUSTER_DIR: &str = "_";
const RV_FILE: &str = "rv";

/// Names reach the file system: refuse anything that could leave the store
/// directory even if validation upstream missed it.
fn check_path_segment(s: &str) -> ApiResult<()> {
    if s.is_empty()
        || s == "."
        || s == ".."
        || s.contains('/')
        || s.contains('\0')
        || s.starts_with('.')
    {
        return Err(ApiError::bad_request(format!("invalid name {s:?}")));
    }
    Ok(())
}

pub fn rv_of(obj: &Value) -> u64 {
    obj.get("metadata")
        .and_then(|m| m.get("resourceVersion"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn set_rv(obj: &mut Value, rv: u64) {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = serde_json::json!({});
    }
    obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
}

fn read_ceiling(root: &Path) -> u64 {
    std::fs::read_to_string(root.join(RV_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_dir()).collect()
}

fn read_files(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_file()).collect()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("k2d-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn put(store: &Store, name: &str) -> u64 {
        let w = store
            .write("configmaps", "default", name, false, |_| {
                Ok(Some(Change::Put(json!({"metadata": {"name": name, "namespace": "default"}}))))
            })
            .unwrap()
            .unwrap();
        rv_of(&w.object)
    }

    #[test]
    fn objects_and_versions_survive_reopen() {
        let dir = temp_dir("reopen");
        let last = {
            let s = Store::open(&dir).unwrap();
            put(&s, "a");
            put(&s, "b")
        };
        let s = Store::open(&dir).unwrap();
        assert_eq!(rv_of(&s.get("configmaps", "default", "b").unwrap()), last);
        assert!(put(&s, "c") > last);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dry_run_changes_nothing() {
        let dir = temp_dir("dry");
        let s = Store::open(&dir).unwrap();
        let before = s.current_rv();
        s.write("configmaps", "default", "x", true, |_| Ok(Some(Change::Put(json!({}))))).unwrap();
        assert!(s.get("configmaps", "default", "x").is_none());
        assert_eq!(s.current_rv(), before);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn path_tricks_are_refused() {
        let dir = temp_dir("path");
        let s = Store::open(&dir).unwrap();
        for bad in ["../x", "..", "a/b", ".hidden"] {
            assert!(
                s.write("configmaps", "default", bad, false, |_| Ok(Some(Change::Put(json!({})))))
                    .is_err()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn watch_sees_changes_in_order() {
        let dir = temp_dir("watch");
        let s = Store::open(&dir).unwrap();
        let (_, rv, sub) = s.list_and_watch("configmaps", Some("default"));
        put(&s, "a");
        s.write("configmaps", "default", "a", false, |_| Ok(Some(Change::Delete))).unwrap();
        let a = sub.events.try_recv().unwrap();
        let b = sub.events.try_recv().unwrap();
        assert_eq!((a.kind, b.kind), (EventType::Added, EventType::Deleted));
        assert!(a.rv > rv && b.rv > a.rv);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
