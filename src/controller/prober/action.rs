//! Running one probe: exec through Docker, an HTTP GET or a TCP connect to the pod, each
//! bounded by the probe's timeout. Messages follow the kubelet's (they end up in `Unhealthy`
//! Events, which is where users read them).

use super::spec::{Action, Scheme};
use crate::adapter::docker::Docker;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The kubelet keeps at most this much of a probe's output (`maxProbeOutputLength`... 10 KiB).
pub const MAX_OUTPUT: usize = 10 * 1024;
/// The response head of an HTTP probe is read up to this much (Go allows 1 MB; a probe
/// endpoint's head is a few hundred bytes, and this stays a bounded buffer).
const MAX_HEAD: usize = 16 * 1024;
/// `User-Agent` the kubelet sends (`kube-probe/<major>.<minor>`), matching the version k2d
/// reports.
const USER_AGENT: &str = "kube-probe/1.33";

/// What one run said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    /// Output or error, for the `Unhealthy` Event of a failure.
    pub message: String,
    /// The probe could not run (Docker error, bad port): the kubelet says "errored", and the
    /// result counts as a failure.
    pub errored: bool,
    /// A success the kubelet warns about (`ProbeWarning`): an HTTP probe that ended on a
    /// redirect it did not follow.
    pub warning: bool,
}

impl Outcome {
    pub fn pass() -> Outcome {
        Outcome { ok: true, message: String::new(), errored: false, warning: false }
    }

    pub fn fail(message: impl Into<String>) -> Outcome {
        Outcome { ok: false, message: message.into(), errored: false, warning: false }
    }

    pub fn error(message: impl Into<String>) -> Outcome {
        Outcome { ok: false, message: message.into(), errored: true, warning: false }
    }

    pub fn warn(message: impl Into<String>) -> Outcome {
        Outcome { ok: true, message: message.into(), errored: false, warning: true }
    }
}

/// Where the pod is reached: its IP (the host's for host-network pods).
pub struct Target<'a> {
    pub container_id: &'a str,
    pub pod_ip: &'a str,
}

pub fn run(docker: &Docker, action: &Action, target: &Target, timeout: Duration) -> Outcome {
    match action {
        Action::Exec(cmd) => exec(docker, target.container_id, cmd, timeout),
        Action::Http { scheme, host, port, path, headers } => {
            let host = host.as_deref().unwrap_or(target.pod_ip);
            http_get(*scheme, host, *port, path, headers, timeout)
        }
        Action::Tcp { host, port } => {
            let host = host.as_deref().unwrap_or(target.pod_ip);
            tcp(host, *port, timeout)
        }
        Action::Grpc => Outcome::pass(),
        Action::Invalid(e) => Outcome::error(e.clone()),
    }
}

fn exec(docker: &Docker, container: &str, cmd: &[String], timeout: Duration) -> Outcome {
    match docker.exec_collect(container, cmd, timeout, MAX_OUTPUT) {
        Ok(out) => {
            let output = String::from_utf8_lossy(&out.output).into_owned();
            match out.exit_code {
                Some(0) => Outcome { message: output, ..Outcome::pass() },
                Some(_) => Outcome::fail(output),
                // Since Kubernetes 1.20 an exec probe that times out fails.
                None => Outcome::fail(format!("command {:?} timed out", cmd.join(" "))),
            }
        }
        Err(e) => Outcome::error(e.to_string()),
    }
}

/// Go's `net.JoinHostPort`, which the kubelet's messages and URLs use.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Name lookups in flight at once. A lookup that outlives its probe keeps running on its
/// helper thread until the resolver gives up (getaddrinfo cannot be cancelled), so this
/// bounds those threads; past it, probes naming a host fail until lookups return.
const MAX_LOOKUPS: usize = 4;
static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// Gives a lookup slot back when the helper thread ends, however it ends.
struct LookupSlot;

