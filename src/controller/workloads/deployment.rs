//! The Deployment controller (`syncDeployment`): one ReplicaSet per pod
//! template (named `<deployment>-<pod-template-hash>`), rolled over per
//! strategy, revisions in annotations, old ReplicaSets pruned to
//! `revisionHistoryLimit`, and status with Kubernetes' conditions.

use super::rolling::{self, Counts};
use super::{Queue, controller_of, controller_ref, create, name_of, terminating, uid_of};
use crate::api::handlers::{DeleteOptions, delete_one};
use crate::api::meta;
use crate::api::selector::LabelSelector;
use crate::controller::events::{EventType, Recorder, Source};
use crate::kinds::{deployment::DEPLOYMENTS, replicaset::REPLICASETS};
use crate::store::Store;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SOURCE: Source = Source { component: "deployment-controller", host: None };
const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations of a Deployment never copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
];

pub fn reconcile(store: &Store, queue: &Queue, ns: &str, name: &str) -> Result<(), String> {
    let Some(d) = store.get("deployments", ns, name) else { return Ok(()) };
    let rec = Recorder { store, source: SOURCE, node: "" };
    let mut sets = claim_replica_sets(store, queue, &d)?;
    if terminating(&d) {
        return sync_status(store, queue, &d, &sets);
    }
    let mut d = d;
    // Paused and resumed are conditions of their own.
    d = paused_condition(store, d)?;
    let new_idx = find_new(&d, &sets);
    let paused = d["spec"]["paused"].as_bool().unwrap_or(false);
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (surge, max_unavailable) = rolling::surge_and_unavailable(&d);
    let max_old_revision = sets
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_idx)
        .map(|(_, rs)| revision_of(rs))
        .max()
        .unwrap_or(0);
    // getNewReplicaSet: an existing new ReplicaSet follows the Deployment's
    // annotations, revision and minReadySeconds on every sync.
    if let Some(i) = new_idx {
        sets[i] = sync_new_replica_set(store, &d, &sets[i], max_old_revision + 1)?;
        d = found_new(store, d, &sets[i])?;
    }
    if paused || is_scaling_event(&sets, desired) {
        // `sync`: resize what runs (proportionally mid-rollout); paused
        // Deployments roll nothing, scaling events roll on next time.
        scale_all(store, queue, &rec, &d, &mut sets, new_idx, desired, surge)?;
        if let Some(i) = new_idx {
            d = sync_revision(store, d, &sets[i])?;
        }
        if paused {
            cleanup(store, &d, &sets, new_idx)?;
        }
        return sync_status(store, queue, &d, &sets);
    }
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let i = match new_idx {
        Some(i) => i,
        None => {
            if recreate
                && (old_active(&sets, usize::MAX) > 0
                    || old_pods_remaining(store, &d, &sets, usize::MAX))
            {
                // Recreate: the new ReplicaSet waits until every old pod is gone.
                scale_old_to_zero(store, queue, &rec, &d, &mut sets, None)?;
                return sync_status(store, queue, &d, &sets);
            }
            let all = surge_base(store, &d, &sets);
            let start = if recreate || desired == 0 {
                desired
            } else {
                rolling::new_rs_replicas(desired, surge, 0, all)
            };
            let rs = create_new(store, queue, &d, start, max_old_revision + 1, surge)?;
            if start > 0 {
                rec.record(
                    &d,
                    "",
                    EventType::Normal,
                    "ScalingReplicaSet",
                    &format!("Scaled up replica set {} from 0 to {start}", name_of(&rs)),
                );
            }
            d = new_rs_condition(store, d, &rs)?;
            sets.push(rs);
            sets.len() - 1
        }
    };
    if recreate {
        if old_active(&sets, i) > 0 || old_pods_remaining(store, &d, &sets, i) {
            scale_old_to_zero(store, queue, &rec, &d, &mut sets, Some(i))?;
        } else {
            scale(store, queue, &rec, &d, &mut sets[i], desired, surge)?;
        }
    } else {
        // reconcileNewReplicaSet
        let cur = spec_replicas(&sets[i]);
        let all = surge_base(store, &d, &sets);
        let target = if cur > desired {
            desired
        } else {
            rolling::new_rs_replicas(desired, surge, cur, all)
        };
        scale(store, queue, &rec, &d, &mut sets[i], target, surge)?;
        // reconcileOldReplicaSets
        let new = counts(&sets[i]);
        let old_idx: Vec<usize> = (0..sets.len()).filter(|j| *j != i).collect();
        let old: Vec<Counts> = old_idx.iter().map(|j| counts(&sets[*j])).collect();
        let targets = rolling::scale_down_old(new, &old, desired, max_unavailable);
        for (j, t) in old_idx.into_iter().zip(targets) {
            scale(store, queue, &rec, &d, &mut sets[j], t, surge)?;
        }
    }
    d = sync_revision(store, d, &sets[i])?;
    if complete(&d, &sets, Some(i)) {
        cleanup(store, &d, &sets, Some(i))?;
    }
    sync_status(store, queue, &d, &sets)
}

