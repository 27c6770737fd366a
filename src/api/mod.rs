//! The Kubernetes API: request routing, the generic handlers every kind shares,
//! discovery, OpenAPI, and the TLS front door.

pub mod auth;
pub mod error;
pub mod frontdoor;
pub mod http;
pub mod kubeconfig;
pub mod tls;
