//! `imagePullSecrets` to Docker's `X-Registry-Auth`, choosing the credential the way the
//! kubelet's keyring does: keys of every secret are URLs (scheme optional, `/v1/` or `/v2/`
//! ignored, `*` globs per host label), the most specific matching key wins, and Docker Hub
//! images fall back to an `index.docker.io` entry such as `https://index.docker.io/v1/`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::{Value, json};

use super::reference::{DOCKER_HUB, ImageRef};

const HUB_KEY: &str = "index.docker.io";

/// One registry login found in a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Credential {
    username: String,
    password: String,
    identity_token: Option<String>,
}

/// The `X-Registry-Auth` header value (base64url of Docker's AuthConfig JSON) for pulling
/// `image` with the first matching credential in `secrets` (Secret objects of type
/// `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg`; others are ignored), or
/// `None` when none matches and the pull should be anonymous.
pub fn registry_auth(image: &str, secrets: &[Value]) -> Option<String> {
    let image = ImageRef::parse(image).ok()?;
    let target = format!("{}/{}", image.domain, image.path);
    let mut keyring: Vec<(String, Credential)> = secrets.iter().flat_map(entries).collect();
    // Reverse order puts `host/path` before `host`, so the more specific key is tried first;
    // the sort is stable, so one key in two secrets keeps the secrets' order.
    keyring.sort_by(|a, b| b.0.cmp(&a.0));
    let found = keyring.iter().find(|(key, _)| url_matches(key, &target)).or_else(|| {
        (image.domain == DOCKER_HUB).then(|| keyring.iter().find(|(key, _)| key == HUB_KEY))?
    })?;
    let cred = &found.1;
    let server = if image.domain == DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        image.domain.clone()
    };
    let mut config = json!({
        "username": cred.username,
        "password": cred.password,
        "serveraddress": server,
    });
    if let Some(t) = &cred.identity_token {
        config["identitytoken"] = json!(t);
    }
    Some(URL_SAFE.encode(config.to_string()))
}

/// The `(key, credential)` pairs of one secret, keys normalised like the kubelet's `Add`.
fn entries(secret: &Value) -> Vec<(String, Credential)> {
    let (data_key, nested) = match secret["type"].as_str() {
        Some("kubernetes.io/dockerconfigjson") => (".dockerconfigjson", true),
        Some("kubernetes.io/dockercfg") => (".dockercfg", false),
        _ => return Vec::new(),
    };
    let Some(raw) = secret["data"][data_key].as_str() else { return Vec::new() };
    let Ok(bytes) = STANDARD.decode(raw.trim()) else { return Vec::new() };
    let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else { return Vec::new() };
    let auths = if nested { &doc["auths"] } else { &doc };
    let Some(auths) = auths.as_object() else { return Vec::new() };
    auths
        .iter()
        .filter_map(|(loc, entry)| Some((normalise_key(loc)?, credential(entry)?)))
        .collect()
}

/// `https://index.docker.io/v1/` → `index.docker.io`; `localhost:5000/team` stays.
fn normalise_key(loc: &str) -> Option<String> {
    let rest = loc.strip_prefix("https://").or_else(|| loc.strip_prefix("http://")).unwrap_or(loc);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    let path = match path {
        p if p.starts_with("/v1/") || p.starts_with("/v2/") => &p[3..],
        p => p,
    };
    Some(if path.is_empty() || path == "/" { host.to_string() } else { format!("{host}{path}") })
}

/// `auth` (base64 `user:pass`) wins over `username`/`password`, as in the kubelet.
fn credential(entry: &Value) -> Option<Credential> {
    let token = entry["identitytoken"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
    if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
        let decoded = String::from_utf8(STANDARD.decode(auth.trim()).ok()?).ok()?;
        let (user, pass) = decoded.split_once(':')?;
        return Some(Credential {
            username: user.to_string(),
            password: pass.to_string(),
            identity_token: token,
        });
    }
    let username = entry["username"].as_str().unwrap_or("").to_string();
    let password = entry["password"].as_str().unwrap_or("").to_string();
    if username.is_empty() && password.is_empty() && token.is_none() {
        return None;
    }
    Some(Credential { username, password, identity_token: token })
}

/// The kubelet's `URLsMatch` on schemeless URLs: same port, same number of host labels each
/// matching its glob, and the key's path a prefix of the image's.
fn url_matches(key: &str, target: &str) -> bool {
    let split = |s: &str| -> (String, String) {
        match s.find('/') {
            Some(i) => (s[..i].to_string(), s[i..].to_string()),
            None => (s.to_string(), String::new()),
        }
    };
    let (key_host, key_path) = split(key);
    let (target_host, target_path) = split(target);
    let host_port = |h: &str| -> (String, String) {
        match h.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h.to_string(), p.to_string())
            }
            _ => (h.to_string(), String::new()),
        }
    };
    let (kh, kp) = host_port(&key_host);
    let (th, tp) = host_port(&target_host);
    if kp != tp {
        return false;
    }
    let kl: Vec<&str> = kh.split('.').collect();
    let tl: Vec<&str> = th.split('.').collect();
    kl.len() == tl.len()
        && kl.iter().zip(&tl).all(|(k, t)| glob(k.as_bytes(), t.as_bytes()))
        && target_path.starts_with(&key_path)
}