/// ReplicaSets the Deployment controls, adopting orphans its selector matches
/// and releasing controlled ones it no longer matches. Oldest first.
fn claim_replica_sets(store: &Store, queue: &Queue, d: &Value) -> Result<Vec<Arc<Value>>, String> {
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = uid_of(d);
    let selector =
        LabelSelector::from_label_selector_object(&d["spec"]["selector"]).map_err(|e| e.message)?;
    let (all, _) = store.list("replicasets", Some(ns), None);
    let mut mine = Vec::new();
    for rs in all {
        let owner = controller_of(&rs).map(|r| r["uid"].as_str().unwrap_or("").to_string());
        match owner.as_deref() {
            Some(u) if u == uid => mine.push(rs),
            None if selector.matches_object(&rs) && !terminating(&rs) && !terminating(d) => {
                let r = controller_ref(d);
                if let Some(rs) =
                    super::update(store, &REPLICASETS, ns, name_of(&rs), uid_of(&rs), |o| {
                        let m = &mut o["metadata"];
                        if !m.get("ownerReferences").is_some_and(Value::is_array) {
                            m["ownerReferences"] = json!([]);
                        }
                        if let Some(a) = m["ownerReferences"].as_array_mut() {
                            a.push(r);
                        }
                    })?
                {
                    queue.enqueue("replicasets", ns, name_of(&rs));
                    mine.push(rs);
                }
            }
            _ => {}
        }
    }
    mine.sort_by(|a, b| {
        let ca = a["metadata"]["creationTimestamp"].as_str().unwrap_or("");
        let cb = b["metadata"]["creationTimestamp"].as_str().unwrap_or("");
        ca.cmp(cb).then_with(|| name_of(a).cmp(name_of(b)))
    });
    Ok(mine)
}

/// The template without the hash label, for `EqualIgnoreHash`.
fn template_without_hash(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.shift_remove(HASH_LABEL);
        if l.is_empty()
            && let Some(m) = t["metadata"].as_object_mut()
        {
            m.shift_remove("labels");
        }
    }
    t
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template is the Deployment's.
fn find_new(d: &Value, sets: &[Arc<Value>]) -> Option<usize> {
    let want = template_without_hash(&d["spec"]["template"]);
    sets.iter().position(|rs| template_without_hash(&rs["spec"]["template"]) == want)
}

fn spec_replicas(rs: &Value) -> i64 {
    rs["spec"]["replicas"].as_i64().unwrap_or(0)
}

fn counts(rs: &Value) -> Counts {
    Counts {
        replicas: spec_replicas(rs),
        available: rs["status"]["availableReplicas"].as_i64().unwrap_or(0),
    }
}

/// What the surge limit is measured against: per ReplicaSet, its `spec.replicas` or the live
/// pods it still has, whichever is more. Kubernetes sums `spec.replicas` alone and relies on
/// its ReplicaSet controller running in parallel; here that controller runs on the same thread
/// after this one, so a set just scaled down still has its pods, and counting its spec alone
/// let a rollout briefly run more than `replicas + maxSurge` pods.
fn surge_base(store: &Store, d: &Value, sets: &[Arc<Value>]) -> i64 {
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let (pods, _) = store.list("pods", Some(ns), None);
    let live = |uid: &str| {
        pods.iter()
            .filter(|p| {
                let phase = p["status"]["phase"].as_str().unwrap_or("");
                phase != "Succeeded"
                    && phase != "Failed"
                    && !terminating(p)
                    && controller_of(p).is_some_and(|r| r["uid"] == uid)
            })
            .count() as i64
    };
    sets.iter().map(|r| spec_replicas(r).max(live(uid_of(r)))).sum()
}

