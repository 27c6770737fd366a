//! The pod sandbox ("pause") image, built from k2d's own binary because no registry is
//! reachable, and the pause loop that binary runs as PID 1 of every sandbox.
//!
//! The image holds the binary as `/pause`. A static (musl) build needs nothing else; a
//! dynamically linked build (the debug builds tests run) also needs its ELF interpreter and
//! shared libraries, which are copied from the paths this process has them mapped at, so
//! that development builds get working sandboxes too.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ImageError;
use super::tar::Archive;
use crate::adapter::docker::{Docker, DockerError, encode_query};

pub const PAUSE_REPO: &str = "k2d/pause";

/// Age after which another build's pause image may be removed.
const OLD_AFTER_SECS: i64 = 3600;

/// The command the image runs: k2d's `pause` mode.
const ENTRYPOINT: &str = r#"ENTRYPOINT ["/pause","pause"]"#;

/// Makes sure `k2d/pause:<version>-<hash of the binary>` exists, importing it from this
/// process's own executable if not, and returns that reference. The hash in the tag means
/// a new k2d build gets a new sandbox image while an unchanged one imports nothing.
pub fn ensure_pause_image(docker: &Docker) -> Result<String, ImageError> {
    ensure_pause_image_from(docker, Path::new("/proc/self/exe"))
}

/// [`ensure_pause_image`] from a given k2d binary (tests pass the built `k2d`, since their own
/// executable is the test harness). Libraries of a dynamic binary are taken from this
/// process's mappings, so `exe` must link the same ones (be built from the same tree).
pub fn ensure_pause_image_from(docker: &Docker, exe: &Path) -> Result<String, ImageError> {
    let mut file = File::open(exe).map_err(|e| ImageError::io(exe, e))?;
    let hash = sha256_hex(&mut file).map_err(|e| ImageError::io(exe, e))?;
    let tag = format!("{}-{}", env!("CARGO_PKG_VERSION"), &hash[..12]);
    let reference = format!("{PAUSE_REPO}:{tag}");
    match docker.get_json::<Value>(&format!("/images/{reference}/json")) {
        Ok(_) => return Ok(reference),
        Err(DockerError::NotFound(_)) => {}
        Err(e) => return Err(ImageError::Docker(e)),
    }
    let started = Instant::now();
    file.seek(SeekFrom::Start(0)).map_err(|e| ImageError::io(exe, e))?;
    let archive = root_fs(file, exe)?;
    let path = format!(
        "/images/create?fromSrc=-&repo={}&tag={}&changes={}&message={}",
        encode_query(PAUSE_REPO),
        encode_query(&tag),
        encode_query(ENTRYPOINT),
        encode_query("k2d pod sandbox, imported from the k2d binary"),
    );
    let mut body = archive.into_reader();
    let stream = docker
        .post_stream_with(&path, &[], Some(("application/x-tar", &mut body)))
        .map_err(ImageError::Docker)?;
    super::read_progress(stream).map_err(ImageError::Docker)?;
    // The import answers with the new ID; a lookup confirms the tag is in place.
    docker.get_json::<Value>(&format!("/images/{reference}/json")).map_err(ImageError::Docker)?;
    log::info!("imported pause image {reference} in {:?}", started.elapsed());
    remove_old_pause_images(docker, &reference, OLD_AFTER_SECS);
    Ok(reference)
}

