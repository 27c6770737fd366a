//! The one Node k2d reports: the Docker host, described the way a kubelet would.
//!
//! Everything comes from `GET /info` and `GET /version` plus a few facts about the host
//! ([`HostFacts`]) gathered separately, so that [`build_node`] is pure and testable against
//! recorded daemon output.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// What a kubelet reports as `pods` capacity by default (`--max-pods`).
const MAX_PODS: &str = "110";

/// kubelet's default `--node-status-max-images`.
const MAX_IMAGES: usize = 50;

/// Facts about the host that are not in Docker's answers.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// The node's `InternalIP`.
    pub internal_ip: Option<IpAddr>,
    /// The kernel's boot id (global to the kernel, so right even inside a container).
    pub boot_id: Option<String>,
    /// Size in bytes of the filesystem holding Docker's root dir, when k2d can see it.
    pub ephemeral_storage: Option<u64>,
    /// Time for the conditions' heartbeat/transition times.
    pub now: SystemTime,
}

impl HostFacts {
    /// Looks the facts up: `advertise_ip` wins over the default route's source address.
    pub fn probe(info: &Value, advertise_ip: Option<IpAddr>) -> HostFacts {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        HostFacts {
            internal_ip: advertise_ip.or_else(default_route_ip),
            boot_id,
            ephemeral_storage: info["DockerRootDir"].as_str().and_then(filesystem_size),
            now: SystemTime::now(),
        }
    }
}

/// The Node for this Docker host. `kubelet_version` is what k2d claims to be (e.g. `v1.33.0`),
/// so that tools comparing node and server versions see no skew.
pub fn node_from_docker(
    info: &Value,
    version: &Value,
    advertise_ip: Option<IpAddr>,
    kubelet_version: &str,
) -> Value {
    build_node(info, version, &HostFacts::probe(info, advertise_ip), kubelet_version)
}

/// The pure part of [`node_from_docker`]. Leaves `uid`, `resourceVersion` and
/// `creationTimestamp` to the store.
pub fn build_node(
    info: &Value,
    version: &Value,
    facts: &HostFacts,
    kubelet_version: &str,
) -> Value {
    let name = node_name(info["Name"].as_str().unwrap_or_default());
    let os = info["OSType"].as_str().filter(|s| !s.is_empty()).unwrap_or("linux");
    // /version already has Go's spelling; /info has the kernel's.
    let arch =
        version["Arch"].as_str().filter(|s| !s.is_empty()).map(str::to_owned).unwrap_or_else(
            || go_arch(info["Architecture"].as_str().unwrap_or_default()).to_owned(),
        );
    let docker_id = info["ID"].as_str().unwrap_or_default();
    let now = humantime::format_rfc3339_seconds(facts.now).to_string();

    let mut resources = Map::new();
    resources.insert("cpu".into(), json!(info["NCPU"].as_u64().unwrap_or(1).to_string()));
    if let Some(bytes) = facts.ephemeral_storage {
        resources.insert("ephemeral-storage".into(), json!(format!("{}Ki", bytes / 1024)));
    }
    resources.insert("hugepages-1Gi".into(), json!("0"));
    resources.insert("hugepages-2Mi".into(), json!("0"));
    resources.insert(
        "memory".into(),
        json!(format!("{}Ki", info["MemTotal"].as_u64().unwrap_or(0) / 1024)),
    );
    resources.insert("pods".into(), json!(MAX_PODS));

    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": kind,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })
    };

    let mut addresses = Vec::new();
    if let Some(ip) = facts.internal_ip {
        addresses.push(json!({ "type": "InternalIP", "address": ip.to_string() }));
    }
    addresses.push(json!({ "type": "Hostname", "address": name }));

    let mut node_info = Map::new();
    node_info.insert("machineID".into(), json!(hex(&digest("machine-id", docker_id)[..16])));
    node_info.insert("systemUUID".into(), json!(uuid(&digest("system-uuid", docker_id))));
    if let Some(boot_id) = &facts.boot_id {
        node_info.insert("bootID".into(), json!(boot_id));
    }
    for (key, value) in [
        ("kernelVersion", info["KernelVersion"].as_str().unwrap_or_default()),
        ("osImage", info["OperatingSystem"].as_str().unwrap_or_default()),
    ] {
        node_info.insert(key.into(), json!(value));
    }
    let runtime =
        info["ServerVersion"].as_str().or(version["Version"].as_str()).unwrap_or("unknown");
    node_info.insert("containerRuntimeVersion".into(), json!(format!("docker://{runtime}")));
    node_info.insert("kubeletVersion".into(), json!(kubelet_version));
    node_info.insert("kubeProxyVersion".into(), json!(kubelet_version));
    node_info.insert("operatingSystem".into(), json!(os));
    node_info.insert("architecture".into(), json!(arch));

    json!({
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": os,
                "kubernetes.io/arch": arch,
                "kubernetes.io/hostname": label_value(&name),
                "kubernetes.io/os": os,
                // k2d is the control plane and the only worker; `kubectl get nodes` then
                // shows ROLES control-plane like a single-node k3s/kubeadm cluster.
                "node-role.kubernetes.io/control-plane": "",
            },
            "annotations": { "node.alpha.kubernetes.io/ttl": "0" },
        },
        "spec": {},
        "status": {
            "capacity": resources.clone(),
            // No system reservations or eviction thresholds exist to subtract.
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": addresses,
            // There is no kubelet to reach; logs and exec go through k2d itself.
            "daemonEndpoints": { "kubeletEndpoint": { "Port": 0 } },
            "nodeInfo": node_info,
        },
    })
}

