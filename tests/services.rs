//! Issue 4, Services, with real kubectl and real Docker: traffic through the
//! per-Service proxy (in-cluster by every DNS form, across namespaces, and
//! from the host on the node port), Endpoints, headless names, `kubectl
//! expose`, and cleanup. Needs `scripts/test-image.sh` (k2d-test/busybox:1).

mod common;

use common::{DEFAULT, K2d, eventually, shared, unique};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

const IMAGE: &str = "k2d-test/busybox:1";
const SLOW: Duration = Duration::from_secs(60);

/// A pod labelled `app=<app>` serving its own hostname on port 8080 (named `http`).
fn web_pod(name: &str, app: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{{name: http, containerPort: 8080}}]
---
"#
    )
}

/// A run-once client pod running `script`; its log is the answer.
fn client_pod(name: &str, script: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", {script:?}]
"#
    )
}

fn get(k: &K2d, ns: &str, what: &str, path: &str) -> String {
    let out = k.kubectl(DEFAULT, &["-n", ns, "get", what, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Wait until the Endpoints of `svc` list exactly `n` ready addresses.
fn wait_endpoints(k: &K2d, ns: &str, svc: &str, n: usize) -> Vec<String> {
    eventually(&format!("{n} endpoints of {ns}/{svc}"), SLOW, || {
        let ips = get(k, ns, &format!("endpoints/{svc}"), "{.subsets[*].addresses[*].ip}");
        let ips: Vec<String> = ips.split_whitespace().map(str::to_string).collect();
        (ips.len() == n).then_some(ips)
    })
}

/// Run a client pod to completion and return its log.
fn run_client(k: &K2d, ns: &str, name: &str, script: &str) -> String {
    k.ok_stdin(DEFAULT, &["-n", ns, "apply", "-f", "-"], &client_pod(name, script));
    eventually(&format!("client {ns}/{name} to finish"), SLOW, || {
        let phase = get(k, ns, &format!("pod/{name}"), "{.status.phase}");
        matches!(phase.as_str(), "Succeeded" | "Failed").then_some(())
    });
    k.ok(DEFAULT, &["-n", ns, "logs", name])
}

/// `n` plain HTTP GETs of `/` on the host port; the bodies, trimmed.
fn host_gets(port: u16, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                return String::new();
            };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            if s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").is_err() {
                return String::new();
            }
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_string()
        })
        .collect()
}

/// A namespace name unique across test runs too: a run killed halfway leaves
/// its containers (and their DNS names) behind in Docker.
fn ns_name(prefix: &str) -> String {
    unique(&format!("{prefix}-{}", std::process::id()))
}

/// Deletes the namespace and waits (up to a minute) until Docker holds none
/// of its containers, so the shared k2d being killed at exit leaves nothing.
struct Cleanup<'a>(&'a K2d, String);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.kubectl(DEFAULT, &["delete", "namespace", &self.1, "--wait=false"]);
        let deadline = std::time::Instant::now() + SLOW;
        while std::time::Instant::now() < deadline {
            let left = docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("label=io.kubernetes.pod.namespace={}", self.1),
            ]);
            if left.trim().is_empty() && proxies_of(&self.1).trim().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("running docker");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn proxies_of(ns: &str) -> String {
    docker(&["ps", "-aq", "--filter", &format!("label=k2d.io/service-namespace={ns}")])
}

/// The network endpoint of each sandbox of `ns`: a reconnect changes it.
fn endpoint_ids(ns: &str) -> BTreeSet<String> {
    let ids = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=io.kubernetes.pod.namespace={ns}"),
        "--filter",
        "label=io.kubernetes.docker.type=podsandbox",
    ]);
    ids.split_whitespace()
        .map(|id| {
            docker(&["inspect", id, "--format", "{{.NetworkSettings.Networks.k2d.EndpointID}}"])
                .trim()
                .to_string()
        })
        .collect()
}

fn set(lines: &str) -> BTreeSet<String> {
    lines.split_whitespace().map(str::to_string).collect()
}

