//! The Kubernetes API: request routing, the generic handlers every kind shares,
//! discovery, OpenAPI, and the TLS front door.

pub mod auth;
pub mod body;
pub mod discovery;
pub mod error;
// Duplex's split and timeouts are the API exec, attach and port-forward will use.
#[expect(dead_code, reason = "full-duplex API for exec and port-forward")]
pub mod frontdoor;
pub mod handlers;
pub mod http;
pub mod kubeconfig;
pub mod logs;
pub mod meta;
pub mod negotiate;
pub mod openapi;
pub mod output;
pub mod patch;
pub mod protobuf;
pub mod router;
pub mod scale;
pub mod schema;
pub mod selector;
pub mod server;
pub mod table;
pub mod tls;
pub mod watch;

use crate::controller::Queue;
use crate::kinds::ResourceType;
use crate::store::Store;
use error::{ApiError, ApiResult};
use http::{Reply, Request};
use router::Route;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Kubernetes version k2d reports; matches the k8s-openapi feature built with.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";
pub const KUBE_GIT_VERSION: &str = "v1.33.0-k2d";

/// Everything a request handler needs.
pub struct Api {
    pub store: Arc<Store>,
    pub queue: Queue,
    /// `host:port` clients reach us at (for `/api` and the kubeconfig).
    pub server_address: String,
    pub kubeconfig: String,
    pub auth: Arc<auth::Auth>,
    /// Where `pods/log` reaches Docker (connected per request, so a daemon
    /// that starts after k2d is still found).
    pub docker_socket: PathBuf,
}

/// What a request turns into: a complete reply, or a watch or log to stream.
pub enum Response {
    Reply(Reply),
    Watch(watch::Plan),
    Logs(logs::Plan),
}

impl Api {
    /// Tell the controller an object changed (level-based: it re-reads the store).
    pub fn after_write(&self, rt: &ResourceType, namespace: &str, name: &str) {
        self.queue.enqueue(rt.storage, namespace, name);
    }

    /// Route and answer one request.
    pub fn handle(&self, req: &Request) -> Response {
        let resp = self.try_handle(req).unwrap_or_else(|e| Response::Reply(error_reply(&e)));
        match resp {
            Response::Reply(r) => Response::Reply(finish(r)),
            w => w,
        }
    }

