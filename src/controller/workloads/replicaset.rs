//! The ReplicaSet controller (`syncReplicaSet`): claim the pods the selector
//! matches (adopting orphans, releasing pods that no longer match), create or
//! delete pods until `spec.replicas` are active, and report status.

use super::{Queue, controller_of, controller_ref, create, name_of, terminating, uid_of};
use crate::api::handlers::{DeleteOptions, delete_one};
use crate::api::selector::LabelSelector;
use crate::controller::events::{EventType, Recorder, Source};
use crate::kinds::{pod::PODS, replicaset::REPLICASETS};
use crate::store::Store;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SOURCE: Source = Source { component: "replicaset-controller", host: None };
/// Pods created or deleted per reconcile (`burstReplicas`): the rest follow
/// on the requeue, so one huge scale does not hold the controller thread.
const BURST: i64 = 500;

pub fn reconcile(store: &Store, queue: &Queue, ns: &str, name: &str) -> Result<(), String> {
    let Some(rs) = store.get("replicasets", ns, name) else { return Ok(()) };
    let selector = LabelSelector::from_label_selector_object(&rs["spec"]["selector"])
        .map_err(|e| e.message)?;
    let pods = claim_pods(store, queue, &rs, &selector)?;
    let active: Vec<&Arc<Value>> = pods.iter().filter(|p| is_active(p)).collect();
    if !terminating(&rs) {
        let want = rs["spec"]["replicas"].as_i64().unwrap_or(1);
        let diff = active.len() as i64 - want;
        let recorder = Recorder { store, source: SOURCE, node: "" };
        if diff < 0 {
            for _ in 0..(-diff).min(BURST) {
                let pod = create(store, &PODS, pod_from_template(&rs))?;
                queue.enqueue("pods", ns, name_of(&pod));
                recorder.record(
                    &rs,
                    "",
                    EventType::Normal,
                    "SuccessfulCreate",
                    &format!("Created pod: {}", name_of(&pod)),
                );
            }
            if -diff > BURST {
                queue.enqueue_after("replicasets", ns, name, Duration::from_millis(100));
            }
        } else if diff > 0 {
            let mut victims = active.clone();
            victims.sort_by_key(|p| deletion_rank(p));
            for p in victims.into_iter().take(diff.min(BURST) as usize) {
                let opts = DeleteOptions::background(Some(uid_of(p).to_string()));
                match delete_one(store, &PODS, ns, name_of(p), &opts) {
                    Ok(_) | Err(crate::api::error::ApiError { code: 404 | 409, .. }) => {}
                    Err(e) => return Err(e.message),
                }
                queue.enqueue("pods", ns, name_of(p));
                recorder.record(
                    &rs,
                    "",
                    EventType::Normal,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name_of(p)),
                );
            }
        }
    }
    // Status from what is stored now (our own creations and deletions included).
    let pods = owned_pods(store, &rs);
    let now = SystemTime::now();
    let min_ready = rs["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let (status, wait) = status_of(&rs, &pods, min_ready, now);
    super::write_status(store, &REPLICASETS, &rs, status)?;
    if let Some(w) = wait {
        queue.enqueue_after("replicasets", ns, name, w);
    }
    Ok(())
}

