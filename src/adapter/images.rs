//! Images for pods: pulls that never block the controller, `imagePullSecrets` credentials,
//! reference normalisation, and the sandbox (pause) image k2d builds from itself.
//!
//! [`Images::ensure`] answers at once. A pull runs on one of at most [`MAX_PULLS`] short-lived
//! threads; every pod waiting for the same image (with the same credentials) shares it and
//! hears the outcome through its own callback, from which the controller records the
//! kubelet's Events and re-enqueues the pod. A failed pull puts that pod and image in the
//! kubelet's back-off (10 s doubling to 300 s), during which `ensure` reports
//! `ErrImagePull` for a short while and then `ImagePullBackOff` without pulling again.

mod auth;
mod pause;
mod reference;
mod tar;

pub use auth::registry_auth;
#[cfg(test)]
use pause::{PAUSE_REPO, ensure_pause_image_from};
pub use pause::{ensure_pause_image, is_pause_invocation, run_pause};
pub use reference::{ImageRef, PullPolicy};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::adapter::docker::{Docker, DockerError, DockerStream, encode_query};

/// Pulls running at once; more wait in a queue. Pulls are network- and disk-bound, and an
/// edge box on a thin link gains nothing from more.
pub const MAX_PULLS: usize = 3;
/// The kubelet's image pull back-off.
pub const BACKOFF_START: Duration = Duration::from_secs(10);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// With `Always`, a pull that finished this recently counts as done: the pod re-enqueued by
/// the pull's own callback must not start another one.
const ALWAYS_FRESH: Duration = Duration::from_secs(15);
/// Longest progress line read from Docker; real ones are a few hundred bytes.
const MAX_LINE: u64 = 64 * 1024;

#[derive(Debug)]
pub enum ImageError {
    Docker(DockerError),
    Io(String),
}

impl ImageError {
    fn io(path: &Path, e: io::Error) -> ImageError {
        ImageError::Io(format!("{}: {e}", path.display()))
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Docker(e) => e.fmt(f),
            ImageError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ImageError {}

/// What [`Images::ensure`] knows right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStatus {
    /// The image is local; `id` is Docker's image ID (`sha256:...`).
    Present { id: String },
    /// A pull is queued or running; the callback hears how it ends.
    Pulling,
    /// The container cannot be created now. `reason` is the container's waiting reason:
    /// `ErrImagePull`, `ImagePullBackOff`, `ErrImageNeverPull` or `InvalidImageName`;
    /// `message` its waiting message. `retry_in` says when asking again may give another
    /// answer (re-enqueue the pod then); `None` means only a spec change will.
    Failed { reason: &'static str, message: String, retry_in: Option<Duration> },
}

/// How a pull a pod waits on is going, delivered to that pod's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// The pod's request was taken (the kubelet's `Pulling` moment); sent from `ensure`.
    Started,
    /// `duration` is the pull itself; `total` also counts the time queued behind other pulls.
    Done { id: String, size: u64, duration: Duration, total: Duration },
    /// Docker's message.
    Failed { message: String },
}

/// One kubelet Event to record about the container: `warning` selects the Warning type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

impl KubeletEvent {
    fn normal(reason: &'static str, message: String) -> KubeletEvent {
        KubeletEvent { warning: false, reason, message }
    }

    fn warning(reason: &'static str, message: String) -> KubeletEvent {
        KubeletEvent { warning: true, reason, message }
    }

    /// `Pulled`: `Container image "x" already present on machine`, which the kubelet records
    /// each time it creates a container without pulling.
    pub fn already_present(image: &str) -> KubeletEvent {
        KubeletEvent::normal(
            "Pulled",
            format!("Container image {image:?} already present on machine"),
        )
    }
}

impl PullEvent {
    /// The kubelet's Events for this step; `image` is spelled as in the pod spec.
    pub fn kubelet_events(&self, image: &str) -> Vec<KubeletEvent> {
        match self {
            PullEvent::Started => {
                vec![KubeletEvent::normal("Pulling", format!("Pulling image {image:?}"))]
            }
            PullEvent::Done { size, duration, total, .. } => vec![KubeletEvent::normal(
                "Pulled",
                format!(
                    "Successfully pulled image {image:?} in {} ({} including waiting). Image size: {size} bytes.",
                    go_duration(*duration),
                    go_duration(*total)
                ),
            )],
            PullEvent::Failed { message } => vec![
                KubeletEvent::warning(
                    "Failed",
                    format!("Failed to pull image {image:?}: {message}"),
                ),
                KubeletEvent::warning("Failed", "Error: ErrImagePull".to_string()),
            ],
        }
    }
}

impl ImageStatus {
    /// The kubelet's Events for a failure found by `ensure` itself (`ErrImagePull` is already
    /// told by [`PullEvent::Failed`], so it has none here). Safe to record on every reconcile:
    /// the recorder counts repeats.
    pub fn kubelet_events(&self, image: &str) -> Vec<KubeletEvent> {
        let ImageStatus::Failed { reason, message, .. } = self else { return Vec::new() };
        let error = KubeletEvent::warning("Failed", format!("Error: {reason}"));
        match *reason {
            "ImagePullBackOff" => vec![
                KubeletEvent::normal("BackOff", format!("Back-off pulling image {image:?}")),
                error,
            ],
            "ErrImageNeverPull" => {
                vec![KubeletEvent::warning("ErrImageNeverPull", message.clone()), error]
            }
            "InvalidImageName" => {
                vec![KubeletEvent::warning("InspectFailed", message.clone()), error]
            }
            _ => Vec::new(),
        }
    }
}

/// Go's `time.Duration` formatting at millisecond precision (`523ms`, `1.2s`, `1m2.5s`), as in
/// the kubelet's `Pulled` message.
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac > 0 {
        out.push_str(format!(".{frac:03}").trim_end_matches('0'));
    }
    out.push('s');
    out
}