    fn try_handle(&self, req: &Request) -> ApiResult<Response> {
        let route = router::route(&req.path);
        let public = auth::Auth::is_public(&req.path);
        if !public && !self.auth.check(req.header("authorization")) {
            return Err(ApiError::unauthorized());
        }
        let reply = match route? {
            Route::Version => Reply::json(200, &version_info()).body_pretty(),
            Route::Health(path) => health(req, &path),
            Route::CoreVersions => {
                match discovery::wants_aggregated(req.header("accept").unwrap_or("")) {
                    Some(v) => discovery::aggregated_reply(req, true, v),
                    None => Reply::json(200, &discovery::core_versions(&self.server_address)),
                }
            }
            Route::Groups => {
                match discovery::wants_aggregated(req.header("accept").unwrap_or("")) {
                    Some(v) => discovery::aggregated_reply(req, false, v),
                    None => Reply::json(200, &discovery::groups()),
                }
            }
            Route::Group(g) => match discovery::group(&g) {
                Some(v) => Reply::json(200, &v),
                None => not_found_text(),
            },
            Route::ResourceList { group, version } => {
                match discovery::resource_list(&group, &version) {
                    Some(v) => Reply::json(200, &v),
                    None => not_found_text(),
                }
            }
            Route::OpenApi => openapi::global().handle(req).unwrap_or_else(not_found_text),
            Route::Kubeconfig => Reply::new(200, "application/yaml", self.kubeconfig.clone()),
            Route::NotFound => not_found_text(),
            Route::Resource(t) => {
                if t.subresource.as_deref() == Some("log") && t.rt.plural == "pods" {
                    return Ok(Response::Logs(logs::plan(self, req, &t)?));
                }
                let m = req.method.as_str();
                let watching = t.watch_path || (m == "GET" && req.flag("watch"));
                if watching && t.name.is_none() {
                    return Ok(Response::Watch(watch::plan(self, req, &t)?));
                }
                if watching {
                    // `watch` on a single object: a watch filtered by name.
                    let mut r = req.clone();
                    r.query.push((
                        "fieldSelector".into(),
                        format!("metadata.name={}", t.name.clone().unwrap_or_default()),
                    ));
                    let mut t2 = t.clone();
                    t2.name = None;
                    return Ok(Response::Watch(watch::plan(self, &r, &t2)?));
                }
                if t.subresource.as_deref() == Some("scale") {
                    return Ok(Response::Reply(scale::handle(self, req, &t)?));
                }
                if let Some(sub) = t.subresource.as_deref()
                    && sub != "status"
                {
                    return Err(ApiError::method_not_allowed(format!(
                        "the server does not support {sub} on {} yet",
                        t.rt.plural
                    )));
                }
                if req.body.len() > body::MAX_BODY {
                    return Err(ApiError::too_large("Request entity too large: limit is 3145728"));
                }
                match (m, t.name.is_some()) {
                    ("GET", true) => handlers::get(self, req, &t)?,
                    ("GET", false) => handlers::list(self, req, &t)?,
                    ("POST", _) => handlers::create(self, req, &t)?,
                    ("PUT", true) => handlers::update(self, req, &t)?,
                    ("PATCH", true) => handlers::patch(self, req, &t)?,
                    ("DELETE", true) => handlers::delete(self, req, &t)?,
                    ("DELETE", false) => handlers::delete_collection(self, req, &t)?,
                    _ => {
                        return Err(ApiError::method_not_allowed(
                            "the server does not allow this method on the requested resource",
                        ));
                    }
                }
            }
        };
        Ok(Response::Reply(reply))
    }
}

/// Headers every response carries.
fn finish(r: Reply) -> Reply {
    if r.get_header("Cache-Control").is_some() {
        r
    } else {
        r.header("Cache-Control", "no-cache, private")
    }
}

pub fn error_reply(e: &ApiError) -> Reply {
    Reply::json(e.code, &e.to_status())
}

fn not_found_text() -> Reply {
    Reply::text(404, "404 page not found\n")
}

fn version_info() -> serde_json::Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": KUBE_GIT_VERSION,
        "gitCommit": option_env!("K2D_GIT_COMMIT").unwrap_or("unknown"),
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": concat!("rust-k2d-", env!("CARGO_PKG_VERSION")),
        "compiler": "rustc",
        "platform": format!("linux/{}", go_arch()),
    })
}

pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

/// `/healthz`, `/livez`, `/readyz` and their `?verbose` and per-check forms.
fn health(req: &Request, path: &str) -> Reply {
    const CHECKS: &[&str] = &["ping", "log", "store", "controller"];
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let endpoint = parts.next().unwrap_or("healthz");
    if let Some(check) = parts.next() {
        return if CHECKS.contains(&check) { Reply::text(200, "ok") } else { not_found_text() };
    }
    if req.param("verbose").is_some() {
        let mut body: String = CHECKS.iter().map(|c| format!("[+]{c} ok\n")).collect();
        body.push_str(&format!("{endpoint} check passed\n"));
        return Reply::text(200, &body);
    }
    Reply::text(200, "ok")
}

/// Upgrade requests (exec, attach, port-forward) reach the front door's
/// handler; until those subresources exist, answer with a Status.
pub fn upgrade_unsupported(req: frontdoor::UpgradeRequest, mut stream: frontdoor::Duplex) {
    use std::io::Write;
    let e = ApiError::bad_request(format!(
        "upgrade requests are not supported yet ({} {})",
        req.method, req.path
    ));
    let body = http::encode_json(&e.to_status(), false);
    let head = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(&body))
        .and_then(|_| stream.flush());
}
