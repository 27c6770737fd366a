//! Cluster IPs and node ports, allocated as kube-apiserver does: from fixed
//! ranges, at random, never twice. The stored Services are the allocation
//! record (so nothing extra is persisted and deleting a Service frees its
//! values); values handed out or claimed but not yet stored are held, under
//! one lock, so two writes racing never get the same value. A hold lasts
//! until its write attempt is over ([`release`]: stored, dry run or refused);
//! [`HOLD`] is only a safety net.

use crate::store::Store;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// The service CIDR: kubeadm's default `10.96.0.0/12`.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
const NET: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const PREFIX: u32 = 12;
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;
/// How long a hold can outlive a write that never said it was over.
const HOLD: Duration = Duration::from_secs(60);

static STORE: OnceLock<Arc<Store>> = OnceLock::new();

/// A value held for a write in progress: by whom (`ns/name`), which request
/// thread (the write runs on it from admission to store), since when.
struct Hold {
    owner: String,
    value: Taken,
    thread: ThreadId,
    at: Instant,
}

static RECENT: Mutex<Vec<Hold>> = Mutex::new(Vec::new());

/// Gives the allocator the store, whose Services record what is taken.
/// Without it (unit tests of other modules) only recent allocations count.
pub fn attach_store(store: Arc<Store>) {
    let _ = STORE.set(store);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Taken {
    Ip(u32),
    NodePort(u16),
}

/// What every Service other than `owner` (`ns/name`) holds.
fn taken_by_others(owner: &str) -> HashSet<Taken> {
    let mut out = HashSet::new();
    if let Some(store) = STORE.get() {
        let (items, _) = store.list("services", None, None);
        for svc in items {
            let key = format!(
                "{}/{}",
                svc["metadata"]["namespace"].as_str().unwrap_or(""),
                svc["metadata"]["name"].as_str().unwrap_or("")
            );
            if key != owner {
                out.extend(held(&svc));
            }
        }
    }
    let now = Instant::now();
    let mut recent = RECENT.lock();
    recent.retain(|h| now.duration_since(h.at) < HOLD);
    out.extend(recent.iter().filter(|h| h.owner != owner).map(|h| h.value));
    out
}

/// The cluster IPs and node ports a Service object holds.
pub fn held(svc: &Value) -> Vec<Taken> {
    let mut out = Vec::new();
    let spec = &svc["spec"];
    let ips = spec["clusterIPs"].as_array().cloned().unwrap_or_default();
    let single = spec["clusterIP"].clone();
    for ip in ips.iter().chain(std::iter::once(&single)) {
        if let Some(ip) = ip.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) {
            out.push(Taken::Ip(u32::from(ip)));
        }
    }
    for p in spec["ports"].as_array().into_iter().flatten() {
        if let Some(n) = p["nodePort"].as_u64().and_then(|n| u16::try_from(n).ok()) {
            out.push(Taken::NodePort(n));
        }
    }
    out
}

/// Whether `t` is held by a Service other than `owner`.
#[cfg(test)]
pub fn is_taken(owner: &str, t: Taken) -> bool {
    taken_by_others(owner).contains(&t)
}

/// Claim a value the client chose for `owner`: false when another Service
/// holds it; otherwise held for this write (check and record are one step,
/// so of two writes racing for it one is refused).
pub fn claim(owner: &str, t: Taken) -> bool {
    let _serialised = ALLOC.lock();
    if taken_by_others(owner).contains(&t) {
        return false;
    }
    remember(owner, t);
    true
}

/// The write of `owner` on this thread is over: its holds go (a stored
/// object now records its values; a dry run or a refused write needs none).
pub fn release(owner: &str) {
    let me = std::thread::current().id();
    RECENT.lock().retain(|h| h.owner != owner || h.thread != me);
}

/// Whether `ip` lies in [`SERVICE_CIDR`].
pub fn in_range(ip: Ipv4Addr) -> bool {
    u32::from(ip) >> (32 - PREFIX) == NET >> (32 - PREFIX)
}

/// Hand out a free cluster IP for `owner`, or `None` when the range is full.
pub fn allocate_ip(owner: &str) -> Option<Ipv4Addr> {
    let _serialised = ALLOC.lock();
    let taken = taken_by_others(owner);
    let ip = pick_ip(&taken, random_u32())?;
    remember(owner, Taken::Ip(u32::from(ip)));
    Some(ip)
}

/// Hand out a free node port for `owner`, avoiding `also` (ports of the same
/// object allocated in this pass).
pub fn allocate_node_port(owner: &str, also: &[u16]) -> Option<u16> {
    let _serialised = ALLOC.lock();
    let mut taken = taken_by_others(owner);
    taken.extend(also.iter().map(|p| Taken::NodePort(*p)));
    let port = pick_node_port(&taken, random_u32())?;
    remember(owner, Taken::NodePort(port));
    Some(port)
}

/// Serialises allocations: scanning and remembering happen as one step.
static ALLOC: Mutex<()> = Mutex::new(());

