//! Everything that touches the host: files on disk, the Docker Engine, and the
//! conversion of Kubernetes objects into what Docker understands.

pub mod convert;
pub mod docker;
pub mod files;
