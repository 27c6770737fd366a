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
    /// `None` when the deadline passed first (the process may still be running: Docker has
    /// no way to kill an exec'd process, and neither has the kubelet).
    pub exit_code: Option<i64>,
    /// stdout and stderr interleaved as the process wrote them, cut at the caller's limit.
    pub output: Vec<u8>,
}

impl Docker {
    /// `POST /containers/{id}/exec` + start (hijacked, multiplexed) + inspect, all within
    /// `timeout`. Output beyond `max_output` bytes is read and dropped, so a chatty command
    /// cannot grow memory.
    pub fn exec_collect(
        &self,
        container: &str,
        cmd: &[String],
        timeout: Duration,
        max_output: usize,
    ) -> Result<ExecOutcome, DockerError> {
        let deadline = Instant::now() + timeout;
        let created: Value = self.post_json(
            &format!("/containers/{container}/exec"),
            &json!({"AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
                    "Tty": false, "Cmd": cmd}),
        )?;
        let id = created["Id"].as_str().unwrap_or_default().to_string();
        if id.is_empty() {
            return Err(DockerError::Decode("exec create answered no Id".into()));
        }
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
            let info: Value = self.get_json(&format!("/exec/{id}/json"))?;
            if info["Running"].as_bool() != Some(true) {
                return Ok(ExecOutcome { exit_code: info["ExitCode"].as_i64(), output });
            }
            if remaining(deadline).is_zero() {
                return Ok(ExecOutcome { exit_code: None, output });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn timed_out(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