impl Drop for LookupSlot {
    fn drop(&mut self) {
        LOOKUPS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The address of `host`, within `timeout`. IP literals (the pod IP, the usual case) need no
/// lookup; a name is resolved on a short-lived helper thread because the blocking resolver
/// has no timeout of its own, and the probe must not wait longer than its own.
fn resolve(host: &str, port: u16, timeout: Duration) -> io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if timeout.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"));
    }
    if LOOKUPS.fetch_add(1, Ordering::SeqCst) >= MAX_LOOKUPS {
        LOOKUPS.fetch_sub(1, Ordering::SeqCst);
        return Err(io::Error::other("too many name lookups in flight"));
    }
    let slot = LookupSlot;
    let (tx, rx) = crossbeam_channel::bounded(1);
    let name = host.to_string();
    std::thread::Builder::new().name("probe-lookup".into()).spawn(move || {
        let _slot = slot;
        let _ = tx.send((name.as_str(), port).to_socket_addrs().map(|mut a| a.next()));
    })?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")),
    }
}

/// An I/O error as Go's net package words it, so messages look like the kubelet's.
fn go_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "i/o timeout".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        _ => {
            let s = e.to_string();
            // "No route to host (os error 113)" → "no route to host".
            let s = s.split(" (os error").next().unwrap_or(&s);
            let mut chars = s.chars();
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let hp = join_host_port(host, port);
    let addr = resolve(host, port, remaining(deadline))
        .map_err(|e| format!("dial tcp: lookup {host}: {}", go_error(&e)))?;
    let left = remaining(deadline);
    if left.is_zero() {
        return Err(format!("dial tcp {hp}: i/o timeout"));
    }
    let stream = TcpStream::connect_timeout(&addr, left)
        .map_err(|e| format!("dial tcp {hp}: {}", go_error(&e)))?;
    Ok(stream)
}

fn tcp(host: &str, port: u16, timeout: Duration) -> Outcome {
    match connect(host, port, Instant::now() + timeout) {
        Ok(_) => Outcome::pass(),
        Err(e) => Outcome::fail(e),
    }
}

/// A socket whose every read and write waits at most until one deadline: setting a read
/// timeout once would let a peer that drips a byte now and then hold a probe worker for
/// as long as it likes. TLS runs over it too, so the handshake is bounded the same way.
struct DeadlineStream {
    tcp: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    fn left(&self) -> io::Result<Duration> {
        let left = remaining(self.deadline);
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"));
        }
        Ok(left)
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// The request head of an HTTP probe. `Host` comes from the probe's headers when given,
/// else from the address, as Go's client does.
pub fn request_head(host: &str, port: u16, path: &str, headers: &[(String, String)]) -> String {
    let mut head = format!("GET {path} HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        head.push_str(&format!("Host: {}\r\n", join_host_port(host, port)));
    }
    if !has("user-agent") {
        head.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (name, value) in headers {
        // A header can't carry a line break; drop such characters rather than inject lines.
        let clean = |s: &str| s.chars().filter(|c| *c != '\r' && *c != '\n').collect::<String>();
        head.push_str(&format!("{}: {}\r\n", clean(name), clean(value)));
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// What a response head says that the probe needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    pub code: u16,
    pub location: Option<String>,
    pub content_length: Option<usize>,
    pub chunked: bool,
    /// Length of the head in the buffer; the body starts after it.
    pub len: usize,
}

/// The head of a response that starts with `buf`, once it is complete: `Ok(None)` means
/// read more.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => {
            return Err(format!(
                "net/http: server response headers exceeded {MAX_HEAD} bytes; aborted"
            ));
        }
        Err(_) => {
            let line = buf.split(|b| *b == b'\r' || *b == b'\n').next().unwrap_or_default();
            return Err(format!(
                "net/http: HTTP/1.x transport connection broken: malformed HTTP response {:?}",
                String::from_utf8_lossy(line)
            ));
        }
    };
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    Ok(Some(Head {
        code: resp.code.unwrap_or(0),
        location: header("location").filter(|l| !l.is_empty()),
        content_length: header("content-length").and_then(|v| v.parse().ok()),
        chunked: header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked")),
        len,
    }))
}

/// The kubelet counts 2xx and 3xx as success.
pub fn status_ok(code: u16) -> bool {
    (200..400).contains(&code)
}

/// Statuses Go's client follows when they carry a `Location`.
fn is_redirect(code: u16) -> bool {
    matches!(code, 301 | 302 | 303 | 307 | 308)
}

/// Requests one probe run makes at most (Go's client and the kubelet's redirect check: the
/// tenth redirect is not followed).
const MAX_REQUESTS: usize = 10;

