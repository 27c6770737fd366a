//! A listener on Docker's container event stream, so pod status follows Docker within a
//! second instead of by polling.
//!
//! One thread holds `GET /events?filters={"type":["container"]}` open and hands each event to
//! a callback. When the stream ends (dockerd restarted, socket gone) it reconnects with
//! backoff, and after every (re)connection calls `on_connected`: events missed while
//! disconnected are gone, so the controller resyncs everything from Docker then. The callback
//! runs on the listener thread and should only enqueue; while it blocks, the daemon's side of
//! the socket fills and Docker holds the events, so nothing here buffers without bound.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Deserialize;

use super::{Docker, StreamCloser, encode_query};

/// First wait before reconnecting; doubles per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Longest event line kept. k2d's own labels make events of a few hundred bytes; a container
/// with huge labels (some tools store whole manifests in them) is skipped, not buffered.
const MAX_LINE: usize = 256 * 1024;

/// One container event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The full container id.
    pub id: String,
    /// Docker's action as sent: `create`, `start`, `die`, `stop`, `kill`, `oom`, `destroy`,
    /// `pause`, `unpause`, `restart`, `rename`, `update`, `attach`, `resize`, and with a
    /// suffix after `: ` for `exec_create: …`, `exec_start: …`, `health_status: healthy`.
    pub action: String,
    /// The container's name (without `/`), when Docker says.
    pub name: Option<String>,
    /// The image the container was created from, when Docker says.
    pub image: Option<String>,
    /// The container's labels. Docker mixes them with its own attributes; `name`, `image`,
    /// `exitCode` and `signal` are taken out into their fields.
    pub labels: HashMap<String, String>,
    /// The exit code, on `die`.
    pub exit_code: Option<i64>,
    /// The signal sent, on `kill`.
    pub signal: Option<String>,
    /// When Docker saw it happen.
    pub time: SystemTime,
}

/// Starts the listener thread. It runs for the life of the process; see [`spawn_stoppable`]
/// for one that can be stopped.
pub fn spawn(
    socket: PathBuf,
    on_event: Box<dyn Fn(ContainerEvent) + Send>,
    on_connected: Box<dyn Fn() + Send>,
) -> io::Result<JoinHandle<()>> {
    let shared = Arc::new(Shared::default());
    thread::Builder::new()
        .name("docker-events".into())
        .spawn(move || run(&socket, &*on_event, &*on_connected, &shared))
}

/// [`spawn`], returning a handle that stops the thread.
pub fn spawn_stoppable(
    socket: PathBuf,
    on_event: Box<dyn Fn(ContainerEvent) + Send>,
    on_connected: Box<dyn Fn() + Send>,
) -> io::Result<Listener> {
    let shared = Arc::new(Shared::default());
    let theirs = Arc::clone(&shared);
    let handle = thread::Builder::new()
        .name("docker-events".into())
        .spawn(move || run(&socket, &*on_event, &*on_connected, &theirs))?;
    Ok(Listener { handle, shared })
}

/// A running listener from [`spawn_stoppable`].
#[derive(Debug)]
pub struct Listener {
    handle: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Listener {
    /// Ends the stream (or the wait before reconnecting) and joins the thread.
    pub fn stop(self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(closer) = self.shared.closer.lock().take() {
            closer.close();
        }
        self.handle.thread().unpark();
        // A panic in a callback already ended the thread; nothing more to do about it here.
        let _ = self.handle.join();
    }
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    /// Cuts the current stream, set while one is open.
    closer: Mutex<Option<StreamCloser>>,
}

fn run(
    socket: &std::path::Path,
    on_event: &dyn Fn(ContainerEvent),
    on_connected: &dyn Fn(),
    shared: &Shared,
) {
    let path = format!("/events?filters={}", encode_query(r#"{"type":["container"]}"#));
    let mut delay = MIN_BACKOFF;
    let mut reported = false;
    while !shared.stop.load(Ordering::SeqCst) {
        let connected_at = Instant::now();
        let stream = Docker::connect(socket).and_then(|d| d.stream(&path));
        let mut delivered = false;
        match stream {
            Ok(stream) => {
                {
                    // Checked under the lock so a stop() between connect and here is not missed.
                    let mut slot = shared.closer.lock();
                    if shared.stop.load(Ordering::SeqCst) {
                        stream.closer().close();
                        return;
                    }
                    *slot = Some(stream.closer());
                }
                if reported {
                    log::info!("docker events: reconnected to {}", socket.display());
                }
                // After the stream is open, so nothing that happens during the resync is lost.
                on_connected();
                let result = read_events(BufReader::with_capacity(16 * 1024, stream), |e| {
                    delivered = true;
                    on_event(e);
                });
                shared.closer.lock().take();
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                match result {
                    Ok(()) => log::warn!("docker events: stream ended; reconnecting"),
                    Err(e) => log::warn!("docker events: stream failed: {e}; reconnecting"),
                }
                reported = true;
            }
            Err(e) => {
                if !reported {
                    log::warn!("docker events: {e}; retrying with backoff");
                    reported = true;
                } else {
                    log::debug!("docker events: {e}");
                }
            }
        }
        // A connection that worked for a while means the daemon is back: start over quickly.
        if delivered || connected_at.elapsed() >= MAX_BACKOFF {
            delay = MIN_BACKOFF;
        }
        sleep_unless_stopped(delay, shared);
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

fn sleep_unless_stopped(total: Duration, shared: &Shared) {
    let until = Instant::now() + total;
    while !shared.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        thread::park_timeout(until - now);
    }
}

/// Reads JSON lines until the stream ends, handing over each container event.
fn read_events(
    mut reader: impl BufRead,
    mut on_event: impl FnMut(ContainerEvent),
) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        match read_line(&mut reader, &mut line)? {
            Line::End => return Ok(()),
            Line::TooLong => log::warn!("docker events: skipped an event over {MAX_LINE} bytes"),
            Line::Complete => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<RawEvent>(&line) {
                    Ok(raw) => {
                        if let Some(event) = raw.into_event() {
                            on_event(event);
                        }
                    }
                    Err(e) => log::warn!("docker events: undecodable event: {e}"),
                }
            }
        }
    }
}

enum Line {
    Complete,
    TooLong,
    End,
}

/// One `\n`-terminated line into `buf`, keeping at most [`MAX_LINE`] bytes of it.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            // A last line without newline is cut off mid-event: drop it.
            return Ok(Line::End);
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1),
            None => (available, available.len()),
        };
        let complete = done != chunk.len();
        if !too_long && buf.len() + chunk.len() <= MAX_LINE {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
            buf.clear();
        }
        reader.consume(done);
        if complete {
            return Ok(if too_long { Line::TooLong } else { Line::Complete });
        }
    }
}

