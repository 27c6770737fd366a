//! A small blocking Docker Engine API client over the unix socket.
//!
//! Plain request/response calls share one ureq agent (pooled keep-alive connections, ~85 µs a
//! call). Follow streams (`/events`, `logs?follow=1`) each get their own agent so one can be cut
//! off with [`StreamCloser::close`] without touching the others. Exec/attach need the raw
//! socket after a `101 UPGRADED`, which ureq cannot give, so [`Docker::hijack`] speaks HTTP by
//! hand.
//!
//! The API version is negotiated once from `/_ping` and capped at [`MAX_API_VERSION`]: the
//! request and response shapes this crate relies on are those of API 1.41 (Docker 20.10), and
//! asking a newer daemon for 1.41 keeps them.

mod demux;
pub mod events;
mod exec;
mod transport;

pub use demux::{Demux, MAX_CHUNK, STDERR, STDIN, STDOUT, SYSTEMERR};
pub use exec::ExecOutcome;

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use ureq::Agent;
use ureq::http::Response;

use self::transport::{NoResolver, UnixConnector};

/// Newest API version we ask for; see the module docs.
pub const MAX_API_VERSION: (u32, u32) = (1, 41);

/// Cap on buffered (non-streaming) response bodies. `/containers/json` for a few hundred
/// containers is well under 1 MB; anything near this is a bug, not data to hold in memory.
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// Cap on an HTTP response head read by hand in [`Docker::hijack`].
const MAX_HEAD: usize = 16 * 1024;

/// The host part of request URLs. The connector ignores it; it only has to be a valid name.
const BASE: &str = "http://docker";

#[derive(Debug)]
pub enum DockerError {
    /// The socket could not be opened (daemon down, wrong path, no permission).
    Connect(String),
    /// Docker answered 404; carries Docker's message ("No such container: x").
    NotFound(String),
    /// Docker answered 409 (name in use, container running, ...).
    Conflict(String),
    /// Any other error status, with Docker's message.
    Api { status: u16, message: String },
    /// A response that was not the JSON we expected.
    Decode(String),
    /// Transport failure after connecting.
    Io(io::Error),
}

impl DockerError {
    /// Docker's own words when it sent any, for passing on to Kubernetes clients.
    pub fn message(&self) -> String {
        match self {
            DockerError::NotFound(m) | DockerError::Conflict(m) => m.clone(),
            DockerError::Api { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    fn from_status(status: u16, body: &[u8]) -> DockerError {
        let message = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
        match status {
            404 => DockerError::NotFound(message),
            409 => DockerError::Conflict(message),
            _ => DockerError::Api { status, message },
        }
    }
}

impl fmt::Display for DockerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerError::Connect(m) => write!(f, "cannot connect to Docker: {m}"),
            DockerError::NotFound(m) => write!(f, "docker: not found: {m}"),
            DockerError::Conflict(m) => write!(f, "docker: conflict: {m}"),
            DockerError::Api { status, message } => write!(f, "docker: HTTP {status}: {message}"),
            DockerError::Decode(m) => write!(f, "docker: unexpected response: {m}"),
            DockerError::Io(e) => write!(f, "docker: {e}"),
        }
    }
}

impl std::error::Error for DockerError {}

impl From<io::Error> for DockerError {
    fn from(e: io::Error) -> Self {
        DockerError::Io(e)
    }
}

/// Marks a failure to open the socket, so it can be told apart from later I/O errors after
/// passing through ureq.
#[derive(Debug)]
struct ConnectFailed(io::Error);

impl fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectFailed {}

