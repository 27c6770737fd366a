//! Run a command in a container and collect what it printed and how it exited, within a
//! deadline: what exec probes need. Interactive exec (kubectl exec) streams instead and does
//! not use this.

use std::io;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Demux, Docker, DockerError};

/// How a command run with [`Docker::exec_collect`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// `None` when the deadline passed first (the process is then killed where k2d can; see
    /// `kill_exec`).
    pub exit_code: Option<i64>,
    /// stdout and stderr interleaved as the process wrote them, cut at the caller's limit.
    pub output: Vec<u8>,
}

/// How long killing a timed-out exec may take (the inspect for its pid, and the fallback
/// `kill` exec): past the probe's own timeout, but short.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);

impl Docker {
    /// `POST /containers/{id}/exec` + start (hijacked, multiplexed) + inspect, all within
    /// `timeout`. Output beyond `max_output` bytes is read and dropped, so a chatty command
    /// cannot grow memory. A command still running at the deadline is killed, as containerd's
    /// ExecSync does for the kubelet, so a hanging probe command does not pile up a process
    /// every period.
    pub fn exec_collect(
        &self,
        container: &str,
        cmd: &[String],
        timeout: Duration,
        max_output: usize,
    ) -> Result<ExecOutcome, DockerError> {
        let deadline = Instant::now() + timeout;
        let created: Value = match self.post_json_within(
            &format!("/containers/{container}/exec"),
            &json!({"AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
                    "Tty": false, "Cmd": cmd}),
            Some(timeout),
        ) {
            Ok(v) => v,
            // Nothing was created (or Docker is too slow to say): nothing to kill.
            Err(DockerError::Io(e)) if timed_out(&e) => {
                return Ok(ExecOutcome { exit_code: None, output: Vec::new() });
            }
            Err(e) => return Err(e),
        };
        let id = created["Id"].as_str().unwrap_or_default().to_string();
        if id.is_empty() {
            return Err(DockerError::Decode("exec create answered no Id".into()));
        }
        let outcome = self.run_exec(&id, deadline, max_output);
        if matches!(outcome, Ok(ExecOutcome { exit_code: None, .. })) {
            self.kill_exec(&id);
        }
        outcome
    }