/// Where one request of an HTTP probe goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    fn default_port(scheme: &str) -> u16 {
        if scheme == "https" { 443 } else { 80 }
    }

    fn to_url_string(&self) -> String {
        format!("{}://{}{}", self.scheme, join_host_port(&self.host, self.port), self.path)
    }

    /// The target of a `Location` relative to this URL (RFC 3986 reference resolution, as
    /// far as redirects need it), and whether the reference was absolute.
    pub fn join(&self, location: &str) -> Result<(Url, bool), String> {
        let location = location.split('#').next().unwrap_or_default();
        let scheme_end = location.find("://").filter(|&i| {
            location[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        let (scheme, rest) = match scheme_end {
            Some(i) => (location[..i].to_ascii_lowercase(), Some(&location[i + 3..])),
            None => match location.strip_prefix("//") {
                Some(rest) => (self.scheme.clone(), Some(rest)),
                None => (self.scheme.clone(), None),
            },
        };
        if let Some(rest) = rest {
            let (authority, path) = match rest.find(['/', '?']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let authority = authority.rsplit('@').next().unwrap_or_default();
            let (host, port) = split_authority(authority)
                .ok_or_else(|| format!("invalid port in {authority:?}"))?;
            let path = if path.starts_with('?') || path.is_empty() {
                format!("/{path}")
            } else {
                path.to_string()
            };
            let port = port.unwrap_or_else(|| Url::default_port(&scheme));
            return Ok((Url { scheme, host, port, path: remove_dot_segments(&path) }, true));
        }
        let base_path = self.path.split('?').next().unwrap_or("/");
        let path = if location.is_empty() {
            self.path.clone()
        } else if location.starts_with('/') {
            remove_dot_segments(location)
        } else if location.starts_with('?') {
            format!("{base_path}{location}")
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            remove_dot_segments(&format!("{dir}{location}"))
        };
        Ok((Url { path, ..self.clone() }, false))
    }
}

/// `host[:port]` or `[v6][:port]`; `None` for a port that is not a number.
fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']')?;
        (&v6[..end], v6[end + 1..].strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse().ok()?),
    };
    Some((host.to_string(), port))
}

/// Resolves `.` and `..` segments of an absolute path (the query is left alone).
fn remove_dot_segments(path: &str) -> String {
    let (p, query) = match path.find('?') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = p.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}{query}", out.join("/"))
}

/// What one request got back: the head, and for a response that ends the probe with a 3xx
/// (a warning, whose message carries it) the start of the body.
struct Reply {
    head: Head,
    body: Vec<u8>,
}

