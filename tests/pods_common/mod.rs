//! Helpers for the pod suites (tests/pods*.rs): pod manifests, polling the
//! API for a pod's state, and looking at what k2d made in Docker (found by
//! the labels k2d puts on everything, scoped to one k2d instance, since
//! several k2d share the test machine's Docker).
#![allow(dead_code)]

use crate::common::{self, DEFAULT, K2d, Req};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The local test image (scripts/test-image.sh): busybox with sh, sleep, nc, wget, httpd.
pub const IMAGE: &str = "k2d-test/busybox:1";

/// Make sure the test image exists (once per test binary).
pub fn ensure_image() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-image.sh");
        let out = std::process::Command::new(&script).output().expect("running test-image.sh");
        assert!(
            out.status.success(),
            "scripts/test-image.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A container of the test image running `sh -c script`.
pub fn sh(name: &str, script: &str) -> Value {
    json!({"name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script]})
}

/// A Pod manifest; `spec` is merged over `{containers}`.
pub fn pod(name: &str, containers: Vec<Value>, spec: Value) -> Value {
    let mut s = json!({"containers": containers, "terminationGracePeriodSeconds": 2});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s})
}

/// One namespace for one test. [`TestNs::finish`] deletes it through kubectl
/// (which waits) and asserts that no container of it is left in Docker; a
/// test that panics before that still gets its namespace deleted (no wait).
pub struct TestNs<'a> {
    pub k: &'a K2d,
    pub name: String,
    finished: bool,
}

