//! Issue 3 acceptance: restarting k2d (SIGKILL, then start on the same data
//! directory) ends with every pod's status correct and no duplicate
//! containers, including a change Docker saw while k2d was down. Its own k2d
//! (the harness' `restart()` needs one it owns) and its own test binary.

mod common;
mod pods_common;

use common::{K2d, docker_ok};
use pods_common::{TestNs, cstatus, label, pod, restart_count, sh};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const START: Duration = Duration::from_secs(60);

/// Per pod: (sandboxes, container attempts, running containers), by Docker.
fn census(ns: &TestNs, pod: &str) -> (usize, usize, usize) {
    let cs = ns.containers(Some(pod));
    let sandboxes =
        cs.iter().filter(|c| label(c, "io.kubernetes.docker.type") == "podsandbox").count();
    let attempts = cs.len() - sandboxes;
    let running = cs
        .iter()
        .filter(|c| {
            label(c, "io.kubernetes.docker.type") == "container" && c["State"]["Running"] == true
        })
        .count();
    (sandboxes, attempts, running)
}

fn id_of(ns: &TestNs, pod: &str) -> String {
    ns.container(pod, "c").expect("container")["Id"].as_str().unwrap_or("").to_string()
}

#[test]
fn k2d_restart_ends_with_every_pod_status_correct_and_no_duplicates() {
    let mut k = K2d::start();
    let ns = TestNs::new(&k, "k2drestart");
    ns.apply(&[
        pod("steady", vec![sh("c", "sleep 3600")], json!({})),
        pod("stopped", vec![sh("c", "sleep 3600")], json!({})),
        pod("done", vec![sh("c", "exit 0")], json!({"restartPolicy": "Never"})),
        pod("failed", vec![sh("c", "exit 2")], json!({"restartPolicy": "Never"})),
    ]);
    ns.wait_running("steady", START);
    ns.wait_running("stopped", START);
    ns.wait_phase("done", "Succeeded", START);
    ns.wait_phase("failed", "Failed", START);
    let before: HashMap<&str, String> =
        ["steady", "stopped", "done", "failed"].into_iter().map(|p| (p, id_of(&ns, p))).collect();
    let name = ns.detach();

    k.kill_9();
    // Behind the back of a k2d that is down.
    docker_ok(&["stop", "-t", "0", &before["stopped"]]);
    k.restart();

    let ns = TestNs::adopt(&k, name);
    // The container stopped while k2d was down is restarted (restartPolicy Always).
    let p = ns.wait_pod("stopped", "restarted after k2d came back", Duration::from_secs(30), |p| {
        restart_count(p, "c") == 1 && cstatus(p, "c")["state"]["running"].is_object()
    });
    assert_eq!(cstatus(&p, "c")["lastState"]["terminated"]["exitCode"], 137, "{}", p["status"]);
    // The untouched pod kept its container and its count.
    let p = ns.wait_running("steady", Duration::from_secs(10));
    assert_eq!(restart_count(&p, "c"), 0, "{}", p["status"]);
    assert_eq!(
        cstatus(&p, "c")["containerID"].as_str().unwrap_or(""),
        format!("docker://{}", before["steady"]),
        "steady was recreated"
    );
    // Finished pods stay finished, with their exit codes, and do not run again.
    let p = ns.pod("done").expect("done");
    assert_eq!(p["status"]["phase"], "Succeeded", "{}", p["status"]);
    let p = ns.pod("failed").expect("failed");
    assert_eq!(p["status"]["phase"], "Failed", "{}", p["status"]);
    assert_eq!(cstatus(&p, "c")["state"]["terminated"]["exitCode"], 2, "{}", p["status"]);
    // Let a few reconcile passes happen, then count what Docker has.
    std::thread::sleep(Duration::from_secs(3));
    for (pod, want) in
        [("steady", (1, 1, 1)), ("stopped", (1, 2, 1)), ("done", (1, 1, 0)), ("failed", (1, 1, 0))]
    {
        assert_eq!(census(&ns, pod), want, "{pod}: (sandboxes, attempts, running)");
    }
    assert_eq!(id_of(&ns, "done"), before["done"]);
    let all: Vec<Value> = ns.containers(None);
    println!("after the restart: {:?}", all.iter().map(|c| c["Name"].clone()).collect::<Vec<_>>());
    ns.finish();
}
