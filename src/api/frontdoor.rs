//! The TLS front door: our own accept loop and rustls termination in front of
//! stock tiny_http on a private unix socket.
//!
//! Why not tiny_http's own TLS: its `ssl-rustls` feature pins a rustls with
//! known advisories, and its `Request::upgrade()` stream cannot be read and
//! written from two threads without a blocked read stalling writes, which
//! exec/attach/port-forward need. So each connection's first request head is
//! inspected here: upgrades (WebSocket, SPDY) go to an in-process handler with
//! a full-duplex stream, everything else is spliced byte for byte to tiny_http.
//! Only the first request needs inspecting because kubectl opens a fresh
//! connection for every upgrade.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustls::ServerConnection;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::api::auth::Auth;

/// Called on the connection's own thread for each authenticated upgrade
/// request. It owns the connection: it must write the response (e.g. `101`)
/// itself, and the connection counts against the limit until it returns, so
/// do the session's work before returning.
pub type UpgradeHandler = Arc<dyn Fn(UpgradeRequest, Duplex) + Send + Sync>;

/// The head of an upgrade request, as sent.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub method: String,
    /// The request target before `?`, still percent-encoded.
    pub path: String,
    /// The raw query after `?` (percent-encoded, may repeat keys such as
    /// `command=`), empty when there is none.
    pub query: String,
    /// Header names lower-cased, in order, repeats kept.
    pub headers: Vec<(String, String)>,
    pub peer: SocketAddr,
}

impl UpgradeRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Connections beyond this are closed at once, so threads stay bounded.
    pub max_connections: usize,
    /// Limit for the TLS handshake plus the first request head.
    pub handshake_timeout: Duration,
    /// A spliced connection with no bytes in either direction this long is
    /// closed. Watches stay open because their handler sends heartbeats.
    pub idle_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;
/// One TLS record's worth of plaintext per write, so a record goes out at once.
const CHUNK: usize = 16 * 1024;

/// Create `dir` (0700, so only we can reach the unprotected backend) and
/// return the socket path in it, a stale socket from a previous run removed.
/// Then: `tiny_http::Server::http_unix(&path)`.
pub fn backend_socket(dir: &Path) -> io::Result<PathBuf> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join("api.sock");
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    Ok(path)
}

/// Bind `bind` and serve forever on a background thread. Returns the bound
/// address (useful with port 0) and the accept thread.
pub fn start(
    bind: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    auth: Arc<Auth>,
    backend: PathBuf,
    upgrade: UpgradeHandler,
    opts: Options,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let socket = Socket::new(Domain::for_address(bind), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&bind.into())?;
    // std's backlog of 128 overflowed under a burst of kubectl connections.
    socket.listen(1024)?;
    let listener: TcpListener = socket.into();
    let local = listener.local_addr()?;
    let ctx = Arc::new(Ctx { tls, auth, backend, upgrade, opts, live: AtomicUsize::new(0) });
    let handle = std::thread::Builder::new()
        .name("k2d-frontdoor".into())
        .spawn(move || accept_loop(listener, ctx))?;
    Ok((local, handle))
}

struct Ctx {
    tls: Arc<rustls::ServerConfig>,
    auth: Arc<Auth>,
    backend: PathBuf,
    upgrade: UpgradeHandler,
    opts: Options,
    live: AtomicUsize,
}

