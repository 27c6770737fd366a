//! Container probes with real kubectl and real Docker: readiness gating a Service's traffic
//! and a Deployment's rollout, liveness and startup failures restarting containers with the
//! kubelet's Events, httpGet and tcpSocket probes, and a startup probe holding readiness
//! back. kubectl exec is not served yet, so the tests flip a probe's condition with
//! `docker exec` on the pod's container. Needs `scripts/test-image.sh` (k2d-test/busybox:1).

mod common;

use common::{DEFAULT, K2d, docker, docker_ok, eventually, shared, unique};
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const IMAGE: &str = "k2d-test/busybox:1";
const SLOW: Duration = Duration::from_secs(60);
/// A main process that exits promptly on SIGTERM (sh as PID 1 ignores it otherwise).
const IDLE: &str = "trap 'exit 0' TERM; while true; do sleep 1; done";

/// A namespace unique across runs, deleted (with its containers) at the end.
struct Ns<'a>(&'a K2d, String);

impl<'a> Ns<'a> {
    fn new(k: &'a K2d, prefix: &str) -> Ns<'a> {
        let name = unique(&format!("{prefix}-{}", std::process::id()));
        k.ok(DEFAULT, &["create", "namespace", &name]);
        Ns(k, name)
    }

    fn apply(&self, manifest: &str) {
        self.0.ok_stdin(DEFAULT, &["-n", &self.1, "apply", "-f", "-"], manifest);
    }

    fn pod(&self, name: &str) -> Value {
        let out = self.0.ok(DEFAULT, &["-n", &self.1, "get", "pod", name, "-o", "json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn get(&self, what: &str, path: &str) -> String {
        let out = self
            .0
            .kubectl(DEFAULT, &["-n", &self.1, "get", what, "-o", &format!("jsonpath={path}")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `docker exec` in the running container `container` of pod `pod`.
    fn docker_exec(&self, pod: &str, container: &str, script: &str) {
        let id = eventually(&format!("the running container {pod}/{container}"), SLOW, || {
            let out = docker_ok(&[
                "ps",
                "-q",
                "--filter",
                &format!("label=io.kubernetes.pod.namespace={}", self.1),
                "--filter",
                &format!("label=io.kubernetes.pod.name={pod}"),
                "--filter",
                &format!("label=io.kubernetes.container.name={container}"),
            ]);
            out.lines().next().map(str::to_string)
        });
        docker_ok(&["exec", &id, "sh", "-c", script]);
    }

    /// Events of pod `name`, as `reason: message` lines.
    fn events(&self, name: &str) -> String {
        self.get(
            "events",
            &format!(
                "{{range .items[?(@.involvedObject.name==\"{name}\")]}}{{.type}} {{.reason}}: {{.message}}{{\"\\n\"}}{{end}}"
            ),
        )
    }
}

impl Drop for Ns<'_> {
    fn drop(&mut self) {
        let _ = self.0.kubectl(DEFAULT, &["delete", "namespace", &self.1, "--wait=false"]);
        let deadline = Instant::now() + SLOW;
        while Instant::now() < deadline {
            let left = docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("label=io.kubernetes.pod.namespace={}", self.1),
            ]);
            let proxies = docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("label=k2d.io/service-namespace={}", self.1),
            ]);
            if left.stdout.is_empty() && proxies.stdout.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn condition(pod: &Value, kind: &str) -> String {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_string()
}

fn container_status(pod: &Value) -> Value {
    pod["status"]["containerStatuses"][0].clone()
}

fn running(pod: &Value) -> bool {
    container_status(pod)["state"]["running"].is_object()
}

/// Wait until the pod's container runs, and return the pod.
fn wait_running(ns: &Ns, name: &str) -> Value {
    eventually(&format!("pod {name} running"), SLOW, || {
        let p = ns.pod(name);
        running(&p).then_some(p)
    })
}

fn wait_ready(ns: &Ns, name: &str) -> Value {
    eventually(&format!("pod {name} Ready"), SLOW, || {
        let p = ns.pod(name);
        (condition(&p, "Ready") == "True").then_some(p)
    })
}

/// Assert the pod stays not Ready (though running) for `d`.
fn stays_unready(ns: &Ns, name: &str, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        let p = ns.pod(name);
        assert!(running(&p), "{name} should run: {}", p["status"]);
        assert_eq!(condition(&p, "Ready"), "False", "{name}: {}", p["status"]);
        assert_eq!(condition(&p, "ContainersReady"), "False", "{name}: {}", p["status"]);
        assert_eq!(container_status(&p)["ready"], false, "{name}: {}", p["status"]);
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// One plain HTTP GET of `/` on the host port; the body, trimmed ("" on any failure).
fn host_get(port: u16) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(3))).ok();
    if s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_string()
}

#[test]
fn readiness_gates_service_traffic_and_rollout() {
    let k = shared();
    let ns = Ns::new(k, "probe-ready");
    let n = &ns.1;
    ns.apply(&format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: gated}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: gated}}}}
  template:
    metadata: {{labels: {{app: gated}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: {IMAGE}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe:
          exec: {{command: ["test", "-f", "/tmp/ready"]}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: gated}}
spec:
  type: NodePort
  selector: {{app: gated}}
  ports: [{{port: 80, targetPort: http}}]
"#
    ));
    let pod_name = eventually("the Deployment's pod", SLOW, || {
        let names = ns.get("pods", "{.items[*].metadata.name}");
        names.split_whitespace().next().map(str::to_string)
    });
    let pod = wait_running(&ns, &pod_name);
    let ip = pod["status"]["podIP"].as_str().unwrap_or("").to_string();
    assert!(!ip.is_empty(), "{}", pod["status"]);
    assert_eq!(container_status(&pod)["started"], true, "no startup probe: started once running");
    stays_unready(&ns, &pod_name, Duration::from_secs(3));

    // Not ready: listed in notReadyAddresses only, so the Service sends it nothing.
    eventually("the pod among notReadyAddresses", SLOW, || {
        let not_ready = ns.get("endpoints/gated", "{.subsets[*].notReadyAddresses[*].ip}");
        let ready = ns.get("endpoints/gated", "{.subsets[*].addresses[*].ip}");
        (not_ready.trim() == ip && ready.trim().is_empty()).then_some(())
    });
    let node_port: u16 =
        ns.get("svc/gated", "{.spec.ports[0].nodePort}").parse().expect("a node port");
    for _ in 0..3 {
        assert_eq!(host_get(node_port), "", "an unready pod got traffic");
    }
    let out = k.kubectl(DEFAULT, &["-n", n, "rollout", "status", "deploy/gated", "--timeout=3s"]);
    assert!(!out.status.success(), "rollout completed with an unready pod");
    let events = ns.events(&pod_name);
    assert!(events.contains("Warning Unhealthy: Readiness probe failed"), "{events}");

    // The probe passes: Ready, traffic, rollout done.
    ns.docker_exec(&pod_name, "web", "touch /tmp/ready");
    let pod = wait_ready(&ns, &pod_name);
    assert_eq!(condition(&pod, "ContainersReady"), "True");
    assert_eq!(container_status(&pod)["ready"], true);
    k.ok(DEFAULT, &["-n", n, "rollout", "status", "deploy/gated", "--timeout=60s"]);
    eventually("the pod among ready addresses", SLOW, || {
        let ready = ns.get("endpoints/gated", "{.subsets[*].addresses[*].ip}");
        (ready.trim() == ip).then_some(())
    });
    eventually("traffic through the node port", SLOW, || {
        (host_get(node_port) == pod_name).then_some(())
    });

    // Failing again (failureThreshold 3 at 1 s) takes it out again; it is not restarted.
    ns.docker_exec(&pod_name, "web", "rm /tmp/ready");
    eventually("the pod unready again", SLOW, || {
        let p = ns.pod(&pod_name);
        (condition(&p, "Ready") == "False" && running(&p)).then_some(())
    });
    eventually("the pod back among notReadyAddresses", SLOW, || {
        let not_ready = ns.get("endpoints/gated", "{.subsets[*].notReadyAddresses[*].ip}");
        (not_ready.trim() == ip).then_some(())
    });
    assert_eq!(container_status(&ns.pod(&pod_name))["restartCount"], 0);
}

