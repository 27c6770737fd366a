//! Everything that touches the host: files on disk, the Docker Engine, and the
//! conversion of Kubernetes objects into what Docker understands.

pub mod convert;
// Streams, the log demultiplexer and hijacked connections serve pod logs,
// exec and attach (the pods issue); they are already tested against the real daemon.
#[expect(dead_code, unused_imports, reason = "used by pods, logs and exec next")]
pub mod docker;
pub mod files;
pub mod images;
