//! Pure tests of the messages, and tests against the real Docker and the local registries of
//! `scripts/setup-registry.sh`, which the tests run themselves (it is idempotent). They fail,
//! never skip, when Docker or the registries cannot be had.

use std::collections::HashMap;
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Barrier, OnceLock};

use base64::Engine;
use serde_json::json;

use super::*;

#[test]
fn go_durations() {
    assert_eq!(go_duration(Duration::ZERO), "0s");
    assert_eq!(go_duration(Duration::from_micros(523_900)), "523ms");
    assert_eq!(go_duration(Duration::from_millis(1200)), "1.2s");
    assert_eq!(go_duration(Duration::from_millis(2000)), "2s");
    assert_eq!(go_duration(Duration::from_millis(62_345)), "1m2.345s");
    assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
}

#[test]
fn kubelet_messages() {
    let done = PullEvent::Done {
        id: "sha256:x".into(),
        size: 1984,
        duration: Duration::from_millis(1200),
        total: Duration::from_millis(3400),
    };
    assert_eq!(
        done.kubelet_events("nginx")[0].message,
        "Successfully pulled image \"nginx\" in 1.2s (3.4s including waiting). Image size: 1984 bytes."
    );
    let failed = PullEvent::Failed { message: "manifest unknown".into() }.kubelet_events("x:1");
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].message, "Failed to pull image \"x:1\": manifest unknown");
    assert_eq!((failed[1].reason, failed[1].message.as_str()), ("Failed", "Error: ErrImagePull"));
    assert!(failed.iter().all(|e| e.warning));
    let started = PullEvent::Started.kubelet_events("x:1");
    assert_eq!(
        (started[0].reason, started[0].message.as_str()),
        ("Pulling", "Pulling image \"x:1\"")
    );
    let backoff =
        ImageStatus::Failed { reason: "ImagePullBackOff", message: String::new(), retry_in: None };
    let evs = backoff.kubelet_events("x:1");
    assert_eq!((evs[0].warning, evs[0].reason), (false, "BackOff"));
    assert_eq!(evs[0].message, "Back-off pulling image \"x:1\"");
    assert_eq!(evs[1].message, "Error: ImagePullBackOff");
    assert_eq!(
        KubeletEvent::already_present("x:1").message,
        "Container image \"x:1\" already present on machine"
    );
}

// ---- against the real Docker and registries ----

fn socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

fn docker() -> Docker {
    Docker::connect(&socket()).unwrap_or_else(|e| {
        panic!("these tests need a running Docker ({e}); run scripts/setup-docker.sh")
    })
}

/// `K2D_REGISTRY`, `K2D_AUTH_REGISTRY`, `K2D_AUTH_REGISTRY_USER`, `..._PASSWORD`.
fn registries() -> &'static HashMap<String, String> {
    static VARS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VARS.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-registry.sh");
        let out = Command::new(&script).output().expect("running scripts/setup-registry.sh");
        assert!(
            out.status.success(),
            "setup-registry.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

/// The registry tests pull the same references and remove them first; one at a time.
fn registry_lock() -> parking_lot::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
}

fn remove_local(image: &str) {
    match docker().delete(&format!("/images/{image}")) {
        Ok(()) | Err(DockerError::NotFound(_)) => {}
        Err(e) => panic!("removing {image}: {e}"),
    }
}

fn channel() -> (Notify, Receiver<PullEvent>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    (Box::new(move |e| drop(tx.lock().send(e))), rx)
}

fn next(rx: &Receiver<PullEvent>) -> PullEvent {
    rx.recv_timeout(Duration::from_secs(60)).expect("a pull event within 60 s")
}

