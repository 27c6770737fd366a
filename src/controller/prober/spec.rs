//! A container's probe as the prober runs it: the action with its port resolved, and the
//! timing and thresholds with the API server's defaults (stored pods carry them already;
//! the defaults here only guard against objects written before defaulting existed).

use serde_json::Value;
use std::time::Duration;

/// Which probe: they differ in what their result gates and what a failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Startup, Kind::Liveness, Kind::Readiness];

    /// The container field holding this probe.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Liveness => "livenessProbe",
            Kind::Readiness => "readinessProbe",
            Kind::Startup => "startupProbe",
        }
    }

    /// How the kubelet names it in messages ("Liveness probe failed: ...").
    pub fn title(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }

    pub fn lower(self) -> &'static str {
        match self {
            Kind::Liveness => "liveness",
            Kind::Readiness => "readiness",
            Kind::Startup => "startup",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// What one probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Exec(Vec<String>),
    Http {
        scheme: Scheme,
        /// `host` of the probe; `None` means the pod's IP.
        host: Option<String>,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    Tcp {
        host: Option<String>,
        port: u16,
    },
    /// gRPC health checking is not implemented; the probe is reported and treated as passing.
    Grpc,
    /// The probe cannot run as written (a named port the container does not declare, no
    /// handler): every run fails with this message, as the kubelet's probe errors do.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub action: Action,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// Probe-level `terminationGracePeriodSeconds` (liveness and startup kills).
    pub grace: Option<i64>,
}

fn secs(v: &Value, default: u64, min: u64) -> Duration {
    Duration::from_secs(v.as_u64().unwrap_or(default).max(min))
}

fn count(v: &Value, default: u32) -> u32 {
    v.as_u64().map_or(default, |n| n.clamp(1, u64::from(u32::MAX)) as u32)
}

/// The probe `kind` of `container` (a container spec), if it declares one.
pub fn parse(container: &Value, kind: Kind) -> Option<ProbeSpec> {
    let p = container.get(kind.field()).filter(|p| p.is_object())?;
    Some(ProbeSpec {
        action: action(p, container),
        initial_delay: secs(&p["initialDelaySeconds"], 0, 0),
        period: secs(&p["periodSeconds"], 10, 1),
        timeout: secs(&p["timeoutSeconds"], 1, 1),
        success_threshold: count(&p["successThreshold"], 1),
        failure_threshold: count(&p["failureThreshold"], 3),
        grace: p["terminationGracePeriodSeconds"].as_i64(),
    })
}

fn action(p: &Value, container: &Value) -> Action {
    if let Some(cmd) = p.pointer("/exec/command").and_then(Value::as_array) {
        let cmd: Vec<String> =
            cmd.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect();
        if cmd.is_empty() {
            return Action::Invalid("exec probe has no command".into());
        }
        return Action::Exec(cmd);
    }
    let host = |h: &Value| h.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(h) = p.get("httpGet").filter(|h| h.is_object()) {
        let port = match resolve_port(&h["port"], container) {
            Ok(port) => port,
            Err(e) => return Action::Invalid(e),
        };
        let scheme = if h["scheme"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("HTTPS")) {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let path = h["path"].as_str().unwrap_or_default();
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        let headers = h["httpHeaders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| {
                let name = x["name"].as_str()?;
                Some((name.to_string(), x["value"].as_str().unwrap_or_default().to_string()))
            })
            .collect();
        return Action::Http { scheme, host: host(&h["host"]), port, path, headers };
    }
    if let Some(t) = p.get("tcpSocket").filter(|t| t.is_object()) {
        return match resolve_port(&t["port"], container) {
            Ok(port) => Action::Tcp { host: host(&t["host"]), port },
            Err(e) => Action::Invalid(e),
        };
    }
    if p.get("grpc").is_some_and(Value::is_object) {
        return Action::Grpc;
    }
    Action::Invalid("probe has no handler".into())
}

/// A probe port: a number, a numeric string, or the name of one of the container's ports
/// (as the kubelet's `findPortByName`, which also accepts numbers written as strings).
pub fn resolve_port(port: &Value, container: &Value) -> Result<u16, String> {
    let n = match port {
        Value::Number(n) => n.as_i64().unwrap_or(-1),
        Value::String(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"].as_str() == Some(s))
                .and_then(|p| p["containerPort"].as_i64())
                .ok_or_else(|| {
                    format!("couldn't find port: {s} in container {}", container_name(container))
                })?,
        },
        _ => return Err("probe has no port".into()),
    };
    u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| format!("invalid port number: {n}"))
}

