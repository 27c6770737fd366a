//! Container probes (liveness, readiness, startup), run the way the kubelet's prober runs them
//! but without a goroutine per probe: ONE scheduler thread keeps a timer heap, and a small
//! bounded pool of workers runs the probe actions (Docker exec, HTTP GET, TCP connect), each
//! within its timeout. Neither the controller thread nor the API workers ever wait on a probe.
//!
//! The pod controller tells the prober, level-based, which containers of a pod run now
//! ([`Prober::sync`]); state exists only for those, keyed by pod, container name and Docker
//! container id, so a new attempt starts from the kubelet's initial results. When a
//! published result changes the prober queues the pod, whose next pass reads
//! [`Prober::results`] for its status and [`Prober::take_kills`] for containers that failed
//! liveness or startup. `Unhealthy` Events are recorded here, on every failed run, as the
//! kubelet does (the Event correlator counts repeats).

mod action;
mod machine;
mod spec;

pub use spec::Kind;

use self::machine::{Machine, gated_open};
use self::spec::{Action, ProbeSpec};
use super::Queue;
use super::events::{EventType, KUBELET, Recorder};
use crate::adapter::convert::status::ProbeResults;
use crate::adapter::docker::Docker;
use crate::store::Store;
use crossbeam_channel::{Receiver, Sender, bounded};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Probes running at once. Exec probes hold a Docker connection each; four keep Docker and
/// this 2-core class of machine calm while a period of 1 s still fits dozens of probes.
const WORKERS: usize = 4;
/// Probes waiting for a worker; when full, a due probe is retried shortly instead.
const JOB_QUEUE: usize = 64;
const RETRY_BUSY: Duration = Duration::from_millis(200);
/// The kubelet's floor for the grace period of a kill (`minimumGracePeriodInSeconds`).
const MIN_KILL_GRACE: i64 = 2;
/// The pod's grace period when it sets none (the API server's default).
const DEFAULT_GRACE: i64 = 30;
/// Docker ids of containers killed for failing a probe, remembered so the restart policy
/// can tell such an exit from finishing; the oldest is forgotten past this many (a pod in
/// back-off that long after its kill may then be taken as finished under OnFailure).
const KILLED_MEMORY: usize = 256;

/// A running container of a pod, as the pod controller sees it.
pub struct Running<'a> {
    /// The container's spec (from `spec.containers` or a sidecar in `spec.initContainers`).
    pub spec: &'a Value,
    pub init: bool,
    pub docker_id: &'a str,
    /// Docker's `State.StartedAt`: initial delays count from it.
    pub started_at: SystemTime,
}

/// A container to kill because it failed its liveness or startup probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    pub container: String,
    pub docker_id: String,
    pub kind: Kind,
    /// Seconds for `docker stop -t`.
    pub grace: i64,
    /// `spec.containers{name}`, for Events.
    pub field_path: String,
}

#[derive(Clone)]
pub struct Prober {
    inner: Arc<Inner>,
}

struct Inner {
    docker: Arc<Docker>,
    store: Arc<Store>,
    queue: Queue,
    state: Mutex<State>,
    /// Wakes the scheduler when a timer earlier than the one it sleeps for was added.
    wake: Sender<()>,
    jobs: Sender<Job>,
}

type PodKey = (String, String);

#[derive(Default)]
struct State {
    pods: HashMap<PodKey, PodEntry>,
    probes: HashMap<u64, Probe>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    next_id: u64,
    /// Containers handed out for killing, newest last, at most [`KILLED_MEMORY`].
    killed: VecDeque<String>,
}

struct PodEntry {
    uid: String,
    /// Enough of the Pod for Events about it.
    object: Value,
    node: String,
    pod_ip: String,
    grace: i64,
    containers: HashMap<String, ContainerEntry>,
}

struct ContainerEntry {
    docker_id: String,
    field_path: String,
    /// Probe ids by [`kind_index`].
    probes: [Option<u64>; 3],
    kill: Option<(Kill, bool)>,
}

struct Probe {
    pod: PodKey,
    container: String,
    kind: Kind,
    spec: ProbeSpec,
    machine: Machine,
    in_flight: bool,
    /// When this probe is next due; timer entries for other instants are stale.
    due: Instant,
}

struct Job {
    id: u64,
    action: Action,
    timeout: Duration,
    docker_id: String,
    pod_ip: String,
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Startup => 0,
        Kind::Liveness => 1,
        Kind::Readiness => 2,
    }
}

