use super::*;
use serde_json::json;
use std::collections::HashMap;

#[derive(Default)]
struct FakeEnv {
    configmaps: HashMap<String, Arc<Value>>,
    secrets: HashMap<String, Arc<Value>>,
    mountpoints: HashMap<String, PathBuf>,
    claims: HashMap<String, ClaimSource>,
}

impl PodEnv for FakeEnv {
    fn configmap(&self, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.configmaps.get(&format!("{namespace}/{name}")).cloned()
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.secrets.get(&format!("{namespace}/{name}")).cloned()
    }
    fn volume_mountpoint(&self, docker_name: &str) -> Option<PathBuf> {
        self.mountpoints.get(docker_name).cloned()
    }
    fn claim_source(&self, namespace: &str, claim: &str) -> Result<ClaimSource, String> {
        self.claims
            .get(&format!("{namespace}/{claim}"))
            .cloned()
            .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" is not bound"))
    }
}

fn fake_env() -> FakeEnv {
    let mut e = FakeEnv::default();
    e.claims
        .insert("demo/db-data".into(), ClaimSource::DockerVolume("k2d-pvc-demo-db-data".into()));
    e.claims.insert("demo/host-data".into(), ClaimSource::HostPath(PathBuf::from("/srv/pv")));
    e.configmaps.insert(
        "demo/app-config".into(),
        Arc::new(json!({"metadata": {"name": "app-config", "namespace": "demo"},
            "data": {"APP_MODE": "production", "nginx.conf": "server {}\n", "bad key": "x"},
            "binaryData": {"logo.bin": "AAEC"}})),
    );
    e.configmaps
        .insert("demo/extra".into(), Arc::new(json!({"data": {"COLOR": "blue", "SIZE": "L"}})));
    // "s3cr3t" and "admin"
    e.secrets.insert(
        "demo/app-secret".into(),
        Arc::new(json!({"data": {"password": "czNjcjN0", "username": "YWRtaW4="}})),
    );
    e
}

fn dir(name: &str) -> PathBuf {
    PathBuf::from(format!("/var/lib/k2d/pods/uid-1/volumes/{name}"))
}

fn ctx<'a>(env: &'a FakeEnv, volume_dir: &'a dyn Fn(&str) -> PathBuf) -> PodContext<'a> {
    PodContext {
        env,
        node_name: "edge-1",
        host_ip: "192.0.2.10",
        pod_ip: "172.18.0.5",
        sandbox_id: "sandbox123",
        pause_image: "k2d/pause:1",
        network: "k2d",
        volume_dir,
    }
}

fn pod(spec: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "demo", "uid": "0123456789abcdef",
            "labels": {"app": "web", "tier": "front"}, "annotations": {"note": "hi"}},
        "spec": spec
    })
}

