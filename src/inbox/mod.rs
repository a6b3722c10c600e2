//! The snapshot inbox: every `*.csv` file dropped into `[inbox] dir` is
//! validated completely, then stored in one transaction and moved to
//! `processed_dir`, or moved to `failed_dir` with `NAME.errors.txt`.
//!
//! Crash safety comes from the order of steps: a file is only moved after its
//! transaction commits, and its content hash is stored in that transaction, so
//! a file found again after a crash is recognised and just moved.

pub mod dry_run;
pub mod moves;
pub mod scan;
pub mod snapshot_file;
pub mod spill;
pub mod unreadable;

use crate::config::InboxSettings;
use crate::domain::{User, UserId};
use crate::stop::Stop;
use crate::storage::{AlertStorage, IngestBatch, IngestError, LineChunks, NewFile};
use crate::tabular::{Problem, Problems};
use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Instant;
use tracing::Instrument;

/// What one run over the inbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboxSummary {
    /// Files stored (not counting duplicates or failures).
    pub files: usize,
    pub snapshots: usize,
    pub corrections: usize,
    pub lines: u64,
    /// Files whose content was already stored: moved, not stored again.
    pub duplicates: usize,
    /// Files moved to `failed_dir` because their content was rejected.
    pub failed: usize,
    /// Files moved to `failed_dir` because they could not be read (permission denied, an I/O error).
    #[serde(default)]
    pub unreadable: usize,
    /// Goal progress entries written for the stored files.
    pub progress_entries: usize,
    /// Goals that reached their target with these files.
    pub goals_completed: usize,
    /// Alerts the new progress raised (stored once each).
    pub alerts: usize,
}

impl std::fmt::Display for InboxSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "inbox: {} files processed, {} snapshots stored, {} corrections, {} duplicates, {} failed",
            self.files, self.snapshots, self.corrections, self.duplicates, self.failed
        )?;
        if self.unreadable > 0 {
            write!(f, ", {} unreadable", self.unreadable)?;
        }
        Ok(())
    }
}

/// How a single file ended.
enum Outcome {
    Stored {
        snapshots: usize,
        corrections: usize,
        lines: u64,
        /// What goal sync did with the file.
        goals: crate::goals::SyncSummary,
    },
    Duplicate,
    Failed,
    /// Quarantined: it could not be read.
    Unreadable,
}

/// Everything a run needs besides storage.
pub struct InboxRun<'a> {
    pub settings: &'a InboxSettings,
    pub default_tz: Tz,
    pub now: DateTime<Utc>,
    /// `[email] base_url`, for the action links of the alerts raised.
    pub base_url: &'a str,
}