fn container_name(c: &Value) -> &str {
    c["name"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container() -> Value {
        json!({"name": "web", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9000}]})
    }

    #[test]
    fn ports_resolve_by_number_and_name() {
        let c = container();
        assert_eq!(resolve_port(&json!(80), &c), Ok(80));
        assert_eq!(resolve_port(&json!("8081"), &c), Ok(8081));
        assert_eq!(resolve_port(&json!("http"), &c), Ok(8080));
        assert!(resolve_port(&json!("metrics"), &c).unwrap_err().contains("couldn't find port"));
        assert!(resolve_port(&json!(0), &c).is_err());
        assert!(resolve_port(&json!(70000), &c).is_err());
        assert!(resolve_port(&Value::Null, &c).is_err());
    }

    #[test]
    fn probes_parse_with_defaults() {
        let mut c = container();
        c["readinessProbe"] = json!({"httpGet": {"port": "http", "path": "healthz",
            "httpHeaders": [{"name": "X-A", "value": "b"}]}, "periodSeconds": 1});
        c["livenessProbe"] = json!({"tcpSocket": {"port": 9000}, "failureThreshold": 2,
            "terminationGracePeriodSeconds": 5, "timeoutSeconds": 3});
        c["startupProbe"] =
            json!({"exec": {"command": ["test", "-f", "/x"]}, "initialDelaySeconds": 4});
        let r = parse(&c, Kind::Readiness).unwrap();
        assert_eq!(
            r.action,
            Action::Http {
                scheme: Scheme::Http,
                host: None,
                port: 8080,
                path: "/healthz".into(),
                headers: vec![("X-A".into(), "b".into())],
            }
        );
        assert_eq!(r.period, Duration::from_secs(1));
        assert_eq!((r.success_threshold, r.failure_threshold), (1, 3));
        assert_eq!(r.timeout, Duration::from_secs(1));
        let l = parse(&c, Kind::Liveness).unwrap();
        assert_eq!(l.action, Action::Tcp { host: None, port: 9000 });
        assert_eq!((l.failure_threshold, l.grace), (2, Some(5)));
        assert_eq!(l.timeout, Duration::from_secs(3));
        let s = parse(&c, Kind::Startup).unwrap();
        assert_eq!(s.action, Action::Exec(vec!["test".into(), "-f".into(), "/x".into()]));
        assert_eq!(s.initial_delay, Duration::from_secs(4));
        assert_eq!(s.period, Duration::from_secs(10));
        assert!(parse(&container(), Kind::Readiness).is_none());
    }

    #[test]
    fn unusable_probes_are_invalid_or_grpc() {
        let mut c = container();
        c["readinessProbe"] = json!({"tcpSocket": {"port": "nope"}});
        c["livenessProbe"] = json!({"grpc": {"port": 9000}});
        c["startupProbe"] = json!({"periodSeconds": 1});
        assert!(matches!(parse(&c, Kind::Readiness).unwrap().action, Action::Invalid(_)));
        assert_eq!(parse(&c, Kind::Liveness).unwrap().action, Action::Grpc);
        assert!(matches!(parse(&c, Kind::Startup).unwrap().action, Action::Invalid(_)));
    }
}