/// `status.images` from `GET /images/json`: biggest first, at most 50, as the kubelet does.
pub fn node_images(images: &Value) -> Value {
    let mut out: Vec<(u64, Vec<String>)> = images
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|img| {
            let names: Vec<String> = ["RepoDigests", "RepoTags"]
                .iter()
                .flat_map(|k| img[*k].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .filter(|n| !n.starts_with("<none>"))
                .map(str::to_owned)
                .collect();
            (!names.is_empty()).then(|| (img["Size"].as_u64().unwrap_or(0), names))
        })
        .collect();
    out.sort_by_key(|img| std::cmp::Reverse(img.0));
    out.truncate(MAX_IMAGES);
    Value::Array(
        out.into_iter().map(|(size, names)| json!({ "names": names, "sizeBytes": size })).collect(),
    )
}

/// The Docker host's name as a DNS subdomain (RFC 1123), which Node names must be.
pub fn node_name(hostname: &str) -> String {
    let lowered: String = hostname
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect();
    let mut name = lowered
        .split('.')
        .map(|label| label.trim_matches('-'))
        .filter(|label| !label.is_empty())
        .map(|label| &label[..label.len().min(63)])
        .map(|label| label.trim_end_matches('-'))
        .collect::<Vec<_>>()
        .join(".");
    if name.len() > 253 {
        name.truncate(253);
        name = name.trim_end_matches(['.', '-']).to_string();
    }
    if name.is_empty() { "k2d".to_string() } else { name }
}

/// Label values are at most 63 characters; long host names are cut, as the kubelet does.
fn label_value(name: &str) -> String {
    name[..name.len().min(63)].trim_end_matches(['.', '-']).to_string()
}

/// Go's `GOARCH` for a kernel machine name, which is what Kubernetes labels use.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" | "armv8l" => "arm64",
        "armv7l" | "armv6l" | "armhf" | "arm" => "arm",
        "i386" | "i686" | "x86" => "386",
        "" => "unknown",
        other => other,
    }
}

/// The source address the kernel would use for the default route. Connecting a UDP socket
/// sends nothing; it only makes the kernel pick a route.
pub fn default_route_ip() -> Option<IpAddr> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    sock.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

fn filesystem_size(path: &str) -> Option<u64> {
    let c_path = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs only writes into the zeroed struct we own, given a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let size = (st.f_blocks as u64).checked_mul(st.f_frsize as u64)?;
    (size > 0).then_some(size)
}