fn from_ureq(e: ureq::Error, socket: &Path) -> DockerError {
    match e {
        ureq::Error::Other(inner) => match inner.downcast::<ConnectFailed>() {
            Ok(c) => DockerError::Connect(format!("{}: {}", socket.display(), c.0)),
            Err(other) => DockerError::Io(io::Error::other(other)),
        },
        ureq::Error::Io(e) => DockerError::Io(e),
        // Kept recognisable, so callers with a deadline can tell "too slow" from "broken".
        ureq::Error::Timeout(t) => {
            DockerError::Io(io::Error::new(io::ErrorKind::TimedOut, format!("timeout: {t}")))
        }
        other => DockerError::Io(io::Error::other(other)),
    }
}

pub struct Docker {
    socket: PathBuf,
    agent: Agent,
    /// e.g. `http://docker/v1.41`; paths are appended as given.
    base: String,
    api_version: String,
}

impl fmt::Debug for Docker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Docker")
            .field("socket", &self.socket)
            .field("api_version", &self.api_version)
            .finish()
    }
}

fn new_agent(socket: &Path) -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        // Docker 20.10 answers in under a millisecond; redirects never happen on the socket.
        .max_redirects(0)
        .user_agent("k2d")
        .build();
    Agent::with_parts(config, UnixConnector { socket: socket.to_path_buf() }, NoResolver)
}

/// Parses `"1.41"` into `(1, 41)`.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The version to use given the daemon's `Api-Version`: its own if older than ours, else ours.
/// A daemon that does not say is assumed to be recent enough, as any daemon new enough to
/// run the containers k2d makes is.
fn negotiate(daemon: Option<&str>) -> String {
    let v = daemon.and_then(parse_version).map_or(MAX_API_VERSION, |d| d.min(MAX_API_VERSION));
    format!("{}.{}", v.0, v.1)
}

