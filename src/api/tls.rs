//! The cluster CA and the API server certificate, kept under `<data_path>/pki/`.
//!
//! Both are made on first start and reused afterwards, because every kubeconfig
//! handed out embeds the CA: regenerating it would lock existing clients out.
//! Only the server certificate is reissued, and only when the wanted SAN set
//! changes (new advertise address, hostname or `K2D_ALT_NAMES`).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// What the front door needs: the CA for kubeconfigs, the config for handshakes.
pub struct TlsMaterial {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum TlsError {
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// A configured SAN that is neither an IP address nor a DNS name.
    BadName(String),
    Generate(rcgen::Error),
    /// A stored PEM file that does not parse.
    Pem {
        path: PathBuf,
        what: String,
    },
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::BadName(n) => write!(f, "{n:?} is neither an IP address nor a DNS name"),
            TlsError::Generate(e) => write!(f, "generating certificate: {e}"),
            TlsError::Pem { path, what } => write!(f, "{}: {what}", path.display()),
            TlsError::Rustls(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<rcgen::Error> for TlsError {
    fn from(e: rcgen::Error) -> Self {
        TlsError::Generate(e)
    }
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Rustls(e)
    }
}

/// Names every kube-apiserver certificate carries, so in-cluster style clients
/// (`https://kubernetes.default.svc`) and local tools verify without extra flags.
const FIXED_SANS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// The SAN set in a canonical form (IPs re-printed, DNS names lower-cased,
/// duplicates dropped, first occurrence kept), so that `::0001` and `::1` or
/// `Foo` and `foo` do not cause a needless reissue.
pub fn wanted_sans(
    advertise: Option<IpAddr>,
    hostname: Option<&str>,
    extra: &[String],
) -> Result<Vec<String>, TlsError> {
    let mut out: Vec<String> = Vec::new();
    let candidates = advertise
        .map(|a| a.to_string())
        .into_iter()
        .chain(hostname.map(str::to_string))
        .chain(FIXED_SANS.iter().map(|s| s.to_string()))
        .chain(extra.iter().cloned());
    for raw in candidates {
        let name = canonical_name(raw.trim())?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn canonical_name(s: &str) -> Result<String, TlsError> {
    if let Ok(ip) = s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').enumerate().all(|(i, label)| {
            (i == 0 && label == "*")
                || (!label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
                    && !label.ends_with('-'))
        });
    if ok { Ok(s.to_ascii_lowercase()) } else { Err(TlsError::BadName(s.to_string())) }
}

/// This machine's host name, for the SAN list.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = std::str::from_utf8(&buf[..end]).ok()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Load the CA and server certificate from `<data_path>/pki/`, creating what is
/// missing and reissuing the server certificate when `sans` (see [`wanted_sans`])
/// differs from what it was issued for.
pub fn load_or_create(data_path: &Path, sans: &[String]) -> Result<TlsMaterial, TlsError> {
    let dir = data_path.join("pki");
    create_private_dir(&dir)?;
    let ca_crt = dir.join("ca.crt");
    let ca_key = dir.join("ca.key");
    let srv_crt = dir.join("server.crt");
    let srv_key = dir.join("server.key");
    // Records what server.crt was issued for (CA fingerprint + SANs): rcgen
    // cannot parse certificates without an extra X.509 parser dependency.
    let srv_meta = dir.join("server.sans");

    let (ca_pem, ca_key_pair) = match load_pair(&ca_crt, &ca_key)? {
        Some(pair) => pair,
        None => {
            log::info!("creating cluster CA in {}", dir.display());
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let cert = ca_params().self_signed(&key)?;
            write_atomic(&ca_key, key.serialize_pem().as_bytes(), 0o600)?;
            write_atomic(&ca_crt, cert.pem().as_bytes(), 0o644)?;
            (cert.pem(), key)
        }
    };

    let meta = server_meta(&ca_pem, sans);
    let current = load_pair(&srv_crt, &srv_key)?;
    let (srv_pem, srv_key_pair) = match current {
        Some(pair) if fs::read_to_string(&srv_meta).ok().as_deref() == Some(meta.as_str()) => pair,
        _ => {
            log::info!("issuing API server certificate for {}", sans.join(", "));
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let params = server_params(sans)?;
            // The issuer is rebuilt from the same deterministic parameters the
            // CA was made with; with the same key this yields the same subject
            // and authority key identifier as the stored ca.crt.
            let issuer = Issuer::new(ca_params(), &ca_key_pair);
            let cert = params.signed_by(&key, &issuer)?;
            write_atomic(&srv_key, key.serialize_pem().as_bytes(), 0o600)?;
            write_atomic(&srv_crt, cert.pem().as_bytes(), 0o644)?;
            write_atomic(&srv_meta, meta.as_bytes(), 0o644)?;
            (cert.pem(), key)
        }
    };

    let server_config = server_config(&srv_pem, &srv_key_pair, &srv_crt)?;
    Ok(TlsMaterial { ca_pem, server_config: Arc::new(server_config) })
}

/// Years for `not_before`/`not_after`. A coarse year is enough: `not_before`
/// goes one year back (tolerates skewed clocks on boxes without an RTC) and the
/// certificates last a century, because an expired CA on an unattended edge box
/// is an outage nobody is there to fix.
fn current_year() -> i32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "k2d-ca");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let y = current_year();
    p.not_before = rcgen::date_time_ymd(1970.max(y - 1), 1, 1);
    p.not_after = rcgen::date_time_ymd(y + 100, 1, 1);
    p
}