/// `*` and `?` wildcards within one host label (what `filepath.Match` does without classes).
/// Patterns come from users' Secrets, so matching is iterative and linear-time
/// (backtracking only to the last `*`) rather than exponential recursion.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dockerconfigjson(auths: Value) -> Value {
        let doc = json!({ "auths": auths }).to_string();
        json!({
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "data": { ".dockerconfigjson": STANDARD.encode(doc) },
        })
    }

    fn decode(header: &str) -> Value {
        serde_json::from_slice(&URL_SAFE.decode(header).unwrap()).unwrap()
    }

    fn basic(user: &str, pass: &str) -> Value {
        json!({ "auth": STANDARD.encode(format!("{user}:{pass}")) })
    }

    #[test]
    fn picks_the_credential_of_the_images_registry() {
        let s = dockerconfigjson(json!({
            "127.0.0.1:5101": basic("k2d", "secret:with:colons"),
            "quay.io": { "username": "q", "password": "qp" },
        }));
        let a = decode(
            &registry_auth("127.0.0.1:5101/k2d-test/busybox:1", std::slice::from_ref(&s)).unwrap(),
        );
        assert_eq!(a["username"], "k2d");
        assert_eq!(a["password"], "secret:with:colons");
        assert_eq!(a["serveraddress"], "127.0.0.1:5101");
        let a = decode(&registry_auth("quay.io/x/y", std::slice::from_ref(&s)).unwrap());
        assert_eq!((a["username"].as_str(), a["password"].as_str()), (Some("q"), Some("qp")));
        // Other port, other host, Docker Hub: no credential.
        assert_eq!(
            registry_auth("127.0.0.1:5100/k2d-test/busybox:1", std::slice::from_ref(&s)),
            None
        );
        assert_eq!(registry_auth("ghcr.io/x", std::slice::from_ref(&s)), None);
        assert_eq!(registry_auth("nginx", &[s]), None);
    }

    #[test]
    fn docker_hub_aliases() {
        for key in ["https://index.docker.io/v1/", "index.docker.io", "docker.io"] {
            let s = dockerconfigjson(json!({ key: basic("hub", "pw") }));
            for image in ["nginx", "library/nginx:1", "docker.io/me/app", "index.docker.io/me/app"]
            {
                let a = registry_auth(image, std::slice::from_ref(&s))
                    .unwrap_or_else(|| panic!("{key} {image}"));
                let a = decode(&a);
                assert_eq!(a["username"], "hub");
                assert_eq!(a["serveraddress"], "https://index.docker.io/v1/");
            }
            assert_eq!(registry_auth("quay.io/x", &[s]), None);
        }
    }

    #[test]
    fn most_specific_key_then_secret_order() {
        let first = dockerconfigjson(json!({ "reg.example.com": basic("host", "1") }));
        let second = dockerconfigjson(json!({
            "https://reg.example.com/team": basic("team", "2"),
            "*.example.com": basic("glob", "3"),
        }));
        let secrets = [first, second];
        let user = |img: &str| registry_auth(img, &secrets).map(|a| decode(&a)["username"].clone());
        assert_eq!(user("reg.example.com/team/app"), Some(json!("team")));
        assert_eq!(user("reg.example.com/other/app"), Some(json!("host")));
        assert_eq!(user("other.example.com/x"), Some(json!("glob")));
        assert_eq!(user("a.b.example.com/x"), None);
    }

    #[test]
    fn dockercfg_and_username_password_entries() {
        let doc = json!({ "localhost:5000": { "username": "u", "password": "p", "email": "e" } });
        let s = json!({
            "type": "kubernetes.io/dockercfg",
            "data": { ".dockercfg": STANDARD.encode(doc.to_string()) },
        });
        let a = decode(&registry_auth("localhost:5000/x", &[s]).unwrap());
        assert_eq!((a["username"].as_str(), a["password"].as_str()), (Some("u"), Some("p")));
    }

    #[test]
    fn ignores_other_types_and_garbage() {
        let opaque = json!({ "type": "Opaque", "data": { ".dockerconfigjson": STANDARD.encode(
            json!({"auths": {"localhost:5000": {"username": "u", "password": "p"}}}).to_string()) } });
        let garbage = json!({ "type": "kubernetes.io/dockerconfigjson",
            "data": { ".dockerconfigjson": "not base64!" } });
        let bad_auth = dockerconfigjson(json!({ "localhost:5000": { "auth": "bm9jb2xvbg==" } }));
        assert_eq!(registry_auth("localhost:5000/x", &[opaque, garbage, bad_auth]), None);
        assert_eq!(registry_auth("Invalid Image", &[]), None);
    }

    #[test]
    fn globs_stay_within_a_label() {
        assert!(glob(b"*", b"reg"));
        assert!(glob(b"r?g", b"reg"));
        assert!(glob(b"*eg", b"reg"));
        assert!(!glob(b"r?g", b"regg"));
        assert!(glob(b"*.io", b"x.io") && !glob(b"*.io", b"x.com"));
        assert!(glob(b"", b"") && !glob(b"", b"a") && glob(b"**", b""));
        // A hostile pattern stays fast (the recursive form took exponential time).
        let pattern = [b"*a".repeat(30), b"b".to_vec()].concat();
        assert!(!glob(&pattern, &b"a".repeat(60)));
        assert!(url_matches("*.example.com", "a.example.com/x"));
        assert!(!url_matches("*.example.com", "example.com/x"));
        assert!(!url_matches("example.com:5000", "example.com/x"));
    }
}
