//! ConfigMap and Secret contents as files, ready to be bind-mounted into
//! containers: `<data>/files/<resource>/<namespace>/<name>/<key>`.
//!
//! Updates follow Kubernetes' atomic writer: the keys are written into a fresh
//! timestamped directory, the `..data` symlink is swapped to it with one
//! rename, and each visible key is a symlink through `..data`. A reader of a
//! mounted directory therefore sees either the old set of files or the new
//! one, never a half-written file, and removed keys disappear.

use crate::store::disk;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

const DATA_LINK: &str = "..data";

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(data_path: &Path) -> FileStore {
        FileStore { root: data_path.join("files") }
    }

    /// The directory holding one object's files.
    pub fn dir(&self, resource: &str, namespace: &str, name: &str) -> PathBuf {
        self.root.join(resource).join(namespace).join(name)
    }

    /// Make the files of `resource/namespace/name` equal `data`, or remove
    /// them when `data` is `None`. `private` files are readable by k2d only.
    pub fn sync(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        data: Option<&BTreeMap<String, Vec<u8>>>,
        private: bool,
    ) -> io::Result<()> {
        let dir = self.dir(resource, namespace, name);
        let Some(data) = data else { return remove_dir(&dir) };
        let mode = if private { 0o600 } else { 0o644 };
        let files: Files = data.iter().map(|(k, v)| (k.clone(), (v.clone(), mode))).collect();
        write_dir(&dir, &files, private)
    }
}

/// Files of a projected directory: relative path (may contain `/`) → (bytes, mode).
pub type Files = BTreeMap<String, (Vec<u8>, u32)>;

/// Remove a directory tree; a missing one is fine.
pub fn remove_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Make `dir` hold exactly `files`, atomically as the kubelet's atomic writer
/// does: a new timestamped version directory, one rename of `..data`, and a
/// symlink through `..data` per top-level name. `private` directories are
/// traversable by k2d only.
pub fn write_dir(dir: &Path, files: &Files, private: bool) -> io::Result<()> {
    if current_matches(dir, files) {
        return Ok(());
    }
    for rel in files.keys() {
        check_relative(rel)?;
    }
    let dir_mode = if private { 0o700 } else { 0o755 };
    disk::create_private_dir(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(dir_mode))?;
    let stamp = format!(
        "..{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let version_dir = dir.join(&stamp);
    fs::create_dir(&version_dir)?;
    fs::set_permissions(&version_dir, fs::Permissions::from_mode(dir_mode))?;
    for (rel, (bytes, mode)) in files {
        let path = version_dir.join(rel);
        if let Some(parent) = path.parent()
            && parent != version_dir
        {
            fs::create_dir_all(parent)?;
            fs::set_permissions(parent, fs::Permissions::from_mode(dir_mode))?;
        }
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(*mode).open(&path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        // The umask may have narrowed the mode; the kubelet sets it exactly.
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode))?;
    }
    // Swap `..data` to the new version in one rename.
    let tmp_link = dir.join("..data_tmp");
    let _ = fs::remove_file(&tmp_link);
    symlink(&stamp, &tmp_link)?;
    let old_target = fs::read_link(dir.join(DATA_LINK)).ok();
    fs::rename(&tmp_link, dir.join(DATA_LINK))?;
    // Visible names: one symlink per top-level entry through `..data`.
    let top: std::collections::BTreeSet<&str> =
        files.keys().map(|k| k.split('/').next().unwrap_or(k)).collect();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let fname = entry.file_name().to_string_lossy().into_owned();
        if !fname.starts_with("..") && !top.contains(fname.as_str()) {
            fs::remove_file(entry.path())?;
        }
    }
    for name in top {
        let link = dir.join(name);
        if fs::symlink_metadata(&link).is_err() {
            symlink(Path::new(DATA_LINK).join(name), &link)?;
        }
    }
    if let Some(old) = old_target
        && old != Path::new(&stamp)
    {
        let _ = fs::remove_dir_all(dir.join(old));
    }
    fs::File::open(dir)?.sync_all()
}

/// Paths come from ConfigMap keys and `items[].path`: never absolute, never
/// climbing out, never hidden behind the `..` names the writer uses.
fn check_relative(rel: &str) -> io::Result<()> {
    let bad = rel.is_empty()
        || rel.starts_with('/')
        || rel.starts_with("..")
        || rel.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid file path {rel:?}"),
        ));
    }
    Ok(())
}

/// Whether the files already hold exactly `files` (so a resync writes nothing).
fn current_matches(dir: &Path, files: &Files) -> bool {
    let current = dir.join(DATA_LINK);
    if !current.is_dir() {
        return false;
    }
    count_files(&current) == files.len()
        && files.iter().all(|(k, (v, mode))| {
            let p = current.join(k);
            fs::read(&p).is_ok_and(|b| b == *v)
                && fs::metadata(&p).is_ok_and(|m| m.permissions().mode() & 0o7777 == *mode)
        })
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(Result::ok)
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => count_files(&e.path()),
                _ => 1,
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_swaps_atomically_and_removes_keys() {
        let root = std::env::temp_dir().join(format!("k2d-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let fsx = FileStore::new(&root);
        let mut d = BTreeMap::new();
        d.insert("a".to_string(), b"1".to_vec());
        d.insert("b".to_string(), b"2".to_vec());
        fsx.sync("configmaps", "ns", "cm", Some(&d), false).unwrap();
        let dir = fsx.dir("configmaps", "ns", "cm");
        assert_eq!(fs::read(dir.join("a")).unwrap(), b"1");
        d.remove("b");
        d.insert("a".to_string(), b"changed".to_vec());
        fsx.sync("configmaps", "ns", "cm", Some(&d), false).unwrap();
        assert_eq!(fs::read(dir.join("a")).unwrap(), b"changed");
        assert!(fs::symlink_metadata(dir.join("b")).is_err());
        // Only one version directory remains.
        let versions = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name().to_string_lossy().into_owned();
                n.starts_with("..") && n != "..data"
            })
            .count();
        assert_eq!(versions, 1);
        fsx.sync("configmaps", "ns", "cm", None, false).unwrap();
        assert!(!dir.exists());
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn nested_paths_and_modes() {
        let root = std::env::temp_dir().join(format!("k2d-files-nested-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let mut f = Files::new();
        f.insert("conf/app.yaml".into(), (b"a: 1".to_vec(), 0o400));
        f.insert("top".into(), (b"t".to_vec(), 0o644));
        write_dir(&root, &f, false).unwrap();
        assert_eq!(fs::read(root.join("conf/app.yaml")).unwrap(), b"a: 1");
        let mode = fs::metadata(root.join("conf/app.yaml")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
        let mut bad = Files::new();
        bad.insert("../escape".into(), (Vec::new(), 0o644));
        assert!(write_dir(&root, &bad, false).is_err());
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn private_files_are_owner_only() {
        let root = std::env::temp_dir().join(format!("k2d-files-priv-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let fsx = FileStore::new(&root);
        let mut d = BTreeMap::new();
        d.insert("password".to_string(), b"s3cret".to_vec());
        fsx.sync("secrets", "ns", "s", Some(&d), true).unwrap();
        let meta = fs::metadata(fsx.dir("secrets", "ns", "s").join("password")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let _ = fs::remove_dir_all(&root);
    }
}
