//! `ValidateService` (the parts that matter on one host) and the allocation
//! checks kube-apiserver makes when storing a Service.

use super::alloc::{self, Taken};
use super::wants_node_ports;
use crate::api::error::{Cause, go_quote};
use crate::kinds::str_at;
use serde_json::Value;
use std::collections::HashSet;
use std::net::Ipv4Addr;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn unsupported(field: &str, value: &str, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    Cause::new(
        "FieldValueNotSupported",
        format!("Unsupported value: {}: supported values: {}", go_quote(value), list.join(", ")),
        field,
    )
}

fn invalid_int(field: &str, value: i64, why: &str) -> Cause {
    Cause::new("FieldValueInvalid", format!("Invalid value: {value}: {why}"), field)
}

/// An IANA service name (`targetPort` by name, port names).
fn is_iana_svc_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && s.bytes().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Whole-object checks; `owner` is `ns/name` (its own allocations are not conflicts).
pub fn validate(obj: &Value, owner: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_at(obj, &["metadata", "name"]).unwrap_or("");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        causes.push(Cause::invalid("metadata.name", name, DNS1035_MSG));
    }
    let spec = &obj["spec"];
    let kind = str_at(spec, &["type"]).unwrap_or("");
    if !TYPES.contains(&kind) {
        causes.push(unsupported("spec.type", kind, TYPES));
    }
    let headless = str_at(spec, &["clusterIP"]) == Some("None");
    let ports = spec["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if ports.is_empty() && !headless && kind != "ExternalName" {
        causes.push(Cause::required("spec.ports"));
    }
    if kind == "ExternalName" && str_at(spec, &["externalName"]).unwrap_or("").is_empty() {
        causes.push(Cause::required("spec.externalName"));
    }
    if headless && matches!(kind, "NodePort" | "LoadBalancer") {
        causes.push(Cause::invalid(
            "spec.clusterIPs[0]",
            "None",
            &format!("may not be set to 'None' for {kind} services"),
        ));
    }
    causes.extend(validate_ports(spec, ports, kind, owner));
    causes.extend(validate_cluster_ip(spec, kind, owner));
    causes
}

fn validate_ports(spec: &Value, ports: &[Value], kind: &str, owner: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut names = HashSet::new();
    let mut seen = HashSet::new();
    let mut node_ports = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let f = format!("spec.ports[{i}]");
        let pname = str_at(p, &["name"]).unwrap_or("");
        if ports.len() > 1 && pname.is_empty() {
            causes.push(Cause::required(&format!("{f}.name")));
        } else if !pname.is_empty() {
            // Port names are RFC 1123 labels.
            causes.extend(crate::api::meta::validate_name(
                pname,
                crate::kinds::NameRule::Label,
                &format!("{f}.name"),
            ));
            if !names.insert(pname.to_string()) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("Duplicate value: {}", go_quote(pname)),
                    format!("{f}.name"),
                ));
            }
        }
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            causes.push(invalid_int(
                &format!("{f}.port"),
                port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        let proto = str_at(p, &["protocol"]).unwrap_or("TCP");
        if !["SCTP", "TCP", "UDP"].contains(&proto) {
            causes.push(unsupported(&format!("{f}.protocol"), proto, &["SCTP", "TCP", "UDP"]));
        }
        if !seen.insert((port, proto.to_string())) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                format!(
                    "Duplicate value: core.ServicePort{{Name:{}, Protocol:{}, Port:{port}}}",
                    go_quote(pname),
                    go_quote(proto)
                ),
                f.clone(),
            ));
        }
        match &p["targetPort"] {
            Value::Number(n) => {
                let t = n.as_i64().unwrap_or(0);
                if !(1..=65535).contains(&t) {
                    causes.push(invalid_int(
                        &format!("{f}.targetPort"),
                        t,
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
            Value::String(s) if !is_iana_svc_name(s) => causes.push(Cause::invalid(
                &format!("{f}.targetPort"),
                s,
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            )),
            _ => {}
        }
        let node_port = p["nodePort"].as_i64().unwrap_or(0);
        if node_port != 0 {
            let fnp = format!("{f}.nodePort");
            if kind == "ClusterIP" {
                causes.push(Cause::forbidden(&fnp, "may not be used when `type` is 'ClusterIP'"));
            } else if !wants_node_ports(spec) && kind != "LoadBalancer" {
                causes.push(Cause::forbidden(
                    &fnp,
                    &format!("may not be used when `type` is '{kind}'"),
                ));
            } else if !(i64::from(alloc::NODE_PORT_MIN)..=i64::from(alloc::NODE_PORT_MAX))
                .contains(&node_port)
            {
                causes.push(invalid_int(
                    &fnp,
                    node_port,
                    &format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        alloc::NODE_PORT_MIN,
                        alloc::NODE_PORT_MAX
                    ),
                ));
            } else if !node_ports.insert((node_port, proto.to_string())) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("Duplicate value: {node_port}"),
                    fnp,
                ));
            } else if !alloc::claim(owner, Taken::NodePort(node_port as u16)) {
                causes.push(invalid_int(&fnp, node_port, "provided port is already allocated"));
            }
        }
    }
    causes
}

