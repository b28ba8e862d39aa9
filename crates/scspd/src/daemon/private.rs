//! The private directory of dumps and traces: mode 0700, owned by the daemon's user, files
//! 0600 (they hold every entry's data), and at most [`MAX_DUMPS`] dumps kept.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many dump files (`scspd.<pid>.<NNN>.out`, of any process) the directory keeps: after each
/// dump the oldest beyond this number are removed.
pub const MAX_DUMPS: usize = 16;

/// The effective user ID of this process (the owner of `/proc/self`).
fn euid() -> io::Result<u32> {
    Ok(std::fs::metadata("/proc/self")?.uid())
}

/// The directory used when `--dump-dir` is not given: `/tmp/scspd-<uid>`.
pub fn default_dir() -> PathBuf {
    match euid() {
        Ok(uid) => PathBuf::from(format!("/tmp/scspd-{uid}")),
        Err(_) => PathBuf::from("/tmp/scspd"),
    }
}

/// Create `dir` with mode 0700 if it does not exist; if it does, it must be a directory (not a
/// link) owned by this user with no permission for group or others, else it is refused (another
/// user could read the dumps or replace them).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let m = std::fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            why.to_owned(),
        ))
    };
    if !m.file_type().is_dir() {
        return refuse("not a directory");
    }
    if m.uid() != euid()? {
        return refuse("owned by another user");
    }
    if m.permissions().mode() & 0o077 != 0 {
        return refuse("open to group or others (chmod 700 it)");
    }
    Ok(())
}

/// Create `path` anew with mode 0600 (an existing file is removed first; never written through
/// a link).
pub fn create_file(path: &Path) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            open()
        }
        r => r,
    }
}

/// Remove the oldest dump files of `dir` (by modification time, then name) beyond `keep`.
/// Returns how many were removed.
pub fn prune_dumps(dir: &Path, keep: usize) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut dumps: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("scspd.") && n.ends_with(".out")
        })
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            if !m.is_file() {
                return None;
            }
            Some((m.modified().ok()?, e.path()))
        })
        .collect();
    if dumps.len() <= keep {
        return 0;
    }
    dumps.sort();
    let excess = dumps.len() - keep;
    dumps[..excess]
        .iter()
        .filter(|(_, p)| std::fs::remove_file(p).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_and_files_are_private_and_dumps_capped() {
        let dir = std::env::temp_dir().join(format!("scspd-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ensure_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        for n in 0..5 {
            create_file(&dir.join(format!("scspd.1.{n:03}.out"))).unwrap();
        }
        let f = dir.join("scspd.1.000.out");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        create_file(&dir.join("other")).unwrap();
        assert_eq!(prune_dumps(&dir, 3), 2);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(ensure_dir(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