/// Replicas wanted by ReplicaSets other than `new`.
fn old_active(sets: &[Arc<Value>], new: usize) -> i64 {
    sets.iter().enumerate().filter(|(i, _)| *i != new).map(|(_, r)| spec_replicas(r)).sum()
}

/// Recreate waits for the old pods themselves, terminating ones included.
fn old_pods_remaining(store: &Store, d: &Value, sets: &[Arc<Value>], new: usize) -> bool {
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let old: Vec<&str> =
        sets.iter().enumerate().filter(|(i, _)| *i != new).map(|(_, r)| uid_of(r)).collect();
    let (pods, _) = store.list("pods", Some(ns), None);
    pods.iter().any(|p| {
        let phase = p["status"]["phase"].as_str().unwrap_or("");
        phase != "Succeeded"
            && phase != "Failed"
            && controller_of(p).is_some_and(|r| old.contains(&r["uid"].as_str().unwrap_or("")))
    })
}

fn revision_of(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn set_annotation(o: &mut Value, k: &str, v: &str) {
    let m = &mut o["metadata"];
    if !m.get("annotations").is_some_and(Value::is_object) {
        m["annotations"] = json!({});
    }
    m["annotations"][k] = json!(v);
}

/// The Deployment's annotations a ReplicaSet carries (`SetNewReplicaSetAnnotations`).
fn copied_annotations(d: &Value) -> Vec<(&String, &Value)> {
    d["metadata"]["annotations"]
        .as_object()
        .map(|a| a.iter().filter(|(k, _)| !NOT_COPIED.contains(&k.as_str())).collect())
        .unwrap_or_default()
}

fn min_ready_seconds(o: &Value) -> i64 {
    o["spec"]["minReadySeconds"].as_i64().unwrap_or(0)
}

/// An existing new ReplicaSet takes the Deployment's current annotations
/// (a `change-cause` set after the rollout) and `minReadySeconds`; one that
/// becomes new again (a rollback to its template) takes the next revision,
/// its earlier ones going to `revision-history`.
fn sync_new_replica_set(
    store: &Store,
    d: &Value,
    rs: &Arc<Value>,
    next: i64,
) -> Result<Arc<Value>, String> {
    let cur = revision_of(rs);
    let copied = copied_annotations(d);
    let min_ready = min_ready_seconds(d);
    let stale =
        copied.iter().any(|(k, v)| rs["metadata"]["annotations"].get(k.as_str()) != Some(v));
    if cur >= next && !stale && min_ready_seconds(rs) == min_ready {
        return Ok(rs.clone());
    }
    let ns = rs["metadata"]["namespace"].as_str().unwrap_or("");
    let updated = super::update(store, &REPLICASETS, ns, name_of(rs), uid_of(rs), |o| {
        for (k, v) in &copied {
            set_annotation(o, k, v.as_str().unwrap_or(""));
        }
        if cur < next {
            if cur > 0 {
                let hist = o["metadata"]["annotations"][REVISION_HISTORY].as_str().unwrap_or("");
                let hist = if hist.is_empty() { cur.to_string() } else { format!("{hist},{cur}") };
                set_annotation(o, REVISION_HISTORY, &hist);
            }
            set_annotation(o, REVISION, &next.to_string());
        }
        if let Some(a) = o["metadata"]["annotations"].as_object_mut() {
            a.sort_keys();
        }
        if min_ready > 0 {
            o["spec"]["minReadySeconds"] = json!(min_ready);
        } else if let Some(spec) = o["spec"].as_object_mut() {
            spec.shift_remove("minReadySeconds");
        }
    })?;
    Ok(updated.unwrap_or_else(|| rs.clone()))
}

/// The Deployment's revision annotation follows its new ReplicaSet.
fn sync_revision(store: &Store, d: Arc<Value>, rs: &Value) -> Result<Arc<Value>, String> {
    let rev = revision_of(rs).to_string();
    if d["metadata"]["annotations"][REVISION].as_str() == Some(rev.as_str()) {
        return Ok(d);
    }
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let updated = super::update(store, &DEPLOYMENTS, ns, name_of(&d), uid_of(&d), |o| {
        set_annotation(o, REVISION, &rev);
    })?;
    Ok(updated.unwrap_or(d))
}

/// `isScalingEvent`: an active ReplicaSet was last sized for another
/// Deployment size.
fn is_scaling_event(sets: &[Arc<Value>], desired: i64) -> bool {
    sets.iter().filter(|rs| spec_replicas(rs) > 0).any(|rs| {
        rs["metadata"]["annotations"][DESIRED]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|want| want != desired)
    })
}

