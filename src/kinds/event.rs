//! Events, served as core/v1 `events` and as `events.k8s.io/v1` `events`.
//! Both are views of one stored collection (the core form), as in Kubernetes,
//! so `kubectl events` and `kubectl describe` see the same events.

use super::{ALL_VERBS, Behavior, Column, ResourceType, str_at, typed};
use crate::api::table;
use serde_json::Value;
use std::borrow::Cow;
use std::time::SystemTime;

pub static EVENTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    short_names: &["ev"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "events",
    behavior: &CoreEventBehavior,
};

pub static EVENTS_K8S_IO: ResourceType = ResourceType {
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    short_names: &["ev"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "events",
    behavior: &EventsV1Behavior,
};

struct CoreEventBehavior;

impl Behavior for CoreEventBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<k8s_openapi::api::core::v1::Event>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<k8s_openapi::api::core::v1::Event>())
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        let path: Vec<&str> = field.split('.').collect();
        match field {
            "involvedObject.kind"
            | "involvedObject.namespace"
            | "involvedObject.name"
            | "involvedObject.uid"
            | "involvedObject.apiVersion"
            | "involvedObject.resourceVersion"
            | "involvedObject.fieldPath"
            | "reason"
            | "reportingComponent"
            | "source"
            | "type" => Some(if field == "source" {
                str_at(obj, &["source", "component"]).unwrap_or("").to_string()
            } else {
                str_at(obj, &path).unwrap_or("").to_string()
            }),
            _ => None,
        }
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ])
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn row(&self, obj: &Value, now: SystemTime) -> Vec<Value> {
        event_row(obj, now)
    }
}

struct EventsV1Behavior;

/// Field names of core/v1 Event and their events.k8s.io/v1 counterparts;
/// fields not listed keep their name (`reason`, `type`, `eventTime`, ...).
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// Rename top-level fields, keeping kind/apiVersion/metadata first.
fn convert(obj: &Value, api_version: &str, forward: bool) -> Value {
    let Some(m) = obj.as_object() else { return obj.clone() };
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), Value::from("Event"));
    out.insert("apiVersion".into(), Value::from(api_version));
    for (k, v) in m {
        if k == "kind" || k == "apiVersion" {
            continue;
        }
        let renamed = RENAMES
            .iter()
            .find(|(core, v1)| if forward { core == k } else { v1 == k })
            .map(|(core, v1)| if forward { *v1 } else { *core })
            .unwrap_or(k);
        out.insert(renamed.to_string(), v.clone());
    }
    Value::Object(out)
}

impl Behavior for EventsV1Behavior {
    fn to_storage(&self, obj: Value) -> Value {
        convert(&obj, "v1", false)
    }

    fn present<'a>(&self, obj: &'a Value) -> Cow<'a, Value> {
        Cow::Owned(convert(obj, "events.k8s.io/v1", true))
    }

    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<k8s_openapi::api::events::v1::Event>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<k8s_openapi::api::events::v1::Event>())
    }

    /// events.k8s.io names, mapped onto the stored core fields as Kubernetes'
    /// conversion does; reads either shape of the object.
    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        let get = |a: &[&str], b: &[&str]| {
            str_at(obj, a).or_else(|| str_at(obj, b)).unwrap_or("").to_string()
        };
        if let Some(rest) = field.strip_prefix("regarding.") {
            return match rest {
                "kind" | "namespace" | "name" | "uid" | "apiVersion" | "resourceVersion"
                | "fieldPath" => Some(get(&["regarding", rest], &["involvedObject", rest])),
                _ => None,
            };
        }
        match field {
            "reason" | "type" => Some(get(&[field], &[field])),
            "reportingController" => Some(get(&["reportingController"], &["reportingComponent"])),
            "source" => Some(get(&["deprecatedSource", "component"], &["source", "component"])),
            _ => None,
        }
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "reason",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ])
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn row(&self, obj: &Value, now: SystemTime) -> Vec<Value> {
        event_row(obj, now)
    }
}

/// A field by its core/v1 name, else by its events.k8s.io/v1 name: both APIs
/// print the same Table (Kubernetes prints the internal Event).
fn either<'a>(obj: &'a Value, core: &str, v1: &str) -> Option<&'a Value> {
    obj.get(core).filter(|v| !v.is_null()).or_else(|| obj.get(v1)).filter(|v| !v.is_null())
}

fn text<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("")
}