impl InboxRun<'_> {
    /// Processes every candidate file once, oldest name first. Errors are
    /// operational (inbox unreadable, database down): the file being worked
    /// on stays in the inbox, untouched in the database.
    pub async fn process<S: AlertStorage>(&self, store: &S) -> anyhow::Result<InboxSummary> {
        self.process_until(store, &Stop::never()).await
    }

    /// [`process`](Self::process), stopping between files when `stop` is requested: the file being
    /// stored is finished (its transaction committed and the file moved), the rest wait for the next run.
    pub async fn process_until<S: AlertStorage>(&self, store: &S, stop: &Stop) -> anyhow::Result<InboxSummary> {
        let s = self.settings;
        for dir in [&s.dir, &s.processed_dir, &s.failed_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the folder {}", dir.display()))?;
        }
        let candidates = scan::scan(&s.dir).with_context(|| format!("reading the inbox folder {}", s.dir.display()))?;
        let mut summary = InboxSummary::default();
        // Reading and validating a file needs no database, so the next file
        // is prepared on a blocking thread while this one is stored.
        let max = s.max_file_bytes;
        let mut ahead: Option<Ahead> = None;
        // Users confirmed registered during this run: consecutive monthly
        // files name the same people, so each is looked up once per run.
        let mut known_users: HashSet<String> = HashSet::new();
        let mut sync = crate::goals::RunSync::start(store, crate::goals::Alerter::new(self.base_url)).await?;
        if let Some(first) = candidates.iter().find(|c| c.not_regular.is_none()) {
            sync.prefetch_for(store, first.len);
        }
        let wanted = sync.wanted.clone();
        for (i, candidate) in candidates.iter().enumerate() {
            if stop.is_requested() {
                tracing::info!(
                    files_left = candidates.len() - i,
                    "stopping: the files left stay in the inbox for the next run"
                );
                break;
            }
            let started = Instant::now();
            let span = tracing::info_span!("inbox_file", file = %candidate.name);
            let current = ahead
                .take()
                .or_else(|| spawn_prepare(candidate, max, &s.dir, &wanted).map(Ahead::Running));
            let next = candidates.get(i + 1).filter(|_| !stop.is_requested());
            ahead = next.and_then(|next| spawn_prepare(next, max, &s.dir, &wanted).map(Ahead::Running));
            let next = Next {
                name: next.map_or("", |n| n.name.as_str()),
                ahead: &mut ahead,
            };
            // The span is attached to the future (not entered across awaits), so the run stays Send.
            let outcome = async {
                tracing::debug!("reading");
                let outcome = match (candidate.not_regular, current) {
                    (Some(what), _) => {
                        let problem = Problem::file(format!(
                            "a regular file, but this is {what}; goalkeeper never follows links: put the file itself in the inbox"
                        ));
                        self.fail(&candidate.path, &candidate.name, problem)?
                    }
                    (None, Some(pending)) => {
                        let prepared = pending
                            .wait()
                            .await
                            .context("the validation task stopped")?
                            .with_context(|| format!("reading {}", candidate.path.display()))?;
                        match self
                            .store_prepared(
                                store,
                                candidate,
                                prepared,
                                &mut known_users,
                                &mut sync,
                                next,
                            )
                            .await?
                        {
                            Some(outcome) => outcome,
                            None => return Ok(None),
                        }
                    }
                    (None, None) => return Ok(None),
                };
                if let Outcome::Stored {
                    snapshots,
                    corrections,
                    lines,
                    goals,
                } = &outcome
                {
                    tracing::info!(
                        snapshots,
                        corrections,
                        lines,
                        ms = started.elapsed().as_millis(),
                        progress_entries = goals.entries,
                        alerts = goals.alerts,
                        "stored"
                    );
                }
                anyhow::Ok(Some(outcome))
            }
            .instrument(span)
            .await?;
            match outcome {
                Some(Outcome::Stored {
                    snapshots,
                    corrections,
                    lines,
                    goals,
                }) => {
                    summary.progress_entries += goals.entries;
                    summary.alerts += goals.alerts;
                    summary.goals_completed += goals.completed;
                    summary.files += 1;
                    summary.snapshots += snapshots;
                    summary.corrections += corrections;
                    summary.lines += lines;
                }
                Some(Outcome::Duplicate) => summary.duplicates += 1,
                Some(Outcome::Failed) => summary.failed += 1,
                Some(Outcome::Unreadable) => summary.unreadable += 1,
                None => {}
            }
        }
        Ok(summary)
    }

    /// Stores a prepared file, or rejects it; `None` when it vanished.
    async fn store_prepared<S: AlertStorage>(
        &self,
        store: &S,
        candidate: &scan::Candidate,
        prepared: Prepared,
        known_users: &mut HashSet<String>,
        sync: &mut crate::goals::RunSync,
        mut next: Next<'_>,
    ) -> anyhow::Result<Option<Outcome>> {
        let (path, name) = (candidate.path.as_path(), candidate.name.as_str());
        let (file, modified, mut checked, spill) = match prepared {
            Prepared::Vanished => return Ok(None),
            Prepared::Rejected(problem) => return self.fail(path, name, problem).map(Some),
            Prepared::Unreadable(why) => return self.quarantine(path, name, &why).map(Some),
            Prepared::Read {
                file,
                modified,
                checked,
                spill,
            } => (file, modified, *checked, spill),
        };

        let known = match &checked.sha256 {
            Some(sha) => store.find_ingested_file(sha).await?,
            None => None,
        };
        if let Some(previous) = known {
            tracing::info!(first_seen_as = %previous.file_name, at = %previous.ingested_at, "duplicate content: already stored, not storing again");
            self.move_done(path, name)?;
            return Ok(Some(Outcome::Duplicate));
        }

        let mut create_users = Vec::new();
        if !checked.users.is_empty() {
            let unconfirmed: Vec<&str> = checked
                .users
                .iter()
                .map(|u| u.id.as_str())
                .filter(|id| !known_users.contains(*id))
                .collect();
            known_users.extend(store.known_user_ids(&unconfirmed).await?);
            for seen in checked.users.iter().filter(|u| !known_users.contains(&u.id)) {
                if self.settings.auto_create_users {
                    create_users.push(User {
                        id: UserId::from_trusted(seen.id.clone()),
                        email: None,
                        display_name: None,
                        timezone: self.default_tz,
                    });
                } else {
                    checked.problems.push(seen.unregistered());
                }
            }
        }
        if !checked.problems.is_empty() {
            let problems = std::mem::take(&mut checked.problems);
            return self.fail_with(path, name, problems).map(Some);
        }

        let new_file = NewFile {
            sha256: checked.sha256.clone().unwrap_or_default(),
            file_name: name.to_owned(),
            size_bytes: checked.size,
            line_count: checked.lines,
        };
        // The last check before commit: the file is still what was validated.
        let validated_size = checked.size;
        let unchanged = move || unchanged_since(&file, validated_size, modified);
        let mut lines = LineChunks::spawn(spill::SpillReader::new(spill, unchanged));
        let snapshots = std::mem::take(&mut checked.snapshots);
        let planning = Instant::now();
        let summaries = std::mem::take(&mut checked.summaries);
        // Tracked ahead while the previous file was stored, or started now.
        let pending = match sync.take_speculation(name).await {
            crate::goals::Speculated::Tracking(pending) => pending,
            crate::goals::Speculated::NotStarted(summaries) => sync.start_plan(store, &snapshots, summaries).await?,
            crate::goals::Speculated::None => sync.start_plan(store, &snapshots, summaries).await?,
        };
        let plan_ms = planning.elapsed().as_millis();
        // Tracking runs while the lines are stored; its writes follow them,
        // and meanwhile the next file's tracking starts.
        let planned = async {
            let mut plan = pending.finish(store, &mut sync.alerter).await?;
            next.speculate(sync, &mut plan).await;
            Ok(plan)
        };
        match store
            .ingest_file_planned(
                IngestBatch {
                    file: &new_file,
                    create_users: &create_users,
                    snapshots: &snapshots,
                    progress: &[],
                    completed: &[],
                    alerts: &[],
                },
                &mut lines,
                planned,
                self.now,
            )
            .await
        {
            Ok((stored, plan)) => {
                if !create_users.is_empty() {
                    tracing::info!(users = create_users.len(), "created users named in the file");
                }
                self.move_done(path, name)?;
                let after = Instant::now();
                let goals = sync.committed(store, plan, &snapshots, self.now).await?;
                tracing::debug!(plan_ms, after_commit_ms = after.elapsed().as_millis(), "goal sync");
                Ok(Some(Outcome::Stored {
                    snapshots: stored.snapshots,
                    corrections: stored.corrections,
                    lines: stored.lines,
                    goals,
                }))
            }
            // The next file's tracking started from this file's plan: it is void now.
            Err(e) => {
                sync.abandon().await;
                self.not_stored(path, name, e)
            }
        }
    }

    /// A file whose transaction did not commit.
    fn not_stored(&self, path: &Path, name: &str, e: IngestError) -> anyhow::Result<Option<Outcome>> {
        match e {
            IngestError::AlreadyIngested => {
                tracing::info!("duplicate content: stored meanwhile by another run");
                self.move_done(path, name)?;
                Ok(Some(Outcome::Duplicate))
            }
            IngestError::Source(e) => self.fail(path, name, Problem::file(format!("{e:#}"))).map(Some),
            IngestError::Database(e) => Err(e.context(format!("storing {name}"))),
        }
    }

    fn move_done(&self, path: &Path, name: &str) -> anyhow::Result<()> {
        let to = moves::move_unique(path, &self.settings.processed_dir, name)
            .with_context(|| format!("moving {name} to {}", self.settings.processed_dir.display()))?;
        tracing::debug!(to = %to.display(), "moved to processed");
        Ok(())
    }

    /// Moves a file that cannot be read to `failed_dir` (a rename needs no read access) with a report
    /// of what failed and what to do.
    fn quarantine(&self, path: &Path, name: &str, why: &unreadable::Unreadable) -> anyhow::Result<Outcome> {
        let to = moves::move_failed(path, &self.settings.failed_dir, name, &why.report(name)).with_context(|| {
            format!(
                "moving the unreadable file {name} to {}",
                self.settings.failed_dir.display()
            )
        })?;
        tracing::warn!(
            step = why.step,
            error = %why.error,
            errors = %moves::errors_path(&to).display(),
            "cannot be read: quarantined in failed_dir; the next files go on"
        );
        Ok(Outcome::Unreadable)
    }

    fn fail(&self, path: &Path, name: &str, problem: Problem) -> anyhow::Result<Outcome> {
        let mut all = Problems::default();
        all.push(problem);
        self.fail_with(path, name, all)
    }

    fn fail_with(&self, path: &Path, name: &str, problems: Problems) -> anyhow::Result<Outcome> {
        let (listed, total) = problems.into_listed();
        let report = error_report(name, &listed, total);
        let to = moves::move_failed(path, &self.settings.failed_dir, name, &report)
            .with_context(|| format!("moving {name} to {}", self.settings.failed_dir.display()))?;
        let first = listed.first().map(ToString::to_string).unwrap_or_default();
        tracing::warn!(problems = total, first = %first, errors = %moves::errors_path(&to).display(), "rejected; nothing from it was stored");
        Ok(Outcome::Failed)
    }
}