fn server_params(sans: &[String]) -> Result<CertificateParams, TlsError> {
    let mut p = CertificateParams::new(sans.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "k2d");
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    let y = current_year();
    p.not_before = rcgen::date_time_ymd(1970.max(y - 1), 1, 1);
    p.not_after = rcgen::date_time_ymd(y + 100, 1, 1);
    Ok(p)
}

fn server_meta(ca_pem: &str, sans: &[String]) -> String {
    let digest = Sha256::digest(ca_pem.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut s = format!("ca-sha256 {hex}\n");
    for n in sans {
        s.push_str(n);
        s.push('\n');
    }
    s
}

/// A stored certificate and its key, or `None` when either is missing or they
/// do not belong together (e.g. a crash between the two writes).
fn load_pair(crt: &Path, key: &Path) -> Result<Option<(String, KeyPair)>, TlsError> {
    let (Some(crt_pem), Some(key_pem)) = (read_optional(crt)?, read_optional(key)?) else {
        return Ok(None);
    };
    let key_pair = KeyPair::from_pem(&key_pem)
        .map_err(|e| TlsError::Pem { path: key.to_path_buf(), what: e.to_string() })?;
    let der = CertificateDer::from_pem_slice(crt_pem.as_bytes())
        .map_err(|e| TlsError::Pem { path: crt.to_path_buf(), what: e.to_string() })?;
    // The certificate embeds the raw public key verbatim; finding it is an
    // exact match test without an X.509 parser.
    let pk = key_pair.public_key_raw();
    if !der.windows(pk.len()).any(|w| w == pk) {
        log::warn!("{} does not match {}; replacing both", crt.display(), key.display());
        return Ok(None);
    }
    Ok(Some((crt_pem, key_pair)))
}

fn read_optional(path: &Path) -> Result<Option<String>, TlsError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::Io { path: path.to_path_buf(), source }),
    }
}

fn server_config(
    cert_pem: &str,
    key: &KeyPair,
    cert_path: &Path,
) -> Result<rustls::ServerConfig, TlsError> {
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| TlsError::Pem { path: cert_path.to_path_buf(), what: e.to_string() })?;
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    // The provider is named explicitly: a process-wide default would depend on
    // which rustls features the whole dependency graph happens to enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    // Only HTTP/1.1: tiny_http behind the front door speaks nothing else, and
    // offering h2 would make Go clients pick it.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let io_err = |source| TlsError::Io { path: dir.to_path_buf(), source };
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err)?;
    // An existing directory keeps its old mode unless tightened here.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err)
}

/// Replace `path` atomically with `contents` at `mode`: a crash leaves either
/// the old file or the new one, never a torn key.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    write_atomic_io(path, contents, mode)
        .map_err(|source| TlsError::Io { path: path.to_path_buf(), source })
}

pub(crate) fn write_atomic_io(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| io::Error::other("path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        // create_new + mode: the secret never exists with wider permissions.
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent() {
            // Make the rename itself durable.
            if let Ok(d) = fs::File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("k2d-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn sans_include_fixed_names_and_dedupe() {
        let sans = wanted_sans(
            Some("10.0.0.5".parse().unwrap()),
            Some("Edge-1"),
            &s(&["LOCALHOST", "::0001", "k2d.example.com", "192.168.1.2"]),
        )
        .unwrap();
        assert_eq!(
            sans,
            s(&[
                "10.0.0.5",
                "edge-1",
                "localhost",
                "127.0.0.1",
                "::1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                "k2d.example.com",
                "192.168.1.2",
            ])
        );
    }

    #[test]
    fn sans_reject_garbage() {
        assert!(matches!(wanted_sans(None, None, &s(&["a b"])), Err(TlsError::BadName(_))));
        assert!(matches!(wanted_sans(None, None, &s(&["-x.com"])), Err(TlsError::BadName(_))));
        assert!(wanted_sans(None, None, &s(&["*.example.com", "[fe80::1]"])).is_ok());
    }

    #[test]
    fn pki_is_created_reused_and_reissued_on_san_change() {
        let dir = temp_dir("tls");
        let sans1 = wanted_sans(None, Some("host"), &[]).unwrap();
        let m1 = load_or_create(&dir, &sans1).unwrap();
        let pki = dir.join("pki");
        let mode = |p: &str| fs::metadata(pki.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("ca.key"), 0o600);
        assert_eq!(mode("server.key"), 0o600);
        assert_eq!(fs::metadata(&pki).unwrap().permissions().mode() & 0o777, 0o700);
        let srv1 = fs::read(pki.join("server.crt")).unwrap();

        // Same SANs: nothing changes.
        let m2 = load_or_create(&dir, &sans1).unwrap();
        assert_eq!(m1.ca_pem, m2.ca_pem);
        assert_eq!(srv1, fs::read(pki.join("server.crt")).unwrap());

        // New SAN: same CA, new server certificate.
        let sans2 = wanted_sans(Some("10.1.2.3".parse().unwrap()), Some("host"), &[]).unwrap();
        let m3 = load_or_create(&dir, &sans2).unwrap();
        assert_eq!(m1.ca_pem, m3.ca_pem);
        assert_ne!(srv1, fs::read(pki.join("server.crt")).unwrap());
        assert_eq!(m3.server_config.alpn_protocols, vec![b"http/1.1".to_vec()]);

        // A key that does not match its certificate gets both replaced.
        fs::copy(pki.join("ca.key"), pki.join("server.key")).unwrap();
        let srv3 = fs::read(pki.join("server.crt")).unwrap();
        load_or_create(&dir, &sans2).unwrap();
        assert_ne!(srv3, fs::read(pki.join("server.crt")).unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = temp_dir("atomic");
        let p = dir.join("f");
        write_atomic_io(&p, b"one", 0o600).unwrap();
        write_atomic_io(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