/// `printEvent` (wide): last seen falls back to first seen, first seen to
/// `eventTime`; a series overrides last seen and count; a missing count is 1.
fn event_row(obj: &Value, now: SystemTime) -> Vec<Value> {
    let first_ts = either(obj, "firstTimestamp", "deprecatedFirstTimestamp");
    let first = match first_ts.and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(_) => table::age_value(first_ts, now),
        None => table::age_value(obj.get("eventTime"), now),
    };
    let last_ts = either(obj, "lastTimestamp", "deprecatedLastTimestamp");
    let mut last = match last_ts.and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(_) => table::age_value(last_ts, now),
        None => first.clone(),
    };
    let mut count = either(obj, "count", "deprecatedCount").and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = obj.get("series").filter(|s| s.is_object()) {
        last = table::age_value(series.get("lastObservedTime"), now);
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let involved = either(obj, "involvedObject", "regarding");
    let (kind, name) = (text(involved, "kind").to_lowercase(), text(involved, "name"));
    let target = if name.is_empty() { kind } else { format!("{kind}/{name}") };
    let source = either(obj, "source", "deprecatedSource");
    let reporting = either(obj, "reportingComponent", "reportingController")
        .and_then(Value::as_str)
        .unwrap_or("");
    let instance = obj.get("reportingInstance").and_then(Value::as_str).unwrap_or("");
    let component = Some(text(source, "component")).filter(|s| !s.is_empty()).unwrap_or(reporting);
    let host = Some(text(source, "host")).filter(|s| !s.is_empty()).unwrap_or(instance);
    let source =
        if host.is_empty() { component.to_string() } else { format!("{component}, {host}") };
    let message = either(obj, "message", "note").and_then(Value::as_str).unwrap_or("").trim();
    vec![
        Value::from(last),
        Value::from(obj.get("type").and_then(Value::as_str).unwrap_or("")),
        Value::from(obj.get("reason").and_then(Value::as_str).unwrap_or("")),
        Value::from(target),
        Value::from(text(involved, "fieldPath")),
        Value::from(source),
        Value::from(message),
        Value::from(first),
        Value::from(count),
        Value::from(str_at(obj, &["metadata", "name"]).unwrap_or("")),
    ]
}

const fn col(name: &'static str, description: &'static str, priority: u8) -> Column {
    Column { name, type_: "string", format: "", description, priority }
}

const COLUMNS: &[Column] = &[
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded.", 0),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future", 0),
    col(
        "Reason",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        0,
    ),
    col("Object", "The object that this event is about.", 0),
    col(
        "Subobject",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
        1,
    ),
    col(
        "Source",
        "The component reporting this event. Should be a short machine understandable string.",
        1,
    ),
    col("Message", "A human-readable description of the status of this operation.", 0),
    col(
        "First Seen",
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        1,
    ),
    col("Count", "The number of times this event has occurred.", 1),
    Column {
        name: "Name",
        type_: "string",
        format: "name",
        description: table::NAME_DESCRIPTION,
        priority: 1,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_v1_is_a_view_of_core_events() {
        let core = json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "a"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "count": 2, "reason": "X"});
        let v1 = EventsV1Behavior.present(&core);
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["note"], "hi");
        assert_eq!(v1["deprecatedCount"], 2);
        assert_eq!(EventsV1Behavior.to_storage(v1.into_owned()), core);
    }

    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn series_and_fallbacks() {
        let t0 = "2026-11-26T07:14:41Z";
        let now = UNIX_EPOCH
            + Duration::from_nanos(table::parse_rfc3339(t0).unwrap() as u64)
            + Duration::from_secs(90);
        let ev = json!({
            "metadata": {"name": "e1"},
            "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
            "eventTime": "2026-11-26T07:14:41.991812Z",
            "series": {"count": 7, "lastObservedTime": "2026-11-26T07:15:41.000000Z"},
            "reportingComponent": "kubelet",
            "message": "  hi \n",
            "type": "Warning",
            "reason": "BackOff"
        });
        let row = event_row(&ev, now);
        assert_eq!(
            Value::from(row),
            json!([
                "30s",
                "Warning",
                "BackOff",
                "pod/p",
                "spec.containers{c}",
                "kubelet",
                "hi",
                "89s",
                7,
                "e1"
            ])
        );
        let bare =
            event_row(&json!({"metadata": {"name": "x"}, "involvedObject": {"kind": "Node"}}), now);
        assert_eq!(bare[0], "<unknown>");
        assert_eq!(bare[3], "node");
        assert_eq!(bare[8], 1);
    }
}
