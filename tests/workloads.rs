//! Deployments, ReplicaSets and garbage collection with real kubectl against
//! the real binary and Docker (image `k2d-test/busybox:1`, never pulled).

mod common;

use common::{DEFAULT, K2d, Req, eventually, shared, unique};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "k2d-test/busybox:1";
/// The same image under another name, so `set image` changes the template
/// without a registry.
const IMAGE2: &str = "127.0.0.1:5100/k2d-test/busybox:1";

/// What the pods of [`deployment`] run: a line to log, then idle until stopped.
const COMMAND: &str =
    r#"["sh", "-c", "echo up on $(hostname); trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

fn deployment(name: &str, replicas: u32, strategy: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  strategy: {strategy}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: {IMAGE}
        imagePullPolicy: IfNotPresent
        command: {COMMAND}
"#
    )
}

fn json_of(k: &K2d, args: &[&str]) -> Value {
    let out = k.ok(DEFAULT, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// Pods not being deleted, and how many of those are ready.
fn live_pods(k: &K2d, ns: &str) -> (Vec<Value>, usize) {
    let pods: Vec<Value> = items(&json_of(k, &["-n", ns, "get", "pods", "-o", "json"]))
        .into_iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    (pods, ready)
}

fn rollout_status(k: &K2d, ns: &str, name: &str) {
    k.ok(DEFAULT, &["-n", ns, "rollout", "status", &format!("deploy/{name}"), "--timeout=90s"]);
}

/// Names of Docker containers (any state) of pods in `ns`.
fn containers_of(ns: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|n| n.starts_with("k2d_") && n.contains(&format!("_{ns}_")))
        .map(str::to_string)
        .collect()
}

#[test]
fn deployment_rolls_out_scales_heals_and_is_deleted() {
    let k = shared();
    let ns = k.namespace(&unique("wl-deploy"));
    let n = ns.name.as_str();
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &deployment("web", 3, "{}"));
    rollout_status(k, n, "web");
    let (pods, ready) = live_pods(k, n);
    assert_eq!((pods.len(), ready), (3, 3));
    // Pods belong to the ReplicaSet `<deployment>-<pod-template-hash>`.
    let rs = items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"]));
    assert_eq!(rs.len(), 1);
    let hash = rs[0]["metadata"]["labels"]["pod-template-hash"].as_str().unwrap().to_string();
    let rs_name = format!("web-{hash}");
    assert_eq!(rs[0]["metadata"]["name"], rs_name.as_str());
    assert_eq!(rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    assert_eq!(rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"], "4");
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("{rs_name}-")) && name.len() == rs_name.len() + 6);
        assert_eq!(p["metadata"]["ownerReferences"][0]["name"], rs_name.as_str());
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash.as_str());
    }
    let d = json_of(k, &["-n", n, "get", "deploy", "web", "-o", "json"]);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(d["status"]["conditions"][0]["reason"], "MinimumReplicasAvailable");
    assert_eq!(d["status"]["conditions"][1]["reason"], "NewReplicaSetAvailable");

    // Scale to 0, then 5.
    k.ok(DEFAULT, &["-n", n, "scale", "deploy/web", "--replicas=0"]);
    eventually("no pods left", Duration::from_secs(60), || {
        let all = items(&json_of(k, &["-n", n, "get", "pods", "-o", "json"]));
        all.is_empty().then_some(())
    });
    k.ok(DEFAULT, &["-n", n, "scale", "deploy/web", "--replicas=5"]);
    rollout_status(k, n, "web");
    assert_eq!(live_pods(k, n).1, 5);

    // A pod deleted by hand is replaced.
    let (pods, _) = live_pods(k, n);
    let victim = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    k.ok(DEFAULT, &["-n", n, "delete", "pod", &victim, "--wait=false"]);
    eventually("the pod replaced", Duration::from_secs(60), || {
        let (pods, ready) = live_pods(k, n);
        let replaced = pods.iter().all(|p| p["metadata"]["name"] != victim.as_str());
        (replaced && pods.len() == 5 && ready == 5).then_some(())
    });

    // A replica's container removed behind k2d's back is replaced in the
    // same pod, counted as a restart.
    let (pods, _) = live_pods(k, n);
    let pod = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    let id = pods[0]["status"]["containerStatuses"][0]["containerID"].as_str().unwrap();
    let id = id.trim_start_matches("docker://").to_string();
    common::docker_ok(&["rm", "-f", &id]);
    eventually("the container replaced", Duration::from_secs(60), || {
        let p = json_of(k, &["-n", n, "get", "pod", &pod, "-o", "json"]);
        let cs = &p["status"]["containerStatuses"][0];
        let new_id = cs["containerID"].as_str().unwrap_or("");
        (is_ready(&p) && !new_id.is_empty() && !new_id.ends_with(&id) && cs["restartCount"] == 1)
            .then_some(())
    });
    assert_eq!(live_pods(k, n).0.len(), 5);

    // set image rolls within maxSurge/maxUnavailable (25% of 5: surge 2, unavailable 1).
    k.ok(DEFAULT, &["-n", n, "set", "image", "deploy/web", &format!("c={IMAGE2}")]);
    let start = Instant::now();
    let mut samples = 0;
    loop {
        let (pods, ready) = live_pods(k, n);
        samples += 1;
        let show = || {
            let line = |p: &Value| {
                let m = &p["metadata"];
                format!("{} {} {}", m["name"], p["status"]["phase"], is_ready(p))
            };
            pods.iter().map(line).collect::<Vec<_>>().join("\n")
        };
        assert!(pods.len() <= 7, "{} pods exceed replicas + maxSurge:\n{}", pods.len(), show());
        assert!(ready >= 4, "{ready} ready pods fall below replicas - maxUnavailable");
        let d = json_of(k, &["-n", n, "get", "deploy", "web", "-o", "json"]);
        let s = &d["status"];
        let done = s["updatedReplicas"] == 5
            && s["availableReplicas"] == 5
            && s["replicas"] == 5
            && s["observedGeneration"] == d["metadata"]["generation"];
        let images_new =
            pods.iter().all(|p| p["spec"]["containers"][0]["image"] == IMAGE2) && pods.len() == 5;
        if done && images_new {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "rollout did not finish: {s}");
    }
    assert!(samples > 1);
    rollout_status(k, n, "web");
    let history = k.ok(DEFAULT, &["-n", n, "rollout", "history", "deploy/web"]);
    assert!(history.contains("1 ") && history.contains("2 "), "{history}");

    // undo brings the first template back, as revision 3.
    k.ok(DEFAULT, &["-n", n, "rollout", "undo", "deploy/web"]);
    rollout_status(k, n, "web");
    let d = json_of(k, &["-n", n, "get", "deploy", "web", "-o", "json"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], IMAGE);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    let rs = json_of(k, &["-n", n, "get", "rs", &rs_name, "-o", "json"]);
    assert_eq!(rs["spec"]["replicas"], 5);
    let (pods, _) = live_pods(k, n);
    assert!(pods.iter().all(|p| p["spec"]["containers"][0]["image"] == IMAGE));

    // Deleting the Deployment removes ReplicaSets, pods and containers.
    k.ok(DEFAULT, &["-n", n, "delete", "deploy", "web"]);
    eventually("everything of the deployment gone", Duration::from_secs(60), || {
        let rs = items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"]));
        let pods = items(&json_of(k, &["-n", n, "get", "pods", "-o", "json"]));
        (rs.is_empty() && pods.is_empty() && containers_of(n).is_empty()).then_some(())
    });
}

