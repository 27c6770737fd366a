//! `k2d proxy`: the per-Service proxy that stands in for kube-proxy.
//!
//! Each non-headless Service gets one container running this mode on the pods'
//! network, with the Service's DNS names as network aliases. It listens on every
//! Service port and forwards each TCP connection (and UDP flow) to the next
//! ready endpoint, round-robin, so traffic spreads over all replicas.
//!
//! The backends come from a file the controller replaces atomically (a bind-
//! mounted directory, so a rename is seen); it is re-read when its identity or
//! size changes, checked on each new connection, so an idle proxy costs nothing.
//!
//! Usage: `k2d proxy <backends file> <proto>:<port>...`; the file has lines
//! `<proto> <port> <ip>:<targetPort>`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Most TCP connections open at once (each holds two small threads and two
/// fds), whatever the fd limit allows: bounded memory on small hosts.
const MAX_CONNECTIONS: usize = 1024;
/// Fds kept for listeners, the backends file and UDP flows.
const FD_RESERVE: u64 = 64 + 2 * MAX_UDP_FLOWS as u64;
/// UDP flows (client address → backend socket) kept at once; when full, the
/// one idle longest makes room.
const MAX_UDP_FLOWS: usize = 256;
/// A UDP flow with no traffic either way for this long is forgotten.
const UDP_IDLE: Duration = Duration::from_secs(10);
/// How often a flow's relay thread looks whether its flow is still wanted.
const UDP_CHECK: Duration = Duration::from_secs(1);
/// Pause after a failed `accept`/`recv` (EMFILE, ENOBUFS...): retrying at
/// once would spin a core while nothing can change.
const ERROR_PAUSE: Duration = Duration::from_millis(50);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const THREAD_STACK: usize = 64 * 1024;

/// Open TCP connections of all ports, and the most allowed (set at start).
static OPEN: AtomicUsize = AtomicUsize::new(0);
static CONNECTION_CAP: AtomicUsize = AtomicUsize::new(MAX_CONNECTIONS);

/// Raise the soft fd limit to the hard one (Docker's default soft limit may
/// be low) and return the limit now in force.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// Connections that fit in `fd_limit` (two fds each, after the reserve).
fn connection_cap(fd_limit: u64) -> usize {
    let fit = fd_limit.saturating_sub(FD_RESERVE) / 2;
    (fit as usize).clamp(1, MAX_CONNECTIONS)
}

/// True when started as `k2d proxy ...`.
pub fn is_invocation() -> bool {
    std::env::args_os().nth(1).is_some_and(|a| a == "proxy")
}

/// `(protocol, port)`, protocol lower case.
type PortKey = (String, u16);

/// Parsed backends file.
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    pub backends: HashMap<PortKey, Vec<SocketAddr>>,
}

/// Parse the backends file; malformed lines are skipped.
pub fn parse(text: &str) -> Table {
    let mut t = Table::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(proto), Some(port), Some(addr)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Ok(port), Ok(addr)) = (port.parse::<u16>(), addr.parse::<SocketAddr>()) else {
            continue;
        };
        t.backends.entry((proto.to_ascii_lowercase(), port)).or_default().push(addr);
    }
    t
}

/// Render the file [`parse`] reads.
pub fn render(entries: &[(String, u16, SocketAddr)]) -> String {
    entries.iter().map(|(p, port, a)| format!("{} {port} {a}\n", p.to_ascii_lowercase())).collect()
}

/// What identifies one version of the file: inode, size, mtime (s, ns).
type FileId = (u64, u64, u64, i64);

/// The backends, reloaded when the file changes.
struct Backends {
    path: PathBuf,
    state: Mutex<(Option<FileId>, Table)>,
    next: AtomicUsize,
}

impl Backends {
    fn refresh(&self) {
        let id = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.ino(), m.size(), m.mtime() as u64, m.mtime_nsec()));
        let mut st = self.state.lock();
        if st.0 == id && id.is_some() {
            return;
        }
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        *st = (id, parse(&text));
    }

    /// Whether `addr` is (still) a backend of `key`.
    fn lists(&self, key: &PortKey, addr: SocketAddr) -> bool {
        self.refresh();
        self.state.lock().1.backends.get(key).is_some_and(|l| l.contains(&addr))
    }

    /// Backends of `key` in round-robin order starting at the next one.
    fn order(&self, key: &PortKey) -> Vec<SocketAddr> {
        self.refresh();
        let st = self.state.lock();
        let list = st.1.backends.get(key).cloned().unwrap_or_default();
        if list.is_empty() {
            return list;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % list.len();
        list[start..].iter().chain(&list[..start]).copied().collect()
    }
}