/// The monotonic instant of a wall-clock time (now if it is past).
fn instant_at(t: SystemTime) -> Instant {
    let now = Instant::now();
    t.duration_since(SystemTime::now()).map_or(now, |d| now + d)
}

impl State {
    fn remember_kill(&mut self, docker_id: &str) {
        if self.killed.iter().any(|k| k == docker_id) {
            return;
        }
        if self.killed.len() == KILLED_MEMORY {
            self.killed.pop_front();
        }
        self.killed.push_back(docker_id.to_string());
    }

    fn forget_kill(&mut self, docker_id: &str) {
        self.killed.retain(|k| k != docker_id);
    }
    fn started(&self, c: &ContainerEntry) -> bool {
        match c.probes[kind_index(Kind::Startup)] {
            Some(id) => self.probes.get(&id).is_some_and(|p| p.machine.result() == Some(true)),
            None => true,
        }
    }

    /// Sets when probe `id` next runs. True when that is now the earliest timer: a
    /// scheduler asleep until a later one must then be woken (callers other than the
    /// scheduler itself do that).
    fn schedule(&mut self, id: u64, at: Instant) -> bool {
        let Some(p) = self.probes.get_mut(&id) else { return false };
        p.due = at;
        let earliest = self.timers.peek().is_none_or(|Reverse((first, _))| at < *first);
        self.timers.push(Reverse((at, id)));
        earliest
    }

    fn drop_container(&mut self, c: &ContainerEntry) {
        for id in c.probes.iter().flatten() {
            self.probes.remove(id);
        }
    }

    fn drop_pod(&mut self, key: &PodKey) {
        if let Some(pod) = self.pods.remove(key) {
            for c in pod.containers.values() {
                self.drop_container(c);
            }
        }
    }
}

/// Events to record once the state lock is released.
struct PendingEvent {
    object: Value,
    node: String,
    field_path: String,
    reason: &'static str,
    message: String,
}

impl Prober {
    /// Starts the scheduler thread and the workers.
    pub fn start(docker: Arc<Docker>, store: Arc<Store>, queue: Queue) -> std::io::Result<Prober> {
        let (wake, wake_rx) = bounded(1);
        let (jobs, jobs_rx) = bounded::<Job>(JOB_QUEUE);
        let inner = Arc::new(Inner {
            docker,
            store,
            queue,
            state: Mutex::new(State::default()),
            wake,
            jobs,
        });
        for i in 0..WORKERS {
            let inner = inner.clone();
            let rx = jobs_rx.clone();
            std::thread::Builder::new()
                .name(format!("prober-{i}"))
                .spawn(move || worker(&inner, &rx))?;
        }
        let sched = inner.clone();
        std::thread::Builder::new()
            .name("prober".into())
            .spawn(move || scheduler(&sched, &wake_rx))?;
        Ok(Prober { inner })
    }

