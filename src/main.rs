//! k2d: the Kubernetes API on a single Docker host.

mod adapter;
mod api;
mod config;
mod controller;
mod kinds;
mod store;

use api::Api;
use serde_json::json;
use std::sync::Arc;
use store::{Change, Store};

fn main() {
    let cfg = match config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("k2d: {e}");
            std::process::exit(2);
        }
    };
    init_logging(&cfg);
    if let Err(e) = run(cfg) {
        log::error!("{e}");
        std::process::exit(1);
    }
}

fn init_logging(cfg: &config::Config) {
    let mut b = env_logger::Builder::new();
    b.parse_filters(&cfg.log_level);
    if cfg.log_format == "json" {
        use std::io::Write;
        b.format(|buf, rec| {
            writeln!(
                buf,
                "{}",
                json!({"time": api::meta::now_rfc3339(), "level": rec.level().as_str().to_lowercase(), "target": rec.target(), "message": rec.args().to_string()})
            )
        });
    }
    b.init();
}

fn run(cfg: config::Config) -> Result<(), String> {
    let started = std::time::Instant::now();
    store::disk::create_private_dir(&cfg.data_path)
        .map_err(|e| format!("creating {}: {e}", cfg.data_path.display()))?;
    let store = Arc::new(Store::open(&cfg.data_path).map_err(|e| e.to_string())?);
    ensure_system_namespaces(&store)?;

    let controller = controller::new(store.clone(), adapter::files::FileStore::new(&cfg.data_path));
    let queue = controller.queue();
    controller.resync();
    controller.spawn().map_err(|e| format!("starting controller: {e}"))?;

    let addr = std::net::SocketAddr::new(cfg.bind_addr, cfg.port);
    let server = tiny_http::Server::http(addr).map_err(|e| format!("listening on {addr}: {e}"))?;
    let advertise = cfg.advertise_addr.map(|a| a.to_string()).unwrap_or_else(|| "127.0.0.1".into());
    let token = cfg.secret.clone().unwrap_or_else(|| "dev".into());
    let api = Arc::new(Api {
        store,
        queue,
        server_address: format!("{advertise}:{}", cfg.port),
        kubeconfig: String::new(),
        token,
    });
    let server = Arc::new(server);
    api::server::spawn_workers(server, api, 8);
    log::info!("k2d serving on {addr} (ready in {:?})", started.elapsed());
    loop {
        std::thread::park();
    }
}

/// `default` (and the system namespaces clients expect) always exist.
fn ensure_system_namespaces(store: &Store) -> Result<(), String> {
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        store
            .write("namespaces", "", name, false, |cur| {
                if cur.is_some() {
                    return Ok(None);
                }
                Ok(Some(Change::Put(json!({
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": {
                        "name": name,
                        "uid": api::meta::new_uid(),
                        "creationTimestamp": api::meta::now_rfc3339(),
                        "labels": {"kubernetes.io/metadata.name": name},
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }))))
            })
            .map_err(|e| format!("creating namespace {name}: {e}"))?;
    }
    Ok(())
}