#[test]
fn failing_liveness_restarts_the_container() {
    let k = shared();
    let ns = Ns::new(k, "probe-live");
    ns.apply(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: live}}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "touch /tmp/alive; {IDLE}"]
    livenessProbe:
      exec: {{command: ["test", "-f", "/tmp/alive"]}}
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 2
"#
    ));
    let pod = wait_running(&ns, "live");
    assert_eq!(container_status(&pod)["restartCount"], 0);
    // Liveness does not decide readiness: no readiness probe, so Ready.
    wait_ready(&ns, "live");
    let first_id = container_status(&pod)["containerID"].as_str().unwrap_or("").to_string();

    ns.docker_exec("live", "c", "rm /tmp/alive");
    let pod = eventually("a restart after the liveness failure", SLOW, || {
        let p = ns.pod("live");
        let cs = container_status(&p);
        (cs["restartCount"] == 1 && running(&p)).then_some(p)
    });
    let cs = container_status(&pod);
    assert_ne!(cs["containerID"].as_str().unwrap_or(""), first_id);
    assert!(cs["lastState"]["terminated"].is_object(), "{cs}");
    let events = ns.events("live");
    assert!(events.contains("Warning Unhealthy: Liveness probe failed"), "{events}");
    assert!(
        events.contains("Normal Killing: Container c failed liveness probe, will be restarted"),
        "{events}"
    );
    let describe = k.ok(DEFAULT, &["-n", &ns.1, "describe", "pod", "live"]);
    assert!(describe.contains("Liveness probe failed"), "{describe}");
    assert!(describe.contains("failed liveness probe, will be restarted"), "{describe}");
    assert!(describe.contains("Restart Count:  1"), "{describe}");

    // The new attempt creates /tmp/alive again and is left alone.
    std::thread::sleep(Duration::from_secs(4));
    let p = ns.pod("live");
    assert_eq!(container_status(&p)["restartCount"], 1, "{}", p["status"]);
    assert!(running(&p));
}