/// `IsSaturated`: the new ReplicaSet runs the whole Deployment.
fn saturated(rs: &Value, desired: i64) -> bool {
    let annotated = rs["metadata"]["annotations"][DESIRED].as_str().and_then(|s| s.parse().ok());
    spec_replicas(rs) == desired
        && annotated == Some(desired)
        && rs["status"]["availableReplicas"].as_i64().unwrap_or(0) == desired
}

/// `FindActiveOrLatest`: the one ReplicaSet with replicas (or, with none,
/// the new one, else the newest); `None` when several have replicas.
fn active_or_latest(sets: &[Arc<Value>], new: Option<usize>) -> Option<usize> {
    let active: Vec<usize> = (0..sets.len()).filter(|i| spec_replicas(&sets[*i]) > 0).collect();
    match active.as_slice() {
        [] => new.or_else(|| sets.len().checked_sub(1)),
        [one] => Some(*one),
        _ => None,
    }
}

/// The deployment controller's `scale`: the only active ReplicaSet takes
/// the Deployment's size; a saturated new one leaves the old ones at zero;
/// otherwise a RollingUpdate shares the change among the active ones in
/// proportion, so a resize mid-rollout neither hastens nor stalls it.
#[allow(clippy::too_many_arguments)]
fn scale_all(
    store: &Store,
    queue: &Queue,
    rec: &Recorder,
    d: &Value,
    sets: &mut [Arc<Value>],
    new: Option<usize>,
    desired: i64,
    surge: i64,
) -> Result<(), String> {
    if let Some(i) = active_or_latest(sets, new) {
        return scale(store, queue, rec, d, &mut sets[i], desired, surge);
    }
    if let Some(i) = new.filter(|i| saturated(&sets[*i], desired)) {
        let old: Vec<usize> =
            (0..sets.len()).filter(|j| *j != i && spec_replicas(&sets[*j]) > 0).collect();
        for j in old {
            scale(store, queue, rec, d, &mut sets[j], 0, surge)?;
        }
        return Ok(());
    }
    let active: Vec<usize> = (0..sets.len()).filter(|i| spec_replicas(&sets[*i]) > 0).collect();
    if d["spec"]["strategy"]["type"] != "RollingUpdate" {
        // Kubernetes leaves these alone; recording the size they were seen
        // at ends the scaling event, which would otherwise hold the rollout.
        for i in active {
            let keep = spec_replicas(&sets[i]);
            scale(store, queue, rec, d, &mut sets[i], keep, surge)?;
        }
        return Ok(());
    }
    let sized: Vec<rolling::Sized> = active
        .iter()
        .map(|i| rolling::Sized {
            replicas: spec_replicas(&sets[*i]),
            max_replicas: sets[*i]["metadata"]["annotations"][MAX_REPLICAS]
                .as_str()
                .and_then(|s| s.parse().ok()),
        })
        .collect();
    let status_replicas = d["status"]["replicas"].as_i64().unwrap_or(0);
    let sizes = rolling::proportional_sizes(&sized, desired, surge, status_replicas);
    for (i, size) in active.into_iter().zip(sizes) {
        scale(store, queue, rec, d, &mut sets[i], size, surge)?;
    }
    Ok(())
}

