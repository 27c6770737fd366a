//! The rolling-update arithmetic of Kubernetes' deployment controller
//! (`deployment/util` and `rolling.go`), kept pure so it can be checked
//! against the numbers Kubernetes produces.

use serde_json::Value;

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percent of
/// `total` rounded up (surge) or down (unavailable).
pub fn scaled_value(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let x = pct * total;
            if round_up { (x + 99).div_euclid(100) } else { x.div_euclid(100) }
        }
        other => other.as_i64().unwrap_or(0),
    }
}

/// `ResolveFenceposts`: (maxSurge, maxUnavailable) for `desired` replicas;
/// both zero would deadlock a rollout, so unavailable becomes 1.
pub fn fenceposts(max_surge: &Value, max_unavailable: &Value, desired: i64) -> (i64, i64) {
    let surge = scaled_value(max_surge, desired, true);
    let mut unavailable = scaled_value(max_unavailable, desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// A Deployment's resolved strategy numbers (`MaxSurge`, `MaxUnavailable`);
/// zero for Recreate.
pub fn surge_and_unavailable(deployment: &Value) -> (i64, i64) {
    let spec = &deployment["spec"];
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    if spec.pointer("/strategy/type").and_then(Value::as_str) != Some("RollingUpdate") {
        return (0, 0);
    }
    let ru = &spec["strategy"]["rollingUpdate"];
    let (surge, unavailable) = fenceposts(&ru["maxSurge"], &ru["maxUnavailable"], replicas);
    (surge, if replicas == 0 { 0 } else { unavailable.min(replicas) })
}

/// `NewRSNewReplicas` for RollingUpdate: how far the new ReplicaSet may grow
/// while the total stays within `desired + surge`.
pub fn new_rs_replicas(desired: i64, surge: i64, new_replicas: i64, all_replicas: i64) -> i64 {
    if new_replicas >= desired {
        return desired;
    }
    let max_total = desired + surge;
    if all_replicas >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - all_replicas).min(desired - new_replicas)
}

/// One ReplicaSet as the arithmetic sees it: `spec.replicas` and
/// `status.availableReplicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i64,
    pub available: i64,
}

/// `reconcileOldReplicaSets`: the new `spec.replicas` of each old ReplicaSet
/// (oldest first), first dropping unhealthy replicas, then scaling down only
/// as far as keeps `desired - max_unavailable` pods available.
pub fn scale_down_old(new: Counts, old: &[Counts], desired: i64, max_unavailable: i64) -> Vec<i64> {
    let mut out: Vec<i64> = old.iter().map(|c| c.replicas).collect();
    let old_total: i64 = out.iter().sum();
    if old_total == 0 {
        return out;
    }
    let all = old_total + new.replicas;
    let min_available = desired - max_unavailable;
    let new_unavailable = new.replicas - new.available;
    let max_scaled_down = all - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return out;
    }
    // cleanupUnhealthyReplicas
    let mut cleaned = 0;
    for (i, c) in old.iter().enumerate() {
        if cleaned >= max_scaled_down {
            break;
        }
        if out[i] == 0 || out[i] == c.available {
            continue;
        }
        if out[i] < c.available {
            // A status not caught up with a scale-down: its availability is
            // overstated, so nothing may go on it this pass (Kubernetes
            // fails the sync here rather than "clean up" by scaling up).
            return old.iter().map(|c| c.replicas).collect();
        }
        let n = (max_scaled_down - cleaned).min(out[i] - c.available);
        out[i] -= n;
        cleaned += n;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    let available: i64 = new.available + old.iter().map(|c| c.available).sum::<i64>();
    if available <= min_available {
        return out;
    }
    let total = available - min_available;
    let mut done = 0;
    for r in out.iter_mut() {
        if done >= total {
            break;
        }
        if *r == 0 {
            continue;
        }
        let n = (*r).min(total - done);
        *r -= n;
        done += n;
    }
    out
}

/// One active ReplicaSet as proportional scaling sees it: `spec.replicas`
/// and its `max-replicas` annotation (the Deployment size plus surge it was
/// last scaled for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sized {
    pub replicas: i64,
    pub max_replicas: Option<i64>,
}

/// `getReplicaSetFraction`: how many replicas `rs` gains (or loses) if it
/// keeps its share of the Deployment at its new size.
fn fraction(rs: Sized, desired: i64, surge: i64, status_replicas: i64) -> i64 {
    if desired == 0 {
        return -rs.replicas;
    }
    let size = desired + surge;
    let annotated = rs.max_replicas.unwrap_or(status_replicas);
    if annotated <= 0 {
        // No share to keep; the leftover goes to the largest set.
        return 0;
    }
    // rs.replicas * size / annotated, rounded half up (all non-negative).
    (2 * rs.replicas * size + annotated).div_euclid(2 * annotated) - rs.replicas
}

/// `GetProportion`: the fraction, bounded by what is left to add or remove.
fn proportion(rs: Sized, desired: i64, surge: i64, status: i64, to_add: i64, added: i64) -> i64 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let f = fraction(rs, desired, surge, status);
    let allowed = to_add - added;
    if to_add > 0 { f.min(allowed) } else { f.max(allowed) }
}