pub type Notify = Box<dyn Fn(PullEvent) + Send + Sync>;

#[cfg(test)]
/// Back-off state of one pod and image, for the pod's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    /// Docker's message from the last failed pull.
    pub last_error: String,
    /// The current back-off period (10 s, 20 s, ... 300 s).
    pub period: Duration,
    /// Time left until `ensure` pulls again.
    pub retry_in: Duration,
}

/// The pull service. Cheap to clone; all clones share the pool.
#[derive(Clone)]
pub struct Images {
    inner: Arc<Inner>,
}

struct Inner {
    socket: PathBuf,
    /// Connected on first use and kept, so `ensure` costs one round trip, not a `/_ping` too.
    docker: Mutex<Option<Arc<Docker>>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Queued or running pulls by [`PullKey`].
    pulls: HashMap<PullKey, Pull>,
    queue: VecDeque<PullKey>,
    workers: usize,
    /// When each image (canonical reference) was last pulled successfully.
    pulled: HashMap<String, Instant>,
    /// Failures by (waiter, canonical reference), as the kubelet keys its back-off by pod.
    failures: HashMap<(String, String), Failure>,
    /// Pulls started, for tests and logs.
    started: u64,
}

/// One pull per image and credentials: pods with different secrets for one image must not
/// ride on each other's login.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PullKey {
    canonical: String,
    auth: Option<String>,
}

struct Pull {
    image: ImageRef,
    waiters: Vec<Waiter>,
}

struct Waiter {
    key: String,
    requested: Instant,
    notify: Arc<Notify>,
}

#[derive(Debug, Clone)]
struct Failure {
    message: String,
    at: Instant,
    period: Duration,
}

impl Failure {
    /// `ErrImagePull` is shown for the first part of the back-off (as the kubelet shows it
    /// until its next pod sync, 10 s later at most), `ImagePullBackOff` after that.
    fn err_shown_for(&self) -> Duration {
        (self.period / 2).min(BACKOFF_START)
    }
}

impl fmt::Debug for Images {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Images").field("socket", &self.inner.socket).finish()
    }
}

