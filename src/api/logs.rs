//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's output, read
//! from Docker and streamed to the client.
//!
//! The work is split the way kube-apiserver and the kubelet split it:
//! [`LogOptions::from_request`] decodes and validates the query like the
//! apiserver (400 for undecodable values, 422 `PodLogOptions ... is invalid`),
//! [`select_container`] picks the container like the apiserver's
//! `validateContainer`, and [`container_id_from_status`] picks the attempt like
//! the kubelet's `validateContainerLogStatus` (running, terminated, previous,
//! waiting), so every error text matches what kubectl users already know.
//! Docker does the filtering (`tail`, `since`, `timestamps` — its timestamps are
//! already the kubelet's fixed-width RFC3339Nano), we demultiplex its frames
//! (stdout and stderr interleaved in one body, as the kubelet writes them) and
//! apply `limitBytes` to the bytes we send.
//!
//! Like a watch, a log is planned on a worker thread (so every error is a plain
//! Status reply, decided before the `200` head goes out), then streamed on a
//! thread of its own with hand-written chunk framing flushed per piece
//! (tiny_http would buffer 8 KiB, which would hide a live `logs -f`).
//!
//! ## Quiet follows and clients that leave
//!
//! Our only signal that a client left is a failed write: tiny_http hands us a
//! bare `Write`, and the front door turns a departed client into a closed
//! backend socket only once it has bytes to pass on. A quiet `logs -f` also
//! has to send *something* now and then, or the front door's idle timeout
//! (120 s) cuts it, which kube-apiserver never does. HTTP/1.1 chunking has no
//! empty chunk, so [`ChunkedBody::probe`] sends bytes the client's decoder
//! swallows without any change to the body:
//!
//! 1. leading zeros of the next chunk-size line (`0`, `00`, ...): the line
//!    becomes the size of the next data chunk (`0005`), or the last chunk
//!    (`000`) if the stream ends. Go and curl accept 16 hex digits, and our
//!    chunks need at most 4, so this covers 12 probes;
//! 2. then a 1-byte chunk with a growing chunk extension (`0…01;pppp`), which
//!    decoders ignore; its one data byte is the first byte of the next output.
//!    Only if the stream ends (or the extension reaches [`MAX_EXTENSION`],
//!    after more than a day of silence) before any output comes does that
//!    byte have to be invented: a `\n`, the one visible trace of this scheme.
//!
//! A single watchdog thread ([`watchdog`]) probes every idle stream every
//! [`PROBE_EVERY`] (then [`PROBE_EVERY_LATE`] in phase 2). When a probe fails
//! it closes the Docker stream, which unblocks the stream's thread, so the
//! thread and the Docker connection are released. Bound: a client that leaves
//! is noticed at most three probes later (the front door needs one probe to
//! learn the TCP peer is gone, one to fail, and then ours fails): ~60 s while
//! the log had output in the last 4 minutes, ~180 s after that.

use crate::adapter::convert::labels;
use crate::adapter::docker::{Demux, Docker, DockerError, STDERR, STDOUT, encode_query};
use crate::api::Api;
use crate::api::error::{ApiError, ApiResult, Cause};
use crate::api::http::Request;
use crate::api::router::Target;
use parking_lot::Mutex;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Concurrent log streams; each holds a thread and a Docker connection.
pub const MAX_STREAMS: usize = 256;
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Idle time before a stream gets a probe while probes are invisible zeros.
/// Well under the front door's idle timeout; see the module docs for the bound.
pub const PROBE_EVERY: Duration = Duration::from_secs(20);
/// Idle time between probes once they are chunk-extension bytes, which Go's
/// decoder counts against a budget: fewer, but still under the idle timeout.
pub const PROBE_EVERY_LATE: Duration = Duration::from_secs(60);
/// How often the watchdog looks at the streams.
const TICK: Duration = Duration::from_millis(500);
/// Hex digits a chunk-size line may have (Go's and curl's limit).
const MAX_SIZE_DIGITS: u8 = 16;
/// Largest data chunk we send; 4 hex digits, which leaves 12 for probe zeros.
const MAX_CHUNK: usize = 0xffff;
const MAX_ZEROS: u8 = MAX_SIZE_DIGITS - 4;
/// Longest chunk extension we grow: Go rejects chunk lines of 4096 bytes and
/// more than 16 KiB of overhead beyond what data chunks earn back.
pub const MAX_EXTENSION: usize = 2000;
/// Read buffer for the Docker stream.
const READ_BUF: usize = 16 * 1024;

