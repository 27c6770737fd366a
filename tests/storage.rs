//! Persistent storage with real kubectl and real Docker: claims of the
//! default WaitForFirstConsumer class bind when a pod uses them and keep
//! their data across pods and a k2d restart; Immediate classes bind at once;
//! Delete removes the PV and its Docker volume, Retain keeps both; a static
//! hostPath PV bound by name shows the host's files; kubectl's tables.
//! Needs `scripts/test-image.sh` (k2d-test/busybox:1).

mod common;
mod pods_common;

use common::{DEFAULT, K2d, docker, eventually, shared};
use pods_common::{TestNs, pod, sh};
use serde_json::{Value, json};
use std::time::Duration;

const SLOW: Duration = Duration::from_secs(60);

fn claim(name: &str, class: Option<&str>, size: &str) -> Value {
    let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}});
    if let Some(class) = class {
        c["spec"]["storageClassName"] = json!(class);
    }
    c
}

fn class(name: &str, mode: &str, policy: &str) -> Value {
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": "k2d.io/local", "reclaimPolicy": policy, "volumeBindingMode": mode})
}

/// A run-once pod mounting `claim` at /data and running `script`.
fn user(name: &str, claim: &str, script: &str) -> Value {
    pod(
        name,
        vec![{
            let mut c = sh("c", script);
            c["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
            c
        }],
        json!({"restartPolicy": "Never",
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}),
    )
}

fn get(ns: &TestNs, what: &str) -> Value {
    serde_json::from_str(&ns.ok(&["get", what, "-o", "json"])).expect("kubectl -o json")
}

fn cluster_get(k: &K2d, what: &str) -> Option<Value> {
    let out = k.kubectl(DEFAULT, &["get", what, "-o", "json"]);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).expect("json"))
}

fn wait_claim(ns: &TestNs, name: &str, phase: &str) -> Value {
    eventually(&format!("claim {name} {phase}"), SLOW, || {
        let c = get(ns, &format!("pvc/{name}"));
        (c["status"]["phase"] == phase).then_some(c)
    })
}

fn docker_volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", name]).status.success()
}

/// Removes the Docker volumes this k2d provisioned for claims of one
/// namespace, even when the test fails half-way.
struct Sweep {
    instance_file: std::path::PathBuf,
    ns: String,
}

impl Sweep {
    fn new(k: &K2d, ns: &TestNs) -> Sweep {
        Sweep { instance_file: k.data.join("instance"), ns: ns.name.clone() }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let instance = std::fs::read_to_string(&self.instance_file).unwrap_or_default();
        let instance = instance.trim();
        if instance.is_empty() {
            return;
        }
        let out = docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=k2d.io/instance={instance}"),
            "--filter",
            &format!("label=io.kubernetes.pod.namespace={}", self.ns),
            "--filter",
            "label=k2d.io/persistentvolume",
        ]);
        for v in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// Run a pod to completion and return its log.
fn run(ns: &TestNs, name: &str, claim: &str, script: &str) -> String {
    ns.apply(&[user(name, claim, script)]);
    ns.wait_phase(name, "Succeeded", SLOW);
    ns.ok(&["logs", name])
}