impl Images {
    /// `socket` is the Docker socket; each pull opens its own connection.
    pub fn new(socket: &Path) -> Images {
        Images {
            inner: Arc::new(Inner {
                socket: socket.to_path_buf(),
                docker: Mutex::new(None),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Makes sure `image` is or becomes local for the pod or container `waiter` (e.g. the pod
    /// UID; a second call by the same waiter while its pull runs replaces its callback rather
    /// than adding one). `auth` is the `X-Registry-Auth` value from [`registry_auth`].
    ///
    /// Costs at most one `GET /images/{name}/json` on the calling thread; the pull itself runs
    /// elsewhere and ends in `notify(Done | Failed)`, called from the pull thread (record the
    /// Events and re-enqueue the pod there). `notify(Started)` is called before this returns
    /// `Pulling` for a new waiter, without any lock held.
    pub fn ensure(
        &self,
        image: &str,
        policy: PullPolicy,
        auth: Option<String>,
        waiter: &str,
        notify: Notify,
    ) -> ImageStatus {
        let parsed = match ImageRef::parse(image) {
            Ok(r) => r,
            Err(e) => {
                return ImageStatus::Failed {
                    reason: "InvalidImageName",
                    message: format!(
                        "Failed to apply default image tag {image:?}: couldn't parse image name {image:?}: {e}"
                    ),
                    retry_in: None,
                };
            }
        };
        let canonical = parsed.canonical();
        let now = Instant::now();

        let key = PullKey { canonical: canonical.clone(), auth };
        let is_fresh =
            |st: &State| st.pulled.get(&canonical).is_some_and(|at| at.elapsed() < ALWAYS_FRESH);
        let mut looked_again = false;
        let mut st = loop {
            let fresh = {
                let mut st = self.inner.state.lock();
                st.prune(now);
                is_fresh(&st)
            };
            if policy != PullPolicy::Always || fresh {
                match self.inner.docker().and_then(|d| inspect(&d, &canonical)) {
                    Ok(Some((id, _))) => return ImageStatus::Present { id },
                    Ok(None) => {}
                    Err(e) => {
                        return ImageStatus::Failed {
                            reason: "ErrImagePull",
                            message: e.message(),
                            retry_in: Some(BACKOFF_START),
                        };
                    }
                }
            }
            if policy == PullPolicy::Never {
                return ImageStatus::Failed {
                    reason: "ErrImageNeverPull",
                    message: format!(
                        "Container image {image:?} is not present with pull policy of Never"
                    ),
                    // Someone may `docker load` it; the kubelet keeps looking too.
                    retry_in: Some(BACKOFF_MAX),
                };
            }
            let st = self.inner.state.lock();
            if st.pulls.contains_key(&key) {
                return join(st, &key, waiter, notify, now);
            }
            // A pull of this image that ended between the look above and this lock has just
            // made it local: look once more rather than start a second pull.
            if !fresh && !looked_again && is_fresh(&st) {
                looked_again = true;
                continue;
            }
            break st;
        };
        if let Some(f) = st.failures.get(&(waiter.to_string(), canonical.clone())) {
            let since = now.duration_since(f.at);
            if since < f.period {
                let (reason, message, retry_in) = if since < f.err_shown_for() {
                    ("ErrImagePull", f.message.clone(), f.err_shown_for() - since)
                } else {
                    (
                        "ImagePullBackOff",
                        format!("Back-off pulling image {image:?}: ErrImagePull: {}", f.message),
                        f.period - since,
                    )
                };
                return ImageStatus::Failed { reason, message, retry_in: Some(retry_in) };
            }
        }
        st.pulls.insert(key.clone(), Pull { image: parsed, waiters: Vec::new() });
        st.queue.push_back(key.clone());
        if st.workers < MAX_PULLS {
            st.workers += 1;
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("image-pull".into())
                .stack_size(256 * 1024)
                .spawn(move || inner.work());
            if let Err(e) = spawned {
                st.workers -= 1;
                st.queue.retain(|k| k != &key);
                st.pulls.remove(&key);
                return ImageStatus::Failed {
                    reason: "ErrImagePull",
                    message: format!("starting a pull thread: {e}"),
                    retry_in: Some(BACKOFF_START),
                };
            }
        }
        join(st, &key, waiter, notify, now)
    }

    #[cfg(test)]
    /// The back-off of `waiter` for `image`, while one is in force.
    pub fn backoff(&self, waiter: &str, image: &str) -> Option<Backoff> {
        let canonical = ImageRef::parse(image).ok()?.canonical();
        let st = self.inner.state.lock();
        let f = st.failures.get(&(waiter.to_string(), canonical))?;
        let since = f.at.elapsed();
        (since < f.period).then(|| Backoff {
            last_error: f.message.clone(),
            period: f.period,
            retry_in: f.period - since,
        })
    }

    /// Drops a waiter's back-off records, e.g. when its pod is deleted.
    pub fn forget(&self, waiter: &str) {
        self.inner.state.lock().failures.retain(|(w, _), _| w != waiter);
    }

    #[cfg(test)]
    /// How many pulls have been started since this service was made.
    pub fn pulls_started(&self) -> u64 {
        self.inner.state.lock().started
    }
}

/// Adds or refreshes a waiter, then tells a new one its request was taken.
fn join(
    mut st: parking_lot::MutexGuard<'_, State>,
    key: &PullKey,
    waiter: &str,
    notify: Notify,
    now: Instant,
) -> ImageStatus {
    let Some(pull) = st.pulls.get_mut(key) else { return ImageStatus::Pulling };
    let notify = Arc::new(notify);
    let new = match pull.waiters.iter_mut().find(|w| w.key == waiter) {
        Some(w) => {
            w.notify = notify.clone();
            false
        }
        None => {
            pull.waiters.push(Waiter {
                key: waiter.to_string(),
                requested: now,
                notify: notify.clone(),
            });
            true
        }
    };
    drop(st);
    if new {
        notify(PullEvent::Started);
    }
    ImageStatus::Pulling
}

impl State {
    /// Forgets what no longer matters, so the maps stay as small as the set of images in use:
    /// success marks past their freshness and failures long past their back-off (the
    /// kubelet also forgets a back-off after twice the maximum).
    fn prune(&mut self, now: Instant) {
        self.pulled.retain(|_, at| now.duration_since(*at) < ALWAYS_FRESH);
        self.failures.retain(|_, f| now.duration_since(f.at) < 2 * BACKOFF_MAX);
    }
}

impl Inner {
    fn docker(&self) -> Result<Arc<Docker>, DockerError> {
        let mut cached = self.docker.lock();
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(Docker::connect(&self.socket)?);
        *cached = Some(d.clone());
        Ok(d)
    }

    /// A pull thread: takes queued pulls until none is left, then ends, so no thread idles.
    fn work(self: Arc<Self>) {
        loop {
            let (key, image) = {
                let mut st = self.state.lock();
                let Some(key) = st.queue.pop_front() else {
                    st.workers -= 1;
                    return;
                };
                st.started += 1;
                let image = st.pulls.get(&key).map(|p| p.image.clone());
                match image {
                    Some(i) => (key, i),
                    None => continue,
                }
            };
            let started = Instant::now();
            let result = self
                .docker()
                .map_err(|e| e.message())
                .and_then(|d| pull(&d, &image, key.auth.as_deref()));
            let duration = started.elapsed();
            let now = Instant::now();
            let waiters = {
                let mut st = self.state.lock();
                let waiters = st.pulls.remove(&key).map(|p| p.waiters).unwrap_or_default();
                match &result {
                    Ok(_) => {
                        st.pulled.insert(key.canonical.clone(), now);
                        for w in &waiters {
                            st.failures.remove(&(w.key.clone(), key.canonical.clone()));
                        }
                    }
                    Err(message) => {
                        for w in &waiters {
                            let k = (w.key.clone(), key.canonical.clone());
                            // Doubling continues only from a recent failure, as in the kubelet.
                            let period = match st.failures.get(&k) {
                                Some(f) if now.duration_since(f.at) < 2 * BACKOFF_MAX => {
                                    (f.period * 2).min(BACKOFF_MAX)
                                }
                                _ => BACKOFF_START,
                            };
                            st.failures
                                .insert(k, Failure { message: message.clone(), at: now, period });
                        }
                    }
                }
                waiters
            };
            match &result {
                Ok((id, size)) => {
                    log::info!("pulled {} ({id}, {size} bytes) in {duration:?}", image)
                }
                Err(m) => log::warn!("pulling {image}: {m}"),
            }
            for w in waiters {
                let event = match &result {
                    Ok((id, size)) => PullEvent::Done {
                        id: id.clone(),
                        size: *size,
                        duration,
                        total: now.duration_since(w.requested),
                    },
                    Err(message) => PullEvent::Failed { message: message.clone() },
                };
                (w.notify)(event);
            }
        }
    }
}

/// `POST /images/create` and follow its progress to the end; then the ID and size.
fn pull(docker: &Docker, image: &ImageRef, auth: Option<&str>) -> Result<(String, u64), String> {
    let path = format!(
        "/images/create?fromImage={}&tag={}",
        encode_query(&image.repository()),
        encode_query(image.pull_tag())
    );
    let headers: Vec<(&str, &str)> = auth.map(|a| ("X-Registry-Auth", a)).into_iter().collect();
    let stream = docker.post_stream_with(&path, &headers, None).map_err(|e| e.message())?;
    read_progress(stream).map_err(|e| e.message())?;
    match inspect(docker, &image.canonical()).map_err(|e| e.message())? {
        Some(found) => Ok(found),
        None => Err(format!("image {image} is missing after a successful pull")),
    }
}

/// Reads Docker's JSON progress lines to the end. An `error` line is failure even though the
/// HTTP status was 200; the last `status` is returned (an import answers its new ID there).
fn read_progress(stream: DockerStream) -> Result<String, DockerError> {
    let mut reader = BufReader::new(stream);
    let mut last = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(last);
        }
        if !line.ends_with(b"\n") && n as u64 == MAX_LINE {
            // Skip the rest of an absurd line rather than buffer it.
            loop {
                line.clear();
                let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
                if n == 0 || line.ends_with(b"\n") {
                    break;
                }
            }
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&line) else { continue };
        if let Some(e) = v.get("error") {
            let message =
                v["errorDetail"]["message"].as_str().or(e.as_str()).unwrap_or("pull failed");
            return Err(DockerError::Api { status: 200, message: message.to_string() });
        }
        if let Some(s) = v["status"].as_str() {
            last = s.to_string();
        }
    }
}

/// The image's ID and size if Docker has it.
fn inspect(docker: &Docker, name: &str) -> Result<Option<(String, u64)>, DockerError> {
    match docker.get_json::<Value>(&format!("/images/{name}/json")) {
        Ok(v) => Ok(Some((
            v["Id"].as_str().unwrap_or_default().to_string(),
            v["Size"].as_u64().unwrap_or(0),
        ))),
        Err(DockerError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
