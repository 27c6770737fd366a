//! Which pods back a Service and on which ports, as the endpoints and
//! endpointslice controllers compute it. Pure, so it is tested on its own.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Whether `labels` carry every `key=value` of `selector` (a non-empty map).
pub fn selects(selector: &Map<String, Value>, labels: &Value) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Ready as the endpoints controller reads it: the pod's `Ready` condition,
/// and not being deleted.
pub fn pod_ready(pod: &Value) -> bool {
    pod["metadata"].get("deletionTimestamp").is_none() && ready_condition(pod)
}

/// The pod's `Ready` condition alone (`podutil.IsPodReady`): what an
/// EndpointSlice's `serving` reports, terminating or not.
fn ready_condition(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// A Service port resolved for one pod: `(name, protocol, target port)`.
pub type PortRes = (String, String, u16);

/// The Service's ports on `pod` (`targetPort` names looked up in the pod's
/// container ports with the same protocol); `None` for a named port the pod
/// does not have, which leaves the pod out of that port, as in Kubernetes.
pub fn resolve_ports(svc: &Value, pod: &Value) -> Vec<Option<PortRes>> {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            let target = match &p["targetPort"] {
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                Value::String(name) => pod["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                    .find(|cp| {
                        cp["name"].as_str() == Some(name.as_str())
                            && (match s(cp, "/protocol") {
                                "" => "TCP",
                                x => x,
                            }) == proto
                    })
                    .and_then(|cp| cp["containerPort"].as_u64())
                    .and_then(|n| u16::try_from(n).ok()),
                _ => p["port"].as_u64().and_then(|n| u16::try_from(n).ok()),
            }?;
            Some((s(p, "/name").to_string(), proto.to_string(), target))
        })
        .collect()
}

/// One pod backing the Service.
#[derive(Debug, Clone)]
pub struct Backend {
    pub ip: IpAddr,
    pub ready: bool,
    /// The `Ready` condition, even while terminating.
    pub serving: bool,
    pub terminating: bool,
    pub ports: Vec<Option<PortRes>>,
    pub target_ref: Value,
    pub node: String,
    pub hostname: Option<String>,
}

/// Pods of the namespace the Service selects that have an address and have
/// not finished; nothing for a Service without a selector.
pub fn backends(svc: &Value, pods: &[std::sync::Arc<Value>]) -> Vec<Backend> {
    let Some(selector) = svc["spec"]["selector"].as_object() else { return Vec::new() };
    let mut out: Vec<Backend> = pods
        .iter()
        .map(|p| &**p)
        .filter(|p| selects(selector, &p["metadata"]["labels"]))
        .filter(|p| !matches!(s(p, "/status/phase"), "Succeeded" | "Failed"))
        .filter_map(|p| {
            let ip: IpAddr = s(p, "/status/podIP").parse().ok()?;
            let sub = s(p, "/spec/subdomain");
            let hostname = (!sub.is_empty() && sub == s(svc, "/metadata/name"))
                .then(|| crate::adapter::convert::pod::pod_hostname(p));
            Some(Backend {
                ip,
                ready: pod_ready(p),
                serving: ready_condition(p),
                terminating: p["metadata"].get("deletionTimestamp").is_some(),
                ports: resolve_ports(svc, p),
                target_ref: json!({
                    "kind": "Pod",
                    "namespace": s(p, "/metadata/namespace"),
                    "name": s(p, "/metadata/name"),
                    "uid": s(p, "/metadata/uid"),
                }),
                node: s(p, "/spec/nodeName").to_string(),
                hostname,
            })
        })
        .collect();
    out.sort_by_key(|b| b.ip);
    out
}

/// Whether not-ready pods are published as if ready.
fn publish_not_ready(svc: &Value) -> bool {
    svc["spec"]["publishNotReadyAddresses"].as_bool().unwrap_or(false)
}

