//! Running one probe: exec through Docker, an HTTP GET or a TCP connect to the pod, each
//! bounded by the probe's timeout. Messages follow the kubelet's (they end up in `Unhealthy`
//! Events, which is where users read them).

use super::spec::{Action, Scheme};
use crate::adapter::docker::Docker;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The kubelet keeps at most this much of a probe's output (`maxProbeOutputLength`... 10 KiB).
pub const MAX_OUTPUT: usize = 10 * 1024;
/// The response head of an HTTP probe is read up to this much; a status line is short.
const MAX_HEAD: usize = 4 * 1024;
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
}

impl Outcome {
    fn pass() -> Outcome {
        Outcome { ok: true, message: String::new(), errored: false }
    }

    fn fail(message: impl Into<String>) -> Outcome {
        Outcome { ok: false, message: message.into(), errored: false }
    }

    fn error(message: impl Into<String>) -> Outcome {
        Outcome { ok: false, message: message.into(), errored: true }
    }
}

/// Where the pod is reached: its IP (127.0.0.1 for host-network pods).
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
                Some(0) => Outcome { ok: true, message: output, errored: false },
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

fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
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

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let hp = join_host_port(host, port);
    let addr =
        resolve(host, port).map_err(|e| format!("dial tcp {hp}: lookup: {}", go_error(&e)))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("dial tcp {hp}: {}", go_error(&e)))?;
    Ok(stream)
}

fn tcp(host: &str, port: u16, timeout: Duration) -> Outcome {
    match connect(host, port, timeout) {
        Ok(_) => Outcome::pass(),
        Err(e) => Outcome::fail(e),
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

/// The status code of a response that starts with `buf`, once its status line is complete:
/// `Ok(None)` means read more.
pub fn parse_status(buf: &[u8]) -> Result<Option<u16>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() >= MAX_HEAD {
            return Err("malformed HTTP response".into());
        }
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| "malformed HTTP response")?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") || code.len() != 3 {
        return Err(format!("malformed HTTP status line: {line:?}"));
    }
    code.parse().map(Some).map_err(|_| format!("malformed HTTP status line: {line:?}"))
}

/// The kubelet counts 2xx and 3xx as success.
pub fn status_ok(code: u16) -> bool {
    (200..400).contains(&code)
}

fn http_get(
    scheme: Scheme,
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Outcome {
    let url = format!(
        "{}://{}{path}",
        if scheme == Scheme::Https { "https" } else { "http" },
        join_host_port(host, port)
    );
    let deadline = Instant::now() + timeout;
    let result = connect(host, port, timeout).and_then(|tcp| {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let io = |e: io::Error| go_error(&e);
        tcp.set_read_timeout(Some(left)).map_err(io)?;
        tcp.set_write_timeout(Some(left)).map_err(io)?;
        let head = request_head(host, port, path, headers);
        match scheme {
            Scheme::Http => exchange(tcp, &head),
            Scheme::Https => {
                let tls = tls_client(host).map_err(|e| e.to_string())?;
                exchange(rustls::StreamOwned::new(tls, tcp), &head)
            }
        }
    });
    match result {
        Ok(code) if status_ok(code) => Outcome::pass(),
        Ok(code) => Outcome::fail(format!("HTTP probe failed with statuscode: {code}")),
        Err(e) if e == "i/o timeout" => Outcome::fail(format!(
            "Get {url:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
        Err(e) => Outcome::fail(format!("Get {url:?}: {e}")),
    }
}

/// Sends the request and reads up to the status line.
fn exchange(mut stream: impl Read + Write, head: &str) -> Result<u16, String> {
    let io = |e: io::Error| go_error(&e);
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            return Err("EOF".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(code) = parse_status(&buf)? {
            return Ok(code);
        }
    }
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
    fn status_lines_parse() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Ok(Some(200)));
        assert_eq!(parse_status(b"HTTP/1.0 404 Not Found\r\nX: y\r\n"), Ok(Some(404)));
        assert_eq!(parse_status(b"HTTP/1.1 301\r\n"), Ok(Some(301)));
        assert_eq!(parse_status(b"HTTP/1.1 20"), Ok(None));
        assert!(parse_status(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_status(b"HTTP/1.1 2000 x\r\n").is_err());
        assert!(parse_status(&[b'x'; MAX_HEAD]).is_err());
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
