//! Issue 2 acceptance, bad input: each case gets the right status code,
//! `reason` and a clear message, and leaves the store unchanged.
//! Raw requests go through curl (with the instance's CA and token) so the
//! exact status and body are visible; kubectl is used where it is natural.

mod common;

use common::{DEFAULT, K2d, Req, Resp, Token, seed_cm, shared};
use serde_json::{Value, json};

/// What the store holds in a namespace: every ConfigMap and Secret with its
/// resourceVersion and contents.
fn snapshot(k: &K2d, ns: &str) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for res in ["configmaps", "secrets"] {
        let (code, list) = k.get_json(&format!("/api/v1/namespaces/{ns}/{res}"));
        assert_eq!(code, 200, "{list}");
        for item in list["items"].as_array().cloned().unwrap_or_default() {
            let name = item["metadata"]["name"].as_str().unwrap_or_default().to_string();
            let rv = item["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
            all.push((format!("{res}/{name}"), rv, item["data"].clone()));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// A namespace with one ConfigMap in it, and the store's state afterwards.
fn setup<'a>(k: &'a K2d, ns: &str) -> (common::Ns<'a>, Vec<(String, String, Value)>) {
    let n = k.namespace(ns);
    seed_cm(k, ns, "existing", &[("a", "1")], &[]);
    let snap = snapshot(k, ns);
    (n, snap)
}

fn assert_unchanged(k: &K2d, ns: &str, before: &[(String, String, Value)]) {
    let after = snapshot(k, ns);
    assert_eq!(after, before, "the store changed after a rejected request");
}

/// Check a Status error body: code, reason, and message fragments.
fn assert_status(r: &Resp, code: u16, reason: &str, message_has: &[&str]) -> Value {
    assert_eq!(r.status, code, "HTTP status; body: {}", r.body);
    let v = r.json();
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["apiVersion"], "v1", "{v}");
    assert_eq!(v["status"], "Failure", "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["reason"], reason, "{v}");
    let msg = v["message"].as_str().unwrap_or_default();
    for frag in message_has {
        assert!(msg.contains(frag), "message {msg:?} should contain {frag:?}");
    }
    v
}

fn cms(ns: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps")
}

#[test]
fn invalid_json_is_400() {
    let k = shared();
    let (ns, before) = setup(k, "bad-json");
    let r = k.curl(Req::post_json(
        &cms(&ns.name),
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x""#,
    ));
    let v =
        assert_status(&r, 400, "BadRequest", &["must be of type ConfigMap", "json parse error"]);
    assert!(v.get("details").is_none(), "a 400 has no details: {v}");
    // Not an object at all.
    let r = k.curl(Req::post_json(&cms(&ns.name), "[1,2,3]"));
    assert_status(&r, 400, "BadRequest", &[]);
    assert_unchanged(k, &ns.name, &before);
}

#[test]
fn invalid_yaml_is_400() {
    let k = shared();
    let (ns, before) = setup(k, "bad-yaml");
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n  labels: {a: b\n";
    let r = k.curl(Req::with_body("POST", &cms(&ns.name), "application/yaml", body.as_bytes()));
    assert_status(&r, 400, "BadRequest", &["ConfigMap"]);
    // Valid YAML is accepted on the same route.
    let good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n";
    let r = k.curl(Req::with_body("POST", &cms(&ns.name), "application/yaml", good.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k.curl(Req { method: "DELETE", ..Req::get(&format!("{}/from-yaml", cms(&ns.name))) });
    assert_eq!(r.status, 200, "{}", r.body);
    assert_unchanged(k, &ns.name, &before);

    // kubectl rejects invalid YAML before sending anything.
    let err = k.fails_stdin(DEFAULT, &["-n", &ns.name, "create", "-f", "-"], body);
    assert!(err.to_lowercase().contains("yaml"), "{err}");
    assert_unchanged(k, &ns.name, &before);
}

#[test]
fn wrong_kind_for_url_is_400() {
    let k = shared();
    let (ns, before) = setup(k, "bad-kind");
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong-kind"}, "data": {}}).to_string();
    let r = k.curl(Req::post_json(&cms(&ns.name), &body));
    assert_status(&r, 400, "BadRequest", &["Secret", "cannot be handled as a ConfigMap"]);
    // The same through PUT onto an existing ConfigMap.
    let body =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "existing"}}).to_string();
    let r = k.curl(Req::with_body(
        "PUT",
        &format!("{}/existing", cms(&ns.name)),
        "application/json",
        body.as_bytes(),
    ));
    assert_status(&r, 400, "BadRequest", &["cannot be handled as a ConfigMap"]);
    assert_unchanged(k, &ns.name, &before);
}

#[test]
fn namespace_mismatch_is_400() {
    let k = shared();
    let (ns, before) = setup(k, "bad-ns");
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere", "namespace": "default"}}).to_string();
    let r = k.curl(Req::post_json(&cms(&ns.name), &body));
    assert_status(
        &r,
        400,
        "BadRequest",
        &["the namespace of the provided object does not match the namespace sent on the request"],
    );
    assert_unchanged(k, &ns.name, &before);
    let r = k.curl(Req::get("/api/v1/namespaces/default/configmaps/elsewhere"));
    assert_eq!(r.status, 404, "created in the other namespace: {}", r.body);
}

#[test]
fn invalid_names_are_422() {
    let k = shared();
    let (ns, before) = setup(k, "bad-names");
    let long = "a".repeat(300);
    for name in ["Bad_Name", "../x", long.as_str()] {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}).to_string();
        let r = k.curl(Req::post_json(&cms(&ns.name), &body));
        let v = assert_status(&r, 422, "Invalid", &["ConfigMap", "is invalid", "metadata.name"]);
        assert_eq!(v["details"]["kind"], "ConfigMap", "{v}");
        assert_eq!(v["details"]["name"], name, "{v}");
        let causes = v["details"]["causes"].as_array().cloned().unwrap_or_default();
        assert!(
            causes
                .iter()
                .any(|c| c["field"] == "metadata.name" && c["reason"] == "FieldValueInvalid"),
            "{v}"
        );
        let msg = v["message"].as_str().unwrap_or_default();
        if name == "Bad_Name" {
            assert!(msg.contains("a lowercase RFC 1123 subdomain"), "{msg}");
        }
        if name == long {
            assert!(msg.contains("must be no more than 253 characters"), "{msg}");
        }
        // The same through a Secret (whose files are named after it) and a Namespace.
        let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"k": "v"}}).to_string();
        let r = k.curl(Req::post_json(&format!("/api/v1/namespaces/{}/secrets", ns.name), &body));
        assert_status(&r, 422, "Invalid", &["metadata.name"]);
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            .to_string();
        let r = k.curl(Req::post_json("/api/v1/namespaces", &body));
        assert_status(&r, 422, "Invalid", &["metadata.name"]);
    }
    // kubectl shows the server's message.
    let err = k.fails_stdin(
        DEFAULT,
        &["-n", &ns.name, "create", "--validate=false", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#,
    );
    assert!(err.contains("is invalid") && err.contains("Bad_Name"), "{err}");
    assert_unchanged(k, &ns.name, &before);
    // Nothing escaped the data directory or landed beside it.
    assert!(!k.data.join("files/configmaps/x").exists());
    assert!(!k.data.join("files/secrets/x").exists());
    assert!(!k.data.join("x").exists() && !k.root.join("x").exists());
}

