//! Services on Docker, reconciled level-based per Service:
//!
//! - Endpoints and an EndpointSlice from the pods the selector picks (what
//!   `kubectl describe svc` and `get endpoints` show);
//! - a non-headless Service gets a proxy container (`k2d proxy`, see
//!   `crate::proxy`) on the pods' network under the Service's DNS names, fed a
//!   backends file written atomically here; NodePort and LoadBalancer publish
//!   on the host;
//! - a headless Service's names are network aliases on its pods' sandboxes.
//!
//! The key `("services", "", "")` is a sweep: every Service is queued and
//! proxies whose Service is gone are removed (after a restart or a reconnect).

pub mod endpoints;

use super::Queue;
use super::events::{EventType, Recorder, Source};
use super::pods::{NETWORK, PodRuntime};
use crate::adapter::convert::labels;
use crate::adapter::convert::service as conv;
use crate::adapter::docker::{DockerError, encode_query};
use crate::api::meta;
use crate::kinds::service::is_headless;
use crate::store::{Change, Store};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a proxy found as wanted is trusted without asking Docker again
/// (container events about it clear this sooner).
const VERIFIED_FOR: Duration = Duration::from_secs(30);
/// Who reports proxy trouble on a Service (kube-controller-manager's
/// service controller reports load balancer trouble).
const SERVICE_CONTROLLER: Source = Source { component: "service-controller", host: None };
/// The endpointslice controller's name on the slices it manages.
const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";

/// Proxies seen as wanted: `ns/name` → (hash, when).
static VERIFIED: Mutex<Option<HashMap<String, (String, Instant)>>> = Mutex::new(None);

/// Managed aliases of running sandboxes by container id (with the pod's
/// namespace, for pruning). Docker changes a sandbox's aliases only when k2d
/// reconnects it, so one inspect per sandbox is enough and pod events cost no
/// inspects. Pruned to the running sandboxes seen; cleared by the sweep
/// (restart, Docker reconnect), so it stays level-based.
static ALIASES: Mutex<Option<HashMap<String, SandboxAliases>>> = Mutex::new(None);

/// `(pod namespace, managed aliases)` of one sandbox.
type SandboxAliases = (String, BTreeSet<String>);

/// Forget everything learnt from Docker: after a reconnect it may be another
/// daemon, or containers may have changed while events were not followed.
fn clear_caches() {
    *VERIFIED.lock() = None;
    *ALIASES.lock() = None;
}

fn verified(key: &str, hash: &str) -> bool {
    VERIFIED
        .lock()
        .as_ref()
        .and_then(|m| m.get(key))
        .is_some_and(|(h, at)| h == hash && at.elapsed() < VERIFIED_FOR)
}

fn set_verified(key: &str, hash: Option<&str>) {
    let mut g = VERIFIED.lock();
    let m = g.get_or_insert_with(HashMap::new);
    match hash {
        Some(h) => {
            m.insert(key.to_string(), (h.to_string(), Instant::now()));
        }
        None => {
            m.remove(key);
        }
    }
}

/// A Docker event about one of this k2d's containers: a proxy that changed
/// is looked at again.
pub fn on_container_event(queue: &Queue, labels: &HashMap<String, String>) {
    if labels.get(labels::TYPE).map(String::as_str) != Some(conv::PROXY_TYPE) {
        return;
    }
    if let (Some(ns), Some(name)) =
        (labels.get(conv::SERVICE_NAMESPACE), labels.get(conv::SERVICE_NAME))
    {
        set_verified(&format!("{ns}/{name}"), None);
        queue.enqueue("services", ns, name);
    }
}

/// Queue every Service of `namespace` (its pods changed).
pub fn enqueue_namespace(store: &Store, queue: &Queue, namespace: &str) {
    let (svcs, _) = store.list("services", Some(namespace), None);
    for s in svcs {
        queue.enqueue("services", namespace, s["metadata"]["name"].as_str().unwrap_or(""));
    }
}