/// Create the ReplicaSet for the Deployment's current template.
fn create_new(
    store: &Store,
    queue: &Queue,
    d: &Value,
    replicas: i64,
    revision: i64,
    surge: i64,
) -> Result<Arc<Value>, String> {
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let collision = d["status"]["collisionCount"].as_i64();
    let mut template = d["spec"]["template"].clone();
    let hash = super::hash::template_hash(&template, collision);
    if !template["metadata"].get("labels").is_some_and(Value::is_object) {
        template["metadata"]["labels"] = json!({});
    }
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    if !selector.get("matchLabels").is_some_and(Value::is_object) {
        selector["matchLabels"] = json!({});
    }
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut annotations: Map<String, Value> =
        copied_annotations(d).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
    annotations.insert(DESIRED.into(), json!(desired.to_string()));
    annotations.insert(MAX_REPLICAS.into(), json!((desired + surge).to_string()));
    annotations.insert(REVISION.into(), json!(revision.to_string()));
    let mut sorted: Vec<(String, Value)> = annotations.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let labels = template["metadata"]["labels"].clone();
    let mut spec = json!({"replicas": replicas, "selector": selector, "template": template});
    if let Some(m) = d["spec"].get("minReadySeconds").filter(|v| v.as_i64().unwrap_or(0) > 0) {
        spec["minReadySeconds"] = m.clone();
    }
    let rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", name_of(d)),
            "namespace": ns,
            "labels": labels,
            "annotations": Value::Object(sorted.into_iter().collect()),
            "ownerReferences": [controller_ref(d)],
        },
        "spec": spec,
    });
    let rs = match create(store, &REPLICASETS, rs) {
        Ok(rs) => rs,
        Err(e) => {
            // A ReplicaSet of that name with another template: a hash
            // collision. Kubernetes bumps status.collisionCount and retries.
            if let Some(existing) = store.get("replicasets", ns, &format!("{}-{hash}", name_of(d)))
            {
                let n = collision.unwrap_or(0) + 1;
                let mut status = d["status"].clone();
                if !status.is_object() {
                    status = json!({});
                }
                status["collisionCount"] = json!(n);
                super::write_status(store, &DEPLOYMENTS, d, status)?;
                return Err(format!(
                    "replica set {} exists with another template; collisionCount is now {n}",
                    name_of(&existing)
                ));
            }
            return Err(e);
        }
    };
    queue.enqueue("replicasets", ns, name_of(&rs));
    Ok(rs)
}

/// Scale one ReplicaSet (with the annotations and Event Kubernetes writes).
fn scale(
    store: &Store,
    queue: &Queue,
    rec: &Recorder,
    d: &Value,
    rs: &mut Arc<Value>,
    to: i64,
    surge: i64,
) -> Result<(), String> {
    let from = spec_replicas(rs);
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1).to_string();
    let max = (d["spec"]["replicas"].as_i64().unwrap_or(1) + surge).to_string();
    let ann = &rs["metadata"]["annotations"];
    if from == to
        && ann[DESIRED].as_str() == Some(desired.as_str())
        && ann[MAX_REPLICAS].as_str() == Some(max.as_str())
    {
        return Ok(());
    }
    let ns = rs["metadata"]["namespace"].as_str().unwrap_or("").to_string();
    let name = name_of(rs).to_string();
    let updated = super::update(store, &REPLICASETS, &ns, &name, uid_of(rs), |o| {
        o["spec"]["replicas"] = json!(to);
        set_annotation(o, DESIRED, &desired);
        set_annotation(o, MAX_REPLICAS, &max);
    })?;
    if let Some(u) = updated {
        *rs = u;
    }
    queue.enqueue("replicasets", &ns, &name);
    if from != to {
        let dir = if to > from { "up" } else { "down" };
        rec.record(
            d,
            "",
            EventType::Normal,
            "ScalingReplicaSet",
            &format!("Scaled {dir} replica set {name} from {from} to {to}"),
        );
    }
    Ok(())
}

fn scale_old_to_zero(
    store: &Store,
    queue: &Queue,
    rec: &Recorder,
    d: &Value,
    sets: &mut [Arc<Value>],
    new: Option<usize>,
) -> Result<(), String> {
    for (i, rs) in sets.iter_mut().enumerate() {
        if Some(i) != new {
            scale(store, queue, rec, d, rs, 0, 0)?;
        }
    }
    Ok(())
}

/// `DeploymentComplete` with the status this reconcile would write.
fn complete(d: &Value, sets: &[Arc<Value>], new: Option<usize>) -> bool {
    let s = calculate_status(d, sets, new);
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    n("updatedReplicas") == want && n("replicas") == want && n("availableReplicas") == want
}

