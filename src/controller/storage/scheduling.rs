//! The scheduler's part: a pod waits until the claims it mounts are bound.

use super::*;

/// The scheduler's volume binding for a pod about to start: `true` when
/// every claim it mounts is bound. Otherwise claims waiting for their first
/// consumer are told the node (so they are provisioned now), and a claim that
/// cannot bind makes the pod Unschedulable, as kube-scheduler reports it.
pub fn pod_claims_ready(
    store: &Store,
    queue: &Queue,
    pod: &Value,
    node: &str,
) -> Result<bool, String> {
    let claims = pod_claims(pod);
    if claims.is_empty() || finished(pod) {
        return Ok(true);
    }
    let ns = s(pod, &["metadata", "namespace"]);
    let pod_name = s(pod, &["metadata", "name"]);
    let mut problem: Option<String> = None;
    let mut waiting = false;
    for c in claims {
        let Some(claim) = store.get(CLAIMS, ns, c) else {
            problem = Some(format!("persistentvolumeclaim \"{c}\" not found"));
            continue;
        };
        if deleting(&claim) {
            problem = Some(format!("persistentvolumeclaim \"{c}\" is being deleted"));
            continue;
        }
        if s(&claim, &["status", "phase"]) == "Bound"
            && !s(&claim, &["spec", "volumeName"]).is_empty()
        {
            continue;
        }
        let class = store.get(CLASSES, "", claim_class(&claim));
        let class_mode = class.as_ref().map(|c| s(c, &["volumeBindingMode"]).to_string());
        let ours = class.as_ref().is_some_and(|c| s(c, &["provisioner"]) == PROVISIONER);
        if class_mode.as_deref() == Some("WaitForFirstConsumer") {
            waiting = true;
            if str_at(&claim, &["metadata", "annotations", ANN_SELECTED_NODE]).is_none()
                && !node.is_empty()
            {
                let mut annotated = (*claim).clone();
                annotate(&mut annotated, ANN_SELECTED_NODE, node);
                write_obj(store, CLAIMS, &annotated)?;
            }
            queue.enqueue(CLAIMS, ns, c);
        } else if ours {
            waiting = true;
            queue.enqueue(CLAIMS, ns, c);
        } else {
            problem = Some("pod has unbound immediate PersistentVolumeClaims".into());
        }
    }
    if problem.is_none() && !waiting {
        clear_unschedulable(store, pod)?;
        return Ok(true);
    }
    // Bindings enqueue the pod; this is the safety net.
    queue.enqueue_after("pods", ns, pod_name, Duration::from_secs(5));
    if let Some(p) = problem {
        let message = format!(
            "0/1 nodes are available: {p}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        );
        let changed = put_if_changed(
            store,
            "pods",
            ns,
            pod_name,
            &pod["metadata"]["uid"],
            |cur| {
                let mut p = cur.clone();
                let mut conds: Vec<Value> =
                    p["status"]["conditions"].as_array().cloned().unwrap_or_default();
                conds.retain(|c| c["type"] != "PodScheduled");
                conds.push(json!({"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                "lastTransitionTime": meta::now_rfc3339(), "reason": "Unschedulable", "message": message}));
                let old = cur["status"]["conditions"]
                    .as_array()
                    .and_then(|a| a.iter().find(|c| c["type"] == "PodScheduled"))
                    .map(|c| (c["status"].clone(), c["message"].clone()));
                if old == Some((json!("False"), json!(message))) {
                    return None;
                }
                p["status"]["conditions"] = json!(conds);
                Some(Change::Put(p))
            },
        )?;
        let scheduler = Recorder { store, source: SCHEDULER, node: "" };
        if changed {
            scheduler.record(pod, "", EventType::Warning, "FailedScheduling", &message);
        }
    }
    Ok(false)
}

/// A pod that was Unschedulable for its claims is schedulable again (the
/// pod controller then records it as scheduled).
pub(super) fn clear_unschedulable(store: &Store, pod: &Value) -> Result<(), String> {
    let unschedulable = pod["status"]["conditions"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["type"] == "PodScheduled" && c["status"] == "False"));
    if !unschedulable {
        return Ok(());
    }
    let m = &pod["metadata"];
    put_if_changed(
        store,
        "pods",
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
        &m["uid"],
        |cur| {
            let mut p = cur.clone();
            p["status"]["conditions"].as_array_mut()?.retain(|c| c["type"] != "PodScheduled");
            Some(Change::Put(p))
        },
    )
    .map(|_| ())
}
