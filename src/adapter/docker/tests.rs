//! Unit tests for the pure parts, and tests against the real Docker daemon. The latter fail
//! (never skip) when Docker is unreachable: `scripts/setup-docker.sh` starts it and
//! `scripts/test-image.sh` builds the `k2d-test/busybox:1` image they use.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

const TEST_IMAGE: &str = "k2d-test/busybox:1";

#[test]
fn version_negotiation_caps_at_1_41() {
    assert_eq!(negotiate(Some("1.43")), "1.41");
    assert_eq!(negotiate(Some("1.41")), "1.41");
    assert_eq!(negotiate(Some("1.40")), "1.40");
    assert_eq!(negotiate(Some("2.0")), "1.41");
    assert_eq!(negotiate(Some("junk")), "1.41");
    assert_eq!(negotiate(None), "1.41");
}

#[test]
fn error_bodies_become_typed_errors() {
    let e = DockerError::from_status(404, br#"{"message":"No such container: x"}"#);
    assert!(matches!(&e, DockerError::NotFound(m) if m == "No such container: x"), "{e:?}");
    let e = DockerError::from_status(409, br#"{"message":"name in use"}"#);
    assert!(matches!(&e, DockerError::Conflict(m) if m == "name in use"), "{e:?}");
    let e = DockerError::from_status(500, b"plain text\n");
    assert!(
        matches!(&e, DockerError::Api { status: 500, message } if message == "plain text"),
        "{e:?}"
    );
}

#[test]
fn query_values_are_percent_encoded() {
    assert_eq!(encode_query(r#"{"label":["a=b"]}"#), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
    assert_eq!(encode_query("plain-1.2_x~"), "plain-1.2_x~");
}

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

/// Removes the container even when the test panics halfway.
struct Container<'a> {
    docker: &'a Docker,
    id: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.docker.delete(&format!("/containers/{}?force=1", self.id));
    }
}

fn unique_name(what: &str) -> String {
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    format!("k2d-test-{what}-{}-{:08x}", std::process::id(), u32::from_ne_bytes(r))
}

fn run_container<'a>(docker: &'a Docker, name: &str, cmd: &[&str]) -> Container<'a> {
    let created: Value = docker
        .post_json(
            &format!("/containers/create?name={}", encode_query(name)),
            &json!({ "Image": TEST_IMAGE, "Cmd": cmd, "Labels": { "k2d.test": "1" } }),
        )
        .unwrap_or_else(|e| panic!("create from {TEST_IMAGE} ({e}); run scripts/test-image.sh"));
    let id = created["Id"].as_str().expect("create answers an Id").to_string();
    let c = Container { docker, id };
    let () = docker.post_empty(&format!("/containers/{}/start", c.id)).unwrap();
    c
}

#[test]
fn connects_pings_and_reads_info() {
    let d = docker();
    assert!(parse_version(d.api_version()).unwrap() <= MAX_API_VERSION);
    d.ping().unwrap();
    let info = d.info().unwrap();
    assert!(info["ID"].is_string(), "{info}");
    assert!(info["NCPU"].as_u64().unwrap() >= 1);
    let version = d.version().unwrap();
    assert!(version["ApiVersion"].is_string(), "{version}");
}

#[test]
fn missing_socket_is_a_connect_error() {
    let e = Docker::connect(Path::new("/nonexistent/k2d-test.sock")).unwrap_err();
    assert!(matches!(e, DockerError::Connect(_)), "{e:?}");
}

