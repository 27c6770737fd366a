//! Watch fan-out: a bounded history of recent events (so a watch can resume
//! from a resourceVersion) and one bounded channel per watcher.
//!
//! A watcher that falls behind by more than its channel holds is dropped rather
//! than buffered without bound; its client sees the stream end and re-lists,
//! exactly what clients do when a real apiserver closes a watch.

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many past events a watch can resume from.
pub const HISTORY: usize = 1024;
/// Events a watcher may have queued before it is dropped.
pub const WATCHER_QUEUE: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object, as watchers receive it.
#[derive(Debug)]
pub struct Event {
    pub kind: EventType,
    /// The storage key of the resource (`configmaps`).
    pub resource: Arc<str>,
    pub namespace: String,
    pub object: Arc<Value>,
    pub rv: u64,
}

struct Watcher {
    resource: Arc<str>,
    namespace: Option<String>,
    tx: Sender<Arc<Event>>,
    closed: Arc<AtomicBool>,
}

/// A registered watch. Dropping it unregisters the watcher (at the next publish
/// or subscribe), so a client that left holds nothing in the hub for long.
pub struct Subscription {
    pub events: Receiver<Arc<Event>>,
    closed: Arc<AtomicBool>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

impl Watcher {
    fn wants(&self, ev: &Event) -> bool {
        *self.resource == *ev.resource
            && self.namespace.as_deref().is_none_or(|ns| ns == ev.namespace)
    }
}

#[derive(Default)]
pub struct Hub {
    history: VecDeque<Arc<Event>>,
    /// The resourceVersion just before the oldest event still in `history`:
    /// a watch from an older version may have missed events.
    floor: u64,
    watchers: Vec<Watcher>,
}

/// The answer to a watch from a resourceVersion that history no longer covers.
#[derive(Debug, PartialEq, Eq)]
pub struct TooOld {
    pub oldest: u64,
}

impl Hub {
    pub fn new(current_rv: u64) -> Hub {
        Hub { floor: current_rv, ..Default::default() }
    }

    pub fn publish(&mut self, ev: Event) {
        let ev = Arc::new(ev);
        if self.history.len() == HISTORY
            && let Some(old) = self.history.pop_front()
        {
            self.floor = old.rv;
        }
        self.history.push_back(ev.clone());
        self.watchers.retain(|w| {
            if w.closed.load(Ordering::Relaxed) {
                return false;
            }
            if !w.wants(&ev) {
                return true;
            }
            match w.tx.try_send(ev.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    log::warn!(
                        "dropping a watcher of {} that fell {WATCHER_QUEUE} events behind",
                        w.resource
                    );
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    /// Register a watcher that first receives every retained event after `from`.
    pub fn subscribe(
        &mut self,
        resource: &str,
        namespace: Option<&str>,
        from: u64,
    ) -> Result<Subscription, TooOld> {
        if from < self.floor {
            return Err(TooOld { oldest: self.floor + 1 });
        }
        self.watchers.retain(|w| !w.closed.load(Ordering::Relaxed));
        let (tx, rx) = bounded(WATCHER_QUEUE);
        let closed = Arc::new(AtomicBool::new(false));
        let w = Watcher {
            resource: resource.into(),
            namespace: namespace.map(str::to_string),
            tx,
            closed: closed.clone(),
        };
        for ev in self.history.iter().filter(|e| e.rv > from && w.wants(e)) {
            if w.tx.try_send(ev.clone()).is_err() {
                // More backlog than a watcher may queue: same as being too old.
                return Err(TooOld { oldest: self.floor + 1 });
            }
        }
        self.watchers.push(w);
        Ok(Subscription { events: rx, closed })
    }

    #[cfg(test)]
    pub fn watcher_count(&self) -> usize {
        self.watchers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(rv: u64, res: &str) -> Event {
        Event {
            kind: EventType::Added,
            resource: res.into(),
            namespace: "default".into(),
            object: Arc::new(json!({"rv": rv})),
            rv,
        }
    }

    #[test]
    fn resumes_from_history_and_filters_by_resource() {
        let mut hub = Hub::new(10);
        hub.publish(ev(11, "configmaps"));
        hub.publish(ev(12, "secrets"));
        hub.publish(ev(13, "configmaps"));
        let sub = hub.subscribe("configmaps", Some("default"), 11).unwrap();
        let rx = &sub.events;
        assert_eq!(rx.try_recv().unwrap().rv, 13);
        assert!(rx.try_recv().is_err());
        hub.publish(ev(14, "configmaps"));
        assert_eq!(rx.try_recv().unwrap().rv, 14);
    }

    #[test]
    fn too_old_once_history_rolled_over() {
        let mut hub = Hub::new(0);
        for rv in 1..=(HISTORY as u64 + 5) {
            hub.publish(ev(rv, "configmaps"));
        }
        assert!(hub.subscribe("configmaps", None, 2).is_err());
        assert!(hub.subscribe("configmaps", None, HISTORY as u64 + 4).is_ok());
    }

    #[test]
    fn slow_watchers_are_dropped_not_buffered() {
        let mut hub = Hub::new(0);
        let sub = hub.subscribe("configmaps", None, 0).unwrap();
        for rv in 1..=(WATCHER_QUEUE as u64 + 1) {
            hub.publish(ev(rv, "configmaps"));
        }
        assert_eq!(hub.watcher_count(), 0);
        assert_eq!(sub.events.len(), WATCHER_QUEUE);
    }

    #[test]
    fn dropped_subscriptions_are_unregistered() {
        let mut hub = Hub::new(0);
        drop(hub.subscribe("configmaps", None, 0).unwrap());
        hub.publish(ev(1, "secrets"));
        assert_eq!(hub.watcher_count(), 0);
    }
}