/// The fields of Docker's event message that matter here (API 1.41 shape).
#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Action", default)]
    action: String,
    #[serde(rename = "Actor", default)]
    actor: Actor,
    #[serde(default)]
    time: i64,
    #[serde(rename = "timeNano", default)]
    time_nano: i64,
}

#[derive(Deserialize, Default)]
struct Actor {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Attributes", default)]
    attributes: HashMap<String, String>,
}

impl RawEvent {
    fn into_event(self) -> Option<ContainerEvent> {
        if self.kind != "container" || self.actor.id.is_empty() {
            return None;
        }
        let mut labels = self.actor.attributes;
        let time = if self.time_nano > 0 {
            UNIX_EPOCH + Duration::from_nanos(self.time_nano as u64)
        } else {
            UNIX_EPOCH + Duration::from_secs(self.time.max(0) as u64)
        };
        Some(ContainerEvent {
            id: self.actor.id,
            action: self.action,
            name: labels.remove("name"),
            image: labels.remove("image"),
            exit_code: labels.remove("exitCode").and_then(|c| c.parse().ok()),
            signal: labels.remove("signal"),
            labels,
            time,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::mpsc;

    use serde_json::{Value, json};

    use super::*;

    const CREATE: &str = r#"{"status":"create","id":"abc","from":"k2d-test/busybox:1","Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{"image":"k2d-test/busybox:1","name":"x","io.kubernetes.pod.name":"demo"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}"#;
    const DIE: &str = r#"{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"137","name":"x"}},"time":1700000001}"#;
    const NETWORK: &str =
        r#"{"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{}},"time":1}"#;

    fn parse(text: &str) -> Vec<ContainerEvent> {
        let mut out = Vec::new();
        read_events(text.as_bytes(), |e| out.push(e)).unwrap();
        out
    }

    #[test]
    fn events_decode_with_labels_apart_from_docker_attributes() {
        let events = parse(&format!("{CREATE}\n{NETWORK}\n\n{DIE}\n"));
        assert_eq!(events.len(), 2);
        let create = &events[0];
        assert_eq!(create.id, "abc");
        assert_eq!(create.action, "create");
        assert_eq!(create.name.as_deref(), Some("x"));
        assert_eq!(create.image.as_deref(), Some("k2d-test/busybox:1"));
        assert_eq!(
            create.labels,
            HashMap::from([("io.kubernetes.pod.name".into(), "demo".into())])
        );
        assert_eq!(create.exit_code, None);
        assert_eq!(create.time, UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789));
        assert_eq!(events[1].exit_code, Some(137));
        assert_eq!(events[1].time, UNIX_EPOCH + Duration::from_secs(1_700_000_001));
    }

    #[test]
    fn oversized_and_broken_lines_are_skipped() {
        let huge = format!(
            r#"{{"Type":"container","Action":"create","Actor":{{"ID":"big","Attributes":{{"l":"{}"}}}}}}"#,
            "x".repeat(MAX_LINE)
        );
        let events = parse(&format!("{huge}\nnot json\n{DIE}\n{CREATE}"));
        // The last line has no newline: the stream ended mid-event.
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "die");
    }

    #[test]
    fn line_reader_handles_lines_split_across_reads() {
        let text = format!("{CREATE}\n{DIE}\n");
        let mut out = Vec::new();
        read_events(BufReader::with_capacity(7, text.as_bytes()), |e| out.push(e)).unwrap();
        assert_eq!(out.len(), 2);
    }

    /// A fake daemon: answers `/_ping`, and each `/events` with two events, then hangs up,
    /// as a restarting dockerd does.
    fn fake_daemon(listener: UnixListener) {
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                thread::spawn(move || serve(conn));
            }
        });
    }

    fn serve(mut conn: UnixStream) {
        loop {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if conn.read(&mut byte).unwrap_or(0) == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            if head.contains("/_ping") {
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK",
                );
            } else {
                assert!(head.contains("/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"));
                let body = format!("{CREATE}\n{DIE}\n");
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}"
                );
                return;
            }
        }
    }

    #[test]
    fn reconnects_after_the_daemon_hangs_up_and_resyncs_each_time() {
        let dir = std::env::temp_dir().join(format!("k2d-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("docker.sock");
        fake_daemon(UnixListener::bind(&socket).unwrap());

        let (tx, rx) = mpsc::channel::<String>();
        let events = tx.clone();
        let started = Instant::now();
        let listener = spawn_stoppable(
            socket,
            Box::new(move |e| drop(events.send(e.action))),
            Box::new(move || drop(tx.send("connected".into()))),
        )
        .unwrap();
        let mut seen = Vec::new();
        while seen.iter().filter(|s| *s == "connected").count() < 3 {
            seen.push(rx.recv_timeout(Duration::from_secs(5)).expect("listener reconnects"));
        }
        // Each connection delivered events, so each wait is the first step of the backoff,
        // 0.5 s: never a busy loop, never a long gap.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}: reconnected too fast");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(&seen[..4], ["connected", "create", "die", "connected"]);
        listener.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stop_interrupts_the_backoff_wait() {
        let (tx, rx) = mpsc::channel::<()>();
        let listener = spawn_stoppable(
            PathBuf::from("/nonexistent/docker.sock"),
            Box::new(|_| {}),
            Box::new(move || {
                let _ = tx.send(());
            }),
        )
        .unwrap();
        thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        listener.stop();
        assert!(t.elapsed() < Duration::from_millis(300));
        assert!(rx.try_recv().is_err(), "never connected");
    }

    fn socket() -> PathBuf {
        match std::env::var("DOCKER_HOST") {
            Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
            _ => PathBuf::from("/var/run/docker.sock"),
        }
    }

    /// Against the real daemon (fails, never skips, without one; `scripts/setup-docker.sh`).
    #[test]
    fn real_docker_events_arrive_within_a_second() {
        let docker = Docker::connect(&socket()).unwrap_or_else(|e| {
            panic!("needs a running Docker ({e}); run scripts/setup-docker.sh")
        });
        let (tx, rx) = mpsc::channel::<Option<ContainerEvent>>();
        let events = tx.clone();
        let listener = spawn_stoppable(
            socket(),
            Box::new(move |e| drop(events.send(Some(e)))),
            Box::new(move || drop(tx.send(None))),
        )
        .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), None, "connected first");

        let marker = format!("events-{}-{:?}", std::process::id(), Instant::now());
        let created: Value = docker
            .post_json(
                "/containers/create",
                &json!({
                    "Image": "k2d-test/busybox:1",
                    "Cmd": ["sleep", "60"],
                    "Labels": { "k2d.test/marker": marker },
                }),
            )
            .expect("create (needs k2d-test/busybox:1: scripts/test-image.sh)");
        let id = created["Id"].as_str().unwrap().to_owned();
        struct Remove<'a>(&'a Docker, &'a str);
        impl Drop for Remove<'_> {
            fn drop(&mut self) {
                let _ = self.0.delete(&format!("/containers/{}?force=1", self.1));
            }
        }
        let remove = Remove(&docker, &id);

        let next = |want: &str| -> ContainerEvent {
            let deadline = Instant::now() + Duration::from_secs(1);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(Some(e)) if e.id == id && e.action == want => return e,
                    Ok(_) => {}
                    Err(_) => panic!("no {want} event for {id} within a second"),
                }
            }
        };
        let create = next("create");
        assert_eq!(create.labels.get("k2d.test/marker"), Some(&marker));
        assert_eq!(create.image.as_deref(), Some("k2d-test/busybox:1"));
        docker.post_empty::<()>(&format!("/containers/{id}/start")).unwrap();
        next("start");
        docker.post_empty::<()>(&format!("/containers/{id}/kill")).unwrap();
        let kill = next("kill");
        assert_eq!(kill.signal.as_deref(), Some("9"));
        let die = next("die");
        assert_eq!(die.exit_code, Some(137));
        assert_eq!(die.labels.get("k2d.test/marker"), Some(&marker));
        drop(remove);
        next("destroy");
        listener.stop();
    }
}