/// The pods of `rs`: those it controls that its selector still matches,
/// plus orphans the selector matches (adopted). Controlled pods that no longer
/// match are released.
fn claim_pods(
    store: &Store,
    queue: &Queue,
    rs: &Value,
    selector: &LabelSelector,
) -> Result<Vec<Arc<Value>>, String> {
    let ns = rs["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = uid_of(rs);
    let (all, _) = store.list("pods", Some(ns), None);
    let mut mine = Vec::new();
    for p in all {
        let owner = controller_of(&p).map(|r| r["uid"].as_str().unwrap_or("").to_string());
        let matches = selector.matches_object(&p);
        match owner.as_deref() {
            Some(u) if u == uid => {
                if matches {
                    mine.push(p);
                } else if !terminating(&p) {
                    release(store, &p, uid)?;
                    queue.enqueue("pods", ns, name_of(&p));
                }
            }
            None if matches && !terminating(&p) && !terminating(rs) => {
                let r = controller_ref(rs);
                let adopted = super::update(store, &PODS, ns, name_of(&p), uid_of(&p), |o| {
                    let m = &mut o["metadata"];
                    if !m.get("ownerReferences").is_some_and(Value::is_array) {
                        m["ownerReferences"] = json!([]);
                    }
                    if let Some(a) = m["ownerReferences"].as_array_mut() {
                        a.push(r);
                    }
                })?;
                if let Some(p) = adopted {
                    mine.push(p);
                }
            }
            _ => {}
        }
    }
    Ok(mine)
}

fn release(store: &Store, pod: &Value, owner_uid: &str) -> Result<(), String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    super::update(store, &PODS, ns, name_of(pod), uid_of(pod), |o| {
        if let Some(a) = o["metadata"]["ownerReferences"].as_array_mut() {
            a.retain(|r| r["uid"] != owner_uid);
            if a.is_empty()
                && let Some(m) = o["metadata"].as_object_mut()
            {
                m.shift_remove("ownerReferences");
            }
        }
    })
    .map(|_| ())
}

