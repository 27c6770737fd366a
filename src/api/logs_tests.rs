//! Unit tests for option handling, container choice and the chunked body, and
//! tests against the real Docker daemon. The latter fail (never skip) when
//! Docker is unreachable: `scripts/setup-docker.sh` starts it and
//! `scripts/test-image.sh` builds the `k2d-test/busybox:1` image they use.

use super::*;
use serde_json::json;
use std::io::BufRead;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::thread::JoinHandle;

fn req(query: &[(&str, &str)]) -> Request {
    Request {
        method: "GET".into(),
        path: "/api/v1/namespaces/demo/pods/p/log".into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

fn opts(query: &[(&str, &str)]) -> ApiResult<LogOptions> {
    LogOptions::from_request(&req(query), "p")
}

// --- options ---------------------------------------------------------------

#[test]
fn options_decode_like_the_apiserver() {
    assert_eq!(opts(&[]).unwrap(), LogOptions::default());
    let o = opts(&[
        ("container", "shell"),
        ("follow", "true"),
        ("tailLines", "20"),
        ("timestamps", "1"),
        ("previous", "false"),
        ("limitBytes", "100"),
        ("sinceSeconds", "5"),
        ("insecureSkipTLSVerifyBackend", "true"),
    ])
    .unwrap();
    assert_eq!(o.container.as_deref(), Some("shell"));
    assert!(o.follow && o.timestamps && !o.previous);
    assert_eq!((o.tail_lines, o.limit_bytes, o.since_seconds), (Some(20), Some(100), Some(5)));
    // Go's bool parameters: anything but 0/false, even empty, is true.
    assert!(opts(&[("follow", "")]).unwrap().follow);
    assert!(opts(&[("follow", "yes")]).unwrap().follow);
    assert!(!opts(&[("follow", "FALSE")]).unwrap().follow);
    assert!(!opts(&[("follow", "0")]).unwrap().follow);
}

#[test]
fn undecodable_values_are_400() {
    let e = opts(&[("tailLines", "ten")]).unwrap_err();
    assert_eq!((e.code, e.reason), (400, "BadRequest"));
    assert_eq!(e.message, "strconv.ParseInt: parsing \"ten\": invalid syntax");
    let e = opts(&[("sinceTime", "yesterday")]).unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.starts_with("parsing time \"yesterday\""), "{}", e.message);
}

#[test]
fn out_of_range_values_are_422_like_validate_pod_log_options() {
    let e = opts(&[("tailLines", "-1")]).unwrap_err();
    assert_eq!((e.code, e.reason), (422, "Invalid"));
    assert_eq!(
        e.message,
        "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
    );
    let s = e.to_status();
    assert_eq!(s["details"]["kind"], "PodLogOptions");
    assert_eq!(s["details"]["name"], "p");
    assert_eq!(s["details"]["causes"][0]["field"], "tailLines");

    let e = opts(&[("sinceSeconds", "5"), ("sinceTime", "2026-11-26T07:14:41Z")]).unwrap_err();
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "PodLogOptions \"p\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
    );

    let e = opts(&[("limitBytes", "0"), ("sinceSeconds", "0")]).unwrap_err();
    assert_eq!(
        e.message,
        "PodLogOptions \"p\" is invalid: [limitBytes: Invalid value: 0: must be greater than 0, \
         sinceSeconds: Invalid value: 0: must be greater than 0]"
    );
    assert!(opts(&[("tailLines", "0")]).is_ok());
}

