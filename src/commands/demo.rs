//! `demo`: the quick start. Builds a throw-away installation in its own
//! folder (never the configured database), registers the sample users and
//! goals, then replays the sample year month by month with a moving clock:
//! each month's file is dropped into the inbox and processed, deadlines and
//! reminders are checked, and the emails that are due go out (as `.eml` files
//! in the demo's outbox, or to the SMTP server `[email]` names). It ends with
//! the dashboard and the emails that were sent.

use super::{Env, Exit, users};
use crate::clock::Clock;
use crate::config::{DatabaseSettings, InboxSettings, Settings, TransportKind};
use crate::goals::Alerter;
use crate::inbox::InboxRun;
use crate::storage::{AlertFilter, AlertStorage, SqliteStore, Storage};
use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Marks a folder as the demo's own, so re-running may wipe it.
const MARKER: &str = ".goalkeeper-demo";
/// The broken sample file the demo adds, to show what a rejection looks like.
const BROKEN: &str = "thousands_separator.csv";
/// When each month's file arrives: this long after the month ends (07:00 UTC
/// on the 2nd), then the outbox is sent again twice that day, so users
/// around the world are reached outside their quiet hours.
const ARRIVAL: TimeDelta = TimeDelta::hours(24 + 7);
const LATER_SENDS: [TimeDelta; 2] = [TimeDelta::hours(6), TimeDelta::hours(14)];

/// The sample inbox's files by month (`snapshots-YYYY-MM*.csv`), in order.
fn files_by_month(sample_inbox: &Path) -> anyhow::Result<BTreeMap<crate::domain::Period, Vec<PathBuf>>> {
    let mut months: BTreeMap<crate::domain::Period, Vec<PathBuf>> = BTreeMap::new();
    for entry in fs::read_dir(sample_inbox)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let month = name
            .strip_prefix("snapshots-")
            .and_then(|rest| rest.get(..7))
            .and_then(|m| m.parse().ok());
        match month {
            Some(m) if name.ends_with(".csv") => months.entry(m).or_default().push(path),
            _ => {}
        }
    }
    for files in months.values_mut() {
        files.sort();
    }
    Ok(months)
}

pub async fn run(dir: &Path, fixtures: &Path, mut settings: Settings) -> anyhow::Result<Exit> {
    let users_csv = fixtures.join("users.csv");
    let goals_csv = fixtures.join("goals.csv");
    let sample_inbox = fixtures.join("inbox");
    if !users_csv.is_file() || !goals_csv.is_file() || !sample_inbox.is_dir() {
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
    settings.database = DatabaseSettings { url: url.clone() };
    settings.inbox = inbox.clone();
    if settings.email.base_url.is_empty() {
        settings.email.base_url = "https://goals.example.org".to_owned();
    }
    if settings.email.transport == TransportKind::File {
        settings.email.file.dir = dir.join("outbox");
    }
    let problems = settings.validate();
    if !problems.is_empty() {
        bail!("invalid configuration for the demo: {}", problems.join("; "));
    }

    let months = files_by_month(&sample_inbox)?;
    let Some(first) = months.keys().next().copied() else {
        bail!("no snapshots-YYYY-MM*.csv files in {}", sample_inbox.display());
    };
    let start = first
        .first_day()
        .and_hms_opt(9, 0, 0)
        .map_or(Utc::now(), |t| t.and_utc());

    let store = SqliteStore::connect(&url).await?;
    store.migrate().await?;
    let tz = chrono_tz::Tz::UTC;
    let people = users::read_import(fs::File::open(&users_csv)?, tz)
        .map_err(|p| anyhow::anyhow!("the sample {} is invalid ({} problems)", users_csv.display(), p.total()))?;
    store.upsert_users(&people, start).await?;
    println!("1. Registered {} users from {}", people.len(), users_csv.display());

    let mut env = Env {
        settings,
        config_file: None,
        clock: Clock::Fixed(start),
    };
    print!("2. Set their goals from {}: ", goals_csv.display());
    super::goals::import(&super::goals::service(&store, &env), &env, &goals_csv).await?;

    let where_to = match env.settings.email.transport {
        TransportKind::File => format!("as .eml files in {}", env.settings.email.file.dir.display()),
        TransportKind::Smtp => format!(
            "to the SMTP server at {}:{}",
            env.settings.email.smtp.host, env.settings.email.smtp.port
        ),
    };
    println!(
        "\n3. Replaying {} months: each month's snapshot file arrives on the 2nd of the next month and is\n   \
         processed (what `goalkeeper --run-once --now ...` does); due emails go out {where_to},\n   \
         respecting each user's quiet hours (22:00-08:00 local), daily cap and 4-hour gap.\n",
        months.len()
    );
    println!(
        "   {:<8} {:>5} {:>9} {:>7} {:>6} {:>6} {:>8}",
        "month", "files", "snapshots", "entries", "alerts", "emails", "held"
    );
    let mut last_now = start;
    let broken = fixtures.join("invalid").join(BROKEN);
    for (i, (month, files)) in months.iter().enumerate() {
        for f in files {
            if let Some(name) = f.file_name() {
                fs::copy(f, inbox.dir.join(name))?;
            }
        }
        if i == 3 && broken.is_file() {
            fs::copy(&broken, inbox.dir.join(BROKEN))?;
        }
        let arrival = month
            .add_months(1)
            .and_then(|p| p.first_day().and_hms_opt(0, 0, 0))
            .map_or(last_now, |t| t.and_utc() + ARRIVAL);
        last_now = arrival;
        env.clock = Clock::Fixed(arrival);
        let summary = InboxRun {
            settings: &inbox,
            default_tz: tz,
            now: arrival,
            base_url: &env.settings.email.base_url,
        }
        .process(&store)
        .await?;
        let mut alerter = Alerter::new(&env.settings.email.base_url);
        let pass = crate::evaluate::time_pass(&store, &mut alerter, arrival).await?;
        let mut emails = 0;
        for at in std::iter::once(arrival).chain(LATER_SENDS.iter().map(|d| arrival + *d)) {
            let sent = crate::dispatch::send_due(&store, &env.settings.email, at).await?;
            emails += sent.emails_sent;
            last_now = at;
        }
        let held = held_count(&store).await?;
        println!(
            "   {:<8} {:>5} {:>9} {:>7} {:>6} {:>6} {:>8}{}",
            month.to_string(),
            summary.files + summary.duplicates + summary.failed,
            summary.snapshots,
            summary.progress_entries,
            summary.alerts + pass.new_alerts,
            emails,
            held,
            notes(&summary)
        );
    }

    let errors = crate::inbox::moves::errors_path(&inbox.failed_dir.join(BROKEN));
    if let Ok(text) = fs::read_to_string(&errors) {
        println!("\n4. One file was rejected; its explanation, {}:\n", errors.display());
        for line in text.lines().take(6) {
            println!("   | {line}");
        }
    }

    env.clock = Clock::Fixed(last_now);
    println!("\n5. Where the goals stand as of {}:\n", last_now.date_naive());
    super::goals::dashboard(&super::goals::service(&store, &env), &env, None, false).await?;

    show_emails(&store, &env, last_now).await?;
    println!(
        "\nLook around with the demo's settings, for example:\n  \
         GOALKEEPER__DATABASE__URL={url} cargo run -- alerts list --user ana\n  \
         GOALKEEPER__DATABASE__URL={url} cargo run -- goals show ana-efund\n  \
         GOALKEEPER__DATABASE__URL={url} cargo run -- prefs show ben"
    );
    store.close().await;
    Ok(Exit::Ok)
}

/// Notes for a month's line: duplicates, corrections, rejections.
fn notes(summary: &crate::inbox::InboxSummary) -> String {
    let mut notes = Vec::new();
    if summary.duplicates > 0 {
        notes.push(format!("{} duplicate skipped", summary.duplicates));
    }
    if summary.corrections > 0 {
        notes.push(format!("{} correction", summary.corrections));
    }
    if summary.failed > 0 {
        notes.push(format!("{} file rejected", summary.failed));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join(", "))
    }
}