#[test]
fn traffic_spreads_over_all_pods_by_every_name_and_from_the_host() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-web"));
    let other = k.namespace(&ns_name("svc-client"));
    let _gone = (Cleanup(k, ns.name.clone()), Cleanup(k, other.name.clone()));
    let n = &ns.name;
    // A three-replica Deployment of the web pod.
    let template = web_pod("x", "web");
    let pod_spec = template.split_once("spec:\n").map(|(_, spec)| spec).unwrap_or_default();
    let pod_spec = pod_spec.trim_end_matches("---\n").replace("\n", "\n    ");
    let mut manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n    {pod_spec}\n---\n"
    );
    manifest.push_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: http}]\n",
    );
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &manifest);
    wait_endpoints(k, n, "web", 3);
    let pods = set(&get(k, n, "pods", "{.items[*].metadata.name}"));
    assert_eq!(pods.len(), 3, "{pods:?}");

    let script = format!(
        "for name in web web.{n} web.{n}.svc web.{n}.svc.cluster.local; do for i in 1 2 3 4 5 6; do echo \"$name $(timeout 5 wget -qO- $name)\"; done; done"
    );
    let log = run_client(k, n, "client", &script);
    for name in ["web".to_string(), format!("web.{n}"), format!("web.{n}.svc.cluster.local")] {
        let seen: BTreeSet<String> = log
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(str::to_string)
            .collect();
        assert_eq!(seen, pods, "answers for {name}: {log}");
    }

    // Another namespace reaches it as web.<ns>; a bare `web` there is not this
    // Service (it may meet a pod named `web`: pods' own names are aliases).
    let log = run_client(
        k,
        &other.name,
        "client",
        &format!(
            "for i in 1 2 3 4 5 6; do echo \"ns $(timeout 5 wget -qO- web.{n})\"; done; echo \"bare $(timeout 5 wget -qO- web 2>/dev/null)\""
        ),
    );
    let seen: BTreeSet<String> =
        log.lines().filter_map(|l| l.strip_prefix("ns ")).map(str::to_string).collect();
    assert_eq!(seen, pods, "{log}");
    let bare = log.lines().find_map(|l| l.strip_prefix("bare")).unwrap_or("").trim();
    assert!(!pods.contains(bare), "a bare `web` reached {bare} from another namespace: {log}");

    // The node port on the host, spread too.
    let np: u16 = get(k, n, "svc/web", "{.spec.ports[0].nodePort}").parse().expect("a node port");
    assert!((30000..=32767).contains(&np));
    let seen: BTreeSet<String> = eventually("the node port to answer", SLOW, || {
        let got: BTreeSet<String> = host_gets(np, 6).into_iter().collect();
        (got == pods).then_some(got)
    });
    assert_eq!(seen, pods);

    let describe = k.ok(DEFAULT, &["-n", n, "describe", "svc", "web"]);
    assert!(describe.contains("Endpoints:") && describe.contains(":8080"), "{describe}");
    let slices =
        k.ok(DEFAULT, &["-n", n, "get", "endpointslices", "-l", "kubernetes.io/service-name=web"]);
    assert!(slices.contains("8080") && slices.contains("IPv4"), "{slices}");
}

#[test]
fn services_before_after_and_changed_end_the_same() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-order"));
    let n = &ns.name;
    let _gone = Cleanup(k, n.clone());
    // Before its pods.
    k.ok_stdin(
        DEFAULT,
        &["-n", n, "apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: early}\nspec:\n  type: NodePort\n  selector: {app: a}\n  ports: [{port: 80, targetPort: 8080}]\n",
    );
    let mut pods = String::new();
    for (p, app) in [("a-1", "a"), ("a-2", "a"), ("b-1", "b")] {
        pods.push_str(&web_pod(p, app));
    }
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &pods);
    wait_endpoints(k, n, "early", 2);
    // After its pods.
    k.ok(DEFAULT, &["-n", n, "create", "service", "nodeport", "late", "--tcp=80:8080"]);
    k.ok(DEFAULT, &["-n", n, "set", "selector", "svc", "late", "app=a"]);
    wait_endpoints(k, n, "late", 2);
    let early = get(k, n, "endpoints/early", "{.subsets[*].addresses[*].ip}");
    let late = get(k, n, "endpoints/late", "{.subsets[*].addresses[*].ip}");
    assert_eq!(set(&early), set(&late));
    let np: u16 = get(k, n, "svc/early", "{.spec.ports[0].nodePort}").parse().unwrap();
    eventually("early to reach a-1 and a-2", SLOW, || {
        (host_gets(np, 4).into_iter().collect::<BTreeSet<_>>() == set("a-1 a-2")).then_some(())
    });

    // Changed later: another selector and another service port.
    k.ok(
        DEFAULT,
        &["-n", n, "patch", "svc", "early", "--type=json", "-p",
          r#"[{"op":"replace","path":"/spec/selector","value":{"app":"b"}},{"op":"replace","path":"/spec/ports/0/port","value":81}]"#],
    );
    wait_endpoints(k, n, "early", 1);
    assert_eq!(
        get(k, n, "svc/early", "{.spec.ports[0].nodePort}"),
        np.to_string(),
        "node port kept"
    );
    eventually("early to reach b-1 only", SLOW, || {
        (host_gets(np, 3).into_iter().collect::<BTreeSet<_>>() == set("b-1")).then_some(())
    });
}