#[test]
fn startup_probe_delays_readiness_and_kills_after_its_threshold() {
    let k = shared();
    let ns = Ns::new(k, "probe-start");
    ns.apply(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: slow}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{IDLE}"]
    startupProbe:
      exec: {{command: ["test", "-f", "/tmp/started"]}}
      periodSeconds: 1
      failureThreshold: 120
    readinessProbe:
      exec: {{command: ["true"]}}
      periodSeconds: 1
    livenessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
      failureThreshold: 1000
---
apiVersion: v1
kind: Pod
metadata: {{name: never}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{IDLE}"]
    startupProbe:
      tcpSocket: {{port: 9999}}
      periodSeconds: 1
      failureThreshold: 2
"#
    ));
    let pod = wait_running(&ns, "slow");
    assert_eq!(container_status(&pod)["started"], false, "{}", pod["status"]);
    stays_unready(&ns, "slow", Duration::from_secs(3));
    let p = ns.pod("slow");
    assert_eq!(container_status(&p)["started"], false);
    let events = ns.events("slow");
    assert!(events.contains("Warning Unhealthy: Startup probe failed"), "{events}");
    // Gated by startup: the failing liveness probe has not run.
    assert!(!events.contains("Liveness probe failed"), "{events}");

    ns.docker_exec("slow", "c", "touch /tmp/started");
    let p = wait_ready(&ns, "slow");
    assert_eq!(container_status(&p)["started"], true);
    assert_eq!(container_status(&p)["ready"], true);
    eventually("liveness probing after startup", SLOW, || {
        ns.events("slow").contains("Liveness probe failed").then_some(())
    });

    // A startup probe that never passes kills the container after failureThreshold.
    eventually("a restart after the startup failure", SLOW, || {
        let p = ns.pod("never");
        (container_status(&p)["restartCount"].as_i64().unwrap_or(0) >= 1).then_some(())
    });
    let events = ns.events("never");
    assert!(
        events.contains("Normal Killing: Container c failed startup probe, will be restarted"),
        "{events}"
    );
    assert!(events.contains("connect: connection refused"), "{events}");
    let p = ns.pod("never");
    assert_eq!(condition(&p, "Ready"), "False");
}

#[test]
fn http_get_and_tcp_socket_readiness() {
    let k = shared();
    let ns = Ns::new(k, "probe-net");
    let server =
        "sleep 2; mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www";
    let mut manifest = String::new();
    for (name, probe) in [
        (
            "http",
            "httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-Probe, value: k2d}]}",
        ),
        ("http404", "httpGet: {path: /missing, port: 8080}"),
        ("tcp", "tcpSocket: {port: http}"),
        ("tcpclosed", "tcpSocket: {port: 9999}"),
    ] {
        manifest.push_str(&format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{server}"]
    ports: [{{name: http, containerPort: 8080}}]
    readinessProbe:
      {probe}
      periodSeconds: 1
      timeoutSeconds: 2
---
"#
        ));
    }
    ns.apply(&manifest);
    for name in ["http", "tcp"] {
        let p = wait_ready(&ns, name);
        assert_eq!(container_status(&p)["ready"], true, "{name}");
    }
    for name in ["http404", "tcpclosed"] {
        wait_running(&ns, name);
    }
    eventually("the 404 reported", SLOW, || {
        ns.events("http404")
            .contains(
                "Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404",
            )
            .then_some(())
    });
    eventually("the refused connection reported", SLOW, || {
        let events = ns.events("tcpclosed");
        (events.contains("Warning Unhealthy: Readiness probe failed: dial tcp ")
            && events.contains(":9999: connect: connection refused"))
        .then_some(())
    });
    for name in ["http404", "tcpclosed"] {
        let p = ns.pod(name);
        assert!(running(&p), "{name}");
        assert_eq!(condition(&p, "Ready"), "False", "{name}");
        assert_eq!(container_status(&p)["ready"], false, "{name}");
    }
}

