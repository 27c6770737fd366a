//! The one Node: the Docker host, described from `docker info`. Written at
//! start (and retried until Docker answers) so `kubectl get nodes` always
//! reflects the host k2d runs on; labels and annotations users add survive.

use crate::adapter::convert::node::{node_from_docker, node_images};
use crate::adapter::docker::Docker;
use crate::api::meta;
use crate::store::{Change, Store};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The kubelet version the node reports: the Kubernetes version k2d serves.
const KUBELET_VERSION: &str = crate::api::KUBE_GIT_VERSION;

/// Describe the host now if Docker answers, otherwise keep trying in the
/// background (without blocking startup).
pub fn start(store: Arc<Store>, socket: PathBuf, advertise: Option<IpAddr>) {
    let spawned = std::thread::Builder::new().name("node".into()).spawn(move || {
        let mut delay = Duration::from_millis(500);
        loop {
            match describe(&socket, advertise).and_then(|n| write(&store, n)) {
                Ok(()) => return,
                Err(e) => log::warn!("describing the Docker host as a Node: {e} (retrying)"),
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    });
    if let Err(e) = spawned {
        log::error!("cannot start the node thread: {e}");
    }
}

fn describe(socket: &std::path::Path, advertise: Option<IpAddr>) -> Result<Value, String> {
    let docker = Docker::connect(socket).map_err(|e| e.to_string())?;
    let info = docker.info().map_err(|e| e.to_string())?;
    let version = docker.version().map_err(|e| e.to_string())?;
    let mut node = node_from_docker(&info, &version, advertise, KUBELET_VERSION);
    match docker.get_json::<Value>("/images/json") {
        Ok(images) => node["status"]["images"] = node_images(&images),
        Err(e) => log::warn!("listing images for the Node: {e}"),
    }
    Ok(node)
}

/// Create the Node, or refresh its status and k2d's labels on an existing one.
fn write(store: &Store, fresh: Value) -> Result<(), String> {
    let name = fresh["metadata"]["name"].as_str().unwrap_or("").to_string();
    store
        .write("nodes", "", &name, false, |cur| {
            let obj = match cur {
                None => {
                    let mut n = fresh.clone();
                    n["metadata"]["uid"] = json!(meta::new_uid());
                    n["metadata"]["creationTimestamp"] = json!(meta::now_rfc3339());
                    n
                }
                Some(cur) => {
                    let mut n = (**cur).clone();
                    n["status"] = fresh["status"].clone();
                    if let Some(Value::Object(labels)) = fresh["metadata"].get("labels") {
                        for (k, v) in labels {
                            n["metadata"]["labels"][k] = v.clone();
                        }
                    }
                    n
                }
            };
            Ok(Some(Change::Put(meta::canonical_order(obj))))
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}