type Pending = tokio::task::JoinHandle<io::Result<Prepared>>;

/// The next file: being prepared, or prepared already (taken out early to
/// start tracking its goals, see [`crate::goals::RunSync::speculate`]).
enum Ahead {
    Running(Pending),
    Ready(Result<io::Result<Prepared>, tokio::task::JoinError>),
}

impl Ahead {
    async fn wait(self) -> Result<io::Result<Prepared>, tokio::task::JoinError> {
        match self {
            Ahead::Running(pending) => pending.await,
            Ahead::Ready(prepared) => prepared,
        }
    }
}

/// The next file, for [`crate::goals::RunSync::speculate`]: its name and where its preparation stands.
struct Next<'n> {
    name: &'n str,
    ahead: &'n mut Option<Ahead>,
}

impl Next<'_> {
    /// Starts tracking the next file's goals if it is read already and
    /// valid; never waits for it.
    async fn speculate(&mut self, sync: &mut crate::goals::RunSync, plan: &mut crate::goals::FilePlan) {
        let Some(Ahead::Running(pending)) = self
            .ahead
            .take_if(|a| matches!(a, Ahead::Running(p) if p.is_finished()))
        else {
            return;
        };
        let mut prepared = pending.await;
        if let Ok(Ok(Prepared::Read { checked, .. })) = &mut prepared {
            if checked.problems.is_empty() {
                sync.speculate(plan, self.name, &checked.snapshots, &mut checked.summaries);
            }
        }
        *self.ahead = Some(Ahead::Ready(prepared));
    }
}