/// Run the proxy; never returns.
pub fn run() -> ! {
    block_stop_signals();
    let mut args = std::env::args().skip(2);
    let Some(file) = args.next() else {
        eprintln!("usage: k2d proxy <backends file> <proto>:<port>...");
        std::process::exit(2);
    };
    CONNECTION_CAP.store(connection_cap(raise_fd_limit()), Ordering::Relaxed);
    let backends = Arc::new(Backends {
        path: PathBuf::from(file),
        state: Mutex::new((None, Table::default())),
        next: AtomicUsize::new(0),
    });
    for spec in args {
        let Some((proto, port)) = spec.split_once(':') else { continue };
        let Ok(port) = port.parse::<u16>() else { continue };
        let key = (proto.to_ascii_lowercase(), port);
        let b = backends.clone();
        let spawned = match key.0.as_str() {
            "tcp" => TcpListener::bind(("0.0.0.0", port)).map(|l| {
                std::thread::spawn(move || serve_tcp(l, key, b));
            }),
            "udp" => UdpSocket::bind(("0.0.0.0", port)).map(|s| {
                std::thread::spawn(move || serve_udp(s, key, b));
            }),
            other => {
                eprintln!("k2d proxy: protocol {other} is not proxied");
                Ok(())
            }
        };
        if let Err(e) = spawned {
            eprintln!("k2d proxy: listening on {spec}: {e}");
        }
    }
    wait_for_stop_signal()
}

fn serve_tcp(listener: TcpListener, key: PortKey, backends: Arc<Backends>) {
    loop {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(_) => {
                // Out of fds or memory: the pending connection stays queued
                // until a slot frees up; do not spin meanwhile.
                std::thread::sleep(ERROR_PAUSE);
                continue;
            }
        };
        if OPEN.load(Ordering::Relaxed) >= CONNECTION_CAP.load(Ordering::Relaxed) {
            continue; // dropped: closes the connection
        }
        let order = backends.order(&key);
        OPEN.fetch_add(1, Ordering::Relaxed);
        let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || {
            if let Some(upstream) = connect_any(&order) {
                splice(client, upstream);
            }
            OPEN.fetch_sub(1, Ordering::Relaxed);
        });
        if spawned.is_err() {
            OPEN.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The first backend (in round-robin order) that accepts a connection.
fn connect_any(order: &[SocketAddr]) -> Option<TcpStream> {
    order.iter().find_map(|a| TcpStream::connect_timeout(a, CONNECT_TIMEOUT).ok())
}

/// Copy both ways until both sides are done, passing half-closes on. The
/// two threads share the sockets (`&TcpStream` reads and writes), so a
/// connection costs two fds, not four.
fn splice(client: TcpStream, upstream: TcpStream) {
    let (client, upstream) = (Arc::new(client), Arc::new(upstream));
    let (c2, u2) = (client.clone(), upstream.clone());
    let up = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || copy(&c2, &u2));
    match up {
        Ok(h) => {
            copy(&upstream, &client);
            let _ = h.join();
        }
        Err(_) => {
            let _ = client.shutdown(Shutdown::Both);
        }
    }
}

fn copy(from: &TcpStream, to: &TcpStream) {
    let (mut r, mut w) = (from, to);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if w.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// One UDP flow: the socket connected to its backend, which backend (so a
/// flow whose backend left the file is dropped), last traffic either way,
/// and an id telling its relay thread whether it is still the current flow.
struct Flow {
    id: u64,
    socket: Arc<UdpSocket>,
    backend: SocketAddr,
    used: Instant,
}

/// UDP flows by client address.
type Flows = Arc<Mutex<HashMap<SocketAddr, Flow>>>;

/// The flow idle longest, to make room.
fn oldest(flows: &HashMap<SocketAddr, Flow>) -> Option<SocketAddr> {
    flows.iter().min_by_key(|(_, f)| f.used).map(|(c, _)| *c)
}

fn serve_udp(socket: UdpSocket, key: PortKey, backends: Arc<Backends>) {
    let socket = Arc::new(socket);
    let flows: Flows = Arc::default();
    let relays = Arc::new(AtomicUsize::new(0));
    let mut next_id = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, client) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => {
                std::thread::sleep(ERROR_PAUSE);
                continue;
            }
        };
        let existing = flows.lock().get(&client).map(|f| (f.id, f.socket.clone(), f.backend));
        if let Some((id, up, backend)) = existing {
            if backends.lists(&key, backend) && up.send(&buf[..n]).is_ok() {
                if let Some(f) = flows.lock().get_mut(&client) {
                    f.used = Instant::now();
                }
                continue;
            }
            // Its backend is gone or refuses: this datagram starts a new flow.
            drop_flow(&flows, client, id);
        }
        next_id += 1;
        let Ok(Some(up)) = new_flow(&socket, client, &key, &backends, &flows, &relays, next_id)
        else {
            continue;
        };
        if up.send(&buf[..n]).is_err() {
            drop_flow(&flows, client, next_id);
        }
    }
}