#[test]
fn missing_objects_are_not_found_with_dockers_message() {
    let d = docker();
    let e = d.get_json::<Value>("/containers/k2d-test-no-such-container/json").unwrap_err();
    match e {
        DockerError::NotFound(m) => assert!(m.contains("No such container"), "{m}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let e = d.delete("/containers/k2d-test-no-such-container").unwrap_err();
    assert!(matches!(e, DockerError::NotFound(_)), "{e:?}");
}

#[test]
fn container_lifecycle_and_exec_through_hijack() {
    let d = docker();
    let name = unique_name("exec");
    let c = run_container(&d, &name, &["sleep", "300"]);

    // Same name again: Docker's 409 comes back typed, with its message.
    let e = d
        .post_json::<Value>(
            &format!("/containers/create?name={name}"),
            &json!({ "Image": TEST_IMAGE, "Cmd": ["true"] }),
        )
        .unwrap_err();
    assert!(matches!(&e, DockerError::Conflict(m) if m.contains(&name)), "{e:?}");

    // Starting a running container is 304, which is success.
    let () = d.post_empty(&format!("/containers/{}/start", c.id)).unwrap();

    let exec: Value = d
        .post_json(
            &format!("/containers/{}/exec", c.id),
            &json!({
                "AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "Tty": false,
                "Cmd": ["sh", "-c", "cat; echo to-stderr >&2; exit 3"],
            }),
        )
        .unwrap();
    let exec_id = exec["Id"].as_str().unwrap().to_string();

    let mut sock = d
        .hijack(
            "POST",
            &format!("/exec/{exec_id}/start"),
            Some(&json!({"Detach": false, "Tty": false})),
        )
        .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    sock.write_all(b"from stdin\n").unwrap();
    // Half-closing is how stdin EOF reaches the process, so `cat` ends.
    sock.shutdown(Shutdown::Write).unwrap();

    let (mut out, mut err) = (Vec::new(), Vec::new());
    for piece in Demux::new(&mut sock) {
        let (id, bytes) = piece.unwrap();
        match id {
            STDOUT => out.extend(bytes),
            STDERR => err.extend(bytes),
            other => panic!("unexpected stream {other}"),
        }
    }
    assert_eq!(String::from_utf8_lossy(&out), "from stdin\n");
    assert_eq!(String::from_utf8_lossy(&err), "to-stderr\n");

    let inspect: Value = d.get_json(&format!("/exec/{exec_id}/json")).unwrap();
    assert_eq!(inspect["ExitCode"], 3, "{inspect}");

    // A tar upload goes in, and the archive endpoint streams it back out.
    let dir = std::env::temp_dir().join(unique_name("tar"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "hello from tar\n").unwrap();
    let tar =
        std::process::Command::new("tar").arg("-C").arg(&dir).args(["-c", "hello.txt"]).output();
    std::fs::remove_dir_all(&dir).unwrap();
    let tar = tar.expect("tar runs").stdout;
    d.put_tar(&format!("/containers/{}/archive?path=/tmp", c.id), &mut &tar[..]).unwrap();
    let mut back = Vec::new();
    d.stream(&format!("/containers/{}/archive?path=/tmp/hello.txt", c.id))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert!(back.windows(15).any(|w| w == b"hello from tar\n"), "archive round trip");

    // Hijacking something that doesn't exist is a typed error, not a hang.
    let e = d
        .hijack("POST", "/exec/k2d-test-no-such-exec/start", Some(&json!({"Detach": false})))
        .unwrap_err();
    assert!(matches!(e, DockerError::NotFound(_)), "{e:?}");

    let id = c.id.clone();
    drop(c);
    let e = d.get_json::<Value>(&format!("/containers/{id}/json")).unwrap_err();
    assert!(matches!(e, DockerError::NotFound(_)), "container still there: {e:?}");
}

#[test]
fn follow_stream_delivers_logs_and_closes_on_demand() {
    let d = docker();
    let c = run_container(
        &d,
        &unique_name("logs"),
        &["sh", "-c", "echo first; echo second >&2; sleep 300"],
    );

    let stream =
        d.stream(&format!("/containers/{}/logs?follow=1&stdout=1&stderr=1", c.id)).unwrap();
    let closer = stream.closer();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut demux = Demux::new(stream);
        let mut got = Vec::new();
        while got.len() < 2 {
            match demux.next() {
                Some(Ok(piece)) => got.push(piece),
                other => panic!("stream ended early: {other:?}"),
            }
        }
        tx.send(got).unwrap();
        // Now blocks: the container prints nothing more until closed.
        let mut rest = Vec::new();
        let _ = demux.into_inner().read_to_end(&mut rest);
    });
    let mut got = rx.recv_timeout(Duration::from_secs(20)).expect("log lines arrive");
    got.sort();
    assert_eq!(got, vec![(STDOUT, b"first\n".to_vec()), (STDERR, b"second\n".to_vec())]);

    // Another call on the shared agent still works while the follow stream is open.
    d.ping().unwrap();

    closer.close();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(reader.join().is_ok()));
    assert_eq!(
        done_rx.recv_timeout(Duration::from_secs(5)),
        Ok(true),
        "close() unblocks the reader"
    );
    d.ping().unwrap();
}

#[test]
fn exec_collect_returns_output_exit_code_and_honours_the_deadline() {
    let docker = docker();
    let c = run_container(&docker, &unique_name("exec-collect"), &["sleep", "60"]);
    let cmd = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
    let out = docker
        .exec_collect(&c.id, &cmd("echo out; echo err >&2; exit 3"), Duration::from_secs(5), 1024)
        .unwrap();
    assert_eq!(out.exit_code, Some(3));
    let text = String::from_utf8_lossy(&out.output);
    assert!(text.contains("out\n") && text.contains("err\n"), "{text:?}");
    // Output beyond the limit is dropped.
    let out = docker
        .exec_collect(&c.id, &cmd("yes | head -c 100000"), Duration::from_secs(5), 10)
        .unwrap();
    assert_eq!((out.exit_code, out.output.len()), (Some(0), 10));
    let started = std::time::Instant::now();
    let out =
        docker.exec_collect(&c.id, &cmd("sleep 5"), Duration::from_millis(300), 1024).unwrap();
    assert_eq!(out.exit_code, None);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
