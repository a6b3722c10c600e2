//! `--run-once --dry-run`: what a run would do with each file in the inbox, found with the same checks
//! as a real run (the file read once, hashed and validated, users and duplicates looked up in the
//! database), while changing nothing: no file is moved, nothing is written to the database, no spill
//! file is created.

use super::{Opened, open_candidate, scan, snapshot_file};
use crate::config::InboxSettings;
use crate::domain::{Period, UserId};
use crate::storage::Storage;
use crate::tabular::{Problem, Problems};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::io;

/// What a run would do with one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Store it: this many snapshots, of which this many replace a stored (or earlier file's) month.
    Store {
        snapshots: usize,
        corrections: usize,
        lines: u64,
    },
    /// Move it to `failed_dir`: the first problem, and how many there are.
    Reject { first_problem: String, problems: u64 },
    /// Its content is already stored (or is an earlier file's in this inbox): moved, not stored.
    Duplicate { of: String },
    /// It cannot be read (permission denied, an I/O error): a run would move it to `failed_dir`.
    Unreadable { error: String, advice: String },
    /// It disappeared while being looked at.
    Vanished,
}

/// One inbox file and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileVerdict {
    pub file: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl std::fmt::Display for FileVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.verdict {
            Verdict::Store {
                snapshots, corrections, ..
            } => write!(
                f,
                "{}: would store {snapshots} snapshots ({corrections} corrections)",
                self.file
            ),
            Verdict::Reject {
                first_problem,
                problems,
            } => {
                write!(f, "{}: would reject: {first_problem}", self.file)?;
                if *problems > 1 {
                    write!(f, " (and {} more problems)", problems - 1)?;
                }
                Ok(())
            }
            Verdict::Duplicate { of } => write!(f, "{}: duplicate of {of} (would be moved, not stored)", self.file),
            Verdict::Unreadable { error, advice } => {
                write!(f, "{}: would quarantine as unreadable: {error}; {advice}", self.file)
            }
            Verdict::Vanished => write!(f, "{}: gone before it could be read", self.file),
        }
    }
}

/// Looks at every candidate in the inbox, in the order a run would take them. Errors are operational
/// (the inbox or a file cannot be read, the database cannot be queried).
pub async fn check_inbox<S: Storage>(settings: &InboxSettings, store: &S) -> anyhow::Result<Vec<FileVerdict>> {
    let candidates = match scan::scan(&settings.dir) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading the inbox folder {}", settings.dir.display())),
    };
    let mut seen_hashes: HashMap<String, String> = HashMap::new();
    let mut known_users: HashSet<String> = HashSet::new();
    // Current months per user: stored ones, then those earlier files of this run would store.
    let mut months: HashMap<String, HashSet<Period>> = HashMap::new();
    let mut out = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let verdict = match candidate.not_regular {
            Some(what) => reject(Problem::file(format!(
                "a regular file, but this is {what}; goalkeeper never follows links: put the file itself in the inbox"
            ))),
            None => {
                let path = candidate.path.clone();
                let max = settings.max_file_bytes;
                let read = tokio::task::spawn_blocking(move || read(&path, max))
                    .await
                    .context("the validation task stopped")?
                    .with_context(|| format!("reading {}", candidate.path.display()))?;
                judge(
                    read,
                    &candidate.name,
                    settings,
                    store,
                    &mut seen_hashes,
                    &mut known_users,
                    &mut months,
                )
                .await?
            }
        };
        out.push(FileVerdict {
            file: candidate.name,
            verdict,
        });
    }
    Ok(out)
}

fn reject(problem: Problem) -> Verdict {
    let mut all = Problems::default();
    all.push(problem);
    rejected(all)
}

fn rejected(problems: Problems) -> Verdict {
    let (listed, total) = problems.into_listed();
    Verdict::Reject {
        first_problem: listed.first().map(ToString::to_string).unwrap_or_default(),
        problems: total,
    }
}

