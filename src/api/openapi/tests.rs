use super::*;
use crate::kinds::registry;
use std::sync::LazyLock;

static API: LazyLock<OpenApi> = LazyLock::new(|| OpenApi::build(registry()));

fn get(path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let req = Request {
        method: "GET".into(),
        path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: Vec::new(),
    };
    API.handle(&req).expect("an /openapi/ path")
}

fn index() -> Value {
    serde_json::from_slice(API.index()).unwrap()
}

fn doc(key: &str) -> Value {
    serde_json::from_slice(API.document(key).unwrap()).unwrap()
}

#[test]
fn index_lists_every_registered_group_version() {
    let idx = index();
    let paths = idx["paths"].as_object().unwrap();
    for rt in registry() {
        let key = if rt.group.is_empty() {
            format!("api/{}", rt.version)
        } else {
            format!("apis/{}/{}", rt.group, rt.version)
        };
        assert!(paths.contains_key(&key), "{key} missing from {:?}", paths.keys());
    }
    for k in ["api", "apis", "version", "apis/events.k8s.io"] {
        assert!(paths.contains_key(k), "{k}");
    }
    assert!(
        get("/openapi/v3", &[], &[]).get_header("content-type")
            == Some("text/plain; charset=utf-8")
    );
}

#[test]
fn hashes_match_the_served_bytes() {
    let idx = index();
    for (key, entry) in idx["paths"].as_object().unwrap() {
        let url = entry["serverRelativeURL"].as_str().unwrap();
        let (path, hash) = url.split_once("?hash=").unwrap();
        assert_eq!(path, format!("/openapi/v3/{key}"));
        let bytes = API.document(key).unwrap();
        assert_eq!(hash, sha512_hex(bytes));
        assert_eq!(hash.len(), 128);
        assert!(hash.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        let r = get(path, &[("hash", hash), ("timeout", "32s")], &[("accept", "application/json")]);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, bytes);
        assert_eq!(r.get_header("cache-control"), Some("public, immutable"));
        assert!(r.get_header("expires").unwrap().ends_with(" UTC"));
        assert_eq!(r.get_header("etag"), Some(format!("\"{hash}\"").as_str()));
    }
}

#[test]
fn known_sha512() {
    // SHA-512("abc"), FIPS 180-2 appendix C.
    assert!(
        sha512_hex(b"abc")
            .starts_with("DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A")
    );
}

#[test]
fn without_hash_is_not_cached_and_wrong_hash_redirects() {
    let r = get("/openapi/v3/api/v1", &[], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("cache-control"), Some("no-cache, private"));
    assert!(r.get_header("expires").is_none());

    let r = get("/openapi/v3/api/v1", &[("hash", "0000")], &[]);
    assert_eq!(r.status, 301);
    let hash = sha512_hex(API.document("api/v1").unwrap());
    assert_eq!(r.get_header("location"), Some(format!("/openapi/v3/api/v1?hash={hash}").as_str()));
    assert!(r.body.is_empty());
}

#[test]
fn unknown_documents_are_plain_404() {
    for p in ["/openapi/v3/apis/nope.example.com/v1", "/openapi/v3/api/v2", "/openapi/v4"] {
        let r = get(p, &[], &[]);
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(r.body, b"404 page not found\n");
    }
    let req = Request { path: "/api/v1".into(), ..Default::default() };
    assert!(API.handle(&req).is_none());
}