fn http_get(
    scheme: Scheme,
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Outcome {
    let scheme = if scheme == Scheme::Https { "https" } else { "http" };
    let mut url = Url { scheme: scheme.into(), host: host.into(), port, path: path.into() };
    let first_host = host.to_string();
    let mut headers = headers.to_vec();
    let deadline = Instant::now() + timeout;
    for sent in 1..=MAX_REQUESTS {
        let follows = |head: &Head| {
            is_redirect(head.code)
                && head
                    .location
                    .as_deref()
                    .and_then(|l| url.join(l).ok())
                    .is_some_and(|(next, _)| next.host == first_host)
        };
        let reply = match fetch(&url, &headers, deadline, &follows) {
            Ok(r) => r,
            Err(e) if e == "i/o timeout" => {
                return Outcome::fail(format!(
                    "Get {:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                    url.to_url_string()
                ));
            }
            Err(e) => return Outcome::fail(format!("Get {:?}: {e}", url.to_url_string())),
        };
        let code = reply.head.code;
        if let (true, Some(location)) = (is_redirect(code), reply.head.location.as_deref()) {
            let (next, absolute) = match url.join(location) {
                Ok(n) => n,
                Err(e) => {
                    return Outcome::fail(format!(
                        "Get {:?}: failed to parse Location header {location:?}: {e}",
                        url.to_url_string()
                    ));
                }
            };
            // The kubelet follows redirects only to the host it probed; elsewhere it stops
            // and takes the redirect itself as success, with a warning.
            if next.host == first_host {
                if sent == MAX_REQUESTS {
                    return Outcome::fail(format!(
                        "Get {location:?}: stopped after {MAX_REQUESTS} redirects"
                    ));
                }
                if absolute {
                    // Go keeps a custom Host header only across relative redirects.
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
                }
                url = next;
                continue;
            }
        }
        return match code {
            300..=399 => Outcome::warn(format!(
                "Probe terminated redirects, Response body: {}",
                String::from_utf8_lossy(&reply.body)
            )),
            _ if status_ok(code) => Outcome::pass(),
            _ => Outcome::fail(format!("HTTP probe failed with statuscode: {code}")),
        };
    }
    // The loop returns on its last round.
    Outcome::fail(format!("Get {:?}: stopped after {MAX_REQUESTS} redirects", url.to_url_string()))
}

/// One request of a probe, all of it before `deadline`. `follows` says whether a head's
/// redirect will be followed (then its body is not wanted).
fn fetch(
    url: &Url,
    headers: &[(String, String)],
    deadline: Instant,
    follows: &dyn Fn(&Head) -> bool,
) -> Result<Reply, String> {
    let https = match url.scheme.as_str() {
        "http" => false,
        "https" => true,
        other => return Err(format!("unsupported protocol scheme {other:?}")),
    };
    let tcp = connect(&url.host, url.port, deadline)?;
    let stream = DeadlineStream { tcp, deadline };
    let head = request_head(&url.host, url.port, &url.path, headers);
    if https {
        let tls = tls_client(&url.host).map_err(|e| e.to_string())?;
        exchange(rustls::StreamOwned::new(tls, stream), &head, follows)
    } else {
        exchange(stream, &head, follows)
    }
}

/// Sends the request and reads the response head, and the body when it is wanted.
fn exchange(
    mut stream: impl Read + Write,
    request: &str,
    follows: &dyn Fn(&Head) -> bool,
) -> Result<Reply, String> {
    let io = |e: io::Error| go_error(&e);
    stream.write_all(request.as_bytes()).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let head = loop {
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            return Err("EOF".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_head(&buf)? {
            break head;
        }
    };
    let mut body = buf.split_off(head.len);
    if !(300..400).contains(&head.code) || follows(&head) {
        return Ok(Reply { head, body: Vec::new() });
    }
    // The body only goes into a message: read what arrives before the deadline, up to the
    // kubelet's limit; an error or the deadline ends it with what came.
    let want = head.content_length.unwrap_or(usize::MAX).min(MAX_OUTPUT);
    while body.len() < want && !(head.chunked && chunked_complete(&body)) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    if head.chunked {
        body = dechunk(&body);
    }
    body.truncate(want);
    Ok(Reply { head, body })
}

/// Whether a chunked body's last chunk has arrived.
fn chunked_complete(body: &[u8]) -> bool {
    body.starts_with(b"0\r\n") || body.windows(5).any(|w| w == b"\r\n0\r\n")
}

/// The data of a chunked body, as far as it is complete (extensions and trailers dropped).
pub fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else { break };
        let data = &raw[eol + 2..];
        let take = size.min(data.len());
        out.extend_from_slice(&data[..take]);
        if take < size || data.len() < size + 2 {
            break;
        }
        raw = &data[size + 2..];
    }
    out
}

