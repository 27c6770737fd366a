//! EndpointSlice (discovery.k8s.io/v1): written by the service controller next
//! to the Endpoints, one slice per Service (k2d never has 100+ endpoints).

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, ResourceType, typed};
use crate::api::error::Cause;
use crate::api::table;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

pub static ENDPOINTSLICES: ResourceType = ResourceType {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &[],
    storage: "endpointslices",
    behavior: &EndpointSliceBehavior,
};

struct EndpointSliceBehavior;

impl Behavior for EndpointSliceBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<EndpointSlice>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<EndpointSlice>())
    }

    fn has_generation(&self) -> bool {
        true
    }

    fn spec_fields(&self) -> &'static [&'static str] {
        &["addressType", "endpoints", "ports"]
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = Vec::new();
        let t = obj["addressType"].as_str().unwrap_or("");
        if t.is_empty() {
            causes.push(Cause::required("addressType"));
        } else if !["FQDN", "IPv4", "IPv6"].contains(&t) {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!(
                    "Unsupported value: {}: supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
                    crate::api::error::go_quote(t)
                ),
                "addressType",
            ));
        }
        if let Some(old) = old
            && old["addressType"] != obj["addressType"]
        {
            causes.push(Cause::invalid("addressType", t, "field is immutable"));
        }
        causes
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        vec![
            name_cell(obj),
            Value::from(obj["addressType"].as_str().unwrap_or("")),
            Value::from(format_ports(obj)),
            Value::from(format_endpoints(obj)),
            Value::from(table::age_of(obj, now)),
        ]
    }
}

fn with_more(list: Vec<String>, count: usize) -> String {
    let joined = list.join(",");
    if count > list.len() { format!("{joined} + {} more...", count - list.len()) } else { joined }
}

/// kubectl's `formatDiscoveryPorts`: port numbers (name, or `*`, when unset).
fn format_ports(obj: &Value) -> String {
    let ports = obj["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let list = ports
        .iter()
        .take(3)
        .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
            (Some(n), _) => n.to_string(),
            (None, Some(name)) => name.to_string(),
            _ => "*".to_string(),
        })
        .collect();
    with_more(list, ports.len())
}

/// kubectl's `formatDiscoveryEndpoints`: every address, at most three.
fn format_endpoints(obj: &Value) -> String {
    let eps = obj["endpoints"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if eps.is_empty() {
        return "<unset>".into();
    }
    let all: Vec<String> = eps
        .iter()
        .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let n = all.len();
    with_more(all.into_iter().take(3).collect(), n)
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "AddressType",
        type_: "string",
        format: "",
        description: "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
        priority: 0,
    },
    Column {
        name: "Ports",
        type_: "string",
        format: "",
        description: "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
        priority: 0,
    },
    Column {
        name: "Endpoints",
        type_: "string",
        format: "",
        description: "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
        priority: 0,
    },
    table::AGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_kubectls() {
        let s = json!({"metadata": {"name": "web-sim-k2s7l"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.19"]}, {"addresses": ["10.244.0.20"]}],
            "ports": [{"name": "http", "protocol": "TCP", "port": 80}]});
        let row = ENDPOINTSLICES.behavior.row(&s, std::time::SystemTime::now());
        assert_eq!(row[1..4], [json!("IPv4"), json!("80"), json!("10.244.0.19,10.244.0.20")]);
        let empty = json!({"addressType": "IPv4", "endpoints": [], "ports": []});
        assert_eq!(format_endpoints(&empty), "<unset>");
        assert_eq!(format_ports(&empty), "");
    }
}
