//! `goalkeeper backup FILE`: a consistent copy of a SQLite database, safe while the daemon runs
//! (`VACUUM INTO` reads one snapshot of the database in a read transaction, so writers go on). The
//! copy is written beside FILE under a temporary name, synced, then linked to FILE, which fails if
//! FILE exists: a backup never overwrites anything, and FILE is either absent or complete. On
//! PostgreSQL the answer is `pg_dump`, which does the same for a server.

use super::{Backend, SqliteStore};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// How a backup ended.
#[derive(Debug)]
pub enum Outcome {
    /// The copy is at the path, this many bytes.
    Written { path: PathBuf, bytes: u64 },
    /// Nothing was written, for this reason (a person's sentence).
    Refused(String),
}

/// Backs up the database at `url` into `dest`.
pub async fn run(url: &str, dest: &Path) -> anyhow::Result<Outcome> {
    match Backend::of_url(url) {
        Some(Backend::Postgres) => Ok(Outcome::Refused(format!(
            "goalkeeper backup copies SQLite databases; for PostgreSQL use pg_dump, which takes a consistent \
             snapshot while goalkeeper runs: pg_dump --format=custom --file={} '{}'",
            dest.display(),
            crate::config::redact_url(url)
        ))),
        Some(Backend::Sqlite) => sqlite(url, dest).await,
        None => anyhow::bail!(
            "database.url: expected sqlite://PATH or postgres://USER@HOST/DB, found {:?}",
            crate::config::redact_url(url)
        ),
    }
}

fn exists_refusal(dest: &Path) -> Outcome {
    Outcome::Refused(format!(
        "{} already exists: goalkeeper backup never overwrites a file; name a new file or remove that one first",
        dest.display()
    ))
}

async fn sqlite(url: &str, dest: &Path) -> anyhow::Result<Outcome> {
    if std::fs::symlink_metadata(dest).is_ok() {
        return Ok(exists_refusal(dest));
    }
    let name = dest
        .file_name()
        .with_context(|| format!("{} names no file", dest.display()))?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        anyhow::bail!("the folder {} does not exist: create it first", dir.display());
    }
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(format!(".partial-{}", std::process::id()));
    let partial = dir.join(partial_name);
    // Read only: a backup never creates or migrates the database it copies.
    let store = SqliteStore::connect_read_only(url).await?;
    let copied = store.vacuum_into(&partial).await;
    crate::storage::Storage::close(&store).await;
    let result = copied.and_then(|()| finish(&partial, dest, &dir));
    if !matches!(result, Ok(Outcome::Written { .. })) {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Syncs the copy, links it to `dest` (never replacing a file) and syncs the folder.
fn finish(partial: &Path, dest: &Path, dir: &Path) -> anyhow::Result<Outcome> {
    let file = std::fs::File::open(partial).with_context(|| format!("opening {}", partial.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", partial.display()))?;
    let bytes = file.metadata()?.len();
    match std::fs::hard_link(partial, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(exists_refusal(dest)),
        Err(e) => return Err(e).with_context(|| format!("writing {}", dest.display())),
    }
    std::fs::remove_file(partial).with_context(|| format!("removing {}", partial.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing the folder {}", dir.display()))?;
    Ok(Outcome::Written {
        path: dest.to_path_buf(),
        bytes,
    })
}