#[test]
fn pulls_from_the_plain_registry_then_finds_it_present() {
    let _g = registry_lock();
    let image = format!("{}/k2d-test/busybox:1", registries()["K2D_REGISTRY"]);
    remove_local(&image);
    let images = Images::new(&socket());
    let (notify, rx) = channel();
    let status = images.ensure(&image, PullPolicy::IfNotPresent, None, "pod-a", notify);
    assert_eq!(status, ImageStatus::Pulling);
    assert_eq!(next(&rx), PullEvent::Started);
    // The same waiter asking again while it pulls is not a second request: its new callback
    // replaces the old one. (A local pull can finish first; then the image is simply present.)
    let (notify2, rx2) = channel();
    let (hears, silent) =
        match images.ensure(&image, PullPolicy::IfNotPresent, None, "pod-a", notify2) {
            ImageStatus::Pulling => (&rx2, &rx),
            ImageStatus::Present { .. } => (&rx, &rx2),
            other => panic!("{other:?}"),
        };
    let ev = next(hears);
    let PullEvent::Done { id, size, duration, total } = ev else {
        panic!("expected Done, got {ev:?}")
    };
    assert!(silent.try_recv().is_err(), "only one callback hears the outcome");
    assert!(id.starts_with("sha256:") && size > 0, "{id} {size}");
    assert!(total >= duration);
    let (notify, rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::IfNotPresent, None, "pod-b", notify),
        ImageStatus::Present { id: id.clone() }
    );
    // `Always` right after a pull does not pull again.
    let (notify3, _rx3) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::Always, None, "pod-a", notify3),
        ImageStatus::Present { id }
    );
    assert!(rx.try_recv().is_err());
    assert_eq!(images.pulls_started(), 1);
}

#[test]
fn concurrent_requests_share_one_pull() {
    let _g = registry_lock();
    let image = format!("{}/k2d-test/busybox:1", registries()["K2D_REGISTRY"]);
    remove_local(&image);
    let images = Images::new(&socket());
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (images, barrier, image) = (images.clone(), barrier.clone(), image.clone());
            std::thread::spawn(move || {
                let (notify, rx) = channel();
                barrier.wait();
                let status = images.ensure(
                    &image,
                    PullPolicy::IfNotPresent,
                    None,
                    &format!("pod-{i}"),
                    notify,
                );
                (status, rx)
            })
        })
        .collect();
    let mut pulling = 0;
    for h in handles {
        let (status, rx) = h.join().unwrap();
        match status {
            ImageStatus::Pulling => {
                pulling += 1;
                assert_eq!(next(&rx), PullEvent::Started);
                assert!(matches!(next(&rx), PullEvent::Done { .. }));
            }
            ImageStatus::Present { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pulling >= 1);
    assert_eq!(images.pulls_started(), 1, "one pull for all waiters");
}

#[test]
fn auth_registry_needs_the_secret() {
    let _g = registry_lock();
    let r = registries();
    let host = &r["K2D_AUTH_REGISTRY"];
    let image = format!("{host}/k2d-test/busybox:1");
    remove_local(&image);
    let images = Images::new(&socket());

    // Anonymous: refused, with Docker's words, then the pod is in back-off.
    let (notify, rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::Always, None, "anon", notify),
        ImageStatus::Pulling
    );
    assert_eq!(next(&rx), PullEvent::Started);
    let PullEvent::Failed { message } = next(&rx) else { panic!("expected Failed") };
    assert!(message.contains("auth") || message.contains("unauthorized"), "{message}");
    let (notify, _rx) = channel();
    match images.ensure(&image, PullPolicy::Always, None, "anon", notify) {
        ImageStatus::Failed { reason: "ErrImagePull", message: m, retry_in: Some(_) } => {
            assert_eq!(m, message)
        }
        other => panic!("expected ErrImagePull, got {other:?}"),
    }
    let b = images.backoff("anon", &image).expect("in back-off");
    assert_eq!(b.period, BACKOFF_START);

    let secret = |user: &str, pass: &str| {
        let doc =
            json!({"auths": {host.as_str(): {"username": user, "password": pass}}}).to_string();
        json!({"type": "kubernetes.io/dockerconfigjson",
               "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(doc)}})
    };
    // A wrong password fails too.
    let wrong = registry_auth(&image, &[secret("k2d", "wrong")]);
    assert!(wrong.is_some());
    let (notify, rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::Always, wrong, "wrong", notify),
        ImageStatus::Pulling
    );
    next(&rx);
    assert!(matches!(next(&rx), PullEvent::Failed { .. }));

    // The right secret works, for a pod not in back-off.
    let auth = registry_auth(
        &image,
        &[secret(&r["K2D_AUTH_REGISTRY_USER"], &r["K2D_AUTH_REGISTRY_PASSWORD"])],
    );
    let (notify, rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::Always, auth, "authed", notify),
        ImageStatus::Pulling
    );
    assert_eq!(next(&rx), PullEvent::Started);
    let done = next(&rx);
    assert!(matches!(done, PullEvent::Done { .. }), "{done:?}");
    assert!(images.backoff("authed", &image).is_none());
    remove_local(&image);
}