#[test]
fn expose_headless_and_deletion() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-misc"));
    let n = &ns.name;
    let _gone = Cleanup(k, n.clone());
    // db-2 is StatefulSet-shaped: it has its own name under the headless Service.
    let db2 = web_pod("db-2", "db").replace(
        "spec:\n  terminationGracePeriodSeconds",
        "spec:\n  hostname: db-0\n  subdomain: db\n  terminationGracePeriodSeconds",
    );
    assert!(db2.contains("subdomain: db"));
    let pods = format!("{}{db2}", web_pod("db-1", "db"));
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &pods);
    k.ok_stdin(
        DEFAULT,
        &["-n", n, "apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  clusterIP: None\n  selector: {app: db}\n  ports: [{port: 8080}]\n",
    );
    wait_endpoints(k, n, "db", 2);
    eventually("db-1 running", SLOW, || {
        (get(k, n, "pod/db-1", "{.status.phase}") == "Running").then_some(())
    });
    k.ok(
        DEFAULT,
        &["-n", n, "expose", "pod", "db-1", "--name=one", "--port=81", "--target-port=8080"],
    );
    assert_eq!(get(k, n, "svc/one", "{.spec.selector.app}"), "db");
    wait_endpoints(k, n, "one", 2);

    // Headless: the name answers with the pods' own addresses.
    let log = run_client(
        k,
        n,
        "client",
        &format!(
            "nslookup db.{n}.svc.cluster.local; echo; timeout 5 wget -qO- one:81; for h in db-0.db db-0.db.{n}.svc.cluster.local; do echo \"$h $(timeout 5 wget -qO- $h:8080)\"; done"
        ),
    );
    for h in ["db-0.db".to_string(), format!("db-0.db.{n}.svc.cluster.local")] {
        assert!(log.contains(&format!("{h} db-0")), "{h} did not reach db-2: {log}");
    }
    let ips = wait_endpoints(k, n, "db", 2);
    for ip in &ips {
        assert!(log.contains(ip.as_str()), "headless answer lacks {ip}: {log}");
    }
    assert!(log.contains("db-1") || log.contains("db-2"), "{log}");
    assert!(!proxies_of(n).trim().is_empty(), "`one` has a proxy");

    // Deleting Services removes their proxy; the headless names stay on the
    // running pods (removing them would cut the pods' connections).
    let before = endpoint_ids(n);
    k.ok(DEFAULT, &["-n", n, "delete", "svc", "one", "db"]);
    eventually("no proxy left", SLOW, || proxies_of(n).trim().is_empty().then_some(()));
    eventually("endpoints of db gone", SLOW, || {
        (!k.kubectl(DEFAULT, &["-n", n, "get", "endpoints", "db"]).status.success()).then_some(())
    });
    assert_eq!(endpoint_ids(n), before, "pods were reconnected");
    assert!(!k.kubectl(DEFAULT, &["-n", n, "get", "endpoints", "db"]).status.success());
}

