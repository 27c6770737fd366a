//! Node: the one node that describes the Docker host. k2d writes it from
//! `docker info` at start; clients may label, annotate and taint it.

use super::{ALL_VERBS, Behavior, Column, ResourceType, configmap::name_cell, str_at, typed};
use crate::api::table;
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

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&["metadata.name", "spec.unschedulable"])
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printNode` with the wide cells (the server always prints wide).
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let info = |k: &str| str_at(obj, &["status", "nodeInfo", k]).unwrap_or("");
        let or_unknown =
            |s: &str| if s.is_empty() { "<unknown>".to_string() } else { s.to_string() };
        vec![
            name_cell(obj),
            Value::from(node_status(obj)),
            Value::from(node_roles(obj)),
            Value::from(table::age_of(obj, now)),
            Value::from(info("kubeletVersion")),
            Value::from(node_address(obj, "InternalIP")),
            Value::from(node_address(obj, "ExternalIP")),
            Value::from(or_unknown(info("osImage"))),
            Value::from(or_unknown(info("kernelVersion"))),
            Value::from(or_unknown(info("containerRuntimeVersion"))),
        ]
    }
}

/// `Ready` / `NotReady` from the Ready condition (`Unknown` without one), then
/// `SchedulingDisabled` for a cordoned node.
fn node_status(obj: &Value) -> String {
    let ready = obj.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| {
        cs.iter().rev().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
    });
    let mut status = vec![match ready {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if obj.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Roles from `node-role.kubernetes.io/<role>` keys and the `kubernetes.io/role`
/// value, sorted and de-duplicated; `<none>` without any.
fn node_roles(obj: &Value) -> String {
    let mut roles: Vec<&str> = Vec::new();
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            let role = match k.strip_prefix("node-role.kubernetes.io/") {
                Some(r) => r,
                None if k == "kubernetes.io/role" => v.as_str().unwrap_or(""),
                None => "",
            };
            if !role.is_empty() && !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    roles.sort_unstable();
    if roles.is_empty() { "<none>".into() } else { roles.join(",") }
}

/// The first address of a type, or `<none>`.
fn node_address(obj: &Value, ty: &str) -> String {
    obj.pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some(ty)))
        .and_then(|x| x.get("address").and_then(Value::as_str))
        .unwrap_or("<none>")
        .to_string()
}

const fn col(name: &'static str, description: &'static str, priority: u8) -> Column {
    Column { name, type_: "string", format: "", description, priority }
}

const ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";

const COLUMNS: &[Column] = &[
    table::NAME,
    col("Status", "The status of the node", 0),
    col("Roles", "The roles of the node", 0),
    table::AGE,
    col("Version", "Kubelet Version reported by the node.", 0),
    col("Internal-IP", ADDRESSES, 1),
    col("External-IP", ADDRESSES, 1),
    col(
        "OS-Image",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        1,
    ),
    col(
        "Kernel-Version",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        1,
    ),
    col(
        "Container-Runtime",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        1,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_and_roles() {
        let mut n = json!({
            "metadata": {"name": "n", "labels": {"node-role.kubernetes.io/edge": "", "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}
        });
        assert_eq!(node_status(&n), "NotReady");
        assert_eq!(node_roles(&n), "control-plane,edge");
        n["spec"] = json!({"unschedulable": true});
        n["status"]["conditions"][0]["status"] = json!("True");
        assert_eq!(node_status(&n), "Ready,SchedulingDisabled");
        assert_eq!(node_status(&json!({})), "Unknown");
        assert_eq!(node_roles(&json!({})), "<none>");
        let row =
            NodeBehavior.row(&json!({"metadata": {"name": "x"}}), std::time::SystemTime::now());
        assert_eq!(row.len(), COLUMNS.len());
        assert_eq!(row[5], "<none>");
        assert_eq!(row[7], "<unknown>");
    }
}