/// Before a pod's sandbox is created: cluster DNS settings, and the names of
/// the headless Services that select it (so the common case, Service first,
/// needs no reconnect later).
pub fn prepare_sandbox(store: &Store, pod: &Value, config: &mut Value) {
    conv::apply_cluster_dns(pod, config);
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    let headless = headless_selecting(store, ns, pod);
    let extra = conv::pod_extra_aliases(pod, &headless);
    if let Some(aliases) = config
        .pointer_mut(&format!("/NetworkingConfig/EndpointsConfig/{NETWORK}/Aliases"))
        .and_then(Value::as_array_mut)
    {
        for a in extra {
            if !aliases.iter().any(|x| x == &a) {
                aliases.push(json!(a));
            }
        }
    }
}

/// Names of the live headless Services of `ns` whose selector picks `pod`.
fn headless_selecting(store: &Store, ns: &str, pod: &Value) -> Vec<String> {
    let (svcs, _) = store.list("services", Some(ns), None);
    svcs.iter()
        .filter(|s| is_headless(s) && s["metadata"].get("deletionTimestamp").is_none())
        .filter(|s| {
            s["spec"]["selector"]
                .as_object()
                .is_some_and(|sel| endpoints::selects(sel, &pod["metadata"]["labels"]))
        })
        .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

pub fn reconcile(
    rt: &PodRuntime,
    store: &Store,
    queue: &Queue,
    ns: &str,
    name: &str,
    from_endpoints: bool,
) -> Result<(), String> {
    if name.is_empty() {
        return sweep(rt, store, queue);
    }
    let svc = store.get("services", ns, name);
    let Some(svc) = svc.filter(|s| s["metadata"].get("deletionTimestamp").is_none()) else {
        if from_endpoints {
            return Ok(());
        }
        remove_proxies(rt, ns, name, None, None)?;
        set_verified(&format!("{ns}/{name}"), None);
        // Its names stay on running pods until their sandboxes go (see
        // `sync_headless`): removing them would cut the pods' connections.
        return delete_endpoints(store, ns, name);
    };
    let (pods, _) = store.list("pods", Some(ns), None);
    let backends = endpoints::backends(&svc, &pods);
    let has_selector = svc["spec"]["selector"].as_object().is_some_and(|m| !m.is_empty());
    let kind = svc["spec"]["type"].as_str().unwrap_or("");
    let targets = if has_selector && kind != "ExternalName" {
        if !from_endpoints {
            write_endpoints(store, &svc, &backends)?;
        }
        endpoints::proxy_targets(&svc, &backends)
    } else {
        store
            .get("endpoints", ns, name)
            .map(|ep| endpoints::targets_from_endpoints(&svc, &ep))
            .unwrap_or_default()
    };
    if kind == "ExternalName" || is_headless(&svc) {
        remove_proxies(rt, ns, name, None, None)?;
        set_verified(&format!("{ns}/{name}"), None);
        if kind == "ExternalName" {
            return Ok(());
        }
        return sync_headless(rt, store, queue, &svc, &pods);
    }
    let dir = service_dir(rt, &svc);
    crate::proxy::write_backends(&dir, &crate::proxy::render(&targets))
        .map_err(|e| format!("writing {}: {e}", dir.display()))?;
    ensure_proxy(rt, store, &svc, &dir)?;
    if kind == "LoadBalancer" {
        set_load_balancer_status(store, &svc)?;
    }
    Ok(())
}

fn uid_of(v: &Value) -> &str {
    v["metadata"]["uid"].as_str().unwrap_or("")
}

/// `<data>/services/<uid>`: per Service object, so a recreated Service never
/// sees its predecessor's file.
fn service_dir(rt: &PodRuntime, svc: &Value) -> PathBuf {
    rt.data_path().join("services").join(uid_of(svc))
}

/// This k2d's proxy containers, optionally of one Service.
fn list_proxies(rt: &PodRuntime, svc: Option<(&str, &str)>) -> Result<Vec<Value>, String> {
    let mut wanted = vec![
        format!("{}={}", labels::TYPE, conv::PROXY_TYPE),
        format!("{}={}", labels::INSTANCE, rt.instance()),
    ];
    if let Some((ns, name)) = svc {
        wanted.push(format!("{}={ns}", conv::SERVICE_NAMESPACE));
        wanted.push(format!("{}={name}", conv::SERVICE_NAME));
    }
    let filters = json!({ "label": wanted });
    rt.docker()
        .get_json(&format!("/containers/json?all=1&filters={}", encode_query(&filters.to_string())))
        .map_err(|e| e.to_string())
}

fn label<'a>(c: &'a Value, key: &str) -> &'a str {
    c["Labels"][key].as_str().unwrap_or("")
}