/// Releases a connection slot however the connection thread ends.
struct Slot(Arc<Ctx>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    loop {
        let (tcp, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                log::warn!("accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if ctx.live.fetch_add(1, Ordering::AcqRel) >= ctx.opts.max_connections {
            ctx.live.fetch_sub(1, Ordering::AcqRel);
            log::debug!("{peer}: connection limit reached, closing");
            continue;
        }
        let slot = Slot(ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("k2d-conn".into())
            // Upgrade handlers (exec, port-forward) run on this thread too.
            .stack_size(1024 * 1024)
            .spawn(move || {
                let ctx = slot.0.clone();
                if let Err(e) = serve(&ctx, tcp, peer) {
                    log::debug!("{peer}: {e}");
                }
                drop(slot);
            });
        if let Err(e) = spawned {
            log::warn!("cannot start connection thread: {e}");
        }
    }
}

fn serve(ctx: &Ctx, tcp: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let _ = tcp.set_nodelay(true);
    // Finds peers that vanished without a FIN (upgrades have no idle timeout).
    let ka = TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(15));
    let _ = SockRef::from(&tcp).set_tcp_keepalive(&ka);

    let deadline = Instant::now() + ctx.opts.handshake_timeout;
    tcp.set_write_timeout(Some(ctx.opts.handshake_timeout))?;
    set_deadline(&tcp, deadline)?;
    if looks_like_plain_http(&tcp)? {
        // What kube-apiserver (Go's net/http) answers, so the mistake is obvious.
        let mut t = &tcp;
        let _ = t.write_all(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        );
        let _ = tcp.shutdown(Shutdown::Write);
        linger(&tcp);
        return Ok(());
    }
    let conn = handshake(ctx, &tcp, deadline)?;
    let mut duplex = Duplex::new(conn, tcp, peer)?;

    let (head, head_len) = match read_head(&mut duplex.reader, deadline)? {
        Head::Complete(buf, len) => (buf, len),
        Head::Closed => return Ok(()),
        Head::Reject(status) => {
            reject(duplex, &plain(status));
            return Ok(());
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    // Parsed successfully in read_head already.
    if !matches!(req.parse(&head), Ok(httparse::Status::Complete(_))) {
        return Ok(());
    }
    let rest = head[head_len..].to_vec();

    if is_upgrade(&req) {
        let up = upgrade_request(&req, peer);
        let authorized = ctx.auth.check(up.header("authorization"))
            || ctx.auth.check_websocket_protocol(up.header("sec-websocket-protocol"));
        if !authorized {
            log::debug!("{peer}: upgrade {} {} rejected: bad token", up.method, up.path);
            reject(duplex, &response("401 Unauthorized", "application/json", UNAUTHORIZED_BODY));
            return Ok(());
        }
        duplex.reader.prefix = rest;
        duplex.set_read_timeout(None)?;
        duplex.set_write_timeout(None)?;
        (ctx.upgrade)(up, duplex);
        return Ok(());
    }

    let backend = match UnixStream::connect(&ctx.backend) {
        Ok(b) => b,
        Err(e) => {
            log::warn!("API backend {}: {e}", ctx.backend.display());
            reject(duplex, &plain("503 Service Unavailable"));
            return Ok(());
        }
    };
    hand_off(&backend, &spliced_head(&req, peer), &ctx.backend, peer)?;
    (&backend).write_all(&rest)?;
    splice(duplex, backend, ctx.opts.idle_timeout)
}

/// kube-apiserver's body for a bad token (reference/errors/401-bad-token.json).
const UNAUTHORIZED_BODY: &str = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}\n";

/// A complete response after which the connection closes.
fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nCache-Control: no-cache, private\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn plain(status: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", status)
}

/// Answer and close. Unread input at close() makes the kernel send a reset,
/// which can destroy the answer before the client reads it, so read and drop
/// what the client still sends for a moment first.
fn reject(mut duplex: Duplex, answer: &[u8]) {
    let _ = duplex.writer.write_all(answer);
    let _ = duplex.writer.close();
    linger(&duplex.reader.sock);
}

fn linger(sock: &TcpStream) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 4096];
    let mut left = MAX_HEAD;
    let mut s = sock;
    while left > 0 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

fn set_deadline(tcp: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"));
    }
    tcp.set_read_timeout(Some(left))
}

/// A TLS ClientHello starts with 0x16; an HTTP request with a method name.
fn looks_like_plain_http(tcp: &TcpStream) -> io::Result<bool> {
    let mut b = [0u8; 1];
    let n = tcp.peek(&mut b)?;
    Ok(n == 1 && b[0].is_ascii_uppercase())
}

fn handshake(ctx: &Ctx, tcp: &TcpStream, deadline: Instant) -> io::Result<ServerConnection> {
    let mut conn = ServerConnection::new(ctx.tls.clone()).map_err(io::Error::other)?;
    let mut io = tcp;
    while conn.is_handshaking() {
        set_deadline(tcp, deadline)?;
        conn.complete_io(&mut io)?;
    }
    while conn.wants_write() {
        conn.write_tls(&mut io)?;
    }
    Ok(conn)
}

enum Head {
    /// The bytes read and the head's length; bytes past it belong to the body
    /// or to later requests.
    Complete(Vec<u8>, usize),
    Closed,
    Reject(&'static str),
}

fn read_head(r: &mut DuplexReader, deadline: Instant) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        set_deadline(&r.sock, deadline)?;
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buf) {
            Ok(httparse::Status::Complete(len)) => return Ok(Head::Complete(buf, len)),
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Ok(Head::Reject("431 Request Header Fields Too Large"));
            }
            Err(_) => return Ok(Head::Reject("400 Bad Request")),
        }
    }
}