/// Forget `client`'s flow if it is still flow `id` (its relay thread ends).
fn drop_flow(flows: &Flows, client: SocketAddr, id: u64) {
    let mut f = flows.lock();
    if f.get(&client).is_some_and(|fl| fl.id == id) {
        f.remove(&client);
    }
}

/// A socket connected to the next backend for `client`, with a thread that
/// relays replies until the flow goes idle, is dropped or evicted.
fn new_flow(
    listen: &Arc<UdpSocket>,
    client: SocketAddr,
    key: &PortKey,
    backends: &Backends,
    flows: &Flows,
    relays: &Arc<AtomicUsize>,
    id: u64,
) -> io::Result<Option<Arc<UdpSocket>>> {
    // Evicted flows' threads notice within UDP_CHECK; this bounds them.
    if relays.load(Ordering::Relaxed) >= 2 * MAX_UDP_FLOWS {
        return Ok(None);
    }
    let Some(backend) = backends.order(key).first().copied() else { return Ok(None) };
    let up = UdpSocket::bind(("0.0.0.0", 0))?;
    up.connect(backend)?;
    up.set_read_timeout(Some(UDP_CHECK))?;
    let up = Arc::new(up);
    {
        let mut f = flows.lock();
        if f.len() >= MAX_UDP_FLOWS
            && let Some(victim) = oldest(&f)
        {
            f.remove(&victim);
        }
        f.insert(client, Flow { id, socket: up.clone(), backend, used: Instant::now() });
    }
    let (listen, relay_flows, reader, count) =
        (listen.clone(), flows.clone(), up.clone(), relays.clone());
    relays.fetch_add(1, Ordering::Relaxed);
    let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || {
        relay(&reader, &listen, client, &relay_flows, id);
        count.fetch_sub(1, Ordering::Relaxed);
    });
    if spawned.is_err() {
        relays.fetch_sub(1, Ordering::Relaxed);
        drop_flow(flows, client, id);
        return Ok(None);
    }
    Ok(Some(up))
}

/// Replies of flow `id` back to its client, until the flow is idle, no
/// longer current, or its backend refuses (ICMP unreachable: it is gone).
fn relay(reader: &UdpSocket, listen: &UdpSocket, client: SocketAddr, flows: &Flows, id: u64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.recv(&mut buf) {
            Ok(n) => {
                let _ = listen.send_to(&buf[..n], client);
                match flows.lock().get_mut(&client) {
                    Some(f) if f.id == id => f.used = Instant::now(),
                    _ => return,
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                let mut f = flows.lock();
                match f.get(&client) {
                    Some(fl) if fl.id == id => {
                        if fl.used.elapsed() >= UDP_IDLE {
                            f.remove(&client);
                            return;
                        }
                    }
                    _ => return,
                }
            }
            Err(_) => {
                drop_flow(flows, client, id);
                return;
            }
        }
    }
}

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a zeroed set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Blocked before any thread starts (threads inherit the mask), so `sigwait`
/// in the main thread takes them: as PID 1 the default action would be ignored
/// and `docker stop` would wait for its timeout.
fn block_stop_signals() {
    let set = stop_set();
    // SAFETY: plain signal mask call on an initialised set.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn wait_for_stop_signal() -> ! {
    let set = stop_set();
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on an initialised set with a valid out pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            std::process::exit(0);
        }
    }
}

/// Where the proxy container sees the controller's directory for the Service.
pub const MOUNT: &str = "/k2d-service";
/// The backends file inside [`MOUNT`].
pub const FILE: &str = "backends";