#[test]
fn default_class_claim_binds_on_first_use_and_keeps_data_across_pods_and_restart() {
    let mut k = K2d::start();
    let ns = TestNs::new(&k, "pvc");
    let _sweep = Sweep::new(&k, &ns);
    // The default class exists and is marked.
    let sc = k.ok(DEFAULT, &["get", "sc"]);
    assert!(sc.contains("local (default)   k2d.io/local"), "{sc}");

    ns.apply(&[claim("data", None, "1Gi")]);
    let c = get(&ns, "pvc/data");
    assert_eq!(c["spec"]["storageClassName"], "local", "default class at admission");
    assert_eq!(c["metadata"]["finalizers"], json!(["kubernetes.io/pvc-protection"]));
    // WaitForFirstConsumer: Pending until a pod uses it, and says why.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(get(&ns, "pvc/data")["status"]["phase"], "Pending");
    let d = ns.ok(&["describe", "pvc", "data"]);
    assert!(d.contains("waiting for first consumer to be created before binding"), "{d}");

    assert_eq!(run(&ns, "writer", "data", "echo kept > /data/f && cat /data/f"), "kept\n");
    let c = wait_claim(&ns, "data", "Bound");
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();
    let pv_name = format!("pvc-{uid}");
    assert_eq!(c["spec"]["volumeName"], pv_name.as_str());
    assert_eq!(c["status"]["capacity"]["storage"], "1Gi");
    for a in ["pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller"] {
        assert_eq!(c["metadata"]["annotations"][a], "yes", "{a}");
    }
    assert_eq!(
        c["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"],
        "k2d.io/local"
    );
    let pv = cluster_get(&k, &format!("pv/{pv_name}")).expect("the provisioned PV");
    assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(pv["spec"]["claimRef"]["name"], "data");
    assert_eq!(pv["status"]["phase"], "Bound");
    let docker_volume = format!("k2d-pvc-{uid}");
    assert_eq!(pv["spec"]["csi"]["volumeHandle"], docker_volume.as_str());
    assert!(docker_volume_exists(&docker_volume));
    let events = ns.ok(&["get", "events", "--field-selector", "involvedObject.name=data"]);
    assert!(events.contains("ProvisioningSucceeded"), "{events}");

    // Another pod sees the data.
    ns.ok(&["delete", "pod", "writer"]);
    assert_eq!(run(&ns, "reader", "data", "cat /data/f"), "kept\n");
    ns.ok(&["delete", "pod", "reader"]);

    // A restart keeps the binding and the data.
    let name = ns.detach();
    k.restart();
    let ns = TestNs::adopt(&k, name);
    let c = wait_claim(&ns, "data", "Bound");
    assert_eq!(c["spec"]["volumeName"], pv_name.as_str());
    assert_eq!(run(&ns, "after", "data", "cat /data/f"), "kept\n");

    // A claim in use stays (Terminating) until its pod is gone.
    ns.apply(&[user("holder", "data", "sleep 3600")]);
    ns.wait_running("holder", SLOW);
    ns.ok(&["delete", "pvc", "data", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(1));
    let row = ns.ok(&["get", "pvc", "data", "--no-headers"]);
    assert!(row.contains("Terminating"), "{row}");
    ns.ok(&["delete", "pod", "holder", "after", "--grace-period=0", "--force"]);
    // Delete policy: the PV and the Docker volume go with the claim.
    eventually("the claim to go", SLOW, || {
        (!ns.k.kubectl(DEFAULT, &["-n", &ns.name, "get", "pvc", "data"]).status.success())
            .then_some(())
    });
    eventually("the PV and its Docker volume to go", SLOW, || {
        (cluster_get(&k, &format!("pv/{pv_name}")).is_none()
            && !docker_volume_exists(&docker_volume))
        .then_some(())
    });
    ns.finish();
}

#[test]
fn immediate_classes_bind_at_once_and_retain_keeps_released_volumes() {
    let k = shared();
    let ns = TestNs::new(k, "imm");
    let _sweep = Sweep::new(k, &ns);
    let cls = format!("{}-retain", ns.name);
    k.ok_stdin(DEFAULT, &["apply", "-f", "-"], &class(&cls, "Immediate", "Retain").to_string());
    ns.apply(&[claim("keep", Some(&cls), "256Mi")]);
    let c = wait_claim(&ns, "keep", "Bound");
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();
    let (pv_name, docker_volume) = (format!("pvc-{uid}"), format!("k2d-pvc-{uid}"));
    assert_eq!(run(&ns, "w", "keep", "echo retained > /data/f && cat /data/f"), "retained\n");
    ns.ok(&["delete", "pod", "w"]);
    ns.ok(&["delete", "pvc", "keep"]);
    let pv = eventually("the PV to be Released", SLOW, || {
        cluster_get(k, &format!("pv/{pv_name}")).filter(|pv| pv["status"]["phase"] == "Released")
    });
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert!(docker_volume_exists(&docker_volume), "Retain keeps the Docker volume");
    let row = k.ok(DEFAULT, &["get", "pv", &pv_name, "--no-headers"]);
    assert!(row.contains("Released") && row.contains(&format!("{}/keep", ns.name)), "{row}");

    // Cleanup: what Retain kept is the administrator's to remove.
    k.ok(DEFAULT, &["delete", "pv", &pv_name]);
    k.ok(DEFAULT, &["delete", "sc", &cls]);
    let _ = docker(&["volume", "rm", &docker_volume]);
    ns.finish();
}

#[test]
fn a_static_host_path_volume_binds_by_name() {
    let k = shared();
    let ns = TestNs::new(k, "static");
    let _sweep = Sweep::new(k, &ns);
    let dir = k.root.join(format!("pv-{}", ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello"), "from the host\n").unwrap();
    let pv_name = format!("{}-pv", ns.name);
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "", "hostPath": {"path": dir.to_string_lossy()}}});
    k.ok_stdin(DEFAULT, &["apply", "-f", "-"], &pv.to_string());
    let pv = eventually("the PV to be Available", SLOW, || {
        cluster_get(k, &format!("pv/{pv_name}")).filter(|pv| pv["status"]["phase"] == "Available")
    });
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    let mut c = claim("host", Some(""), "1Gi");
    c["spec"]["volumeName"] = json!(pv_name);
    ns.apply(&[c]);
    let c = wait_claim(&ns, "host", "Bound");
    assert_eq!(c["status"]["capacity"]["storage"], "1Gi");
    assert_eq!(run(&ns, "cat", "host", "cat /data/hello"), "from the host\n");
    ns.ok(&["delete", "pod", "cat"]);
    ns.ok(&["delete", "pvc", "host"]);
    eventually("the static PV to be Released", SLOW, || {
        cluster_get(k, &format!("pv/{pv_name}")).filter(|pv| pv["status"]["phase"] == "Released")
    });
    assert!(dir.join("hello").exists(), "Retain leaves the host directory alone");
    k.ok(DEFAULT, &["delete", "pv", &pv_name]);
    ns.finish();
}