#[test]
fn taken_node_ports_are_refused_and_namespace_deletion_cleans_up() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-np"));
    let n = ns.name.clone();
    let svc = |name: &str, port: u16| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: NodePort\n  selector: {{app: x}}\n  ports: [{{port: 80, nodePort: {port}}}]\n"
        )
    };
    // A port in range, picked so parallel test runs rarely collide.
    let port = 30000 + (std::process::id() % 2700) as u16;
    k.ok_stdin(DEFAULT, &["-n", &n, "apply", "-f", "-"], &svc("first", port));
    let err = k.fails_stdin(DEFAULT, &["-n", &n, "apply", "-f", "-"], &svc("second", port));
    assert!(
        err.contains(&format!(
            "spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated"
        )),
        "{err}"
    );
    k.ok_stdin(DEFAULT, &["-n", &n, "apply", "-f", "-"], &web_pod("x-1", "x"));
    wait_endpoints(k, &n, "first", 1);
    eventually("the proxy of first", SLOW, || (!proxies_of(&n).trim().is_empty()).then_some(()));
    drop(ns);
    eventually("namespace gone from Docker", SLOW, || {
        let left =
            docker(&["ps", "-aq", "--filter", &format!("label=io.kubernetes.pod.namespace={n}")]);
        (proxies_of(&n).trim().is_empty() && left.trim().is_empty()).then_some(())
    });
}

#[test]
fn a_terminating_pod_behind_a_headless_service_keeps_its_network() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-term"));
    let n = &ns.name;
    let _gone = Cleanup(k, n.clone());
    // Ignores SIGTERM, so it stays in its grace period.
    let pod = web_pod("slow", "slow")
        .replace("terminationGracePeriodSeconds: 0", "terminationGracePeriodSeconds: 6")
        .replace("exec httpd", "trap '' TERM; httpd");
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: slow}\nspec:\n  clusterIP: None\n  selector: {app: slow}\n  ports: [{port: 8080}]\n---\n";
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &format!("{svc}{pod}"));
    wait_endpoints(k, n, "slow", 1);
    let before = endpoint_ids(n);
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(!before.iter().next().unwrap().is_empty(), "{before:?}");
    k.ok(DEFAULT, &["-n", n, "delete", "pod", "slow", "--wait=false"]);
    eventually("the pod to be terminating", SLOW, || {
        (!get(k, n, "pod/slow", "{.metadata.deletionTimestamp}").is_empty()).then_some(())
    });
    // Through most of the grace period the sandbox stays on the network as it was.
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(500));
        let now = endpoint_ids(n);
        if now.is_empty() {
            break; // gone already
        }
        assert_eq!(now, before, "a terminating pod was reconnected");
    }
    let slice = k.ok(
        DEFAULT,
        &[
            "-n",
            n,
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=slow",
            "-o",
            "jsonpath={.items[0].endpoints[0].conditions}",
        ],
    );
    assert!(slice.is_empty() || slice.contains(r#""terminating":true"#), "{slice}");
}

#[test]
fn a_second_load_balancer_on_a_taken_port_says_so_and_stays_pending() {
    let k = shared();
    let ns = k.namespace(&ns_name("svc-lb"));
    let n = &ns.name;
    let _gone = Cleanup(k, n.clone());
    let port = 20000 + (std::process::id() % 5000) as u16;
    let lb = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: LoadBalancer\n  selector: {{app: lb}}\n  ports: [{{port: {port}, targetPort: 8080}}]\n---\n"
        )
    };
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &lb("first"));
    eventually("first to get its ingress", SLOW, || {
        (!get(k, n, "svc/first", "{.status.loadBalancer.ingress[0].ip}").is_empty()).then_some(())
    });
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &lb("second"));
    let msg = eventually("a FailedToStartProxy event on second", SLOW, || {
        let out = get(
            k,
            n,
            "events",
            "{range .items[?(@.involvedObject.name==\"second\")]}{.type} {.reason} {.message}{\"\\n\"}{end}",
        );
        out.lines().find(|l| l.starts_with("Warning FailedToStartProxy")).map(str::to_string)
    });
    assert!(msg.contains("already allocated") || msg.contains("in use"), "{msg}");
    let row = k.ok(DEFAULT, &["-n", n, "get", "svc", "second"]);
    assert!(row.contains("<pending>"), "{row}");
}