#[test]
fn unknown_field_with_strict_validation_is_400() {
    let k = shared();
    let (ns, before) = setup(k, "bad-field");
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "strict-demo", "bogusMeta": 1}, "data": {"k": "v"}, "spec": {"replicas": 1}})
    .to_string();
    let r = k.curl(Req::post_json(&format!("{}?fieldValidation=Strict", cms(&ns.name)), &body));
    assert_status(
        &r,
        400,
        "BadRequest",
        &[
            "strict decoding error",
            "unknown field \"metadata.bogusMeta\"",
            "unknown field \"spec\"",
        ],
    );
    assert_unchanged(k, &ns.name, &before);
    // Without Strict the object is accepted (dry run here, so still nothing stored).
    let r = k
        .curl(Req::post_json(&format!("{}?fieldValidation=Warn&dryRun=All", cms(&ns.name)), &body));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json().get("spec").is_none(), "unknown fields are dropped: {}", r.body);
    assert_unchanged(k, &ns.name, &before);
}

#[test]
fn unsupported_patch_type_is_415() {
    let k = shared();
    let (ns, before) = setup(k, "bad-patch");
    let path = format!("{}/existing", cms(&ns.name));
    for ct in ["text/plain", "application/json"] {
        let r = k.curl(Req::with_body("PATCH", &path, ct, br#"{"data":{"a":"2"}}"#));
        let v = assert_status(&r, 415, "UnsupportedMediaType", &["415: Unsupported Media Type"]);
        assert_eq!(v["details"], json!({}), "{v}");
    }
    assert_unchanged(k, &ns.name, &before);
}

#[test]
fn stale_resource_version_is_409() {
    let k = shared();
    let (ns, _) = setup(k, "bad-stale");
    let path = format!("{}/existing", cms(&ns.name));
    let (_, obj) = k.get_json(&path);
    let rv1 = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    let v2 = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "existing", "resourceVersion": rv1}, "data": {"a": "2"}});
    let r = k.curl(Req::with_body("PUT", &path, "application/json", v2.to_string().as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
    let before = snapshot(k, &ns.name);

    let stale = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "existing", "resourceVersion": rv1}, "data": {"a": "stale"}});
    let r = k.curl(Req::with_body("PUT", &path, "application/json", stale.to_string().as_bytes()));
    let v = assert_status(
        &r,
        409,
        "Conflict",
        &[
            "Operation cannot be fulfilled on configmaps \"existing\"",
            "the object has been modified",
        ],
    );
    assert_eq!(v["details"], json!({"name": "existing", "kind": "configmaps"}), "{v}");
    // A patch carrying the stale version is refused the same way.
    let patch = json!({"metadata": {"resourceVersion": rv1}, "data": {"a": "stale"}}).to_string();
    let r =
        k.curl(Req::with_body("PATCH", &path, "application/merge-patch+json", patch.as_bytes()));
    assert_status(&r, 409, "Conflict", &["the object has been modified"]);
    assert_unchanged(k, &ns.name, &before);
    let (_, now) = k.get_json(&path);
    assert_eq!(now["data"]["a"], "2");
}