/// Number of log streams now open (planned or streaming).
#[cfg(test)]
pub fn active_streams() -> usize {
    ACTIVE.load(Ordering::Acquire)
}

/// A counted stream slot, released when the stream ends.
struct Slot;

impl Slot {
    fn acquire() -> ApiResult<Slot> {
        if ACTIVE.fetch_add(1, Ordering::AcqRel) >= MAX_STREAMS {
            ACTIVE.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::new(
                429,
                "TooManyRequests",
                "too many log streams; try again later",
            ));
        }
        Ok(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// `PodLogOptions` as decoded from the query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    /// Unix time in nanoseconds.
    pub since_time: Option<i128>,
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// Decode and validate like kube-apiserver: a value that does not parse is
    /// a 400, a value out of range a 422 naming `PodLogOptions "<pod>"`.
    pub fn from_request(req: &Request, pod: &str) -> ApiResult<LogOptions> {
        let int = |name: &str| -> ApiResult<Option<i64>> {
            match req.param(name) {
                None | Some("") => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| {
                    ApiError::bad_request(format!(
                        "strconv.ParseInt: parsing {v:?}: invalid syntax"
                    ))
                }),
            }
        };
        let since_time = match req.param("sinceTime") {
            None | Some("") | Some("null") => None,
            Some(v) => Some(parse_rfc3339(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parsing time {v:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {v:?} as RFC3339"
                ))
            })?),
        };
        let opts = LogOptions {
            container: req.param("container").filter(|c| !c.is_empty()).map(str::to_string),
            follow: go_bool(req.param("follow")),
            previous: go_bool(req.param("previous")),
            timestamps: go_bool(req.param("timestamps")),
            tail_lines: int("tailLines")?,
            since_seconds: int("sinceSeconds")?,
            since_time,
            limit_bytes: int("limitBytes")?,
        };
        opts.validate(pod)?;
        Ok(opts)
    }

    /// `ValidatePodLogOptions`, same checks, order and texts.
    fn validate(&self, pod: &str) -> ApiResult<()> {
        let mut causes = Vec::new();
        let invalid = |field: &str, v: i64, why: &str| {
            Cause::new("FieldValueInvalid", format!("Invalid value: {v}: {why}"), field)
        };
        if let Some(t) = self.tail_lines.filter(|t| *t < 0) {
            causes.push(invalid("tailLines", t, "must be greater than or equal to 0"));
        }
        if let Some(l) = self.limit_bytes.filter(|l| *l < 1) {
            causes.push(invalid("limitBytes", l, "must be greater than 0"));
        }
        match (self.since_seconds, self.since_time) {
            (Some(_), Some(_)) => causes.push(Cause::forbidden(
                "",
                "at most one of `sinceTime` or `sinceSeconds` may be specified",
            )),
            (Some(s), None) if s < 1 => {
                causes.push(invalid("sinceSeconds", s, "must be greater than 0"))
            }
            _ => {}
        }
        if causes.is_empty() {
            return Ok(());
        }
        // Go prints every field error as "<field>: <detail>", even for the
        // empty path of the sinceTime/sinceSeconds error (": Forbidden: ...").
        let list: Vec<String> =
            causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        let joined =
            if list.len() == 1 { list[0].clone() } else { format!("[{}]", list.join(", ")) };
        let mut e = ApiError::invalid("PodLogOptions", "", pod, causes);
        e.message = format!("PodLogOptions {pod:?} is invalid: {joined}");
        Err(e)
    }

    /// The Docker request for these options. `now` anchors `sinceSeconds`.
    pub fn docker_path(&self, id: &str, now: SystemTime) -> String {
        let mut p = format!(
            "/containers/{}/logs?stdout=1&stderr=1&follow={}&timestamps={}",
            encode_query(id),
            u8::from(self.follow),
            u8::from(self.timestamps)
        );
        match self.tail_lines {
            Some(n) => p.push_str(&format!("&tail={n}")),
            None => p.push_str("&tail=all"),
        }
        let since = match (self.since_time, self.since_seconds) {
            (Some(t), _) => Some(t),
            (None, Some(s)) => Some(unix_nanos(now) - i128::from(s) * 1_000_000_000),
            _ => None,
        };
        if let Some(ns) = since {
            // Docker takes `seconds.nanoseconds`; before 1970 means everything.
            let ns = ns.max(0);
            p.push_str(&format!("&since={}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000));
        }
        p
    }
}

/// Go's query-parameter bool: present and not `0`/`false` is true (even empty).
fn go_bool(v: Option<&str>) -> bool {
    v.is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// RFC3339 (`2026-11-26T07:14:41Z`, optional fraction, `Z` or `±hh:mm`) to
/// Unix nanoseconds, as Go's `time.Parse(time.RFC3339, ...)` accepts it.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(d).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac: i128 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        frac = format!("{digits:0<9}").parse().ok()?;
    }
    let offset = match &s[i..] {
        "Z" => 0,
        // Bytes, not string slices: the client's text may hold multi-byte characters.
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if o.starts_with('-') { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(i128::from(secs) * 1_000_000_000 + frac)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------
// Which container, which attempt
// ---------------------------------------------------------------------------

fn pod_name(pod: &Value) -> &str {
    pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

/// Container names in `VisitContainers` order: init, regular, ephemeral.
fn container_names(pod: &Value) -> Vec<&str> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| pod.get("spec")?.get(*k)?.as_array())
        .flatten()
        .filter_map(|c| c.get("name")?.as_str())
        .collect()
}

/// The apiserver's `validateContainer`: the named container must exist; with
/// none named, a pod of exactly one (regular) container means that one.
pub fn select_container(pod: &Value, requested: Option<&str>) -> ApiResult<String> {
    let name = pod_name(pod);
    if let Some(c) = requested {
        return if container_names(pod).contains(&c) {
            Ok(c.to_string())
        } else {
            Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}")))
        };
    }
    let regular: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c.get("name")?.as_str()).collect())
        .unwrap_or_default();
    match regular.as_slice() {
        [only] => Ok(only.to_string()),
        [] => {
            Err(ApiError::bad_request(format!("a container name must be specified for pod {name}")))
        }
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            container_names(pod).join(" ")
        ))),
    }
}

