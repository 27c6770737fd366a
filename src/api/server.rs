//! The tiny_http side: a fixed pool of workers pulling requests, converting
//! them to [`Request`], and writing replies. Watches leave the pool for a
//! thread of their own (bounded in `watch`), so a slow stream never starves
//! ordinary requests.

use crate::api::body::MAX_BODY;
use crate::api::error::ApiError;
use crate::api::http::{Reply, Request};
use crate::api::{Api, Response, error_reply, logs, watch};
use std::io::Read;
use std::sync::Arc;
use std::thread;

/// Start `workers` threads serving `server` until it is dropped.
pub fn spawn_workers(server: Arc<tiny_http::Server>, api: Arc<Api>, workers: usize) {
    for i in 0..workers {
        let server = server.clone();
        let api = api.clone();
        let spawned = thread::Builder::new().name(format!("api-{i}")).spawn(move || {
            while let Ok(rq) = server.recv() {
                serve_one(&api, rq);
            }
        });
        if let Err(e) = spawned {
            log::error!("cannot start API worker: {e}");
        }
    }
}

fn serve_one(api: &Api, mut rq: tiny_http::Request) {
    let req = match convert(&mut rq) {
        Ok(r) => r,
        Err(e) => {
            respond(rq, error_reply(&e));
            return;
        }
    };
    let started = std::time::Instant::now();
    match api.handle(&req) {
        Response::Reply(reply) => {
            log::debug!(
                "{} {} -> {} in {:?}",
                req.method,
                req.path,
                reply.status,
                started.elapsed()
            );
            respond(rq, reply);
        }
        Response::Watch(plan) => {
            log::debug!("{} {} -> watch", req.method, req.path);
            let writer = rq.into_writer();
            let spawned = thread::Builder::new()
                .name("watch".into())
                .spawn(move || watch::stream(plan, writer));
            if let Err(e) = spawned {
                log::error!("cannot start watch thread: {e}");
            }
        }
        Response::Logs(plan) => {
            log::debug!("{} {} -> log stream", req.method, req.path);
            // The request moves into the thread: if it cannot start, dropping
            // the request still answers the client (tiny_http sends a 500).
            let spawned = thread::Builder::new()
                .name("logs".into())
                .stack_size(256 * 1024)
                .spawn(move || logs::stream(plan, rq.into_writer()));
            if let Err(e) = spawned {
                log::error!("cannot start log thread: {e}");
            }
        }
    }
}

/// Read a tiny_http request fully (body capped at the API limit).
fn convert(rq: &mut tiny_http::Request) -> Result<Request, ApiError> {
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
        .collect();
    let mut body = Vec::new();
    rq.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::bad_request(format!("reading request body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(ApiError::too_large(format!("Request entity too large: limit is {MAX_BODY}")));
    }
    Ok(Request {
        method: rq.method().as_str().to_ascii_uppercase(),
        path: percent_decode(path, false),
        query: parse_query(query),
        headers,
        body,
    })
}

fn respond(rq: tiny_http::Request, reply: Reply) {
    let mut resp = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    for (k, v) in &reply.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    if let Err(e) = rq.respond(resp) {
        log::debug!("client went away before the reply: {e}");
    }
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Decode `%XX` escapes (and `+` as space in query strings); invalid escapes
/// are kept literally rather than rejected, as Go's lenient parsing does.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("labelSelector=app%3Dweb%2Ctier+in+(a)&watch=true&x");
        assert_eq!(q[0], ("labelSelector".into(), "app=web,tier in (a)".into()));
        assert_eq!(q[1], ("watch".into(), "true".into()));
        assert_eq!(q[2], ("x".into(), "".into()));
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("a%2Fb%41", false), "a/bA");
    }
}
