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
/// The endpointslice controller's name on the slices it manages.
const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";

/// Proxies seen as wanted: `ns/name` → (hash, when).
static VERIFIED: Mutex<Option<HashMap<String, (String, Instant)>>> = Mutex::new(None);

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
        remove_proxies(rt, ns, name, None)?;
        set_verified(&format!("{ns}/{name}"), None);
        delete_endpoints(store, ns, name)?;
        return sync_headless(rt, store, queue, ns);
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
        remove_proxies(rt, ns, name, None)?;
        set_verified(&format!("{ns}/{name}"), None);
        return sync_headless(rt, store, queue, ns);
    }
    let dir = service_dir(rt, &svc);
    crate::proxy::write_backends(&dir, &crate::proxy::render(&targets))
        .map_err(|e| format!("writing {}: {e}", dir.display()))?;
    ensure_proxy(rt, &svc, &dir)?;
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
/// backends directories go too.
fn remove_proxies(rt: &PodRuntime, ns: &str, name: &str, keep: Option<&str>) -> Result<(), String> {
    for c in list_proxies(rt, Some((ns, name)))? {
        if keep.is_some_and(|k| label(&c, conv::PROXY_HASH) == k) {
            continue;
        }
        remove_proxy(rt, &c)?;
    }
    Ok(())
}

fn remove_proxy(rt: &PodRuntime, c: &Value) -> Result<(), String> {
    let id = c["Id"].as_str().unwrap_or("");
    match rt.docker().delete(&format!("/containers/{id}?force=1&v=1")) {
        Ok(()) | Err(DockerError::NotFound(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let uid = label(c, conv::SERVICE_UID);
    if !uid.is_empty() {
        let _ = std::fs::remove_dir_all(rt.data_path().join("services").join(uid));
    }
    Ok(())
}

/// The Service's proxy exists, is current and runs.
fn ensure_proxy(rt: &PodRuntime, svc: &Value, dir: &std::path::Path) -> Result<(), String> {
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
            remove_proxy(rt, &c)?;
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
        Err(e) => return Err(format!("starting the proxy of service {key}: {e}")),
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

/// Whether a pod's sandbox should carry its headless Services' names. Pods
/// have no readiness probes yet, so a pod counts while it is neither
/// finished nor being deleted.
fn alias_member(pod: &Value) -> bool {
    pod["metadata"].get("deletionTimestamp").is_none()
        && !matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// The dotted aliases a sandbox has (its own name, Docker's short id and the
/// container's hostname have no dot and are not ours to manage).
fn managed_aliases(aliases: &[String]) -> BTreeSet<String> {
    aliases.iter().filter(|a| a.contains('.')).cloned().collect()
}

/// Every running sandbox of `ns` carries exactly the headless names it
/// should; a sandbox that differs is reconnected to the network with the
/// right aliases (Docker cannot change aliases in place; the pod's IP may
/// change, so the pod is queued to report it).
fn sync_headless(rt: &PodRuntime, store: &Store, queue: &Queue, ns: &str) -> Result<(), String> {
    let filters = json!({"label": [
        format!("{}=podsandbox", labels::TYPE),
        format!("{}={ns}", labels::POD_NAMESPACE),
        format!("{}={}", labels::INSTANCE, rt.instance()),
    ], "status": ["running"]});
    let docker = rt.docker();
    let sandboxes: Vec<Value> = docker
        .get_json(&format!("/containers/json?filters={}", encode_query(&filters.to_string())))
        .map_err(|e| e.to_string())?;
    for sb in sandboxes {
        let pod_name = label(&sb, labels::POD_NAME);
        let Some(pod) = store.get("pods", ns, pod_name) else { continue };
        if label(&sb, labels::POD_UID) != uid_of(&pod) {
            continue;
        }
        let headless =
            if alias_member(&pod) { headless_selecting(store, ns, &pod) } else { Vec::new() };
        let mut want: Vec<String> = vec![pod_name.to_string()];
        want.extend(conv::pod_extra_aliases(&pod, &headless));
        let id = sb["Id"].as_str().unwrap_or("");
        let have = inspect_aliases(rt, id);
        if managed_aliases(&have) == managed_aliases(&want) {
            continue;
        }
        log::info!("pod {ns}/{pod_name}: network names now {want:?}");
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
        queue.enqueue("pods", ns, pod_name);
    }
    Ok(())
}

/// The sandbox's aliases on the pods' network (`/containers/json` leaves them out).
fn inspect_aliases(rt: &PodRuntime, id: &str) -> Vec<String> {
    rt.docker()
        .get_json::<Value>(&format!("/containers/{id}/json"))
        .ok()
        .and_then(|c| {
            c.pointer(&format!("/NetworkSettings/Networks/{NETWORK}/Aliases"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        })
        .unwrap_or_default()
}

/// Queue every Service; remove proxies whose Service no longer exists.
fn sweep(rt: &PodRuntime, store: &Store, queue: &Queue) -> Result<(), String> {
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
            remove_proxy(rt, &c)?;
        }
    }
    Ok(())
}