fn two_containers() -> Value {
    pod(json!({
        "containers": [
            {"name": "app", "image": "nginx:1.27",
             "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                       {"containerPort": 53, "hostPort": 5353, "hostIP": "127.0.0.1", "protocol": "UDP"},
                       {"containerPort": 9090, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 1d"]}
        ],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "nodeName": "edge-1",
        "serviceAccountName": "default"
    }))
}

#[test]
fn names_carry_pod_identity() {
    let p = two_containers();
    assert_eq!(sandbox_name(&p), "k2d_POD_web_demo_01234567");
    assert_eq!(container_name(&p, "app", 3), "k2d_app_web_demo_01234567_3");
    assert_eq!(emptydir_volume_name(&p, "cache"), "k2d_web_demo_01234567_cache");
}

#[test]
fn two_containers_join_the_sandbox_which_publishes_host_ports() {
    let env = fake_env();
    let p = two_containers();
    let c = ctx(&env, &dir);
    let sb = sandbox_config(&p, &c).unwrap();
    assert_eq!(sb["Image"], "k2d/pause:1");
    assert_eq!(sb["Hostname"], "web");
    assert_eq!(sb["HostConfig"]["NetworkMode"], "k2d");
    assert_eq!(sb["HostConfig"]["IpcMode"], "shareable");
    assert_eq!(sb["HostConfig"]["RestartPolicy"], json!({"Name": "no"}));
    assert_eq!(
        sb["HostConfig"]["PortBindings"],
        json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]})
    );
    assert_eq!(sb["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}, "9090/tcp": {}}));
    assert_eq!(sb["NetworkingConfig"], json!({"EndpointsConfig": {"k2d": {"Aliases": ["web"]}}}));
    assert_eq!(sb["Labels"][labels::TYPE], "podsandbox");
    assert_eq!(sb["Labels"][labels::POD_UID], "0123456789abcdef");
    assert_eq!(sb["Labels"][labels::OWNER_KIND], "Pod");
    assert_eq!(sb["Labels"][labels::MANAGED], "true");
    assert!(sb["HostConfig"].get("Dns").is_none());

    for (i, kind) in [(0, ContainerKind::Regular), (1, ContainerKind::Regular)] {
        let cfg = container_config(&p, &p["spec"]["containers"][i], kind, 0, &c).unwrap();
        assert_eq!(cfg["HostConfig"]["NetworkMode"], "container:sandbox123");
        assert_eq!(cfg["HostConfig"]["IpcMode"], "container:sandbox123");
        assert!(cfg["HostConfig"].get("PortBindings").is_none());
        assert!(cfg.get("Hostname").is_none(), "Docker refuses a hostname in container: mode");
        assert_eq!(cfg["HostConfig"]["RestartPolicy"], json!({"Name": "no"}));
        assert_eq!(cfg["HostConfig"]["Init"], false);
        assert_eq!(cfg["Labels"][labels::TYPE], "container");
        assert_eq!(cfg["Labels"][labels::CONTAINER_KIND], "container");
        assert_eq!(cfg["StopTimeout"], 30);
    }
    let side =
        container_config(&p, &p["spec"]["containers"][1], ContainerKind::Regular, 2, &c).unwrap();
    assert_eq!(side["Labels"][labels::CONTAINER_NAME], "sidecar");
    assert_eq!(side["Labels"][labels::RESTART_COUNT], "2");
    assert_eq!(side["Entrypoint"], json!(["sh", "-c", "sleep 1d"]));
    assert!(side.get("Cmd").is_none(), "command alone drops the image's CMD via Entrypoint");
}

#[test]
fn container_hash_changes_with_the_image() {
    let a = json!({"name": "app", "image": "nginx:1.27"});
    let b = json!({"name": "app", "image": "nginx:1.28"});
    assert_eq!(container_hash(&a), container_hash(&a.clone()));
    assert_ne!(container_hash(&a), container_hash(&b));
    assert_eq!(container_hash(&a).len(), 16);
}

#[test]
fn owner_kind_is_the_controller() {
    let mut p = two_containers();
    p["metadata"]["ownerReferences"] = json!([
        {"kind": "Thing", "name": "x"},
        {"kind": "ReplicaSet", "name": "web-1", "controller": true}
    ]);
    assert_eq!(owner_kind(&p), "ReplicaSet");
}

#[test]
fn sandbox_hostname_domain_dns_sysctls_and_host_aliases() {
    let env = fake_env();
    let p = pod(json!({
        "containers": [{"name": "app", "image": "x"}],
        "hostname": "db-0", "subdomain": "db",
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["10.0.0.2"], "searches": ["corp.example"],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
        "hostAliases": [{"ip": "10.1.1.1", "hostnames": ["foo", "bar"]}],
        "securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]}
    }));
    let sb = sandbox_config(&p, &ctx(&env, &dir)).unwrap();
    assert_eq!(sb["Hostname"], "db-0");
    assert_eq!(sb["Domainname"], "db.demo.svc.cluster.local");
    assert_eq!(sb["HostConfig"]["Dns"], json!(["10.0.0.2"]));
    assert_eq!(sb["HostConfig"]["DnsSearch"], json!(["corp.example"]));
    assert_eq!(sb["HostConfig"]["DnsOptions"], json!(["ndots:2", "edns0"]));
    assert_eq!(sb["HostConfig"]["ExtraHosts"], json!(["foo:10.1.1.1", "bar:10.1.1.1"]));
    assert_eq!(sb["HostConfig"]["Sysctls"], json!({"net.core.somaxconn": "1024"}));
    assert_eq!(sb["NetworkingConfig"]["EndpointsConfig"]["k2d"]["Aliases"], json!(["web"]));
}

#[test]
fn long_pod_names_are_cut_to_a_valid_hostname() {
    let mut p = two_containers();
    let name = format!("{}-{}", "a".repeat(62), "b".repeat(10));
    p["metadata"]["name"] = json!(name);
    assert_eq!(pod_hostname(&p), "a".repeat(62));
}

#[test]
fn host_network_uses_the_host_everywhere() {
    let env = fake_env();
    let p = pod(json!({
        "hostNetwork": true, "hostPID": true,
        "containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}]}]
    }));
    let c = ctx(&env, &dir);
    let sb = sandbox_config(&p, &c).unwrap();
    assert_eq!(sb["HostConfig"]["NetworkMode"], "host");
    assert_eq!(sb["HostConfig"]["UTSMode"], "host");
    assert_eq!(sb["HostConfig"]["PidMode"], "host");
    assert!(sb.get("Hostname").is_none());
    assert!(sb.get("NetworkingConfig").is_none());
    assert!(sb["HostConfig"].get("PortBindings").is_none());
    let cfg =
        container_config(&p, &p["spec"]["containers"][0], ContainerKind::Regular, 0, &c).unwrap();
    assert_eq!(cfg["HostConfig"]["NetworkMode"], "host");
    assert_eq!(cfg["HostConfig"]["PidMode"], "host");
    assert_eq!(cfg["HostConfig"]["IpcMode"], "container:sandbox123");
}

#[test]
fn shared_process_namespace_joins_the_sandbox_pid() {
    let env = fake_env();
    let p =
        pod(json!({"shareProcessNamespace": true, "containers": [{"name": "a", "image": "x"}]}));
    let cfg =
        container_config(&p, &p["spec"]["containers"][0], ContainerKind::Init, 0, &ctx(&env, &dir))
            .unwrap();
    assert_eq!(cfg["HostConfig"]["PidMode"], "container:sandbox123");
    assert_eq!(cfg["Labels"][labels::CONTAINER_KIND], "initContainer");
}

fn env_of(cfg: &Value) -> Vec<String> {
    cfg["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn env_precedence_expansion_and_sources() {
    let env = fake_env();
    let p = pod(json!({
        "nodeName": "edge-1", "serviceAccountName": "app-sa",
        "containers": [{
            "name": "app", "image": "x",
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
            "envFrom": [{"configMapRef": {"name": "extra"}},
                        {"prefix": "CFG_", "configMapRef": {"name": "app-config"}},
                        {"secretRef": {"name": "app-secret"}},
                        {"configMapRef": {"name": "nope", "optional": true}}],
            "env": [
                {"name": "COLOR", "value": "red"},
                {"name": "GREETING", "value": "$(COLOR)-$(SIZE)-$(LATER)-$$(COLOR)"},
                {"name": "LATER", "value": "late"},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "APP_MODE"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}},
                {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "missing", "optional": true}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}},
                {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "IPS", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}},
                {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}}},
                {"name": "EMPTY"}
            ],
            "command": ["/bin/$(MODE)", "$(NOPE)"],
            "args": ["--color=$(COLOR)", "$$(COLOR)"]
        }]
    }));
    let cfg = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap();
    assert_eq!(
        env_of(&cfg),
        vec![
            "COLOR=red",
            "SIZE=L",
            "CFG_APP_MODE=production",
            "CFG_nginx.conf=server {}\n",
            "password=s3cr3t",
            "username=admin",
            // $(LATER) is defined after GREETING, so it stays unexpanded.
            "GREETING=red-L-$(LATER)-$(COLOR)",
            "LATER=late",
            "MODE=production",
            "PASS=s3cr3t",
            "POD=web",
            "NS=demo",
            "UID=0123456789abcdef",
            "TIER=front",
            "NOTE=hi",
            "NODE=edge-1",
            "SA=app-sa",
            "IP=172.18.0.5",
            "IPS=172.18.0.5",
            "HOST=192.0.2.10",
            "CPU=500",
            "MEM=64",
            "EMPTY=",
        ]
    );
    // "bad key" (not an env var name) is skipped; an optional missing key leaves no var.
    assert!(!env_of(&cfg).iter().any(|e| e.starts_with("CFG_bad") || e.starts_with("OPT=")));
    assert_eq!(cfg["Entrypoint"], json!(["/bin/production", "$(NOPE)"]));
    assert_eq!(cfg["Cmd"], json!(["--color=red", "$(COLOR)"]));
}

