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
        let Some(data) = data else {
            return match fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        if current_matches(&dir, data) {
            return Ok(());
        }
        disk::create_private_dir(&dir)?;
        if !private {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        }
        let stamp = format!(
            "..{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let version_dir = dir.join(&stamp);
        fs::create_dir(&version_dir)?;
        fs::set_permissions(
            &version_dir,
            fs::Permissions::from_mode(if private { 0o700 } else { 0o755 }),
        )?;
        for (key, bytes) in data {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if private { 0o600 } else { 0o644 })
                .open(version_dir.join(key))?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        // Swap `..data` to the new version in one rename.
        let tmp_link = dir.join("..data_tmp");
        let _ = fs::remove_file(&tmp_link);
        symlink(&stamp, &tmp_link)?;
        let old_target = fs::read_link(dir.join(DATA_LINK)).ok();
        fs::rename(&tmp_link, dir.join(DATA_LINK))?;
        // Visible names: one symlink per key through `..data`; drop the rest.
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let fname = entry.file_name().to_string_lossy().into_owned();
            if fname.starts_with("..") {
                continue;
            }
            if !data.contains_key(&fname) {
                fs::remove_file(entry.path())?;
            }
        }
        for key in data.keys() {
            let link = dir.join(key);
            if fs::symlink_metadata(&link).is_err() {
                symlink(Path::new(DATA_LINK).join(key), &link)?;
            }
        }
        if let Some(old) = old_target
            && old != Path::new(&stamp)
        {
            let _ = fs::remove_dir_all(dir.join(old));
        }
        fs::File::open(&dir)?.sync_all()
    }
}

/// Whether the files already hold exactly `data` (so a resync writes nothing).
fn current_matches(dir: &Path, data: &BTreeMap<String, Vec<u8>>) -> bool {
    let current = dir.join(DATA_LINK);
    let Ok(entries) = fs::read_dir(&current) else { return false };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.len() == data.len()
        && data.iter().all(|(k, v)| fs::read(current.join(k)).is_ok_and(|b| b == *v))
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
