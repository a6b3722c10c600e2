//! Which entries of the inbox folder are candidates, in which order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// An inbox entry that will be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    /// The file name, for messages and the destination name.
    pub name: String,
    /// `None` for a regular file; otherwise what it is (never followed).
    pub not_regular: Option<&'static str>,
    /// Its size in bytes when it was listed.
    pub len: u64,
}

/// Whether a file name is one the inbox picks up: `*.csv` (any case), not a
/// dotfile, not a `.tmp`/`.part` name that a writer is still filling.
pub fn is_candidate_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.starts_with('.') && lower.ends_with(".csv") && lower.len() > 4
}

/// Lists candidates in `dir`, oldest name first (names sort by their bytes).
/// Subfolders are ignored; symlinks and other non-regular entries are listed
/// so that they can be moved aside, never followed.
pub fn scan(dir: &Path) -> io::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_candidate_name(&name) {
            continue;
        }
        // symlink_metadata: a link is reported as a link, not as its target.
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        let not_regular = if ft.is_dir() {
            continue;
        } else if ft.is_file() {
            None
        } else if ft.is_symlink() {
            Some("a symbolic link")
        } else {
            Some("not a regular file (a FIFO, socket or device)")
        };
        out.push(Candidate {
            path: entry.path(),
            name,
            not_regular,
            len: meta.len(),
        });
    }
    out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_csv_files_are_candidates() {
        for (name, want) in [
            ("snapshots-2025-01.csv", true),
            ("UPPER.CSV", true),
            (".hidden.csv", false),
            ("x.csv.part", false),
            ("x.csv.tmp", false),
            ("x.tmp", false),
            ("notes.txt", false),
            (".csv", false),
            ("x.csv.errors.txt", false),
        ] {
            assert_eq!(is_candidate_name(name), want, "{name}");
        }
    }

    #[test]
    fn scanning_sorts_by_name_skips_folders_and_reports_links() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(p.join("b.csv"), "x").unwrap();
        fs::write(p.join("a.csv"), "x").unwrap();
        fs::write(p.join("c.csv.part"), "x").unwrap();
        fs::create_dir(p.join("processed")).unwrap();
        fs::create_dir(p.join("dir.csv")).unwrap();
        std::os::unix::fs::symlink(p.join("a.csv"), p.join("link.csv")).unwrap();
        let got: Vec<_> = scan(p)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.not_regular.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("a.csv".into(), false),
                ("b.csv".into(), false),
                ("link.csv".into(), true)
            ]
        );
    }
}