fn env_error(env_entry: Value) -> ConvertError {
    let env = fake_env();
    let p = pod(json!({"containers": [{"name": "app", "image": "x", "env": [env_entry]}]}));
    container_config(&p, &p["spec"]["containers"][0], ContainerKind::Regular, 0, &ctx(&env, &dir))
        .unwrap_err()
}

#[test]
fn missing_references_fail_like_the_kubelet() {
    let e = env_error(
        json!({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "k"}}}),
    );
    assert_eq!(e.reason, "CreateContainerConfigError");
    assert_eq!(e.message, "couldn't find key k in ConfigMap demo/app-config");
    let e = env_error(
        json!({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "k"}}}),
    );
    assert_eq!(e.message, "configmap \"x\" not found");
    let e =
        env_error(json!({"name": "A", "valueFrom": {"secretKeyRef": {"name": "x", "key": "k"}}}));
    assert_eq!(e.message, "secret \"x\" not found");
    let e = env_error(
        json!({"name": "A", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "k"}}}),
    );
    assert_eq!(e.message, "couldn't find key k in Secret demo/app-secret");
    let e = env_error(json!({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}));
    assert_eq!(e.message, "unsupported fieldPath: spec.bogus");

    let env = fake_env();
    let p = pod(
        json!({"containers": [{"name": "app", "image": "x", "envFrom": [{"secretRef": {"name": "gone"}}]}]}),
    );
    let e = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap_err();
    assert_eq!(e.message, "secret \"gone\" not found");
    // Optional missing sources are fine.
    let p = pod(json!({"containers": [{"name": "app", "image": "x",
        "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": true}}}]}]}));
    let cfg = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap();
    assert!(cfg.get("Env").is_none());
}

