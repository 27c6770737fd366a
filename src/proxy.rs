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

/// Open TCP connections (each holds two small threads) beyond which new ones
/// are refused: bounded memory on small hosts.
const MAX_CONNECTIONS: usize = 512;
/// UDP flows (client address → backend socket) kept at once.
const MAX_UDP_FLOWS: usize = 256;
/// A UDP flow with no reply for this long is forgotten.
const UDP_IDLE: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const THREAD_STACK: usize = 64 * 1024;

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
    let open = Arc::new(AtomicUsize::new(0));
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            continue; // dropped: closes the connection
        }
        let order = backends.order(&key);
        let open = open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn({
            let open = open.clone();
            move || {
                if let Some(upstream) = connect_any(&order) {
                    splice(client, upstream);
                }
                open.fetch_sub(1, Ordering::Relaxed);
            }
        });
        if spawned.is_err() {
            open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The first backend (in round-robin order) that accepts a connection.
fn connect_any(order: &[SocketAddr]) -> Option<TcpStream> {
    order.iter().find_map(|a| TcpStream::connect_timeout(a, CONNECT_TIMEOUT).ok())
}

/// Copy both ways until both sides are done, passing half-closes on.
fn splice(client: TcpStream, upstream: TcpStream) {
    let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else { return };
    let up = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || copy(c2, u2));
    copy(upstream, client);
    if let Ok(h) = up {
        let _ = h.join();
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

fn serve_udp(socket: UdpSocket, key: PortKey, backends: Arc<Backends>) {
    let socket = Arc::new(socket);
    let flows: Flows = Arc::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf) else { continue };
        let existing = flows.lock().get_mut(&client).map(|f| {
            f.1 = Instant::now();
            f.0.clone()
        });
        let upstream = match existing {
            Some(u) => u,
            None => match new_flow(&socket, client, &key, &backends, &flows) {
                Ok(Some(u)) => u,
                _ => continue,
            },
        };
        let _ = upstream.send(&buf[..n]);
    }
}

/// UDP flows by client address: the socket connected to its backend, last use.
type Flows = Arc<Mutex<HashMap<SocketAddr, (Arc<UdpSocket>, Instant)>>>;

/// A socket connected to the next backend for `client`, with a thread that
/// relays replies until the flow goes idle.
fn new_flow(
    listen: &Arc<UdpSocket>,
    client: SocketAddr,
    key: &PortKey,
    backends: &Backends,
    flows: &Flows,
) -> io::Result<Option<Arc<UdpSocket>>> {
    if flows.lock().len() >= MAX_UDP_FLOWS {
        return Ok(None);
    }
    let Some(backend) = backends.order(key).first().copied() else { return Ok(None) };
    let up = UdpSocket::bind(("0.0.0.0", 0))?;
    up.connect(backend)?;
    up.set_read_timeout(Some(UDP_IDLE))?;
    let up = Arc::new(up);
    flows.lock().insert(client, (up.clone(), Instant::now()));
    let (listen, relay_flows, reader) = (listen.clone(), flows.clone(), up.clone());
    let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.recv(&mut buf) {
                Ok(n) => {
                    let _ = listen.send_to(&buf[..n], client);
                }
                Err(_) => {
                    let mut f = relay_flows.lock();
                    let idle = f.get(&client).is_none_or(|(_, at)| at.elapsed() >= UDP_IDLE);
                    if idle {
                        f.remove(&client);
                        return;
                    }
                }
            }
        }
    });
    if spawned.is_err() {
        flows.lock().remove(&client);
        return Ok(None);
    }
    Ok(Some(up))
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