#[test]
fn rfc3339_parses_like_go() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
    assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
    // A multi-byte character where the offset colon would be is an error, not a panic.
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00+0\u{e4}00"), None);
    assert_eq!(parse_rfc3339("1969-12-31T23:00:00-01:00"), Some(0));
    // 2026-11-26T07:14:41Z = 1795677281
    assert_eq!(parse_rfc3339("2026-11-26T07:14:41.123456789Z"), Some(1_795_677_281_123_456_789));
    assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800_000_000_000));
    for bad in [
        "2026-11-26",
        "2026-11-26 07:14:41Z",
        "2026-11-26T07:14:41",
        "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-11-26T07:14:41.Z",
        "2026-11-26T07:14:41+0100",
        "2026-11-26t07:14:41z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn docker_request_carries_the_options() {
    let now = UNIX_EPOCH + Duration::new(1_000, 250);
    let o = LogOptions::default();
    assert_eq!(
        o.docker_path("abc", now),
        "/containers/abc/logs?stdout=1&stderr=1&follow=0&timestamps=0&tail=all"
    );
    let o = LogOptions {
        follow: true,
        timestamps: true,
        tail_lines: Some(0),
        since_seconds: Some(10),
        ..Default::default()
    };
    assert_eq!(
        o.docker_path("abc", now),
        "/containers/abc/logs?stdout=1&stderr=1&follow=1&timestamps=1&tail=0&since=990.000000250"
    );
    let o =
        LogOptions { since_time: parse_rfc3339("1970-01-01T00:00:02.5Z"), ..Default::default() };
    assert!(o.docker_path("abc", now).ends_with("&tail=all&since=2.500000000"));
    let o = LogOptions { since_seconds: Some(5_000), ..Default::default() };
    assert!(o.docker_path("abc", now).ends_with("&since=0.000000000"));
}

// --- which container -------------------------------------------------------

fn pod(containers: &[&str], init: &[&str], status: Value) -> Value {
    let c = |names: &[&str]| -> Vec<Value> { names.iter().map(|n| json!({"name": n})).collect() };
    json!({
        "metadata": {"name": "nginx-5fd56db98d-pnlqw", "uid": "u-1"},
        "spec": {"containers": c(containers), "initContainers": c(init)},
        "status": status,
    })
}

#[test]
fn container_choice_matches_reference_errors() {
    let p = pod(&["nginx", "sidecar"], &[], json!({}));
    let e = select_container(&p, None).unwrap_err();
    // errors/400-pod-log-missing-container.json
    let reference: Value = serde_json::from_str(
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"a container name must be specified for pod nginx-5fd56db98d-pnlqw, choose one of: [nginx sidecar]",
            "reason":"BadRequest","code":400}"#,
    )
    .unwrap();
    assert_eq!(e.to_status(), reference);
    assert_eq!(select_container(&p, Some("sidecar")).unwrap(), "sidecar");
    let e = select_container(&p, Some("web")).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "container web is not valid for pod nginx-5fd56db98d-pnlqw")
    );

    let p = pod(&["only"], &["setup"], json!({}));
    assert_eq!(select_container(&p, None).unwrap(), "only");
    assert_eq!(select_container(&p, Some("setup")).unwrap(), "setup");
    let p = pod(&["a", "b"], &["setup"], json!({}));
    assert!(
        select_container(&p, None).unwrap_err().message.ends_with("choose one of: [setup a b]")
    );
}

fn status_of(cs: Value) -> Value {
    pod(&["c"], &[], json!({"containerStatuses": [cs]}))
}

