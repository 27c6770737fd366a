//! Service: kube-apiserver's defaults (cluster IP and node ports allocated
//! from k2d's ranges, IP family fields, traffic policies), validation, and
//! kubectl's Table. Realising Services on Docker is the controller's
//! (`controller::services`).

pub mod alloc;
mod validation;

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, NameRule, ResourceType, str_at, typed};
use crate::api::error::Cause;
use crate::api::table;
use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};

pub static SERVICES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    singular: "service",
    namespaced: true,
    short_names: &["svc"],
    categories: &["all"],
    verbs: ALL_VERBS,
    subresources: &["status"],
    storage: "services",
    behavior: &ServiceBehavior,
};

struct ServiceBehavior;

/// Whether the Service's type gets node ports.
pub fn wants_node_ports(spec: &Value) -> bool {
    match str_at(spec, &["type"]) {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec["allocateLoadBalancerNodePorts"].as_bool() != Some(false),
        _ => false,
    }
}

/// `clusterIP: None`.
pub fn is_headless(svc: &Value) -> bool {
    str_at(svc, &["spec", "clusterIP"]) == Some("None")
}

fn owner(obj: &Value) -> String {
    format!(
        "{}/{}",
        str_at(obj, &["metadata", "namespace"]).unwrap_or(""),
        str_at(obj, &["metadata", "name"]).unwrap_or("")
    )
}