#[test]
fn args_alone_keep_the_image_entrypoint() {
    let env = fake_env();
    let p = pod(
        json!({"containers": [{"name": "a", "image": "x", "args": ["serve"], "workingDir": "/srv"}]}),
    );
    let cfg = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap();
    assert!(cfg.get("Entrypoint").is_none());
    assert_eq!(cfg["Cmd"], json!(["serve"]));
    assert_eq!(cfg["WorkingDir"], "/srv");
}

#[test]
fn resources_map_to_docker_fields() {
    let env = fake_env();
    let c = ctx(&env, &dir);
    let p = pod(json!({"containers": [
        {"name": "a", "image": "x", "resources": {"limits": {"cpu": "1500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}},
        {"name": "b", "image": "x"},
        {"name": "c", "image": "x", "resources": {"limits": {"cpu": "2"}}},
        {"name": "d", "image": "x", "resources": {"limits": {"cpu": "1m"}}}
    ]}));
    let cfg = |i: usize| {
        container_config(&p, &p["spec"]["containers"][i], ContainerKind::Regular, 0, &c).unwrap()
    };
    let a = cfg(0);
    assert_eq!(a["HostConfig"]["Memory"], 134_217_728);
    assert_eq!(a["HostConfig"]["MemoryReservation"], 67_108_864);
    assert_eq!(a["HostConfig"]["NanoCpus"], 1_500_000_000i64);
    assert_eq!(a["HostConfig"]["CpuShares"], 102);
    let b = cfg(1);
    assert!(b["HostConfig"].get("Memory").is_none());
    assert!(b["HostConfig"].get("NanoCpus").is_none());
    assert_eq!(b["HostConfig"]["CpuShares"], 2);
    // No request: shares follow the limit.
    assert_eq!(cfg(2)["HostConfig"]["CpuShares"], 2048);
    // Below Kubernetes' minimum quota (10m).
    assert_eq!(cfg(3)["HostConfig"]["NanoCpus"], 10_000_000);
    assert_eq!(milli_cpu_to_shares(0), 2);
    assert_eq!(milli_cpu_to_shares(1), 2);
    assert_eq!(milli_cpu_to_shares(1000), 1024);
    assert_eq!(milli_cpu_to_shares(1_000_000), 262_144);
}

#[test]
fn security_context() {
    let env = fake_env();
    let c = ctx(&env, &dir);
    let p = pod(json!({
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000, 2000]},
        "containers": [
            {"name": "a", "image": "x", "tty": true, "stdin": true, "stdinOnce": true,
             "securityContext": {"runAsUser": 1001, "privileged": true, "readOnlyRootFilesystem": true,
               "allowPrivilegeEscalation": false,
               "capabilities": {"add": ["NET_ADMIN", "CAP_SYS_TIME"], "drop": ["all"]}}},
            {"name": "b", "image": "x"}
        ]
    }));
    let a =
        container_config(&p, &p["spec"]["containers"][0], ContainerKind::Regular, 0, &c).unwrap();
    assert_eq!(a["User"], "1001:3000");
    assert_eq!(a["HostConfig"]["Privileged"], true);
    assert_eq!(a["HostConfig"]["ReadonlyRootfs"], true);
    assert_eq!(a["HostConfig"]["CapAdd"], json!(["NET_ADMIN", "SYS_TIME"]));
    assert_eq!(a["HostConfig"]["CapDrop"], json!(["ALL"]));
    assert_eq!(a["HostConfig"]["SecurityOpt"], json!(["no-new-privileges"]));
    assert_eq!(a["HostConfig"]["GroupAdd"], json!(["4000", "2000"]));
    assert_eq!(
        (
            a["Tty"].clone(),
            a["OpenStdin"].clone(),
            a["StdinOnce"].clone(),
            a["AttachStdin"].clone()
        ),
        (json!(true), json!(true), json!(true), json!(true))
    );
    let b =
        container_config(&p, &p["spec"]["containers"][1], ContainerKind::Regular, 0, &c).unwrap();
    assert_eq!(b["User"], "1000:3000");
    assert!(b["HostConfig"].get("Privileged").is_none());
    assert_eq!(b["Tty"], false);
    assert_eq!(b["OpenStdin"], false);

    let p = pod(json!({"securityContext": {"runAsNonRoot": true}, "containers": [
        {"name": "a", "image": "x", "securityContext": {"runAsUser": 0}}]}));
    let e = container_config(&p, &p["spec"]["containers"][0], ContainerKind::Regular, 0, &c)
        .unwrap_err();
    assert_eq!(e.reason, "CreateContainerConfigError");
    assert_eq!(
        e.message,
        "container's runAsUser breaks non-root policy (pod: \"web_demo(0123456789abcdef)\", container: a)"
    );
    let p = pod(
        json!({"containers": [{"name": "a", "image": "x", "securityContext": {"runAsGroup": 5}}]}),
    );
    assert!(
        container_config(&p, &p["spec"]["containers"][0], ContainerKind::Regular, 0, &c).is_err()
    );
}

fn volume_pod() -> Value {
    pod(json!({
        "volumes": [
            {"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
            {"name": "items", "configMap": {"name": "app-config", "defaultMode": 0o400,
                "items": [{"key": "nginx.conf", "path": "conf/default.conf"},
                          {"key": "APP_MODE", "path": "mode", "mode": 0o600}]}},
            {"name": "creds", "secret": {"secretName": "app-secret", "defaultMode": 0o440}},
            {"name": "info", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "./name", "fieldRef": {"fieldPath": "metadata.name"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}}]}},
            {"name": "all", "projected": {"defaultMode": 0o444, "sources": [
                {"configMap": {"name": "extra"}},
                {"secret": {"name": "app-secret", "items": [{"key": "username", "path": "user"}]}},
                {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "host", "hostPath": {"path": "/srv/data", "type": ""}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "db-data", "readOnly": true}},
            {"name": "opt", "configMap": {"name": "nope", "optional": true}}
        ],
        "containers": [{
            "name": "app", "image": "x",
            "resources": {"limits": {"memory": "128Mi"}},
            "env": [{"name": "SUB", "value": "logs"}],
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/nginx/conf.d"},
                {"name": "config", "mountPath": "/etc/app/mode", "subPath": "APP_MODE"},
                {"name": "creds", "mountPath": "/creds", "readOnly": false},
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "scratch", "mountPath": "/logs", "subPathExpr": "$(SUB)"},
                {"name": "shm", "mountPath": "/dev/shm"},
                {"name": "host", "mountPath": "/data", "readOnly": true},
                {"name": "host", "mountPath": "/sub", "subPath": "a/b"},
                {"name": "data", "mountPath": "/db"}
            ]
        }]
    }))
}