fn validate_cluster_ip(spec: &Value, kind: &str, owner: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let ip = str_at(spec, &["clusterIP"]).unwrap_or("");
    if kind == "ExternalName" {
        if !ip.is_empty() {
            causes.push(Cause::forbidden(
                "spec.clusterIP",
                "may not be set for ExternalName services",
            ));
        }
        return causes;
    }
    if ip.is_empty() {
        causes.push(Cause::required("spec.clusterIPs"));
        return causes;
    }
    if ip == "None" {
        return causes;
    }
    match ip.parse::<Ipv4Addr>() {
        Err(_) => causes.push(Cause::invalid(
            "spec.clusterIPs[0]",
            ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )),
        Ok(a) if !alloc::in_range(a) => causes.push(Cause::invalid(
            "spec.clusterIPs",
            &format!("[]string{{{}}}", go_quote(ip)),
            &format!(
                "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                alloc::SERVICE_CIDR
            ),
        )),
        Ok(a) if !alloc::claim(owner, Taken::Ip(u32::from(a))) => causes.push(Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: []string{{{}}}: failed to allocate IP {ip}: provided IP is already allocated", go_quote(ip)),
            "spec.clusterIPs",
        )),
        Ok(_) => {}
    }
    if spec["clusterIPs"][0].as_str().is_some_and(|first| first != ip) {
        causes.push(Cause::invalid(
            "spec.clusterIPs[0]",
            spec["clusterIPs"][0].as_str().unwrap_or(""),
            "must match `clusterIP` when set",
        ));
    }
    causes
}

/// A cluster IP may not change once set (except to or from ExternalName).
pub fn validate_update(obj: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let kind = str_at(obj, &["spec", "type"]).unwrap_or("");
    let old_kind = str_at(old, &["spec", "type"]).unwrap_or("");
    if kind == "ExternalName" || old_kind == "ExternalName" {
        return causes;
    }
    let ip = str_at(obj, &["spec", "clusterIP"]).unwrap_or("");
    let old_ip = str_at(old, &["spec", "clusterIP"]).unwrap_or("");
    if !old_ip.is_empty() && ip != old_ip {
        causes.push(Cause::invalid("spec.clusterIPs[0]", ip, "may not change once set"));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(spec: Value) -> Value {
        let mut o = json!({"metadata": {"name": "web", "namespace": "v"}, "spec": spec});
        super::super::set_defaults(&mut o);
        o
    }

    fn fields(c: &[Cause]) -> Vec<String> {
        c.iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    #[test]
    fn a_good_service_passes() {
        let s = svc(
            json!({"clusterIP": "10.96.0.50", "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}),
        );
        assert_eq!(fields(&validate(&s, "v/web")), Vec::<String>::new());
    }

    #[test]
    fn bad_ports_are_named() {
        let s = svc(json!({"clusterIP": "10.96.0.51", "ports": [
            {"port": 0}, {"name": "a", "port": 80, "protocol": "HTTP"},
            {"name": "a", "port": 81, "nodePort": 30001}]}));
        let f = fields(&validate(&s, "v/web"));
        assert!(f.contains(&"spec.ports[0].name: Required value".to_string()), "{f:?}");
        assert!(
            f.contains(
                &"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
                    .to_string()
            ),
            "{f:?}"
        );
        assert!(
            f.iter().any(|m| m.starts_with("spec.ports[1].protocol: Unsupported value: \"HTTP\"")),
            "{f:?}"
        );
        assert!(f.contains(&"spec.ports[2].name: Duplicate value: \"a\"".to_string()), "{f:?}");
        assert!(
            f.contains(
                &"spec.ports[2].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
                    .to_string()
            ),
            "{f:?}"
        );
    }

    #[test]
    fn node_ports_out_of_range_or_taken_are_refused() {
        let s = svc(
            json!({"type": "NodePort", "clusterIP": "10.96.0.52", "ports": [{"port": 80, "nodePort": 80}]}),
        );
        let f = fields(&validate(&s, "v/web"));
        assert_eq!(
            f,
            vec![
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
            ]
        );
        let taken = alloc::allocate_node_port("v/other", &[]).unwrap();
        let s = svc(
            json!({"type": "NodePort", "clusterIP": "10.96.0.53", "ports": [{"port": 80, "nodePort": taken}]}),
        );
        let f = fields(&validate(&s, "v/web"));
        assert_eq!(
            f,
            vec![format!(
                "spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"
            )]
        );
    }

    #[test]
    fn cluster_ips_must_be_valid_in_range_and_fixed() {
        let s = svc(json!({"clusterIP": "1.2.3.4", "ports": [{"port": 80}]}));
        let f = fields(&validate(&s, "v/web"));
        assert!(
            f[0].contains("is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
            "{f:?}"
        );
        let s = svc(json!({"clusterIP": "bogus", "ports": [{"port": 80}]}));
        assert!(
            fields(&validate(&s, "v/web"))[0]
                .starts_with("spec.clusterIPs[0]: Invalid value: \"bogus\"")
        );
        let s = svc(json!({"type": "Foo", "clusterIP": "None"}));
        let f = fields(&validate(&s, "v/web"));
        assert!(
            f[0].starts_with(
                "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\""
            ),
            "{f:?}"
        );
        let old = svc(json!({"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}));
        let new = svc(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        assert_eq!(
            fields(&validate_update(&new, &old)),
            vec!["spec.clusterIPs[0]: Invalid value: \"10.96.0.10\": may not change once set"]
        );
    }
}