/// Remove the Service's proxies except the one with hash `keep`; their
/// backends directories go too, except that of the Service object with uid
/// `live_uid` (still wanted).
fn remove_proxies(
    rt: &PodRuntime,
    ns: &str,
    name: &str,
    keep: Option<&str>,
    live_uid: Option<&str>,
) -> Result<(), String> {
    for c in list_proxies(rt, Some((ns, name)))? {
        if keep.is_some_and(|k| label(&c, conv::PROXY_HASH) == k) {
            continue;
        }
        remove_proxy(rt, &c, live_uid)?;
    }
    Ok(())
}

/// Remove a proxy container, and its backends directory unless it belongs to
/// `live_uid`: a proxy replaced for a changed Service shares the directory
/// (per uid) whose file was just written for its successor.
fn remove_proxy(rt: &PodRuntime, c: &Value, live_uid: Option<&str>) -> Result<(), String> {
    let id = c["Id"].as_str().unwrap_or("");
    match rt.docker().delete(&format!("/containers/{id}?force=1&v=1")) {
        Ok(()) | Err(DockerError::NotFound(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let uid = label(c, conv::SERVICE_UID);
    if dir_removable(uid, live_uid) {
        let _ = std::fs::remove_dir_all(rt.data_path().join("services").join(uid));
    }
    Ok(())
}

/// Whether the backends directory of Service uid `uid` may go when a proxy of
/// it is removed while the Service object `live_uid` (if any) stays.
fn dir_removable(uid: &str, live_uid: Option<&str>) -> bool {
    !uid.is_empty() && !uid.contains(['/', '.']) && live_uid != Some(uid)
}

/// The Service's proxy exists, is current and runs.
fn ensure_proxy(
    rt: &PodRuntime,
    store: &Store,
    svc: &Value,
    dir: &std::path::Path,
) -> Result<(), String> {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    let key = format!("{ns}/{name}");
    let image = rt.pause_image()?;
    let hash = conv::proxy_hash(svc, &image);
    if verified(&key, &hash) {
        return Ok(());
    }
    let mut current = None;
    for c in list_proxies(rt, Some((ns, name)))? {
        if label(&c, conv::PROXY_HASH) == hash && current.is_none() {
            current = Some(c);
        } else {
            remove_proxy(rt, &c, Some(uid_of(svc)))?;
        }
    }
    let docker = rt.docker();
    let id = match current {
        Some(c) if c["State"] == "running" => {
            set_verified(&key, Some(&hash));
            return Ok(());
        }
        Some(c) => c["Id"].as_str().unwrap_or("").to_string(),
        None => {
            let config =
                conv::proxy_config(svc, &image, NETWORK, &dir.to_string_lossy(), rt.instance());
            let uid = uid_of(svc);
            let cname = format!("{}_{}", conv::proxy_name(ns, name), uid.get(..8).unwrap_or(uid));
            let v: Value = docker
                .post_json(&format!("/containers/create?name={cname}"), &config)
                .map_err(|e| format!("creating the proxy of service {key}: {e}"))?;
            v["Id"].as_str().unwrap_or("").to_string()
        }
    };
    match docker.post_empty::<Value>(&format!("/containers/{id}/start")) {
        Ok(_) | Err(DockerError::Api { status: 304, .. }) => {}
        Err(e) => {
            // Typically a host port another Service (or process) holds: say so
            // on the Service, since the retries only reach k2d's log.
            let recorder = Recorder { store, source: SERVICE_CONTROLLER, node: "" };
            recorder.record(
                svc,
                "",
                EventType::Warning,
                "FailedToStartProxy",
                &format!("Error starting the Service proxy: {e}"),
            );
            return Err(format!("starting the proxy of service {key}: {e}"));
        }
    }
    set_verified(&key, Some(&hash));
    Ok(())
}

/// A LoadBalancer is served on the node itself: its ingress is the node's IP.
fn set_load_balancer_status(store: &Store, svc: &Value) -> Result<(), String> {
    let (nodes, _) = store.list("nodes", None, None);
    let ip = nodes.iter().find_map(|n| {
        n["status"]["addresses"]
            .as_array()?
            .iter()
            .find(|a| a["type"] == "InternalIP")
            .and_then(|a| a["address"].as_str())
            .map(str::to_string)
    });
    let Some(ip) = ip else { return Ok(()) };
    let want = json!({"ingress": [{"ip": ip, "ipMode": "VIP"}]});
    let (ns, name) = (
        svc["metadata"]["namespace"].as_str().unwrap_or(""),
        svc["metadata"]["name"].as_str().unwrap_or(""),
    );
    store
        .write("services", ns, name, false, |cur| {
            let Some(cur) = cur else { return Ok(None) };
            if cur["status"]["loadBalancer"] == want || uid_of(cur) != uid_of(svc) {
                return Ok(None);
            }
            let mut o = (**cur).clone();
            o["status"]["loadBalancer"] = want.clone();
            Ok(Some(Change::Put(o)))
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Labels the Endpoints carry: the Service's, plus the headless marker.
fn endpoints_labels(svc: &Value) -> Map<String, Value> {
    let mut l = svc["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    if is_headless(svc) {
        l.insert("service.kubernetes.io/headless".into(), json!(""));
    }
    l
}

fn write_endpoints(
    store: &Store,
    svc: &Value,
    backends: &[endpoints::Backend],
) -> Result<(), String> {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = svc["metadata"]["name"].as_str().unwrap_or("").to_string();
    let now = meta::now_rfc3339();
    let subsets = endpoints::subsets(svc, backends);
    let labels = endpoints_labels(svc);
    store
        .write("endpoints", &ns, &name, false, |cur| {
            if let Some(cur) = cur {
                let same_subsets =
                    cur.get("subsets").cloned().unwrap_or(json!([])) == json!(subsets);
                let same_labels =
                    cur["metadata"]["labels"].as_object().cloned().unwrap_or_default() == labels;
                if same_subsets && same_labels {
                    return Ok(None);
                }
            }
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert("namespace".into(), json!(ns));
            m.insert(
                "uid".into(),
                json!(cur.map_or_else(meta::new_uid, |c| uid_of(c).to_string())),
            );
            m.insert("resourceVersion".into(), json!(""));
            m.insert(
                "creationTimestamp".into(),
                cur.and_then(|c| c["metadata"].get("creationTimestamp").cloned())
                    .unwrap_or_else(|| json!(now)),
            );
            if !labels.is_empty() {
                m.insert("labels".into(), Value::Object(labels.clone()));
            }
            m.insert(
                "annotations".into(),
                json!({"endpoints.kubernetes.io/last-change-trigger-time": now}),
            );
            let mut o = json!({"kind": "Endpoints", "apiVersion": "v1", "metadata": m});
            if !subsets.is_empty() {
                o["subsets"] = json!(subsets);
            }
            Ok(Some(Change::Put(o)))
        })
        .map_err(|e| e.to_string())?;
    write_slice(store, svc, backends, &now)
}

/// The Service's EndpointSlices (by the `kubernetes.io/service-name` label).
fn slices_of(store: &Store, ns: &str, name: &str) -> Vec<Arc<Value>> {
    let (all, _) = store.list("endpointslices", Some(ns), None);
    all.into_iter()
        .filter(|s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == name
                && s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
                    == SLICE_MANAGER
        })
        .collect()
}

fn write_slice(
    store: &Store,
    svc: &Value,
    backends: &[endpoints::Backend],
    now: &str,
) -> Result<(), String> {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    let (eps, ports) = endpoints::slice(svc, backends);
    let mut labels = svc["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    labels.insert("endpointslice.kubernetes.io/managed-by".into(), json!(SLICE_MANAGER));
    labels.insert("kubernetes.io/service-name".into(), json!(name));
    if is_headless(svc) {
        labels.insert("service.kubernetes.io/headless".into(), json!(""));
    }
    let existing = slices_of(store, ns, name);
    // One slice per Service: extra ones (another k2d version, a race) go.
    for extra in existing.iter().skip(1) {
        let n = extra["metadata"]["name"].as_str().unwrap_or("");
        store
            .write("endpointslices", ns, n, false, |c| Ok(c.map(|_| Change::Delete)))
            .map_err(|e| e.to_string())?;
    }
    let slice_name = existing
        .first()
        .and_then(|s| s["metadata"]["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{name}-{}", meta::random_suffix(5)));
    let eps_value = if eps.is_empty() { Value::Null } else { json!(eps) };
    let owner = json!([{"apiVersion": "v1", "kind": "Service", "name": name, "uid": uid_of(svc),
        "controller": true, "blockOwnerDeletion": true}]);
    store
        .write("endpointslices", ns, &slice_name, false, |cur| {
            if let Some(cur) = cur
                && cur["endpoints"] == eps_value
                && cur["ports"] == json!(ports)
                && cur["metadata"]["labels"].as_object() == Some(&labels)
                && cur["metadata"]["ownerReferences"] == owner
            {
                return Ok(None);
            }
            let generation = cur.and_then(|c| c["metadata"]["generation"].as_i64()).unwrap_or(0) + 1;
            let o = json!({
                "kind": "EndpointSlice",
                "apiVersion": "discovery.k8s.io/v1",
                "metadata": {
                    "name": slice_name,
                    "generateName": format!("{name}-"),
                    "namespace": ns,
                    "uid": cur.map_or_else(meta::new_uid, |c| uid_of(c).to_string()),
                    "resourceVersion": "",
                    "generation": generation,
                    "creationTimestamp": cur.and_then(|c| c["metadata"].get("creationTimestamp").cloned()).unwrap_or_else(|| json!(now)),
                    "labels": labels,
                    "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now},
                    "ownerReferences": owner,
                },
                "addressType": "IPv4",
                "endpoints": eps_value,
                "ports": ports,
            });
            Ok(Some(Change::Put(o)))
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A deleted Service takes its Endpoints and EndpointSlices with it.
fn delete_endpoints(store: &Store, ns: &str, name: &str) -> Result<(), String> {
    store
        .write("endpoints", ns, name, false, |c| Ok(c.map(|_| Change::Delete)))
        .map_err(|e| e.to_string())?;
    for s in slices_of(store, ns, name) {
        let n = s["metadata"]["name"].as_str().unwrap_or("");
        store
            .write("endpointslices", ns, n, false, |c| Ok(c.map(|_| Change::Delete)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether a pod's sandbox may be given headless Services' names. Only a
/// live pod: reconnecting a sandbox cuts its connections and may change its
/// IP, which a pod in its grace period (or finished) must not suffer. Not
/// readiness, unlike Kubernetes DNS: adding a name needs a reconnect, so
/// following readiness would reconnect on every readiness flap.
fn alias_member(pod: &Value) -> bool {
    pod["metadata"].get("deletionTimestamp").is_none()
        && !matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// The dotted aliases a sandbox has (its own name, Docker's short id and the
/// container's hostname have no dot and are not ours to manage).
fn managed_aliases(aliases: &[String]) -> BTreeSet<String> {
    aliases.iter().filter(|a| a.contains('.')).cloned().collect()
}

/// Whether a sandbox with managed aliases `have` must be reconnected to carry
/// `want`: only when names are missing. A stale name (Service deleted or no
/// longer selecting the pod) stays until the sandbox is recreated, because
/// Docker cannot remove an alias without disconnecting the pod.
fn needs_reconnect(have: &BTreeSet<String>, want: &BTreeSet<String>) -> bool {
    !want.is_subset(have)
}

/// The running sandboxes of the live pods `svc` selects carry its names. A
/// sandbox missing some is reconnected to the network with all the names its
/// pod should have (Docker cannot add aliases in place; the pod's IP may
/// change, so the pod is queued to report it). Aliases are read from
/// [`ALIASES`], so only sandboxes not seen before are inspected.
fn sync_headless(
    rt: &PodRuntime,
    store: &Store,
    queue: &Queue,
    svc: &Value,
    pods: &[Arc<Value>],
) -> Result<(), String> {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let Some(selector) = svc["spec"]["selector"].as_object() else { return Ok(()) };
    let members: HashMap<&str, &Value> = pods
        .iter()
        .filter(|p| alias_member(p) && endpoints::selects(selector, &p["metadata"]["labels"]))
        .map(|p| (uid_of(p), &**p))
        .collect();
    if members.is_empty() {
        return Ok(());
    }
    let filters = json!({"label": [
        format!("{}=podsandbox", labels::TYPE),
        format!("{}={ns}", labels::POD_NAMESPACE),
        format!("{}={}", labels::INSTANCE, rt.instance()),
    ], "status": ["running"]});
    let docker = rt.docker();
    let sandboxes: Vec<Value> = docker
        .get_json(&format!("/containers/json?filters={}", encode_query(&filters.to_string())))
        .map_err(|e| e.to_string())?;
    {
        let running: BTreeSet<&str> = sandboxes.iter().filter_map(|c| c["Id"].as_str()).collect();
        let mut g = ALIASES.lock();
        if let Some(m) = g.as_mut() {
            m.retain(|id, (n, _)| n != ns || running.contains(id.as_str()));
        }
    }
    for sb in sandboxes {
        let Some(pod) = members.get(label(&sb, labels::POD_UID)) else { continue };
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
        let headless = headless_selecting(store, ns, pod);
        let mut want: Vec<String> = vec![pod_name.to_string()];
        want.extend(conv::pod_extra_aliases(pod, &headless));
        let want_managed = managed_aliases(&want);
        let id = sb["Id"].as_str().unwrap_or("");
        let cached = ALIASES.lock().as_ref().and_then(|m| m.get(id)).map(|(_, a)| a.clone());
        let have = match cached {
            Some(a) => a,
            None => {
                let a = managed_aliases(&inspect_aliases(rt, id)?);
                remember_aliases(id, ns, a.clone());
                a
            }
        };
        if !needs_reconnect(&have, &want_managed) {
            continue;
        }
        log::info!("pod {ns}/{pod_name}: network names now {want:?}");
        // Whatever happens next, what the sandbox has must be asked again.
        ALIASES.lock().as_mut().map(|m| m.remove(id));
        match docker.post_json::<Value>(
            &format!("/networks/{NETWORK}/disconnect"),
            &json!({"Container": id, "Force": true}),
        ) {
            Ok(_) | Err(DockerError::NotFound(_)) => {}
            Err(e) => return Err(format!("disconnecting {pod_name}: {e}")),
        }
        docker
            .post_json::<Value>(
                &format!("/networks/{NETWORK}/connect"),
                &json!({"Container": id, "EndpointConfig": {"Aliases": want}}),
            )
            .map_err(|e| format!("connecting {pod_name}: {e}"))?;
        remember_aliases(id, ns, want_managed);
        queue.enqueue("pods", ns, pod_name);
    }
    Ok(())
}

fn remember_aliases(id: &str, ns: &str, aliases: BTreeSet<String>) {
    ALIASES
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(id.to_string(), (ns.to_string(), aliases));
}

/// The sandbox's aliases on the pods' network (`/containers/json` leaves them
/// out); a sandbox that is gone has none.
fn inspect_aliases(rt: &PodRuntime, id: &str) -> Result<Vec<String>, String> {
    let c = match rt.docker().get_json::<Value>(&format!("/containers/{id}/json")) {
        Ok(c) => c,
        Err(DockerError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(format!("inspecting sandbox {id}: {e}")),
    };
    Ok(c.pointer(&format!("/NetworkSettings/Networks/{NETWORK}/Aliases"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default())
}

/// Queue every Service; remove proxies whose Service no longer exists and
/// backends directories of Service objects that are gone. Runs after a
/// restart and after every Docker (re)connect, so what was learnt from
/// Docker before is forgotten first.
fn sweep(rt: &PodRuntime, store: &Store, queue: &Queue) -> Result<(), String> {
    clear_caches();
    let (svcs, _) = store.list("services", None, None);
    for s in &svcs {
        queue.enqueue(
            "services",
            s["metadata"]["namespace"].as_str().unwrap_or(""),
            s["metadata"]["name"].as_str().unwrap_or(""),
        );
    }
    for c in list_proxies(rt, None)? {
        let (ns, name) = (label(&c, conv::SERVICE_NAMESPACE), label(&c, conv::SERVICE_NAME));
        let live = store
            .get("services", ns, name)
            .is_some_and(|s| uid_of(&s) == label(&c, conv::SERVICE_UID));
        if !live {
            remove_proxy(rt, &c, None)?;
        }
    }
    let uids: BTreeSet<&str> = svcs.iter().map(|s| uid_of(s)).collect();
    if let Ok(dirs) = std::fs::read_dir(rt.data_path().join("services")) {
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            if !uids.contains(name.as_str()) && dir_removable(&name, None) {
                let _ = std::fs::remove_dir_all(d.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_missing_names_reconnect_a_sandbox() {
        let have = set(&["db.shop", "db.shop.svc"]);
        assert!(!needs_reconnect(&have, &set(&["db.shop", "db.shop.svc"])));
        // A stale name (Service deleted) is no reason to cut the pod's connections.
        assert!(!needs_reconnect(&have, &set(&[])));
        assert!(!needs_reconnect(&have, &set(&["db.shop"])));
        assert!(needs_reconnect(&have, &set(&["db.shop", "cache.shop"])));
        assert_eq!(
            managed_aliases(&["web-0".into(), "0123abcd".into(), "web.shop".into()]),
            set(&["web.shop"])
        );
    }

    #[test]
    fn terminating_or_finished_pods_are_never_given_names() {
        let live = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert!(alias_member(&live));
        let mut terminating = live.clone();
        terminating["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        assert!(!alias_member(&terminating));
        for phase in ["Succeeded", "Failed"] {
            assert!(!alias_member(&json!({"metadata": {}, "status": {"phase": phase}})));
        }
    }

    #[test]
    fn a_replaced_proxy_keeps_its_services_backends_directory() {
        assert!(!dir_removable("u1", Some("u1")), "same Service object: the file is wanted");
        assert!(dir_removable("u0", Some("u1")), "a recreated Service's old directory goes");
        assert!(dir_removable("u1", None));
        assert!(!dir_removable("", None));
        assert!(!dir_removable("..", None));
    }
}