/// Fails if `file` is no longer the size it was validated at, or was modified
/// since it was opened: someone wrote into it in place.
fn unchanged_since(file: &File, size: u64, modified: std::time::SystemTime) -> anyhow::Result<()> {
    let meta = file.metadata()?;
    if meta.len() != size || meta.modified()? != modified {
        anyhow::bail!(
            "the file changed while it was being stored; nothing of it was stored. Write files under a .part or .tmp \
             name and rename them when complete"
        );
    }
    Ok(())
}

/// What reading a file on its own, without the database, found.
enum Prepared {
    /// It was removed before it could be opened.
    Vanished,
    /// It cannot be read as a snapshot file at all.
    Rejected(Problem),
    /// Opening or reading it failed (permission denied, an I/O error).
    Unreadable(unreadable::Unreadable),
    Read {
        file: File,
        /// When the file was last modified as it was opened.
        modified: std::time::SystemTime,
        checked: Box<snapshot_file::Checked>,
        /// The validated lines, ready to store (see [`spill`]).
        spill: File,
    },
}

/// Starts preparing a regular candidate on a blocking thread.
fn spawn_prepare(
    candidate: &scan::Candidate,
    max: u64,
    spill_dir: &Path,
    wanted: &std::sync::Arc<HashSet<String>>,
) -> Option<Pending> {
    let path = candidate.path.clone();
    let spill_dir = spill_dir.to_path_buf();
    let wanted = wanted.clone();
    candidate
        .not_regular
        .is_none()
        .then(|| tokio::task::spawn_blocking(move || prepare(&path, max, &spill_dir, &wanted)))
}