fn owned_pods(store: &Store, rs: &Value) -> Vec<Arc<Value>> {
    let ns = rs["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = uid_of(rs);
    let (all, _) = store.list("pods", Some(ns), None);
    all.into_iter()
        .filter(|p| controller_of(p).is_some_and(|r| r["uid"] == uid) && is_active(p))
        .collect()
}

/// `FilterActivePods`: neither finished nor being deleted.
fn is_active(p: &Value) -> bool {
    let phase = p["status"]["phase"].as_str().unwrap_or("");
    phase != "Succeeded" && phase != "Failed" && !terminating(p)
}

fn ready_since(p: &Value) -> Option<&str> {
    p["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")
        .map(|c| c["lastTransitionTime"].as_str().unwrap_or(""))
}

/// `getPodsToDelete`'s order, the ones to delete first: not yet on a node,
/// pending before running, not ready before ready, newest before oldest.
fn deletion_rank(p: &Value) -> (u8, u8, u8, std::cmp::Reverse<String>) {
    let assigned = p["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty());
    let phase = match p["status"]["phase"].as_str().unwrap_or("") {
        "Pending" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    let ready = ready_since(p).is_some();
    let created = p["metadata"]["creationTimestamp"].as_str().unwrap_or("").to_string();
    (u8::from(assigned), phase, u8::from(ready), std::cmp::Reverse(created))
}

/// A new pod from the template: labels and annotations from it, the RS as
/// controller, `<rs>-` as generateName.
fn pod_from_template(rs: &Value) -> Value {
    let t = &rs["spec"]["template"];
    let mut meta = Map::new();
    meta.insert("generateName".into(), json!(format!("{}-", name_of(rs))));
    meta.insert("namespace".into(), rs["metadata"]["namespace"].clone());
    for k in ["labels", "annotations"] {
        if let Some(v) = t["metadata"].get(k).filter(|v| v.is_object()) {
            meta.insert(k.into(), v.clone());
        }
    }
    if let Some(f) = t["metadata"].get("finalizers").filter(|v| v.is_array()) {
        meta.insert("finalizers".into(), f.clone());
    }
    meta.insert("ownerReferences".into(), json!([controller_ref(rs)]));
    json!({"metadata": meta, "spec": t["spec"].clone()})
}

/// ReplicaSet status from its active pods, and when to look again for pods
/// that are ready but not yet available (`minReadySeconds`).
fn status_of(
    rs: &Value,
    pods: &[Arc<Value>],
    min_ready: i64,
    now: SystemTime,
) -> (Value, Option<Duration>) {
    let template_labels = rs["spec"]["template"]["metadata"]["labels"].as_object();
    let mut fully = 0;
    let mut ready = 0;
    let mut available = 0;
    let mut wait: Option<i64> = None;
    for p in pods {
        let labels = p["metadata"]["labels"].as_object();
        let all = template_labels
            .is_none_or(|t| t.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)));
        if all {
            fully += 1;
        }
        if let Some(since) = ready_since(p) {
            ready += 1;
            let age = super::seconds_since(since, now);
            if min_ready <= 0 || age >= min_ready {
                available += 1;
            } else {
                let left = min_ready - age;
                wait = Some(wait.map_or(left, |w: i64| w.min(left)));
            }
        }
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(pods.len()));
    if fully > 0 {
        status.insert("fullyLabeledReplicas".into(), json!(fully));
    }
    if ready > 0 {
        status.insert("readyReplicas".into(), json!(ready));
    }
    if available > 0 {
        status.insert("availableReplicas".into(), json!(available));
    }
    status.insert("observedGeneration".into(), rs["metadata"]["generation"].clone());
    if let Some(c) = rs["status"].get("conditions").filter(|c| c.is_array()) {
        status.insert("conditions".into(), c.clone());
    }
    (Value::Object(status), wait.map(|s| Duration::from_secs(s.max(1) as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ready_at: Option<&str>, labels: Value) -> Arc<Value> {
        let conds = match ready_at {
            Some(t) => json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]),
            None => json!([{"type": "Ready", "status": "False"}]),
        };
        Arc::new(
            json!({"metadata": {"labels": labels}, "status": {"phase": "Running", "conditions": conds}}),
        )
    }

    #[test]
    fn status_counts_ready_and_available() {
        let rs = json!({"metadata": {"generation": 3},
            "spec": {"template": {"metadata": {"labels": {"app": "a", "tier": "t"}}}}});
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let long_ago = crate::api::meta::time_rfc3339(now - Duration::from_secs(100));
        let just_now = crate::api::meta::time_rfc3339(now - Duration::from_secs(2));
        let pods = vec![
            pod(Some(&long_ago), json!({"app": "a", "tier": "t"})),
            pod(Some(&just_now), json!({"app": "a", "tier": "t"})),
            pod(None, json!({"app": "a"})),
        ];
        let (s, wait) = status_of(&rs, &pods, 10, now);
        assert_eq!(
            s,
            json!({"replicas": 3, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 1, "observedGeneration": 3})
        );
        assert_eq!(wait, Some(Duration::from_secs(8)));
        let (s, wait) = status_of(&rs, &pods, 0, now);
        assert_eq!(s["availableReplicas"], 2);
        assert_eq!(wait, None);
    }

    #[test]
    fn unready_and_newest_pods_are_deleted_first() {
        let mk = |created: &str, ready: bool| {
            let mut p = (*pod(ready.then_some("2020-01-01T00:00:00Z"), json!({}))).clone();
            p["metadata"]["creationTimestamp"] = json!(created);
            p["spec"] = json!({"nodeName": "n"});
            p
        };
        let mut v = [
            mk("2020-01-01T00:00:01Z", true),
            mk("2020-01-01T00:00:03Z", true),
            mk("2020-01-01T00:00:02Z", false),
        ];
        v.sort_by_key(deletion_rank);
        let order: Vec<&str> =
            v.iter().map(|p| p["metadata"]["creationTimestamp"].as_str().unwrap()).collect();
        assert_eq!(order, ["2020-01-01T00:00:02Z", "2020-01-01T00:00:03Z", "2020-01-01T00:00:01Z"]);
    }

    #[test]
    fn pods_carry_the_template_and_a_controller_reference() {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-abc", "namespace": "d", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let p = pod_from_template(&rs);
        assert_eq!(p["metadata"]["generateName"], "web-abc-");
        assert_eq!(p["metadata"]["labels"]["app"], "web");
        assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
        assert!(p["metadata"].get("creationTimestamp").is_none());
    }
}