/// `cleanupDeployment`: delete the oldest fully scaled-down ReplicaSets
/// beyond `revisionHistoryLimit`.
fn cleanup(
    store: &Store,
    d: &Value,
    sets: &[Arc<Value>],
    new: Option<usize>,
) -> Result<(), String> {
    let Some(limit) = d["spec"]["revisionHistoryLimit"].as_i64() else { return Ok(()) };
    let mut old: Vec<&Arc<Value>> = sets
        .iter()
        .enumerate()
        .filter(|(i, rs)| {
            Some(*i) != new
                && spec_replicas(rs) == 0
                && rs["status"]["replicas"].as_i64().unwrap_or(0) == 0
                && !terminating(rs)
        })
        .map(|(_, rs)| rs)
        .collect();
    let extra = old.len() as i64 - limit;
    if extra <= 0 {
        return Ok(());
    }
    old.sort_by_key(|rs| revision_of(rs));
    for rs in old.into_iter().take(extra as usize) {
        let ns = rs["metadata"]["namespace"].as_str().unwrap_or("");
        let opts = DeleteOptions::background(Some(uid_of(rs).to_string()));
        match delete_one(store, &REPLICASETS, ns, name_of(rs), &opts) {
            Ok(_) | Err(crate::api::error::ApiError { code: 404 | 409, .. }) => {}
            Err(e) => return Err(e.message),
        }
    }
    Ok(())
}

fn condition<'a>(status: &'a Value, ty: &str) -> Option<&'a Value> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == ty)
}