#[test]
fn http_redirects_are_followed_on_the_same_host_only() {
    let k = shared();
    let ns = Ns::new(k, "probe-redirect");
    // `/sub` answers 302 to `/sub/` (followed: 200); the CGI answers 302 to another host
    // (not followed: success with a ProbeWarning).
    let script = r#"mkdir -p /www/sub /www/cgi-bin && echo hi > /www/sub/index.html
      printf '#!/bin/sh\nprintf "HTTP/1.1 302 Found\\r\\nLocation: http://elsewhere.invalid/\\r\\nContent-Length: 5\\r\\n\\r\\nmoved"\n' > /www/cgi-bin/away
      chmod +x /www/cgi-bin/away
      exec httpd -f -p 8080 -h /www"#;
    let mut manifest = String::new();
    for (name, path) in [("followed", "/sub"), ("elsewhere", "/cgi-bin/away")] {
        manifest.push_str(&format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command:
    - sh
    - -c
    - |
      {script}
    readinessProbe:
      httpGet: {{path: {path}, port: 8080}}
      periodSeconds: 1
---
"#
        ));
    }
    ns.apply(&manifest);
    wait_ready(&ns, "followed");
    wait_ready(&ns, "elsewhere");
    eventually("the redirect warning", SLOW, || {
        ns.events("elsewhere")
            .contains(
                "Warning ProbeWarning: Readiness probe warning: Probe terminated redirects, Response body: moved",
            )
            .then_some(())
    });
    let events = ns.events("followed");
    assert!(!events.contains("ProbeWarning"), "{events}");
}

#[test]
fn on_failure_restarts_a_probe_killed_container_that_exits_zero() {
    let k = shared();
    let ns = Ns::new(k, "probe-onfail");
    ns.apply(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: clean}}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{IDLE}"]
    livenessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
      failureThreshold: 1
"#
    ));
    wait_running(&ns, "clean");
    // SIGTERM makes it exit 0; killed by the probe, it is restarted all the same, and the
    // pod never counts as Succeeded.
    let deadline = Instant::now() + SLOW;
    loop {
        let p = ns.pod("clean");
        assert_eq!(p["status"]["phase"], "Running", "{}", p["status"]);
        if container_status(&p)["restartCount"].as_i64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no restart: {}", p["status"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    // Still Running (restarted or backing off) a few kills later.
    std::thread::sleep(Duration::from_secs(3));
    let p = ns.pod("clean");
    assert_eq!(p["status"]["phase"], "Running", "{}", p["status"]);
    let events = ns.events("clean");
    assert!(
        events.contains("Normal Killing: Container c failed liveness probe, will be restarted"),
        "{events}"
    );
}

#[test]
fn timed_out_exec_probes_do_not_pile_up_processes() {
    let k = shared();
    let ns = Ns::new(k, "probe-hang");
    ns.apply(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: hang}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{IDLE}"]
    readinessProbe:
      exec: {{command: ["sleep", "1000"]}}
      periodSeconds: 1
      timeoutSeconds: 1
"#
    ));
    let pod = wait_running(&ns, "hang");
    let id = container_status(&pod)["containerID"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("docker://")
        .to_string();
    eventually("probe timeouts reported", SLOW, || {
        ns.events("hang").contains("timed out").then_some(())
    });
    std::thread::sleep(Duration::from_secs(5));
    let top = docker_ok(&["top", &id]);
    let hung = top.lines().filter(|l| l.contains("sleep 1000")).count();
    // One may be running now, within its timeout; none is left from earlier periods.
    assert!(hung <= 1, "{hung} probe processes left running:\n{top}");
    let p = ns.pod("hang");
    assert_eq!(condition(&p, "Ready"), "False");
}

#[test]
fn probe_kills_with_long_grace_do_not_hold_up_deletions() {
    let k = shared();
    let ns = Ns::new(k, "probe-starve");
    let mut manifest = String::new();
    // PID 1 ignores SIGTERM, so each kill waits out its 20 s grace period; there are as many
    // as there are workers stopping deleted pods.
    for i in 0..4 {
        manifest.push_str(&format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: stubborn{i}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while true; do sleep 1; done"]
    livenessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 20
---
"#
        ));
    }
    manifest.push_str(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: victim}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "{IDLE}"]
"#
    ));
    ns.apply(&manifest);
    wait_running(&ns, "victim");
    eventually("all four probe kills issued", SLOW, || {
        (0..4).all(|i| ns.events(&format!("stubborn{i}")).contains("Normal Killing")).then_some(())
    });
    let started = Instant::now();
    k.ok(DEFAULT, &["-n", &ns.1, "delete", "pod", "victim", "--timeout=60s"]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "deleting a pod took {took:?} behind probe kills");
}
