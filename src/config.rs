//! Configuration from the environment, with Portainer k2d's variable names so
//! existing deployments keep working.

use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// `K2D_ADVERTISE_ADDR`: the address clients reach k2d at (also a certificate SAN).
    pub advertise_addr: Option<IpAddr>,
    /// `K2D_BIND_ADDR` (default `0.0.0.0`).
    pub bind_addr: IpAddr,
    /// `K2D_PORT` (default 6443).
    pub port: u16,
    /// `K2D_DATA_PATH` (default `/var/lib/k2d`).
    pub data_path: PathBuf,
    /// `K2D_SECRET`: the bearer token is its base64, as in Portainer's k2d.
    pub secret: Option<String>,
    /// `K2D_ALT_NAMES`: extra certificate SANs, comma separated.
    pub alt_names: Vec<String>,
    /// `K2D_LOG_LEVEL` (default `info`).
    pub log_level: String,
    /// `K2D_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: String,
    /// `DOCKER_HOST` (only `unix://` paths), default `/var/run/docker.sock`.
    pub docker_socket: PathBuf,
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Build from any key lookup, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let advertise_addr = match get("K2D_ADVERTISE_ADDR") {
            Some(a) => Some(a.parse().map_err(|_| {
                ConfigError(format!("K2D_ADVERTISE_ADDR: {a:?} is not an IP address"))
            })?),
            None => None,
        };
        let bind_addr = match get("K2D_BIND_ADDR") {
            Some(a) => a
                .parse()
                .map_err(|_| ConfigError(format!("K2D_BIND_ADDR: {a:?} is not an IP address")))?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let port = match get("K2D_PORT") {
            Some(p) => {
                p.parse().map_err(|_| ConfigError(format!("K2D_PORT: {p:?} is not a port")))?
            }
            None => 6443,
        };
        let docker_socket = match get("DOCKER_HOST") {
            Some(h) => match h.strip_prefix("unix://") {
                Some(p) => PathBuf::from(p),
                None => {
                    return Err(ConfigError(format!(
                        "DOCKER_HOST: {h:?}: only unix:// sockets are supported"
                    )));
                }
            },
            None => PathBuf::from("/var/run/docker.sock"),
        };
        Ok(Config {
            advertise_addr,
            bind_addr,
            port,
            data_path: PathBuf::from(get("K2D_DATA_PATH").unwrap_or_else(|| "/var/lib/k2d".into())),
            secret: get("K2D_SECRET"),
            alt_names: get("K2D_ALT_NAMES")
                .map(|s| {
                    s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
                })
                .unwrap_or_default(),
            log_level: get("K2D_LOG_LEVEL").unwrap_or_else(|| "info".into()),
            log_format: get("K2D_LOG_FORMAT").unwrap_or_else(|| "text".into()),
            docker_socket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_portainer_k2d() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.port, 6443);
        assert_eq!(c.data_path, PathBuf::from("/var/lib/k2d"));
    }

    #[test]
    fn bad_port_is_an_error() {
        assert!(Config::from_lookup(|k| (k == "K2D_PORT").then(|| "x".into())).is_err());
    }
}