#[test]
fn kubectl_tables_validation_and_namespace_cleanup() {
    let k = shared();
    let ns = TestNs::new(k, "tables");
    let _sweep = Sweep::new(k, &ns);
    let cls = format!("{}-now", ns.name);
    k.ok_stdin(DEFAULT, &["apply", "-f", "-"], &class(&cls, "Immediate", "Delete").to_string());
    ns.apply(&[claim("now", Some(&cls), "64Mi"), claim("later", None, "1Gi")]);
    let c = wait_claim(&ns, "now", "Bound");
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();

    let out = ns.ok(&["get", "pvc"]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ]
    );
    let now: Vec<&str> =
        out.lines().find(|l| l.starts_with("now")).unwrap().split_whitespace().collect();
    let pv_name = format!("pvc-{uid}");
    assert_eq!(
        &now[..7],
        ["now", "Bound", pv_name.as_str(), "64Mi", "RWO", cls.as_str(), "<unset>"]
    );
    let later: Vec<&str> =
        out.lines().find(|l| l.starts_with("later")).unwrap().split_whitespace().collect();
    assert_eq!(&later[..4], ["later", "Pending", "local", "<unset>"]);
    let out = k.ok(DEFAULT, &["get", "pv", &pv_name]);
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("RECLAIM POLICY") && out.contains("CLAIM"), "{out}");
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    let claim_col = format!("{}/now", ns.name);
    assert_eq!(
        &row[..7],
        [pv_name.as_str(), "64Mi", "RWO", "Delete", "Bound", claim_col.as_str(), cls.as_str()]
    );
    let out = k.ok(DEFAULT, &["get", "sc"]);
    assert!(out.contains("PROVISIONER") && out.contains("VOLUMEBINDINGMODE"), "{out}");
    // Several kinds at once, by short names.
    let out = ns.ok(&["get", "pvc,pv,sc"]);
    for kind in [
        "persistentvolumeclaim/now",
        &format!("persistentvolume/{pv_name}"),
        "storageclass.storage.k8s.io/local",
    ] {
        assert!(out.contains(kind), "{kind} in {out}");
    }
    for what in [&format!("pv/{pv_name}"), &format!("sc/{cls}")] {
        let d = k.ok(DEFAULT, &["describe", what]);
        assert!(d.contains("Name:"), "{d}");
    }
    let d = ns.ok(&["describe", "pvc", "now"]);
    assert!(d.contains("Bound") && d.contains(&pv_name), "{d}");

    // OpenAPI (explain), strategic merge patches and field selectors.
    let out = k.ok(DEFAULT, &["explain", "pvc.spec.accessModes"]);
    assert!(out.contains("PersistentVolumeClaim"), "{out}");
    let out = k.ok(DEFAULT, &["explain", "sc.volumeBindingMode"]);
    assert!(out.contains("StorageClass"), "{out}");
    ns.ok(&["label", "pvc", "now", "tier=gold"]);
    let out = ns.ok(&[
        "get",
        "pvc",
        "-l",
        "tier=gold",
        "--field-selector",
        "metadata.name=now",
        "-o",
        "name",
    ]);
    assert_eq!(out.trim(), "persistentvolumeclaim/now");

    // Validation: 422s kubectl prints.
    let bad = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "bad"},
        "spec": {"resources": {}}});
    let err = k.fails_stdin(DEFAULT, &["-n", &ns.name, "apply", "-f", "-"], &bad.to_string());
    assert!(err.contains("spec.accessModes: Required value"), "{err}");
    assert!(err.contains("spec.resources[storage]: Required value"), "{err}");
    let err =
        ns.fails(&["patch", "pvc", "now", "-p", r#"{"spec":{"accessModes":["ReadWriteMany"]}}"#]);
    assert!(err.contains("spec is immutable after creation"), "{err}");

    // Deleting the namespace removes its claims and their Delete volumes.
    let docker_volume = format!("k2d-pvc-{uid}");
    assert!(docker_volume_exists(&docker_volume));
    ns.finish();
    eventually("the namespace's volumes to go", SLOW, || {
        (cluster_get(k, &format!("pv/{pv_name}")).is_none()
            && !docker_volume_exists(&docker_volume))
        .then_some(())
    });
    k.ok(DEFAULT, &["delete", "sc", &cls]);
}

/// An Immediate/Delete class of the test's own, and a claim of it bound.
fn bound_claim(k: &K2d, ns: &TestNs, claim_name: &str) -> (String, String, String) {
    let cls = format!("{}-del", ns.name);
    k.ok_stdin(DEFAULT, &["apply", "-f", "-"], &class(&cls, "Immediate", "Delete").to_string());
    ns.apply(&[claim(claim_name, Some(&cls), "64Mi")]);
    let c = wait_claim(ns, claim_name, "Bound");
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();
    (cls, format!("pvc-{uid}"), format!("k2d-pvc-{uid}"))
}

fn gone(k: &K2d, what: &str) -> bool {
    cluster_get(k, what).is_none()
}

#[test]
fn a_volume_deleted_while_bound_goes_with_its_claim_and_its_docker_volume() {
    let k = shared();
    let ns = TestNs::new(k, "pvdel");
    let _sweep = Sweep::new(k, &ns);
    let (cls, pv_name, docker_volume) = bound_claim(k, &ns, "data");
    assert!(docker_volume_exists(&docker_volume));
    // `kubectl delete -f app.yaml` with the PV listed before its claim.
    k.ok(DEFAULT, &["delete", "pv", &pv_name, "--wait=false"]);
    std::thread::sleep(Duration::from_secs(1));
    let row = k.ok(DEFAULT, &["get", "pv", &pv_name, "--no-headers"]);
    assert!(row.contains("Terminating"), "in use by its claim: {row}");
    ns.ok(&["delete", "pvc", "data"]);
    eventually("the PV and its Docker volume to go", SLOW, || {
        (gone(k, &format!("pv/{pv_name}")) && !docker_volume_exists(&docker_volume)).then_some(())
    });
    k.ok(DEFAULT, &["delete", "sc", &cls]);
    ns.finish();
}

#[test]
fn reclaim_keeps_docker_volumes_k2d_did_not_create() {
    let k = shared();
    let ns = TestNs::new(k, "foreignvol");
    let precious = format!("{}-precious", ns.name);
    common::docker_ok(&["volume", "create", &precious]);
    let pv_name = format!("{}-pv", ns.name);
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "", "persistentVolumeReclaimPolicy": "Delete",
            "csi": {"driver": "k2d.io/local", "volumeHandle": precious}}});
    k.ok_stdin(DEFAULT, &["apply", "-f", "-"], &pv.to_string());
    let mut c = claim("c", Some(""), "1Gi");
    c["spec"]["volumeName"] = json!(pv_name);
    ns.apply(&[c]);
    wait_claim(&ns, "c", "Bound");
    ns.ok(&["delete", "pvc", "c"]);
    let pv = eventually("the PV to fail to delete", SLOW, || {
        cluster_get(k, &format!("pv/{pv_name}")).filter(|pv| pv["status"]["phase"] == "Failed")
    });
    assert!(pv["status"]["message"].as_str().unwrap().contains("not created by this k2d"), "{pv}");
    let events = k.ok(
        DEFAULT,
        &["get", "events", "-A", "--field-selector", &format!("involvedObject.name={pv_name}")],
    );
    assert!(events.contains("VolumeFailedDelete"), "{events}");
    assert!(docker_volume_exists(&precious), "a volume k2d did not make stays");
    // Later passes leave it Failed and say it once.
    k.ok(DEFAULT, &["label", "pv", &pv_name, "touched=yes"]);
    std::thread::sleep(Duration::from_secs(2));
    let pv = cluster_get(k, &format!("pv/{pv_name}")).expect("the PV");
    assert_eq!(pv["status"]["phase"], "Failed");
    let events: Value = serde_json::from_str(&k.ok(
        DEFAULT,
        &[
            "get",
            "events",
            "-A",
            "-o",
            "json",
            "--field-selector",
            &format!("involvedObject.name={pv_name}"),
        ],
    ))
    .expect("events");
    let said: u64 = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "VolumeFailedDelete")
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(said, 1, "{events}");
    // Deleting the PV itself leaves the volume alone too.
    k.ok(DEFAULT, &["delete", "pv", &pv_name]);
    assert!(docker_volume_exists(&precious));
    common::docker_ok(&["volume", "rm", &precious]);
    ns.finish();
}