/// Opens a file without following links, checks its size, then reads it
/// once: hashing, validating and spilling its lines to an unnamed temporary
/// file in `spill_dir` (gone with the process, whatever happens). A file that
/// cannot be opened or read is [`Prepared::Unreadable`]; errors are operational
/// (the spill file cannot be written, no file descriptor left).
fn prepare(path: &Path, max: u64, spill_dir: &Path, wanted: &HashSet<String>) -> io::Result<Prepared> {
    let (file, meta) = match open_candidate(path, max)? {
        Opened::File(file, meta) => (file, meta),
        Opened::Vanished => return Ok(Prepared::Vanished),
        Opened::Rejected(p) => return Ok(Prepared::Rejected(p)),
        Opened::Unreadable(e) => return Ok(Prepared::Unreadable(unreadable::Unreadable::opening(e))),
    };
    let modified = meta.modified()?;
    let mut spill = io::BufWriter::with_capacity(256 * 1024, tempfile::tempfile_in(spill_dir)?);
    let wants_summary = |user: &str| wanted.contains(user);
    let mut source = unreadable::Noted::new(io::Read::take(file.try_clone()?, max + 1));
    let mut checked = match snapshot_file::check(&mut source, &mut spill, &wants_summary) {
        Ok(checked) => checked,
        Err(e) if source.failed.is_some() => return Ok(Prepared::Unreadable(unreadable::Unreadable::reading(e))),
        Err(e) => return Err(e),
    };
    if let Some(e) = source.failed {
        return Ok(Prepared::Unreadable(unreadable::Unreadable::reading(e)));
    }
    let mut spill = spill.into_inner().map_err(io::IntoInnerError::into_error)?;
    io::Seek::rewind(&mut spill)?;
    if checked.size > max {
        checked.problems.push(Problem::file(format!(
            "a file of at most {max} bytes (inbox.max_file_bytes), but it grew past that while being read"
        )));
    }
    Ok(Prepared::Read {
        file,
        modified,
        checked: Box::new(checked),
        spill,
    })
}

/// What opening a candidate found.
enum Opened {
    File(File, std::fs::Metadata),
    /// It was removed before it could be opened.
    Vanished,
    /// Not a regular file, or too large.
    Rejected(Problem),
    /// It exists but cannot be opened (permission denied, an I/O error).
    Unreadable(io::Error),
}