/// `SetDeploymentCondition`: the same status and reason change nothing; a
/// new reason with the same status keeps the transition time; the condition
/// moves to the end of the list.
fn set_condition(status: &mut Value, ty: &str, st: &str, reason: &str, message: &str, now: &str) {
    let mut transition = now.to_string();
    if let Some(c) = condition(status, ty) {
        if c["status"] == st && c["reason"] == reason {
            return;
        }
        if c["status"] == st {
            transition = c["lastTransitionTime"].as_str().unwrap_or(now).to_string();
        }
    }
    let cond = json!({
        "type": ty,
        "status": st,
        "lastUpdateTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    });
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    if let Some(a) = status["conditions"].as_array_mut() {
        a.retain(|c| c["type"] != ty);
        a.push(cond);
    }
}

fn with_condition(
    store: &Store,
    d: Arc<Value>,
    st: &str,
    reason: &str,
    message: &str,
) -> Result<Arc<Value>, String> {
    let mut status = d["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    set_condition(&mut status, "Progressing", st, reason, message, &meta::now_rfc3339());
    if status == d["status"] {
        return Ok(d);
    }
    super::write_status(store, &DEPLOYMENTS, &d, status)?;
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    Ok(store.get("deployments", ns, name_of(&d)).unwrap_or(d))
}

fn new_rs_condition(store: &Store, d: Arc<Value>, rs: &Value) -> Result<Arc<Value>, String> {
    let msg = format!("Created new replica set \"{}\"", name_of(rs));
    with_condition(store, d, "True", "NewReplicaSetCreated", &msg)
}

fn found_new(store: &Store, d: Arc<Value>, rs: &Value) -> Result<Arc<Value>, String> {
    if condition(&d["status"], "Progressing").is_some() {
        return Ok(d);
    }
    let msg = format!("Found new replica set \"{}\"", name_of(rs));
    with_condition(store, d, "True", "FoundNewReplicaSet", &msg)
}

fn paused_condition(store: &Store, d: Arc<Value>) -> Result<Arc<Value>, String> {
    let cond = condition(&d["status"], "Progressing");
    if cond.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Ok(d);
    }
    let paused_cond = cond.is_some_and(|c| c["reason"] == "DeploymentPaused");
    let paused = d["spec"]["paused"].as_bool().unwrap_or(false);
    if paused && !paused_cond {
        return with_condition(store, d, "Unknown", "DeploymentPaused", "Deployment is paused");
    }
    if !paused && paused_cond {
        return with_condition(store, d, "Unknown", "DeploymentResumed", "Deployment is resumed");
    }
    Ok(d)
}

/// `calculateStatus` without conditions' Progressing part.
fn calculate_status(d: &Value, sets: &[Arc<Value>], new: Option<usize>) -> Value {
    let sum = |k: &str| -> i64 { sets.iter().map(|r| r["status"][k].as_i64().unwrap_or(0)).sum() };
    let available = sum("availableReplicas");
    let total: i64 = sets.iter().map(|r| spec_replicas(r)).sum();
    let unavailable = (total - available).max(0);
    let updated = new.map_or(0, |i| sets[i]["status"]["replicas"].as_i64().unwrap_or(0));
    let mut s = Map::new();
    s.insert("observedGeneration".into(), d["metadata"]["generation"].clone());
    let mut put = |k: &str, v: i64| {
        if v != 0 {
            s.insert(k.into(), json!(v));
        }
    };
    put("replicas", sum("replicas"));
    put("updatedReplicas", updated);
    put("readyReplicas", sum("readyReplicas"));
    put("availableReplicas", available);
    put("unavailableReplicas", unavailable);
    if let Some(c) = d["status"].get("conditions") {
        s.insert("conditions".into(), c.clone());
    }
    if let Some(c) = d["status"].get("collisionCount") {
        s.insert("collisionCount".into(), c.clone());
    }
    Value::Object(s)
}

/// `syncRolloutStatus`: counts, Available, and Progressing (complete,
/// progressing, or past its deadline), requeued at the deadline.
fn sync_status(store: &Store, queue: &Queue, d: &Value, sets: &[Arc<Value>]) -> Result<(), String> {
    let new = find_new(d, sets);
    let mut status = calculate_status(d, sets, new);
    let now = meta::now_rfc3339();
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (_, max_unavailable) = rolling::surge_and_unavailable(d);
    let n = |s: &Value, k: &str| s[k].as_i64().unwrap_or(0);
    if n(&status, "availableReplicas") >= want - max_unavailable {
        set_condition(
            &mut status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &now,
        );
    } else {
        set_condition(
            &mut status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &now,
        );
    }
    let deadline =
        d["spec"]["progressDeadlineSeconds"].as_i64().filter(|s| *s < i64::from(i32::MAX));
    let old = &d["status"];
    let cur = condition(old, "Progressing").cloned();
    let is_complete = n(&status, "replicas") == n(&status, "updatedReplicas")
        && cur.as_ref().is_some_and(|c| c["reason"] == "NewReplicaSetAvailable");
    let paused = d["spec"]["paused"].as_bool().unwrap_or(false);
    let what = match new {
        Some(i) => format!("ReplicaSet \"{}\"", name_of(&sets[i])),
        None => format!("Deployment \"{}\"", name_of(d)),
    };
    let mut requeue = None;
    if let Some(deadline) = deadline
        && !is_complete
        && !paused
        && !terminating(d)
    {
        let done = n(&status, "updatedReplicas") == want
            && n(&status, "replicas") == want
            && n(&status, "availableReplicas") == want;
        let old_old = n(old, "replicas") - n(old, "updatedReplicas");
        let new_old = n(&status, "replicas") - n(&status, "updatedReplicas");
        let progressing = n(&status, "updatedReplicas") > n(old, "updatedReplicas")
            || new_old < old_old
            || n(&status, "readyReplicas") > n(old, "readyReplicas")
            || n(&status, "availableReplicas") > n(old, "availableReplicas");
        if done {
            set_condition(
                &mut status,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("{what} has successfully progressed."),
                &now,
            );
        } else if progressing {
            // A fresh lastUpdateTime restarts the deadline.
            let transition = cur
                .as_ref()
                .filter(|c| c["status"] == "True")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(&now)
                .to_string();
            if let Some(a) = status["conditions"].as_array_mut() {
                a.retain(|c| c["type"] != "Progressing");
            }
            set_condition(
                &mut status,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("{what} is progressing."),
                &now,
            );
            if let Some(c) = status["conditions"].as_array_mut().and_then(|a| a.last_mut()) {
                c["lastTransitionTime"] = json!(transition);
            }
        } else if let Some(c) = &cur {
            let reason = c["reason"].as_str().unwrap_or("");
            if reason != "ProgressDeadlineExceeded" && reason != "NewReplicaSetAvailable" {
                let since = super::seconds_since(
                    c["lastUpdateTime"].as_str().unwrap_or(""),
                    SystemTime::now(),
                );
                if since > deadline {
                    set_condition(
                        &mut status,
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        &format!("{what} has timed out progressing."),
                        &now,
                    );
                } else {
                    requeue = Some(Duration::from_secs((deadline - since + 1) as u64));
                }
            }
        }
    }
    // Keep Available before Progressing, as the controller's first write leaves them.
    if let Some(a) = status["conditions"].as_array_mut() {
        a.sort_by_key(|c| if c["type"] == "Available" { 0 } else { 1 });
    }
    super::write_status(store, &DEPLOYMENTS, d, status)?;
    if let Some(w) = requeue {
        let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
        queue.enqueue_after("deployments", ns, name_of(d), w);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_transition_time_for_the_same_status() {
        let mut s = json!({});
        set_condition(&mut s, "Progressing", "True", "NewReplicaSetCreated", "m", "t1");
        set_condition(&mut s, "Progressing", "True", "NewReplicaSetCreated", "m", "t2");
        assert_eq!(s["conditions"][0]["lastUpdateTime"], "t1");
        set_condition(&mut s, "Progressing", "True", "NewReplicaSetAvailable", "m2", "t3");
        assert_eq!(s["conditions"][0]["lastTransitionTime"], "t1");
        assert_eq!(s["conditions"][0]["lastUpdateTime"], "t3");
        set_condition(&mut s, "Progressing", "False", "ProgressDeadlineExceeded", "m3", "t4");
        assert_eq!(s["conditions"][0]["lastTransitionTime"], "t4");
    }

    #[test]
    fn status_sums_replica_sets() {
        let d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3}});
        let rs = |spec: i64, replicas: i64, ready: i64, avail: i64| {
            Arc::new(
                json!({"spec": {"replicas": spec}, "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": avail}}),
            )
        };
        let sets = vec![rs(1, 2, 2, 2), rs(3, 3, 1, 1)];
        let s = calculate_status(&d, &sets, Some(1));
        assert_eq!(
            s,
            json!({"observedGeneration": 2, "replicas": 5, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1})
        );
    }

    fn rs(replicas: i64, desired: &str) -> Arc<Value> {
        Arc::new(json!({"metadata": {"annotations": {DESIRED: desired}},
            "spec": {"replicas": replicas}, "status": {"availableReplicas": replicas}}))
    }

    #[test]
    fn scaling_events_and_the_set_that_takes_them() {
        // An active set sized for 3 when the Deployment wants 5.
        assert!(is_scaling_event(&[rs(0, "1"), rs(3, "3")], 5));
        assert!(!is_scaling_event(&[rs(0, "1"), rs(3, "5")], 5));
        // Scaled-down sets do not count.
        assert!(!is_scaling_event(&[rs(0, "1")], 5));
        // One active set takes the size; none active: the new one, else the newest.
        assert_eq!(active_or_latest(&[rs(0, "1"), rs(3, "3")], None), Some(1));
        assert_eq!(active_or_latest(&[rs(0, "1"), rs(0, "3")], Some(0)), Some(0));
        assert_eq!(active_or_latest(&[rs(0, "1"), rs(0, "3")], None), Some(1));
        assert_eq!(active_or_latest(&[rs(1, "1"), rs(2, "3")], None), None);
        assert!(saturated(&rs(3, "3"), 3));
        assert!(!saturated(&rs(3, "2"), 3));
    }

    #[test]
    fn copied_annotations_skip_the_controllers_own() {
        let d = json!({"metadata": {"annotations": {
            "kubernetes.io/change-cause": "why",
            REVISION: "3",
            MAX_REPLICAS: "4",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        }}});
        let got: Vec<&str> = copied_annotations(&d).iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(got, vec!["kubernetes.io/change-cause"]);
    }

    #[test]
    fn new_replica_set_is_found_ignoring_the_hash_label() {
        let d =
            json!({"spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"x": 1}}}});
        let sets = vec![
            Arc::new(
                json!({"spec": {"template": {"metadata": {"labels": {"app": "a", "pod-template-hash": "h1"}}, "spec": {"x": 0}}}}),
            ),
            Arc::new(
                json!({"spec": {"template": {"metadata": {"labels": {"app": "a", "pod-template-hash": "h2"}}, "spec": {"x": 1}}}}),
            ),
        ];
        assert_eq!(find_new(&d, &sets), Some(1));
    }
}
