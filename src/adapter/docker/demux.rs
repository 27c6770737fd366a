//! Docker's multiplexed stream format (logs, attach and exec without a TTY).
//!
//! Each frame is an 8-byte header — stream id, three zero bytes, big-endian u32 length — then
//! that many payload bytes. A TTY stream has no frames at all; callers decide from the
//! container's `Tty` setting, because Docker 20.10 sends no Content-Type that would say so.

use std::io::{self, Read};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// Errors from Docker itself (e.g. the exec'd binary was not found), newer daemons only.
pub const SYSTEMERR: u8 = 3;

/// Largest piece handed out at once. A frame header may announce up to 4 GiB, so frames are
/// passed on in pieces instead of being buffered whole.
pub const MAX_CHUNK: usize = 32 * 1024;

/// Splits a multiplexed stream into `(stream_id, bytes)` pieces.
///
/// Pieces never cross frame boundaries, but a large frame may arrive as several pieces with
/// the same stream id.
pub struct Demux<R: Read> {
    inner: R,
    stream: u8,
    /// Payload bytes of the current frame not yet handed out.
    remaining: usize,
}

impl<R: Read> Demux<R> {
    pub fn new(inner: R) -> Demux<R> {
        Demux { inner, stream: 0, remaining: 0 }
    }

    /// Reads frame headers until one with payload is current; `Ok(false)` at a clean end.
    fn next_header(&mut self) -> io::Result<bool> {
        while self.remaining == 0 {
            let mut header = [0u8; 8];
            if !read_exact_or_eof(&mut self.inner, &mut header)? {
                return Ok(false);
            }
            if header[0] > SYSTEMERR || header[1..4] != [0, 0, 0] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not a Docker stream frame header: {header:02x?}"),
                ));
            }
            self.stream = header[0];
            self.remaining =
                u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        }
        Ok(true)
    }

    /// Reads the next piece into `buf`. `Ok(None)` is a clean end of stream between frames;
    /// an end inside a header or payload is `UnexpectedEof`.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<Option<(u8, usize)>> {
        if !self.next_header()? {
            return Ok(None);
        }
        let want = self.remaining.min(buf.len());
        if want == 0 {
            return Ok(Some((self.stream, 0)));
        }
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.remaining -= n;
        Ok(Some((self.stream, n)))
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Iterator for Demux<R> {
    type Item = io::Result<(u8, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_header() {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut buf = vec![0u8; self.remaining.min(MAX_CHUNK)];
        match self.read_chunk(&mut buf) {
            Ok(Some((id, n))) => {
                buf.truncate(n);
                Some(Ok((id, buf)))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Like `read_exact`, but a clean EOF before the first byte is `Ok(false)`.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![id, 0, 0, 0];
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// Hands out one byte per read, the worst case a socket can produce.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn collect(r: impl Read) -> io::Result<Vec<(u8, Vec<u8>)>> {
        // Merge consecutive pieces of one stream so the result doesn't depend on read sizes.
        let mut out: Vec<(u8, Vec<u8>)> = Vec::new();
        for item in Demux::new(r) {
            let (id, bytes) = item?;
            match out.last_mut() {
                Some((last, acc)) if *last == id => acc.extend_from_slice(&bytes),
                _ => out.push((id, bytes)),
            }
        }
        Ok(out)
    }

    #[test]
    fn splits_frames_by_stream() {
        let mut data = frame(STDOUT, b"hello\n");
        data.extend(frame(STDERR, b"oops\n"));
        data.extend(frame(STDOUT, b"bye\n"));
        let got = collect(&data[..]).unwrap();
        assert_eq!(
            got,
            vec![
                (STDOUT, b"hello\n".to_vec()),
                (STDERR, b"oops\n".to_vec()),
                (STDOUT, b"bye\n".to_vec())
            ]
        );
    }

    #[test]
    fn survives_one_byte_reads() {
        let mut data = frame(STDERR, b"abc");
        data.extend(frame(STDOUT, b"defg"));
        let got = collect(Trickle(&data)).unwrap();
        assert_eq!(got, vec![(STDERR, b"abc".to_vec()), (STDOUT, b"defg".to_vec())]);
    }

    #[test]
    fn large_frame_comes_in_bounded_pieces() {
        let payload = vec![7u8; MAX_CHUNK * 2 + 5];
        let data = frame(STDOUT, &payload);
        let mut d = Demux::new(&data[..]);
        let mut total = 0;
        for item in &mut d {
            let (id, bytes) = item.unwrap();
            assert_eq!(id, STDOUT);
            assert!(bytes.len() <= MAX_CHUNK);
            total += bytes.len();
        }
        assert_eq!(total, payload.len());
    }

    #[test]
    fn empty_frames_are_skipped_and_empty_input_ends() {
        let mut data = frame(STDOUT, b"");
        data.extend(frame(STDERR, b"x"));
        assert_eq!(collect(&data[..]).unwrap(), vec![(STDERR, b"x".to_vec())]);
        assert!(collect(&b""[..]).unwrap().is_empty());
    }

    #[test]
    fn truncation_is_an_error() {
        let data = frame(STDOUT, b"hello");
        let err = collect(&data[..data.len() - 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = collect(&data[..5]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn raw_tty_output_is_rejected() {
        let err = collect(&b"hello world\n"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
