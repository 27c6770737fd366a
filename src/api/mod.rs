//! The Kubernetes API: request routing, the generic handlers every kind shares,
//! discovery, OpenAPI, and the TLS front door.

pub mod error;
pub mod http;
pub mod openapi;
pub mod schema;