impl<'a> TestNs<'a> {
    pub fn new(k: &'a K2d, prefix: &str) -> TestNs<'a> {
        ensure_image();
        let name = common::unique(prefix);
        k.ok(DEFAULT, &["create", "namespace", &name]);
        TestNs { k, name, finished: false }
    }

    /// Give up the borrow of the k2d (e.g. to restart it); [`TestNs::adopt`] takes it back.
    pub fn detach(mut self) -> String {
        self.finished = true;
        std::mem::take(&mut self.name)
    }

    /// A namespace made earlier by [`TestNs::new`] and then detached.
    pub fn adopt(k: &'a K2d, name: String) -> TestNs<'a> {
        TestNs { k, name, finished: false }
    }

    /// kubectl with `-n <ns>` prepended; stdout, failing the test unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", &self.name];
        a.extend_from_slice(args);
        self.k.ok(DEFAULT, &a)
    }

    /// kubectl with `-n <ns>` expected to fail; stderr and stdout.
    pub fn fails(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", &self.name];
        a.extend_from_slice(args);
        self.k.fails(DEFAULT, &a)
    }

    /// `kubectl apply -f -` of these objects (as one multi-document stream, in order).
    pub fn apply(&self, objs: &[Value]) -> String {
        let docs: Vec<String> = objs.iter().map(|o| o.to_string()).collect();
        self.k.ok_stdin(DEFAULT, &["-n", &self.name, "apply", "-f", "-"], &docs.join("\n---\n"))
    }

    /// The pod as the API shows it, or `None` if there is none.
    pub fn pod(&self, name: &str) -> Option<Value> {
        let r = self.k.curl(Req::get(&format!("/api/v1/namespaces/{}/pods/{name}", self.name)));
        (r.status == 200).then(|| r.json())
    }

    /// Poll the pod until `f` holds; returns it. Panics with the last state seen.
    pub fn wait_pod(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        loop {
            if let Some(p) = self.pod(name) {
                if f(&p) {
                    return p;
                }
                last = p;
            }
            if Instant::now() > deadline {
                panic!(
                    "pod {}/{name}: not {what} within {timeout:?}; last status:\n{}\nk2d log tail:\n{}",
                    self.name,
                    serde_json::to_string_pretty(&last["status"]).unwrap_or_default(),
                    self.k.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn wait_phase(&self, name: &str, phase: &str, timeout: Duration) -> Value {
        self.wait_pod(name, &format!("phase {phase}"), timeout, |p| p["status"]["phase"] == phase)
    }

    /// Wait until every container of the pod is running and ready.
    pub fn wait_running(&self, name: &str, timeout: Duration) -> Value {
        self.wait_pod(name, "Running with all containers ready", timeout, |p| {
            p["status"]["phase"] == "Running"
                && p["status"]["containerStatuses"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(|c| c["ready"] == true))
        })
    }

    /// The events of the namespace about `pod`, in the order the API lists them.
    pub fn events_of(&self, pod: &str) -> Vec<Value> {
        let (_, v) = self.k.get_json(&format!("/api/v1/namespaces/{}/events", self.name));
        v["items"]
            .as_array()
            .map(|a| a.iter().filter(|e| e["involvedObject"]["name"] == pod).cloned().collect())
            .unwrap_or_default()
    }

    /// Every Docker container k2d made for this namespace (or one pod of it), inspected.
    pub fn containers(&self, pod: Option<&str>) -> Vec<Value> {
        containers_of(self.k, &self.name, pod)
    }

    /// The newest attempt of container `cname` of `pod`, inspected.
    pub fn container(&self, pod: &str, cname: &str) -> Option<Value> {
        self.containers(Some(pod))
            .into_iter()
            .filter(|c| label(c, "io.kubernetes.container.name") == cname)
            .max_by_key(|c| {
                label(c, "io.kubernetes.container.restartCount").parse::<u32>().unwrap_or(0)
            })
    }

    /// `docker logs` of the newest attempt of `cname` (independent of `kubectl logs`).
    pub fn docker_logs(&self, pod: &str, cname: &str) -> String {
        let Some(c) = self.container(pod, cname) else { return String::new() };
        let out = common::docker(&["logs", c["Id"].as_str().unwrap_or("")]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Delete the namespace with kubectl (which waits until it is gone) and
    /// assert that k2d left no container of it behind.
    pub fn finish(mut self) {
        self.finished = true;
        self.k.ok(DEFAULT, &["delete", "namespace", &self.name, "--timeout=120s"]);
        let left = self.containers(None);
        assert!(
            left.is_empty(),
            "containers left behind after deleting namespace {}: {:?}",
            self.name,
            left.iter().map(|c| c["Name"].clone()).collect::<Vec<_>>()
        );
    }
}

impl Drop for TestNs<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.k.client().try_curl(Req {
                method: "DELETE",
                ..Req::get(&format!("/api/v1/namespaces/{}", self.name))
            });
        }
    }
}

pub fn label<'v>(c: &'v Value, key: &str) -> &'v str {
    c.pointer("/Config/Labels").and_then(|l| l.get(key)).and_then(Value::as_str).unwrap_or("")
}

/// Docker containers of k2d instance `k` in namespace `ns` (and pod `pod`), inspected.
pub fn containers_of(k: &K2d, ns: &str, pod: Option<&str>) -> Vec<Value> {
    let mut args = vec![
        "ps".to_string(),
        "-aq".to_string(),
        "--no-trunc".to_string(),
        "--filter".to_string(),
        format!("label=io.kubernetes.pod.namespace={ns}"),
        "--filter".to_string(),
        format!("label=k2d.io/instance={}", k.instance_id()),
    ];
    if let Some(p) = pod {
        args.push("--filter".into());
        args.push(format!("label=io.kubernetes.pod.name={p}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let ids = common::docker_ok(&a);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut inspect = vec!["inspect"];
    inspect.extend(ids);
    // A container may vanish between ps and inspect: docker then exits 1 but prints the rest.
    let out = common::docker(&inspect);
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_default()
}

/// The status of container `cname` in a pod.
pub fn cstatus<'v>(pod: &'v Value, cname: &str) -> &'v Value {
    for field in ["containerStatuses", "initContainerStatuses"] {
        if let Some(c) =
            pod["status"][field].as_array().and_then(|a| a.iter().find(|c| c["name"] == cname))
        {
            return c;
        }
    }
    &Value::Null
}

pub fn restart_count(pod: &Value, cname: &str) -> u64 {
    cstatus(pod, cname)["restartCount"].as_u64().unwrap_or(0)
}

pub fn waiting_reason<'v>(pod: &'v Value, cname: &str) -> &'v str {
    cstatus(pod, cname)["state"]["waiting"]["reason"].as_str().unwrap_or("")
}

/// What `kubectl get pods` shows for a pod: the columns of its row.
pub fn row(k: &K2d, ns: &str, pod: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["-n", ns, "get", "pod", pod, "--no-headers"];
    args.extend_from_slice(extra);
    k.ok(DEFAULT, &args).split_whitespace().map(str::to_string).collect()
}