    fn run_exec(
        &self,
        id: &str,
        deadline: Instant,
        max_output: usize,
    ) -> Result<ExecOutcome, DockerError> {
        let left = remaining(deadline);
        if left.is_zero() {
            return Ok(ExecOutcome { exit_code: None, output: Vec::new() });
        }
        let stream = match self.hijack_with_timeout(
            "POST",
            &format!("/exec/{id}/start"),
            Some(&json!({"Detach": false, "Tty": false})),
            Some(left),
        ) {
            Ok(s) => s,
            Err(DockerError::Io(e)) if timed_out(&e) => {
                return Ok(ExecOutcome { exit_code: None, output: Vec::new() });
            }
            Err(e) => return Err(e),
        };
        let mut demux = Demux::new(&stream);
        let mut output = Vec::new();
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            let left = remaining(deadline);
            if left.is_zero() {
                return Ok(ExecOutcome { exit_code: None, output });
            }
            // Each read may only wait for what is left of the deadline.
            stream.set_read_timeout(Some(left))?;
            match demux.read_chunk(&mut buf) {
                Ok(None) => break,
                Ok(Some((_, n))) => {
                    let room = max_output.saturating_sub(output.len());
                    output.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if timed_out(&e) => return Ok(ExecOutcome { exit_code: None, output }),
                Err(e) => return Err(e.into()),
            }
        }
        // The stream ends when the process does; Docker may record the exit code a moment
        // later.
        loop {
            let left = remaining(deadline);
            if left.is_zero() {
                return Ok(ExecOutcome { exit_code: None, output });
            }
            let info: Value = match self.get_json_within(&format!("/exec/{id}/json"), Some(left)) {
                Ok(v) => v,
                Err(DockerError::Io(e)) if timed_out(&e) => {
                    return Ok(ExecOutcome { exit_code: None, output });
                }
                Err(e) => return Err(e),
            };
            if info["Running"].as_bool() != Some(true) {
                return Ok(ExecOutcome { exit_code: info["ExitCode"].as_i64(), output });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the process of exec `id`, which outlived its deadline. Docker has no API for
    /// that; its inspect gives the process's pid as the host sees it. When k2d shares the
    /// host's PID namespace (the documented setup) that pid is signalled directly, after
    /// checking from its cgroup that it really belongs to the exec's container (in another
    /// namespace the same number names some other process). If that signal is not allowed
    /// (k2d not root), `kill -9` runs in the container as root with the pid as the
    /// container sees it (`NSpid` in the host's /proc), which needs a `kill` in the image.
    /// Without the host's PID namespace the process cannot be told apart from others and
    /// is left to finish on its own, with a log line.
    fn kill_exec(&self, id: &str) {
        let info: Value =
            match self.get_json_within(&format!("/exec/{id}/json"), Some(KILL_TIMEOUT)) {
                Ok(v) => v,
                Err(e) => {
                    log::debug!("inspecting timed-out exec {id}: {e}");
                    return;
                }
            };
        let pid = info["Pid"].as_i64().unwrap_or(0);
        let container = info["ContainerID"].as_str().unwrap_or_default();
        if info["Running"].as_bool() != Some(true) || pid <= 0 || container.is_empty() {
            return;
        }
        let Some(ns_pid) = host_process(pid, container) else {
            log::info!(
                "a timed-out probe command (pid {pid} on the host) in container {container} is left running: k2d does not share the host's PID namespace"
            );
            return;
        };
        // SAFETY: kill(2) with a pid checked above to be the exec's process; no memory is
        // involved.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        if rc == 0 {
            return;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return;
        }
        log::debug!("kill({pid}) for timed-out exec {id}: {err}; trying kill in the container");
        let kill = vec!["kill".to_string(), "-9".to_string(), ns_pid.to_string()];
        let created: Result<Value, _> = self.post_json_within(
            &format!("/containers/{container}/exec"),
            &json!({"AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
                    "Tty": false, "User": "0", "Cmd": kill}),
            Some(KILL_TIMEOUT),
        );
        let started = created.and_then(|c| {
            let kid = c["Id"].as_str().unwrap_or_default().to_string();
            self.post_json_within::<Value>(
                &format!("/exec/{kid}/start"),
                &json!({"Detach": true, "Tty": false}),
                Some(KILL_TIMEOUT),
            )
        });
        if let Err(e) = started {
            log::info!("cannot kill timed-out probe command (pid {pid}) in {container}: {e}");
        }
    }
}

/// The pid inside its container of host process `pid`, if this process sees the host's pids
/// and `pid` runs in `container` (its cgroup path names the container id, with either
/// cgroup driver and cgroup version).
fn host_process(pid: i64, container: &str) -> Option<i64> {
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    if !cgroup.contains(container) {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    ns_pid(&status)
}

/// The innermost namespace's pid from a /proc status file's `NSpid:` line.
fn ns_pid(status: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|p| p.parse().ok())
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn timed_out(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_pid_comes_from_nspid() {
        assert_eq!(ns_pid("Name:\tsleep\nNSpid:\t15465\t7\nNSpgid:\t1\n"), Some(7));
        assert_eq!(ns_pid("Name:\tsleep\nNSpid:\t42\n"), Some(42));
        assert_eq!(ns_pid("Name:\tsleep\n"), None);
    }

    /// This test process is no container's: its pid is never taken for one.
    #[test]
    fn a_process_outside_the_container_is_not_taken_for_it() {
        let me = i64::from(std::process::id());
        assert_eq!(host_process(me, "0123456789abcdef0123456789abcdef"), None);
    }
}
