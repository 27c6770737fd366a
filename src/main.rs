//! k2d: the Kubernetes API on a single Docker host.

mod adapter;
mod api;
mod config;
mod controller;
mod kinds;
mod node;
mod proxy;
mod store;

use api::Api;
use serde_json::json;
use std::sync::Arc;
use store::{Change, Store};

fn main() {
    // A Service's proxy container runs this binary in `proxy` mode.
    if proxy::is_invocation() {
        proxy::run();
    }
    // A pod sandbox runs this binary as its PID 1: no config, no logging, nothing else.
    if adapter::images::is_pause_invocation() {
        adapter::images::run_pause();
    }
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
    kinds::storageclass::ensure_default_class(&store)?;
    kinds::service::alloc::attach_store(store.clone());
    kinds::storageclass::attach_store(store.clone());

    let controller = controller::new(store.clone(), adapter::files::FileStore::new(&cfg.data_path));
    let queue = controller.queue();
    controller::pods::run_runtime(
        store.clone(),
        queue.clone(),
        controller.pod_runtime(),
        cfg.docker_socket.clone(),
        cfg.data_path.clone(),
    );
    controller.resync();
    controller.spawn().map_err(|e| format!("starting controller: {e}"))?;
    node::start(store.clone(), cfg.docker_socket.clone(), cfg.advertise_addr);

    // TLS material, token and kubeconfig, all kept in the data path.
    let sans =
        api::tls::wanted_sans(cfg.advertise_addr, api::tls::hostname().as_deref(), &cfg.alt_names)
            .map_err(|e| e.to_string())?;
    let tls = api::tls::load_or_create(&cfg.data_path, &sans).map_err(|e| e.to_string())?;
    let auth = Arc::new(
        api::auth::Auth::load_or_create(&cfg.data_path, cfg.secret.as_deref())
            .map_err(|e| format!("loading the token: {e}"))?,
    );
    let advertise = cfg
        .advertise_addr
        .or_else(adapter::convert::node::default_route_ip)
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let server_url = api::kubeconfig::server_url(advertise, cfg.port);
    let kubeconfig = api::kubeconfig::render(&server_url, &tls.ca_pem, auth.token());
    let kubeconfig_path = cfg.data_path.join("kubeconfig");
    api::kubeconfig::write(&kubeconfig_path, &kubeconfig)
        .map_err(|e| format!("writing {}: {e}", kubeconfig_path.display()))?;

    // tiny_http serves the API on a private unix socket behind our TLS front door.
    let socket = api::frontdoor::backend_socket(&cfg.data_path.join("run"))
        .map_err(|e| format!("preparing the API socket: {e}"))?;
    let server = tiny_http::Server::http_unix(&socket)
        .map_err(|e| format!("listening on {}: {e}", socket.display()))?;
    let api = Arc::new(Api {
        store,
        queue,
        server_address: format!("{advertise}:{}", cfg.port),
        kubeconfig,
        auth: auth.clone(),
        docker_socket: cfg.docker_socket.clone(),
    });
    api::server::spawn_workers(Arc::new(server), api, API_WORKERS);
    let bind = std::net::SocketAddr::new(cfg.bind_addr, cfg.port);
    let (addr, accept) = api::frontdoor::start(
        bind,
        tls.server_config,
        auth,
        socket,
        Arc::new(api::upgrade_unsupported),
        api::frontdoor::Options::default(),
    )
    .map_err(|e| format!("listening on {bind}: {e}"))?;
    log::info!(
        "k2d serving the Kubernetes API on https://{addr} (ready in {:?})",
        started.elapsed()
    );
    log::info!(
        "kubeconfig written to {} (also served at {server_url}/k2d/kubeconfig)",
        kubeconfig_path.display()
    );
    accept.join().map_err(|_| "the accept loop stopped".to_string())
}

/// Request workers: enough for kubectl's parallel discovery, few enough for a
/// 512 MB box (watches and other long requests run on their own threads).
const API_WORKERS: usize = 8;

/// `default` (and the system namespaces clients expect) always exist.
fn ensure_system_namespaces(store: &Store) -> Result<(), String> {
    for name in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        adapter::convert::foreign::NAMESPACE,
    ] {
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
