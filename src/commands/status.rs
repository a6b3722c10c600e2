//! `goalkeeper status [--json]`: is the database reachable, what waits in the inbox, how many files
//! failed, where the email deliveries stand, and how each job's last run went, by each instance that ran it. Exit 0 when the
//! database answered, 2 when it did not (the rest is still reported).

use super::output::table;
use super::{Env, Exit};
use crate::auth::issue::TokenCounts;
use crate::inbox::scan;
use crate::storage::{AlertStorage, Backend, DeliveryStatus, JobRun, JobStorage, Storage, TokenStorage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, serde::Serialize)]
struct Report {
    database: Database,
    inbox: Inbox,
    /// `None` when the database did not answer.
    deliveries: Option<BTreeMap<DeliveryStatus, i64>>,
    /// The latest run of each job.
    jobs: Option<Vec<JobRun>>,
    /// The latest run of each job by each instance that ran it (several daemons on one PostgreSQL
    /// database; a restarted daemon is a new instance): by job, the most recent first.
    instances: Option<Vec<JobRun>>,
    /// API tokens by status now (never the tokens).
    tokens: Option<crate::auth::issue::TokenCounts>,
}

#[derive(Debug, serde::Serialize)]
struct Database {
    backend: Option<&'static str>,
    reachable: bool,
    error: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct Inbox {
    dir: String,
    /// Files waiting to be processed (`None`: the folder cannot be read).
    waiting: Option<usize>,
    failed_dir: String,
    /// Rejected files in failed_dir (without their .errors.txt), the unreadable ones included.
    failed: Option<usize>,
    /// Of those, files quarantined because they could not be read (their .errors.txt says so).
    unreadable: Option<usize>,
    /// Why a folder could not be read.
    error: Option<String>,
}

pub async fn run(env: &Env, json: bool) -> anyhow::Result<Exit> {
    let url = &env.settings.database.url;
    let backend = Backend::of_url(url);
    // In a block of its own: a failed connection is part of the report, not the end of the command.
    let from_db = async {
        crate::with_storage!(url, |store| {
            let outcome = query(&store, env.clock.now()).await;
            store.close().await;
            outcome
        })
    }
    .await;
    let (deliveries, jobs, instances, tokens, error) = match from_db {
        Ok(found) => (
            Some(found.deliveries),
            Some(found.jobs),
            Some(found.instances),
            Some(found.tokens),
            None,
        ),
        Err(e) => (None, None, None, None, Some(format!("{e:#}"))),
    };
    let report = Report {
        database: Database {
            backend: backend.map(|b| match b {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }),
            reachable: error.is_none(),
            error: error.clone(),
        },
        inbox: inbox(&env.settings.inbox.dir, &env.settings.inbox.failed_dir),
        deliveries,
        jobs,
        instances,
        tokens,
    };
    if json {
        super::output::json(&report)?;
    } else {
        print_text(&report);
    }
    match error {
        None => Ok(Exit::Ok),
        Some(e) => anyhow::bail!("the database did not answer: {e}"),
    }
}

/// What `status` reads from the database.
struct FromDb {
    deliveries: BTreeMap<DeliveryStatus, i64>,
    jobs: Vec<JobRun>,
    instances: Vec<JobRun>,
    tokens: TokenCounts,
}

async fn query<S: AlertStorage + JobStorage + TokenStorage>(store: &S, now: DateTime<Utc>) -> anyhow::Result<FromDb> {
    super::open(store).await?;
    Ok(FromDb {
        tokens: crate::auth::issue::counts(store, now).await?,
        deliveries: store.delivery_counts().await?,
        jobs: store.last_runs().await?,
        instances: store.last_runs_by_instance().await?,
    })
}

fn inbox(dir: &Path, failed_dir: &Path) -> Inbox {
    let mut errors = Vec::new();
    let mut count = |dir: &Path, what: &str| match scan::scan(dir) {
        Ok(found) => Some(found.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
        Err(e) => {
            errors.push(format!("{what} {}: {e}", dir.display()));
            None
        }
    };
    let waiting = count(dir, "reading the inbox");
    let failed = count(failed_dir, "reading failed_dir");
    let unreadable = failed.map(|_| {
        scan::scan(failed_dir)
            .unwrap_or_default()
            .iter()
            .filter(|c| crate::inbox::unreadable::was_quarantined_as_unreadable(&c.path))
            .count()
    });
    Inbox {
        dir: dir.display().to_string(),
        waiting,
        failed_dir: failed_dir.display().to_string(),
        failed,
        unreadable,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

fn print_text(r: &Report) {
    let backend = r.database.backend.unwrap_or("unknown");
    match &r.database.error {
        None => println!("database: {backend}, reachable"),
        Some(e) => println!("database: {backend}, NOT reachable: {e}"),
    }
    let shown = |n: Option<usize>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    let unreadable = match r.inbox.unreadable {
        Some(n) if n > 0 => format!(" ({n} of them unreadable: fix their permissions or disk, then move them back)"),
        _ => String::new(),
    };
    println!(
        "inbox: {} files waiting in {}, {} failed in {}{unreadable}",
        shown(r.inbox.waiting),
        r.inbox.dir,
        shown(r.inbox.failed),
        r.inbox.failed_dir
    );
    if let Some(e) = &r.inbox.error {
        println!("inbox: {e}");
    }
    if let Some(d) = &r.deliveries {
        let parts: Vec<String> = d.iter().map(|(s, n)| format!("{n} {s}")).collect();
        println!("deliveries: {}", parts.join(", "));
    }
    if let Some(t) = &r.tokens {
        println!(
            "API tokens: {} active, {} expired, {} revoked",
            t.active, t.expired, t.revoked
        );
    }
    // Every instance's latest run of each job (one row per job when a single process runs them).
    if let Some(jobs) = r.instances.as_ref().or(r.jobs.as_ref()) {
        if jobs.is_empty() {
            println!("jobs: none has run yet");
            return;
        }
        let instances: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.instance.as_str()).collect();
        println!(
            "jobs: the last run of each job by each of {} instance(s)",
            instances.len()
        );
        let rows: Vec<Vec<String>> = jobs
            .iter()
            .map(|j| {
                let outcome = match j.ok {
                    Some(true) => "ok",
                    Some(false) => "failed",
                    None => "unfinished",
                };
                vec![
                    j.job.clone(),
                    j.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    j.finished_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    outcome.to_owned(),
                    j.instance.clone(),
                    j.summary.as_ref().map(compact).unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &[
                    "job",
                    "started (UTC)",
                    "finished (UTC)",
                    "outcome",
                    "instance",
                    "summary"
                ],
                &rows
            )
        );
    }
}

/// `{"files":1,"failed":0}` as `files=1 failed=0`; an error as its message.
fn compact(summary: &serde_json::Value) -> String {
    match summary {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}