/// The kubelet's `validateContainerLogStatus`: the Docker id of the attempt
/// whose log to show. `Ok(None)` when the status does not mention the
/// container at all (not yet written), so the caller can ask Docker.
pub fn container_id_from_status(
    pod: &Value,
    container: &str,
    previous: bool,
) -> ApiResult<Option<String>> {
    let pod_name = pod_name(pod);
    let status = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
        .iter()
        .filter_map(|k| pod.get("status")?.get(*k)?.as_array())
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container));
    let Some(status) = status else { return Ok(None) };
    let fail = |what: &str| {
        Err(ApiError::bad_request(format!("container {container:?} in pod {pod_name:?} {what}")))
    };
    let id_of = |v: Option<&Value>| {
        v.and_then(|t| t.get("containerID"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| s.split_once("://").map_or(s, |(_, id)| id).to_string())
    };
    let state = status.get("state");
    let last_terminated = status.pointer("/lastState/terminated");
    let waiting = state.and_then(|s| s.get("waiting"));
    let running = state.and_then(|s| s.get("running"));
    let terminated = state.and_then(|s| s.get("terminated"));
    if previous {
        return match id_of(last_terminated) {
            Some(id) => Ok(Some(id)),
            None => Err(ApiError::bad_request(format!(
                "previous terminated container {container:?} in pod {pod_name:?} not found"
            ))),
        };
    }
    if running.is_some() {
        return match id_of(Some(status)) {
            Some(id) => Ok(Some(id)),
            None => Ok(None),
        };
    }
    if terminated.is_some() {
        return match id_of(terminated).or_else(|| id_of(last_terminated)) {
            Some(id) => Ok(Some(id)),
            None => fail("is terminated"),
        };
    }
    if last_terminated.is_some() {
        return match id_of(last_terminated) {
            Some(id) => Ok(Some(id)),
            None => fail("is terminated"),
        };
    }
    if let Some(w) = waiting {
        let reason = w.get("reason").and_then(Value::as_str).unwrap_or("");
        return match reason {
            "ErrImagePull" => fail("is waiting to start: image can't be pulled"),
            "ImagePullBackOff" => fail("is waiting to start: trying and failing to pull image"),
            r => fail(&format!("is waiting to start: {r}")),
        };
    }
    fail("is waiting to start - no logs yet")
}

