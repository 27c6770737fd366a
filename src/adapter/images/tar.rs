//! A minimal streaming ustar writer: just enough to hand Docker an image root file system
//! (a few directories and files) without holding the files in memory. The `tar` crate would
//! do it too, but it writes into a `Write`, so streaming it as a request body would need a
//! pipe and a thread; a `Read` that yields header, data and padding in turn needs neither.

use std::collections::VecDeque;
use std::io::{self, Cursor, Read};

const BLOCK: usize = 512;
/// The largest size an 11-digit octal field holds (8 GiB - 1).
const MAX_SIZE: u64 = 0o77777777777;

type Part = Box<dyn Read + Send>;

/// Collects entries in order, then yields the archive through [`Archive::into_reader`].
#[derive(Default)]
pub struct Archive {
    parts: VecDeque<Part>,
}

impl Archive {
    pub fn new() -> Archive {
        Archive::default()
    }

    /// A directory; `path` is relative (`usr/lib`), without a trailing slash.
    pub fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        let h = header(&format!("{path}/"), mode, 0, b'5')?;
        self.parts.push_back(Box::new(Cursor::new(h.to_vec())));
        Ok(())
    }

    /// A regular file of exactly `size` bytes read from `data` when the archive is read. A
    /// source that ends early is an error rather than a corrupt archive.
    pub fn file(&mut self, path: &str, mode: u32, size: u64, data: Part) -> io::Result<()> {
        let h = header(path, mode, size, b'0')?;
        self.parts.push_back(Box::new(Cursor::new(h.to_vec())));
        self.parts.push_back(Box::new(Exact { inner: data.take(size), left: size }));
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        if pad > 0 {
            self.parts.push_back(Box::new(Cursor::new(vec![0u8; pad])));
        }
        Ok(())
    }

    /// The archive, ending with the two zero blocks tar expects.
    pub fn into_reader(mut self) -> impl Read + Send {
        self.parts.push_back(Box::new(Cursor::new(vec![0u8; 2 * BLOCK])));
        Concat { parts: self.parts }
    }
}

struct Concat {
    parts: VecDeque<Part>,
}

impl Read for Concat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(part) = self.parts.front_mut() {
            let n = part.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.parts.pop_front();
        }
        Ok(0)
    }
}

struct Exact<R> {
    inner: io::Take<R>,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ended {} bytes short while being archived", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A ustar header block. Paths over 100 bytes go into the 155-byte prefix field, split at a `/`.
fn header(path: &str, mode: u32, size: u64, typeflag: u8) -> io::Result<[u8; BLOCK]> {
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{path}: {m}"));
    if size > MAX_SIZE {
        return Err(invalid("too large for ustar"));
    }
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        // The split point must leave the name part non-empty and at most 100 bytes.
        let cut = path
            .char_indices()
            .filter(|&(i, c)| {
                c == '/' && i <= 155 && path.len() - i - 1 <= 100 && i + 1 < path.len()
            })
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| invalid("path too long for ustar"))?;
        (&path[..cut], &path[cut + 1..])
    };
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode & 0o7777));
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0); // mtime: a fixed value keeps imports reproducible
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum is computed with its own field read as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    h[154] = 0;
    h[155] = b' ';
    Ok(h)
}

/// Zero-padded octal filling all but the last byte, which is NUL.
fn octal(field: &mut [u8], value: u64) {
    let last = field.len() - 1;
    let digits = format!("{value:0last$o}");
    field[..last].copy_from_slice(digits.as_bytes());
    field[last] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn archive_bytes(a: Archive) -> Vec<u8> {
        let mut out = Vec::new();
        a.into_reader().read_to_end(&mut out).unwrap();
        out
    }

    fn sample() -> Archive {
        let mut a = Archive::new();
        a.dir("usr", 0o755).unwrap();
        a.dir("usr/lib", 0o755).unwrap();
        a.file("pause", 0o755, 5, Box::new(Cursor::new(b"hello".to_vec()))).unwrap();
        a.file("usr/lib/empty", 0o644, 0, Box::new(io::empty())).unwrap();
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        a.file(&long, 0o600, 512, Box::new(Cursor::new(vec![7u8; 512]))).unwrap();
        a
    }

    #[test]
    fn layout_is_blocks_of_header_data_and_padding() {
        let bytes = archive_bytes(sample());
        // 2 dirs + 3 headers, 1 padded data block for "hello", 1 exact block, 2 end blocks.
        assert_eq!(bytes.len(), (2 + 3 + 1 + 1 + 2) * BLOCK);
        let h = &bytes[2 * BLOCK..3 * BLOCK];
        assert_eq!(&h[..6], b"pause\0");
        assert_eq!(&h[100..108], b"0000755\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut copy = h.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(&bytes[3 * BLOCK..3 * BLOCK + 6], b"hello\0");
        assert!(bytes[bytes.len() - 2 * BLOCK..].iter().all(|&b| b == 0));
    }

    /// The system's tar is the judge of whether the archive is valid.
    #[test]
    fn gnu_tar_reads_it() {
        let mut child = Command::new("tar")
            .args(["-tvf", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tar is installed");
        child.stdin.take().unwrap().write_all(&archive_bytes(sample())).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listing = String::from_utf8(out.stdout).unwrap();
        assert!(listing.contains("-rwxr-xr-x root/root         5 "), "{listing}");
        assert!(listing.contains(" pause\n"), "{listing}");
        assert!(
            listing.contains("drwxr-xr-x root/root         0 ") && listing.contains(" usr/lib/\n")
        );
        assert!(listing.contains(&format!("{}/{}", "d".repeat(120), "f".repeat(90))), "{listing}");
    }

    #[test]
    fn short_source_is_an_error_and_bad_paths_are_refused() {
        let mut a = Archive::new();
        a.file("x", 0o644, 10, Box::new(Cursor::new(b"abc".to_vec()))).unwrap();
        let mut out = Vec::new();
        let e = a.into_reader().read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(Archive::new().file(&"x".repeat(101), 0o644, 0, Box::new(io::empty())).is_err());
        assert!(Archive::new().file("x", 0o644, MAX_SIZE + 1, Box::new(io::empty())).is_err());
    }
}