impl Behavior for ServiceBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Service>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Service>())
    }

    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    /// An update that leaves out the allocated values keeps them, as
    /// kube-apiserver's `PatchAllocatedValues` does (a `kubectl replace` of the
    /// original manifest must not reallocate).
    fn carry_over(&self, obj: &mut Value, old: &Value) {
        carry_over(obj, old);
    }

    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
        allocate(obj);
        if !obj.get("status").is_some_and(Value::is_object) {
            obj["status"] = json!({"loadBalancer": {}});
        }
    }

    fn write_done(&self, namespace: &str, name: &str) {
        alloc::release(&format!("{namespace}/{name}"));
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = validation::validate(obj, &owner(obj));
        if let Some(old) = old {
            causes.extend(validation::validate_update(obj, old));
        }
        causes
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printService`.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let spec = &obj["spec"];
        let kind = str_at(spec, &["type"]).unwrap_or("");
        let cluster_ip = match str_at(spec, &["clusterIP"]) {
            Some(ip) if !ip.is_empty() => ip,
            _ => "<none>",
        };
        vec![
            name_cell(obj),
            Value::from(kind),
            Value::from(cluster_ip),
            Value::from(external_ip(obj)),
            Value::from(ports_cell(spec)),
            Value::from(table::age_of(obj, now)),
            Value::from(selector_cell(&spec["selector"])),
        ]
    }
}

/// kube-apiserver's `SetDefaults_Service`.
pub fn set_defaults(obj: &mut Value) {
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj["spec"] = json!({});
    }
    let spec = &mut obj["spec"];
    if str_at(spec, &["sessionAffinity"]).unwrap_or("").is_empty() {
        spec["sessionAffinity"] = json!("None");
    }
    if str_at(spec, &["sessionAffinity"]) == Some("None") {
        if let Some(m) = spec.as_object_mut() {
            m.shift_remove("sessionAffinityConfig");
        }
    } else if str_at(spec, &["sessionAffinity"]) == Some("ClientIP")
        && spec.pointer("/sessionAffinityConfig/clientIP/timeoutSeconds").is_none()
    {
        spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
    }
    if str_at(spec, &["type"]).unwrap_or("").is_empty() {
        spec["type"] = json!("ClusterIP");
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            if str_at(p, &["protocol"]).unwrap_or("").is_empty() {
                p["protocol"] = json!("TCP");
            }
            let unset = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if unset {
                p["targetPort"] = p.get("port").cloned().unwrap_or(json!(0));
            }
        }
    }
    let kind = str_at(spec, &["type"]).unwrap_or("").to_string();
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        && str_at(spec, &["externalTrafficPolicy"]).unwrap_or("").is_empty()
    {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP")
        && spec.get("internalTrafficPolicy").is_none_or(Value::is_null)
    {
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    if kind == "LoadBalancer"
        && spec.get("allocateLoadBalancerNodePorts").is_none_or(Value::is_null)
    {
        spec["allocateLoadBalancerNodePorts"] = json!(true);
    }
}

/// Allocated values of `old` that `obj` leaves unset, and values that do not
/// apply to `obj`'s type dropped (`dropTypeDependentFields`).
pub fn carry_over(obj: &mut Value, old: &Value) {
    let kind = str_at(obj, &["spec", "type"]).unwrap_or("ClusterIP").to_string();
    let old_kind = str_at(old, &["spec", "type"]).unwrap_or("ClusterIP");
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        return;
    }
    if kind != "ExternalName" && old_kind != "ExternalName" {
        if str_at(spec, &["clusterIP"]).unwrap_or("").is_empty()
            && let Some(ip) = old["spec"].get("clusterIP")
        {
            spec["clusterIP"] = ip.clone();
        }
        for f in ["clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec.get(f).is_none_or(Value::is_null)
                && let Some(v) = old["spec"].get(f)
            {
                spec[f] = v.clone();
            }
        }
    }
    let node_ports = wants_node_ports(spec);
    let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            let set = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0;
            if node_ports && !set {
                // The same port (number and protocol) keeps its node port.
                let same = old_ports.iter().find(|o| {
                    o["port"] == p["port"]
                        && str_at(o, &["protocol"]).unwrap_or("TCP")
                            == str_at(p, &["protocol"]).unwrap_or("TCP")
                });
                if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                    p["nodePort"] = np.clone();
                }
            }
        }
    }
    drop_type_dependent_fields(obj, old);
    if kind == "ExternalName"
        && old_kind != "ExternalName"
        && let Some(m) = obj["spec"].as_object_mut()
    {
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            m.shift_remove(f);
        }
    }
}

/// `serviceutil.ExternallyAccessible`: where `externalTrafficPolicy` applies.
fn externally_accessible(spec: &Value) -> bool {
    match str_at(spec, &["type"]).unwrap_or("ClusterIP") {
        "NodePort" | "LoadBalancer" => true,
        "ClusterIP" => spec["externalIPs"].as_array().is_some_and(|a| !a.is_empty()),
        _ => false,
    }
}

fn node_port_set(spec: &Value) -> std::collections::BTreeSet<i64> {
    spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_i64())
        .filter(|n| *n != 0)
        .collect()
}

/// kube-apiserver's `dropTypeDependentFields`: on a type change, values that
/// no longer apply and that the user did not change go (so node ports are
/// released, the load balancer status is cleared); a value the user changed
/// stays, for validation to judge.
pub fn drop_type_dependent_fields(obj: &mut Value, old: &Value) {
    let kind = str_at(obj, &["spec", "type"]).unwrap_or("ClusterIP").to_string();
    let old_kind = str_at(old, &["spec", "type"]).unwrap_or("ClusterIP");
    let needs_node_port = |k: &str| matches!(k, "NodePort" | "LoadBalancer");
    let old_spec = &old["spec"];
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else { return };
    if needs_node_port(old_kind)
        && !needs_node_port(&kind)
        && node_port_set(spec).is_subset(&node_port_set(old_spec))
    {
        for p in spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(m) = p.as_object_mut() {
                m.shift_remove("nodePort");
            }
        }
    }
    let Some(m) = spec.as_object_mut() else { return };
    if old_kind == "LoadBalancer"
        && kind != "LoadBalancer"
        && m.get("allocateLoadBalancerNodePorts").is_some_and(Value::is_boolean)
        && old_spec["allocateLoadBalancerNodePorts"].is_boolean()
        && m.get("allocateLoadBalancerNodePorts") == old_spec.get("allocateLoadBalancerNodePorts")
    {
        m.shift_remove("allocateLoadBalancerNodePorts");
    }
    if old_kind == "LoadBalancer"
        && kind != "LoadBalancer"
        && m.get("loadBalancerClass") == old_spec.get("loadBalancerClass")
    {
        m.shift_remove("loadBalancerClass");
    }
    if externally_accessible(old_spec)
        && !externally_accessible(&Value::Object(m.clone()))
        && m.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy")
    {
        m.shift_remove("externalTrafficPolicy");
    }
    if kind != "LoadBalancer" && obj.get("status").is_some_and(Value::is_object) {
        obj["status"]["loadBalancer"] = json!({});
    }
}

/// Cluster IP, IP family fields and node ports, as the service REST storage
/// allocates them on create (and on an update that needs new ones).
fn allocate(obj: &mut Value) {
    let who = owner(obj);
    let spec = &mut obj["spec"];
    let kind = str_at(spec, &["type"]).unwrap_or("").to_string();
    if kind == "ExternalName" {
        return;
    }
    let mut ip = str_at(spec, &["clusterIP"]).unwrap_or("").to_string();
    if ip.is_empty() {
        ip = spec["clusterIPs"][0].as_str().unwrap_or("").to_string();
    }
    if ip.is_empty() {
        // A full range leaves the field empty; validation reports it.
        if let Some(a) = alloc::allocate_ip(&who) {
            ip = a.to_string();
        }
    }
    if !ip.is_empty() {
        spec["clusterIP"] = json!(ip);
        if spec["clusterIPs"].as_array().is_none_or(Vec::is_empty) {
            spec["clusterIPs"] = json!([ip]);
        }
    }
    if spec.get("ipFamilies").is_none_or(|v| v.as_array().is_none_or(Vec::is_empty)) {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }
    if wants_node_ports(spec) {
        let mut mine: Vec<u16> = spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["nodePort"].as_u64())
            .filter_map(|n| u16::try_from(n).ok())
            .collect();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    continue;
                }
                if let Some(n) = alloc::allocate_node_port(&who, &mine) {
                    mine.push(n);
                    p["nodePort"] = json!(n);
                }
            }
        }
    }
}

/// `PORT(S)`: `80/TCP` or `80:31592/TCP`, comma-joined; `<none>` without ports.
pub fn ports_cell(spec: &Value) -> String {
    let cells: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p["port"].as_i64().unwrap_or(0);
            let proto = str_at(p, &["protocol"]).unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) if np != 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    if cells.is_empty() { "<none>".into() } else { cells.join(",") }
}

/// `EXTERNAL-IP` as kubectl's `getServiceExternalIP` computes it.
fn external_ip(obj: &Value) -> String {
    let spec = &obj["spec"];
    let external: Vec<&str> =
        spec["externalIPs"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    match str_at(spec, &["type"]).unwrap_or("") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let mut ips: Vec<String> = obj
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    i["ip"].as_str().or_else(|| i["hostname"].as_str()).map(str::to_string)
                })
                .collect();
            ips.extend(external.iter().map(|s| s.to_string()));
            if ips.is_empty() { "<pending>".into() } else { ips.join(",") }
        }
        "ExternalName" => str_at(spec, &["externalName"]).unwrap_or("").to_string(),
        _ => "<unknown>".into(),
    }
}

/// A label map as `labels.FormatLabels` prints it (sorted, `<none>` when empty).
pub fn selector_cell(selector: &Value) -> String {
    let Some(m) = selector.as_object().filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let mut pairs: Vec<String> =
        m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    pairs.sort();
    pairs.join(",")
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Type",
        type_: "string",
        format: "",
        description: "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
        priority: 0,
    },
    Column {
        name: "Cluster-IP",
        type_: "string",
        format: "",
        description: "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
        priority: 0,
    },
    Column {
        name: "External-IP",
        type_: "string",
        format: "",
        description: "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
        priority: 0,
    },
    Column {
        name: "Port(s)",
        type_: "string",
        format: "",
        description: "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
        priority: 0,
    },
    table::AGE,
    Column {
        name: "Selector",
        type_: "string",
        format: "",
        description: "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
        priority: 1,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(spec: Value) -> Value {
        let mut obj = json!({"metadata": {"name": "t", "namespace": "unit"}, "spec": spec});
        SERVICES.behavior.default(&mut obj);
        obj
    }

    #[test]
    fn cluster_ip_service_gets_kube_apiservers_defaults() {
        let s = defaulted(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}));
        let spec = &s["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
        let ip: std::net::Ipv4Addr = spec["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(alloc::in_range(ip));
        assert_eq!(spec["clusterIPs"], json!([ip.to_string()]));
        assert!(spec.get("externalTrafficPolicy").is_none());
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn node_port_and_load_balancer_get_node_ports() {
        let s = defaulted(
            json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30081}]}),
        );
        let np = s["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&np) && np != 30081);
        assert_eq!(s["spec"]["ports"][1]["nodePort"], 30081);
        assert_eq!(s["spec"]["externalTrafficPolicy"], "Cluster");
        let lb = defaulted(json!({"type": "LoadBalancer", "ports": [{"port": 80}]}));
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert!(lb["spec"]["ports"][0]["nodePort"].is_u64());
        let lb = defaulted(
            json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
        );
        assert!(lb["spec"]["ports"][0].get("nodePort").is_none());
    }

    #[test]
    fn headless_keeps_none() {
        let s = defaulted(json!({"clusterIP": "None", "selector": {"app": "db"}}));
        assert_eq!(s["spec"]["clusterIP"], "None");
        assert_eq!(s["spec"]["clusterIPs"], json!(["None"]));
        assert!(is_headless(&s));
    }

    #[test]
    fn updates_keep_allocated_values() {
        let old = defaulted(json!({"type": "NodePort", "ports": [{"port": 80}]}));
        let mut new = json!({"metadata": old["metadata"].clone(),
            "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}});
        carry_over(&mut new, &old);
        assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        assert_eq!(new["spec"]["ports"][0]["nodePort"], old["spec"]["ports"][0]["nodePort"]);
        // Back to ClusterIP: the node port goes.
        let mut back = old.clone();
        back["spec"]["type"] = json!("ClusterIP");
        carry_over(&mut back, &old);
        assert!(back["spec"]["ports"][0].get("nodePort").is_none());
    }

    #[test]
    fn a_type_change_drops_what_no_longer_applies() {
        let lb = json!({"metadata": {"name": "w", "namespace": "n"}, "spec": {
            "type": "LoadBalancer", "clusterIP": "10.96.0.9", "externalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": true,
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.168.1.2", "ipMode": "VIP"}]}}});
        // `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'`: everything else as stored.
        let mut to_cip = lb.clone();
        to_cip["spec"]["type"] = json!("ClusterIP");
        carry_over(&mut to_cip, &lb);
        let spec = &to_cip["spec"];
        assert!(spec["ports"][0].get("nodePort").is_none(), "{spec}");
        assert!(spec.get("externalTrafficPolicy").is_none(), "{spec}");
        assert!(spec.get("allocateLoadBalancerNodePorts").is_none(), "{spec}");
        assert_eq!(to_cip["status"]["loadBalancer"], json!({}));
        // To NodePort: node ports and the traffic policy still apply.
        let mut to_np = lb.clone();
        to_np["spec"]["type"] = json!("NodePort");
        carry_over(&mut to_np, &lb);
        assert_eq!(to_np["spec"]["ports"][0]["nodePort"], 30080);
        assert_eq!(to_np["spec"]["externalTrafficPolicy"], "Cluster");
        assert!(to_np["spec"].get("allocateLoadBalancerNodePorts").is_none());
        assert_eq!(to_np["status"]["loadBalancer"], json!({}));
        // A node port the user changed in the same update stays, for validation.
        let mut changed = lb.clone();
        changed["spec"]["type"] = json!("ClusterIP");
        changed["spec"]["ports"][0]["nodePort"] = json!(30081);
        carry_over(&mut changed, &lb);
        assert_eq!(changed["spec"]["ports"][0]["nodePort"], 30081);
    }

    #[test]
    fn table_cells_are_kubectls() {
        let s = json!({"metadata": {"name": "nginx-lb"}, "spec": {
            "type": "LoadBalancer", "clusterIP": "10.111.136.115",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31592},
                      {"port": 443, "protocol": "TCP", "nodePort": 31636}],
            "selector": {"app": "nginx"}}, "status": {"loadBalancer": {}}});
        let row = SERVICES.behavior.row(&s, std::time::SystemTime::now());
        assert_eq!(row[1], "LoadBalancer");
        assert_eq!(row[2], "10.111.136.115");
        assert_eq!(row[3], "<pending>");
        assert_eq!(row[4], "80:31592/TCP,443:31636/TCP");
        assert_eq!(row[6], "app=nginx");
        let h = json!({"metadata": {"name": "web"}, "spec": {"type": "ClusterIP", "clusterIP": "None",
            "ports": [{"port": 80, "protocol": "TCP"}]}});
        let row = SERVICES.behavior.row(&h, std::time::SystemTime::now());
        assert_eq!(
            (row[2].as_str(), row[3].as_str(), row[6].as_str()),
            (Some("None"), Some("<none>"), Some("<none>"))
        );
    }
}
