//! Pod → Docker: the pure translation the pod controller uses to create a pod's
//! sandbox, its containers and its volumes, the way the kubelet's Docker
//! runtime (dockershim) laid pods out.
//!
//! A pod is a *sandbox* container (k2d's pause image) that owns the network,
//! IPC and (optionally) PID namespaces, the hostname, DNS and published ports,
//! plus one Docker container per Kubernetes container joined to it with
//! `container:<sandbox>` modes. Everything here is computed from the stored Pod
//! and a few facts in [`PodContext`]; nothing does I/O, so the controller can
//! retry, diff and test it freely.

pub mod env;
pub mod quantity;
pub mod volumes;

use super::labels;
use quantity::Quantity;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What backs a persistentVolumeClaim volume: its bound PersistentVolume's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimSource {
    /// A Docker volume (volumes of k2d's provisioner), mounted by name.
    DockerVolume(String),
    /// A directory of the Docker host (a `hostPath` volume), bind-mounted.
    HostPath(PathBuf),
}

/// The store lookups the converter needs (ConfigMaps and Secrets by namespace and name).
pub trait PodEnv {
    fn configmap(&self, namespace: &str, name: &str) -> Option<Arc<Value>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Value>>;
    /// HOST path of a Docker volume's data directory (`Mountpoint` of
    /// `GET /volumes/{name}`), when known. Only needed for `subPath` mounts of
    /// emptyDir/PVC volumes: Docker API 1.41 cannot mount a volume's
    /// subdirectory, so those become bind mounts of `<mountpoint>/<subPath>`.
    fn volume_mountpoint(&self, _docker_name: &str) -> Option<PathBuf> {
        None
    }
    /// What the claim `namespace/claim` is bound to; `Err` says why it cannot
    /// be mounted (missing, not bound, a volume type k2d cannot mount).
    fn claim_source(&self, _namespace: &str, claim: &str) -> Result<ClaimSource, String> {
        Err(format!("persistentvolumeclaim {} not found", quote(claim)))
    }
}

/// Facts about the pod's runtime that are not in the Pod object.
pub struct PodContext<'a> {
    pub env: &'a dyn PodEnv,
    pub node_name: &'a str,
    pub host_ip: &'a str,
    /// Known after the sandbox started ("" before).
    pub pod_ip: &'a str,
    /// Docker id of the sandbox ("" when building the sandbox itself).
    pub sandbox_id: &'a str,
    /// Image of the sandbox.
    pub pause_image: &'a str,
    /// Docker network pods join (e.g. "k2d").
    pub network: &'a str,
    /// HOST path of this pod's projected volume directory for a volume name.
    pub volume_dir: &'a dyn Fn(&str) -> PathBuf,
}

/// Why a pod (or one of its containers) cannot be created yet. `reason` is the
/// Kubernetes waiting reason / event reason (`CreateContainerConfigError`,
/// `FailedMount`), `message` reads like the kubelet's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    pub reason: &'static str,
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ConvertError {}

/// Which list of the pod spec a container comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
}

impl ContainerKind {
    /// Value of the [`labels::CONTAINER_KIND`] label.
    pub fn label(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainer",
            ContainerKind::Regular => "container",
        }
    }
}

/// What one entry of `spec.volumes` needs before containers start
/// ([`volumes`] returns one per entry, in order).
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeAction {
    /// Create (if missing) the Docker volume `docker_name`: emptyDir (disk, or
    /// tmpfs via `driver_opts` for `medium: Memory`, so all containers share it)
    /// and persistentVolumeClaim.
    DockerVolume {
        volume: String,
        docker_name: String,
        labels: BTreeMap<String, String>,
        /// `DriverOpts` of `POST /volumes/create` (local driver).
        driver_opts: BTreeMap<String, String>,
    },
    /// Write these files (relative path, may contain '/') atomically into
    /// `volume_dir(volume)`: configMap, secret, downwardAPI, projected.
    Projected { volume: String, files: BTreeMap<String, (Vec<u8>, u32)> },
    /// Nothing to prepare (hostPath): handled by mounts only.
    None,
}

/// One action per entry of `spec.volumes`, in order: the files of
/// configMap/secret/downwardAPI/projected volumes as the kubelet computes them,
/// the Docker volumes of emptyDir and persistentVolumeClaim. Errors are
/// `FailedMount` with the kubelet's message.
pub fn volumes(pod: &Value, env: &dyn PodEnv) -> Result<Vec<VolumeAction>, ConvertError> {
    volumes::volume_actions(pod, env)
}

