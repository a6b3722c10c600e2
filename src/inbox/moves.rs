//! Moving files out of the inbox without ever overwriting or losing one.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `name` with `~n` before its extension: `a.csv`, `a~2.csv`, `a~3.csv` ...
fn numbered(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}~{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}~{n}"),
    }
}

/// Renames `from` to `to` unless `to` exists (atomically where the kernel can).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) => {} // filesystem without RENAME_NOREPLACE
            _ => return Err(err),
        }
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
}

/// Flushes a folder's entries to disk so a rename survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Moves `from` into `dir` as `name`, or `name~2`, `name~3`... if taken.
/// Works across filesystems by copying to a hidden name, syncing and renaming.
pub fn move_unique(from: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    move_unique_with(from, dir, name, |_| Ok(true))
}

/// Like [`move_unique`], but first calls `claim(candidate)` for each free
/// candidate name; `claim` returns `Ok(false)` to try the next name.
fn move_unique_with(
    from: &Path,
    dir: &Path,
    name: &str,
    mut claim: impl FnMut(&Path) -> io::Result<bool>,
) -> io::Result<PathBuf> {
    for n in 1..=10_000 {
        let to = dir.join(numbered(name, n));
        if fs::symlink_metadata(&to).is_ok() || !claim(&to)? {
            continue;
        }
        match rename_noreplace(from, &to) {
            Ok(()) => {
                sync_dir(dir)?;
                return Ok(to);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                let mut hidden = OsString::from(".");
                hidden.push(to.file_name().unwrap_or_default());
                hidden.push(".part");
                let tmp = dir.join(hidden);
                fs::copy(from, &tmp)?;
                File::open(&tmp)?.sync_all()?;
                match rename_noreplace(&tmp, &to) {
                    Ok(()) => {
                        sync_dir(dir)?;
                        fs::remove_file(from)?;
                        return Ok(to);
                    }
                    Err(e) => {
                        let _ = fs::remove_file(&tmp);
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            continue;
                        }
                        return Err(e);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free name for {name} in {}",
        dir.display()
    )))
}

/// The errors file that explains a failed file: `NAME.errors.txt`.
pub fn errors_path(failed_file: &Path) -> PathBuf {
    let mut s = failed_file.as_os_str().to_owned();
    s.push(".errors.txt");
    PathBuf::from(s)
}

/// Moves a rejected file into `dir` with `NAME.errors.txt` beside it. The
/// explanation is written first, so a rejected file is never there without it.
pub fn move_failed(from: &Path, dir: &Path, name: &str, report: &str) -> io::Result<PathBuf> {
    let mut written: Option<PathBuf> = None;
    let moved = move_unique_with(from, dir, name, |candidate| {
        if let Some(stale) = written.take() {
            let _ = fs::remove_file(stale);
        }
        let path = errors_path(candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(report.as_bytes())?;
                f.sync_all()?;
                written = Some(path);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    });
    if moved.is_err() {
        if let Some(stale) = written {
            let _ = fs::remove_file(stale);
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered("a.csv", 1), "a.csv");
        assert_eq!(numbered("a.csv", 2), "a~2.csv");
        assert_eq!(numbered("snapshots-2025-01.csv", 3), "snapshots-2025-01~3.csv");
        assert_eq!(numbered("noext", 2), "noext~2");
    }

    #[test]
    fn a_name_already_taken_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, done) = (dir.path().join("in"), dir.path().join("done"));
        fs::create_dir_all(&inbox).unwrap();
        fs::create_dir_all(&done).unwrap();
        fs::write(done.join("a.csv"), "old").unwrap();
        fs::write(inbox.join("a.csv"), "new").unwrap();
        let to = move_unique(&inbox.join("a.csv"), &done, "a.csv").unwrap();
        assert_eq!(to, done.join("a~2.csv"));
        assert_eq!(fs::read_to_string(done.join("a.csv")).unwrap(), "old");
        assert_eq!(fs::read_to_string(done.join("a~2.csv")).unwrap(), "new");
        assert!(!inbox.join("a.csv").exists());
    }

    #[test]
    fn a_failed_file_lands_beside_its_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, failed) = (dir.path().join("in"), dir.path().join("failed"));
        fs::create_dir_all(&inbox).unwrap();
        fs::create_dir_all(&failed).unwrap();
        // An orphan explanation (from a crash) takes its name out of use.
        fs::write(failed.join("a.csv.errors.txt"), "stale").unwrap();
        fs::write(inbox.join("a.csv"), "bad").unwrap();
        let to = move_failed(&inbox.join("a.csv"), &failed, "a.csv", "line 2: wrong").unwrap();
        assert_eq!(to, failed.join("a~2.csv"));
        assert_eq!(
            fs::read_to_string(failed.join("a~2.csv.errors.txt")).unwrap(),
            "line 2: wrong"
        );
        assert_eq!(fs::read_to_string(failed.join("a.csv.errors.txt")).unwrap(), "stale");
    }
}