/// Deliveries still waiting (deferred or pending).
async fn held_count<S: AlertStorage>(store: &S) -> anyhow::Result<usize> {
    let mut n = 0;
    for status in [
        crate::storage::DeliveryStatus::Deferred,
        crate::storage::DeliveryStatus::Pending,
    ] {
        n += store
            .list_alerts(AlertFilter {
                status: Some(status),
                ..AlertFilter::default()
            })
            .await?
            .len();
    }
    Ok(n)
}

/// What was emailed, by type, and where to find the messages.
async fn show_emails<S: AlertStorage>(store: &S, env: &Env, now: DateTime<Utc>) -> anyhow::Result<()> {
    let all = store.list_alerts(AlertFilter::default()).await?;
    let mut by_type: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for a in &all {
        let e = by_type.entry(a.alert_type.as_str()).or_default();
        e.0 += 1;
        if a.delivery
            .as_ref()
            .is_some_and(|d| d.status == crate::storage::DeliveryStatus::Sent)
        {
            e.1 += 1;
        }
    }
    println!(
        "\n6. {} alerts raised by {}; emailed where the user's preferences say so:\n",
        all.len(),
        now.date_naive()
    );
    for (t, (raised, sent)) in &by_type {
        println!("   {t:<22} {raised:>3} raised, {sent:>3} emailed");
    }
    if env.settings.email.transport == TransportKind::Smtp {
        let emails: std::collections::BTreeSet<&str> = all
            .iter()
            .filter_map(|a| a.delivery.as_ref())
            .filter(|d| d.status == crate::storage::DeliveryStatus::Sent)
            .filter_map(|d| d.message_id.as_deref())
            .collect();
        println!(
            "\n   {} emails were accepted by the SMTP server at {}:{}.",
            emails.len(),
            env.settings.email.smtp.host,
            env.settings.email.smtp.port
        );
    }
    if env.settings.email.transport == TransportKind::File {
        let dir = &env.settings.email.file.dir;
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        println!(
            "\n   {} emails are in {} (open any with a mail client), for example:",
            files.len(),
            dir.display()
        );
        let mut shown = BTreeMap::new();
        for f in &files {
            let text = fs::read_to_string(f).unwrap_or_default();
            let subject = text
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .to_owned();
            let kind = ["Goal achieved", "Falling behind", "Halfway", "updates"]
                .into_iter()
                .find(|k| subject.contains(k))
                .unwrap_or("other");
            shown.entry(kind).or_insert((f.clone(), subject));
        }
        for (f, subject) in shown.values() {
            println!("   {}  {subject}", f.display());
        }
    }
    Ok(())
}