#[test]
fn body_over_size_limit_is_413() {
    let k = shared();
    let (ns, before) = setup(k, "bad-size");
    let big = "x".repeat(4 * 1024 * 1024);
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"}, "data": {"big": big}}).to_string();
    let r = k.curl(Req::post_json(&cms(&ns.name), &body));
    let v = assert_status(&r, 413, "RequestEntityTooLarge", &[]);
    let msg = v["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(msg.contains("too large"), "{v}");
    // PUT and PATCH have the same limit.
    let path = format!("{}/existing", cms(&ns.name));
    let r = k.curl(Req::with_body("PATCH", &path, "application/merge-patch+json", body.as_bytes()));
    assert_status(&r, 413, "RequestEntityTooLarge", &[]);
    assert_unchanged(k, &ns.name, &before);
    // The server is still fine afterwards.
    let (code, _) = k.get_json(&path);
    assert_eq!(code, 200);
}

#[test]
fn missing_or_wrong_token_is_401() {
    let k = shared();
    let (ns, before) = setup(k, "bad-token");
    let list = cms(&ns.name);
    for token in [Token::None, Token::Custom("not-the-token"), Token::Custom("")] {
        let r = k.curl(Req { token, ..Req::get(&list) });
        assert_status(&r, 401, "Unauthorized", &["Unauthorized"]);
    }
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sneaky"}})
        .to_string();
    let r = k.curl(Req::post_json(&list, &body).token(Token::Custom("wrong")));
    assert_status(&r, 401, "Unauthorized", &[]);
    let r = k
        .curl(Req { method: "DELETE", ..Req::get(&format!("{list}/existing")) }.token(Token::None));
    assert_status(&r, 401, "Unauthorized", &[]);
    for path in ["/api", "/apis", "/api/v1/namespaces", "/openapi/v2", "/k2d/kubeconfig"] {
        let r = k.curl(Req::get(path).token(Token::None));
        assert_eq!(r.status, 401, "{path} without a token: {}", r.body);
    }
    // Health and version answer without a token.
    for path in ["/healthz", "/livez", "/readyz", "/version"] {
        let r = k.curl(Req::get(path).token(Token::None));
        assert_eq!(r.status, 200, "{path} without a token: {}", r.body);
    }
    assert_unchanged(k, &ns.name, &before);

    // kubectl with a wrong token.
    let cfg = std::fs::read_to_string(k.kubeconfig()).unwrap();
    let token = k.token();
    assert!(cfg.contains(&token), "the kubeconfig carries the token");
    let bad_home = k.root.join("bad-token-home");
    std::fs::create_dir_all(&bad_home).unwrap();
    let bad_cfg = bad_home.join("kubeconfig");
    std::fs::write(&bad_cfg, cfg.replace(&token, "wrong-token")).unwrap();
    let out = common::run(
        {
            let mut c = std::process::Command::new(common::kubectl_path(DEFAULT));
            c.args(["get", "cm", "-n", &ns.name])
                .env("KUBECONFIG", &bad_cfg)
                .env("HOME", &bad_home);
            c
        },
        None,
        common::CALL_TIMEOUT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    // kubectl's discovery client words a 401 its own way (as with a real server).
    assert!(err.contains("You must be logged in to the server"), "{err}");
}

#[test]
fn unknown_resource_is_404() {
    let k = shared();
    let (ns, before) = setup(k, "bad-resource");
    let r = k.curl(Req::get(&format!("/api/v1/namespaces/{}/foos", ns.name)));
    let v =
        assert_status(&r, 404, "NotFound", &["the server could not find the requested resource"]);
    assert_eq!(v["details"], json!({}), "{v}");
    let r = k
        .curl(Req::post_json(&format!("/api/v1/namespaces/{}/foos", ns.name), r#"{"kind":"Foo"}"#));
    assert_status(&r, 404, "NotFound", &[]);
    let r = k.curl(Req::get("/apis/nope.example.com/v1/foos"));
    assert_eq!(r.status, 404, "{}", r.body);
    let err = k.fails(DEFAULT, &["-n", &ns.name, "get", "foos"]);
    assert!(err.contains("the server doesn't have a resource type \"foos\""), "{err}");
    // A missing object of a known resource is 404 with details.
    let r = k.curl(Req::get(&format!("{}/missing", cms(&ns.name))));
    let v = assert_status(&r, 404, "NotFound", &["configmaps \"missing\" not found"]);
    assert_eq!(v["details"], json!({"name": "missing", "kind": "configmaps"}), "{v}");
    assert_unchanged(k, &ns.name, &before);
}