/// The proportional branch of the deployment controller's `scale`: the new
/// sizes of several active ReplicaSets (given oldest first, answered in the
/// same order) when the Deployment is resized mid-rollout, so each keeps its
/// share of `desired + surge`. Larger sets go first; among equal ones the
/// newest first when growing, the oldest first when shrinking; the
/// leftover lands on the first.
pub fn proportional_sizes(
    sets: &[Sized],
    desired: i64,
    surge: i64,
    status_replicas: i64,
) -> Vec<i64> {
    let mut out: Vec<i64> = sets.iter().map(|s| s.replicas).collect();
    let allowed = if desired > 0 { desired + surge } else { 0 };
    let to_add = allowed - out.iter().sum::<i64>();
    if to_add == 0 {
        return out;
    }
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by(|&a, &b| {
        let by_size = sets[b].replicas.cmp(&sets[a].replicas);
        let by_age = if to_add > 0 { b.cmp(&a) } else { a.cmp(&b) };
        by_size.then(by_age)
    });
    let mut added = 0;
    for &i in &order {
        let p = proportion(sets[i], desired, surge, status_replicas, to_add, added);
        out[i] += p;
        added += p;
    }
    if let Some(&first) = order.first() {
        out[first] = (out[first] + to_add - added).max(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percents_round_like_kubernetes() {
        // 25% of 3: surge rounds up to 1, unavailable down to 0.
        assert_eq!(fenceposts(&json!("25%"), &json!("25%"), 3), (1, 0));
        assert_eq!(fenceposts(&json!("25%"), &json!("25%"), 10), (3, 2));
        assert_eq!(fenceposts(&json!(0), &json!(0), 5), (0, 1));
        assert_eq!(fenceposts(&json!("0%"), &json!("0%"), 5), (0, 1));
        assert_eq!(fenceposts(&json!(2), &json!("50%"), 5), (2, 2));
        // The reference nginx Deployment: 2 replicas, max-replicas annotation 3.
        assert_eq!(fenceposts(&json!("25%"), &json!("25%"), 2).0 + 2, 3);
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        // 3 desired, surge 1, old RS at 3: the new one may start one pod.
        assert_eq!(new_rs_replicas(3, 1, 0, 3), 1);
        assert_eq!(new_rs_replicas(3, 1, 1, 4), 1);
        assert_eq!(new_rs_replicas(3, 1, 1, 3), 2);
        assert_eq!(new_rs_replicas(3, 1, 3, 3), 3);
        assert_eq!(new_rs_replicas(3, 0, 0, 0), 3);
    }

    #[test]
    fn old_replica_sets_keep_minimum_availability() {
        let c = |replicas, available| Counts { replicas, available };
        // 3 desired, maxUnavailable 0: new RS 1 replica not yet available,
        // old RS 3 available: nothing may go.
        assert_eq!(scale_down_old(c(1, 0), &[c(3, 3)], 3, 0), vec![3]);
        // Once the new pod is available, one old pod may go.
        assert_eq!(scale_down_old(c(1, 1), &[c(3, 3)], 3, 0), vec![2]);
        // Unhealthy old replicas go first, regardless of availability.
        assert_eq!(scale_down_old(c(1, 0), &[c(3, 1)], 3, 1), vec![2]);
        // Oldest first across several old ReplicaSets.
        assert_eq!(scale_down_old(c(3, 3), &[c(1, 1), c(2, 2)], 3, 0), vec![0, 0]);
        assert_eq!(scale_down_old(c(2, 2), &[c(1, 1), c(2, 2)], 3, 0), vec![0, 1]);
        assert_eq!(scale_down_old(c(1, 1), &[c(1, 1), c(2, 2)], 3, 0), vec![0, 2]);
    }

    #[test]
    fn stale_status_never_scales_an_old_replica_set_up() {
        let c = |replicas, available| Counts { replicas, available };
        // The first old set was scaled to 1 but its status still shows 2
        // available: no scaling up (which gave [2, 0]), and nothing scaled
        // down on availability that is not there.
        let got = scale_down_old(c(0, 0), &[c(1, 2), c(3, 0)], 3, 1);
        assert_eq!(got, vec![1, 3]);
        // Old set scaled 5 → 4, status still 5 available, new set 2 of 2
        // available: counting the stale 5 would drop below 4 available.
        assert_eq!(scale_down_old(c(2, 2), &[c(4, 5)], 5, 1), vec![4]);
    }

    #[test]
    fn proportional_scaling_keeps_each_share() {
        let s = |replicas, max| Sized { replicas, max_replicas: Some(max) };
        // Kubernetes' documented example: 10 replicas, surge 3, old set 8
        // and new set 5 (both annotated 13); scaled to 15 (18 with surge):
        // 5 more, 3 to the old and 2 to the new.
        assert_eq!(proportional_sizes(&[s(8, 13), s(5, 13)], 15, 3, 13), vec![11, 7]);
        // Scaled down from 13 to 8 (surge 2 → 10): both shrink by their share.
        assert_eq!(proportional_sizes(&[s(8, 13), s(5, 13)], 8, 2, 13), vec![6, 4]);
        // Equal sizes: growing favours the newer set with the leftover.
        assert_eq!(proportional_sizes(&[s(1, 2), s(1, 2)], 2, 1, 2), vec![1, 2]);
        // Shrinking to zero empties every set.
        assert_eq!(proportional_sizes(&[s(2, 3), s(1, 3)], 0, 1, 3), vec![0, 0]);
        // Without annotations the Deployment's status.replicas is the base.
        let n = |replicas| Sized { replicas, max_replicas: None };
        assert_eq!(proportional_sizes(&[n(2), n(2)], 6, 0, 4), vec![3, 3]);
        // Already at size: nothing moves.
        assert_eq!(proportional_sizes(&[s(3, 4), s(1, 4)], 3, 1, 4), vec![3, 1]);
    }

    #[test]
    fn strategy_of_a_deployment() {
        let d = json!({"spec": {"replicas": 4, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
        assert_eq!(surge_and_unavailable(&d), (1, 1));
        let r = json!({"spec": {"replicas": 4, "strategy": {"type": "Recreate"}}});
        assert_eq!(surge_and_unavailable(&r), (0, 0));
    }
}
