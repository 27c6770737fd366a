//! Endpoints (core/v1): written by the service controller from the ready pods
//! a Service selects (users may write their own for selector-less Services).

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, ResourceType, typed};
use crate::api::table;
use k8s_openapi::api::core::v1::Endpoints;
use serde_json::Value;

pub static ENDPOINTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Endpoints",
    plural: "endpoints",
    singular: "endpoints",
    namespaced: true,
    short_names: &["ep"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "endpoints",
    behavior: &EndpointsBehavior,
};

struct EndpointsBehavior;

impl Behavior for EndpointsBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Endpoints>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Endpoints>())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        vec![
            name_cell(obj),
            Value::from(format_endpoints(obj)),
            Value::from(table::age_of(obj, now)),
        ]
    }
}

/// kubectl's `formatEndpoints`: `ip:port` for every port of every subset, at
/// most three, then `+ N more...`; bare IPs for port-less subsets.
pub fn format_endpoints(obj: &Value) -> String {
    let subsets = obj["subsets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut count = 0;
    let mut push = |s: String| {
        if list.len() < MAX {
            list.push(s);
        }
        count += 1;
    };
    for ss in subsets {
        let addrs = ss["addresses"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let ports = ss["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if ports.is_empty() {
            for a in addrs {
                push(a["ip"].as_str().unwrap_or("").to_string());
            }
        } else {
            for p in ports {
                for a in addrs {
                    let ip = a["ip"].as_str().unwrap_or("");
                    let port = p["port"].as_i64().unwrap_or(0);
                    push(if ip.contains(':') {
                        format!("[{ip}]:{port}")
                    } else {
                        format!("{ip}:{port}")
                    });
                }
            }
        }
    }
    let joined = list.join(",");
    if count > MAX { format!("{joined} + {} more...", count - MAX) } else { joined }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Endpoints",
        type_: "string",
        format: "",
        description: "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
        priority: 0,
    },
    table::AGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_cell_is_kubectls() {
        assert_eq!(format_endpoints(&json!({})), "<none>");
        let e = json!({"subsets": [{"addresses": [{"ip": "10.244.0.19"}, {"ip": "10.244.0.20"}],
            "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&e), "10.244.0.19:80,10.244.0.20:80");
        let e = json!({"subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "1.1.1.2"}],
            "ports": [{"port": 80}, {"port": 81}]}]});
        assert_eq!(format_endpoints(&e), "1.1.1.1:80,1.1.1.2:80,1.1.1.1:81 + 1 more...");
        let e = json!({"subsets": [{"addresses": [{"ip": "1.1.1.1"}]}]});
        assert_eq!(format_endpoints(&e), "1.1.1.1");
    }
}
