//! The single bearer token that guards the API.
//!
//! As in Portainer's k2d, the token is the standard base64 of `K2D_SECRET`, so
//! existing deployments and their kubeconfigs keep working. Without a secret a
//! random token is made once and kept in `<data_path>/token`, so kubeconfigs
//! survive restarts.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

pub struct Auth {
    token: String,
    /// SHA-256 of the token: comparing fixed-size digests in constant time
    /// leaks neither the content nor the length of the token.
    digest: [u8; 32],
}

/// The token is a secret: keep it out of `{:?}` output and thus out of logs.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth { token: <redacted> }")
    }
}

impl Auth {
    /// The token from `secret` (`K2D_SECRET`) when set, else the one stored in
    /// `<data_path>/token`, created (0600) on first use.
    pub fn load_or_create(data_path: &Path, secret: Option<&str>) -> io::Result<Auth> {
        if let Some(secret) = secret {
            return Ok(Auth::from_token(base64::engine::general_purpose::STANDARD.encode(secret)));
        }
        let path = data_path.join("token");
        match fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => return Ok(Auth::from_token(t.trim().to_string())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
        // Hex: safe unquoted in YAML, shells and HTTP headers alike.
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        fs::create_dir_all(data_path)?;
        crate::api::tls::write_atomic_io(&path, token.as_bytes(), 0o600)?;
        log::info!("created a new API token in {}", path.display());
        Ok(Auth::from_token(token))
    }

    pub fn from_token(token: String) -> Auth {
        let digest = Sha256::digest(token.as_bytes()).into();
        Auth { token, digest }
    }

    /// For the kubeconfig only; never log it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether an `Authorization` header value carries our bearer token.
    pub fn check(&self, authorization_header: Option<&str>) -> bool {
        let Some(value) = authorization_header.map(str::trim) else { return false };
        let Some((scheme, presented)) = value.split_once(' ') else { return false };
        // RFC 7235: the scheme is case-insensitive.
        if !scheme.eq_ignore_ascii_case("bearer") {
            return false;
        }
        self.check_token(presented.trim())
    }

    /// Browser WebSocket clients cannot set headers; kube-apiserver accepts the
    /// token as a `base64url.bearer.authorization.k8s.io.<token>` subprotocol.
    pub fn check_websocket_protocol(&self, sec_websocket_protocol: Option<&str>) -> bool {
        const PREFIX: &str = "base64url.bearer.authorization.k8s.io.";
        let Some(value) = sec_websocket_protocol else { return false };
        value.split(',').map(str::trim).filter_map(|p| p.strip_prefix(PREFIX)).any(|enc| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(enc.trim_end_matches('='))
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .is_some_and(|t| self.check_token(&t))
        })
    }

    fn check_token(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let diff = d.iter().zip(self.digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // black_box keeps the optimiser from turning the fold into an early exit.
        std::hint::black_box(diff) == 0
    }

    /// Paths kube-apiserver serves to anyone (system:public-info-viewer), so
    /// load balancers and health probes need no token. `path` excludes the query.
    pub fn is_public(path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        ["/healthz", "/livez", "/readyz", "/version"].iter().any(|p| {
            path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_token_is_standard_base64_like_portainer() {
        let dir = crate::api::tls::tests::temp_dir("auth-secret");
        let a = Auth::load_or_create(&dir, Some("mysecret")).unwrap();
        assert_eq!(a.token(), "bXlzZWNyZXQ=");
        assert!(!dir.join("token").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generated_token_persists_with_private_mode() {
        let dir = crate::api::tls::tests::temp_dir("auth-gen");
        let a = Auth::load_or_create(&dir, None).unwrap();
        assert_eq!(a.token().len(), 64);
        let mode = fs::metadata(dir.join("token")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = Auth::load_or_create(&dir, None).unwrap();
        assert_eq!(a.token(), b.token());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn check_accepts_only_the_bearer_token() {
        let a = Auth::from_token("abc123".into());
        assert!(a.check(Some("Bearer abc123")));
        assert!(a.check(Some("bearer  abc123 ")));
        assert!(!a.check(Some("Bearer abc1234")));
        assert!(!a.check(Some("Bearer abc12")));
        assert!(!a.check(Some("Basic abc123")));
        assert!(!a.check(Some("abc123")));
        assert!(!a.check(Some("Bearer ")));
        assert!(!a.check(None));
        assert!(!format!("{a:?}").contains("abc123"));
    }

    #[test]
    fn websocket_protocol_token() {
        let a = Auth::from_token("abc123".into());
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("abc123");
        let good = format!("v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.{enc}");
        assert!(a.check_websocket_protocol(Some(&good)));
        assert!(!a.check_websocket_protocol(Some("v5.channel.k8s.io")));
        assert!(!a.check_websocket_protocol(None));
    }

    #[test]
    fn public_paths() {
        for p in ["/healthz", "/livez", "/readyz", "/version", "/readyz/ping", "/healthz?verbose"] {
            assert!(Auth::is_public(p), "{p}");
        }
        for p in ["/", "/api", "/healthzz", "/versions", "/api/v1/healthz", "/readyzx/ping"] {
            assert!(!Auth::is_public(p), "{p}");
        }
    }
}