/// Docker label with a hash of the container's spec: a change (an image
/// update) means the container must be recreated, as the kubelet's
/// `io.kubernetes.container.hash` does.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";

/// The domain pods' FQDNs end in (`<host>.<subdomain>.<ns>.svc.<domain>`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// A string at a JSON pointer, "" when absent.
pub(crate) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// A Secret's value for `key`, base64-decoded from `data`.
pub(crate) fn secret_bytes(secret: &Value, key: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = secret.get("data")?.get(key)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn uid8(pod: &Value) -> &str {
    let uid = s(pod, "/metadata/uid");
    uid.get(..8).unwrap_or(uid)
}

/// `k2d_POD_<pod>_<ns>_<uid8>`.
pub fn sandbox_name(pod: &Value) -> String {
    format!("k2d_POD_{}_{}_{}", s(pod, "/metadata/name"), s(pod, "/metadata/namespace"), uid8(pod))
}

/// `k2d_<container>_<pod>_<ns>_<uid8>_<attempt>`: a new name per restart, so the
/// previous instance stays inspectable for `logs --previous` and exit codes.
pub fn container_name(pod: &Value, container: &str, attempt: u32) -> String {
    format!(
        "k2d_{container}_{}_{}_{}_{attempt}",
        s(pod, "/metadata/name"),
        s(pod, "/metadata/namespace"),
        uid8(pod)
    )
}

/// Docker volume backing an emptyDir: owned by one pod instance (its uid).
pub fn emptydir_volume_name(pod: &Value, volume: &str) -> String {
    format!(
        "k2d_{}_{}_{}_{volume}",
        s(pod, "/metadata/name"),
        s(pod, "/metadata/namespace"),
        uid8(pod)
    )
}

/// Kind of the pod's controlling owner (`ReplicaSet`, `Job`...), or `Pod`.
pub fn owner_kind(pod: &Value) -> &str {
    env::arr(pod, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map_or("Pod", |r| s(r, "/kind"))
}

/// Labels identifying the pod on everything k2d creates for it.
pub(crate) fn pod_labels(pod: &Value) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert(labels::MANAGED.to_string(), "true".to_string());
    l.insert(labels::POD_NAME.to_string(), s(pod, "/metadata/name").to_string());
    l.insert(labels::POD_NAMESPACE.to_string(), s(pod, "/metadata/namespace").to_string());
    l.insert(labels::POD_UID.to_string(), s(pod, "/metadata/uid").to_string());
    l.insert(labels::OWNER_KIND.to_string(), owner_kind(pod).to_string());
    l
}

/// The pod's hostname: `spec.hostname` or the pod name, cut to 63 characters
/// without a trailing `-` or `.` (kubelet's `truncatePodHostnameIfNeeded`).
pub fn pod_hostname(pod: &Value) -> String {
    let h = match s(pod, "/spec/hostname") {
        "" => s(pod, "/metadata/name"),
        h => h,
    };
    let cut = h.get(..63).unwrap_or(h);
    cut.trim_end_matches(['-', '.']).to_string()
}

/// `<subdomain>.<ns>.svc.cluster.local` when the pod has a subdomain.
pub fn pod_domain(pod: &Value) -> Option<String> {
    match s(pod, "/spec/subdomain") {
        "" => None,
        sub => Some(format!("{sub}.{}.svc.{CLUSTER_DOMAIN}", s(pod, "/metadata/namespace"))),
    }
}

fn quote(v: &str) -> String {
    crate::api::error::go_quote(v)
}

fn flag(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(v: &Value, ptr: &str) -> Vec<String> {
    env::arr(v, ptr).iter().filter_map(Value::as_str).map(str::to_string).collect()
}

fn label_value(l: BTreeMap<String, String>) -> Value {
    Value::Object(l.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// `POST /containers/create` body of the pod's sandbox.
pub fn sandbox_config(pod: &Value, ctx: &PodContext) -> Result<Value, ConvertError> {
    let spec = &pod["spec"];
    let host_network = flag(spec, "/hostNetwork");
    let mut labels = pod_labels(pod);
    labels.insert(labels::TYPE.into(), "podsandbox".into());
    labels.insert(labels::CONTAINER_NAME.into(), "POD".into());

    let mut cfg = Map::new();
    cfg.insert("Image".into(), json!(ctx.pause_image));
    if !host_network {
        let hostname = pod_hostname(pod);
        match pod_domain(pod) {
            Some(domain) if flag(spec, "/setHostnameAsFQDN") => {
                cfg.insert("Hostname".into(), json!(format!("{hostname}.{domain}")));
            }
            Some(domain) => {
                cfg.insert("Hostname".into(), json!(hostname));
                cfg.insert("Domainname".into(), json!(domain));
            }
            None => {
                cfg.insert("Hostname".into(), json!(hostname));
            }
        }
    }
    cfg.insert("Labels".into(), label_value(labels));

    let mut host = Map::new();
    host.insert("NetworkMode".into(), json!(if host_network { "host" } else { ctx.network }));
    // Other containers join the sandbox's IPC namespace, which Docker only allows
    // for a "shareable" donor.
    host.insert("IpcMode".into(), json!(if flag(spec, "/hostIPC") { "host" } else { "shareable" }));
    if flag(spec, "/hostPID") {
        host.insert("PidMode".into(), json!("host"));
    }
    if host_network {
        host.insert("UTSMode".into(), json!("host"));
    }
    host.insert("RestartPolicy".into(), json!({"Name": "no"}));

    // Ports: every containerPort is exposed (so `docker ps` shows them); those
    // with a hostPort are published, on the sandbox that owns the network.
    let mut exposed = Map::new();
    let mut bindings: Map<String, Value> = Map::new();
    for c in env::arr(spec, "/containers") {
        for p in env::arr(c, "/ports") {
            let Some(port) = p.get("containerPort").and_then(Value::as_i64) else { continue };
            let proto = match s(p, "/protocol") {
                "" => "tcp".to_string(),
                other => other.to_ascii_lowercase(),
            };
            let key = format!("{port}/{proto}");
            exposed.insert(key.clone(), json!({}));
            let host_port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port > 0 && !host_network {
                let entry = bindings.entry(key).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(
                        json!({"HostIp": s(p, "/hostIP"), "HostPort": host_port.to_string()}),
                    );
                }
            }
        }
    }
    if !exposed.is_empty() {
        cfg.insert("ExposedPorts".into(), Value::Object(exposed));
    }
    if !bindings.is_empty() {
        host.insert("PortBindings".into(), Value::Object(bindings));
    }

    // DNS: ClusterFirst/Default keep Docker's embedded resolver (it answers
    // aliases on the pods' network and forwards the rest to the host's);
    // dnsConfig adds to it, and dnsPolicy None uses dnsConfig alone.
    let dns = strings(spec, "/dnsConfig/nameservers");
    let search = strings(spec, "/dnsConfig/searches");
    let options: Vec<String> = env::arr(spec, "/dnsConfig/options")
        .iter()
        .map(|o| match o.get("value").and_then(Value::as_str) {
            Some(v) => format!("{}:{v}", s(o, "/name")),
            None => s(o, "/name").to_string(),
        })
        .collect();
    if !dns.is_empty() {
        host.insert("Dns".into(), json!(dns));
    }
    if !search.is_empty() {
        host.insert("DnsSearch".into(), json!(search));
    }
    if !options.is_empty() {
        host.insert("DnsOptions".into(), json!(options));
    }
    let extra_hosts: Vec<String> = env::arr(spec, "/hostAliases")
        .iter()
        .flat_map(|a| {
            let ip = s(a, "/ip").to_string();
            strings(a, "/hostnames").into_iter().map(move |h| format!("{h}:{ip}"))
        })
        .collect();
    if !extra_hosts.is_empty() {
        host.insert("ExtraHosts".into(), json!(extra_hosts));
    }
    let sysctls: Map<String, Value> = env::arr(spec, "/securityContext/sysctls")
        .iter()
        .map(|sc| (s(sc, "/name").to_string(), json!(s(sc, "/value"))))
        .collect();
    if !sysctls.is_empty() {
        host.insert("Sysctls".into(), Value::Object(sysctls));
    }
    cfg.insert("HostConfig".into(), Value::Object(host));

    if !host_network {
        // `<hostname>.<subdomain>` names come with the headless Service (pod_extra_aliases).
        let aliases = vec![s(pod, "/metadata/name").to_string()];
        let mut endpoints = Map::new();
        endpoints.insert(ctx.network.to_string(), json!({"Aliases": aliases}));
        cfg.insert("NetworkingConfig".into(), json!({"EndpointsConfig": endpoints}));
    }
    Ok(Value::Object(cfg))
}

/// Hash of a container's spec for [`CONTAINER_HASH`] (16 hex digits).
pub fn container_hash(container: &Value) -> String {
    let digest = Sha256::digest(container.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Kubernetes' `MilliCPUToShares`: 1024 shares per CPU, at least 2, at most 262144.
pub fn milli_cpu_to_shares(milli: i64) -> i64 {
    if milli <= 0 {
        return 2;
    }
    (milli.saturating_mul(1024) / 1000).clamp(2, 262_144)
}

/// A container's effective security setting: the container's own, else the pod's.
fn sec<'a>(pod: &'a Value, container: &'a Value, field: &str) -> Option<&'a Value> {
    container
        .pointer(&format!("/securityContext/{field}"))
        .filter(|v| !v.is_null())
        .or_else(|| pod.pointer(&format!("/spec/securityContext/{field}")).filter(|v| !v.is_null()))
}

/// `POST /containers/create` body of one container of the pod (`attempt` is its
/// restart count).
pub fn container_config(
    pod: &Value,
    container: &Value,
    kind: ContainerKind,
    attempt: u32,
    ctx: &PodContext,
) -> Result<Value, ConvertError> {
    let spec = &pod["spec"];
    let cname = s(container, "/name");
    let config_error =
        |message: String| ConvertError { reason: "CreateContainerConfigError", message };
    let env = env::container_env(pod, container, ctx)?;
    let lookup = |k: &str| env.get(k);

    let mut cfg = Map::new();
    cfg.insert("Image".into(), json!(s(container, "/image")));
    // command replaces the image's ENTRYPOINT (and then its CMD is not used),
    // args replace its CMD; unset lists stay unset so Docker keeps the image's.
    let command: Vec<String> =
        strings(container, "/command").iter().map(|a| env::expand(a, &lookup)).collect();
    let args: Vec<String> =
        strings(container, "/args").iter().map(|a| env::expand(a, &lookup)).collect();
    if !command.is_empty() {
        cfg.insert("Entrypoint".into(), json!(command));
    }
    if !args.is_empty() {
        cfg.insert("Cmd".into(), json!(args));
    }
    let wd = s(container, "/workingDir");
    if !wd.is_empty() {
        cfg.insert("WorkingDir".into(), json!(wd));
    }
    let env_list: Vec<String> = env.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !env_list.is_empty() {
        cfg.insert("Env".into(), json!(env_list));
    }

    // User: runAsUser[:runAsGroup], container settings over the pod's.
    let run_as_user = sec(pod, container, "runAsUser").and_then(Value::as_i64);
    let run_as_group = sec(pod, container, "runAsGroup").and_then(Value::as_i64);
    if sec(pod, container, "runAsNonRoot").and_then(Value::as_bool) == Some(true)
        && run_as_user == Some(0)
    {
        return Err(config_error(format!(
            "container's runAsUser breaks non-root policy (pod: \"{}_{}({})\", container: {cname})",
            s(pod, "/metadata/name"),
            s(pod, "/metadata/namespace"),
            s(pod, "/metadata/uid")
        )));
    }
    match (run_as_user, run_as_group) {
        (Some(u), Some(g)) => {
            cfg.insert("User".into(), json!(format!("{u}:{g}")));
        }
        (Some(u), None) => {
            cfg.insert("User".into(), json!(u.to_string()));
        }
        // Docker cannot combine the image's user with another group.
        (None, Some(_)) => {
            return Err(config_error("runAsGroup is specified without a runAsUser".into()));
        }
        (None, None) => {}
    }
    let stdin = flag(container, "/stdin");
    cfg.insert("Tty".into(), json!(flag(container, "/tty")));
    cfg.insert("OpenStdin".into(), json!(stdin));
    cfg.insert("StdinOnce".into(), json!(stdin && flag(container, "/stdinOnce")));
    cfg.insert("AttachStdin".into(), json!(stdin));

    let mut labels = pod_labels(pod);
    labels.insert(labels::TYPE.into(), "container".into());
    labels.insert(labels::CONTAINER_NAME.into(), cname.into());
    labels.insert(labels::CONTAINER_KIND.into(), kind.label().into());
    labels.insert(labels::RESTART_COUNT.into(), attempt.to_string());
    labels.insert(CONTAINER_HASH.into(), container_hash(container));
    cfg.insert("Labels".into(), label_value(labels));
    let grace = spec.get("terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    cfg.insert("StopTimeout".into(), json!(grace.max(0)));

    let mut host = Map::new();
    let sandbox = format!("container:{}", ctx.sandbox_id);
    let host_network = flag(spec, "/hostNetwork");
    host.insert("NetworkMode".into(), json!(if host_network { "host" } else { sandbox.as_str() }));
    host.insert(
        "IpcMode".into(),
        json!(if flag(spec, "/hostIPC") { "host" } else { sandbox.as_str() }),
    );
    if flag(spec, "/hostPID") {
        host.insert("PidMode".into(), json!("host"));
    } else if flag(spec, "/shareProcessNamespace") {
        host.insert("PidMode".into(), json!(sandbox));
    }
    if host_network {
        host.insert("UTSMode".into(), json!("host"));
    }
    host.insert("RestartPolicy".into(), json!({"Name": "no"}));
    host.insert("Init".into(), json!(false));

    // Resources, as the kubelet maps them to the container's cgroup.
    let quantity =
        |ptr: &str| container.pointer(ptr).and_then(Value::as_str).and_then(Quantity::parse);
    if let Some(mem) = quantity("/resources/limits/memory").filter(|q| q.is_positive()) {
        host.insert("Memory".into(), json!(mem.value()));
    }
    if let Some(mem) = quantity("/resources/requests/memory").filter(|q| q.is_positive()) {
        host.insert("MemoryReservation".into(), json!(mem.value()));
    }
    let cpu_limit = quantity("/resources/limits/cpu").unwrap_or_default();
    let cpu_request = quantity("/resources/requests/cpu").unwrap_or_default();
    if cpu_limit.is_positive() {
        // Kubernetes' smallest CFS quota is 1ms per 100ms period: 10 millicores.
        host.insert("NanoCpus".into(), json!(cpu_limit.milli_value().max(10) * 1_000_000));
    }
    let shares_from =
        if cpu_request.is_zero() && !cpu_limit.is_zero() { cpu_limit } else { cpu_request };
    host.insert("CpuShares".into(), json!(milli_cpu_to_shares(shares_from.milli_value())));

    // Security context.
    if sec(pod, container, "privileged").and_then(Value::as_bool) == Some(true) {
        host.insert("Privileged".into(), json!(true));
    }
    let caps = |which: &str| -> Vec<String> {
        strings(container, &format!("/securityContext/capabilities/{which}"))
            .iter()
            .map(|c| {
                let up = c.to_ascii_uppercase();
                up.strip_prefix("CAP_").map_or(up.clone(), str::to_string)
            })
            .collect()
    };
    let (cap_add, cap_drop) = (caps("add"), caps("drop"));
    if !cap_add.is_empty() {
        host.insert("CapAdd".into(), json!(cap_add));
    }
    if !cap_drop.is_empty() {
        host.insert("CapDrop".into(), json!(cap_drop));
    }
    if flag(container, "/securityContext/readOnlyRootFilesystem") {
        host.insert("ReadonlyRootfs".into(), json!(true));
    }
    if container.pointer("/securityContext/allowPrivilegeEscalation") == Some(&json!(false)) {
        host.insert("SecurityOpt".into(), json!(["no-new-privileges"]));
    }
    let mut groups: Vec<String> = env::arr(spec, "/securityContext/supplementalGroups")
        .iter()
        .filter_map(Value::as_i64)
        .map(|g| g.to_string())
        .collect();
    if let Some(fs_group) = spec.pointer("/securityContext/fsGroup").and_then(Value::as_i64) {
        let g = fs_group.to_string();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    if !groups.is_empty() {
        host.insert("GroupAdd".into(), json!(groups));
    }

    let (mounts, binds) = mounts(pod, container, &env, ctx)?;
    if !mounts.is_empty() {
        host.insert("Mounts".into(), json!(mounts));
    }
    if !binds.is_empty() {
        host.insert("Binds".into(), json!(binds));
    }
    cfg.insert("HostConfig".into(), Value::Object(host));
    Ok(Value::Object(cfg))
}

/// `HostConfig.Mounts` and `HostConfig.Binds` for a container's volumeMounts.
/// Binds are used where Docker should create a missing host directory
/// (hostPath, subPaths of Docker volumes), as the kubelet's dockershim did.
fn mounts(
    pod: &Value,
    container: &Value,
    env: &env::EnvList,
    ctx: &PodContext,
) -> Result<(Vec<Value>, Vec<String>), ConvertError> {
    let config_error =
        |message: String| ConvertError { reason: "CreateContainerConfigError", message };
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    for m in env::arr(container, "/volumeMounts") {
        let name = s(m, "/name");
        let target = s(m, "/mountPath");
        let vol = env::arr(pod, "/spec/volumes")
            .iter()
            .find(|v| s(v, "/name") == name)
            .ok_or_else(|| {
                config_error(format!(
                    "cannot find volume {} to mount into container {}",
                    quote(name),
                    quote(s(container, "/name"))
                ))
            })?;
        let sub_path = match (s(m, "/subPath"), s(m, "/subPathExpr")) {
            ("", "") => String::new(),
            ("", expr) => env::expand(expr, &|k| env.get(k)),
            (p, _) => p.to_string(),
        };
        if sub_path.starts_with('/') || sub_path.split('/').any(|c| c == "..") {
            return Err(config_error(format!("invalid subpath {}", quote(&sub_path))));
        }
        let read_only = flag(m, "/readOnly");
        let bind = |src: String, ro: bool| json!({"Type": "bind", "Source": src, "Target": target, "ReadOnly": ro});
        let ro_suffix = |ro: bool| if ro { ":ro" } else { "" };
        if ["configMap", "secret", "downwardAPI", "projected"].iter().any(|k| vol.get(*k).is_some())
        {
            // Always read-only, as in Kubernetes. A subPath binds the real file
            // under `..data` (so, as in Kubernetes, it does not see updates).
            let dir = (ctx.volume_dir)(name);
            let src = if sub_path.is_empty() { dir } else { dir.join("..data").join(&sub_path) };
            mounts.push(bind(src.to_string_lossy().into_owned(), true));
        } else if let Some(hp) = vol.get("hostPath") {
            let mut src = PathBuf::from(s(hp, "/path"));
            if !sub_path.is_empty() {
                src = src.join(&sub_path);
            }
            binds.push(format!("{}:{target}{}", src.to_string_lossy(), ro_suffix(read_only)));
        } else {
            let (docker_name, ro) = if vol.get("emptyDir").is_some() {
                (emptydir_volume_name(pod, name), read_only)
            } else if let Some(pvc) = vol.get("persistentVolumeClaim") {
                let ro = read_only || flag(pvc, "/readOnly");
                let claim = s(pvc, "/claimName");
                match ctx.env.claim_source(s(pod, "/metadata/namespace"), claim) {
                    Ok(ClaimSource::DockerVolume(v)) => (v, ro),
                    Ok(ClaimSource::HostPath(mut src)) => {
                        if !sub_path.is_empty() {
                            src = src.join(&sub_path);
                        }
                        binds.push(format!("{}:{target}{}", src.to_string_lossy(), ro_suffix(ro)));
                        continue;
                    }
                    Err(why) => {
                        return Err(config_error(format!(
                            "volume {} (claim {}): {why}",
                            quote(name),
                            quote(claim)
                        )));
                    }
                }
            } else {
                return Err(config_error(format!(
                    "volume {} has a type k2d cannot mount",
                    quote(name)
                )));
            };
            if sub_path.is_empty() {
                mounts.push(json!({"Type": "volume", "Source": docker_name, "Target": target, "ReadOnly": ro}));
            } else {
                let mp = ctx.env.volume_mountpoint(&docker_name).ok_or_else(|| {
                    config_error(format!(
                        "subPath {} of volume {}: the Docker volume {docker_name} has no known mountpoint",
                        quote(&sub_path),
                        quote(name)
                    ))
                })?;
                binds.push(format!(
                    "{}:{target}{}",
                    mp.join(&sub_path).to_string_lossy(),
                    ro_suffix(ro)
                ));
            }
        }
    }
    Ok((mounts, binds))
}

#[cfg(test)]
mod tests;
