//! ureq transport over a unix socket.
//!
//! ureq 3 only knows TCP, so the Docker socket is plugged in underneath its HTTP/1.1 engine:
//! a [`Connector`] that opens the socket whatever the URL's host says, a [`Transport`] that moves
//! ureq's buffers over it, and a [`Resolver`] that does no DNS (the host in our URLs is a
//! placeholder). These traits live in ureq's `unversioned` module, which is why Cargo.toml pins
//! `~3.5`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, ShutdownHandle, Transport,
};

/// Opens a fresh connection to the Docker socket for every transport ureq asks for.
#[derive(Debug, Clone)]
pub struct UnixConnector {
    pub socket: PathBuf,
}

impl Connector<()> for UnixConnector {
    type Out = UnixTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let stream = UnixStream::connect(&self.socket)
            .map_err(|e| ureq::Error::Other(Box::new(super::ConnectFailed(e))))?;
        let config = details.config;
        let transport = UnixTransport {
            stream: Arc::new(Socket(stream)),
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            read_timeout: None,
            write_timeout: None,
        };
        // Registering lets `Agent::shutdown()` wake a thread blocked reading a follow stream.
        (details.register_shutdown)(Arc::downgrade(&transport.stream) as Weak<dyn ShutdownHandle>)?;
        Ok(Some(transport))
    }
}

/// Newtype so the foreign `ShutdownHandle` trait can be implemented for a unix socket.
#[derive(Debug)]
struct Socket(UnixStream);

impl ShutdownHandle for Socket {
    fn shutdown(&self) {
        // Already closed is fine: the point is only to unblock readers.
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

pub struct UnixTransport {
    /// Shared (weakly) with the agent's shutdown registry; all I/O goes through `&UnixStream`.
    stream: Arc<Socket>,
    buffers: LazyBuffers,
    /// Last timeouts set on the socket, to skip redundant syscalls.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl fmt::Debug for UnixTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixTransport").finish()
    }
}

/// The timeout to put on the socket, or the error ureq expects once the budget is spent.
fn effective_timeout(timeout: NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_not_happening() {
        return Ok(None);
    }
    let after = *timeout.after;
    if after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(Some(after))
}

fn map_io(e: io::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    }
}

impl Transport for UnixTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let t = effective_timeout(timeout)?;
        if t != self.write_timeout {
            self.stream.0.set_write_timeout(t)?;
            self.write_timeout = t;
        }
        let output = &self.buffers.output()[..amount];
        (&self.stream.0).write_all(output).map_err(|e| map_io(e, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let t = effective_timeout(timeout)?;
        if t != self.read_timeout {
            self.stream.0.set_read_timeout(t)?;
            self.read_timeout = t;
        }
        let input = self.buffers.input_append_buf();
        let n = loop {
            match (&self.stream.0).read(input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(map_io(e, timeout)),
            }
        };
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    /// A pooled connection is reusable only if the daemon has neither closed it nor sent
    /// anything unasked; a non-blocking peek tells both without consuming data.
    fn is_open(&mut self) -> bool {
        let s = &self.stream.0;
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let mut buf = [0u8; 1];
        let open = matches!((&self.stream.0).read(&mut buf),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        s.set_nonblocking(false).is_ok() && open
    }
}

/// Skips DNS: the connector ignores the address anyway, but ureq insists on one.
#[derive(Debug, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(
        &self,
        _uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut addrs = self.empty();
        addrs.push(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80)));
        Ok(addrs)
    }
}