fn header<'a>(req: &'a httparse::Request, name: &str) -> Option<&'a [u8]> {
    req.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

fn has_token(value: &[u8], token: &str) -> bool {
    value.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// `Connection: Upgrade` with `Upgrade: websocket` or `SPDY/3.1`, the two
/// protocols kubectl uses for exec, attach and port-forward.
fn is_upgrade(req: &httparse::Request) -> bool {
    let conn_upgrade = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .any(|h| has_token(h.value, "upgrade"));
    conn_upgrade
        && header(req, "upgrade")
            .is_some_and(|v| has_token(v, "websocket") || has_token(v, "spdy/3.1"))
}

fn upgrade_request(req: &httparse::Request, peer: SocketAddr) -> UpgradeRequest {
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    UpgradeRequest {
        method: req.method.unwrap_or("GET").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
        peer,
    }
}

pub const PEER_HEADER: &str = "X-K2d-Peer";

/// The first request head for tiny_http, with the client address added
/// (tiny_http on a unix socket sees none). A client-sent `X-K2d-Peer` is
/// dropped so it cannot spoof ours.
fn spliced_head(req: &httparse::Request, peer: SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let version = if req.version == Some(0) { "1.0" } else { "1.1" };
    let line = format!(
        "{} {} HTTP/{version}\r\n{PEER_HEADER}: {peer}\r\n",
        req.method.unwrap_or("GET"),
        req.path.unwrap_or("/")
    );
    out.extend_from_slice(line.as_bytes());
    for h in req.headers.iter().filter(|h| !h.name.eq_ignore_ascii_case(PEER_HEADER)) {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

// Handing a connection to tiny_http.
//
// tiny_http 0.12 serves each connection on a thread of its `TaskPool`
// (util/task_pool.rs). `spawn()` queues the connection if `waiting_tasks` is
// non-zero and starts a new thread only if it is zero. But a waiting thread
// that was notified still counts as waiting until it re-takes the queue lock,
// so when K connections arrive together and fewer than K threads are idle,
// the later spawns see a stale count, queue their connection and notify
// nobody. That connection then waits until some thread finishes its own
// connection, which for a kept-alive client can take minutes (measured: 1 in
// 6 requests of a burst of 8 on a fresh k2d; a ConfigMap POST waited 27 s).
//
// tiny_http cannot be patched, but the stall is visible from outside: nobody
// reads the connection. Linux reports for a unix stream socket what its peer
// has not read yet (SIOCOUTQ), so after writing the first request head we
// wait for that to reach zero. If it does not in time, we "kick" the pool:
// connect a throwaway connection and close it at once. By then the notified
// threads have re-taken the lock, so the count is true; with it at zero the
// kick's `spawn()` starts a new thread, which finishes the empty connection
// at once and then pops ours from the queue. If the count was still stale,
// the kick is queued behind ours, harmlessly (it ends at EOF when run), and
// the next kick after a backoff tries again.
//
// The wait costs a served connection one or two ioctls and a sleep of about
// 50 µs before the pump starts, and nothing can come back before the head is
// read anyway. Handing connections over one at a time would also avoid the
// stale count, but would make every connection of a burst wait for the one
// before it to be picked up.

/// First pause between looks at the unread count; a thread normally picks a
/// connection up within a few hundred microseconds.
const PICKUP_POLL_FIRST: Duration = Duration::from_micros(50);
const PICKUP_POLL_MAX: Duration = Duration::from_millis(2);
/// No reader this long means a stalled connection (or a very busy machine,
/// where a needless kick costs one short-lived thread).
const KICK_AFTER: Duration = Duration::from_millis(20);
/// Kicks at 20, 60, 140 ms ... about 5 s in all, then carry on regardless.
const MAX_KICKS: u32 = 8;

/// Write the first request head to a fresh backend connection and return
/// once a tiny_http thread has read it, kicking the pool when none does.
///
/// Only the head is written before the check, so "all read" means exactly
/// that a connection thread parsed it: a body is read later by an API
/// worker, which may be busy for reasons that have nothing to do with the
/// pool. The rest of the first read goes out after this returns.
fn hand_off(backend: &UnixStream, head: &[u8], path: &Path, peer: SocketAddr) -> io::Result<()> {
    let mut w = backend;
    w.write_all(head)?;
    let start = Instant::now();
    let mut pause = PICKUP_POLL_FIRST;
    let mut next_kick = KICK_AFTER;
    let mut kicks = 0;
    loop {
        match unread_by_peer(backend) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                log::debug!("{peer}: cannot watch the API backend read: {e}");
                return Ok(());
            }
        }
        let waited = start.elapsed();
        if waited >= next_kick {
            if kicks == MAX_KICKS {
                log::warn!("{peer}: the API backend has not read a request in {waited:?}");
                return Ok(());
            }
            log::debug!("{peer}: request unread by the API backend after {waited:?}, kicking");
            kick(path);
            kicks += 1;
            next_kick = waited + KICK_AFTER * (1 << kicks);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(PICKUP_POLL_MAX);
    }
}

/// A connection closed at once, so tiny_http's pool looks at its idle
/// threads again (see above).
fn kick(path: &Path) {
    if let Err(e) = UnixStream::connect(path) {
        log::debug!("kick {}: {e}", path.display());
    }
}

/// Whether the peer of a unix stream socket has read everything written to
/// it: Linux's SIOCOUTQ reports for AF_UNIX the send memory still held for
/// unread data (not a byte count, but zero exactly when all was read).
fn unread_by_peer(sock: &UnixStream) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: `sock` is an open socket and SIOCOUTQ (== TIOCOUTQ) stores one
    // int through the pointer, which points at one.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Milliseconds since `base` of the last byte moved in either direction.
struct Activity {
    base: Instant,
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        self.last.store(self.base.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let now = self.base.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Relaxed)))
    }
}