/// When the status has nothing yet: the pod's containers by their labels, the
/// newest attempt (highest restart count), or the one before for `previous`.
fn container_id_from_labels(
    docker: &Docker,
    pod: &Value,
    container: &str,
    previous: bool,
) -> ApiResult<String> {
    let pod_name = pod_name(pod);
    let uid = pod.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
    let filters = serde_json::json!({"label": [
        format!("{}={uid}", labels::POD_UID),
        format!("{}={container}", labels::CONTAINER_NAME),
        format!("{}=container", labels::TYPE),
    ]});
    let list: Vec<Value> = docker
        .get_json(&format!("/containers/json?all=1&filters={}", encode_query(&filters.to_string())))
        .map_err(docker_error)?;
    let mut attempts: Vec<(u64, String)> = list
        .iter()
        .filter_map(|c| {
            let id = c.get("Id")?.as_str()?.to_string();
            let n = c
                .get("Labels")
                .and_then(|l| l.get(labels::RESTART_COUNT))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            Some((n, id))
        })
        .collect();
    attempts.sort_by_key(|a| std::cmp::Reverse(a.0));
    let pick = attempts.into_iter().nth(usize::from(previous));
    match (pick, previous) {
        (Some((_, id)), _) => Ok(id),
        (None, true) => Err(ApiError::bad_request(format!(
            "previous terminated container {container:?} in pod {pod_name:?} not found"
        ))),
        (None, false) => Err(ApiError::bad_request(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: ContainerCreating"
        ))),
    }
}

/// Docker failures once the container is chosen are the kubelet's 400s with
/// Docker's words; an unreachable daemon is the apiserver's reasonless 500
/// (as when it cannot dial the kubelet).
fn docker_error(e: DockerError) -> ApiError {
    match e {
        DockerError::Connect(m) => ApiError::new(500, "", m),
        other => ApiError::bad_request(other.message()),
    }
}

// ---------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------

/// Something that ends a blocked read of the source from another thread.
pub type Closer = Box<dyn Fn() + Send + Sync>;

/// A log ready to stream: the source is open, the slot taken.
pub struct Plan {
    source: Box<dyn Read + Send>,
    closer: Option<Closer>,
    /// Docker's 8-byte frames (no TTY) rather than raw bytes.
    multiplexed: bool,
    limit: Option<u64>,
    _slot: Slot,
}

#[cfg(test)]
impl Plan {
    /// A plan over any reader (tests, or a source other than Docker).
    pub fn from_reader(
        source: Box<dyn Read + Send>,
        closer: Option<Closer>,
        multiplexed: bool,
        limit_bytes: Option<u64>,
    ) -> ApiResult<Plan> {
        Ok(Plan { source, closer, multiplexed, limit: limit_bytes, _slot: Slot::acquire()? })
    }
}

/// Answer `GET .../pods/{name}/log` up to the point of streaming.
pub fn plan(api: &Api, req: &Request, t: &Target) -> ApiResult<Plan> {
    if req.method != "GET" {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let (Some(ns), Some(name)) = (t.namespace.as_deref(), t.name.as_deref()) else {
        return Err(ApiError::unknown_resource());
    };
    let opts = LogOptions::from_request(req, name)?;
    let pod =
        api.store.get(t.rt.storage, ns, name).ok_or_else(|| ApiError::not_found("pods", name))?;
    open(&api.docker_socket, &pod, &opts)
}

/// Choose the container and attempt of `pod` and open its Docker log.
pub fn open(docker_socket: &Path, pod: &Value, opts: &LogOptions) -> ApiResult<Plan> {
    let container = select_container(pod, opts.container.as_deref())?;
    let from_status = container_id_from_status(pod, &container, opts.previous)?;
    let slot = Slot::acquire()?;
    let docker = Docker::connect(docker_socket).map_err(docker_error)?;
    let id = match from_status {
        Some(id) => id,
        None => container_id_from_labels(&docker, pod, &container, opts.previous)?,
    };
    let info: Value = docker
        .get_json(&format!("/containers/{}/json", encode_query(&id)))
        .map_err(docker_error)?;
    let tty = info.pointer("/Config/Tty").and_then(Value::as_bool).unwrap_or(false);
    let stream = docker.stream(&opts.docker_path(&id, SystemTime::now())).map_err(docker_error)?;
    let closer = stream.closer();
    Ok(Plan {
        source: Box::new(stream),
        closer: Some(Box::new(move || closer.close())),
        multiplexed: !tty,
        limit: opts.limit_bytes.map(|l| l.max(0) as u64),
        _slot: slot,
    })
}

// ---------------------------------------------------------------------------
// Chunked body with invisible probes
// ---------------------------------------------------------------------------

/// What the last probe left open on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    Nothing,
    /// This many leading zeros of the next chunk-size line.
    Zeros(u8),
    /// A 1-byte chunk's size line with an extension of this many bytes so far.
    Extension(usize),
}

