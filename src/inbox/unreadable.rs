//! Files that exist but cannot be read (permission denied, an I/O error): they are quarantined like
//! invalid files, so one of them never stalls the files behind it. A rename needs no read access,
//! so such a file can always be moved to `failed_dir` with its `NAME.errors.txt`.

use std::io::{self, Read};

/// Why a file could not be read, and at which step.
#[derive(Debug)]
pub struct Unreadable {
    /// `"opening"` or `"reading"`.
    pub step: &'static str,
    pub error: io::Error,
}

impl Unreadable {
    pub fn opening(error: io::Error) -> Self {
        Unreadable { step: "opening", error }
    }

    pub fn reading(error: io::Error) -> Self {
        Unreadable { step: "reading", error }
    }

    /// What to do about it, for a person.
    pub fn advice(&self) -> &'static str {
        match self.error.kind() {
            io::ErrorKind::PermissionDenied => {
                "permission denied: fix its permissions (the user goalkeeper runs as must be able to read it) \
                 and move it back into the inbox"
            }
            _ => {
                "an I/O error: check the disk or the filesystem it is on (the kernel log may say more), \
                 then move the file back into the inbox"
            }
        }
    }

    /// The text of `NAME.errors.txt`.
    pub fn report(&self, name: &str) -> String {
        format!(
            "{REPORT_START}{name}: {} failed with \"{}\". Nothing from this file was stored.\n\
             What to do: {}.\n\
             Moving it back later is an ordinary arrival (a late month or a correction).\n",
            self.step,
            self.error,
            self.advice()
        )
    }
}

/// How every report of an unreadable file begins.
const REPORT_START: &str = "goalkeeper could not read ";

/// Whether the file at `path` in `failed_dir` was quarantined because it could not be read: its
/// `NAME.errors.txt` begins as [`Unreadable::report`] does.
pub fn was_quarantined_as_unreadable(path: &std::path::Path) -> bool {
    let mut start = [0u8; REPORT_START.len()];
    std::fs::File::open(super::moves::errors_path(path))
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok_and(|()| start == REPORT_START.as_bytes())
}

/// A reader that remembers whether reading itself failed, and how. The validator turns a read error
/// into a problem of the file's content; this tells it apart, so the file is reported as unreadable.
pub struct Noted<R> {
    inner: R,
    /// The first read error (not counting interruptions, which are retried).
    pub failed: Option<io::Error>,
}

impl<R> Noted<R> {
    pub fn new(inner: R) -> Self {
        Noted { inner, failed: None }
    }
}

impl<R: Read> Read for Noted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted && self.failed.is_none() {
                self.failed = Some(match e.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(e.kind(), e.to_string()),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_failed_and_what_to_do() {
        let denied = Unreadable::opening(io::Error::from_raw_os_error(libc::EACCES));
        let report = denied.report("2025-03.csv");
        assert!(
            report.starts_with(
                "goalkeeper could not read 2025-03.csv: opening failed with \"Permission denied (os error 13)\". \
                 Nothing from this file was stored.\nWhat to do: permission denied: fix its permissions"
            ),
            "{report}"
        );
        assert!(report.contains("move it back into the inbox"), "{report}");
        let eio = Unreadable::reading(io::Error::from_raw_os_error(libc::EIO));
        assert!(
            eio.report("a.csv")
                .contains("reading failed with \"Input/output error (os error 5)\"")
        );
        assert!(eio.advice().starts_with("an I/O error: check the disk"));
    }

    #[test]
    fn a_reader_notes_a_failed_read_but_not_an_interrupted_one() {
        struct Failing(io::ErrorKind);
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(self.0.into())
            }
        }
        let mut interrupted = Noted::new(Failing(io::ErrorKind::Interrupted));
        assert!(interrupted.read(&mut [0; 4]).is_err());
        assert!(interrupted.failed.is_none());
        let mut broken = Noted::new(Failing(io::ErrorKind::Other));
        assert!(broken.read(&mut [0; 4]).is_err());
        assert_eq!(broken.failed.map(|e| e.kind()), Some(io::ErrorKind::Other));
    }
}
