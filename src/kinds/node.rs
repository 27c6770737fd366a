//! Node: the one node that describes the Docker host. k2d writes it from
//! `docker info` at start; clients may label, annotate and taint it.

use super::{ALL_VERBS, Behavior, ResourceType, typed};
use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

pub static NODES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    namespaced: false,
    short_names: &["no"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &["status"],
    storage: "nodes",
    behavior: &NodeBehavior,
};

struct NodeBehavior;

impl Behavior for NodeBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Node>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Node>())
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.unschedulable" => Some(
                obj.get("spec")
                    .and_then(|s| s.get("unschedulable"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
            ),
            _ => None,
        }
    }
}
