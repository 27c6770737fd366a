//! The bearer token from `K2D_SECRET` (base64 of it, as in Portainer's k2d),
//! the kubeconfig served at /k2d/kubeconfig, and the token never logged.
//! Needs its own k2d because the secret is fixed at start.

mod common;

use common::{K2d, Req, Token};

#[test]
fn k2d_secret_token_is_base64_of_secret() {
    use std::os::unix::fs::PermissionsExt;
    let secret = "correct horse battery staple";
    let k = K2d::start_with(Some(secret));
    // base64("correct horse battery staple")
    let expected = "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==";
    assert_eq!(k.token(), expected);
    if let Ok(m) = std::fs::metadata(k.data.join("token")) {
        let mode = m.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "<data>/token has mode {mode:o}");
    }

    let r = k.curl(Req::get("/api/v1/namespaces").token(Token::Custom(expected)));
    assert_eq!(r.status, 200, "{}", r.body);
    // The secret itself is not the token.
    let r = k.curl(Req::get("/api/v1/namespaces").token(Token::Custom(secret)));
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["reason"], "Unauthorized");

    // /k2d/kubeconfig needs the token and returns a kubeconfig that works as is.
    let r = k.curl(Req::get("/k2d/kubeconfig").token(Token::None));
    assert_eq!(r.status, 401, "{}", r.body);
    let r = k.curl(Req::get("/k2d/kubeconfig"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("certificate-authority-data") && r.body.contains(expected),
        "{}",
        r.body
    );
    let served = k.root.join("served-kubeconfig");
    std::fs::write(&served, &r.body).unwrap();
    let mut cmd = std::process::Command::new(common::kubectl_path(common::DEFAULT));
    cmd.args(["get", "ns", "default", "-o", "name"])
        .env("KUBECONFIG", &served)
        .env("HOME", k.home());
    let out = common::run(cmd, None, common::CALL_TIMEOUT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "namespace/default");

    // The log says where the kubeconfig is, never the token.
    let log = std::fs::read_to_string(k.log_path()).unwrap();
    assert!(log.contains("kubeconfig"), "{log}");
    assert!(
        !log.contains(expected) && !log.contains(secret),
        "the token or secret was logged:\n{log}"
    );
}

#[test]
fn generated_token_is_private_and_not_logged() {
    use std::os::unix::fs::PermissionsExt;
    let k = K2d::start();
    let token = k.token();
    assert!(token.len() >= 32, "a generated token should be long: {} chars", token.len());
    let mode = std::fs::metadata(k.data.join("token")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "<data>/token has mode {mode:o}");
    let kmode = std::fs::metadata(k.kubeconfig()).unwrap().permissions().mode() & 0o777;
    assert_eq!(kmode & 0o077, 0, "the kubeconfig (which holds the token) has mode {kmode:o}");
    let log = std::fs::read_to_string(k.log_path()).unwrap();
    assert!(log.contains("k2d serving the Kubernetes API on https://"), "{log}");
    assert!(!log.contains(&token), "the token was logged:\n{log}");
    let out = k.ok(common::DEFAULT, &["get", "ns", "default", "-o", "name"]);
    assert_eq!(out.trim(), "namespace/default");
}