/// After a client's EOF, how long the backend may stay quiet before the
/// client is taken to be gone. Long enough for an ordinary answer to a client
/// that half-closed after its request; short enough that an abandoned watch
/// releases its thread at its next heartbeat.
const CLIENT_GONE_GRACE: Duration = Duration::from_secs(1);

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Copy both directions until either side ends or the connection idles out.
/// Client→backend runs here (and watches the idle clock); backend→client on a
/// helper thread.
fn splice(duplex: Duplex, backend: UnixStream, idle_timeout: Duration) -> io::Result<()> {
    let peer = duplex.peer;
    let (mut reader, mut writer) = duplex.split();
    let activity = Arc::new(Activity { base: Instant::now(), last: AtomicU64::new(0) });
    let check = (idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    reader.sock.set_read_timeout(Some(check))?;
    // A client that stops reading must not pin the pump forever.
    reader.sock.set_write_timeout(Some(idle_timeout))?;

    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let mut back_rd = backend.try_clone()?;
    let act = activity.clone();
    let pump = std::thread::Builder::new().name("k2d-splice".into()).stack_size(128 * 1024).spawn(
        move || {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match back_rd.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Err(e) = writer.write_all(&buf[..n]) {
                            log::debug!("{peer}: write to client: {e}");
                            break;
                        }
                        act.touch();
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            // The backend is done with this connection: end the TLS session
            // and wake the client→backend side.
            let _ = writer.close();
            writer.shutdown();
            let _ = back_rd.shutdown(Shutdown::Both);
            let _ = done_tx.send(());
        },
    )?;

    let mut buf = vec![0u8; CHUNK];
    let mut backend_w = &backend;
    let client_eof = loop {
        match reader.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => {
                if backend_w.write_all(&buf[..n]).is_err() {
                    break false;
                }
                activity.touch();
            }
            Err(e) if is_timeout(&e) => {
                if activity.idle() >= idle_timeout || !done_rx.is_empty() {
                    log::debug!("{peer}: idle for {idle_timeout:?}, closing");
                    break false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::debug!("{peer}: read from client: {e}");
                break false;
            }
        }
    };
    if client_eof {
        // Half-close: tiny_http finishes the responses in flight, then ends
        // the connection, which ends the pump. A backend that stays quiet
        // instead is streaming (a watch, logs -f) or slow, and the client
        // is taken to be gone, as Go's net/http cancels a request on EOF:
        // the full close below makes the handler's next write fail.
        let _ = backend.shutdown(Shutdown::Write);
        activity.touch();
        loop {
            match done_rx.recv_timeout(CLIENT_GONE_GRACE / 4) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout)
                    if activity.idle() < CLIENT_GONE_GRACE => {}
                _ => break,
            }
        }
    }
    let _ = backend.shutdown(Shutdown::Both);
    reader.shutdown();
    let _ = pump.join();
    Ok(())
}

