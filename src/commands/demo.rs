//! `demo`: the quick start. Builds a throw-away installation in its own
//! folder (never the configured database), registers the sample users, drops
//! the sample inbox plus one broken file into it, processes it and shows the
//! result the way an operator would look at it.

use super::{Env, Exit, users};
use crate::clock::Clock;
use crate::config::{DatabaseSettings, InboxSettings, Settings};
use crate::inbox::InboxRun;
use crate::storage::{SqliteStore, Storage};
use anyhow::{Context, bail};
use std::fs;
use std::path::Path;

/// Marks a folder as the demo's own, so re-running may wipe it.
const MARKER: &str = ".goalkeeper-demo";
/// The broken sample file the demo adds, to show what a rejection looks like.
const BROKEN: &str = "thousands_separator.csv";

pub async fn run(dir: &Path, fixtures: &Path, clock: Clock) -> anyhow::Result<Exit> {
    let users_csv = fixtures.join("users.csv");
    let sample_inbox = fixtures.join("inbox");
    if !users_csv.is_file() || !sample_inbox.is_dir() {
        bail!(
            "sample data not found in {}: run the demo from the goalkeeper source folder, or pass --fixtures DIR",
            fixtures.display()
        );
    }
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            bail!(
                "{} exists and is not a goalkeeper demo folder: choose another with --dir",
                dir.display()
            );
        }
        fs::remove_dir_all(dir).with_context(|| format!("clearing the previous demo in {}", dir.display()))?;
    }
    let inbox = InboxSettings {
        dir: dir.join("inbox"),
        processed_dir: dir.join("inbox/processed"),
        failed_dir: dir.join("inbox/failed"),
        max_file_bytes: 256 * 1024 * 1024,
        auto_create_users: false,
    };
    fs::create_dir_all(&inbox.dir).with_context(|| format!("creating {}", inbox.dir.display()))?;
    fs::write(
        dir.join(MARKER),
        "This folder belongs to `goalkeeper demo` and is re-created by it.\n",
    )?;

    let url = format!("sqlite://{}", dir.join("goalkeeper.db").display());
    let store = SqliteStore::connect(&url).await?;
    store.migrate().await?;
    let now = clock.now();
    let tz = chrono_tz::Tz::UTC;

    let people = users::read_import(fs::File::open(&users_csv)?, tz)
        .map_err(|p| anyhow::anyhow!("the sample {} is invalid ({} problems)", users_csv.display(), p.total()))?;
    store.upsert_users(&people, now).await?;
    println!("1. Registered {} users from {}", people.len(), users_csv.display());

    let mut copied = 0;
    for entry in fs::read_dir(&sample_inbox)? {
        let entry = entry?;
        fs::copy(entry.path(), inbox.dir.join(entry.file_name()))?;
        copied += 1;
    }
    let broken = fixtures.join("invalid").join(BROKEN);
    if broken.is_file() {
        fs::copy(&broken, inbox.dir.join(BROKEN))?;
        copied += 1;
    }
    println!("2. Dropped {copied} snapshot files into {}", inbox.dir.display());

    let summary = InboxRun {
        settings: &inbox,
        default_tz: tz,
        now,
        base_url: "",
    }
    .process(&store)
    .await?;
    println!("3. Processed the inbox (what `goalkeeper --run-once` does):\n   {summary}\n");

    let rows = store.list_snapshots(None).await?;
    let current = rows.iter().filter(|r| r.is_current).count();
    println!(
        "   {} snapshots stored ({current} current, {} kept as history)",
        rows.len(),
        rows.len() - current
    );
    if let Some(ben) = store
        .get_snapshot(&crate::domain::UserId::from_trusted("ben".into()), "2025-06".parse()?)
        .await?
    {
        let s = &ben.summary;
        println!(
            "   ben's June 2025 is version {} of {} (corrected by {}): income {}, expenses {}, net worth {}",
            ben.row.version,
            ben.versions,
            ben.row.file_name,
            s.total_income.grouped(),
            s.total_expenses.grouped(),
            s.net_worth.grouped()
        );
    }
    let errors = crate::inbox::moves::errors_path(&inbox.failed_dir.join(BROKEN));
    if let Ok(text) = fs::read_to_string(&errors) {
        println!("\n4. One file was rejected; its explanation, {}:\n", errors.display());
        for line in text.lines() {
            println!("   | {line}");
        }
    }
    let goals_csv = fixtures.join("goals.csv");
    if goals_csv.is_file() {
        // The sample data is a past year: judge the goals as of the day after
        // its last month (unless --now says otherwise), not months later.
        let clock = match (clock, rows.iter().map(|r| r.period).max()) {
            (Clock::System, Some(last)) => last
                .add_months(1)
                .and_then(|p| p.first_day().and_hms_opt(9, 0, 0))
                .map_or(clock, |t| Clock::Fixed(t.and_utc())),
            _ => clock,
        };
        println!(
            "\n5. Goals from {}, tracked over the stored months, as of {}:\n",
            goals_csv.display(),
            clock.now().date_naive()
        );
        let mut settings = Settings::builtin()?;
        settings.database = DatabaseSettings { url: url.clone() };
        settings.inbox = inbox.clone();
        let env = Env {
            settings,
            config_file: None,
            clock,
        };
        super::goals::import(&store, &env, &goals_csv).await?;
        println!();
        super::goals::dashboard(&store, &env, None, false).await?;
    }
    println!(
        "\nLook around with the demo's settings, for example:\n  \
         GOALKEEPER__DATABASE__URL={url} cargo run -- snapshots show ana 2025-12\n  \
         GOALKEEPER__DATABASE__URL={url} cargo run -- goals show ana-efund"
    );
    store.close().await;
    Ok(Exit::Ok)
}
