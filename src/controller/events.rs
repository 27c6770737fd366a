//! Kubernetes Events written by k2d's controllers (the kubelet's and the
//! scheduler's part of a real cluster), so `kubectl describe` and
//! `kubectl events` explain what happened: Scheduled, Pulling, Pulled,
//! Created, Started, BackOff, Failed...
//!
//! Like client-go's event correlator, a repeat of the same reason and message
//! for the same object bumps `count` and `lastTimestamp` instead of adding an
//! Event, so a crash loop does not grow the store without bound.

use crate::api::meta;
use crate::store::{Change, Store};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Who reports: `kubelet` for container work, `default-scheduler` for binding.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub component: &'static str,
    pub host: Option<&'static str>,
}

pub const KUBELET: Source = Source { component: "kubelet", host: None };
pub const SCHEDULER: Source = Source { component: "default-scheduler", host: None };

/// Writes Events as one reporting component on one node.
pub struct Recorder<'a> {
    pub store: &'a Store,
    pub source: Source,
    /// The node name, reported as `source.host`.
    pub node: &'a str,
}

impl Recorder<'_> {
    /// Record an Event about `object` (any stored object with kind/apiVersion and
    /// metadata). `field_path` names a container (`spec.containers{web}`) or is
    /// empty. Failures are logged, never returned: an Event is an explanation,
    /// not part of the work.
    pub fn record(
        &self,
        object: &Value,
        field_path: &str,
        ty: EventType,
        reason: &str,
        message: &str,
    ) {
        record(self.store, object, field_path, ty, reason, message, self.source, self.node)
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    store: &Store,
    object: &Value,
    field_path: &str,
    ty: EventType,
    reason: &str,
    message: &str,
    source: Source,
    node: &str,
) {
    let m = &object["metadata"];
    let ns = m["namespace"].as_str().filter(|s| !s.is_empty()).unwrap_or("default");
    let obj_name = m["name"].as_str().unwrap_or("");
    let involved = json!({
        "kind": object["kind"],
        "namespace": m["namespace"],
        "name": obj_name,
        "uid": m["uid"],
        "apiVersion": object["apiVersion"],
        "resourceVersion": m["resourceVersion"],
        "fieldPath": field_path,
    });
    let now = meta::now_rfc3339();
    // Look for the same event to correlate with.
    let (existing, _) = store.list("events", Some(ns), None);
    let same = existing.iter().find(|e| {
        e["involvedObject"]["uid"] == involved["uid"]
            && e["involvedObject"]["fieldPath"].as_str().unwrap_or("") == field_path
            && e["reason"] == reason
            && e["message"] == message
            && e["source"]["component"] == source.component
    });
    let result = match same {
        Some(e) => {
            let name = e["metadata"]["name"].as_str().unwrap_or("").to_string();
            store.write("events", ns, &name, false, |cur| {
                let Some(cur) = cur else { return Ok(None) };
                let mut e = (**cur).clone();
                e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
                e["lastTimestamp"] = json!(now);
                Ok(Some(Change::Put(e)))
            })
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let name = format!("{obj_name}.{nanos:x}");
            let mut src = json!({"component": source.component});
            let host = source.host.unwrap_or(node);
            if !host.is_empty() {
                src["host"] = json!(host);
            }
            let ev = json!({
                "kind": "Event",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "uid": meta::new_uid(),
                    "resourceVersion": "",
                    "creationTimestamp": now,
                },
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "source": src,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "type": ty.as_str(),
                "eventTime": null,
                "reportingComponent": source.component,
                "reportingInstance": host,
            });
            store.write("events", ns, &name, false, |_| Ok(Some(Change::Put(ev))))
        }
    };
    if let Err(e) = result {
        log::warn!("recording event {reason} for {ns}/{obj_name}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_not_duplicated() {
        let dir = std::env::temp_dir().join(format!("k2d-events-{}", std::process::id()));
        let store = Store::open(&dir).unwrap();
        let pod = json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p", "namespace": "d", "uid": "u1", "resourceVersion": "3"}});
        let kubelet = Recorder { store: &store, source: KUBELET, node: "node" };
        kubelet.record(&pod, "spec.containers{c}", EventType::Warning, "BackOff", "Back-off");
        kubelet.record(&pod, "spec.containers{c}", EventType::Warning, "BackOff", "Back-off");
        let scheduler = Recorder { store: &store, source: SCHEDULER, node: "node" };
        scheduler.record(&pod, "", EventType::Normal, "Scheduled", "ok");
        let (evs, _) = store.list("events", Some("d"), None);
        assert_eq!(evs.len(), 2);
        let backoff = evs.iter().find(|e| e["reason"] == "BackOff").unwrap();
        assert_eq!(backoff["count"], 2);
        assert_eq!(backoff["source"]["host"], "node");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