    /// The containers of `pod` running now (level-based): probes start for new containers
    /// (or new attempts) and stop for those not listed.
    pub fn sync(&self, pod: &Value, node: &str, pod_ip: &str, running: &[Running]) {
        let m = &pod["metadata"];
        let key: PodKey = (
            m["namespace"].as_str().unwrap_or_default().to_string(),
            m["name"].as_str().unwrap_or_default().to_string(),
        );
        let uid = m["uid"].as_str().unwrap_or_default();
        let probed: Vec<&Running> = running
            .iter()
            .filter(|r| Kind::ALL.iter().any(|k| r.spec[k.field()].is_object()))
            .collect();
        let mut events = Vec::new();
        let mut woke = false;
        {
            let mut st = self.inner.state.lock();
            if st.pods.get(&key).is_some_and(|p| p.uid != uid) || probed.is_empty() {
                st.drop_pod(&key);
            }
            if probed.is_empty() {
                return;
            }
            let grace =
                pod["spec"]["terminationGracePeriodSeconds"].as_i64().unwrap_or(DEFAULT_GRACE);
            let object = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {
                "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                "resourceVersion": m["resourceVersion"]}});
            let mut entry = st.pods.remove(&key).unwrap_or_else(|| PodEntry {
                uid: uid.to_string(),
                object: Value::Null,
                node: String::new(),
                pod_ip: String::new(),
                grace,
                containers: HashMap::new(),
            });
            entry.object = object;
            entry.node = node.to_string();
            entry.pod_ip = pod_ip.to_string();
            entry.grace = grace;
            // Gone, or replaced by a new attempt: forget.
            let stale: Vec<String> = entry
                .containers
                .iter()
                .filter(|(name, c)| {
                    !probed.iter().any(|r| {
                        r.spec["name"].as_str() == Some(name.as_str()) && r.docker_id == c.docker_id
                    })
                })
                .map(|(name, _)| name.clone())
                .collect();
            for name in stale {
                if let Some(c) = entry.containers.remove(&name) {
                    st.drop_container(&c);
                }
            }
            for r in probed {
                let name = r.spec["name"].as_str().unwrap_or_default().to_string();
                if entry.containers.contains_key(&name) {
                    continue;
                }
                let field_path = if r.init {
                    format!("spec.initContainers{{{name}}}")
                } else {
                    format!("spec.containers{{{name}}}")
                };
                let mut c = ContainerEntry {
                    docker_id: r.docker_id.to_string(),
                    field_path: field_path.clone(),
                    probes: [None; 3],
                    kill: None,
                };
                for kind in Kind::ALL {
                    let Some(spec) = spec::parse(r.spec, kind) else { continue };
                    if spec.action == Action::Grpc {
                        events.push(PendingEvent {
                            object: entry.object.clone(),
                            node: node.to_string(),
                            field_path: field_path.clone(),
                            reason: "ProbeWarning",
                            message: format!(
                                "{} probe warning: gRPC probes are not supported by k2d; the probe is treated as passing",
                                kind.title()
                            ),
                        });
                    }
                    let id = st.next_id;
                    st.next_id += 1;
                    let first = instant_at(r.started_at + spec.initial_delay);
                    st.probes.insert(
                        id,
                        Probe {
                            pod: key.clone(),
                            container: name.clone(),
                            kind,
                            spec,
                            machine: Machine::new(kind),
                            in_flight: false,
                            due: first,
                        },
                    );
                    let _ = st.schedule(id, first);
                    c.probes[kind_index(kind)] = Some(id);
                    woke = true;
                }
                entry.containers.insert(name, c);
            }
            st.pods.insert(key, entry);
        }
        if woke {
            let _ = self.inner.wake.try_send(());
        }
        self.inner.record(events);
    }

    /// Stop probing every container of the pod `ns/name`.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.inner.state.lock().drop_pod(&(namespace.to_string(), name.to_string()));
    }

    /// Started and ready, per probed container of the pod with this uid, for its status.
    pub fn results(&self, namespace: &str, name: &str, uid: &str) -> ProbeResults {
        let st = self.inner.state.lock();
        let mut out = ProbeResults::default();
        let Some(pod) = st.pods.get(&(namespace.to_string(), name.to_string())) else {
            return out;
        };
        if pod.uid != uid {
            return out;
        }
        for (cname, c) in &pod.containers {
            let started = st.started(c);
            out.started.insert(cname.clone(), started);
            if let Some(id) = c.probes[kind_index(Kind::Readiness)] {
                let ready = st.probes.get(&id).is_some_and(|p| p.machine.result() == Some(true));
                out.ready.insert(cname.clone(), started && ready);
            }
        }
        out
    }

    /// Containers of the pod that failed liveness or startup and are not being killed yet;
    /// each is returned once (until [`Prober::kill_failed`]).
    pub fn take_kills(&self, namespace: &str, name: &str) -> Vec<Kill> {
        let mut st = self.inner.state.lock();
        let Some(pod) = st.pods.get_mut(&(namespace.to_string(), name.to_string())) else {
            return Vec::new();
        };
        let kills: Vec<Kill> = pod
            .containers
            .values_mut()
            .filter_map(|c| match &mut c.kill {
                Some((kill, issued @ false)) => {
                    *issued = true;
                    Some(kill.clone())
                }
                _ => None,
            })
            .collect();
        for k in &kills {
            st.remember_kill(&k.docker_id);
        }
        kills
    }

    /// Whether the container with this Docker id was handed out for killing because it
    /// failed liveness or startup (its exit then means "restart" under OnFailure).
    pub fn killed(&self, docker_id: &str) -> bool {
        self.inner.state.lock().killed.iter().any(|k| k == docker_id)
    }

    /// A kill did not happen (Docker refused): hand it out again on the next pass.
    pub fn kill_failed(&self, namespace: &str, name: &str, docker_id: &str) {
        let mut st = self.inner.state.lock();
        st.forget_kill(docker_id);
        if let Some(pod) = st.pods.get_mut(&(namespace.to_string(), name.to_string())) {
            for c in pod.containers.values_mut().filter(|c| c.docker_id == docker_id) {
                if let Some((_, issued)) = &mut c.kill {
                    *issued = false;
                }
            }
        }
    }
}