/// IDs derived from Docker's daemon ID: stable for the host, the same whether k2d runs on
/// the host or in a container (where /etc/machine-id and DMI are not the host's).
fn digest(purpose: &str, docker_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(purpose.as_bytes());
    h.update(b"\0");
    h.update(docker_id.as_bytes());
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuid(b: &[u8; 32]) -> String {
    let h = hex(&b[..16]);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn recorded() -> (Value, Value) {
        let info = serde_json::from_str(include_str!("testdata/docker-info.json")).unwrap();
        let version = serde_json::from_str(include_str!("testdata/docker-version.json")).unwrap();
        (info, version)
    }

    fn facts() -> HostFacts {
        HostFacts {
            internal_ip: Some("192.168.1.10".parse().unwrap()),
            boot_id: Some("2dce4119-f7df-4647-ac36-c10fb64941ae".into()),
            ephemeral_storage: Some(62_725_623_808),
            // 2026-11-26T07:14:38Z
            now: UNIX_EPOCH + Duration::from_secs(1_795_677_278),
        }
    }

    #[test]
    fn recorded_daemon_becomes_a_ready_node() {
        let (info, version) = recorded();
        let node = build_node(&info, &version, &facts(), "v1.33.0");

        assert_eq!(node["kind"], "Node");
        assert_eq!(node["apiVersion"], "v1");
        assert_eq!(node["metadata"]["name"], "vm");
        let labels = &node["metadata"]["labels"];
        assert_eq!(labels["kubernetes.io/hostname"], "vm");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/arch"], "amd64");
        assert_eq!(labels["beta.kubernetes.io/arch"], "amd64");
        assert_eq!(labels["node-role.kubernetes.io/control-plane"], "");

        let status = &node["status"];
        for key in ["capacity", "allocatable"] {
            assert_eq!(status[key]["cpu"], "2");
            assert_eq!(status[key]["memory"], format!("{}Ki", 25_276_514_304u64 / 1024));
            assert_eq!(status[key]["pods"], "110");
            assert_eq!(status[key]["ephemeral-storage"], "61255492Ki");
        }

        let conditions = status["conditions"].as_array().unwrap();
        let types: Vec<&str> = conditions.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]);
        let ready = &conditions[3];
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(ready["lastHeartbeatTime"], "2026-11-26T07:14:38Z");
        assert!(conditions[..3].iter().all(|c| c["status"] == "False"));

        assert_eq!(
            status["addresses"],
            json!([{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "vm"}])
        );

        let ni = &status["nodeInfo"];
        assert_eq!(ni["architecture"], "amd64");
        assert_eq!(ni["operatingSystem"], "linux");
        assert_eq!(ni["osImage"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(ni["kernelVersion"], "6.18.44-fc-v595");
        assert_eq!(ni["containerRuntimeVersion"], "docker://20.10.24+dfsg1");
        assert_eq!(ni["kubeletVersion"], "v1.33.0");
        assert_eq!(ni["kubeProxyVersion"], "v1.33.0");
        assert_eq!(ni["bootID"], "2dce4119-f7df-4647-ac36-c10fb64941ae");
        assert_eq!(ni["machineID"].as_str().unwrap().len(), 32);
        let uuid = ni["systemUUID"].as_str().unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
    }

    #[test]
    fn node_decodes_as_a_typed_core_v1_node() {
        let (info, version) = recorded();
        let node = build_node(&info, &version, &facts(), "v1.33.0");
        let typed: k8s_openapi::api::core::v1::Node = serde_json::from_value(node).unwrap();
        assert_eq!(typed.status.unwrap().node_info.unwrap().architecture, "amd64");
    }

    #[test]
    fn ids_are_stable_and_distinct_per_daemon() {
        let (info, version) = recorded();
        let a = build_node(&info, &version, &facts(), "v1.33.0");
        let b = build_node(&info, &version, &facts(), "v1.33.0");
        assert_eq!(a["status"]["nodeInfo"]["machineID"], b["status"]["nodeInfo"]["machineID"]);
        let mut other = info.clone();
        other["ID"] = json!("SOME:OTHER:DAEMON");
        let c = build_node(&other, &version, &facts(), "v1.33.0");
        assert_ne!(a["status"]["nodeInfo"]["machineID"], c["status"]["nodeInfo"]["machineID"]);
    }

    #[test]
    fn arm64_host_without_version_arch_maps_kernel_name() {
        let (mut info, mut version) = recorded();
        info["Architecture"] = json!("aarch64");
        version["Arch"] = Value::Null;
        let mut f = facts();
        f.internal_ip = None;
        f.ephemeral_storage = None;
        f.boot_id = None;
        let node = build_node(&info, &version, &f, "v1.33.0");
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/arch"], "arm64");
        assert_eq!(node["status"]["nodeInfo"]["architecture"], "arm64");
        assert_eq!(node["status"]["addresses"], json!([{"type": "Hostname", "address": "vm"}]));
        assert!(node["status"]["capacity"].get("ephemeral-storage").is_none());
        assert!(node["status"]["nodeInfo"].get("bootID").is_none());
    }

    #[test]
    fn host_names_become_dns_subdomains() {
        assert_eq!(node_name("Edge-1"), "edge-1");
        assert_eq!(node_name("my_host.Local"), "my-host.local");
        assert_eq!(node_name("-x-.y..z-"), "x.y.z");
        assert_eq!(node_name(""), "k2d");
        assert_eq!(node_name("___"), "k2d");
        let long = "a".repeat(70);
        assert_eq!(node_name(&long), "a".repeat(63));
        let many = vec!["abcdefghij"; 30].join(".");
        let n = node_name(&many);
        assert!(n.len() <= 253 && !n.ends_with('.'), "{n}");
        assert_eq!(label_value(&many).len(), 63);
    }

    #[test]
    fn go_arch_names() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("armv7l"), "arm");
        assert_eq!(go_arch("s390x"), "s390x");
    }

    #[test]
    fn images_biggest_first_without_dangling_names() {
        let images = json!([
            {"RepoTags": ["small:1"], "RepoDigests": [], "Size": 10},
            {"RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"], "Size": 99},
            {"RepoTags": ["big:2"], "RepoDigests": ["big@sha256:00"], "Size": 1000},
        ]);
        assert_eq!(
            node_images(&images),
            json!([
                {"names": ["big@sha256:00", "big:2"], "sizeBytes": 1000},
                {"names": ["small:1"], "sizeBytes": 10},
            ])
        );
    }

    #[test]
    fn probe_finds_this_hosts_facts() {
        let (info, _) = recorded();
        let f = HostFacts::probe(&info, Some("10.1.2.3".parse().unwrap()));
        assert_eq!(f.internal_ip, Some("10.1.2.3".parse().unwrap()));
        assert!(f.boot_id.is_some(), "Linux always has a boot id");
    }
}
