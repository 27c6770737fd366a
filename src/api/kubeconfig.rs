//! The kubeconfig handed to users (`GET /k2d/kubeconfig`, `<data_path>/kubeconfig`).

use std::io;
use std::net::IpAddr;
use std::path::Path;

use base64::Engine;

/// A kubeconfig kubectl uses as is: one cluster trusting our CA, one token user,
/// context `k2d` selected.
pub fn render(server_url: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    // JSON strings are valid YAML double-quoted scalars: exact quoting for any
    // URL or token without a YAML emitter.
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: k2d\n  \
           cluster:\n    \
             server: {server}\n    \
             certificate-authority-data: {ca}\n\
         users:\n\
         - name: k2d\n  \
           user:\n    \
             token: {token}\n\
         contexts:\n\
         - name: k2d\n  \
           context:\n    \
             cluster: k2d\n    \
             user: k2d\n\
         current-context: k2d\n\
         preferences: {{}}\n",
        server = q(server_url),
        token = q(token),
    )
}

/// `https://host:port`, with IPv6 literals bracketed.
pub fn server_url(host: IpAddr, port: u16) -> String {
    match host {
        IpAddr::V4(a) => format!("https://{a}:{port}"),
        IpAddr::V6(a) => format!("https://[{a}]:{port}"),
    }
}

/// Write `contents` to `path` atomically with mode 0600 (it holds the token).
pub fn write(path: &Path, contents: &str) -> io::Result<()> {
    crate::api::tls::write_atomic_io(path, contents.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Value;

    #[test]
    fn renders_a_parseable_kubeconfig() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let y = render("https://10.0.0.1:6443", pem, "tok: #en");
        let v: Value = serde_yaml_ng::from_str(&y).unwrap();
        assert_eq!(v["current-context"], Value::from("k2d"));
        assert_eq!(v["kind"], Value::from("Config"));
        let cluster = &v["clusters"][0]["cluster"];
        assert_eq!(cluster["server"], Value::from("https://10.0.0.1:6443"));
        let ca = cluster["certificate-authority-data"].as_str().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(ca).unwrap();
        assert_eq!(decoded, pem.as_bytes());
        assert_eq!(v["users"][0]["user"]["token"], Value::from("tok: #en"));
        assert_eq!(v["contexts"][0]["context"]["cluster"], Value::from("k2d"));
        assert_eq!(v["contexts"][0]["context"]["user"], Value::from("k2d"));
        assert_eq!(v["contexts"][0]["name"], Value::from("k2d"));
    }

    #[test]
    fn server_url_brackets_ipv6() {
        assert_eq!(server_url("::1".parse().unwrap(), 6443), "https://[::1]:6443");
        assert_eq!(server_url("1.2.3.4".parse().unwrap(), 6443), "https://1.2.3.4:6443");
    }
}