/// `subsets` of the Endpoints: pods grouped by how the ports resolve on them,
/// ready ones in `addresses`, the rest in `notReadyAddresses`; terminating
/// pods left out (as the endpoints controller does).
pub fn subsets(svc: &Value, backends: &[Backend]) -> Vec<Value> {
    let headless_no_ports = svc["spec"]["ports"].as_array().is_none_or(Vec::is_empty);
    let mut groups: BTreeMap<Vec<PortRes>, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for b in backends.iter().filter(|b| !b.terminating || publish_not_ready(svc)) {
        let ports: Vec<PortRes> = b.ports.iter().flatten().cloned().collect();
        if ports.is_empty() && !headless_no_ports {
            continue;
        }
        let mut addr = Map::new();
        addr.insert("ip".into(), json!(b.ip.to_string()));
        if let Some(h) = &b.hostname {
            addr.insert("hostname".into(), json!(h));
        }
        if !b.node.is_empty() {
            addr.insert("nodeName".into(), json!(b.node));
        }
        addr.insert("targetRef".into(), b.target_ref.clone());
        let g = groups.entry(ports).or_default();
        if b.ready || publish_not_ready(svc) {
            g.0.push(Value::Object(addr));
        } else {
            g.1.push(Value::Object(addr));
        }
    }
    groups
        .into_iter()
        .map(|(ports, (ready, not_ready))| {
            let mut ss = Map::new();
            if !ready.is_empty() {
                ss.insert("addresses".into(), json!(ready));
            }
            if !not_ready.is_empty() {
                ss.insert("notReadyAddresses".into(), json!(not_ready));
            }
            if !ports.is_empty() {
                let ports: Vec<Value> = ports
                    .iter()
                    .map(|(name, proto, port)| {
                        let mut p = Map::new();
                        if !name.is_empty() {
                            p.insert("name".into(), json!(name));
                        }
                        p.insert("port".into(), json!(port));
                        p.insert("protocol".into(), json!(proto));
                        Value::Object(p)
                    })
                    .collect();
                ss.insert("ports".into(), json!(ports));
            }
            Value::Object(ss)
        })
        .collect()
}

/// `endpoints` and `ports` of the Service's one EndpointSlice.
pub fn slice(svc: &Value, backends: &[Backend]) -> (Vec<Value>, Vec<Value>) {
    let eps = backends
        .iter()
        .map(|b| {
            let mut e = Map::new();
            e.insert("addresses".into(), json!([b.ip.to_string()]));
            e.insert(
                "conditions".into(),
                json!({"ready": b.ready && !b.terminating || publish_not_ready(svc),
                       "serving": b.serving,
                       "terminating": b.terminating}),
            );
            if let Some(h) = &b.hostname {
                e.insert("hostname".into(), json!(h));
            }
            e.insert("targetRef".into(), b.target_ref.clone());
            if !b.node.is_empty() {
                e.insert("nodeName".into(), json!(b.node));
            }
            Value::Object(e)
        })
        .collect();
    // Ports as resolved on the first backend that has them all.
    let resolved = backends.iter().find(|b| b.ports.iter().all(Option::is_some));
    let ports = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let port = resolved
                .and_then(|b| b.ports.get(i).cloned().flatten())
                .map(|r| r.2)
                .or_else(|| p["targetPort"].as_u64().and_then(|n| u16::try_from(n).ok()));
            let mut o = Map::new();
            o.insert("name".into(), json!(s(p, "/name")));
            o.insert("protocol".into(), json!(s(p, "/protocol")));
            if let Some(port) = port {
                o.insert("port".into(), json!(port));
            }
            Value::Object(o)
        })
        .collect();
    (eps, ports)
}

/// What the proxy forwards to: `(protocol, service port, pod ip:target)` for
/// every ready backend; a port with none falls back to its serving but
/// terminating backends, as kube-proxy does (ProxyTerminatingEndpoints), so a
/// rollout of a single replica drains instead of dropping connections.
pub fn proxy_targets(svc: &Value, backends: &[Backend]) -> Vec<(String, u16, SocketAddr)> {
    let ports: Vec<(String, u16)> = crate::adapter::convert::service::proxy_ports(svc);
    let ready = |b: &&Backend| b.ready || publish_not_ready(svc) && !b.terminating;
    let draining = |b: &&Backend| b.terminating && b.serving;
    let mut out = Vec::new();
    for (i, (proto, port)) in ports.iter().enumerate() {
        let target = |b: &Backend| match b.ports.get(i) {
            Some(Some((_, _, t))) => Some((proto.clone(), *port, SocketAddr::new(b.ip, *t))),
            _ => None,
        };
        let mut these: Vec<_> = backends.iter().filter(ready).filter_map(target).collect();
        if these.is_empty() {
            these = backends.iter().filter(draining).filter_map(target).collect();
        }
        out.extend(these);
    }
    out
}