#[test]
fn recreate_restart_pause_and_env() {
    let k = shared();
    let ns = k.namespace(&unique("wl-recreate"));
    let n = ns.name.as_str();
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &deployment("db", 2, "{type: Recreate}"));
    rollout_status(k, n, "db");
    // Recreate: old pods are all gone before a new one starts.
    k.ok(DEFAULT, &["-n", n, "set", "env", "deploy/db", "MODE=x"]);
    let start = Instant::now();
    loop {
        let all = items(&json_of(k, &["-n", n, "get", "pods", "-o", "json"]));
        let has_env = |p: &Value| p["spec"]["containers"][0]["env"].is_array();
        let old = all.iter().filter(|p| !has_env(p)).count();
        let new = all.iter().filter(|p| has_env(p)).count();
        assert!(old == 0 || new == 0, "old and new pods together: {old} old, {new} new");
        if new == 2 && live_pods(k, n).1 == 2 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "recreate did not finish");
    }
    rollout_status(k, n, "db");
    // Paused: template changes wait; resume rolls them out.
    k.ok(DEFAULT, &["-n", n, "rollout", "pause", "deploy/db"]);
    k.ok(DEFAULT, &["-n", n, "set", "env", "deploy/db", "MODE=y"]);
    eventually("the Deployment to say it is paused", Duration::from_secs(30), || {
        let d = json_of(k, &["-n", n, "get", "deploy", "db", "-o", "json"]);
        let conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let prog = conditions.iter().find(|c| c["type"] == "Progressing").cloned();
        (prog.is_some_and(|c| c["reason"] == "DeploymentPaused")
            && d["status"]["observedGeneration"] == d["metadata"]["generation"])
            .then_some(())
    });
    let rs = items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"]));
    assert_eq!(rs.len(), 2, "a paused deployment created a ReplicaSet");
    k.ok(DEFAULT, &["-n", n, "rollout", "resume", "deploy/db"]);
    rollout_status(k, n, "db");
    k.ok(DEFAULT, &["-n", n, "rollout", "restart", "deploy/db"]);
    rollout_status(k, n, "db");
    let d = json_of(k, &["-n", n, "get", "deploy", "db", "-o", "json"]);
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    assert_eq!(items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"])).len(), 4);
    // `get all` lists the app; `logs deploy/x` reads one of its pods.
    let all = k.ok(DEFAULT, &["-n", n, "get", "all"]);
    assert!(all.contains("deployment.apps/db") && all.contains("pod/db-"), "{all}");
    assert!(all.contains("replicaset.apps/db-"), "{all}");
    let logs = k.ok(DEFAULT, &["-n", n, "logs", "deploy/db"]);
    assert!(logs.starts_with("up on db-"), "{logs}");
    // Back to the first template by number: MODE unset again.
    k.ok(DEFAULT, &["-n", n, "rollout", "undo", "deploy/db", "--to-revision=1"]);
    rollout_status(k, n, "db");
    let d = json_of(k, &["-n", n, "get", "deploy", "db", "-o", "json"]);
    assert!(d["spec"]["template"]["spec"]["containers"][0]["env"].is_null(), "{d}");
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "5");
    let describe = k.ok(DEFAULT, &["-n", n, "describe", "deploy", "db"]);
    assert!(describe.contains("ScalingReplicaSet"), "{describe}");
    assert!(describe.contains("NewReplicaSet:"), "{describe}");
    // Foreground deletion: the Deployment waits for its dependents.
    k.ok(DEFAULT, &["-n", n, "delete", "deploy", "db", "--cascade=foreground"]);
    assert!(items(&json_of(k, &["-n", n, "get", "pods", "-o", "json"])).is_empty());
    assert!(items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"])).is_empty());
}