/// Percent-encodes a query parameter value (e.g. a JSON `filters` argument).
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Docker {
    /// Connects to the socket and negotiates the API version. Fails with
    /// [`DockerError::Connect`] if the daemon is not answering.
    pub fn connect(socket: &Path) -> Result<Docker, DockerError> {
        let agent = new_agent(socket);
        let resp = agent.get(format!("{BASE}/_ping")).call().map_err(|e| from_ureq(e, socket))?;
        let status = resp.status().as_u16();
        let daemon =
            resp.headers().get("api-version").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = read_body(resp, socket)?;
        if status != 200 {
            return Err(DockerError::Connect(format!(
                "{}: /_ping answered HTTP {status}: {}",
                socket.display(),
                String::from_utf8_lossy(&body).trim()
            )));
        }
        let api_version = negotiate(daemon.as_deref());
        Ok(Docker {
            socket: socket.to_path_buf(),
            agent,
            base: format!("{BASE}/v{api_version}"),
            api_version,
        })
    }

    /// The negotiated API version, e.g. `"1.41"`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn ping(&self) -> Result<(), DockerError> {
        let resp = self.agent.get(self.url("/_ping")).call().map_err(|e| self.err(e))?;
        expect_ok(resp, &self.socket).map(|_| ())
    }

    /// `GET /info`: host name, CPUs, memory, OS, kernel, architecture...
    pub fn info(&self) -> Result<Value, DockerError> {
        self.get_json("/info")
    }

    /// `GET /version`: engine version and API versions.
    pub fn version(&self) -> Result<Value, DockerError> {
        self.get_json("/version")
    }

    /// `GET` a JSON document. `path` starts with `/` and carries an encoded query if any.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, DockerError> {
        self.get_json_within(path, None)
    }

    /// [`Docker::get_json`] that gives up after `timeout` (the whole exchange), with an
    /// [`io::ErrorKind::TimedOut`] I/O error: for callers with a deadline, such as probes,
    /// which must not wait on a daemon that has stopped answering.
    pub fn get_json_within<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<T, DockerError> {
        let resp = self
            .agent
            .get(self.url(path))
            .config()
            .timeout_global(timeout)
            .build()
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.err(e))?;
        decode(expect_ok(resp, &self.socket)?)
    }

    /// `POST` a JSON body and decode the JSON answer. An empty answer (204, 304) decodes as
    /// JSON `null`, so `T` may be `()`, `Value` or an `Option`.
    pub fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, DockerError> {
        self.post_json_within(path, body, None)
    }

    /// [`Docker::post_json`] with a timeout, as [`Docker::get_json_within`].
    pub fn post_json_within<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        timeout: Option<std::time::Duration>,
    ) -> Result<T, DockerError> {
        let bytes = serde_json::to_vec(body).map_err(|e| DockerError::Decode(e.to_string()))?;
        let resp = self
            .agent
            .post(self.url(path))
            .config()
            .timeout_global(timeout)
            .build()
            .header("Content-Type", "application/json")
            .send(&bytes[..])
            .map_err(|e| self.err(e))?;
        decode(expect_ok(resp, &self.socket)?)
    }

    /// `POST` without a body (start, stop, kill, restart, wait...).
    pub fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, DockerError> {
        let resp = self.agent.post(self.url(path)).send_empty().map_err(|e| self.err(e))?;
        decode(expect_ok(resp, &self.socket)?)
    }

    /// `PUT` a tar archive from a reader (container filesystem uploads), sent chunked so it
    /// never has to fit in memory.
    pub fn put_tar(&self, path: &str, tar: &mut dyn Read) -> Result<(), DockerError> {
        let resp = self
            .agent
            .put(self.url(path))
            .header("Content-Type", "application/x-tar")
            .send(ureq::SendBody::from_reader(tar))
            .map_err(|e| self.err(e))?;
        expect_ok(resp, &self.socket).map(|_| ())
    }

    pub fn delete(&self, path: &str) -> Result<(), DockerError> {
        let resp = self.agent.delete(self.url(path)).call().map_err(|e| self.err(e))?;
        expect_ok(resp, &self.socket).map(|_| ())
    }

    /// `GET` a long or endless body (`/events`, `logs?follow=1`, archives) as a reader, on a
    /// connection of its own that [`DockerStream::closer`] can cut from another thread.
    pub fn stream(&self, path: &str) -> Result<DockerStream, DockerError> {
        let agent = new_agent(&self.socket);
        let resp = agent.get(self.url(path)).call().map_err(|e| self.err(e))?;
        self.streaming_response(agent, resp)
    }

    /// `POST` whose answer is a stream (e.g. `/images/create` pull progress).
    pub fn post_stream(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<DockerStream, DockerError> {
        let agent = new_agent(&self.socket);
        let req = agent.post(self.url(path));
        let resp = match body {
            Some(b) => {
                let bytes =
                    serde_json::to_vec(b).map_err(|e| DockerError::Decode(e.to_string()))?;
                req.header("Content-Type", "application/json").send(&bytes[..])
            }
            None => req.send_empty(),
        }
        .map_err(|e| self.err(e))?;
        self.streaming_response(agent, resp)
    }

    /// `POST` with extra headers and an optional body sent chunked from a reader, answering a
    /// stream: image pulls (`X-Registry-Auth`) and imports (a tar too large to buffer).
    pub fn post_stream_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &mut dyn Read)>,
    ) -> Result<DockerStream, DockerError> {
        let agent = new_agent(&self.socket);
        let mut req = agent.post(self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = match body {
            Some((content_type, reader)) => {
                req.header("Content-Type", content_type).send(ureq::SendBody::from_reader(reader))
            }
            None => req.send_empty(),
        }
        .map_err(|e| self.err(e))?;
        self.streaming_response(agent, resp)
    }

    fn streaming_response(
        &self,
        agent: Agent,
        resp: Response<ureq::Body>,
    ) -> Result<DockerStream, DockerError> {
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = read_body(resp, &self.socket)?;
            return Err(DockerError::from_status(status, &body));
        }
        Ok(DockerStream { reader: resp.into_body().into_reader(), agent })
    }

    /// Sends a request that upgrades the connection (`POST /exec/{id}/start`,
    /// `/containers/{id}/attach`) and returns the raw socket once Docker answers
    /// `101 UPGRADED`. The socket then carries the process's stdio in both directions
    /// (multiplexed unless a TTY was asked for); `try_clone()` it to read and write from two
    /// threads, and `shutdown(Write)` to close the process's stdin.
    pub fn hijack(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<UnixStream, DockerError> {
        self.hijack_with_timeout(method, path, body, None)
    }

    /// [`Docker::hijack`] whose socket reads and writes give up after `timeout` (the returned
    /// stream keeps it), for callers with a deadline such as probes.
    pub fn hijack_with_timeout(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Option<std::time::Duration>,
    ) -> Result<UnixStream, DockerError> {
        let mut stream = UnixStream::connect(&self.socket)
            .map_err(|e| DockerError::Connect(format!("{}: {e}", self.socket.display())))?;
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| DockerError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        let head = format!(
            "{method} /v{}{path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: k2d\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            self.api_version,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(&body)?;
        let (status, content_length) = read_response_head(&mut stream)?;
        match status {
            // 200 is what daemons that ignore the upgrade request send before the raw stream.
            101 | 200 => Ok(stream),
            _ => {
                let mut body = Vec::new();
                let limit = content_length.unwrap_or(64 * 1024).min(64 * 1024) as u64;
                (&mut stream).take(limit).read_to_end(&mut body)?;
                Err(DockerError::from_status(status, &body))
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn err(&self, e: ureq::Error) -> DockerError {
        from_ureq(e, &self.socket)
    }
}

/// Reads a response head byte by byte, so that not one byte of the upgraded stream after it
/// is swallowed into a buffer. Heads are ~150 bytes, so the syscalls don't matter.
fn read_response_head(stream: &mut UnixStream) -> Result<(u16, Option<usize>), DockerError> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(DockerError::Decode("response head too large".into()));
        }
        match stream.read(&mut byte) {
            Ok(0) => {
                return Err(DockerError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "Docker closed the connection before answering",
                )));
            }
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(DockerError::Decode("malformed HTTP response head".into())),
    }
    let status = resp.code.unwrap_or(0);
    let content_length = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok());
    Ok((status, content_length))
}