impl Inner {
    fn record(&self, events: Vec<PendingEvent>) {
        for e in events {
            let kubelet = Recorder { store: &self.store, source: KUBELET, node: &e.node };
            kubelet.record(&e.object, &e.field_path, EventType::Warning, e.reason, &e.message);
        }
    }

    /// Take the due probes off the heap; returns the jobs to run and how long until the
    /// next timer.
    fn due_jobs(&self) -> (Vec<Job>, Duration) {
        let now = Instant::now();
        let mut st = self.state.lock();
        let mut jobs = Vec::new();
        while let Some(&Reverse((at, id))) = st.timers.peek() {
            if at > now {
                break;
            }
            st.timers.pop();
            let Some(p) = st.probes.get(&id) else { continue };
            if p.due != at || p.in_flight || p.machine.on_hold() {
                continue;
            }
            let (kind, period) = (p.kind, p.spec.period);
            let Some(pod) = st.pods.get(&p.pod) else { continue };
            let Some(c) = pod.containers.get(&p.container) else { continue };
            let started = st.started(c);
            if !gated_open(kind, started) {
                // A startup probe that passed is done; the others wait for it.
                if kind != Kind::Startup {
                    let _ = st.schedule(id, now + period);
                }
                continue;
            }
            let job = Job {
                id,
                action: p.spec.action.clone(),
                timeout: p.spec.timeout,
                docker_id: c.docker_id.clone(),
                pod_ip: pod.pod_ip.clone(),
            };
            if let Some(p) = st.probes.get_mut(&id) {
                p.in_flight = true;
            }
            jobs.push(job);
        }
        let wait = st
            .timers
            .peek()
            .map_or(Duration::from_secs(60), |Reverse((at, _))| at.saturating_duration_since(now));
        (jobs, wait)
    }

    fn dispatch(&self, jobs: Vec<Job>) {
        for job in jobs {
            let id = job.id;
            if self.jobs.try_send(job).is_err() {
                let mut st = self.state.lock();
                if let Some(p) = st.probes.get_mut(&id) {
                    p.in_flight = false;
                }
                if st.schedule(id, Instant::now() + RETRY_BUSY) {
                    let _ = self.wake.try_send(());
                }
            }
        }
    }

    /// Apply one run's outcome.
    fn complete(&self, id: u64, outcome: &action::Outcome) {
        let now = Instant::now();
        let mut event = None;
        let mut enqueue = None;
        {
            let mut st = self.state.lock();
            let State { pods, probes, .. } = &mut *st;
            let Some(p) = probes.get_mut(&id) else { return };
            p.in_flight = false;
            let Some(pod) = pods.get_mut(&p.pod) else { return };
            let Some(c) = pod.containers.get_mut(&p.container) else { return };
            if p.machine.on_hold() {
                return;
            }
            let changed =
                p.machine.observe(outcome.ok, p.spec.success_threshold, p.spec.failure_threshold);
            if !outcome.ok {
                let verb = if outcome.errored { "errored" } else { "failed" };
                event = Some(PendingEvent {
                    object: pod.object.clone(),
                    node: pod.node.clone(),
                    field_path: c.field_path.clone(),
                    reason: "Unhealthy",
                    message: format!("{} probe {verb}: {}", p.kind.title(), outcome.message),
                });
            } else if outcome.warning {
                event = Some(PendingEvent {
                    object: pod.object.clone(),
                    node: pod.node.clone(),
                    field_path: c.field_path.clone(),
                    reason: "ProbeWarning",
                    message: format!("{} probe warning: {}", p.kind.title(), outcome.message),
                });
            }
            let (kind, result, period, due) = (p.kind, p.machine.result(), p.spec.period, p.due);
            if changed {
                enqueue = Some(p.pod.clone());
                if result == Some(false) && matches!(kind, Kind::Liveness | Kind::Startup) {
                    let grace = p.spec.grace.unwrap_or(pod.grace).max(MIN_KILL_GRACE);
                    c.kill = Some((
                        Kill {
                            container: p.container.clone(),
                            docker_id: c.docker_id.clone(),
                            kind,
                            grace,
                            field_path: c.field_path.clone(),
                        },
                        false,
                    ));
                }
            }
            let done = p.machine.on_hold() || (kind == Kind::Startup && result == Some(true));
            let others = c.probes;
            if !done {
                // Fixed rate like the kubelet's ticker, but never a burst to catch up.
                if st.schedule(id, (due + period).max(now)) {
                    // The scheduler may sleep until a later timer, or for a minute.
                    let _ = self.wake.try_send(());
                }
            }
            if kind == Kind::Startup && result == Some(true) && changed {
                // Started: liveness and readiness need not wait out a period.
                for other in others.into_iter().flatten().filter(|o| *o != id) {
                    let due = st.probes.get(&other).map(|o| (o.due, o.in_flight));
                    if let Some((d, false)) = due
                        && d > now
                    {
                        let _ = st.schedule(other, now);
                    }
                }
                let _ = self.wake.try_send(());
            }
        }
        self.record(event.into_iter().collect());
        if let Some((ns, name)) = enqueue {
            self.queue.enqueue("pods", &ns, &name);
        }
    }
}

