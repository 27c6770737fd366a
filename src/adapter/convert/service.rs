//! Services in Docker's terms, kept pure: the proxy container that realises a
//! non-headless Service, the DNS names a Service (or a pod) answers to on the
//! pods' network, and pods' DNS settings as the kubelet writes resolv.conf.

use super::labels;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The cluster domain in DNS names.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// Labels on a Service's proxy container.
pub const SERVICE_NAME: &str = "k2d.io/service-name";
pub const SERVICE_NAMESPACE: &str = "k2d.io/service-namespace";
pub const SERVICE_UID: &str = "k2d.io/service-uid";
/// Hash of what the container was created from; a different one means recreate.
pub const PROXY_HASH: &str = "k2d.io/proxy-hash";
/// [`labels::TYPE`] of a proxy container.
pub const PROXY_TYPE: &str = "serviceproxy";

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `k2d_SVC_<name>_<ns>`.
pub fn proxy_name(namespace: &str, name: &str) -> String {
    format!("k2d_SVC_{name}_{namespace}")
}

/// The names a Service answers to on the pods' network. The bare `<svc>` is
/// left out on purpose: pods reach it through their search path
/// (`<ns>.svc.cluster.local` first), which keeps a Service of one namespace
/// from answering for a same-named one in another, as in Kubernetes.
pub fn service_aliases(namespace: &str, name: &str) -> Vec<String> {
    vec![
        format!("{name}.{namespace}"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.{CLUSTER_DOMAIN}"),
    ]
}

/// `(protocol lower case, port)` of every Service port the proxy listens on.
pub fn proxy_ports(svc: &Value) -> Vec<(String, u16)> {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["port"].as_u64()?).ok()?;
            let proto = match s(p, "/protocol") {
                "" => "tcp".to_string(),
                other => other.to_ascii_lowercase(),
            };
            Some((proto, port))
        })
        .collect()
}

/// Host ports to publish: `(proto, container port, host port)`. NodePort and
/// LoadBalancer publish the node port (as on every Kubernetes node), and a
/// LoadBalancer also its `port`, standing in for the external load balancer.
pub fn published(svc: &Value) -> Vec<(String, u16, u16)> {
    let kind = s(svc, "/spec/type");
    let mut out = Vec::new();
    for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
        let Some(port) = p["port"].as_u64().and_then(|n| u16::try_from(n).ok()) else { continue };
        let proto = match s(p, "/protocol") {
            "" => "tcp".to_string(),
            other => other.to_ascii_lowercase(),
        };
        if matches!(kind, "NodePort" | "LoadBalancer")
            && let Some(np) = p["nodePort"].as_u64().and_then(|n| u16::try_from(n).ok())
            && np != 0
        {
            out.push((proto.clone(), port, np));
        }
        if kind == "LoadBalancer" {
            out.push((proto, port, port));
        }
    }
    out
}

