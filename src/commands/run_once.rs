//! `--run-once`: process the inbox, run the time-based alert pass, send the
//! emails that are due, and exit. Each step takes the pass lock (waiting for
//! another goalkeeper process working on the same database) and is recorded
//! in `job_runs`. `--dry-run`: say what a run would do, changing nothing.

use super::{Env, Exit};
use crate::inbox::dry_run::{self, Verdict};
use crate::jobs::{JobContext, LockWait, Ran};
use crate::stop::Stop;
use crate::storage::{AlertStorage, Backend, JobStorage, Storage};
use std::sync::Arc;

pub async fn run(env: &Env) -> anyhow::Result<Exit> {
    let problems = env.settings.validate();
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    crate::with_storage!(&env.settings.database.url, |store| {
        let outcome = process(&store, env).await;
        store.close().await;
        outcome
    })
}

/// What a step that waited for the pass lock did (it always gets the lock).
fn done<T>(ran: Ran<T>) -> anyhow::Result<T> {
    match ran {
        Ran::Done(t) => Ok(t),
        Ran::Skipped => anyhow::bail!("the pass lock was not taken"),
    }
}

async fn process<S: AlertStorage + JobStorage>(store: &S, env: &Env) -> anyhow::Result<Exit> {
    super::open(store).await?;
    let ctx = JobContext::new(store.clone(), Arc::new(env.settings.clone()), env.clock)?;
    let stop = Stop::never();
    let started = std::time::Instant::now();
    let summary = done(ctx.inbox(LockWait::Wait, &stop).await?)?;
    let inbox_ms = started.elapsed().as_millis();
    println!("{summary}");
    if summary.progress_entries > 0 || summary.goals_completed > 0 {
        println!(
            "goals: {} progress entries, {} goals completed, {} alerts",
            summary.progress_entries, summary.goals_completed, summary.alerts
        );
    }
    let started = std::time::Instant::now();
    let pass = done(ctx.evaluate(LockWait::Wait).await?)?;
    let time_pass_ms = started.elapsed().as_millis();
    if pass.0.new_alerts > 0 {
        println!("reminders and deadlines: {} new alerts", pass.0.new_alerts);
    }
    let started = std::time::Instant::now();
    let sent = done(ctx.dispatch(LockWait::Wait, &stop).await?)?;
    let dispatch_ms = started.elapsed().as_millis();
    // The phases, for bench/ingest.sh.
    tracing::debug!(inbox_ms, time_pass_ms, dispatch_ms, "run-once phases (milliseconds)");
    println!("{sent}");
    if summary.failed > 0 || summary.unreadable > 0 {
        if summary.failed > 0 {
            eprintln!(
                "{} file(s) rejected: see the .errors.txt files in {}",
                summary.failed,
                env.settings.inbox.failed_dir.display()
            );
        }
        if summary.unreadable > 0 {
            eprintln!(
                "{} file(s) could not be read and were quarantined: see the .errors.txt files in {}",
                summary.unreadable,
                env.settings.inbox.failed_dir.display()
            );
        }
        Ok(Exit::Rejected)
    } else {
        Ok(Exit::Ok)
    }
}

/// `--run-once --dry-run`: every inbox file's verdict and the deliveries due now. No file is moved,
/// nothing is written to the database (not even migrations). Exit 1 if a file would be rejected.
pub async fn dry_run(env: &Env) -> anyhow::Result<Exit> {
    let problems = env.settings.validate();
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    let url = &env.settings.database.url;
    if Backend::of_url(url) == Some(Backend::Sqlite) {
        // Connecting would create a missing database file.
        let options: sqlx::sqlite::SqliteConnectOptions = url
            .parse()
            .map_err(|e| anyhow::anyhow!("database.url {url:?} is not a valid SQLite URL: {e}"))?;
        let file = options.get_filename();
        if file != std::path::Path::new(":memory:") && !file.exists() {
            anyhow::bail!(
                "there is no database at {} yet; a dry run does not create one (run `goalkeeper migrate` first)",
                file.display()
            );
        }
    }
    // Read-only: the database file is not touched, not even by a checkpoint on close.
    crate::with_storage!(read_only url, |store| {
        let outcome = report(&store, env).await;
        store.close().await;
        outcome
    })
}

async fn report<S: AlertStorage>(store: &S, env: &Env) -> anyhow::Result<Exit> {
    println!("dry run: nothing is moved, stored or sent");
    let verdicts = dry_run::check_inbox(&env.settings.inbox, store).await?;
    let (mut stored, mut snapshots, mut corrections, mut duplicates, mut rejected) = (0, 0, 0, 0, 0);
    for v in &verdicts {
        println!("{v}");
        match &v.verdict {
            Verdict::Store {
                snapshots: s,
                corrections: c,
                ..
            } => {
                stored += 1;
                snapshots += s;
                corrections += c;
            }
            Verdict::Duplicate { .. } => duplicates += 1,
            Verdict::Reject { .. } | Verdict::Unreadable { .. } => rejected += 1,
            Verdict::Vanished => {}
        }
    }
    println!(
        "inbox: {stored} files would be stored ({snapshots} snapshots, {corrections} corrections), \
         {duplicates} duplicates, {rejected} rejected"
    );
    let due = store.due_deliveries(env.clock.now(), i64::MAX).await?.len();
    println!("email: {due} deliveries due now (quiet hours, daily caps and gaps may still hold some back)");
    Ok(if rejected > 0 { Exit::Rejected } else { Exit::Ok })
}