#[test]
fn a_finished_pods_volume_is_recreated_with_k2d_labels_and_reclaimed_once_the_pod_goes() {
    let k = shared();
    let ns = TestNs::new(k, "finished");
    let _sweep = Sweep::new(k, &ns);
    let (cls, pv_name, docker_volume) = bound_claim(k, &ns, "data");
    // The volume vanished from Docker: the pod that mounts it next gets it
    // back, labelled as the provisioner labels it.
    common::docker_ok(&["volume", "rm", &docker_volume]);
    assert_eq!(run(&ns, "done", "data", "echo x > /data/f && cat /data/f"), "x\n");
    let inspect: Value =
        serde_json::from_str(&common::docker_ok(&["volume", "inspect", &docker_volume]))
            .expect("docker volume inspect");
    let labels = &inspect[0]["Labels"];
    assert_eq!(labels["k2d.io/instance"], k.instance_id().as_str(), "{labels}");
    assert_eq!(labels["k2d.io/persistentvolume"], pv_name.as_str(), "{labels}");
    assert_eq!(labels["k2d.io/persistentvolumeclaim"], "data", "{labels}");

    // A finished pod does not protect its claim, but its stopped container
    // still holds the Docker volume: the PV waits, quietly, for the pod.
    ns.ok(&["delete", "pvc", "data"]);
    eventually("the PV to be Released", SLOW, || {
        cluster_get(k, &format!("pv/{pv_name}")).filter(|pv| pv["status"]["phase"] == "Released")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(docker_volume_exists(&docker_volume), "held by the finished pod's container");
    ns.ok(&["delete", "pod", "done"]);
    eventually("the PV and its Docker volume to go", Duration::from_secs(20), || {
        (gone(k, &format!("pv/{pv_name}")) && !docker_volume_exists(&docker_volume)).then_some(())
    });
    let log = std::fs::read_to_string(k.log_path()).unwrap_or_default();
    let noisy: Vec<&str> =
        log.lines().filter(|l| l.contains(&pv_name) && l.contains("WARN")).collect();
    assert!(noisy.is_empty(), "busy volumes are retried quietly: {noisy:?}");
    k.ok(DEFAULT, &["delete", "sc", &cls]);
    ns.finish();
}