fn read_body(resp: Response<ureq::Body>, socket: &Path) -> Result<Vec<u8>, DockerError> {
    resp.into_body()
        .into_with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| from_ureq(e, socket))
}

/// Reads the body and turns error statuses into typed errors. 304 (start of a running
/// container, stop of a stopped one) counts as success: the desired state holds.
fn expect_ok(resp: Response<ureq::Body>, socket: &Path) -> Result<Vec<u8>, DockerError> {
    let status = resp.status().as_u16();
    let body = read_body(resp, socket)?;
    if (200..300).contains(&status) || status == 304 {
        Ok(body)
    } else {
        Err(DockerError::from_status(status, &body))
    }
}

fn decode<T: DeserializeOwned>(body: Vec<u8>) -> Result<T, DockerError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &body };
    serde_json::from_slice(body).map_err(|e| DockerError::Decode(e.to_string()))
}

/// A streaming response body on its own connection.
pub struct DockerStream {
    reader: ureq::BodyReader<'static>,
    agent: Agent,
}

impl DockerStream {
    /// A handle that ends this stream from another thread: a blocked `read` then returns
    /// (EOF or an error), which is how a follow stream is stopped when its client leaves.
    pub fn closer(&self) -> StreamCloser {
        StreamCloser { agent: self.agent.clone() }
    }
}

impl Read for DockerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl fmt::Debug for DockerStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerStream").finish()
    }
}

#[derive(Clone)]
pub struct StreamCloser {
    agent: Agent,
}

impl StreamCloser {
    pub fn close(&self) {
        self.agent.clone().shutdown();
    }
}

impl fmt::Debug for StreamCloser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamCloser").finish()
    }
}

#[cfg(test)]
mod tests;