/// Hash of everything the proxy container is created from.
pub fn proxy_hash(svc: &Value, image: &str) -> String {
    let basis = json!({
        "uid": s(svc, "/metadata/uid"),
        "ports": proxy_ports(svc),
        "published": published(svc),
        "image": image,
    });
    let digest = Sha256::digest(basis.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `POST /containers/create` body of the Service's proxy: k2d's own binary
/// (the pause image) in `proxy` mode, on the pods' network under the Service's
/// names, reading backends from `host_dir` mounted read-only.
pub fn proxy_config(
    svc: &Value,
    image: &str,
    network: &str,
    host_dir: &str,
    instance: &str,
) -> Value {
    let (ns, name) = (s(svc, "/metadata/namespace"), s(svc, "/metadata/name"));
    let mut entry = vec![
        "/pause".to_string(),
        "proxy".to_string(),
        format!("{}/{}", crate::proxy::MOUNT, crate::proxy::FILE),
    ];
    let mut exposed = Map::new();
    for (proto, port) in proxy_ports(svc) {
        entry.push(format!("{proto}:{port}"));
        exposed.insert(format!("{port}/{proto}"), json!({}));
    }
    let mut bindings: Map<String, Value> = Map::new();
    for (proto, port, host) in published(svc) {
        let list = bindings.entry(format!("{port}/{proto}")).or_insert_with(|| json!([]));
        if let Some(l) = list.as_array_mut() {
            l.push(json!({"HostIp": "", "HostPort": host.to_string()}));
        }
    }
    let mut endpoints = Map::new();
    endpoints.insert(network.to_string(), json!({"Aliases": service_aliases(ns, name)}));
    json!({
        "Image": image,
        "Entrypoint": entry,
        "Cmd": [],
        "Labels": {
            labels::MANAGED: "true",
            labels::INSTANCE: instance,
            labels::TYPE: PROXY_TYPE,
            SERVICE_NAME: name,
            SERVICE_NAMESPACE: ns,
            SERVICE_UID: s(svc, "/metadata/uid"),
            PROXY_HASH: proxy_hash(svc, image),
        },
        "ExposedPorts": exposed,
        "HostConfig": {
            "NetworkMode": network,
            "Binds": [format!("{host_dir}:{}:ro", crate::proxy::MOUNT)],
            "PortBindings": bindings,
            "RestartPolicy": {"Name": "unless-stopped"},
        },
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    })
}

/// Whether the pod uses cluster DNS (`dnsPolicy` as the kubelet reads it:
/// `ClusterFirst` on the pod network, `ClusterFirstWithHostNet` anywhere).
pub fn uses_cluster_dns(pod: &Value) -> bool {
    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false);
    match s(pod, "/spec/dnsPolicy") {
        "" | "ClusterFirst" => !host_network,
        "ClusterFirstWithHostNet" => true,
        _ => false,
    }
}

/// The kubelet's search path for cluster DNS, ahead of the pod's own
/// `dnsConfig.searches`.
pub fn dns_search(namespace: &str) -> Vec<String> {
    vec![
        format!("{namespace}.svc.{CLUSTER_DOMAIN}"),
        format!("svc.{CLUSTER_DOMAIN}"),
        CLUSTER_DOMAIN.to_string(),
    ]
}

/// Put cluster DNS settings on a sandbox's create body: the search path as in
/// Kubernetes, and `ndots:1`. Docker's own default, `ndots:0`, would try a bare
/// `web` as an absolute name first and could meet another namespace's pod
/// alias; Kubernetes' `ndots:5` sends every dotted cluster name through the
/// search list first, and Docker's resolver forwards each miss upstream
/// (measured here: 6 of 60 lookups of `web.ns.svc.cluster.local` stalled 5 s;
/// none with `ndots:1`). Every Service name is an exact alias, so trying
/// dotted names as given first finds the same answers.
pub fn apply_cluster_dns(pod: &Value, config: &mut Value) {
    if !uses_cluster_dns(pod) {
        return;
    }
    let host = &mut config["HostConfig"];
    let mut search = dns_search(s(pod, "/metadata/namespace"));
    for extra in host["DnsSearch"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !search.iter().any(|x| x == extra) {
            search.push(extra.to_string());
        }
    }
    host["DnsSearch"] = json!(search);
    let mut options: Vec<String> = host["DnsOptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.insert(0, "ndots:1".to_string());
    }
    host["DnsOptions"] = json!(options);
}

/// The names a pod's sandbox answers to besides its own: for every headless Service it backs
/// (`headless`: their names), the Service's names, and when one of them is the pod's
/// `subdomain`, `<hostname>.<subdomain>[.<ns>[.svc[.cluster.local]]]`. As in Kubernetes, a
/// pod's own name under its subdomain exists only while that headless Service selects it.
pub fn pod_extra_aliases(pod: &Value, headless: &[String]) -> Vec<String> {
    let ns = s(pod, "/metadata/namespace");
    let mut out = Vec::new();
    let sub = s(pod, "/spec/subdomain");
    if !sub.is_empty() && headless.iter().any(|h| h == sub) {
        let host = super::pod::pod_hostname(pod);
        out.push(format!("{host}.{sub}"));
        out.push(format!("{host}.{sub}.{ns}"));
        out.push(format!("{host}.{sub}.{ns}.svc"));
        out.push(format!("{host}.{sub}.{ns}.svc.{CLUSTER_DOMAIN}"));
    }
    for svc in headless {
        out.extend(service_aliases(ns, svc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(kind: &str) -> Value {
        json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"type": kind, "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53, "nodePort": 30053}]}})
    }

    #[test]
    fn proxy_listens_on_every_port_under_the_service_names() {
        let c =
            proxy_config(&svc("ClusterIP"), "k2d/pause:x", "k2d", "/data/services/shop/web", "i1");
        assert_eq!(
            c["Entrypoint"],
            json!(["/pause", "proxy", "/k2d-service/backends", "tcp:80", "udp:53"])
        );
        assert_eq!(
            c["NetworkingConfig"]["EndpointsConfig"]["k2d"]["Aliases"],
            json!(["web.shop", "web.shop.svc", "web.shop.svc.cluster.local"])
        );
        assert_eq!(c["HostConfig"]["Binds"], json!(["/data/services/shop/web:/k2d-service:ro"]));
        assert_eq!(c["HostConfig"]["PortBindings"], json!({}));
        assert_eq!(c["Labels"][labels::INSTANCE], "i1");
    }

    #[test]
    fn node_port_and_load_balancer_publish_on_the_host() {
        let c = proxy_config(&svc("NodePort"), "img", "k2d", "/d", "i");
        assert_eq!(
            c["HostConfig"]["PortBindings"]["80/tcp"],
            json!([{"HostIp": "", "HostPort": "30080"}])
        );
        let lb = published(&svc("LoadBalancer"));
        assert!(lb.contains(&("tcp".into(), 80, 30080)) && lb.contains(&("tcp".into(), 80, 80)));
        assert_ne!(proxy_hash(&svc("NodePort"), "img"), proxy_hash(&svc("ClusterIP"), "img"));
    }

    #[test]
    fn pods_get_the_kubelets_search_path() {
        let pod = json!({"metadata": {"namespace": "shop"}, "spec": {}});
        let mut cfg = json!({"HostConfig": {"DnsSearch": ["corp.example"]}});
        apply_cluster_dns(&pod, &mut cfg);
        assert_eq!(
            cfg["HostConfig"]["DnsSearch"],
            json!(["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"])
        );
        assert_eq!(cfg["HostConfig"]["DnsOptions"], json!(["ndots:1"]));
        let none = json!({"metadata": {"namespace": "shop"}, "spec": {"dnsPolicy": "None"}});
        let mut cfg = json!({"HostConfig": {}});
        apply_cluster_dns(&none, &mut cfg);
        assert!(cfg["HostConfig"].get("DnsSearch").is_none());
        let host = json!({"metadata": {"namespace": "shop"}, "spec": {"hostNetwork": true}});
        assert!(!uses_cluster_dns(&host));
    }

    #[test]
    fn statefulset_style_pods_get_their_own_names() {
        let pod = json!({"metadata": {"name": "db-0", "namespace": "shop"},
            "spec": {"hostname": "db-0", "subdomain": "db"}});
        assert_eq!(
            pod_extra_aliases(&pod, &["db".to_string()]),
            vec![
                "db-0.db",
                "db-0.db.shop",
                "db-0.db.shop.svc",
                "db-0.db.shop.svc.cluster.local",
                "db.shop",
                "db.shop.svc",
                "db.shop.svc.cluster.local"
            ]
        );
        // Without its headless Service the subdomain gives the pod no name.
        assert_eq!(pod_extra_aliases(&pod, &[]), Vec::<String>::new());
    }
}
