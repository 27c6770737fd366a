//! Pure conversions from Docker's JSON to Kubernetes objects (and back), kept free of I/O
//! where possible so they can be tested against recorded daemon output.

pub mod node;