/// HTTPS probes do not verify the server, as the kubelet's (`InsecureSkipVerify`).
fn tls_client(host: &str) -> Result<rustls::ClientConnection, rustls::Error> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    let config = CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(NoVerify(provider.clone()));
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()
                .map(|b| {
                    Arc::new(
                        b.dangerous()
                            .with_custom_certificate_verifier(verifier)
                            .with_no_client_auth(),
                    )
                })
        })
        .clone()
        .ok_or_else(|| rustls::Error::General("no TLS configuration".into()))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    rustls::ClientConnection::new(config, name)
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn response_heads_parse() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!((head.code, head.len), (200, 19));
        let head =
            parse_head(b"HTTP/1.0 302 Found\r\nlocation: /next\r\nContent-Length: 3\r\n\r\nabc")
                .unwrap()
                .unwrap();
        assert_eq!(head.code, 302);
        assert_eq!(head.location.as_deref(), Some("/next"));
        assert_eq!(head.content_length, Some(3));
        let head = parse_head(b"HTTP/1.1 301\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(head.unwrap().chunked);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nX: y\r\n"), Ok(None));
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n").unwrap_err().contains("malformed"));
        assert!(parse_head(b"HTTP/1.1 2000 x\r\n\r\n").is_err());
        let huge = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'x'; MAX_HEAD]].concat();
        assert!(parse_head(&huge).unwrap_err().contains("exceeded"));
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = Url {
            scheme: "http".into(),
            host: "10.0.0.5".into(),
            port: 8080,
            path: "/a/b/c?q=1".into(),
        };
        let join = |l: &str| base.join(l).unwrap();
        let at = |scheme: &str, host: &str, port: u16, path: &str| Url {
            scheme: scheme.into(),
            host: host.into(),
            port,
            path: path.into(),
        };
        assert_eq!(join("/healthz"), (at("http", "10.0.0.5", 8080, "/healthz"), false));
        assert_eq!(join("d"), (at("http", "10.0.0.5", 8080, "/a/b/d"), false));
        assert_eq!(join("../d?x#frag"), (at("http", "10.0.0.5", 8080, "/a/d?x"), false));
        assert_eq!(join("?z=2"), (at("http", "10.0.0.5", 8080, "/a/b/c?z=2"), false));
        assert_eq!(join("https://10.0.0.5/x"), (at("https", "10.0.0.5", 443, "/x"), true));
        assert_eq!(join("http://example.com"), (at("http", "example.com", 80, "/"), true));
        assert_eq!(join("//[::1]:9/p"), (at("http", "::1", 9, "/p"), true));
        assert!(base.join("http://h:port/").is_err());
    }

    #[test]
    fn chunked_bodies_decode() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"), b"abcde");
        assert_eq!(dechunk(b"5\r\nab"), b"ab");
        assert!(chunked_complete(b"3\r\nabc\r\n0\r\n\r\n"));
        assert!(!chunked_complete(b"3\r\nabc\r\n"));
    }

    #[test]
    fn success_is_200_to_399() {
        assert!(!status_ok(199));
        assert!(status_ok(200));
        assert!(status_ok(302));
        assert!(status_ok(399));
        assert!(!status_ok(400));
        assert!(!status_ok(503));
    }

    #[test]
    fn request_head_carries_host_path_and_headers() {
        let h =
            request_head("10.0.0.5", 8080, "/healthz?x=1", &[("X-Probe".into(), "a\r\nb".into())]);
        assert!(h.starts_with("GET /healthz?x=1 HTTP/1.1\r\nHost: 10.0.0.5:8080\r\n"), "{h}");
        assert!(h.contains("User-Agent: kube-probe/1.33\r\n"));
        assert!(h.contains("X-Probe: ab\r\n"), "no header injection: {h}");
        assert!(h.ends_with("\r\n\r\n"));
        let h = request_head("::1", 80, "/", &[("host".into(), "example.com".into())]);
        assert!(!h.contains("Host: [::1]:80"), "{h}");
        assert!(h.contains("host: example.com\r\n"));
    }

    #[test]
    fn http_and_tcp_probes_against_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for status in ["200 OK", "500 Internal Server Error"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                );
            }
        });
        let t = Duration::from_secs(2);
        assert_eq!(http_get(Scheme::Http, "127.0.0.1", port, "/", &[], t), Outcome::pass());
        let fail = http_get(Scheme::Http, "127.0.0.1", port, "/", &[], t);
        assert_eq!(fail.message, "HTTP probe failed with statuscode: 500");
        server.join().unwrap();
        // Nothing listens any more.
        let refused = tcp("127.0.0.1", port, t);
        assert!(!refused.ok);
        assert_eq!(
            refused.message,
            format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
        let refused = http_get(Scheme::Http, "127.0.0.1", port, "/x", &[], t);
        assert!(
            refused.message.starts_with(&format!("Get \"http://127.0.0.1:{port}/x\": dial tcp"))
        );
    }

    /// A server answering each connection with the next of `replies` (the request head it
    /// got is sent back on the channel).
    fn serve(replies: Vec<String>) -> (u16, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for reply in replies {
                let Ok((mut s, _)) = listener.accept() else { return };
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = s.write_all(reply.as_bytes());
            }
        });
        (port, rx)
    }

    fn redirect(to: &str) -> String {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 5\r\n\r\nmoved")
    }

    #[test]
    fn same_host_redirects_are_followed() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_string();
        let fail = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_string();
        let (port, rx) = serve(vec![redirect("/b"), redirect("../c?x=1"), fail]);
        let h = vec![("Host".to_string(), "app.example".to_string())];
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/a", &h, Duration::from_secs(2));
        assert_eq!(out.message, "HTTP probe failed with statuscode: 503");
        let heads: Vec<String> = rx.try_iter().collect();
        assert!(heads[1].starts_with("GET /b HTTP/1.1\r\n"), "{heads:?}");
        assert!(heads[2].starts_with("GET /c?x=1 HTTP/1.1\r\n"), "{heads:?}");
        assert!(heads[2].contains("Host: app.example\r\n"), "relative keeps Host: {heads:?}");

        // An absolute same-host location (another port) is followed and drops the Host.
        let (target, rx2) = serve(vec![ok.clone()]);
        let (port, _rx) = serve(vec![redirect(&format!("http://127.0.0.1:{target}/z"))]);
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/", &h, Duration::from_secs(2));
        assert_eq!(out, Outcome::pass());
        let head = rx2.recv().unwrap();
        assert!(head.contains(&format!("Host: 127.0.0.1:{target}\r\n")), "{head}");
    }

    #[test]
    fn a_redirect_elsewhere_passes_with_a_warning() {
        let (port, _rx) = serve(vec![redirect("http://example.invalid/")]);
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/", &[], Duration::from_secs(2));
        assert_eq!(out, Outcome::warn("Probe terminated redirects, Response body: moved"));
        // A 3xx without a Location is not followed either.
        let chunked =
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let (port, _rx) = serve(vec![chunked.to_string()]);
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/", &[], Duration::from_secs(2));
        assert_eq!(out, Outcome::warn("Probe terminated redirects, Response body: hi"));
    }

    #[test]
    fn redirect_loops_stop_after_ten_requests() {
        let (port, rx) = serve(vec![redirect("/loop"); 12]);
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/", &[], Duration::from_secs(5));
        assert!(!out.ok);
        assert_eq!(out.message, "Get \"/loop\": stopped after 10 redirects");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(rx.try_iter().count(), 10);
    }

    /// A server that answers one byte every 300 ms never finishes its status line within
    /// the probe's 1 s, and the probe must give up at its timeout, not wait per read.
    #[test]
    fn a_slow_drip_server_cannot_outlast_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: ".iter().chain([b'x'; 200].iter()) {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        let started = Instant::now();
        let out = http_get(Scheme::Http, "127.0.0.1", port, "/", &[], Duration::from_secs(1));
        let took = started.elapsed();
        assert!(!out.ok, "{out:?}");
        assert!(out.message.contains("context deadline exceeded"), "{out:?}");
        assert!(took < Duration::from_millis(1500), "took {took:?}");
    }

    #[test]
    fn names_resolve_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(tcp("localhost", port, Duration::from_secs(2)).ok);
        let out = tcp("no-such-host.invalid", port, Duration::from_secs(2));
        assert!(out.message.starts_with("dial tcp: lookup no-such-host.invalid: "), "{out:?}");
        // Resolution counts against the probe's time: with none left it fails at once.
        let out = tcp("localhost", port, Duration::ZERO);
        assert_eq!(out.message, "dial tcp: lookup localhost: i/o timeout");
        let deadline = Instant::now() + Duration::from_secs(2);
        while LOOKUPS.load(Ordering::SeqCst) != 0 {
            assert!(Instant::now() < deadline, "lookup slots are given back");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tls_tests {
    use super::*;
    use std::net::TcpListener;

    /// A self-signed server for a name the probe does not use: HTTPS probes skip
    /// verification, as the kubelet's do.
    #[test]
    fn https_probes_do_not_verify_the_server() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["elsewhere.example".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = [0u8; 1024];
            let _ = tls.read(&mut buf);
            let _ = tls.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
            let _ = tls.flush();
        });
        let out = http_get(Scheme::Https, "127.0.0.1", port, "/", &[], Duration::from_secs(5));
        assert_eq!(out, Outcome::pass());
        server.join().unwrap();
    }
}
