//! Watch streams. A watch is planned on a worker thread (so errors are plain
//! replies), then streamed on a thread of its own so it never holds a worker.
//! Each event is one chunk, flushed at once: tiny_http's own streaming would
//! buffer 8 KiB, so the response head and chunk framing are written here.

use crate::api::Api;
use crate::api::error::{ApiError, ApiResult};
use crate::api::http::{Request, encode_json};
use crate::api::output::{self, ListFilter};
use crate::api::router::Target;
use crate::kinds::ResourceType;
use crate::store::Store;
use crate::store::watch::{EventType, Subscription};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Concurrent watches allowed; each holds one thread and one queue.
pub const MAX_WATCHES: usize = 512;
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Quiet streams get a blank line this often so idle timeouts in the front
/// door (and in proxies) don't cut them, and so a departed client is noticed:
/// the front door closes a departed watcher's backend connection, but this
/// thread learns of it only when a write fails, so this bounds how long an
/// abandoned watch keeps its thread. A blank line is a few bytes on the wire
/// and ignored by clients' JSON stream decoders.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Without `timeoutSeconds`, end watches like kube-apiserver's default
/// request timeout does, so clients re-list now and then.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often to send a BOOKMARK when the client allows them.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

pub struct Plan {
    rt: &'static ResourceType,
    enc: output::WatchEncoder,
    filter: ListFilter,
    initial: Vec<Arc<Value>>,
    sub: Option<Subscription>,
    /// An ERROR event to send instead of streaming (expired resourceVersion).
    error: Option<ApiError>,
    bookmarks: bool,
    initial_end_bookmark: bool,
    timeout: Duration,
    rv: u64,
    store: Arc<Store>,
    _slot: Slot,
}

/// A counted watch slot, released when the stream ends.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

pub fn plan(api: &Api, req: &Request, t: &Target) -> ApiResult<Plan> {
    let filter = ListFilter::from_request(req, t.rt)?;
    let enc = output::WatchEncoder::new(req, t.rt)?;
    if ACTIVE.fetch_add(1, Ordering::AcqRel) >= MAX_WATCHES {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::new(429, "TooManyRequests", "too many watches; try again later"));
    }
    let slot = Slot;
    let timeout = match req.param("timeoutSeconds") {
        Some(s) if !s.is_empty() => Duration::from_secs(
            s.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {s:?}")))?,
        ),
        _ => DEFAULT_TIMEOUT,
    };
    let bookmarks = req.flag("allowWatchBookmarks");
    let send_initial = req.param("sendInitialEvents") == Some("true");
    let rv_param = req.param("resourceVersion").unwrap_or("");
    let ns = t.namespace.as_deref();
    let mut plan = Plan {
        rt: t.rt,
        enc,
        filter,
        initial: Vec::new(),
        sub: None,
        error: None,
        bookmarks,
        initial_end_bookmark: false,
        timeout,
        rv: 0,
        store: api.store.clone(),
        _slot: slot,
    };
    if rv_param.is_empty() || rv_param == "0" || send_initial {
        // Like a 1.32 server: unset/0 means "the current state, then changes".
        let (items, rv, sub) = api.store.list_and_watch(t.rt.storage, ns);
        plan.initial = items;
        plan.sub = Some(sub);
        plan.rv = rv;
        plan.initial_end_bookmark = send_initial && bookmarks;
        return Ok(plan);
    }
    let from: u64 = rv_param
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv_param}")))?;
    match api.store.watch(t.rt.storage, ns, from) {
        Ok(sub) => {
            plan.sub = Some(sub);
            plan.rv = from;
        }
        Err(too_old) => {
            plan.error = Some(ApiError::gone(format!(
                "too old resource version: {from} ({})",
                too_old.oldest
            )));
        }
    }
    Ok(plan)
}

/// Write the response head and stream events until timeout, disconnect, or
/// the store dropping a slow watcher.
pub fn stream(plan: Plan, mut w: Box<dyn Write + Send>) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nCache-Control: no-cache, private\r\nTransfer-Encoding: chunked\r\n\r\n",
        plan.enc.content_type()
    );
    if w.write_all(head.as_bytes()).and_then(|_| w.flush()).is_err() {
        return;
    }
    let mut enc = plan.enc;
    let send = |w: &mut Box<dyn Write + Send>, bytes: &[u8]| -> bool {
        write!(w, "{:x}\r\n", bytes.len()).is_ok()
            && w.write_all(bytes).is_ok()
            && w.write_all(b"\r\n").is_ok()
            && w.flush().is_ok()
    };
    if let Some(err) = &plan.error {
        let ev = json!({"type": "ERROR", "object": err.to_status()});
        let _ = send(&mut w, &encode_json(&ev, false));
        let _ = w.write_all(b"0\r\n\r\n");
        return;
    }
    for obj in &plan.initial {
        if plan.filter.matches(obj, plan.rt)
            && !send(&mut w, &enc.event(EventType::Added.as_str(), obj))
        {
            return;
        }
    }
    let mut last_rv = plan.rv;
    if plan.initial_end_bookmark {
        let b = bookmark(plan.rt, last_rv, true);
        if !send(&mut w, &enc.raw_event("BOOKMARK", &b)) {
            return;
        }
    }
    let Some(sub) = plan.sub else { return };
    let start = Instant::now();
    let deadline = start + plan.timeout;
    let mut last_bookmark = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Wake in time for the final bookmark just before the deadline.
        let until_deadline = deadline - now;
        let wait = HEARTBEAT.min(
            until_deadline.saturating_sub(Duration::from_millis(200)).max(Duration::from_millis(1)),
        );
        match sub.events.recv_timeout(wait) {
            Ok(ev) => {
                last_rv = ev.rv;
                if plan.filter.matches(&ev.object, plan.rt)
                    && !send(&mut w, &enc.event(ev.kind.as_str(), &ev.object))
                {
                    return;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                let near_end = deadline.saturating_duration_since(Instant::now())
                    <= Duration::from_millis(250);
                if plan.bookmarks && (near_end || last_bookmark.elapsed() >= BOOKMARK_EVERY) {
                    last_rv = last_rv.max(plan.store.current_rv());
                    if !send(&mut w, &enc.raw_event("BOOKMARK", &bookmark(plan.rt, last_rv, false)))
                    {
                        return;
                    }
                    last_bookmark = Instant::now();
                    if near_end {
                        break;
                    }
                } else if !near_end && !send(&mut w, b"\n") {
                    return;
                }
            }
            // The store dropped this watcher (it fell behind): end the stream
            // so the client re-lists.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = w.write_all(b"0\r\n\r\n").and_then(|_| w.flush());
}

/// A BOOKMARK object: only kind, apiVersion and resourceVersion.
fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta})
}
