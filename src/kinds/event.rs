//! Events, served as core/v1 `events` and as `events.k8s.io/v1` `events`.
//! Both are views of one stored collection (the core form), as in Kubernetes,
//! so `kubectl events` and `kubectl describe` see the same events.

use super::{ALL_VERBS, Behavior, ResourceType, str_at, typed};
use serde_json::Value;

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
}

struct EventsV1Behavior;

impl Behavior for EventsV1Behavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<k8s_openapi::api::events::v1::Event>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<k8s_openapi::api::events::v1::Event>())
    }
}
