//! Issue 3 acceptance, pods on Docker, with real kubectl and the real Docker
//! daemon and the local busybox image. All tests share one k2d; each works in
//! its own namespace, deletes it at the end and checks that no container of
//! it is left. k2d and dockerd restarts live in tests/pods_restart.rs and
//! tests/pods_dockerd.rs (their own processes, their own k2d/dockerd).

mod common;
mod pods_common;

use common::{DEFAULT, docker, docker_ok, shared};
use pods_common::{IMAGE, TestNs, cstatus, label, pod, restart_count, row, sh, waiting_reason};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const START: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ basics

#[test]
fn kubectl_run_starts_a_running_pod() {
    let k = shared();
    let ns = TestNs::new(k, "run");
    let out = ns.ok(&[
        "run",
        "web",
        &format!("--image={IMAGE}"),
        "--image-pull-policy=IfNotPresent",
        "--command",
        "--",
        "sleep",
        "3600",
    ]);
    assert!(out.contains("pod/web created"), "{out}");
    let p = ns.wait_running("web", START);
    assert_eq!(p["metadata"]["labels"]["run"], "web", "{}", p["metadata"]);
    let c = cstatus(&p, "web");
    assert_eq!(c["image"], IMAGE, "{c}");
    assert!(c["containerID"].as_str().unwrap_or("").starts_with("docker://"), "{c}");
    assert!(c["state"]["running"]["startedAt"].is_string(), "{c}");
    let cols = row(k, &ns.name, "web", &[]);
    assert_eq!(&cols[..4], ["web", "1/1", "Running", "0"], "{cols:?}");
    // A sandbox plus the container, both running.
    let cs = ns.containers(Some("web"));
    assert_eq!(cs.len(), 2, "{cs:#?}");
    assert!(cs.iter().all(|c| c["State"]["Running"] == true), "{cs:#?}");
    ns.finish();
}

