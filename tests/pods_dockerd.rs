//! Issue 3 acceptance: restarting the Docker daemon ends with every pod's
//! status correct and no duplicate containers.
//!
//! DISRUPTIVE BY NATURE, so isolated: the machine's dockerd is shared with
//! the other suites (and other people), so this test starts a private
//! dockerd of its own (own socket, data root, exec root and containerd) in a
//! network namespace of its own, points its own k2d at it, and restarts only
//! that daemon, by its pid. The network namespace matters: a dockerd changes
//! host-wide links (with `--bridge=none` it even deletes `docker0` at start,
//! which breaks every default-network container of the machine's daemon), so
//! it must never share the host's. Skipped when that cannot be done here
//! (not root, or no dockerd/unshare).

mod common;
mod pods_common;

use common::{DEFAULT, K2d};
use pods_common::{IMAGE, TestNs, cstatus, label, pod, restart_count, sh};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A dockerd this test started and alone stops.
struct PrivateDockerd {
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateDockerd {
    fn new() -> Option<PrivateDockerd> {
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } != 0
            || Command::new("dockerd").arg("--version").output().is_err()
            || !Command::new("unshare").args(["--net", "true"]).status().is_ok_and(|s| s.success())
        {
            return None;
        }
        // A short path: unix socket paths are limited to 108 bytes.
        let dir = PathBuf::from(format!("/tmp/k2dd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the dockerd directory");
        let mut d = PrivateDockerd { dir, child: None };
        d.start();
        Some(d)
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("docker");
        cmd.args(args).env("DOCKER_HOST", self.host());
        common::run(cmd, None, common::CALL_TIMEOUT)
    }

    fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn start(&mut self) {
        let d = &self.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .expect("dockerd log");
        // unshare execs dockerd, so the pid we hold is the daemon's.
        let mut cmd = Command::new("unshare");
        // A test that dies must not leave its daemon behind (SIGTERM: a clean shutdown).
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .args(["--net", "dockerd", "--host"])
            .arg(self.host())
            .arg("--data-root")
            .arg(d.join("root"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args([
                "--iptables=false",
                "--ip-masq=false",
                "--default-address-pool",
                "base=10.213.0.0/16,size=24",
                "--shutdown-timeout=2",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting dockerd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "private dockerd did not answer in 30 s; see {}",
                d.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, as `systemctl restart docker` does, and wait for it to exit.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            // Leave nothing running in it.
            let ids = self.docker(&["ps", "-aq"]);
            let ids = String::from_utf8_lossy(&ids.stdout).to_string();
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.split_whitespace());
            if args.len() > 3 {
                let _ = self.docker(&args);
            }
        }
        self.stop();
        // A daemon that died uncleanly can leave overlay mounts under its root.
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let prefix = self.dir.to_string_lossy().into_owned();
        for m in mounts.lines().filter_map(|l| l.split_whitespace().nth(1)) {
            if m.starts_with(&prefix) {
                let _ = Command::new("umount").args(["-l", m]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn load_image(d: &PrivateDockerd) {
    pods_common::ensure_image();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("docker save {IMAGE} | DOCKER_HOST={} docker load", d.host()))
        .stdout(Stdio::null())
        .status()
        .expect("docker save | docker load");
    assert!(status.success(), "loading {IMAGE} into the private dockerd");
}

/// Containers of `pod` in the private daemon: (sandboxes, attempts, running containers).
fn census(d: &PrivateDockerd, ns: &str, pod: &str) -> (usize, usize, usize) {
    let ids = d.docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.kubernetes.pod.namespace={ns}"),
        "--filter",
        &format!("label=io.kubernetes.pod.name={pod}"),
    ]);
    let mut args = vec!["inspect"];
    args.extend(ids.split_whitespace());
    if args.len() == 1 {
        return (0, 0, 0);
    }
    let cs: Vec<serde_json::Value> = serde_json::from_str(&d.docker_ok(&args)).unwrap_or_default();
    let sandboxes =
        cs.iter().filter(|c| label(c, "io.kubernetes.docker.type") == "podsandbox").count();
    let running = cs
        .iter()
        .filter(|c| {
            label(c, "io.kubernetes.docker.type") == "container" && c["State"]["Running"] == true
        })
        .count();
    (sandboxes, cs.len() - sandboxes, running)
}

#[test]
fn dockerd_restart_ends_with_every_pod_status_correct_and_no_duplicates() {
    let Some(mut d) = PrivateDockerd::new() else {
        eprintln!("SKIPPED: cannot run a private dockerd here (needs root and dockerd)");
        return;
    };
    load_image(&d);
    let k = K2d::start_on_docker(&d.host());
    let ns = TestNs::new(&k, "dockerd");
    ns.apply(&[
        pod("svc", vec![sh("c", "sleep 3600")], json!({})),
        pod("done", vec![sh("c", "exit 0")], json!({"restartPolicy": "Never"})),
    ]);
    // The first pod also waits for the pause image k2d builds in this daemon.
    ns.wait_running("svc", Duration::from_secs(90));
    ns.wait_phase("done", "Succeeded", Duration::from_secs(30));

    let t0 = Instant::now();
    d.stop();
    println!("private dockerd stopped in {:?}", t0.elapsed());
    // k2d keeps serving the API while Docker is away.
    let out = ns.ok(&["get", "pods"]);
    assert!(out.contains("svc"), "{out}");
    d.start();
    println!("private dockerd back after {:?}", t0.elapsed());

    // Every container died with the daemon; k2d notices on reconnect and
    // brings the Always pod back, leaving the finished one finished.
    let p = ns.wait_pod(
        "svc",
        "running again after the dockerd restart",
        Duration::from_secs(60),
        |p| {
            restart_count(p, "c") >= 1
                && p["status"]["phase"] == "Running"
                && cstatus(p, "c")["ready"] == true
        },
    );
    println!("svc back {:?} after the restart began: {}", t0.elapsed(), cstatus(&p, "c"));
    let p = ns.pod("done").expect("done");
    assert_eq!(p["status"]["phase"], "Succeeded", "{}", p["status"]);
    std::thread::sleep(Duration::from_secs(3));
    let (sandboxes, attempts, running) = census(&d, &ns.name, "svc");
    assert_eq!(
        (sandboxes, running),
        (1, 1),
        "svc: {sandboxes} sandboxes, {running} running containers"
    );
    assert!(attempts <= 2, "svc: {attempts} container attempts kept");
    let (sandboxes, attempts, running) = census(&d, &ns.name, "done");
    assert_eq!((sandboxes, attempts, running), (1, 1, 0), "done");
    let p = ns.pod("svc").expect("svc");
    let id = cstatus(&p, "c")["containerID"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("docker://")
        .to_string();
    let state = d.docker_ok(&["inspect", "-f", "{{.State.Running}}", &id]);
    assert_eq!(state, "true", "the containerID in the status is not the running container");
    // k2d's view of the node says Docker is fine again.
    let ready = k.ok(
        DEFAULT,
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[0].status.conditions[?(@.type==\"Ready\")].status}",
        ],
    );
    assert_eq!(ready, "True");
    // `finish` checks the machine's daemon; check the private one here.
    k.ok(DEFAULT, &["delete", "namespace", &ns.name, "--timeout=60s"]);
    let left = d.docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.kubernetes.pod.namespace={}", ns.name),
    ]);
    assert!(left.is_empty(), "containers left: {left}");
    let _ = ns.detach();
}