/// Every k2d build brings its own pause image (tens of MB for a debug build), so older ones
/// are removed once a new one is in place. Without `force`, Docker keeps those that sandboxes
/// still use (409), which is what we want: they go with a later upgrade. Images imported in
/// the last hour are left alone, since another k2d build on this host (a developer's second
/// worktree, a test run) may have just imported one and not yet created its first sandbox.
fn remove_old_pause_images(docker: &Docker, keep: &str, older_than_secs: i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let filters = encode_query(&format!(r#"{{"reference":["{PAUSE_REPO}"]}}"#));
    let Ok(list) = docker.get_json::<Vec<Value>>(&format!("/images/json?filters={filters}")) else {
        return;
    };
    let old = list.iter().filter(|i| now - i["Created"].as_i64().unwrap_or(now) > older_than_secs);
    let tags = old.flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default());
    for tag in tags.filter_map(|t| t.as_str().map(str::to_owned)) {
        if tag != keep && tag.starts_with(&format!("{PAUSE_REPO}:")) {
            match docker.delete(&format!("/images/{tag}")) {
                Ok(()) => log::info!("removed old pause image {tag}"),
                Err(e) => log::debug!("keeping old pause image {tag}: {e}"),
            }
        }
    }
}

fn sha256_hex(file: &mut File) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `/pause`, plus the loader and libraries when the binary is dynamically linked.
fn root_fs(exe: File, exe_path: &Path) -> Result<Archive, ImageError> {
    let size = exe.metadata().map_err(|e| ImageError::io(exe_path, e))?.len();
    let mut extra: BTreeSet<String> = BTreeSet::new();
    if let Some(interp) = elf_interpreter(exe_path).map_err(|e| ImageError::io(exe_path, e))? {
        extra.insert(interp);
        extra.extend(
            mapped_libraries().map_err(|e| ImageError::io(Path::new("/proc/self/maps"), e))?,
        );
    }
    let mut archive = Archive::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for path in &extra {
        let rel = path.trim_start_matches('/');
        let mut at = 0;
        while let Some(i) = rel[at..].find('/') {
            dirs.insert(rel[..at + i].to_string());
            at += i + 1;
        }
    }
    let tar_err = |e: io::Error| ImageError::Io(e.to_string());
    for d in &dirs {
        archive.dir(d, 0o755).map_err(tar_err)?;
    }
    archive.file("pause", 0o755, size, Box::new(exe)).map_err(tar_err)?;
    for path in &extra {
        // Opened now, read when Docker reads the body; symlinks are followed so the image
        // holds real files at the paths the loader looks for.
        let f = File::open(path).map_err(|e| ImageError::io(Path::new(path), e))?;
        let len = f.metadata().map_err(|e| ImageError::io(Path::new(path), e))?.len();
        archive.file(path.trim_start_matches('/'), 0o755, len, Box::new(f)).map_err(tar_err)?;
    }
    Ok(archive)
}

/// The `PT_INTERP` path of a 64-bit little-endian ELF (x86_64, aarch64), or `None` for a
/// static binary or anything else.
fn elf_interpreter(exe: &Path) -> io::Result<Option<String>> {
    let mut f = File::open(exe)?;
    let mut eh = [0u8; 64];
    if f.read_exact(&mut eh).is_err() || &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return Ok(None);
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let phoff = u64_at(&eh, 0x20);
    let phentsize = usize::from(u16_at(&eh, 0x36));
    let phnum = u16_at(&eh, 0x38);
    if phentsize < 56 {
        return Ok(None);
    }
    let mut ph = vec![0u8; phentsize];
    for i in 0..u64::from(phnum) {
        f.seek(SeekFrom::Start(phoff + i * phentsize as u64))?;
        f.read_exact(&mut ph)?;
        const PT_INTERP: u32 = 3;
        if u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) != PT_INTERP {
            continue;
        }
        let (offset, len) = (u64_at(&ph, 8), u64_at(&ph, 32));
        if len == 0 || len > 4096 {
            return Ok(None);
        }
        let mut path = vec![0u8; len as usize];
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(&mut path)?;
        let path = String::from_utf8_lossy(&path).trim_end_matches('\0').to_string();
        return Ok(path.starts_with('/').then_some(path));
    }
    Ok(None)
}