#[test]
fn attempt_choice_follows_the_kubelet() {
    let id = |p: &Value, prev: bool| container_id_from_status(p, "c", prev);
    let msg = |r: ApiResult<Option<String>>| {
        let e = r.unwrap_err();
        assert_eq!(e.code, 400);
        e.message
    };
    // No status yet: the caller asks Docker.
    assert_eq!(id(&pod(&["c"], &[], json!({})), false).unwrap(), None);

    let running = status_of(json!({"name": "c", "containerID": "docker://abc",
        "state": {"running": {}}, "lastState": {}}));
    assert_eq!(id(&running, false).unwrap().as_deref(), Some("abc"));
    assert_eq!(
        msg(id(&running, true)),
        "previous terminated container \"c\" in pod \"nginx-5fd56db98d-pnlqw\" not found"
    );

    let crashloop = status_of(json!({"name": "c", "containerID": "docker://old",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "containerID": "docker://old"}}}));
    assert_eq!(id(&crashloop, false).unwrap().as_deref(), Some("old"));
    assert_eq!(id(&crashloop, true).unwrap().as_deref(), Some("old"));

    let restarted = status_of(json!({"name": "c", "containerID": "docker://new",
        "state": {"running": {}},
        "lastState": {"terminated": {"containerID": "docker://old"}}}));
    assert_eq!(id(&restarted, false).unwrap().as_deref(), Some("new"));
    assert_eq!(id(&restarted, true).unwrap().as_deref(), Some("old"));

    let done = status_of(json!({"name": "c",
        "state": {"terminated": {"exitCode": 0, "containerID": "docker://fin"}}}));
    assert_eq!(id(&done, false).unwrap().as_deref(), Some("fin"));

    let creating =
        status_of(json!({"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}));
    assert_eq!(
        msg(id(&creating, false)),
        "container \"c\" in pod \"nginx-5fd56db98d-pnlqw\" is waiting to start: ContainerCreating"
    );
    let pulling =
        status_of(json!({"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}}));
    assert!(
        msg(id(&pulling, false)).ends_with("is waiting to start: trying and failing to pull image")
    );
    let pull = status_of(json!({"name": "c", "state": {"waiting": {"reason": "ErrImagePull"}}}));
    assert!(msg(id(&pull, false)).ends_with("is waiting to start: image can't be pulled"));
    let blank = status_of(json!({"name": "c", "state": {}}));
    assert!(msg(id(&blank, false)).ends_with("is waiting to start - no logs yet"));

    // Init containers' statuses count too.
    let init = pod(
        &["c"],
        &["i"],
        json!({"initContainerStatuses": [
        {"name": "i", "containerID": "docker://ii", "state": {"running": {}}}]}),
    );
    assert_eq!(container_id_from_status(&init, "i", false).unwrap().as_deref(), Some("ii"));
}

// --- the chunked body ------------------------------------------------------

/// A strict chunked decoder with Go's limits: at most 16 hex digits, chunk
/// lines under 4096 bytes, extensions ignored. Returns `None` at the last chunk.
fn next_chunk(r: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    assert!(line.ends_with(b"\r\n"), "chunk line {:?}", String::from_utf8_lossy(&line));
    assert!(line.len() < 4096, "chunk line too long");
    line.truncate(line.len() - 2);
    let size = match line.iter().position(|b| *b == b';') {
        Some(i) => &line[..i],
        None => &line[..],
    };
    assert!(!size.is_empty() && size.len() <= 16, "chunk size {:?}", String::from_utf8_lossy(size));
    let n = usize::from_str_radix(std::str::from_utf8(size).unwrap(), 16).unwrap();
    let mut data = vec![0u8; n + 2];
    r.read_exact(&mut data)?;
    assert_eq!(&data[n..], b"\r\n");
    data.truncate(n);
    Ok(if n == 0 { None } else { Some(data) })
}

fn decode_all(bytes: &[u8]) -> Vec<u8> {
    let mut r = io::BufReader::new(bytes);
    let mut out = Vec::new();
    while let Some(c) = next_chunk(&mut r).unwrap() {
        out.extend(c);
    }
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "bytes after the last chunk: {rest:?}");
    out
}

#[test]
fn probes_leave_the_body_unchanged() {
    // Every number of probes, from none through all the zeros, into the
    // extension, between pieces of data and before the end.
    for probes in [0, 1, 5, 12, 13, 14, 40] {
        let mut b = ChunkedBody::new(Vec::new(), None);
        b.data(b"hello\n").unwrap();
        for _ in 0..probes {
            b.probe().unwrap();
        }
        b.data(b"world\n").unwrap();
        for _ in 0..probes {
            b.probe().unwrap();
        }
        b.data(b"x").unwrap();
        b.finish().unwrap();
        assert_eq!(decode_all(&b.w), b"hello\nworld\nx", "{probes} probes");
    }
    // A stream that ends while zeros are pending ends cleanly as "000\r\n\r\n".
    let mut b = ChunkedBody::new(Vec::new(), None);
    b.data(b"a\n").unwrap();
    for _ in 0..3 {
        b.probe().unwrap();
    }
    b.finish().unwrap();
    assert!(b.w.ends_with(b"\r\n000\r\n\r\n"));
    assert_eq!(decode_all(&b.w), b"a\n");
}

#[test]
fn a_stream_ending_inside_an_extension_costs_one_newline() {
    let mut b = ChunkedBody::new(Vec::new(), None);
    b.data(b"a\n").unwrap();
    for _ in 0..20 {
        b.probe().unwrap();
    }
    assert_eq!(b.probe_due_after(), PROBE_EVERY_LATE);
    b.finish().unwrap();
    assert_eq!(decode_all(&b.w), b"a\n\n");
    // The extension never outgrows a chunk line: it wraps after MAX_EXTENSION.
    let mut b = ChunkedBody::new(Vec::new(), None);
    for _ in 0..(MAX_EXTENSION as u32 * 2 + 40) {
        b.probe().unwrap();
    }
    b.data(b"z").unwrap();
    b.finish().unwrap();
    assert_eq!(decode_all(&b.w), b"\n\nz");
}

#[test]
fn limit_bytes_cuts_the_stream() {
    let mut b = ChunkedBody::new(Vec::new(), Some(7));
    assert!(b.data(b"hello\n").unwrap());
    assert!(!b.data(b"world\n").unwrap());
    b.finish().unwrap();
    assert_eq!(decode_all(&b.w), b"hello\nw");
    let mut b = ChunkedBody::new(Vec::new(), Some(3));
    assert!(!b.data(b"abc").unwrap());
}

#[test]
fn large_output_is_split_into_bounded_chunks() {
    let big = vec![b'x'; MAX_CHUNK * 2 + 10];
    let mut b = ChunkedBody::new(Vec::new(), None);
    b.probe().unwrap();
    b.data(&big).unwrap();
    b.finish().unwrap();
    assert_eq!(decode_all(&b.w), big);
}

// --- streaming on fake sources -----------------------------------------------

fn frame(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![id, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Stream `plan` into a socket pair; returns the client's end (head read).
fn start(plan: Plan, probe_every: Option<Duration>) -> (io::BufReader<UnixStream>, JoinHandle<()>) {
    let (server, client) = UnixStream::pair().unwrap();
    client.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let h = std::thread::spawn(move || stream_with(plan, Box::new(server), probe_every));
    let mut r = io::BufReader::new(client);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain\r\n"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    (r, h)
}

fn read_to_end(r: &mut impl BufRead) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = next_chunk(r).unwrap() {
        out.extend(c);
    }
    out
}

#[test]
fn frames_are_interleaved_and_limit_applies() {
    let mut data = frame(STDOUT, b"out 1\n");
    data.extend(frame(STDERR, b"err 1\n"));
    data.extend(frame(3, b"system error\n"));
    data.extend(frame(STDOUT, b"out 2\n"));
    let plan =
        Plan::from_reader(Box::new(io::Cursor::new(data.clone())), None, true, None).unwrap();
    let (mut r, h) = start(plan, None);
    assert_eq!(read_to_end(&mut r), b"out 1\nerr 1\nout 2\n");
    h.join().unwrap();

    let plan = Plan::from_reader(Box::new(io::Cursor::new(data)), None, true, Some(8)).unwrap();
    let (mut r, h) = start(plan, None);
    assert_eq!(read_to_end(&mut r), b"out 1\ner");
    h.join().unwrap();

    // A TTY's raw bytes pass through untouched.
    let raw = b"\x01\x02 raw\r\n".to_vec();
    let plan =
        Plan::from_reader(Box::new(io::Cursor::new(raw.clone())), None, false, None).unwrap();
    let (mut r, h) = start(plan, None);
    assert_eq!(read_to_end(&mut r), raw);
    h.join().unwrap();
}

/// A source that blocks like a quiet follow; its closer ends the read as the
/// Docker stream's closer does. Returns (plan, feeder, closed flag).
fn quiet_source() -> (Plan, UnixStream, Arc<AtomicBool>) {
    let (source, feeder) = UnixStream::pair().unwrap();
    let handle = source.try_clone().unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let flag = closed.clone();
    let closer: Closer = Box::new(move || {
        flag.store(true, Ordering::SeqCst);
        let _ = handle.shutdown(Shutdown::Both);
    });
    (Plan::from_reader(Box::new(source), Some(closer), false, None).unwrap(), feeder, closed)
}

fn join_within(h: JoinHandle<()>, limit: Duration) {
    let t = Instant::now();
    while !h.is_finished() {
        assert!(t.elapsed() < limit, "stream thread still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    h.join().unwrap();
}

#[test]
fn quiet_follow_survives_probes_and_a_departed_client_is_noticed() {
    let (plan, mut feeder, closed) = quiet_source();
    let (mut r, h) = start(plan, Some(Duration::from_millis(100)));
    feeder.write_all(b"first\n").unwrap();
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"first\n");
    // Quiet for many probe intervals (zeros, then an extension), then output.
    std::thread::sleep(Duration::from_millis(2500));
    feeder.write_all(b"second\n").unwrap();
    let mut got = Vec::new();
    while got.len() < 7 {
        got.extend(next_chunk(&mut r).unwrap().unwrap());
    }
    assert_eq!(got, b"second\n");
    // The client leaves while the log is quiet: the next probe fails, the
    // source is closed, and the thread ends without help from the source.
    drop(r);
    join_within(h, Duration::from_secs(5));
    assert!(closed.load(Ordering::SeqCst), "the source was not closed");
    drop(feeder);
}

#[test]
fn source_end_finishes_the_response() {
    let (plan, mut feeder, closed) = quiet_source();
    let (mut r, h) = start(plan, Some(Duration::from_millis(100)));
    feeder.write_all(b"only\n").unwrap();
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"only\n");
    std::thread::sleep(Duration::from_millis(400));
    drop(feeder);
    assert_eq!(read_to_end(&mut r), b"");
    join_within(h, Duration::from_secs(5));
    assert!(!closed.load(Ordering::SeqCst));
}

#[test]
fn streams_are_bounded() {
    let before = active_streams();
    let plan = Plan::from_reader(Box::new(io::empty()), None, false, None).unwrap();
    assert!(active_streams() > before || active_streams() >= 1);
    drop(plan);
    // Fill every slot, then one more is a 429.
    let mut held = Vec::new();
    loop {
        match Plan::from_reader(Box::new(io::empty()), None, false, None) {
            Ok(p) => held.push(p),
            Err(e) => {
                assert_eq!((e.code, e.reason), (429, "TooManyRequests"));
                break;
            }
        }
        assert!(held.len() <= MAX_STREAMS, "no limit");
    }
    held.clear();
    assert!(Plan::from_reader(Box::new(io::empty()), None, false, None).is_ok());
}

// --- against the real Docker daemon ----------------------------------------

const TEST_IMAGE: &str = "k2d-test/busybox:1";

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
struct Container {
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker().delete(&format!("/containers/{}?force=1", self.id));
    }
}

fn unique(what: &str) -> String {
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    format!("k2d-logtest-{what}-{}-{:08x}", std::process::id(), u32::from_ne_bytes(r))
}

/// Start a container labelled as attempt `attempt` of container `name` of the
/// pod with `uid`, running `script` under `sh -c`.
fn run(uid: &str, name: &str, attempt: u32, tty: bool, script: &str) -> Container {
    let d = docker();
    let created: Value = d
        .post_json(
            &format!("/containers/create?name={}", unique(name)),
            &json!({
                "Image": TEST_IMAGE,
                "Cmd": ["sh", "-c", script],
                "Tty": tty,
                "Labels": {
                    labels::POD_UID: uid,
                    labels::POD_NAME: "logpod",
                    labels::POD_NAMESPACE: "demo",
                    labels::CONTAINER_NAME: name,
                    labels::TYPE: "container",
                    labels::RESTART_COUNT: attempt.to_string(),
                    "k2d.test": "1",
                },
            }),
        )
        .unwrap_or_else(|e| panic!("create from {TEST_IMAGE} ({e}); run scripts/test-image.sh"));
    let c = Container { id: created["Id"].as_str().unwrap().to_string() };
    let () = d.post_empty(&format!("/containers/{}/start", c.id)).unwrap();
    c
}

fn wait_exit(c: &Container) {
    let _: Value = docker().post_json(&format!("/containers/{}/wait", c.id), &json!({})).unwrap();
}

fn test_pod(uid: &str, containers: &[&str], status: Value) -> Value {
    let cs: Vec<Value> = containers.iter().map(|n| json!({"name": n})).collect();
    json!({"metadata": {"name": "logpod", "namespace": "demo", "uid": uid},
           "spec": {"containers": cs}, "status": status})
}

fn logs(pod: &Value, query: &[(&str, &str)]) -> ApiResult<Vec<u8>> {
    let o = LogOptions::from_request(&req(query), "logpod")?;
    let plan = open(&socket(), pod, &o)?;
    let (mut r, h) = start(plan, None);
    let out = read_to_end(&mut r);
    join_within(h, Duration::from_secs(10));
    Ok(out)
}

#[test]
fn docker_logs_by_labels_status_tail_timestamps_and_previous() {
    let uid = unique("uid");
    let first = run(&uid, "app", 0, false, "echo one; echo two >&2; echo three");
    wait_exit(&first);
    let second = run(&uid, "app", 1, false, "echo again; sleep 0.2; echo later >&2");
    wait_exit(&second);

    // No status yet: the newest attempt by label, stdout and stderr together.
    let p = test_pod(&uid, &["app"], json!({}));
    assert_eq!(logs(&p, &[]).unwrap(), b"again\nlater\n");
    // Docker may order lines of the two streams written in the same instant
    // either way, so compare the earlier attempt's lines as a set.
    let mut prev: Vec<Vec<u8>> = logs(&p, &[("previous", "true")])
        .unwrap()
        .split(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    prev.sort();
    assert_eq!(prev, [b"".to_vec(), b"one".to_vec(), b"three".to_vec(), b"two".to_vec()]);
    assert_eq!(logs(&p, &[("tailLines", "1")]).unwrap(), b"later\n");
    assert_eq!(logs(&p, &[("tailLines", "0")]).unwrap(), b"");
    assert_eq!(logs(&p, &[("limitBytes", "3")]).unwrap(), b"aga");

    // Timestamps: the kubelet's fixed-width RFC3339Nano in UTC, then a space.
    let stamped = logs(&p, &[("timestamps", "true")]).unwrap();
    let text = String::from_utf8(stamped).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, want) in lines.iter().zip(["again", "later"]) {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, want);
        assert_eq!(ts.len(), "2026-11-26T07:14:41.123456789Z".len(), "{ts}");
        assert!(parse_rfc3339(ts).is_some(), "{ts}");
    }
    // sinceTime between the two lines (200 ms apart) keeps only the later one.
    let t0 = parse_rfc3339(lines[0].split_once(' ').unwrap().0).unwrap();
    let mid = t0 + 100_000_000;
    let mid = format!(
        "{}Z",
        humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(mid as u64))
            .to_string()
            .trim_end_matches('Z')
    );
    assert_eq!(logs(&p, &[("sinceTime", &mid)]).unwrap(), b"later\n");
    assert_eq!(logs(&p, &[("sinceSeconds", "3600")]).unwrap(), b"again\nlater\n");

    // With a status, its container IDs decide, as the kubelet's do.
    let by_status = test_pod(
        &uid,
        &["app"],
        json!({"containerStatuses": [{"name": "app",
            "containerID": format!("docker://{}", first.id),
            "state": {"terminated": {"exitCode": 0, "containerID": format!("docker://{}", first.id)}}}]}),
    );
    let all = logs(&by_status, &[]).unwrap();
    assert_eq!(all.len(), "one\ntwo\nthree\n".len(), "{}", String::from_utf8_lossy(&all));
    assert!(!all.starts_with(b"again"));
    let e = logs(&by_status, &[("previous", "true")]).unwrap_err();
    assert_eq!(e.message, "previous terminated container \"app\" in pod \"logpod\" not found");

    // Nothing in Docker and nothing in the status: still being created.
    let none = test_pod(&unique("nouid"), &["app"], json!({}));
    let e = logs(&none, &[]).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "container \"app\" in pod \"logpod\" is waiting to start: ContainerCreating")
    );
    let e = logs(&none, &[("previous", "1")]).unwrap_err();
    assert_eq!(e.code, 400);
    drop((first, second));
}