#[test]
fn two_containers_of_a_pod_talk_over_localhost() {
    let k = shared();
    let ns = TestNs::new(k, "localhost");
    ns.apply(&[pod(
        "duo",
        vec![
            sh(
                "server",
                "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www",
            ),
            sh(
                "client",
                "while true; do wget -q -O - http://localhost:8080/ || echo wget-failed; sleep 1; done",
            ),
        ],
        json!({}),
    )]);
    ns.wait_running("duo", START);
    // Read through Docker, so this test does not depend on `kubectl logs`.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = ns.docker_logs("duo", "client");
        if logs.contains("hello-from-server") {
            break;
        }
        assert!(Instant::now() < deadline, "client never reached localhost:8080; its log:\n{logs}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Both share the sandbox's network namespace.
    let sandbox = ns
        .containers(Some("duo"))
        .into_iter()
        .find(|c| label(c, "io.kubernetes.docker.type") == "podsandbox")
        .expect("a sandbox container");
    let sid = sandbox["Id"].as_str().unwrap_or_default();
    for cname in ["server", "client"] {
        let c = ns.container("duo", cname).expect(cname);
        assert_eq!(
            c["HostConfig"]["NetworkMode"].as_str().unwrap_or(""),
            format!("container:{sid}"),
            "{cname} does not join the sandbox"
        );
    }
    ns.finish();
}

#[test]
fn init_containers_run_to_completion_in_order_before_the_main_container() {
    let k = shared();
    let ns = TestNs::new(k, "init");
    let mut p = pod(
        "boot",
        vec![sh("main", "cat /work/order; sleep 3600")],
        json!({
            "initContainers": [
                sh("first", "echo first > /work/order"),
                sh("second", "sleep 2; echo second >> /work/order"),
            ],
            "volumes": [{"name": "work", "emptyDir": {}}],
        }),
    );
    for list in ["initContainers", "containers"] {
        for c in p["spec"][list].as_array_mut().unwrap() {
            c["volumeMounts"] = json!([{"name": "work", "mountPath": "/work"}]);
        }
    }
    ns.apply(&[p]);
    // While the second init container sleeps, the pod is initializing.
    let during = ns.wait_pod("boot", "initializing (Init:1/2)", Duration::from_secs(30), |p| {
        cstatus(p, "second")["state"]["running"].is_object()
    });
    assert_eq!(during["status"]["phase"], "Pending", "{}", during["status"]);
    assert_eq!(waiting_reason(&during, "main"), "PodInitializing", "{}", during["status"]);
    let cols = row(k, &ns.name, "boot", &[]);
    assert_eq!(cols[2], "Init:1/2", "{cols:?}");
    assert!(ns.container("boot", "main").is_none(), "main container exists before init finished");

    let p = ns.wait_running("boot", START);
    for init in ["first", "second"] {
        let t = &cstatus(&p, init)["state"]["terminated"];
        assert_eq!(t["exitCode"], 0, "{init}: {}", p["status"]);
        assert_eq!(t["reason"], "Completed", "{init}: {}", p["status"]);
    }
    let cond = |t: &str| {
        p["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == t))
            .map(|c| c["status"].clone())
    };
    assert_eq!(cond("Initialized"), Some(json!("True")), "{}", p["status"]);
    // Docker's own timestamps: each starts after the previous one finished.
    let time = |cname: &str, field: &str| {
        let c = ns.container("boot", cname).unwrap_or_else(|| panic!("no container {cname}"));
        c["State"][field].as_str().unwrap_or_default().to_string()
    };
    assert!(time("second", "StartedAt") >= time("first", "FinishedAt"));
    assert!(time("main", "StartedAt") >= time("second", "FinishedAt"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ns.docker_logs("boot", "main").contains("second") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ns.docker_logs("boot", "main"), "first\nsecond\n");
    ns.finish();
}

#[test]
fn sidecars_run_beside_the_app_and_stop_when_it_is_done() {
    let k = shared();
    let ns = TestNs::new(k, "sidecar");
    // The sidecar serves on localhost; the init container after it and the app use it, so
    // they can only succeed while it runs beside them.
    let mut proxy = sh(
        "proxy",
        "mkdir -p /www && echo from-sidecar > /www/index.html && exec httpd -f -p 8080 -h /www",
    );
    proxy["restartPolicy"] = json!("Always");
    let init = sh("check", "wget -qO- localhost:8080");
    let app = |script: &str| sh("app", script);
    let spec = |policy: &str| json!({"restartPolicy": policy, "initContainers": [proxy.clone(), init.clone()]});
    ns.apply(&[
        pod("long", vec![app("wget -qO- localhost:8080; sleep 3600")], spec("Always")),
        pod("job", vec![app("sleep 2; wget -qO- localhost:8080")], spec("Never")),
    ]);
    let p = ns.wait_running("long", START);
    assert!(cstatus(&p, "proxy")["state"]["running"].is_object(), "{}", p["status"]);
    assert_eq!(cstatus(&p, "proxy")["started"], true, "{}", p["status"]);
    assert_eq!(cstatus(&p, "check")["state"]["terminated"]["exitCode"], 0, "{}", p["status"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ns.docker_logs("long", "app").contains("from-sidecar") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ns.docker_logs("long", "app"), "from-sidecar\n");
    // The sidecar counts as a container of the pod, as kube-apiserver prints it.
    let cols = row(k, &ns.name, "long", &[]);
    assert_eq!(cols[1..3], ["2/2", "Running"], "{cols:?}");

    // A run-to-completion pod: once its app is done, the sidecar is stopped and the pod
    // Succeeds (it would run forever otherwise).
    let done = ns.wait_phase("job", "Succeeded", START);
    assert_eq!(cstatus(&done, "app")["state"]["terminated"]["exitCode"], 0, "{}", done["status"]);
    assert!(cstatus(&done, "proxy")["state"]["terminated"].is_object(), "{}", done["status"]);
    assert_eq!(ns.docker_logs("job", "app"), "from-sidecar\n");
    ns.finish();
}

#[test]
fn get_pods_wide_shows_ip_and_node() {
    let k = shared();
    let ns = TestNs::new(k, "wide");
    ns.apply(&[pod("w", vec![sh("c", "sleep 3600")], json!({}))]);
    let p = ns.wait_running("w", START);
    let node = k.ok(DEFAULT, &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    assert!(!node.is_empty());
    let out = ns.ok(&["get", "pods", "-o", "wide"]);
    let header: Vec<&str> = out.lines().next().unwrap_or("").split_whitespace().collect();
    let cols: Vec<&str> =
        out.lines().find(|l| l.starts_with("w ")).unwrap_or("").split_whitespace().collect();
    let at = |name: &str| {
        let i = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{out}"));
        cols.get(i).copied().unwrap_or("")
    };
    let ip = at("IP");
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "IP column {ip:?} in:\n{out}");
    assert_eq!(at("NODE"), node, "{out}");
    assert_eq!(p["status"]["podIP"], ip, "{}", p["status"]);
    assert_eq!(p["spec"]["nodeName"], node.as_str());
    assert!(p["status"]["hostIP"].is_string(), "{}", p["status"]);
    // The IP is the sandbox's address on k2d's network.
    let sandbox = ns
        .containers(Some("w"))
        .into_iter()
        .find(|c| label(c, "io.kubernetes.docker.type") == "podsandbox")
        .expect("sandbox");
    let sip = sandbox["NetworkSettings"]["Networks"]["k2d"]["IPAddress"].as_str().unwrap_or("");
    assert_eq!(sip, ip);
    ns.finish();
}

#[test]
fn describe_pod_lists_events_in_order() {
    let k = shared();
    let ns = TestNs::new(k, "describe");
    ns.apply(&[pod("d", vec![sh("c", "sleep 3600")], json!({}))]);
    ns.wait_running("d", START);
    // Events may be written just after the status; give them a moment.
    let mut out = String::new();
    let mut reasons = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        out = ns.ok(&["describe", "pod", "d"]);
        let events = out.split("\nEvents:").nth(1).unwrap_or("");
        reasons = events
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                matches!(cols.first(), Some(&"Normal") | Some(&"Warning"))
                    .then(|| cols.get(1).unwrap_or(&"").to_string())
            })
            .collect();
        if reasons.iter().any(|r| r == "Started") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let pos = |r: &str| reasons.iter().position(|x| x == r);
    let (sched, created, started) = (pos("Scheduled"), pos("Created"), pos("Started"));
    let pulled = pos("Pulling").or(pos("Pulled"));
    assert!(
        sched.is_some() && pulled.is_some() && created.is_some() && started.is_some(),
        "events {reasons:?} in:\n{out}"
    );
    assert!(sched < pulled && pulled < created && created < started, "order {reasons:?}:\n{out}");
    for want in ["Status:", "Running", "IP:", "Node:", "Containers:", "Conditions:"] {
        assert!(out.contains(want), "describe lacks {want:?}:\n{out}");
    }
    assert!(out.contains("Successfully assigned"), "{out}");
    ns.finish();
}

// ------------------------------------------------------------------ logs

#[test]
fn logs_tail_and_container() {
    let k = shared();
    let ns = TestNs::new(k, "logs");
    ns.apply(&[pod(
        "two",
        vec![
            sh("a", "for i in 1 2 3 4 5; do echo a-line-$i; done; sleep 3600"),
            sh("b", "for i in 1 2 3; do echo b-line-$i; done; sleep 3600"),
        ],
        json!({}),
    )]);
    ns.wait_running("two", START);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(ns.docker_logs("two", "a").contains("a-line-5")
        && ns.docker_logs("two", "b").contains("b-line-3"))
    {
        assert!(Instant::now() < deadline, "containers printed nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        ns.ok(&["logs", "two", "-c", "a"]),
        "a-line-1\na-line-2\na-line-3\na-line-4\na-line-5\n"
    );
    assert_eq!(ns.ok(&["logs", "two", "-c", "b"]), "b-line-1\nb-line-2\nb-line-3\n");
    assert_eq!(ns.ok(&["logs", "two", "-c", "a", "--tail=2"]), "a-line-4\na-line-5\n");
    assert_eq!(ns.ok(&["logs", "pod/two", "--container=b", "--tail", "1"]), "b-line-3\n");
    // Without -c, kubectl picks the first container (and says so on stderr).
    let first = ns.ok(&["logs", "two"]);
    assert!(first.contains("a-line-1") && !first.contains("b-line"), "{first}");
    // A container the pod does not have.
    let err = ns.fails(&["logs", "two", "-c", "nope"]);
    assert!(err.contains("nope"), "{err}");
    ns.finish();
}

#[test]
fn logs_follow_streams_lines_as_they_are_written() {
    let k = shared();
    let ns = TestNs::new(k, "logsf");
    ns.apply(&[
        pod(
            "ticker",
            vec![sh("t", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done")],
            json!({}),
        ),
        pod(
            "short",
            vec![sh("s", "for i in 1 2 3; do echo short $i; sleep 1; done")],
            json!({"restartPolicy": "Never"}),
        ),
    ]);
    ns.wait_running("ticker", START);
    let mut f = k.kubectl_spawn(DEFAULT, &["-n", &ns.name, "logs", "-f", "ticker"]);
    f.expect_line("a tick", Duration::from_secs(10), |l| l.starts_with("tick "));
    // Lines arrive one by one, about a second apart, while the follow is open.
    let mut arrivals = Vec::new();
    for _ in 0..3 {
        let Some(line) = f.next_line(Duration::from_secs(5)) else {
            let stderr = f.stop();
            panic!("no live line within 5 s; saw {:?}\nstderr: {stderr}", f.seen)
        };
        assert!(line.starts_with("tick "), "{line}");
        arrivals.push(Instant::now());
    }
    let spread = arrivals[2] - arrivals[0];
    assert!(spread >= Duration::from_millis(1200), "3 ticks came within {spread:?}: buffered?");
    let nums: Vec<u32> =
        f.seen.iter().filter_map(|l| l.strip_prefix("tick ")?.parse().ok()).collect();
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "ticks out of order: {nums:?}");
    f.stop();

    // A follow ends by itself when its container stops.
    ns.wait_pod("short", "started", START, |p| {
        let s = &cstatus(p, "s")["state"];
        s["running"].is_object() || s["terminated"].is_object()
    });
    let mut s = k.kubectl_spawn(DEFAULT, &["-n", &ns.name, "logs", "-f", "short"]);
    let st = s.wait_exit(Duration::from_secs(20));
    let stderr = s.stop();
    assert!(
        st.is_some_and(|st| st.success()),
        "logs -f did not end with its container ({st:?}): {stderr}"
    );
    assert_eq!(s.seen.last().map(String::as_str), Some("short 3"), "{:?}", s.seen);
    ns.finish();
}

#[test]
fn logs_previous_shows_the_crashed_attempt() {
    let k = shared();
    let ns = TestNs::new(k, "logsprev");
    let mut c = sh(
        "c",
        "n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo attempt $n; \
         if [ $n = 1 ]; then exit 1; fi; sleep 3600",
    );
    c["volumeMounts"] = json!([{"name": "d", "mountPath": "/d"}]);
    ns.apply(&[pod("crashy", vec![c], json!({"volumes": [{"name": "d", "emptyDir": {}}]}))]);
    let p = ns.wait_pod("crashy", "restarted once and running", Duration::from_secs(40), |p| {
        restart_count(p, "c") == 1 && cstatus(p, "c")["state"]["running"].is_object()
    });
    assert_eq!(cstatus(&p, "c")["lastState"]["terminated"]["exitCode"], 1, "{}", p["status"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ns.docker_logs("crashy", "c").contains("attempt 2") {
        assert!(Instant::now() < deadline, "second attempt printed nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ns.ok(&["logs", "crashy", "--previous"]), "attempt 1\n");
    assert_eq!(ns.ok(&["logs", "crashy", "-p", "-c", "c"]), "attempt 1\n");
    assert_eq!(ns.ok(&["logs", "crashy"]), "attempt 2\n");
    ns.finish();
}

// ------------------------------------------------------------------ delete and wait

#[test]
fn delete_waits_until_the_containers_are_gone() {
    let k = shared();
    let ns = TestNs::new(k, "delete");
    ns.apply(&[pod(
        "victim",
        vec![sh("c", "trap 'echo got TERM; exit 0' TERM; while true; do sleep 1; done")],
        json!({"terminationGracePeriodSeconds": 30}),
    )]);
    ns.wait_running("victim", START);
    assert_eq!(ns.containers(Some("victim")).len(), 2);
    let t0 = Instant::now();
    let out = ns.ok(&["delete", "pod", "victim", "--timeout=60s"]);
    let took = t0.elapsed();
    println!("delete of a pod that exits on SIGTERM took {took:?}");
    assert!(out.contains("pod \"victim\" deleted"), "{out}");
    // kubectl returned: the object is gone and so is every container.
    assert!(ns.pod("victim").is_none());
    let left = ns.containers(Some("victim"));
    assert!(left.is_empty(), "containers left after delete returned: {left:#?}");
    // SIGTERM was honoured (not the 30 s grace period followed by SIGKILL).
    assert!(took < Duration::from_secs(20), "delete took {took:?}");

    // --force --grace-period=0 of a container that ignores SIGTERM.
    ns.apply(&[pod(
        "stubborn",
        vec![sh("c", "trap '' TERM; while true; do sleep 1; done")],
        json!({"terminationGracePeriodSeconds": 60}),
    )]);
    ns.wait_running("stubborn", START);
    let t0 = Instant::now();
    ns.ok(&["delete", "pod", "stubborn", "--force", "--grace-period=0"]);
    // A forced delete returns at once in Kubernetes; the containers go right after.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ns.containers(Some("stubborn")).is_empty() {
        assert!(Instant::now() < deadline, "containers of a force-deleted pod still there");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("force delete to containers gone: {:?}", t0.elapsed());
    ns.finish();
}

#[test]
fn wait_for_condition_ready() {
    let k = shared();
    let ns = TestNs::new(k, "wait");
    // Starts slowly: an init container holds it back 3 s.
    ns.apply(&[pod(
        "slow",
        vec![sh("c", "sleep 3600")],
        json!({"initContainers": [sh("hold", "sleep 3")]}),
    )]);
    let t0 = Instant::now();
    let out = ns.ok(&["wait", "--for=condition=Ready", "pod/slow", "--timeout=60s"]);
    assert!(out.contains("pod/slow condition met"), "{out}");
    assert!(t0.elapsed() >= Duration::from_secs(2), "Ready before the init container finished");
    let p = ns.pod("slow").expect("pod");
    assert_eq!(p["status"]["phase"], "Running");
    ns.ok(&["wait", "--for=jsonpath={.status.phase}=Running", "pod/slow", "--timeout=10s"]);
    ns.finish();
}

// ------------------------------------------------------------------ images

/// What scripts/setup-registry.sh prints: `KEY=value` lines.
fn registries() -> std::collections::HashMap<String, String> {
    static ONCE: std::sync::Mutex<Option<std::collections::HashMap<String, String>>> =
        std::sync::Mutex::new(None);
    let mut g = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = &*g {
        return m.clone();
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-registry.sh");
    let out = std::process::Command::new(&script).output().expect("running setup-registry.sh");
    assert!(
        out.status.success(),
        "scripts/setup-registry.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    *g = Some(m.clone());
    m
}

#[test]
fn image_that_exists_nowhere_fails_visibly_and_does_not_hold_up_others() {
    let k = shared();
    let ns = TestNs::new(k, "badimage");
    let mut bad = sh("c", "sleep 3600");
    bad["image"] = json!("k2d-test/does-not-exist-anywhere:1");
    ns.apply(&[
        pod("bad", vec![bad], json!({})),
        pod("good", vec![sh("c", "sleep 3600")], json!({})),
    ]);
    ns.wait_running("good", Duration::from_secs(30));
    let p = ns.wait_pod("bad", "ErrImagePull/ImagePullBackOff", Duration::from_secs(30), |p| {
        matches!(waiting_reason(p, "c"), "ErrImagePull" | "ImagePullBackOff")
    });
    assert_eq!(p["status"]["phase"], "Pending", "{}", p["status"]);
    let msg = cstatus(&p, "c")["state"]["waiting"]["message"].as_str().unwrap_or("").to_string();
    assert!(!msg.is_empty(), "waiting without a message: {}", p["status"]);
    // Events say why.
    let events = ns.events_of("bad");
    let failed = events
        .iter()
        .find(|e| {
            e["reason"] == "Failed"
                && e["message"].as_str().unwrap_or("").contains("does-not-exist-anywhere")
        })
        .unwrap_or_else(|| panic!("no Failed event naming the image: {events:#?}"));
    assert_eq!(failed["type"], "Warning");
    println!("pull failure event: {}", failed["message"]);
    // It backs off and kubectl shows that.
    let p = ns.wait_pod("bad", "ImagePullBackOff", Duration::from_secs(30), |p| {
        waiting_reason(p, "c") == "ImagePullBackOff"
    });
    let cols = row(k, &ns.name, "bad", &[]);
    assert!(
        matches!(cols[2].as_str(), "ImagePullBackOff" | "ErrImagePull"),
        "{cols:?} {}",
        p["status"]
    );
    assert!(ns.container("bad", "c").is_none());
    ns.finish();
}

#[test]
fn pull_from_a_local_registry() {
    let k = shared();
    let reg = registries();
    let ns = TestNs::new(k, "registry");
    let image = format!("{}/k2d-test/busybox:1", reg["K2D_REGISTRY"]);
    let mut c = sh("c", "sleep 3600");
    c["image"] = json!(image);
    c["imagePullPolicy"] = json!("Always");
    ns.apply(&[pod("pulled", vec![c], json!({}))]);
    let p = ns.wait_running("pulled", START);
    assert_eq!(cstatus(&p, "c")["image"], image.as_str());
    assert!(
        cstatus(&p, "c")["imageID"].as_str().unwrap_or("").contains("sha256:"),
        "{}",
        p["status"]
    );
    let events = ns.events_of("pulled");
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(reasons.contains(&"Pulling") && reasons.contains(&"Pulled"), "{events:#?}");
    ns.finish();
}

#[test]
fn pull_with_image_pull_secrets_from_an_authenticating_registry() {
    let k = shared();
    let reg = registries();
    let ns = TestNs::new(k, "regauth");
    let server = &reg["K2D_AUTH_REGISTRY"];
    let image = format!("{server}/k2d-test/busybox:1");
    let mut c = sh("c", "sleep 3600");
    c["image"] = json!(image);
    c["imagePullPolicy"] = json!("Always");
    // Without credentials the registry refuses.
    ns.apply(&[pod("anon", vec![c.clone()], json!({}))]);
    let p = ns.wait_pod("anon", "ErrImagePull/ImagePullBackOff", Duration::from_secs(30), |p| {
        matches!(waiting_reason(p, "c"), "ErrImagePull" | "ImagePullBackOff")
    });
    println!("without credentials: {}", cstatus(&p, "c")["state"]["waiting"]);
    // With a docker-registry secret it pulls.
    ns.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={server}"),
        &format!("--docker-username={}", reg["K2D_AUTH_REGISTRY_USER"]),
        &format!("--docker-password={}", reg["K2D_AUTH_REGISTRY_PASSWORD"]),
    ]);
    ns.apply(&[pod("authed", vec![c], json!({"imagePullSecrets": [{"name": "regcred"}]}))]);
    let p = ns.wait_running("authed", START);
    assert_eq!(cstatus(&p, "c")["image"], image.as_str());
    // The pod without credentials still fails (Always asks the registry every time).
    let anon = ns.pod("anon").expect("anon");
    assert!(
        matches!(waiting_reason(&anon, "c"), "ErrImagePull" | "ImagePullBackOff"),
        "{}",
        anon["status"]
    );
    ns.finish();
}

// ------------------------------------------------------------------ restart policies

#[test]
fn restart_policy_always_crash_loops_with_growing_restart_count() {
    let k = shared();
    let ns = TestNs::new(k, "crashloop");
    ns.apply(&[pod("loop", vec![sh("c", "echo boom; exit 3")], json!({}))]);
    let p = ns.wait_pod("loop", "CrashLoopBackOff", Duration::from_secs(30), |p| {
        waiting_reason(p, "c") == "CrashLoopBackOff"
    });
    let first = restart_count(&p, "c");
    assert_eq!(cstatus(&p, "c")["lastState"]["terminated"]["exitCode"], 3, "{}", p["status"]);
    assert_eq!(
        p["status"]["phase"], "Running",
        "a crash-looping pod stays Running: {}",
        p["status"]
    );
    let cols = row(k, &ns.name, "loop", &[]);
    assert_eq!(cols[2], "CrashLoopBackOff", "{cols:?}");
    // Back-off 10 s, then 20 s: the count grows within ~40 s.
    let p = ns.wait_pod("loop", "restartCount growing to 2", Duration::from_secs(50), |p| {
        restart_count(p, "c") > first && restart_count(p, "c") >= 2
    });
    println!("restartCount {first} -> {}", restart_count(&p, "c"));
    let events = ns.events_of("loop");
    assert!(
        events.iter().any(|e| e["reason"] == "BackOff" && e["type"] == "Warning"),
        "{events:#?}"
    );
    // Old attempts do not pile up: at most the current and the previous one.
    let attempts = ns.containers(Some("loop")).len() - 1;
    assert!(attempts <= 2, "{attempts} attempts kept");
    ns.finish();
}

#[test]
fn a_container_that_cannot_start_is_retried_with_back_off() {
    let k = shared();
    let ns = TestNs::new(k, "starterror");
    let mut c = sh("c", "");
    c["command"] = json!(["/nonexistent"]);
    ns.apply(&[pod("nostart", vec![c], json!({}))]);
    // Docker never started these attempts, so it reports no finish time; the back-off
    // still runs out (at once, then 10 s) and the count grows as the kubelet's does.
    let p = ns.wait_pod("nostart", "restartCount 2", Duration::from_secs(40), |p| {
        restart_count(p, "c") >= 2
    });
    let last = &cstatus(&p, "c")["lastState"]["terminated"];
    assert_eq!(last["reason"], "StartError", "{}", p["status"]);
    assert_eq!(last["exitCode"], 127, "{}", p["status"]);
    ns.finish();
}

#[test]
fn restart_policy_never_ends_failed_with_the_exit_code() {
    let k = shared();
    let ns = TestNs::new(k, "never");
    ns.apply(&[pod("once", vec![sh("c", "echo bye; exit 7")], json!({"restartPolicy": "Never"}))]);
    let p = ns.wait_phase("once", "Failed", Duration::from_secs(30));
    let t = &cstatus(&p, "c")["state"]["terminated"];
    assert_eq!(t["exitCode"], 7, "{}", p["status"]);
    assert_eq!(t["reason"], "Error", "{}", p["status"]);
    assert_eq!(restart_count(&p, "c"), 0);
    let cols = row(k, &ns.name, "once", &[]);
    assert_eq!(&cols[1..4], ["0/1", "Error", "0"], "{cols:?}");
    // And it stays so.
    std::thread::sleep(Duration::from_secs(3));
    let p = ns.pod("once").expect("pod");
    assert_eq!(p["status"]["phase"], "Failed");
    assert_eq!(
        ns.containers(Some("once"))
            .iter()
            .filter(|c| label(c, "io.kubernetes.docker.type") == "container")
            .count(),
        1
    );
    ns.finish();
}

#[test]
fn restart_policy_on_failure_stops_restarting_after_success() {
    let k = shared();
    let ns = TestNs::new(k, "onfailure");
    let mut c = sh(
        "c",
        "if [ -f /d/marker ]; then echo second try; exit 0; fi; touch /d/marker; echo first try; exit 1",
    );
    c["volumeMounts"] = json!([{"name": "d", "mountPath": "/d"}]);
    ns.apply(&[pod(
        "retry",
        vec![c],
        json!({"restartPolicy": "OnFailure", "volumes": [{"name": "d", "emptyDir": {}}]}),
    )]);
    let p = ns.wait_phase("retry", "Succeeded", Duration::from_secs(40));
    let cs = cstatus(&p, "c");
    assert_eq!(cs["state"]["terminated"]["exitCode"], 0, "{}", p["status"]);
    assert_eq!(cs["state"]["terminated"]["reason"], "Completed", "{}", p["status"]);
    assert_eq!(cs["restartCount"], 1, "{}", p["status"]);
    // No further restarts after success.
    std::thread::sleep(Duration::from_secs(12));
    let p = ns.pod("retry").expect("pod");
    assert_eq!(p["status"]["phase"], "Succeeded");
    assert_eq!(restart_count(&p, "c"), 1, "{}", p["status"]);
    let cols = row(k, &ns.name, "retry", &[]);
    assert_eq!(&cols[1..4], ["0/1", "Completed", "1"], "{cols:?}");
    ns.finish();
}

// ------------------------------------------------------------------ volumes

#[test]
fn configmap_edit_reaches_the_mounted_file_of_a_running_pod() {
    let k = shared();
    let ns = TestNs::new(k, "cmedit");
    let mut c = sh("c", "while true; do cat /cfg/greeting; echo; sleep 1; done");
    c["volumeMounts"] = json!([{"name": "cfg", "mountPath": "/cfg"}]);
    ns.apply(&[
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
            "data": {"greeting": "hello-v1"}}),
        pod(
            "reader",
            vec![c],
            json!({"volumes": [{"name": "cfg", "configMap": {"name": "settings"}}]}),
        ),
    ]);
    let p = ns.wait_running("reader", START);
    let started = cstatus(&p, "c")["containerID"].clone();
    let id =
        ns.container("reader", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    assert_eq!(docker_ok(&["exec", &id, "cat", "/cfg/greeting"]), "hello-v1");
    ns.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type=merge",
        "-p",
        r#"{"data":{"greeting":"hello-v2"}}"#,
    ]);
    let t0 = Instant::now();
    loop {
        let now = docker_ok(&["exec", &id, "cat", "/cfg/greeting"]);
        if now == "hello-v2" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "file still {now:?} after 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("ConfigMap edit reached the mounted file after {:?}", t0.elapsed());
    // The running container saw it too (its own reads), and was not recreated.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ns.docker_logs("reader", "c").contains("hello-v2") {
        assert!(Instant::now() < deadline, "container never read the new value");
        std::thread::sleep(Duration::from_millis(200));
    }
    let p = ns.pod("reader").expect("pod");
    assert_eq!(cstatus(&p, "c")["containerID"], started, "container was recreated");
    assert_eq!(restart_count(&p, "c"), 0);
    ns.finish();
}

#[test]
fn secret_volume_file_is_not_world_readable() {
    let k = shared();
    let ns = TestNs::new(k, "secretmode");
    ns.ok(&["create", "secret", "generic", "creds", "--from-literal=password=s3cret"]);
    let mut c = sh("c", "sleep 3600");
    c["volumeMounts"] = json!([{"name": "sec", "mountPath": "/sec", "readOnly": true}]);
    ns.apply(&[pod(
        "holder",
        vec![c],
        json!({"volumes": [{"name": "sec", "secret": {"secretName": "creds"}}]}),
    )]);
    ns.wait_running("holder", START);
    let id =
        ns.container("holder", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    assert_eq!(docker_ok(&["exec", &id, "cat", "/sec/password"]), "s3cret");
    // stat -L: Kubernetes' files are symlinks into ..data; judge the file itself.
    let mode = docker_ok(&["exec", &id, "stat", "-L", "-c", "%a %u:%g", "/sec/password"]);
    let listing = docker_ok(&["exec", &id, "ls", "-laL", "/sec/"]);
    println!("secret file mode (stat -L -c '%a %u:%g'): {mode}\n{listing}");
    let octal =
        u32::from_str_radix(mode.split_whitespace().next().unwrap_or(""), 8).unwrap_or(0o777);
    assert_eq!(octal & 0o007, 0, "secret file is world-accessible: {mode}\n{listing}");
    // The default mode 0644 is what Kubernetes sets on the file; others must not read it here.
    ns.finish();
}

#[test]
fn sub_path_mounts_of_claims_and_empty_dirs() {
    let k = shared();
    let ns = TestNs::new(k, "subpath");
    ns.apply(&[json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    })]);
    // The MySQL-chart shape: one claim, each mount a directory of it; the whole
    // claim and an emptyDir's subdirectory too.
    let mut c = sh(
        "c",
        "echo a > /a/f && echo b > /b/f && echo e > /e/f && ls /all > /all/listing && sleep 3600",
    );
    c["volumeMounts"] = json!([
        {"name": "data", "mountPath": "/a", "subPath": "one"},
        {"name": "data", "mountPath": "/b", "subPath": "two/deeper"},
        {"name": "data", "mountPath": "/all"},
        {"name": "scratch", "mountPath": "/e", "subPath": "sub"},
    ]);
    ns.apply(&[pod(
        "sub",
        vec![c],
        json!({"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "scratch", "emptyDir": {}},
        ]}),
    )]);
    ns.wait_running("sub", START);
    let id = ns.container("sub", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    let wait_file = |path: &str| {
        common::eventually(path, Duration::from_secs(20), || {
            let out = docker(&["exec", &id, "cat", path]);
            out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
    };
    assert_eq!(wait_file("/all/one/f"), "a");
    assert_eq!(wait_file("/all/two/deeper/f"), "b");
    assert_eq!(wait_file("/e/f"), "e");
    ns.finish();
}

// ------------------------------------------------------------------ behind k2d's back

/// Follow `kubectl get pods -w` for `pod`, run `act`, and return how long it
/// took until a line came whose STATUS is not `Running` (the change seen).
fn watch_reaction(ns: &TestNs, pod: &str, act: impl FnOnce()) -> (Duration, Vec<String>) {
    let mut w =
        ns.k.kubectl_spawn(DEFAULT, &["-n", &ns.name, "get", "pod", pod, "-w", "--no-headers"]);
    w.expect_line("the running pod", Duration::from_secs(10), |l| l.contains("Running"));
    // Give the watch a moment to be established beyond the initial list.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    act();
    let acted = t0.elapsed();
    // The change shows as a status other than Running, a container not
    // ready, or (when k2d replaced it at once) a restart count above 0.
    w.expect_line("the change", Duration::from_secs(15), |l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.get(2).is_some_and(|s| *s != "Running")
            || cols.get(1) == Some(&"0/1")
            || cols.get(3).is_some_and(|r| *r != "0")
    });
    let seen = t0.elapsed();
    println!(
        "docker command took {acted:?}; kubectl get -w showed the change {seen:?} after it began"
    );
    (seen.saturating_sub(acted), std::mem::take(&mut w.seen))
}

#[test]
fn docker_stop_behind_k2ds_back_is_seen_within_a_second_and_follows_restart_policy() {
    let k = shared();
    let ns = TestNs::new(k, "dstop");
    ns.apply(&[
        pod("always", vec![sh("c", "sleep 3600")], json!({})),
        pod("never", vec![sh("c", "sleep 3600")], json!({"restartPolicy": "Never"})),
    ]);
    ns.wait_running("always", START);
    ns.wait_running("never", START);

    let id =
        ns.container("always", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    let (lag, lines) = watch_reaction(&ns, "always", || {
        docker_ok(&["stop", "-t", "0", &id]);
    });
    println!("always: change visible {lag:?} after docker stop returned; lines {lines:?}");
    assert!(lag < Duration::from_secs(3), "docker stop seen only after {lag:?}: {lines:?}");
    // Always: restarted (the kubelet restarts the first crash at once, later ones back off).
    let p = ns.wait_pod("always", "restarted and running", Duration::from_secs(30), |p| {
        restart_count(p, "c") == 1 && cstatus(p, "c")["state"]["running"].is_object()
    });
    assert_eq!(cstatus(&p, "c")["lastState"]["terminated"]["exitCode"], 137, "{}", p["status"]);

    let id =
        ns.container("never", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    let (lag, lines) = watch_reaction(&ns, "never", || {
        docker_ok(&["stop", "-t", "0", &id]);
    });
    println!("never: change visible {lag:?} after docker stop returned; lines {lines:?}");
    assert!(lag < Duration::from_secs(3), "docker stop seen only after {lag:?}: {lines:?}");
    // Never: the pod fails with the exit code and nothing restarts.
    let p = ns.wait_phase("never", "Failed", Duration::from_secs(10));
    assert_eq!(cstatus(&p, "c")["state"]["terminated"]["exitCode"], 137, "{}", p["status"]);
    std::thread::sleep(Duration::from_secs(2));
    let p = ns.pod("never").expect("pod");
    assert_eq!(restart_count(&p, "c"), 0, "{}", p["status"]);
    ns.finish();
}

#[test]
fn docker_rm_behind_k2ds_back_is_seen_within_a_second_and_recreated() {
    let k = shared();
    let ns = TestNs::new(k, "drm");
    ns.apply(&[pod("gone", vec![sh("c", "sleep 3600")], json!({}))]);
    ns.wait_running("gone", START);
    let old =
        ns.container("gone", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    let (lag, lines) = watch_reaction(&ns, "gone", || {
        docker_ok(&["rm", "-f", &old]);
    });
    println!("docker rm -f: change visible {lag:?} after it returned; lines {lines:?}");
    assert!(lag < Duration::from_secs(3), "docker rm -f seen only after {lag:?}: {lines:?}");
    let p = ns.wait_running("gone", Duration::from_secs(30));
    let new =
        ns.container("gone", "c").expect("container")["Id"].as_str().unwrap_or("").to_string();
    assert_ne!(new, old);
    assert_eq!(
        cstatus(&p, "c")["containerID"].as_str().unwrap_or(""),
        format!("docker://{new}"),
        "{}",
        p["status"]
    );
    // Exactly one sandbox and one container: no duplicates.
    let cs = ns.containers(Some("gone"));
    assert_eq!(cs.len(), 2, "{:?}", cs.iter().map(|c| c["Name"].clone()).collect::<Vec<_>>());
    // The sandbox removed behind k2d's back: the pod is rebuilt around a new one.
    let sandbox =
        cs.iter().find(|c| label(c, "io.kubernetes.docker.type") == "podsandbox").expect("sandbox")
            ["Id"]
            .as_str()
            .unwrap_or("")
            .to_string();
    docker_ok(&["rm", "-f", &sandbox]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cs = ns.containers(Some("gone"));
        let sandboxes: Vec<&Value> =
            cs.iter().filter(|c| label(c, "io.kubernetes.docker.type") == "podsandbox").collect();
        let running = cs.iter().filter(|c| c["State"]["Running"] == true).count();
        if sandboxes.len() == 1 && sandboxes[0]["Id"] != sandbox.as_str() && running == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pod not rebuilt after its sandbox was removed: {cs:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    ns.wait_running("gone", Duration::from_secs(10));
    ns.finish();
}

// ------------------------------------------------------------------ controller order

#[test]
fn pod_listed_before_its_configmap_starts_with_the_file_present() {
    let k = shared();
    let ns = TestNs::new(k, "order");
    let mut c = sh("c", "cat /cfg/message");
    c["volumeMounts"] = json!([{"name": "cfg", "mountPath": "/cfg"}]);
    let out = ns.apply(&[
        pod("early", vec![c], json!({"restartPolicy": "Never", "volumes": [{"name": "cfg", "configMap": {"name": "late"}}]})),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"},
            "data": {"message": "present-on-first-start"}}),
    ]);
    assert!(out.find("pod/early") < out.find("configmap/late"), "apply order: {out}");
    let p = ns.wait_pod("early", "finished", Duration::from_secs(60), |p| {
        matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
    });
    let t = &cstatus(&p, "c")["state"]["terminated"];
    assert_eq!(p["status"]["phase"], "Succeeded", "{}", p["status"]);
    assert_eq!(t["exitCode"], 0, "{}", p["status"]);
    assert_eq!(restart_count(&p, "c"), 0);
    assert_eq!(ns.docker_logs("early", "c"), "present-on-first-start");
    ns.finish();
}

// ------------------------------------------------------------------ existing containers

/// A container made with plain `docker run`, removed at the end whatever happens.
struct External(String);

impl Drop for External {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

#[test]
fn docker_run_container_appears_read_only_in_k2d_external_and_delete_removes_it() {
    let k = shared();
    pods_common::ensure_image();
    let name =
        format!("k2dtest-ext-{}-{}", std::process::id(), common::unique("c").replace("c-", ""));
    let ext = External(name.clone());
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "k2dtest=external",
        IMAGE,
        "sleep",
        "600",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let pod = loop {
        let r = k.curl(common::Req::get(&format!("/api/v1/namespaces/k2d-external/pods/{name}")));
        // It may first show up as created (ContainerCreating), before `docker run` starts it.
        if r.status == 200 && r.json()["status"]["phase"] == "Running" {
            break r.json();
        }
        assert!(Instant::now() < deadline, "no Running pod k2d-external/{name}: {}", r.body);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(pod["status"]["phase"], "Running", "{}", pod["status"]);
    assert_eq!(pod["spec"]["containers"][0]["image"], IMAGE);
    let cols = row(k, "k2d-external", &name, &[]);
    assert_eq!(&cols[1..3], ["1/1", "Running"], "{cols:?}");
    // Read-only: k2d does not manage it, so it refuses changes.
    let err = k.fails(DEFAULT, &["-n", "k2d-external", "label", "pod", &name, "changed=yes"]);
    assert!(
        err.contains("Forbidden") && err.contains("mirror containers k2d did not create"),
        "{err}"
    );
    // Deleting it removes the container.
    k.ok(DEFAULT, &["-n", "k2d-external", "delete", "pod", &name, "--timeout=30s"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while docker(&["inspect", &name]).status.success() {
        assert!(Instant::now() < deadline, "container {name} still exists after delete");
        std::thread::sleep(Duration::from_millis(200));
    }
    let err = k.fails(DEFAULT, &["-n", "k2d-external", "get", "pod", &name]);
    assert!(err.contains("NotFound"), "{err}");
    drop(ext);
}