enum Read {
    Vanished,
    Rejected(Problem),
    Unreadable(super::unreadable::Unreadable),
    Checked(Box<snapshot_file::Checked>),
}

/// Reads and validates a file as a run would, spilling nothing.
fn read(path: &std::path::Path, max: u64) -> io::Result<Read> {
    let file = match open_candidate(path, max)? {
        Opened::File(file, _) => file,
        Opened::Vanished => return Ok(Read::Vanished),
        Opened::Rejected(p) => return Ok(Read::Rejected(p)),
        Opened::Unreadable(e) => return Ok(Read::Unreadable(super::unreadable::Unreadable::opening(e))),
    };
    let mut source = super::unreadable::Noted::new(io::Read::take(file, max + 1));
    let mut checked = match snapshot_file::check(&mut source, &mut io::sink(), &|_| false) {
        Ok(checked) => checked,
        Err(e) if source.failed.is_some() => return Ok(Read::Unreadable(super::unreadable::Unreadable::reading(e))),
        Err(e) => return Err(e),
    };
    if let Some(e) = source.failed {
        return Ok(Read::Unreadable(super::unreadable::Unreadable::reading(e)));
    }
    if checked.size > max {
        checked.problems.push(Problem::file(format!(
            "a file of at most {max} bytes (inbox.max_file_bytes), but it grew past that while being read"
        )));
    }
    Ok(Read::Checked(Box::new(checked)))
}

async fn judge<S: Storage>(
    read: Read,
    name: &str,
    settings: &InboxSettings,
    store: &S,
    seen_hashes: &mut HashMap<String, String>,
    known_users: &mut HashSet<String>,
    months: &mut HashMap<String, HashSet<Period>>,
) -> anyhow::Result<Verdict> {
    let mut checked = match read {
        Read::Vanished => return Ok(Verdict::Vanished),
        Read::Rejected(p) => return Ok(reject(p)),
        Read::Unreadable(why) => {
            return Ok(Verdict::Unreadable {
                error: format!("{} failed with \"{}\"", why.step, why.error),
                advice: why.advice().to_owned(),
            });
        }
        Read::Checked(c) => *c,
    };
    if let Some(sha) = &checked.sha256 {
        if let Some(earlier) = seen_hashes.get(sha) {
            return Ok(Verdict::Duplicate { of: earlier.clone() });
        }
        if let Some(previous) = store.find_ingested_file(sha).await? {
            return Ok(Verdict::Duplicate { of: previous.file_name });
        }
    }
    let unconfirmed: Vec<&str> = checked
        .users
        .iter()
        .map(|u| u.id.as_str())
        .filter(|id| !known_users.contains(*id))
        .collect();
    if !unconfirmed.is_empty() {
        known_users.extend(store.known_user_ids(&unconfirmed).await?);
    }
    for seen in checked.users.iter().filter(|u| !known_users.contains(&u.id)) {
        if !settings.auto_create_users {
            checked.problems.push(seen.unregistered());
        }
    }
    if !checked.problems.is_empty() {
        return Ok(rejected(std::mem::take(&mut checked.problems)));
    }
    // A run would create these users with the file: later files may name them.
    known_users.extend(checked.users.iter().map(|u| u.id.clone()));
    let mut corrections = 0;
    for snapshot in &checked.snapshots {
        let user = snapshot.user_id.as_str();
        if !months.contains_key(user) {
            let stored: HashSet<Period> = store
                .list_snapshots(Some(&UserId::from_trusted(user.to_owned())))
                .await?
                .into_iter()
                .filter(|row| row.is_current)
                .map(|row| row.period)
                .collect();
            months.insert(user.to_owned(), stored);
        }
        if let Some(current) = months.get_mut(user)
            && !current.insert(snapshot.period)
        {
            corrections += 1;
        }
    }
    if let Some(sha) = checked.sha256 {
        seen_hashes.insert(sha, name.to_owned());
    }
    Ok(Verdict::Store {
        snapshots: checked.snapshots.len(),
        corrections,
        lines: checked.lines,
    })
}
