//! The kubelet's probe worker logic (`pkg/kubelet/prober/worker.go`) without the timing: what
//! a probe reports before its first run, how many equal results in a row change the result,
//! which probes are held back by a startup probe, and that a failed liveness or startup probe
//! stops probing its container (which is about to be killed) until a new one exists.

use super::spec::Kind;

/// One probe of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    kind: Kind,
    /// The published result; `None` is the kubelet's `Unknown`.
    result: Option<bool>,
    /// The last raw outcome and how many times in a row it came.
    last: Option<bool>,
    run: u32,
    /// Liveness/startup failed: the container will be killed, stop probing it.
    on_hold: bool,
}

impl Machine {
    /// Readiness starts as failed (not ready until it passes), liveness as passing (a
    /// container is alive until shown otherwise), startup as unknown.
    pub fn new(kind: Kind) -> Machine {
        let result = match kind {
            Kind::Readiness => Some(false),
            Kind::Liveness => Some(true),
            Kind::Startup => None,
        };
        Machine { kind, result, last: None, run: 0, on_hold: false }
    }

    pub fn result(&self) -> Option<bool> {
        self.result
    }

    pub fn on_hold(&self) -> bool {
        self.on_hold
    }

    /// Feed one probe outcome; returns `true` when the published result changed.
    pub fn observe(&mut self, ok: bool, success_threshold: u32, failure_threshold: u32) -> bool {
        if self.on_hold {
            return false;
        }
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let threshold = if ok { success_threshold } else { failure_threshold };
        if self.run < threshold.max(1) {
            return false;
        }
        let changed = self.result != Some(ok);
        self.result = Some(ok);
        if !ok && matches!(self.kind, Kind::Liveness | Kind::Startup) {
            self.on_hold = true;
            self.run = 0;
        }
        changed
    }
}

/// Whether a probe of this kind runs now, given whether its container has started (passed
/// its startup probe, or has none). Liveness and readiness wait for startup; a startup
/// probe that passed is done.
pub fn gated_open(kind: Kind, started: bool) -> bool {
    match kind {
        Kind::Startup => !started,
        Kind::Liveness | Kind::Readiness => started,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_results_are_the_kubelets() {
        assert_eq!(Machine::new(Kind::Readiness).result(), Some(false));
        assert_eq!(Machine::new(Kind::Liveness).result(), Some(true));
        assert_eq!(Machine::new(Kind::Startup).result(), None);
    }

    #[test]
    fn readiness_needs_success_threshold_in_a_row() {
        let mut m = Machine::new(Kind::Readiness);
        assert!(!m.observe(true, 2, 3));
        assert_eq!(m.result(), Some(false));
        assert!(!m.observe(false, 2, 3));
        assert!(!m.observe(true, 2, 3));
        assert!(m.observe(true, 2, 3), "two successes in a row make it ready");
        assert_eq!(m.result(), Some(true));
        assert!(!m.observe(true, 2, 3), "no change, no report");
        assert!(!m.observe(false, 2, 3));
        assert!(!m.observe(false, 2, 3));
        assert!(m.observe(false, 2, 3), "third failure in a row");
        assert_eq!(m.result(), Some(false));
        // Readiness keeps probing after failing.
        assert!(!m.on_hold());
        assert!(!m.observe(true, 2, 3));
        assert!(m.observe(true, 2, 3));
    }

    #[test]
    fn liveness_failure_holds_until_a_new_container() {
        let mut m = Machine::new(Kind::Liveness);
        assert!(!m.observe(true, 1, 2));
        assert!(!m.observe(false, 1, 2));
        assert_eq!(m.result(), Some(true));
        assert!(m.observe(false, 1, 2));
        assert_eq!(m.result(), Some(false));
        assert!(m.on_hold());
        assert!(!m.observe(true, 1, 2), "on hold: results are ignored");
        assert_eq!(m.result(), Some(false));
    }

    #[test]
    fn startup_passes_once_and_fails_after_threshold() {
        let mut m = Machine::new(Kind::Startup);
        assert!(!m.observe(false, 1, 3));
        assert_eq!(m.result(), None, "below the failure threshold it stays unknown");
        assert!(m.observe(true, 1, 3));
        assert_eq!(m.result(), Some(true));

        let mut m = Machine::new(Kind::Startup);
        assert!(!m.observe(false, 1, 2));
        assert!(m.observe(false, 1, 2));
        assert_eq!(m.result(), Some(false));
        assert!(m.on_hold());
    }

    #[test]
    fn startup_gates_the_others() {
        assert!(gated_open(Kind::Startup, false));
        assert!(!gated_open(Kind::Startup, true));
        assert!(!gated_open(Kind::Liveness, false));
        assert!(!gated_open(Kind::Readiness, false));
        assert!(gated_open(Kind::Readiness, true));
    }
}