/// State shared by both halves of a connection.
struct Shared {
    tls: Mutex<ServerConnection>,
    /// Held while sealed records go to the socket, so records leave in the
    /// order they were sealed (TLS sequence numbers) even when the reader has
    /// to send something (alerts, key updates). Lock order: `send`, then `tls`.
    send: Mutex<TcpStream>,
}

impl Shared {
    /// Move whatever rustls has queued to the socket.
    fn flush(&self) -> io::Result<()> {
        let mut sock = self.send.lock();
        let out = {
            let mut tls = self.tls.lock();
            drain(&mut tls)?
        };
        sock.write_all(&out)
    }
}

fn drain(tls: &mut ServerConnection) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut out)?;
    }
    Ok(out)
}

/// A full-duplex plaintext stream over a client's TLS connection, for
/// exec/attach/port-forward. Use it directly (`Read + Write`) or
/// [`split`](Duplex::split) it for two threads: a read blocked on the socket
/// holds no lock, and a write holds the TLS state only while sealing.
pub struct Duplex {
    reader: DuplexReader,
    writer: DuplexWriter,
    peer: SocketAddr,
}

impl Duplex {
    fn new(conn: ServerConnection, tcp: TcpStream, peer: SocketAddr) -> io::Result<Duplex> {
        let read_sock = tcp.try_clone()?;
        let shared = Arc::new(Shared { tls: Mutex::new(conn), send: Mutex::new(tcp) });
        let sock = read_sock.try_clone()?;
        Ok(Duplex {
            reader: DuplexReader {
                shared: shared.clone(),
                sock: read_sock,
                raw: vec![0u8; CHUNK + 1024].into_boxed_slice(),
                start: 0,
                end: 0,
                eof: false,
                prefix: Vec::new(),
                prefix_pos: 0,
            },
            writer: DuplexWriter { shared, sock, closed: false },
            peer,
        })
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    pub fn split(self) -> (DuplexReader, DuplexWriter) {
        (self.reader, self.writer)
    }

    /// `None` (the default for upgrade handlers) blocks until data or close.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.reader.sock.set_read_timeout(t)
    }

    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.reader.sock.set_write_timeout(t)
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// The reading half. `read` returns `Ok(0)` at the end, whether the client
/// sent TLS close_notify or just closed TCP (normal for many clients).
pub struct DuplexReader {
    shared: Arc<Shared>,
    sock: TcpStream,
    /// Ciphertext read from the socket but not yet given to rustls.
    raw: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    /// Plaintext read past the request head, returned first.
    prefix: Vec<u8>,
    prefix_pos: usize,
}

impl DuplexReader {
    /// Close both directions of the socket at once, waking a read blocked in
    /// another thread (it returns `Ok(0)`).
    pub fn shutdown(&self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(t)
    }
}

impl Read for DuplexReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix_pos < self.prefix.len() {
            let n = (self.prefix.len() - self.prefix_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            if self.prefix_pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.prefix_pos = 0;
            }
            return Ok(n);
        }
        loop {
            let must_flush = {
                let mut tls = self.shared.tls.lock();
                match tls.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // TCP closed without close_notify: an ordinary end here.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if self.start < self.end {
                    // Plaintext is empty here, so rustls has room for this.
                    let mut pending = &self.raw[self.start..self.end];
                    let n = tls.read_tls(&mut pending)?;
                    self.start += n;
                    if let Err(e) = tls.process_new_packets() {
                        // Queue rustls' alert for the peer before failing.
                        drop(tls);
                        let _ = self.shared.flush();
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    tls.wants_write()
                } else if self.eof {
                    // Tell rustls about EOF; reader() then reports how it ended.
                    tls.read_tls(&mut io::empty())?;
                    if tls.process_new_packets().is_err() {
                        return Ok(0);
                    }
                    match tls.reader().read(buf) {
                        Ok(n) => return Ok(n),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                        Err(e) => return Err(e),
                    }
                } else {
                    drop(tls);
                    // Blocking here holds no lock, so writers carry on.
                    match self.sock.read(&mut self.raw) {
                        Ok(0) => self.eof = true,
                        Ok(n) => {
                            self.start = 0;
                            self.end = n;
                        }
                        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => self.eof = true,
                        Err(e) => return Err(e),
                    }
                    false
                }
            };
            if must_flush {
                self.shared.flush()?;
            }
        }
    }
}