/// Backends from a user-written Endpoints (Services without a selector).
pub fn targets_from_endpoints(svc: &Value, ep: &Value) -> Vec<(String, u16, SocketAddr)> {
    let mut out = Vec::new();
    let svc_ports = svc["spec"]["ports"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for ss in ep["subsets"].as_array().into_iter().flatten() {
        for ep_port in ss["ports"].as_array().into_iter().flatten() {
            // An Endpoints port belongs to the Service port of the same name.
            let name = s(ep_port, "/name");
            let Some(sp) = svc_ports.iter().find(|p| s(p, "/name") == name) else { continue };
            let (Some(port), Some(target)) = (
                sp["port"].as_u64().and_then(|n| u16::try_from(n).ok()),
                ep_port["port"].as_u64().and_then(|n| u16::try_from(n).ok()),
            ) else {
                continue;
            };
            let proto = match s(sp, "/protocol") {
                "" => "tcp".to_string(),
                x => x.to_ascii_lowercase(),
            };
            for a in ss["addresses"].as_array().into_iter().flatten() {
                if let Ok(ip) = s(a, "/ip").parse::<IpAddr>() {
                    out.push((proto.clone(), port, SocketAddr::new(ip, target)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool, labels: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "labels": labels},
            "spec": {"nodeName": "edge-1", "containers": [{"name": "c", "ports": [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip,
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
    }

    fn svc(target: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": target}]}})
    }

    #[test]
    fn ready_pods_are_addresses_others_not_ready_and_strangers_left_out() {
        let pods: Vec<std::sync::Arc<Value>> = vec![
            pod("b", "172.18.0.20", true, json!({"app": "web"})),
            pod("a", "172.18.0.3", true, json!({"app": "web", "tier": "x"})),
            pod("c", "172.18.0.4", false, json!({"app": "web"})),
            pod("d", "172.18.0.5", true, json!({"app": "db"})),
            pod("e", "", true, json!({"app": "web"})),
        ]
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
        let s = svc(json!("http"));
        let b = backends(&s, &pods);
        assert_eq!(b.len(), 3);
        let ss = subsets(&s, &b);
        assert_eq!(ss.len(), 1);
        let ips: Vec<&str> = ss[0]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["ip"].as_str().unwrap())
            .collect();
        assert_eq!(ips, vec!["172.18.0.3", "172.18.0.20"], "sorted as addresses, not strings");
        assert_eq!(ss[0]["notReadyAddresses"][0]["ip"], "172.18.0.4");
        assert_eq!(ss[0]["ports"], json!([{"name": "http", "port": 8080, "protocol": "TCP"}]));
        assert_eq!(ss[0]["addresses"][0]["targetRef"]["name"], "a");
        let t = proxy_targets(&s, &b);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0], ("tcp".to_string(), 80, "172.18.0.3:8080".parse().unwrap()));
        let (eps, ports) = slice(&s, &b);
        assert_eq!(eps.len(), 3);
        assert_eq!(eps[1]["conditions"]["ready"], false);
        assert_eq!(ports, vec![json!({"name": "http", "protocol": "TCP", "port": 8080})]);
    }

    #[test]
    fn terminating_pods_still_serve_and_are_proxied_only_when_nothing_is_ready() {
        let mut going = pod("a", "172.18.0.3", true, json!({"app": "web"}));
        going["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        let new = pod("b", "172.18.0.4", false, json!({"app": "web"}));
        let s = svc(json!(8080));
        let b = backends(&s, &[std::sync::Arc::new(going.clone()), std::sync::Arc::new(new)]);
        let (eps, _) = slice(&s, &b);
        assert_eq!(
            eps[0]["conditions"],
            json!({"ready": false, "serving": true, "terminating": true})
        );
        assert_eq!(
            eps[1]["conditions"],
            json!({"ready": false, "serving": false, "terminating": false})
        );
        // Nothing ready: the terminating pod still gets traffic.
        let t = proxy_targets(&s, &b);
        assert_eq!(t, vec![("tcp".to_string(), 80, "172.18.0.3:8080".parse().unwrap())]);
        // Once the new pod is ready, only it does.
        let ready = pod("b", "172.18.0.4", true, json!({"app": "web"}));
        let b = backends(&s, &[std::sync::Arc::new(going), std::sync::Arc::new(ready)]);
        let t = proxy_targets(&s, &b);
        assert_eq!(t, vec![("tcp".to_string(), 80, "172.18.0.4:8080".parse().unwrap())]);
    }

    #[test]
    fn a_named_port_the_pod_lacks_leaves_it_out() {
        let s = svc(json!("metrics"));
        let b = backends(
            &s,
            &[std::sync::Arc::new(pod("a", "172.18.0.3", true, json!({"app": "web"})))],
        );
        assert!(subsets(&s, &b).is_empty());
        assert!(proxy_targets(&s, &b).is_empty());
        let n = svc(json!(9000));
        let b = backends(
            &n,
            &[std::sync::Arc::new(pod("a", "172.18.0.3", true, json!({"app": "web"})))],
        );
        assert_eq!(subsets(&n, &b)[0]["ports"][0]["port"], 9000);
    }

    #[test]
    fn no_selector_selects_nothing_and_user_endpoints_feed_the_proxy() {
        let mut s = svc(json!(80));
        s["spec"].as_object_mut().unwrap().remove("selector");
        assert!(
            backends(
                &s,
                &[std::sync::Arc::new(pod("a", "172.18.0.3", true, json!({"app": "web"})))]
            )
            .is_empty()
        );
        let ep = json!({"subsets": [{"addresses": [{"ip": "192.168.1.50"}],
            "ports": [{"name": "http", "port": 5432}]}]});
        assert_eq!(
            targets_from_endpoints(&s, &ep),
            vec![("tcp".to_string(), 80, "192.168.1.50:5432".parse().unwrap())]
        );
    }
}