/// The response body: chunk framing, `limitBytes`, and probes (module docs).
pub struct ChunkedBody<W: Write> {
    w: W,
    pending: Pending,
    remaining: Option<u64>,
    last_write: Instant,
}

impl<W: Write> ChunkedBody<W> {
    pub fn new(w: W, limit_bytes: Option<u64>) -> Self {
        ChunkedBody {
            w,
            pending: Pending::Nothing,
            remaining: limit_bytes,
            last_write: Instant::now(),
        }
    }

    /// The response head, as kube-apiserver sends a log.
    pub fn head(&mut self) -> io::Result<()> {
        self.w.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-cache, private\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )?;
        self.flush()
    }

    /// Send output. `Ok(false)` once `limitBytes` is used up.
    pub fn data(&mut self, bytes: &[u8]) -> io::Result<bool> {
        let take = self.remaining.map_or(bytes.len(), |r| bytes.len().min(r as usize));
        let mut rest = &bytes[..take];
        if !rest.is_empty() {
            let mut out = Vec::with_capacity(rest.len() + 16);
            if let Pending::Extension(_) = self.pending {
                out.extend_from_slice(b"\r\n");
                out.push(rest[0]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[1..];
            }
            for piece in rest.chunks(MAX_CHUNK) {
                // Any pending zeros on the wire become this size's leading digits.
                out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            self.pending = Pending::Nothing;
            self.w.write_all(&out)?;
            self.flush()?;
            if let Some(r) = &mut self.remaining {
                *r -= take as u64;
            }
        }
        Ok(self.remaining != Some(0))
    }

    /// One keep-alive byte the client's chunk decoder discards.
    pub fn probe(&mut self) -> io::Result<()> {
        let (bytes, next): (&[u8], Pending) = match self.pending {
            Pending::Nothing => (b"0", Pending::Zeros(1)),
            Pending::Zeros(n) if n < MAX_ZEROS => (b"0", Pending::Zeros(n + 1)),
            Pending::Zeros(_) => (b"1;p", Pending::Extension(1)),
            Pending::Extension(n) if n < MAX_EXTENSION => (b"p", Pending::Extension(n + 1)),
            // Complete the 1-byte chunk with an invented newline and start over.
            Pending::Extension(_) => (b"\r\n\n\r\n", Pending::Nothing),
        };
        self.w.write_all(bytes)?;
        self.flush()?;
        self.pending = next;
        Ok(())
    }

    /// The last chunk, closing whatever a probe left open.
    pub fn finish(&mut self) -> io::Result<()> {
        let end: &[u8] = match self.pending {
            Pending::Nothing => b"0\r\n\r\n",
            Pending::Zeros(_) => b"\r\n\r\n",
            Pending::Extension(_) => b"\r\n\n\r\n0\r\n\r\n",
        };
        self.pending = Pending::Nothing;
        self.w.write_all(end)?;
        self.flush()
    }

    /// How long since anything was written.
    pub fn idle(&self) -> Duration {
        self.last_write.elapsed()
    }

    /// Idle time after which the next probe is due.
    pub fn probe_due_after(&self) -> Duration {
        match self.pending {
            Pending::Extension(_) => PROBE_EVERY_LATE,
            _ => PROBE_EVERY,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()?;
        self.last_write = Instant::now();
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

/// A live stream as the watchdog sees it.
struct Link {
    body: Mutex<ChunkedBody<Box<dyn Write + Send>>>,
    closer: Option<Closer>,
    /// The client is gone (a write failed): stop, send nothing more.
    gone: AtomicBool,
    /// Probe interval override (tests); `None` uses the body's schedule.
    probe_every: Option<Duration>,
}

impl Link {
    fn lost(&self) {
        self.gone.store(true, Ordering::Release);
        if let Some(close) = &self.closer {
            close();
        }
    }
}

fn links() -> &'static Mutex<Vec<Weak<Link>>> {
    static LINKS: OnceLock<Mutex<Vec<Weak<Link>>>> = OnceLock::new();
    LINKS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Register a stream with the watchdog, starting it on first use. One thread
/// serves every stream, so probing costs no thread per stream.
fn watch_over(link: &Arc<Link>) {
    static STARTED: OnceLock<()> = OnceLock::new();
    links().lock().push(Arc::downgrade(link));
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("log-watchdog".into())
            .stack_size(128 * 1024)
            .spawn(watchdog);
        if let Err(e) = spawned {
            log::error!("cannot start the log watchdog: {e}");
        }
    });
}

/// Probe idle streams; a failed probe means the client left.
fn watchdog() {
    loop {
        std::thread::sleep(TICK);
        let live: Vec<Arc<Link>> = {
            let mut l = links().lock();
            l.retain(|w| w.strong_count() > 0);
            l.iter().filter_map(Weak::upgrade).collect()
        };
        for link in live {
            if link.gone.load(Ordering::Acquire) {
                continue;
            }
            // A stream busy writing needs no probe (and must not wait on us).
            let Some(mut body) = link.body.try_lock() else { continue };
            let due = link.probe_every.unwrap_or_else(|| body.probe_due_after());
            if body.idle() >= due && body.probe().is_err() {
                drop(body);
                link.lost();
            }
        }
    }
}

/// Stream the planned log to `w` until it ends, `limitBytes` is reached, or
/// the client leaves. Runs on a thread of its own.
pub fn stream(plan: Plan, w: Box<dyn Write + Send>) {
    stream_with(plan, w, None);
}

fn stream_with(plan: Plan, w: Box<dyn Write + Send>, probe_every: Option<Duration>) {
    let Plan { source, closer, multiplexed, limit, _slot } = plan;
    let mut body = ChunkedBody::new(w, limit);
    if body.head().is_err() {
        return;
    }
    let link = Arc::new(Link {
        body: Mutex::new(body),
        closer,
        gone: AtomicBool::new(false),
        probe_every,
    });
    watch_over(&link);
    let ended = pump(source, multiplexed, &link);
    if ended && !link.gone.load(Ordering::Acquire) {
        let _ = link.body.lock().finish();
    }
    // `source` is dropped by now (inside `pump`): the Docker connection is closed.
}

/// Copy the source into the body. `true` if the log ended (or hit the limit)
/// and may be closed properly; `false` if the client left.
fn pump(source: Box<dyn Read + Send>, multiplexed: bool, link: &Link) -> bool {
    enum Source {
        Raw(Box<dyn Read + Send>),
        Frames(Demux<Box<dyn Read + Send>>),
    }
    let mut source =
        if multiplexed { Source::Frames(Demux::new(source)) } else { Source::Raw(source) };
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let piece = match &mut source {
            Source::Frames(d) => match d.read_chunk(&mut buf) {
                Ok(Some((id, n))) if id == STDOUT || id == STDERR => n,
                Ok(Some(_)) => continue,
                Ok(None) => 0,
                Err(e) => return read_failed(e, link),
            },
            Source::Raw(r) => match r.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return read_failed(e, link),
            },
        };
        if piece == 0 {
            return !link.gone.load(Ordering::Acquire);
        }
        match link.body.lock().data(&buf[..piece]) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(_) => {
                link.gone.store(true, Ordering::Release);
                return false;
            }
        }
    }
}

/// A read error is either our own closer (the client left) or Docker failing
/// mid-stream; the latter still ends the response cleanly, as the kubelet's
/// copy ending early would.
fn read_failed(e: io::Error, link: &Link) -> bool {
    if link.gone.load(Ordering::Acquire) {
        return false;
    }
    log::debug!("reading a container log: {e}");
    true
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