fn scheduler(inner: &Inner, wake: &Receiver<()>) {
    loop {
        let (jobs, wait) = inner.due_jobs();
        inner.dispatch(jobs);
        // A timer added meanwhile sends a wake; otherwise sleep until the next is due.
        let _ = wake.recv_timeout(wait);
    }
}

fn worker(inner: &Inner, jobs: &Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let target = action::Target { container_id: &job.docker_id, pod_ip: &job.pod_ip };
        let outcome = if job.pod_ip.is_empty()
            && matches!(
                job.action,
                Action::Http { host: None, .. } | Action::Tcp { host: None, .. }
            ) {
            action::Outcome::error("the pod has no IP address yet")
        } else {
            action::run(&inner.docker, &job.action, &target, job.timeout)
        };
        inner.complete(job.id, &outcome);
    }
}

/// When k2d itself runs in a container that is not on the host's network, pod IPs on the
/// `k2d` bridge are unreachable from it unless it joins that network too. Try once; on the
/// host (or with `--network host`, the documented way to run k2d in a container) Docker
/// refuses or there is nothing to join, which is fine.
pub fn join_pod_network(docker: &Docker, network: &str) {
    if !std::path::Path::new("/.dockerenv").exists() {
        return;
    }
    let Ok(me) = std::fs::read_to_string("/etc/hostname") else { return };
    let me = me.trim();
    if me.is_empty() {
        return;
    }
    match docker
        .post_json::<Value>(&format!("/networks/{network}/connect"), &json!({"Container": me}))
    {
        Ok(_) => log::info!("joined Docker network {network} so probes reach pod IPs"),
        Err(e) => log::debug!(
            "not joining Docker network {network} ({e}); probes use pod IPs as they are"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_times_map_to_instants() {
        let past = instant_at(SystemTime::now() - Duration::from_secs(5));
        assert!(past <= Instant::now());
        let future = instant_at(SystemTime::now() + Duration::from_secs(5));
        let d = future.saturating_duration_since(Instant::now());
        assert!(d > Duration::from_secs(4) && d <= Duration::from_secs(5), "{d:?}");
    }

    #[test]
    fn killed_containers_are_remembered_within_a_bound() {
        let mut st = State::default();
        st.remember_kill("a");
        st.remember_kill("a");
        assert_eq!(st.killed.len(), 1);
        for i in 0..KILLED_MEMORY {
            st.remember_kill(&format!("c{i}"));
        }
        assert_eq!(st.killed.len(), KILLED_MEMORY);
        assert!(!st.killed.iter().any(|k| k == "a"), "the oldest is forgotten");
        assert!(st.killed.iter().any(|k| k == "c0"));
        st.forget_kill("c0");
        assert!(!st.killed.iter().any(|k| k == "c0"));
    }

    /// A probe rescheduled after its run is usually the only or the earliest timer: the
    /// scheduler, asleep until a later one (or for a minute with none), must be woken.
    #[test]
    fn scheduling_tells_when_a_timer_becomes_the_earliest() {
        let mut st = State::default();
        let now = Instant::now();
        for id in [1, 2] {
            st.probes.insert(
                id,
                Probe {
                    pod: ("ns".into(), "p".into()),
                    container: "c".into(),
                    kind: Kind::Readiness,
                    spec: spec::parse(
                        &json!({"readinessProbe": {"exec": {"command": ["true"]}}}),
                        Kind::Readiness,
                    )
                    .unwrap(),
                    machine: Machine::new(Kind::Readiness),
                    in_flight: false,
                    due: now,
                },
            );
        }
        assert!(st.schedule(1, now + Duration::from_secs(10)), "the only timer");
        assert!(!st.schedule(2, now + Duration::from_secs(20)), "a later one");
        assert!(st.schedule(2, now + Duration::from_secs(1)), "an earlier one");
        assert!(!st.schedule(99, now), "no such probe");
    }

    #[test]
    fn kind_indexes_are_distinct() {
        let mut seen: Vec<usize> = Kind::ALL.iter().map(|k| kind_index(*k)).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2]);
    }
}
