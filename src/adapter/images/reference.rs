//! Image references normalised the way Docker (distribution's `ParseNormalizedNamed`) does,
//! so that `nginx`, `docker.io/nginx` and `index.docker.io/library/nginx:latest` are one image
//! and share one pull, and so that a name Docker would reject is `InvalidImageName` at once
//! instead of a failed pull.

use std::fmt;

/// Docker Hub's canonical domain; `index.docker.io` is an alias.
pub const DOCKER_HUB: &str = "docker.io";

/// Longest repository name (domain + path) distribution accepts.
const NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host with optional port: `docker.io`, `localhost:5000`, `127.0.0.1:5100`.
    pub domain: String,
    /// Repository path in the registry: `library/nginx`, `k2d-test/busybox`.
    pub path: String,
    /// The tag as written; `None` when absent (then `latest` applies unless a digest is given).
    pub tag: Option<String>,
    /// `sha256:...` when pinned by digest.
    pub digest: Option<String>,
}

/// Why a reference is not one Docker would accept; the text follows Docker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReference(pub &'static str);

impl fmt::Display for InvalidReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InvalidReference {}

const INVALID: InvalidReference = InvalidReference("invalid reference format");

impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef, InvalidReference> {
        if s.is_empty() {
            return Err(INVALID);
        }
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidReference(
                "invalid repository name (cannot specify 64-byte hexadecimal strings)",
            ));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(INVALID);
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The domain is the first component only if it looks like a host; `nginx/x` is a Hub path.
        let (domain, remainder) = match rest.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                (first, remainder)
            }
            _ => (DOCKER_HUB, rest),
        };
        let (path, tag) = match remainder.rsplit_once(':') {
            Some((p, t)) => {
                if !valid_tag(t) {
                    return Err(INVALID);
                }
                (p, Some(t.to_string()))
            }
            None => (remainder, None),
        };
        if !valid_domain(domain) {
            return Err(INVALID);
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(InvalidReference(
                "invalid reference format: repository name must be lowercase",
            ));
        }
        if path.is_empty() || !path.split('/').all(valid_path_component) {
            return Err(INVALID);
        }
        let domain = if domain == "index.docker.io" { DOCKER_HUB } else { domain };
        let path = if domain == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if domain.len() + 1 + path.len() > NAME_MAX {
            return Err(InvalidReference("repository name must not be more than 255 characters"));
        }
        Ok(ImageRef { domain: domain.to_string(), path, tag, digest })
    }

    /// `docker.io/library/nginx`: what `fromImage` takes.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag or digest to pull: a digest wins over a tag (as in `docker pull`), and no tag
    /// means `latest`. Never empty, since an empty `tag` makes Docker pull every tag.
    pub fn pull_tag(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// The one spelling of this image: `docker.io/library/nginx:latest`,
    /// `localhost:5000/x@sha256:...`. Usable with `GET /images/{name}/json`.
    pub fn canonical(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}@{d}", self.repository()),
            None => format!("{}:{}", self.repository(), self.pull_tag()),
        }
    }

    /// True when a tag of `latest` is meant, which makes `Always` the default pull policy.
    pub fn is_latest(&self) -> bool {
        self.digest.is_none() && self.tag.as_deref().is_none_or(|t| t == "latest")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// The policy of a container: the one in its spec, else Kubernetes' default (`Always` for
    /// `:latest` or no tag, `IfNotPresent` otherwise). Unknown values fall back to the default,
    /// since the API rejects them before they reach the controller.
    pub fn of(spec: Option<&str>, image: &str) -> PullPolicy {
        match spec {
            Some("Always") => PullPolicy::Always,
            Some("IfNotPresent") => PullPolicy::IfNotPresent,
            Some("Never") => PullPolicy::Never,
            _ => match ImageRef::parse(image) {
                Ok(r) if !r.is_latest() => PullPolicy::IfNotPresent,
                _ => PullPolicy::Always,
            },
        }
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex`; sha256 must be exactly 64 lowercase hex digits.
fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else { return false };
    let alg_ok = alg.split(['+', '.', '-', '_']).all(|c| {
        c.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && c.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if alg == "sha256" {
        return hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    }
    alg_ok && hex_ok
}

/// A host name, IPv4 or `[IPv6]` address, with an optional numeric port.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(v6) = d.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else { return false };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if host.is_empty() && d.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        })
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or any run of `-`.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).canonical()
    }

    const D: &str = "sha256:94cbd667e7f91f61bbefa9ebecc7cbf8d938a0a42d17213d0c9946da0ba5b2e6";

    #[test]
    fn normalises_like_docker() {
        assert_eq!(canon("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(canon("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(canon("docker.io/nginx"), "docker.io/library/nginx:latest");
        assert_eq!(canon("index.docker.io/library/nginx"), "docker.io/library/nginx:latest");
        assert_eq!(canon("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(canon("localhost/x"), "localhost/x:latest");
        assert_eq!(canon("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(canon("127.0.0.1:5100/k2d-test/busybox:1"), "127.0.0.1:5100/k2d-test/busybox:1");
        assert_eq!(canon("quay.io/a/b/c:v1.2-rc_3"), "quay.io/a/b/c:v1.2-rc_3");
        assert_eq!(canon("[::1]:5000/x:1"), "[::1]:5000/x:1");
        assert_eq!(canon(&format!("nginx@{D}")), format!("docker.io/library/nginx@{D}"));
        assert_eq!(canon(&format!("nginx:1@{D}")), format!("docker.io/library/nginx@{D}"));
        assert_eq!(canon("ab__c-d---e/f.g_h"), "docker.io/ab__c-d---e/f.g_h:latest");
        assert!(ImageRef::parse("a__b.c/x").is_err(), "a dotted first component is a host");
    }

    #[test]
    fn pull_tag_is_never_empty_and_digest_wins() {
        assert_eq!(ImageRef::parse("nginx").unwrap().pull_tag(), "latest");
        assert_eq!(ImageRef::parse("nginx:1").unwrap().pull_tag(), "1");
        let r = ImageRef::parse(&format!("nginx:1@{D}")).unwrap();
        assert_eq!(r.pull_tag(), D);
        assert_eq!(r.repository(), "docker.io/library/nginx");
    }

    #[test]
    fn rejects_what_docker_rejects() {
        for bad in [
            "",
            "Nginx/",
            "nginx:",
            ":tag",
            "nginx:bad tag",
            "nginx::1",
            "-nginx",
            "nginx-",
            "a//b",
            "a/b/",
            "ngi..nx",
            "nginx@sha256:abc",
            "nginx@sha256:94CBD667E7F91F61BBEFA9EBECC7CBF8D938A0A42D17213D0C9946DA0BA5B2E6",
            "host:port/x",
            "exa_mple.com/x",
            "nginx:.dot",
            "94cbd667e7f91f61bbefa9ebecc7cbf8d938a0a42d17213d0c9946da0ba5b2e6",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be invalid");
        }
        assert_eq!(
            ImageRef::parse("docker.io/Library/nginx").unwrap_err().0,
            "invalid reference format: repository name must be lowercase"
        );
        assert!(ImageRef::parse(&format!("x/{}", "a".repeat(260))).is_err());
    }

    #[test]
    fn default_pull_policy_follows_the_tag() {
        assert_eq!(PullPolicy::of(None, "nginx"), PullPolicy::Always);
        assert_eq!(PullPolicy::of(None, "nginx:latest"), PullPolicy::Always);
        assert_eq!(PullPolicy::of(None, "nginx:1"), PullPolicy::IfNotPresent);
        assert_eq!(PullPolicy::of(None, &format!("nginx@{D}")), PullPolicy::IfNotPresent);
        assert_eq!(PullPolicy::of(Some("Never"), "nginx"), PullPolicy::Never);
        assert_eq!(PullPolicy::of(Some("Always"), "nginx:1"), PullPolicy::Always);
    }
}