/// The writing half. Each `write` seals and sends at once (no buffering), so
/// interactive output and watch events are not held back.
pub struct DuplexWriter {
    shared: Arc<Shared>,
    sock: TcpStream,
    closed: bool,
}

impl DuplexWriter {
    /// Send TLS close_notify and end our sending direction; the peer's data
    /// can still be read. Also done on drop.
    pub fn close(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut sock = self.shared.send.lock();
        let out = {
            let mut tls = self.shared.tls.lock();
            tls.send_close_notify();
            drain(&mut tls)?
        };
        sock.write_all(&out)?;
        sock.shutdown(Shutdown::Write)
    }

    /// Close both directions at once, waking a read blocked in another thread.
    pub fn shutdown(&self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(t)
    }
}

impl Write for DuplexWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stream closed"));
        }
        let buf = &buf[..buf.len().min(CHUNK)];
        let mut sock = self.shared.send.lock();
        let (n, out) = {
            let mut tls = self.shared.tls.lock();
            let n = tls.writer().write(buf)?;
            (n, drain(&mut tls)?)
        };
        sock.write_all(&out)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DuplexWriter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tls;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    type Client = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

    struct Fixture {
        dir: PathBuf,
        addr: SocketAddr,
        client_cfg: Arc<rustls::ClientConfig>,
        /// Whether `/stream`'s late write failed (the client was seen gone).
        stream_write_failed: crossbeam_channel::Receiver<bool>,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Echo every byte back; meanwhile push 20 ticks while the reader thread is
    /// blocked (the client sends nothing until it has them all).
    fn echo_handler() -> UpgradeHandler {
        Arc::new(|req: UpgradeRequest, duplex: Duplex| {
            let (mut r, mut w) = duplex.split();
            let hello = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Query: {}\r\n\r\n",
                req.query
            );
            w.write_all(hello.as_bytes()).unwrap();
            let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
            let reader = std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match r.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => tx.send(buf[..n].to_vec()).unwrap(),
                    }
                }
            });
            for i in 0..20 {
                w.write_all(format!("tick{i:02}\n").as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
            for chunk in rx {
                if w.write_all(&chunk).is_err() {
                    break;
                }
            }
            drop(w);
            reader.join().unwrap();
        })
    }

    fn fixture(tag: &str, opts: Options) -> Fixture {
        let dir = tls::tests::temp_dir(tag);
        let sans = tls::wanted_sans(None, None, &[]).unwrap();
        let material = tls::load_or_create(&dir, &sans).unwrap();
        let sock = backend_socket(&dir.join("run")).unwrap();
        let server = tiny_http::Server::http_unix(&sock).unwrap();
        let (stream_tx, stream_write_failed) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                if req.url() == "/stream" {
                    let tx = stream_tx.clone();
                    std::thread::spawn(move || quiet_stream(req, tx));
                    continue;
                }
                if req.url() == "/slow" {
                    std::thread::sleep(SLOW_ANSWER);
                }
                let peer = req
                    .headers()
                    .iter()
                    .filter(|h| h.field.equiv(PEER_HEADER))
                    .map(|h| h.value.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let resp = tiny_http::Response::from_string(format!("hello {}", req.url()))
                    .with_header(tiny_http::Header::from_bytes("X-Peer", peer).unwrap());
                let _ = req.respond(resp);
            }
        });
        let auth = Arc::new(Auth::from_token("sekrit".into()));
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (addr, _h) =
            start(bind, material.server_config, auth, sock, echo_handler(), opts).unwrap();

        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(material.ca_pem.as_bytes()).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Fixture { dir, addr, client_cfg: Arc::new(cfg), stream_write_failed }
    }

    /// How long `/slow` takes: well within CLIENT_GONE_GRACE.
    const SLOW_ANSWER: Duration = Duration::from_millis(400);
    /// When `/stream` writes again: well after CLIENT_GONE_GRACE, and its
    /// first write after the client left (so no earlier write failure can
    /// have given the departure away).
    const STREAM_QUIET: Duration = Duration::from_millis(2500);

    /// Like a quiet watch: the head and one event at once, then one more
    /// write after a pause; reports whether that write failed.
    fn quiet_stream(req: tiny_http::Request, done: crossbeam_channel::Sender<bool>) {
        let mut w = req.into_writer();
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nev1\r\n";
        if w.write_all(head).and_then(|_| w.flush()).is_err() {
            let _ = done.send(true);
            return;
        }
        std::thread::sleep(STREAM_QUIET);
        let _ = done.send(w.write_all(b"1\r\n\n\r\n").and_then(|_| w.flush()).is_err());
    }

    fn connect(f: &Fixture) -> Client {
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(f.client_cfg.clone(), name).unwrap();
        let tcp = TcpStream::connect(f.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    }

    /// Read one response with a Content-Length body (enough for these tests).
    fn read_response(c: &mut impl Read) -> (String, String) {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            c.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        c.read_exact(&mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    #[test]
    fn https_requests_are_spliced_to_tiny_http() {
        let f = fixture("fd-splice", Options::default());
        let mut c = connect(&f);
        c.write_all(b"GET /api?x=1 HTTP/1.1\r\nHost: k\r\nX-K2d-Peer: spoofed\r\n\r\n").unwrap();
        let (head, body) = read_response(&mut c);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "hello /api?x=1");
        assert_eq!(c.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        let local = c.sock.local_addr().unwrap();
        assert!(head.contains(&format!("X-Peer: {local}\r\n")), "{head}");
        // Later requests on the same connection pass through untouched.
        c.write_all(b"GET /second HTTP/1.1\r\nHost: k\r\n\r\n").unwrap();
        let (_, body) = read_response(&mut c);
        assert_eq!(body, "hello /second");
    }

    #[test]
    fn upgrade_gets_a_full_duplex_stream() {
        let f = fixture("fd-upgrade", Options::default());
        let mut c = connect(&f);
        c.write_all(
            b"GET /api/v1/namespaces/d/pods/p/exec?command=sh&stdin=true HTTP/1.1\r\nHost: k\r\n\
              Connection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer sekrit\r\n\r\n",
        )
        .unwrap();
        let (head, _) = read_response(&mut c);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.contains("X-Query: command=sh&stdin=true\r\n"), "{head}");
        // The handler's reader is blocked all this time: writes must still flow.
        let t0 = Instant::now();
        let mut ticks = vec![0u8; 20 * 7];
        c.read_exact(&mut ticks).unwrap();
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert!(String::from_utf8(ticks).unwrap().ends_with("tick19\n"));

        c.write_all(b"ping").unwrap();
        let mut pong = [0u8; 4];
        c.read_exact(&mut pong).unwrap();
        assert_eq!(&pong, b"ping");

        // Bulk both ways through the client's single thread: the server reads
        // while it writes.
        let data: Vec<u8> = (0..512 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
        c.write_all(&data).unwrap();
        let mut back = vec![0u8; data.len()];
        c.read_exact(&mut back).unwrap();
        assert!(back == data);

        // Our close ends the handler's reader, which ends the session.
        c.conn.send_close_notify();
        c.flush().unwrap();
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }

    #[test]
    fn upgrade_with_bad_token_is_401() {
        let f = fixture("fd-401", Options::default());
        for auth in ["Authorization: Bearer nope\r\n", ""] {
            let mut c = connect(&f);
            let req = format!(
                "GET /x HTTP/1.1\r\nHost: k\r\nConnection: keep-alive, Upgrade\r\nUpgrade: SPDY/3.1\r\n{auth}\r\n"
            );
            c.write_all(req.as_bytes()).unwrap();
            let (head, body) = read_response(&mut c);
            assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{head}");
            assert!(head.contains("Content-Type: application/json\r\n"));
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v, serde_json::from_str::<serde_json::Value>(UNAUTHORIZED_BODY).unwrap());
        }
    }

    #[test]
    fn garbage_and_plain_http_get_400() {
        let f = fixture("fd-400", Options::default());
        let mut c = connect(&f);
        c.write_all(b"\x01\x02 garbage\r\n\r\n").unwrap();
        let (head, _) = read_response(&mut c);
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");

        let mut t = TcpStream::connect(f.addr).unwrap();
        t.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut s = String::new();
        t.read_to_string(&mut s).unwrap();
        assert!(s.contains("Client sent an HTTP request to an HTTPS server."), "{s}");
    }

    #[test]
    fn idle_connections_are_closed_and_slots_bounded() {
        let opts = Options {
            idle_timeout: Duration::from_millis(800),
            max_connections: 1,
            ..Options::default()
        };
        let f = fixture("fd-idle", opts);
        let mut c = connect(&f);
        c.write_all(b"GET / HTTP/1.1\r\nHost: k\r\n\r\n").unwrap();
        read_response(&mut c);

        // The only slot is taken: a second connection is dropped unanswered.
        let mut c2 = connect(&f);
        assert!(
            c2.write_all(b"GET / HTTP/1.1\r\n\r\n")
                .and_then(|_| c2.read(&mut [0u8; 1]))
                .map_or(true, |n| n == 0)
        );

        let t0 = Instant::now();
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(3),
            "{waited:?}"
        );

        // The slot is free again.
        std::thread::sleep(Duration::from_millis(100));
        let mut c3 = connect(&f);
        c3.write_all(b"GET /again HTTP/1.1\r\nHost: k\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut c3).1, "hello /again");
    }

    #[test]
    fn half_closed_client_still_gets_its_answer() {
        let f = fixture("fd-halfclose", Options::default());
        for close_notify in [true, false] {
            let mut c = connect(&f);
            c.write_all(b"GET /slow HTTP/1.1\r\nHost: k\r\n\r\n").unwrap();
            if close_notify {
                c.conn.send_close_notify();
                c.flush().unwrap();
            }
            c.sock.shutdown(Shutdown::Write).unwrap();
            let (head, body) = read_response(&mut c);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert_eq!(body, "hello /slow");
            let mut rest = Vec::new();
            let _ = c.read_to_end(&mut rest);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn departed_streaming_client_fails_the_handlers_next_write() {
        let f = fixture("fd-gone", Options::default());
        let mut c = connect(&f);
        c.write_all(b"GET /stream HTTP/1.1\r\nHost: k\r\n\r\n").unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        while !got.ends_with(b"ev1\r\n") {
            c.read_exact(&mut b).unwrap();
            got.push(b[0]);
        }
        // What a closing client does: FIN, no close_notify.
        c.sock.shutdown(Shutdown::Both).unwrap();
        drop(c);
        let failed = f.stream_write_failed.recv_timeout(STREAM_QUIET * 2).unwrap();
        assert!(failed, "the stream's first write after the client left succeeded");
    }

    /// A fresh tiny_http on a unix socket that answers every request at once.
    fn tiny_backend(tag: &str) -> PathBuf {
        let dir = tls::tests::temp_dir(tag);
        let sock = backend_socket(&dir).unwrap();
        let server = Arc::new(tiny_http::Server::http_unix(&sock).unwrap());
        for _ in 0..2 {
            let server = server.clone();
            std::thread::spawn(move || {
                while let Ok(rq) = server.recv() {
                    let _ = rq.respond(tiny_http::Response::from_string("ok"));
                }
            });
        }
        sock
    }

    /// The stall in tiny_http's TaskPool (see `hand_off`): bursts of new
    /// kept-alive connections on a fresh server, as kubectl's parallel
    /// discovery makes. Without the kick, some burst leaves a connection
    /// unread until another one closes; here none closes before all are
    /// answered or 1 s has passed.
    #[test]
    fn bursts_of_new_connections_are_all_served() {
        const ROUNDS: usize = 6;
        const BURST: usize = 12;
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut stalled = 0;
        for round in 0..ROUNDS {
            let sock = tiny_backend(&format!("fd-burst{round}"));
            let start = Arc::new(std::sync::Barrier::new(BURST));
            let end = Arc::new(std::sync::Barrier::new(BURST));
            let conns: Vec<_> = (0..BURST)
                .map(|_| {
                    let (sock, start, end) = (sock.clone(), start.clone(), end.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        let b = UnixStream::connect(&sock).unwrap();
                        b.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                        let t0 = Instant::now();
                        hand_off(&b, b"GET /v HTTP/1.1\r\nHost: k\r\n\r\n", &sock, peer).unwrap();
                        let answered = read_head_within(&b, t0 + Duration::from_secs(1));
                        end.wait();
                        answered
                    })
                })
                .collect();
            stalled += conns.into_iter().map(|h| h.join().unwrap()).filter(|ok| !ok).count();
            let _ = std::fs::remove_dir_all(sock.parent().unwrap());
        }
        assert_eq!(stalled, 0, "of {} connections", ROUNDS * BURST);
    }

    fn read_head_within(mut s: &UnixStream, deadline: Instant) -> bool {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
                return false;
            }
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got.starts_with(b"HTTP/1.1 200")
    }

    #[test]
    fn unread_by_peer_counts_until_read() {
        let (a, mut b) = UnixStream::pair().unwrap();
        assert_eq!(unread_by_peer(&a).unwrap(), 0);
        (&a).write_all(b"hello").unwrap();
        assert!(unread_by_peer(&a).unwrap() > 0);
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(unread_by_peer(&a).unwrap(), 0);
    }
}
