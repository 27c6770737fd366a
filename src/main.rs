//! k2d: the Kubernetes API on a single Docker host.

mod adapter;
mod api;
mod config;
mod kinds;

fn main() {
    let cfg = match config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("k2d: {e}");
            std::process::exit(2);
        }
    };
    let _ = cfg;
}