#[test]
fn bare_replicaset_and_orphan_deletion() {
    let k = shared();
    let ns = k.namespace(&unique("wl-rs"));
    let n = ns.name.as_str();
    let rs = format!(
        r#"apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: bare}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: bare}}}}
  template:
    metadata: {{labels: {{app: bare}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: "{IMAGE}", imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}]
"#
    );
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &rs);
    eventually("two ready pods", Duration::from_secs(60), || {
        (live_pods(k, n).1 == 2).then_some(())
    });
    let got = eventually("the ReplicaSet's status", Duration::from_secs(30), || {
        let got = json_of(k, &["-n", n, "get", "rs", "bare", "-o", "json"]);
        (got["status"]["readyReplicas"] == 2).then_some(got)
    });
    assert_eq!(got["status"]["fullyLabeledReplicas"], 2);
    let table = k.ok(DEFAULT, &["-n", n, "get", "rs"]);
    assert!(table.starts_with("NAME   DESIRED   CURRENT   READY   AGE"), "{table}");
    // Orphan: the ReplicaSet goes, its pods stay without an owner.
    k.ok(DEFAULT, &["-n", n, "delete", "rs", "bare", "--cascade=orphan"]);
    eventually("the ReplicaSet gone", Duration::from_secs(30), || {
        items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"])).is_empty().then_some(())
    });
    let (pods, _) = live_pods(k, n);
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["metadata"].get("ownerReferences").is_none()));
    // A new ReplicaSet with the same selector adopts them instead of creating pods.
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &rs);
    eventually("pods adopted", Duration::from_secs(30), || {
        let (pods, _) = live_pods(k, n);
        (pods.len() == 2
            && pods.iter().all(|p| p["metadata"]["ownerReferences"][0]["name"] == "bare"))
        .then_some(())
    });
    // A stray pod the selector matches is adopted at once (its creation
    // queues the ReplicaSet), then deleted as one too many.
    let stray = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: stray, labels: {{app: bare}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: "{IMAGE}", imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}]