#[test]
fn docker_tty_logs_are_raw() {
    let uid = unique("uid");
    let c = run(&uid, "tty", 0, true, "echo hello");
    wait_exit(&c);
    let p = test_pod(&uid, &["tty"], json!({}));
    // A TTY turns "\n" into "\r\n"; no frame headers in between.
    assert_eq!(logs(&p, &[]).unwrap(), b"hello\r\n");
}

#[test]
fn docker_follow_is_live_and_ends_with_the_container() {
    let uid = unique("uid");
    let c = run(&uid, "app", 0, false, "echo start; sleep 2; echo middle; sleep 1; echo end");
    let p = test_pod(&uid, &["app"], json!({}));
    let o = LogOptions::from_request(&req(&[("follow", "true")]), "logpod").unwrap();
    let plan = open(&socket(), &p, &o).unwrap();
    let t = Instant::now();
    let (mut r, h) = start(plan, None);
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"start\n");
    let first_at = t.elapsed();
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"middle\n");
    // Live: "middle" came about 2 s after "start", not all at the end.
    let middle_at = t.elapsed();
    assert!(middle_at - first_at >= Duration::from_millis(1500), "{first_at:?} {middle_at:?}");
    assert!(middle_at < Duration::from_millis(2900), "{middle_at:?}");
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"end\n");
    // The container exits, Docker ends the stream, we end the response.
    assert_eq!(next_chunk(&mut r).unwrap(), None);
    join_within(h, Duration::from_secs(5));
    drop(c);
}

#[test]
fn docker_follow_frees_its_connection_when_the_client_leaves() {
    let uid = unique("uid");
    let c = run(&uid, "quiet", 0, false, "echo hi; sleep 300");
    let p = test_pod(&uid, &["quiet"], json!({}));
    let o = LogOptions::from_request(&req(&[("follow", "true")]), "logpod").unwrap();
    let plan = open(&socket(), &p, &o).unwrap();
    let (mut r, h) = start(plan, Some(Duration::from_millis(200)));
    assert_eq!(next_chunk(&mut r).unwrap().unwrap(), b"hi\n");
    std::thread::sleep(Duration::from_millis(700));
    drop(r);
    // The watchdog's next probe fails, closes the Docker stream, and the
    // thread ends (dropping the stream and its connection) while the
    // container keeps running quietly.
    join_within(h, Duration::from_secs(5));
    let running: Value = docker().get_json(&format!("/containers/{}/json", c.id)).unwrap();
    assert_eq!(running["State"]["Running"], true);
    drop(c);
}
