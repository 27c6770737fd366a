//! Issue 2 acceptance, durability: objects whose create was acknowledged
//! survive a SIGKILL with their resourceVersion, and resourceVersions keep
//! growing after the restart. Each test runs its own k2d.

mod common;

use common::{K2d, Req};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An acknowledged create: name, resourceVersion, uid, data value.
#[derive(Debug, Clone)]
struct Acked {
    name: String,
    rv: String,
    uid: String,
    value: String,
}

fn cm(name: &str, value: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"batch": "yes"}},
        "data": {"value": value}})
    .to_string()
}

fn acked_from(resp: &Value, value: &str) -> Acked {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Acked {
        name: s(&resp["metadata"]["name"]),
        rv: s(&resp["metadata"]["resourceVersion"]),
        uid: s(&resp["metadata"]["uid"]),
        value: value.to_string(),
    }
}

fn rv_num(rv: &str) -> u64 {
    rv.parse().unwrap_or_else(|_| panic!("resourceVersion {rv:?} is not a number"))
}

#[test]
fn acknowledged_creates_survive_sigkill() {
    let mut k = K2d::start();
    let ns = "durable";
    common::post(
        &k,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    );
    let path = format!("/api/v1/namespaces/{ns}/configmaps");

    // First batch: 50 objects, all acknowledged.
    let mut acked = Vec::new();
    for i in 0..50 {
        let value = format!("first-{i}");
        let r = k.curl(Req::post_json(&path, &cm(&format!("first-{i}"), &value)));
        assert_eq!(r.status, 201, "{}", r.body);
        acked.push(acked_from(&r.json(), &value));
    }

    // Second batch from another thread, cut short by SIGKILL.
    let client = k.client();
    let second: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (second, stop, path) = (second.clone(), stop.clone(), path.clone());
        std::thread::spawn(move || {
            for i in 0..1000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let value = format!("second-{i}");
                match client.try_curl(Req::post_json(&path, &cm(&format!("second-{i}"), &value))) {
                    Ok(r) if r.status == 201 => {
                        let v: Value = serde_json::from_str(&r.body).expect("201 body is JSON");
                        second.lock().unwrap().push(acked_from(&v, &value));
                    }
                    // Not acknowledged: the server died during or before it.
                    _ => break,
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while second.lock().unwrap().len() < 15 {
        assert!(Instant::now() < deadline, "the second batch made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    k.kill_9();
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer thread");
    let second = second.lock().unwrap().clone();
    assert!(second.len() >= 15);
    acked.extend(second.iter().cloned());

    k.restart();
    let mut max_rv = 0;
    for a in &acked {
        let (code, obj) = k.get_json(&format!("{path}/{}", a.name));
        assert_eq!(code, 200, "acknowledged {} lost after SIGKILL: {obj}", a.name);
        assert_eq!(
            obj["metadata"]["resourceVersion"],
            a.rv.as_str(),
            "{} resourceVersion changed: {obj}",
            a.name
        );
        assert_eq!(obj["metadata"]["uid"], a.uid.as_str(), "{obj}");
        assert_eq!(obj["data"]["value"], a.value.as_str(), "{obj}");
        max_rv = max_rv.max(rv_num(&a.rv));
    }
    // Versions were handed out in order.
    let rvs: Vec<u64> = acked.iter().map(|a| rv_num(&a.rv)).collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "resourceVersions not increasing: {rvs:?}");

    // The list agrees, and a new write is numbered after everything seen.
    let (code, list) = k.get_json(&format!("{path}?labelSelector=batch%3Dyes"));
    assert_eq!(code, 200);
    let items = list["items"].as_array().map(Vec::len).unwrap_or(0);
    assert!(items >= acked.len(), "list has {items} objects, {} were acknowledged", acked.len());
    assert!(
        rv_num(list["metadata"]["resourceVersion"].as_str().unwrap_or("0")) >= max_rv,
        "{}",
        list["metadata"]
    );

    let r = k.curl(Req::post_json(&path, &cm("after-restart", "new")));
    assert_eq!(r.status, 201, "{}", r.body);
    let new_rv = rv_num(r.json()["metadata"]["resourceVersion"].as_str().unwrap_or("0"));
    assert!(new_rv > max_rv, "new resourceVersion {new_rv} is not above {max_rv}");
    let patch = br#"{"data":{"value":"updated"}}"#;
    let r = k.curl(Req::with_body(
        "PATCH",
        &format!("{path}/first-0"),
        "application/merge-patch+json",
        patch,
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let upd_rv = rv_num(r.json()["metadata"]["resourceVersion"].as_str().unwrap_or("0"));
    assert!(upd_rv > new_rv, "update got {upd_rv}, after {new_rv}");

    // kubectl sees them too.
    let out = k.ok(common::DEFAULT, &["-n", ns, "get", "cm", "-l", "batch=yes", "-o", "name"]);
    assert!(out.lines().count() > acked.len(), "{out}");
}

#[test]
fn restart_keeps_pki_token_kubeconfig_and_rv_counter() {
    let mut k = K2d::start();
    let ca = std::fs::read(k.ca()).unwrap();
    let token = k.token();
    let cfg = std::fs::read_to_string(k.kubeconfig()).unwrap();
    common::post(
        &k,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "keep"}}),
    );
    common::seed_cm(&k, "keep", "a", &[("k", "v")], &[]);
    let (_, obj) = k.get_json("/api/v1/namespaces/keep/configmaps/a");
    let rv = rv_num(obj["metadata"]["resourceVersion"].as_str().unwrap_or("0"));
    // Deleting bumps the counter too: the restarted server must not reuse it.
    let r = k.curl(Req { method: "DELETE", ..Req::get("/api/v1/namespaces/keep/configmaps/a") });
    assert_eq!(r.status, 200, "{}", r.body);

    k.restart();
    assert_eq!(std::fs::read(k.ca()).unwrap(), ca, "the CA changed across a restart");
    assert_eq!(k.token(), token, "the generated token changed across a restart");
    assert_eq!(std::fs::read_to_string(k.kubeconfig()).unwrap(), cfg, "the kubeconfig changed");
    // The kubeconfig written before the restart still works.
    let out = k.ok(common::DEFAULT, &["get", "ns", "keep", "-o", "name"]);
    assert_eq!(out.trim(), "namespace/keep");
    let r = k.curl(Req::get("/api/v1/namespaces/keep/configmaps/a"));
    assert_eq!(r.status, 404, "a deleted object came back: {}", r.body);
    common::seed_cm(&k, "keep", "b", &[("k", "v")], &[]);
    let (_, obj) = k.get_json("/api/v1/namespaces/keep/configmaps/b");
    let rv2 = rv_num(obj["metadata"]["resourceVersion"].as_str().unwrap_or("0"));
    assert!(rv2 > rv + 1, "resourceVersion {rv2} after restart, {rv} and a delete before it");
}
