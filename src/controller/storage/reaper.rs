//! Docker volume removal off the controller thread.
//!
//! Removing a volume makes Docker delete its whole directory tree, which for
//! a large volume takes long; the controller thread must not wait for it. One
//! worker thread takes removals from a small bounded channel; each PV has at
//! most one removal in flight, and the PV is queued again when it ends so the
//! next pass sees the outcome.
//!
//! A volume still referenced by a container (a finished pod keeps its
//! stopped containers for `kubectl logs`) is "busy": it is retried later,
//! backing off, and at once when a pod's containers go ([`Reaper::wake`]).

use super::VOLUMES;
use crate::controller::Queue;
use crossbeam_channel::{Sender, TrySendError, bounded};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Removals waiting for the worker; more at once is refused (and retried by
/// the controller's back-off).
const CAPACITY: usize = 64;
/// First delay before retrying a busy volume; doubles up to [`BUSY_MAX`].
const BUSY_FIRST: Duration = Duration::from_secs(2);
const BUSY_MAX: Duration = Duration::from_secs(60);

/// How a removal ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Gone (or was already).
    Removed,
    /// A container still references the volume (Docker's 409).
    Busy,
    /// Anything else, with Docker's words.
    Failed(String),
}

/// What a PV's reclaim pass learns from [`Reaper::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Nothing in flight and nothing to report: inspect and maybe submit.
    Idle,
    /// A removal is running; its end queues the PV.
    Running,
    /// The last removal found the volume busy: try again after this long.
    Wait(Duration),
    Removed,
    Failed(String),
}

#[derive(Default)]
struct Entry {
    running: bool,
    last: Option<Outcome>,
    /// Consecutive busy answers (the back-off exponent).
    busy: u32,
    retry_at: Option<Instant>,
}

type Job = Box<dyn FnOnce() + Send>;

/// One worker thread and the per-PV state of its removals. Entries exist only
/// for PVs being reclaimed: they go when the removal succeeded or the PV is
/// gone ([`Reaper::forget`]).
pub struct Reaper {
    jobs: Option<Sender<Job>>,
    state: Arc<Mutex<HashMap<String, Entry>>>,
}

impl Default for Reaper {
    fn default() -> Self {
        Reaper::new()
    }
}

impl Reaper {
    pub fn new() -> Reaper {
        let (tx, rx) = bounded::<Job>(CAPACITY);
        let spawned = std::thread::Builder::new().name("volume-reaper".into()).spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        let jobs = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                log::error!("cannot start the volume removal thread: {e}");
                None
            }
        };
        Reaper { jobs, state: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// The state of `pv`'s removal; a reported outcome is consumed.
    pub fn poll(&self, pv: &str) -> Poll {
        let mut state = self.state.lock();
        let Some(e) = state.get_mut(pv) else { return Poll::Idle };
        if e.running {
            return Poll::Running;
        }
        match e.last.take() {
            Some(Outcome::Removed) => {
                state.remove(pv);
                Poll::Removed
            }
            Some(Outcome::Failed(m)) => {
                e.busy = 0;
                Poll::Failed(m)
            }
            Some(Outcome::Busy) => {
                e.busy = e.busy.saturating_add(1);
                let delay = BUSY_FIRST.saturating_mul(1 << (e.busy - 1).min(16)).min(BUSY_MAX);
                e.retry_at = Some(Instant::now() + delay);
                Poll::Wait(delay)
            }
            // Busy before, and a pass came early (another object's event):
            // keep to the back-off instead of asking Docker again.
            None => match e.retry_at {
                Some(at) if at > Instant::now() => Poll::Wait(at - Instant::now()),
                _ => Poll::Idle,
            },
        }
    }

    /// Run `work` for `pv` on the worker; its end queues the PV. A removal
    /// already in flight for `pv` is not submitted twice.
    pub fn submit(
        &self,
        pv: &str,
        queue: &Queue,
        work: impl FnOnce() -> Outcome + Send + 'static,
    ) -> Result<(), String> {
        let Some(jobs) = &self.jobs else { return Err("no volume removal thread".into()) };
        {
            let mut state = self.state.lock();
            let e = state.entry(pv.to_string()).or_default();
            if e.running {
                return Ok(());
            }
            e.running = true;
        }
        let state = self.state.clone();
        let (name, q) = (pv.to_string(), queue.clone());
        let job = Box::new(move || {
            let outcome = work();
            if let Some(e) = state.lock().get_mut(&name) {
                e.running = false;
                e.last = Some(outcome);
            }
            q.enqueue(VOLUMES, "", &name);
        });
        match jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if let Some(e) = self.state.lock().get_mut(pv) {
                    e.running = false;
                }
                Err("too many volumes being removed at once".into())
            }
        }
    }

    /// Containers went away: volumes they held may be free now.
    pub fn wake(&self, queue: &Queue) {
        let mut state = self.state.lock();
        for (pv, e) in state.iter_mut().filter(|(_, e)| e.busy > 0 && !e.running) {
            e.retry_at = None;
            queue.enqueue(VOLUMES, "", pv);
        }
    }

    /// The PV is gone: nothing more to report about it.
    pub fn forget(&self, pv: &str) {
        let mut state = self.state.lock();
        if state.get(pv).is_some_and(|e| !e.running) {
            state.remove(pv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::files::FileStore;
    use crate::store::Store;

    fn queue(tag: &str) -> (Queue, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("k2d-reaper-{tag}-{}", std::process::id()));
        let store = Arc::new(Store::open(&dir).unwrap());
        (crate::controller::new(store, FileStore::new(&dir)).queue(), dir)
    }

    fn wait_for(reaper: &Reaper, pv: &str) -> Poll {
        for _ in 0..500 {
            match reaper.poll(pv) {
                Poll::Running => std::thread::sleep(Duration::from_millis(10)),
                p => return p,
            }
        }
        panic!("removal of {pv} did not end");
    }

    #[test]
    fn removals_run_off_the_callers_thread_once_per_volume() {
        let (q, dir) = queue("once");
        let r = Reaper::new();
        let (release, gate) = bounded::<()>(0);
        r.submit("pv", &q, move || {
            let _ = gate.recv();
            Outcome::Removed
        })
        .unwrap();
        // The caller goes on while the removal blocks, and a second submit
        // while one is in flight runs nothing.
        assert_eq!(r.poll("pv"), Poll::Running);
        r.submit("pv", &q, || panic!("submitted twice")).unwrap();
        release.send(()).unwrap();
        assert_eq!(wait_for(&r, "pv"), Poll::Removed);
        assert_eq!(r.poll("pv"), Poll::Idle, "the outcome is reported once");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn busy_volumes_back_off_until_woken() {
        let (q, dir) = queue("busy");
        let r = Reaper::new();
        r.submit("pv", &q, || Outcome::Busy).unwrap();
        assert_eq!(wait_for(&r, "pv"), Poll::Wait(BUSY_FIRST));
        // An early pass keeps to the back-off.
        assert!(matches!(r.poll("pv"), Poll::Wait(d) if d <= BUSY_FIRST));
        r.submit("pv", &q, || Outcome::Busy).unwrap();
        assert_eq!(wait_for(&r, "pv"), Poll::Wait(BUSY_FIRST * 2));
        // A pod's containers went: retry now.
        r.wake(&q);
        assert_eq!(r.poll("pv"), Poll::Idle);
        r.submit("pv", &q, || Outcome::Failed("boom".into())).unwrap();
        assert_eq!(wait_for(&r, "pv"), Poll::Failed("boom".into()));
        r.forget("pv");
        assert!(r.state.lock().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