"#
    );
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &stray);
    eventually("the stray pod adopted", Duration::from_secs(20), || {
        let p = json_of(k, &["-n", n, "get", "pods", "-o", "json"]);
        let stray = items(&p).into_iter().find(|p| p["metadata"]["name"] == "stray");
        stray
            .is_none_or(|p| {
                p["metadata"]["ownerReferences"][0]["name"] == "bare"
                    || p["metadata"].get("deletionTimestamp").is_some()
            })
            .then_some(())
    });
}

#[test]
fn scale_subresource_and_refusals() {
    let k = shared();
    let ns = k.namespace(&unique("wl-api"));
    let n = ns.name.as_str();
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &deployment("s", 0, "{}"));
    let path = format!("/apis/apps/v1/namespaces/{n}/deployments/s/scale");
    let (code, scale) = k.get_json(&path);
    assert_eq!(code, 200);
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["status"]["selector"], "app=s");
    let patch_path = format!("{path}?fieldManager=t");
    let r = k.curl(Req {
        method: "PATCH",
        content_type: "application/merge-patch+json",
        body: Some(br#"{"spec":{"replicas":-1}}"#),
        ..Req::get(&patch_path)
    });
    assert_eq!(r.status, 422, "{}", r.body);
    // Beyond int32: refused as decoding the typed Scale refuses it.
    let r = k.curl(Req {
        method: "PATCH",
        content_type: "application/merge-patch+json",
        body: Some(br#"{"spec":{"replicas":3000000000}}"#),
        ..Req::get(&patch_path)
    });
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("of type int32"), "{}", r.body);
    k.ok(DEFAULT, &["-n", n, "scale", "deploy/s", "--replicas=0"]);
    k.ok(DEFAULT, &["-n", n, "scale", "deploy/s", "--replicas=1"]);
    let d = json_of(k, &["-n", n, "get", "deploy", "s", "-o", "json", "--show-managed-fields"]);
    let entry = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subresource"] == "scale")
        .cloned()
        .expect("a scale managedFields entry");
    // kubectl names itself after its binary (`kubectl-scale`, or the
    // dispatcher's `kubectl.1.33`).
    assert!(entry["manager"].as_str().unwrap().starts_with("kubectl"), "{entry}");
    assert!(entry.get("time").is_none(), "{entry}");
    // A selector that does not match the template: the reference 422 text.
    let bad =
        deployment("bad", 1, "{}").replace("matchLabels: {app: bad}", "matchLabels: {app: other}");
    let err = k.fails_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &bad);
    assert!(err.contains("`selector` does not match template `labels`"), "{err}");
    // autoscale: no HorizontalPodAutoscaler is served.
    let err = k.fails(DEFAULT, &["-n", n, "autoscale", "deploy/s", "--max=3"]);
    assert!(err.contains("not supported by k2d"), "{err}");
}

#[test]
fn rollout_status_fails_past_the_progress_deadline() {
    let k = shared();
    let ns = k.namespace(&unique("wl-deadline"));
    let n = ns.name.as_str();
    // Pods whose image may not be pulled never run, so the rollout cannot
    // progress; after 5 s the Deployment says so and `rollout status` fails
    // with kubectl's deadline message instead of waiting forever.
    let manifest = deployment("stuck", 2, "{}")
        .replace("spec:\n  replicas", "spec:\n  progressDeadlineSeconds: 5\n  replicas")
        .replace(&format!("image: {IMAGE}"), "image: k2d-test/absent:1")
        .replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: Never");
    assert!(manifest.contains("progressDeadlineSeconds: 5") && manifest.contains("absent"));
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &manifest);
    let out = k.kubectl(DEFAULT, &["-n", n, "rollout", "status", "deploy/stuck", "--timeout=60s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "rollout status succeeded: {err}");
    assert!(err.contains("deployment \"stuck\" exceeded its progress deadline"), "{err}");
    let d = json_of(k, &["-n", n, "get", "deploy", "stuck", "-o", "json"]);
    let prog = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .cloned()
        .unwrap();
    assert_eq!(prog["status"], "False", "{prog}");
    assert_eq!(prog["reason"], "ProgressDeadlineExceeded", "{prog}");
    let rs = items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"]));
    let rs_name = rs[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(prog["message"], format!("ReplicaSet \"{rs_name}\" has timed out progressing."));
}

#[test]
fn garbage_collector_dangling_owners_and_foreground_service_deletion() {
    let k = shared();
    let ns = k.namespace(&unique("wl-gc"));
    let n = ns.name.as_str();
    // A ConfigMap whose owner never existed is collected; one owned by a
    // kind k2d does not serve is left alone.
    let cms = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: ghost, uid: 6b1c1c59-0000-4000-8000-000000000000}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: foreign
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Widget, name: w, uid: 6b1c1c59-0000-4000-8000-000000000001}
"#;
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], cms);
    let names = || -> Vec<String> {
        items(&json_of(k, &["-n", n, "get", "cm", "-o", "json"]))
            .iter()
            .map(|c| c["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    eventually("the ConfigMap with a missing owner collected", Duration::from_secs(30), || {
        (!names().contains(&"orphan".to_string())).then_some(())
    });
    assert!(names().contains(&"foreign".to_string()));

    // Foreground deletion of a Service: its EndpointSlice goes, then the
    // Service, without waiting for anything else to requeue it.
    let app = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: fg, labels: {{app: fg}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: "{IMAGE}", imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: fg}}