/// Shared libraries mapped into this process (`/proc/self/maps`), which is exactly the set
/// the dynamic loader resolved for it, without reimplementing its search.
fn mapped_libraries() -> io::Result<BTreeSet<String>> {
    let maps = BufReader::new(File::open("/proc/self/maps")?);
    let mut libs = BTreeSet::new();
    for line in maps.lines() {
        let line = line?;
        // address perms offset dev inode path
        let Some(path) = line.split_whitespace().nth(5) else { continue };
        let name = path.rsplit('/').next().unwrap_or("");
        if path.starts_with('/') && name.contains(".so") && Path::new(path).is_file() {
            libs.insert(path.to_string());
        }
    }
    Ok(libs)
}

/// True when this process was started as the sandbox's pause: as `/pause` or `k2d pause`.
pub fn is_pause_invocation() -> bool {
    let mut args = std::env::args_os();
    let argv0 = args.next();
    let name = argv0.as_deref().map(Path::new).and_then(Path::file_name);
    name.is_some_and(|n| n == "pause") || args.next().is_some_and(|a| a == "pause")
}

/// PID 1 of a pod sandbox: owns the namespaces, reaps orphans, and exits 0 on SIGTERM or
/// SIGINT so `docker stop` is immediate. The signals are blocked and taken with `sigwait`,
/// because the kernel drops default-action signals sent to a namespace's init, but never
/// blocked ones.
pub fn run_pause() -> ! {
    // SAFETY: plain libc signal calls on a zeroed, initialised sigset; single-threaded here.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            let mut sig: libc::c_int = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                continue;
            }
            if sig == libc::SIGCHLD {
                while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
            } else {
                libc::_exit(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_elf_and_its_libraries_are_found() {
        let exe = std::env::current_exe().unwrap();
        // A dynamic build: the loader must exist and libc must be among the mappings. A
        // static build has nothing to add.
        if let Some(interp) = elf_interpreter(&exe).unwrap() {
            assert!(Path::new(&interp).exists(), "{interp}");
            let libs = mapped_libraries().unwrap();
            assert!(libs.iter().any(|l| l.contains("libc.so")), "{libs:?}");
        }
        assert_eq!(elf_interpreter(Path::new("/proc/self/maps")).unwrap(), None);
    }

    /// Against the real Docker: another tag of the repository goes, the kept one stays, and a
    /// refusal (an image a container uses) does not stop the clean-up.
    #[test]
    fn old_pause_images_are_removed_but_not_in_use_ones() {
        let d = Docker::connect(Path::new("/var/run/docker.sock")).expect("a running Docker");
        let tag = |t: &str| {
            let path = format!("/images/k2d-test/busybox:1/tag?repo={PAUSE_REPO}&tag={t}");
            d.post_empty::<()>(&path).expect("k2d-test/busybox:1 (scripts/test-image.sh)");
            format!("{PAUSE_REPO}:{t}")
        };
        let pid = std::process::id();
        let (old, keep, used) = (
            tag(&format!("0.0.0-old{pid}")),
            tag(&format!("0.0.0-keep{pid}")),
            tag(&format!("0.0.0-used{pid}")),
        );
        let c: Value =
            d.post_json("/containers/create", &serde_json::json!({"Image": used})).unwrap();
        let id = c["Id"].as_str().unwrap().to_string();
        // The tags share one image, so removing one only untags it.
        remove_old_pause_images(&d, &keep, -1);
        let exists = |r: &str| d.get_json::<Value>(&format!("/images/{r}/json")).is_ok();
        let (old_gone, keep_kept) = (!exists(&old), exists(&keep));
        let _ = d.delete(&format!("/containers/{id}?force=1"));
        for r in [&old, &keep, &used] {
            let _ = d.delete(&format!("/images/{r}"));
        }
        assert!(old_gone, "{old} should have been removed");
        assert!(keep_kept, "{keep} must stay");
    }

    #[test]
    fn hash_is_hex_sha256() {
        let dir = std::env::temp_dir().join(format!("k2d-pause-hash-{}", std::process::id()));
        std::fs::write(&dir, b"abc").unwrap();
        let h = sha256_hex(&mut File::open(&dir).unwrap()).unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let _ = std::fs::remove_file(&dir);
    }
}