#[test]
fn configmap_schema() {
    let d = doc("api/v1");
    let cm = &d["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(cm["properties"]["data"]["type"], "object");
    assert_eq!(cm["properties"]["data"]["additionalProperties"]["type"], "string");
    assert_eq!(
        cm["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "ConfigMap", "version": "v1"}])
    );
    assert!(cm.get("required").is_none(), "metadata must not be required");
    // The description of a $ref field survives through allOf (OpenAPI 3.0).
    let meta = &cm["properties"]["metadata"];
    assert_eq!(
        meta["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(meta["description"].as_str().unwrap().starts_with("Standard object's metadata"));
    let list = &d["components"]["schemas"]["io.k8s.api.core.v1.ConfigMapList"];
    assert_eq!(list["x-kubernetes-group-version-kind"][0]["kind"], "ConfigMapList");
    let om = &d["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"];
    assert_eq!(om["properties"]["ownerReferences"]["x-kubernetes-patch-merge-key"], "uid");
    assert_eq!(om["properties"]["finalizers"]["x-kubernetes-list-type"], "set");
    // Every $ref resolves inside the document.
    let mut refs = Vec::new();
    defs::collect_refs(&d, &mut refs);
    for r in refs {
        assert!(d["components"]["schemas"].get(r).is_some(), "dangling {r}");
    }
}

/// What kubectl's QueryParamVerifierV3 does: a PATCH operation whose GVK
/// extension matches, with `fieldValidation` among its own or its path's
/// parameters.
fn supports_field_validation(d: &Value, group: &str, version: &str, kind: &str) -> bool {
    let gvk = json!({"group": group, "version": version, "kind": kind});
    d["paths"].as_object().unwrap().values().any(|item| {
        let Some(op) = item.get("patch") else { return false };
        if op["x-kubernetes-group-version-kind"] != gvk {
            return false;
        }
        let params =
            op["parameters"].as_array().into_iter().chain(item["parameters"].as_array()).flatten();
        params.into_iter().any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    })
}

#[test]
fn write_operations_carry_field_validation() {
    let d = doc("api/v1");
    let post = &d["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
    assert_eq!(post["x-kubernetes-action"], "post");
    let names: Vec<&str> = post["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dryRun", "fieldManager", "fieldValidation"]);
    let patch = &d["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    let names: Vec<&str> = patch["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dryRun", "fieldManager", "fieldValidation", "force"]);
    assert!(
        patch["requestBody"]["content"].get("application/strategic-merge-patch+json").is_some()
    );
    // Every kind that can be written advertises fieldValidation (read-only kinds have no writes).
    for rt in registry().iter().filter(|rt| rt.verbs.contains(&"create")) {
        let key = paths::gv_prefix(rt.group, rt.version);
        let d = doc(key.trim_start_matches('/'));
        assert!(supports_field_validation(&d, rt.group, rt.version, rt.kind), "{}", rt.kind);
    }
}

#[test]
fn operations_follow_the_registry() {
    let d = doc("api/v1");
    let p = &d["paths"];
    // Namespaces have no deletecollection; their subresources are served.
    assert!(p["/api/v1/namespaces"].get("delete").is_none());
    assert_eq!(
        p["/api/v1/namespaces/{name}/finalize"]["put"]["operationId"],
        "replaceCoreV1NamespaceFinalize"
    );
    assert_eq!(
        p["/api/v1/namespaces/{name}/status"]["patch"]["operationId"],
        "patchCoreV1NamespaceStatus"
    );
    let token = &p["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"];
    assert_eq!(token["post"]["x-kubernetes-group-version-kind"]["kind"], "TokenRequest");
    assert!(d["components"]["schemas"].get("io.k8s.api.authentication.v1.TokenRequest").is_some());
    let list = &p["/api/v1/namespaces/{namespace}/configmaps"]["get"];
    assert_eq!(list["operationId"], "listCoreV1NamespacedConfigMap");
    assert!(list["responses"]["200"]["content"].get("application/json;stream=watch").is_some());
    assert_eq!(
        p["/api/v1/configmaps"]["get"]["operationId"],
        "listCoreV1ConfigMapForAllNamespaces"
    );
    assert_eq!(
        p["/api/v1/watch/namespaces/{namespace}/configmaps/{name}"]["get"]["x-kubernetes-action"],
        "watch"
    );
    // Path-level parameters are the ones every operation shares.
    let shared: Vec<&str> = p["/api/v1/namespaces/{namespace}/configmaps/{name}"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(shared, ["name", "namespace", "pretty"]);
    let ev = doc("apis/events.k8s.io/v1");
    assert_eq!(
        ev["paths"]["/apis/events.k8s.io/v1/namespaces/{namespace}/events"]["get"]["operationId"],
        "listEventsV1NamespacedEvent"
    );
    assert_eq!(ev["paths"]["/apis/events.k8s.io/v1/"]["get"]["tags"][0], "events_v1");
    // core Events are not in the events.k8s.io document.
    assert!(ev["components"]["schemas"].get("io.k8s.api.core.v1.Event").is_none());
    assert!(ev["components"]["schemas"].get("io.k8s.api.events.v1.Event").is_some());
}

#[test]
fn subresources_of_future_kinds() {
    use crate::api::schema::tests_support::PODS;
    let api = OpenApi::build(&[&PODS]);
    let d: Value = serde_json::from_slice(api.document("api/v1").unwrap()).unwrap();
    let p = &d["paths"];
    let exec = &p["/api/v1/namespaces/{namespace}/pods/{name}/exec"];
    assert_eq!(exec["get"]["x-kubernetes-group-version-kind"]["kind"], "PodExecOptions");
    assert_eq!(exec["post"]["operationId"], "connectCoreV1PostNamespacedPodExec");
    assert_eq!(
        p["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["operationId"],
        "readCoreV1NamespacedPodLog"
    );
    let ev = &p["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
    assert_eq!(
        ev["x-kubernetes-group-version-kind"],
        json!({"group": "policy", "version": "v1", "kind": "Eviction"})
    );
    // Pods return the object on delete.
    let del = &p["/api/v1/namespaces/{namespace}/pods/{name}"]["delete"]["responses"]["200"];
    assert_eq!(
        del["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.Pod"
    );
    let q = &d["components"]["schemas"]["io.k8s.apimachinery.pkg.api.resource.Quantity"];
    assert_eq!(q["oneOf"], json!([{"type": "string"}, {"type": "number"}]));
    assert!(q.get("x-kubernetes-int-or-string").is_none() && q.get("type").is_none());
    let containers =
        &d["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
}

#[test]
fn v2_is_swagger_with_definitions() {
    let r = get("/openapi/v2", &[], &[("accept", "application/json")]);
    assert_eq!(r.status, 200);
    let etag = r.get_header("etag").unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", sha512_hex(&r.body)));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["swagger"], "2.0");
    let cm = &v["definitions"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(
        cm["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let patch = &v["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
    assert!(v["paths"].get("/apis/events.k8s.io/v1/namespaces/{namespace}/events").is_some());
    let text = String::from_utf8(r.body).unwrap();
    assert!(!text.contains("#/components/"));

    // client-go asks for protobuf only.
    let r = get("/openapi/v2", &[], &[("accept", PROTO_V2[0])]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.get_header("content-type"),
        Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    );
    assert_eq!(r.body, API.v2_protobuf());
    assert_eq!(r.body[0], 0x0A); // field 1 (swagger), length-delimited
    let r = get("/openapi/v2", &[], &[("accept", "application/xml")]);
    assert_eq!(r.status, 406);
    // Conditional GET.
    let r = get("/openapi/v2", &[], &[("if-none-match", &etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
}

#[test]
fn dates_are_imf_fixdate() {
    assert_eq!(http_date(UNIX_EPOCH, "GMT"), "Thu, 01 Jan 1970 00:00:00 GMT");
    let t = UNIX_EPOCH + Duration::from_secs(1_795_677_286); // 2026-11-26 07:14:46
    assert_eq!(http_date(t, "GMT"), "Thu, 26 Nov 2026 07:14:46 GMT");
    assert_eq!(http_date(t + ONE_YEAR, "UTC"), "Fri, 26 Nov 2027 07:14:46 UTC");
}

#[test]
#[ignore = "measurement: cargo test -- --ignored --nocapture measure"]
fn measure() {
    let t = std::time::Instant::now();
    let api = OpenApi::build(registry());
    println!("build: {:?}, total {} bytes", t.elapsed(), api.size());
    println!(
        "index {} bytes, v2 {} bytes, v2 protobuf {} bytes",
        api.index().len(),
        api.v2().len(),
        api.v2_protobuf().len()
    );
    for d in &api.docs {
        println!("{}: {} bytes", d.key, d.bytes.len());
    }
    let t = std::time::Instant::now();
    let _ = crate::api::schema::SchemaIndex::build(registry());
    println!("schema index: {:?}", t.elapsed());
    if let Ok(dir) = std::env::var("OPENAPI_DUMP") {
        std::fs::write(format!("{dir}/v2.json"), api.v2()).unwrap();
        std::fs::write(format!("{dir}/v2.pb"), api.v2_protobuf()).unwrap();
        for d in &api.docs {
            std::fs::write(format!("{dir}/{}.json", d.key.replace('/', "_")), &d.bytes).unwrap();
        }
    }
}

/// A throwaway server for trying real kubectl against these documents before
/// the router is wired: serves `/openapi/*` through [`OpenApi::handle`] and
/// stubs just enough discovery and object calls for `kubectl explain` and
/// `kubectl apply`. Run with
/// `K2D_OPENAPI_PROBE=127.0.0.1:18099 cargo test probe_server -- --ignored`.
#[test]
#[ignore = "manual: serves kubectl for K2D_OPENAPI_PROBE_SECS seconds"]
fn probe_server() {
    let addr = std::env::var("K2D_OPENAPI_PROBE").unwrap_or_else(|_| "127.0.0.1:18099".into());
    let secs: u64 =
        std::env::var("K2D_OPENAPI_PROBE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let server = tiny_http::Server::http(&addr).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(Some(mut rq)) = server.recv_timeout(left) else { break };
        let (path, query) = rq
            .url()
            .split_once('?')
            .map_or((rq.url().to_string(), String::new()), |(p, q)| (p.into(), q.into()));
        let mut body = Vec::new();
        let _ = std::io::Read::read_to_end(rq.as_reader(), &mut body);
        let req = Request {
            method: rq.method().to_string(),
            path: path.clone(),
            query: query
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|kv| {
                    kv.split_once('=')
                        .map_or((kv.into(), String::new()), |(k, v)| (k.into(), v.into()))
                })
                .collect(),
            headers: rq
                .headers()
                .iter()
                .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.to_string()))
                .collect(),
            body,
        };
        let reply = API.handle(&req).unwrap_or_else(|| probe_stub(&req));
        eprintln!("{} {}?{} -> {}", req.method, req.path, query, reply.status);
        let mut resp =
            tiny_http::Response::from_data(reply.body.clone()).with_status_code(reply.status);
        for (k, v) in &reply.headers {
            resp.add_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
        }
        let _ = rq.respond(resp);
    }
}

#[cfg(test)]
fn probe_stub(req: &Request) -> Reply {
    let resources = |group: &str, version: &str| {
        let rs: Vec<Value> = registry()
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .map(|r| json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": r.verbs, "shortNames": r.short_names}))
            .collect();
        let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        Reply::json(
            200,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}),
        )
    };
    let status = |code: u16, reason: &str, msg: &str| {
        Reply::json(
            code,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": msg, "reason": reason, "code": code}),
        )
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/version") => {
            Reply::json(200, &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0"}))
        }
        ("GET", "/api") => Reply::json(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        ("GET", "/apis") => Reply::json(
            200,
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "events.k8s.io", "versions": [{"groupVersion": "events.k8s.io/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "events.k8s.io/v1", "version": "v1"}}]}),
        ),
        ("GET", "/api/v1") => resources("", "v1"),
        ("GET", "/apis/events.k8s.io/v1") => resources("events.k8s.io", "v1"),
        ("GET", "/api/v1/namespaces/default") => Reply::json(
            200,
            &json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "default"}}),
        ),
        ("POST", "/api/v1/namespaces/default/configmaps") => {
            let obj: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let decoded = crate::kinds::configmap::CONFIGMAPS.behavior.decode(&obj).unwrap();
            if req.param("fieldValidation") == Some("Strict") && !decoded.unknown.is_empty() {
                let fields: Vec<String> =
                    decoded.unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
                return status(
                    400,
                    "BadRequest",
                    &format!("strict decoding error: {}", fields.join(", ")),
                );
            }
            Reply::json(201, &decoded.object)
        }
        ("GET", _) => status(404, "NotFound", "not found"),
        _ => status(405, "MethodNotAllowed", "method not allowed"),
    }
}