spec:
  selector: {{app: fg}}
  ports: [{{port: 80}}]
"#
    );
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &app);
    eventually("the Service's EndpointSlice", Duration::from_secs(30), || {
        let slices = json_of(
            k,
            &[
                "-n",
                n,
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=fg",
                "-o",
                "json",
            ],
        );
        (!items(&slices).is_empty()).then_some(())
    });
    let start = Instant::now();
    k.ok(DEFAULT, &["-n", n, "delete", "svc", "fg", "--cascade=foreground", "--timeout=30s"]);
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert!(items(&json_of(k, &["-n", n, "get", "svc", "-o", "json"])).is_empty());
}

#[test]
fn change_cause_min_ready_seconds_and_scaling_while_paused() {
    let k = shared();
    let ns = k.namespace(&unique("wl-sync"));
    let n = ns.name.as_str();
    k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &deployment("cc", 0, "{}"));
    let rs_of = |rev: &str| {
        eventually(&format!("the ReplicaSet of revision {rev}"), Duration::from_secs(30), || {
            items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"]))
                .into_iter()
                .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == rev)
        })
    };
    rs_of("1");
    // Creation times have seconds: keep the two ReplicaSets apart, so the
    // second is the newest when the paused Deployment scales below.
    std::thread::sleep(Duration::from_millis(1100));
    k.ok(DEFAULT, &["-n", n, "set", "image", "deploy/cc", &format!("c={IMAGE2}")]);
    let new = rs_of("2");
    let new_name = new["metadata"]["name"].as_str().unwrap().to_string();
    // Annotated after the rollout: the new ReplicaSet follows, so `rollout
    // history` shows the cause; minReadySeconds follows too.
    k.ok(DEFAULT, &["-n", n, "annotate", "deploy/cc", "kubernetes.io/change-cause=image two"]);
    k.ok(DEFAULT, &["-n", n, "patch", "deploy/cc", "-p", r#"{"spec":{"minReadySeconds":3}}"#]);
    eventually("the new ReplicaSet to follow", Duration::from_secs(30), || {
        let rs = json_of(k, &["-n", n, "get", "rs", &new_name, "-o", "json"]);
        (rs["metadata"]["annotations"]["kubernetes.io/change-cause"] == "image two"
            && rs["spec"]["minReadySeconds"] == 3)
            .then_some(())
    });
    let history = k.ok(DEFAULT, &["-n", n, "rollout", "history", "deploy/cc"]);
    assert!(history.contains("2         image two"), "{history}");

    // Paused with a changed template: scaling still resizes the ReplicaSet
    // that runs (the new template waits for resume).
    k.ok(DEFAULT, &["-n", n, "rollout", "pause", "deploy/cc"]);
    k.ok(DEFAULT, &["-n", n, "set", "env", "deploy/cc", "MODE=three"]);
    k.ok(DEFAULT, &["-n", n, "scale", "deploy/cc", "--replicas=2"]);
    eventually("the running ReplicaSet scaled", Duration::from_secs(30), || {
        let rs = json_of(k, &["-n", n, "get", "rs", &new_name, "-o", "json"]);
        (rs["spec"]["replicas"] == 2
            && rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "2")
            .then_some(())
    });
    assert_eq!(items(&json_of(k, &["-n", n, "get", "rs", "-o", "json"])).len(), 2);
}