/// Opens a candidate without following links and checks that it is a regular file of at most `max`
/// bytes. Errors are operational (no file descriptor left, out of memory); a file that cannot be
/// opened is [`Opened::Unreadable`].
fn open_candidate(path: &Path, max: u64) -> io::Result<Opened> {
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::Vanished),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let p = Problem::file("a regular file, but this is a symbolic link; goalkeeper never follows links");
            return Ok(Opened::Rejected(p));
        }
        Err(e) if is_operational(&e) => return Err(e),
        Err(e) => return Ok(Opened::Unreadable(e)),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) if is_operational(&e) => return Err(e),
        Err(e) => return Ok(Opened::Unreadable(e)),
    };
    if !meta.is_file() {
        return Ok(Opened::Rejected(Problem::file(
            "a regular file, but this is a FIFO, socket or device",
        )));
    }
    if meta.len() > max {
        return Ok(Opened::Rejected(Problem::file(format!(
            "a file of at most {max} bytes (inbox.max_file_bytes), but this one has {} bytes",
            meta.len()
        ))));
    }
    Ok(Opened::File(file, meta))
}

/// Errors that say nothing about the file but about the process (out of file descriptors or
/// memory): the pass stops and the file stays in the inbox for the next run.
fn is_operational(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EINTR)
    )
}

/// Opens without following a symlink (`O_NOFOLLOW`) and without blocking on a
/// FIFO (`O_NONBLOCK`; harmless for regular files).
fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// The text of `NAME.errors.txt`.
pub fn error_report(name: &str, listed: &[Problem], total: u64) -> String {
    let noun = if total == 1 { "problem" } else { "problems" };
    let mut out = format!(
        "goalkeeper rejected {name}: {total} {noun}. Nothing from this file was stored.\n\
         Fix the file and drop it into the inbox again.\n\n"
    );
    for p in listed {
        out.push_str(&p.to_string());
        out.push('\n');
    }
    let rest = total.saturating_sub(listed.len() as u64);
    if rest > 0 {
        out.push_str(&format!(
            "... and {rest} more {}\n",
            if rest == 1 { "problem" } else { "problems" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_written_to_after_validation_is_noticed_before_commit() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"user_id,period\n").unwrap();
        let meta = file.metadata().unwrap();
        let (size, modified) = (meta.len(), meta.modified().unwrap());
        assert!(unchanged_since(&file, size, modified).is_ok());
        file.write_all(b"u1,2025-01\n").unwrap();
        let err = unchanged_since(&file, size, modified).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the file changed while it was being stored"),
            "{err}"
        );
    }

    #[test]
    fn a_file_whose_read_fails_with_an_io_error_is_prepared_as_unreadable_not_as_an_operational_error() {
        // /proc/self/mem is a regular file that opens but whose first read fails with EIO (offset 0 is
        // never mapped): a real I/O error from the kernel, no mock needed.
        let spill = tempfile::tempdir().unwrap();
        let prepared = prepare(Path::new("/proc/self/mem"), 1 << 20, spill.path(), &HashSet::new()).unwrap();
        match prepared {
            Prepared::Unreadable(why) => {
                assert_eq!(why.step, "reading");
                assert_eq!(why.error.raw_os_error(), Some(libc::EIO), "{}", why.error);
            }
            _ => panic!("expected the file to be unreadable"),
        }
    }

    #[test]
    fn the_errors_report_counts_what_it_does_not_list() {
        let listed = vec![Problem::line(2, "x")];
        let report = error_report("a.csv", &listed, 3);
        assert!(report.starts_with("goalkeeper rejected a.csv: 3 problems. Nothing from this file was stored."));
        assert!(
            report.ends_with("line 2: expected x\n... and 2 more problems\n"),
            "{report}"
        );
    }
}