/// Called with [`ALLOC`] held, so scan and record are one step.
fn remember(owner: &str, t: Taken) {
    RECENT.lock().push(Hold {
        owner: owner.to_string(),
        value: t,
        thread: std::thread::current().id(),
        at: Instant::now(),
    });
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    crate::api::meta::fill_random(&mut b);
    u32::from_ne_bytes(b)
}

/// A free address of the range, probing upwards from a random start; the
/// network and broadcast addresses and the first host (kube-apiserver keeps it
/// for the `kubernetes` Service) are never handed out.
pub fn pick_ip(taken: &HashSet<Taken>, rand: u32) -> Option<Ipv4Addr> {
    let size = 1u32 << (32 - PREFIX);
    let usable = size - 3; // offsets 2 ..= size-2
    let start = rand % usable;
    (0..usable)
        .map(|i| NET + 2 + (start + i) % usable)
        .find(|ip| !taken.contains(&Taken::Ip(*ip)))
        .map(Ipv4Addr::from)
}

/// A free port of 30000–32767, probing upwards from a random start.
pub fn pick_node_port(taken: &HashSet<Taken>, rand: u32) -> Option<u16> {
    let span = u32::from(NODE_PORT_MAX - NODE_PORT_MIN) + 1;
    let start = rand % span;
    (0..span)
        .map(|i| NODE_PORT_MIN + ((start + i) % span) as u16)
        .find(|p| !taken.contains(&Taken::NodePort(*p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ips_come_from_the_range_and_skip_taken_ones() {
        let taken: HashSet<Taken> = HashSet::new();
        let ip = pick_ip(&taken, 0).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 96, 0, 2));
        assert!(in_range(ip));
        let mut taken = HashSet::new();
        taken.insert(Taken::Ip(u32::from(Ipv4Addr::new(10, 96, 0, 2))));
        assert_eq!(pick_ip(&taken, 0).unwrap(), Ipv4Addr::new(10, 96, 0, 3));
        // The last usable address wraps around to the first.
        let last = pick_ip(&HashSet::new(), (1 << 20) - 4).unwrap();
        assert_eq!(last, Ipv4Addr::new(10, 111, 255, 254));
        assert!(!in_range(Ipv4Addr::new(10, 112, 0, 1)));
        assert!(!in_range(Ipv4Addr::new(10, 95, 255, 255)));
        for r in [1u32, 77, 1 << 31, u32::MAX] {
            let ip = pick_ip(&HashSet::new(), r).unwrap();
            assert!(in_range(ip) && ip != Ipv4Addr::new(10, 111, 255, 255), "{ip}");
        }
    }

    #[test]
    fn node_ports_stay_in_range_and_never_repeat() {
        let mut taken = HashSet::new();
        for r in 0..(u32::from(NODE_PORT_MAX - NODE_PORT_MIN) + 1) {
            let p = pick_node_port(&taken, r.wrapping_mul(2654435761)).unwrap();
            assert!((NODE_PORT_MIN..=NODE_PORT_MAX).contains(&p));
            assert!(taken.insert(Taken::NodePort(p)), "{p} handed out twice");
        }
        assert_eq!(pick_node_port(&taken, 5), None, "a full range has nothing left");
    }

    #[test]
    fn a_service_holds_its_ips_and_node_ports() {
        let svc = json!({"spec": {
            "clusterIP": "10.96.3.4", "clusterIPs": ["10.96.3.4"],
            "ports": [{"port": 80, "nodePort": 30080}, {"port": 81}]}});
        let h = held(&svc);
        assert!(h.contains(&Taken::Ip(u32::from(Ipv4Addr::new(10, 96, 3, 4)))));
        assert!(h.contains(&Taken::NodePort(30080)));
        assert_eq!(held(&json!({"spec": {"clusterIP": "None"}})), vec![]);
    }

    #[test]
    fn recent_allocations_are_not_handed_out_again() {
        let a = allocate_node_port("t/a", &[]).unwrap();
        // Another owner never gets the same port while it is held.
        for _ in 0..50 {
            assert_ne!(allocate_node_port("t/b", &[]).unwrap(), a);
        }
        let ip = allocate_ip("t/c").unwrap();
        assert!(is_taken("t/d", Taken::Ip(u32::from(ip))));
        assert!(!is_taken("t/c", Taken::Ip(u32::from(ip))));
    }

    #[test]
    fn explicit_values_are_claimed_once_and_released_when_the_write_is_over() {
        let port = Taken::NodePort(31999);
        assert!(claim("c/a", port));
        assert!(claim("c/a", port), "its own claim is no conflict");
        // Another write, on another thread, racing for the same port loses.
        let other = std::thread::spawn(move || claim("c/b", port)).join().unwrap();
        assert!(!other);
        // Another thread's write of the same owner does not release this one's hold.
        std::thread::spawn(|| release("c/a")).join().unwrap();
        assert!(is_taken("c/b", port));
        release("c/a");
        assert!(!is_taken("c/b", port), "a dry run or failed write holds nothing");
        let np = allocate_node_port("c/d", &[]).unwrap();
        release("c/d");
        assert!(!is_taken("c/e", Taken::NodePort(np)));
    }
}