fn files(pairs: &[(&str, &[u8], u32)]) -> BTreeMap<String, (Vec<u8>, u32)> {
    pairs.iter().map(|(k, v, m)| (k.to_string(), (v.to_vec(), *m))).collect()
}

#[test]
fn every_volume_type() {
    let env = fake_env();
    let p = volume_pod();
    let actions = volumes(&p, &env).unwrap();
    assert_eq!(actions.len(), 10);
    let projected = |i: usize| match &actions[i] {
        VolumeAction::Projected { files, .. } => files.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        projected(0),
        files(&[
            ("APP_MODE", b"production", 0o644),
            ("bad key", b"x", 0o644),
            ("logo.bin", &[0, 1, 2], 0o644),
            ("nginx.conf", b"server {}\n", 0o644),
        ])
    );
    assert_eq!(
        projected(1),
        files(&[("conf/default.conf", b"server {}\n", 0o400), ("mode", b"production", 0o600)])
    );
    assert_eq!(
        projected(2),
        files(&[("password", b"s3cr3t", 0o440), ("username", b"admin", 0o440)])
    );
    assert_eq!(
        projected(3),
        files(&[
            ("labels", b"app=\"web\"\ntier=\"front\"", 0o644),
            ("mem", b"128", 0o644),
            ("name", b"web", 0o644),
        ])
    );
    assert_eq!(
        projected(4),
        files(&[
            ("COLOR", b"blue", 0o444),
            ("SIZE", b"L", 0o444),
            ("ns", b"demo", 0o444),
            ("user", b"admin", 0o440)
        ])
    );
    match &actions[5] {
        VolumeAction::DockerVolume { volume, docker_name, labels: l, driver_opts } => {
            assert_eq!(volume, "scratch");
            assert_eq!(docker_name, "k2d_web_demo_01234567_scratch");
            assert_eq!(l[labels::POD_UID], "0123456789abcdef");
            assert_eq!(l[volumes::VOLUME_LABEL], "scratch");
            assert!(driver_opts.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match &actions[6] {
        VolumeAction::DockerVolume { driver_opts, .. } => assert_eq!(
            driver_opts,
            &[("device", "tmpfs"), ("o", "size=67108864"), ("type", "tmpfs")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(actions[7], VolumeAction::None);
    // A claim's Docker volume is the storage controller's to create (with
    // the labels its reclaim checks); the pod only mounts it.
    assert_eq!(actions[8], VolumeAction::None);
    assert_eq!(projected(9), BTreeMap::new());
}

#[test]
fn mounts_for_every_volume_type() {
    let mut env = fake_env();
    env.mountpoints.insert(
        "k2d_web_demo_01234567_scratch".into(),
        PathBuf::from("/var/lib/docker/volumes/k2d_web_demo_01234567_scratch/_data"),
    );
    let p = volume_pod();
    let cfg = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap();
    assert_eq!(
        cfg["HostConfig"]["Mounts"],
        json!([
            {"Type": "bind", "Source": "/var/lib/k2d/pods/uid-1/volumes/config", "Target": "/etc/nginx/conf.d", "ReadOnly": true},
            {"Type": "bind", "Source": "/var/lib/k2d/pods/uid-1/volumes/config/..data/APP_MODE", "Target": "/etc/app/mode", "ReadOnly": true},
            {"Type": "bind", "Source": "/var/lib/k2d/pods/uid-1/volumes/creds", "Target": "/creds", "ReadOnly": true},
            {"Type": "volume", "Source": "k2d_web_demo_01234567_scratch", "Target": "/scratch", "ReadOnly": false},
            {"Type": "volume", "Source": "k2d_web_demo_01234567_shm", "Target": "/dev/shm", "ReadOnly": false},
            {"Type": "volume", "Source": "k2d-pvc-demo-db-data", "Target": "/db", "ReadOnly": true}
        ])
    );
    assert_eq!(
        cfg["HostConfig"]["Binds"],
        json!([
            "/var/lib/docker/volumes/k2d_web_demo_01234567_scratch/_data/logs:/logs",
            "/srv/data:/data:ro",
            "/srv/data/a/b:/sub"
        ])
    );
    // Without a known mountpoint a subPath of a Docker volume cannot be mounted.
    let env = fake_env();
    let e = container_config(
        &p,
        &p["spec"]["containers"][0],
        ContainerKind::Regular,
        0,
        &ctx(&env, &dir),
    )
    .unwrap_err();
    assert_eq!(e.reason, "CreateContainerConfigError");
}

#[test]
fn volume_errors_read_like_failed_mount_events() {
    let env = fake_env();
    let with = |vol: Value| volumes(&pod(json!({"volumes": [vol], "containers": []})), &env);
    let e = with(json!({"name": "cfg", "configMap": {"name": "missing"}})).unwrap_err();
    assert_eq!(e.reason, "FailedMount");
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"missing\" not found"
    );
    let e = with(json!({"name": "cfg", "configMap": {"name": "app-config", "items": [{"key": "nope", "path": "x"}]}})).unwrap_err();
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"cfg\" : configmap references non-existent config key: nope"
    );
    // optional: missing keys are skipped.
    let ok = with(json!({"name": "cfg", "configMap": {"name": "app-config", "optional": true, "items": [{"key": "nope", "path": "x"}]}})).unwrap();
    assert_eq!(ok[0], VolumeAction::Projected { volume: "cfg".into(), files: BTreeMap::new() });
    let e = with(json!({"name": "s", "secret": {"secretName": "missing"}})).unwrap_err();
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"s\" : secret \"missing\" not found"
    );
    let e = with(json!({"name": "s", "secret": {"secretName": "app-secret", "items": [{"key": "k", "path": "k"}]}})).unwrap_err();
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"s\" : references non-existent secret key: k"
    );
    let e = with(json!({"name": "p", "projected": {"sources": [
        {"configMap": {"name": "m1"}}, {"secret": {"name": "m2"}}]}}))
    .unwrap_err();
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"p\" : [configmap \"m1\" not found, secret \"m2\" not found]"
    );
    // Paths never leave the volume directory.
    let e = with(json!({"name": "cfg", "configMap": {"name": "app-config", "items": [{"key": "APP_MODE", "path": "../../etc/passwd"}]}})).unwrap_err();
    assert!(e.message.contains("must be a relative path"), "{}", e.message);
    let e = with(json!({"name": "n", "nfs": {"server": "x", "path": "/"}})).unwrap_err();
    assert_eq!(
        e.message,
        "MountVolume.SetUp failed for volume \"n\" : volume type nfs is not supported by k2d"
    );
}

#[test]
fn claims_mount_what_their_volume_is() {
    let mut p = volume_pod();
    p["spec"]["volumes"] = json!([
        {"name": "host", "persistentVolumeClaim": {"claimName": "host-data"}},
        {"name": "unbound", "persistentVolumeClaim": {"claimName": "later"}}
    ]);
    p["spec"]["containers"][0]["volumeMounts"] = json!([
        {"name": "host", "mountPath": "/h"},
        {"name": "host", "mountPath": "/hs", "subPath": "x", "readOnly": true}
    ]);
    let env = fake_env();
    let c = &p["spec"]["containers"][0];
    let cfg = container_config(&p, c, ContainerKind::Regular, 0, &ctx(&env, &dir)).unwrap();
    assert_eq!(cfg["HostConfig"]["Binds"], json!(["/srv/pv:/h", "/srv/pv/x:/hs:ro"]));
    // An unbound claim is a FailedMount naming why.
    let e = volumes(&p, &env).unwrap_err();
    assert_eq!(e.reason, "FailedMount");
    assert!(e.message.contains("\"later\" is not bound"), "{}", e.message);
    p["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "unbound", "mountPath": "/u"}]);
    let c = &p["spec"]["containers"][0];
    let e = container_config(&p, c, ContainerKind::Regular, 0, &ctx(&env, &dir)).unwrap_err();
    assert_eq!(e.reason, "CreateContainerConfigError");
}