/// Write `text` to `dir/backends` atomically (rename), so the proxy never
/// reads half a file.
pub fn write_backends(dir: &Path, text: &str) -> io::Result<bool> {
    let path = dir.join(FILE);
    if std::fs::read_to_string(&path).is_ok_and(|cur| cur == text) {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(".backends.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_file_round_trips_and_skips_junk() {
        let a: SocketAddr = "172.18.0.5:8080".parse().unwrap();
        let b: SocketAddr = "172.18.0.6:8080".parse().unwrap();
        let text = render(&[("TCP".into(), 80, a), ("tcp".into(), 80, b), ("udp".into(), 53, a)]);
        let t = parse(&format!("{text}garbage\ntcp x 1.2.3.4:5\n"));
        assert_eq!(t.backends[&("tcp".into(), 80)], vec![a, b]);
        assert_eq!(t.backends[&("udp".into(), 53)], vec![a]);
        assert_eq!(t.backends.len(), 2);
    }

    #[test]
    fn connections_rotate_over_backends_and_follow_file_changes() {
        let dir = std::env::temp_dir().join(format!("k2d-proxy-{}", std::process::id()));
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        write_backends(&dir, &render(&[("tcp".into(), 80, a), ("tcp".into(), 80, b)])).unwrap();
        let be = Backends {
            path: dir.join(FILE),
            state: Mutex::new((None, Table::default())),
            next: AtomicUsize::new(0),
        };
        let key = ("tcp".to_string(), 80);
        let firsts: Vec<SocketAddr> = (0..4).map(|_| be.order(&key)[0]).collect();
        assert_eq!(firsts, vec![a, b, a, b]);
        assert!(
            !write_backends(&dir, &render(&[("tcp".into(), 80, a), ("tcp".into(), 80, b)]))
                .unwrap()
        );
        write_backends(&dir, &render(&[("tcp".into(), 80, b)])).unwrap();
        assert_eq!(be.order(&key), vec![b]);
        assert!(be.order(&("tcp".into(), 81)).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_fd_limit_is_raised_and_bounds_connections() {
        let limit = raise_fd_limit();
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit with a valid struct.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, lim.rlim_max, "soft limit raised to the hard one");
        assert_eq!(limit, lim.rlim_cur);
        // Docker's usual soft limit of 1024 leaves room for two fds per connection.
        assert_eq!(connection_cap(1024), (1024 - FD_RESERVE as usize) / 2);
        assert!(connection_cap(1024) * 2 + FD_RESERVE as usize <= 1024);
        assert_eq!(connection_cap(1 << 20), MAX_CONNECTIONS);
        assert_eq!(connection_cap(10), 1);
    }

    fn udp_echo(tag: &'static str) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                let mut out = tag.as_bytes().to_vec();
                out.extend_from_slice(&buf[..n]);
                let _ = s.send_to(&out, from);
            }
        });
        addr
    }

    #[test]
    fn a_udp_flow_follows_its_backend_leaving() {
        let (a, b) = (udp_echo("a:"), udp_echo("b:"));
        let dir = std::env::temp_dir().join(format!("k2d-proxy-udp-{}", std::process::id()));
        write_backends(&dir, &render(&[("udp".into(), 1, a)])).unwrap();
        let be = Arc::new(Backends {
            path: dir.join(FILE),
            state: Mutex::new((None, Table::default())),
            next: AtomicUsize::new(0),
        });
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let faddr = front.local_addr().unwrap();
        std::thread::spawn(move || serve_udp(front, ("udp".into(), 1), be));
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ask = |msg: &[u8]| {
            c.send_to(msg, faddr).unwrap();
            let mut buf = [0u8; 64];
            let n = c.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        assert_eq!(ask(b"1"), "a:1");
        // The pod behind `a` went away: the same client's next datagram goes to `b`.
        std::thread::sleep(Duration::from_millis(20)); // a new mtime for the file
        write_backends(&dir, &render(&[("udp".into(), 1, b)])).unwrap();
        assert_eq!(ask(b"2"), "b:2");
        assert_eq!(ask(b"3"), "b:3");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_flow_table_makes_room_by_the_flow_idle_longest() {
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let now = Instant::now();
        let flow = |id, age| Flow {
            id,
            socket: sock.clone(),
            backend: "10.0.0.1:53".parse().unwrap(),
            used: now - Duration::from_secs(age),
        };
        let mut m = HashMap::new();
        m.insert("10.1.0.1:1000".parse().unwrap(), flow(1, 3));
        m.insert("10.1.0.2:1000".parse().unwrap(), flow(2, 9));
        m.insert("10.1.0.3:1000".parse().unwrap(), flow(3, 1));
        assert_eq!(oldest(&m), Some("10.1.0.2:1000".parse().unwrap()));
    }

    #[test]
    fn tcp_is_forwarded_end_to_end() {
        let backend = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = backend.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in backend.incoming().flatten() {
                let mut s = s;
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).is_ok() {
                    let _ = s.write_all(b"pong:");
                    let _ = s.write_all(&buf);
                }
            }
        });
        let dir = std::env::temp_dir().join(format!("k2d-proxy-e2e-{}", std::process::id()));
        write_backends(&dir, &render(&[("tcp".into(), 1, addr)])).unwrap();
        let be = Arc::new(Backends {
            path: dir.join(FILE),
            state: Mutex::new((None, Table::default())),
            next: AtomicUsize::new(0),
        });
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let faddr = front.local_addr().unwrap();
        std::thread::spawn(move || serve_tcp(front, ("tcp".into(), 1), be));
        let mut c = TcpStream::connect(faddr).unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        assert_eq!(out, "pong:hello");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
