//! The Docker side of k2d: the Engine API client and the conversions between Docker's and
//! Kubernetes' views of the same things.

// Until the controller uses the adapter, most of it looks unused to the compiler.
#![allow(dead_code, unused_imports)]

pub mod convert;
pub mod docker;