#[test]
fn missing_images_fail_with_dockers_message_and_back_off() {
    let r = registries();
    let image = format!("{}/k2d-test/no-such-image:1", r["K2D_REGISTRY"]);
    let images = Images::new(&socket());
    let (notify, rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::IfNotPresent, None, "p", notify),
        ImageStatus::Pulling
    );
    assert_eq!(next(&rx), PullEvent::Started);
    let PullEvent::Failed { message } = next(&rx) else { panic!("expected Failed") };
    assert!(message.contains("not found") || message.contains("unknown"), "{message}");
    let (notify, _rx) = channel();
    let ImageStatus::Failed { reason, retry_in, .. } =
        images.ensure(&image, PullPolicy::IfNotPresent, None, "p", notify)
    else {
        panic!("expected a failure")
    };
    assert_eq!(reason, "ErrImagePull");
    assert!(retry_in.unwrap() <= BACKOFF_START / 2);
    assert_eq!(images.pulls_started(), 1, "no new pull during back-off");
    // Another pod is not held back by this one's back-off (as in the kubelet).
    let (notify, _rx) = channel();
    assert_eq!(
        images.ensure(&image, PullPolicy::IfNotPresent, None, "q", notify),
        ImageStatus::Pulling
    );
    images.forget("p");
    assert!(images.backoff("p", &image).is_none());

    let (notify, _rx) = channel();
    match images.ensure("k2d-test/never-here:1", PullPolicy::Never, None, "p", notify) {
        ImageStatus::Failed { reason: "ErrImageNeverPull", message, .. } => assert_eq!(
            message,
            "Container image \"k2d-test/never-here:1\" is not present with pull policy of Never"
        ),
        other => panic!("{other:?}"),
    }
    let (notify, _rx) = channel();
    match images.ensure("Bad Name", PullPolicy::IfNotPresent, None, "p", notify) {
        ImageStatus::Failed { reason: "InvalidImageName", message, retry_in: None } => {
            assert!(message.contains("invalid reference format"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Never with a local image is simply present.
    let (notify, _rx) = channel();
    assert!(matches!(
        images.ensure("k2d-test/busybox:1", PullPolicy::Never, None, "p", notify),
        ImageStatus::Present { .. }
    ));
}

/// The k2d binary next to this test binary (`target/debug/deps/k2d-*` → `target/debug/k2d`);
/// cargo builds it for the integration tests.
fn k2d_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("k2d");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build` (cargo test builds it)",
        bin.display()
    );
    bin
}

#[test]
fn pause_image_runs_as_pid_1_and_stops_at_once() {
    let d = docker();
    // Removed first so the import really runs; a sandbox of a k2d under test elsewhere may
    // hold it (409), and then the import is simply skipped.
    let ours: Value = d.get_json("/images/json").unwrap();
    let ours = ours
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .find(|t| t.starts_with(&format!("{PAUSE_REPO}:{}-", env!("CARGO_PKG_VERSION"))));
    if let Some(c) = ours {
        let _ = d.delete(&format!("/images/{c}"));
    }
    let reference = ensure_pause_image_from(&d, &k2d_binary()).unwrap();
    assert!(
        reference.starts_with(&format!("{PAUSE_REPO}:{}-", env!("CARGO_PKG_VERSION"))),
        "{reference}"
    );
    // Present now: the second call imports nothing and names the same image.
    let t = Instant::now();
    assert_eq!(ensure_pause_image_from(&d, &k2d_binary()).unwrap(), reference);
    assert!(t.elapsed() < Duration::from_secs(5));

    let created: Value = d
        .post_json("/containers/create", &json!({"Image": reference, "Labels": {"k2d.test": "1"}}))
        .unwrap();
    let id = created["Id"].as_str().unwrap().to_string();
    struct Remove<'a>(&'a Docker, String);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = self.0.delete(&format!("/containers/{}?force=1", self.1));
        }
    }
    let _rm = Remove(&d, id.clone());
    let () = d.post_empty(&format!("/containers/{id}/start")).unwrap();
    let state: Value = d.get_json(&format!("/containers/{id}/json")).unwrap();
    assert_eq!(state["State"]["Running"], true, "{}", state["State"]);
    // PID 1 inside its namespace: the last NSpid entry of the host process.
    let pid = state["State"]["Pid"].as_u64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "{nspid}");
    std::thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    let () = d.post_empty(&format!("/containers/{id}/stop?t=10")).unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "stop took {:?}", t.elapsed());
    let state: Value = d.get_json(&format!("/containers/{id}/json")).unwrap();
    assert_eq!(state["State"]["ExitCode"], 0, "{}", state["State"]);
}
