//! `[retention]`: the daemon prunes sent and failed deliveries older than `retention.deliveries_days`
//! (keeping their alerts), job runs older than `retention.job_runs_days` (keeping each job's latest) and
//! superseded snapshot versions older than `retention.superseded_snapshots_days` (kept forever at 0) at
//! start (then daily), and counts them in `/metrics`. Through the real binary, on SQLite and PostgreSQL.

mod common;

use common::Sandbox;
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn status(sb: &Sandbox) -> Value {
    serde_json::from_str(&sb.run_ok(&["status", "--json"], 0).stdout).unwrap()
}

fn delivered(status: &Value) -> i64 {
    ["sent", "failed"]
        .iter()
        .map(|k| status["deliveries"][k].as_i64().unwrap_or(0))
        .sum()
}

fn alert_ids(sb: &Sandbox) -> Vec<i64> {
    let alerts: Value = serde_json::from_str(&sb.run_ok(&["alerts", "list", "--json"], 0).stdout).unwrap();
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

fn metrics(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

/// Superseded snapshot versions (a correction replaced them).
fn superseded(sb: &Sandbox) -> usize {
    let list: Value = serde_json::from_str(&sb.run_ok(&["snapshots", "list", "--json"], 0).stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["is_current"] == Value::Bool(false))
        .count()
}

/// What one retention run pruned, by table, from /metrics.
#[derive(Debug, PartialEq, Eq)]
struct Pruned {
    deliveries: u64,
    job_runs: u64,
    snapshots: u64,
}

/// Starts the daemon with `[retention]` from `days` (deliveries, job runs, superseded snapshots), waits
/// until its first retention run is in /metrics, stops it; returns what it reported pruned.
fn daemon_prunes(sb: &Sandbox, days: [&str; 3]) -> Pruned {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut daemon = sb
        .command(&["daemon"])
        .env("GOALKEEPER__HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .env("GOALKEEPER__RETENTION__DELIVERIES_DAYS", days[0])
        .env("GOALKEEPER__RETENTION__JOB_RUNS_DAYS", days[1])
        .env("GOALKEEPER__RETENTION__SUPERSEDED_SNAPSHOTS_DAYS", days[2])
        // Only retention does anything: no inbox, dispatch or time-based pass at start.
        .env("GOALKEEPER__SCHEDULE__INBOX_POLL_SECONDS", "0")
        .env("GOALKEEPER__SCHEDULE__EVALUATE", "")
        .env("GOALKEEPER__SCHEDULE__DISPATCH", "")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pruned = loop {
        let m = metrics(port);
        if m.contains("goalkeeper_job_runs_total{job=\"retention\"} 1") {
            let count = |table: &str| {
                m.lines()
                    .find_map(|l| l.strip_prefix(&format!("goalkeeper_rows_pruned_total{{table=\"{table}\"}} ")))
                    .map_or(0, |n| n.trim().parse().unwrap())
            };
            break Pruned {
                deliveries: count("email_deliveries"),
                job_runs: count("job_runs"),
                snapshots: count("snapshots"),
            };
        }
        assert!(Instant::now() < deadline, "no retention run in /metrics:\n{m}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    pruned
}

fn old_deliveries_are_pruned_by_the_daemon_and_their_alerts_stay(sb: &Sandbox) {
    sb.register_sample_users();
    let goals = common::repo_path("fixtures/goals.csv");
    sb.run_ok(&["goals", "import", goals.to_str().unwrap()], 0);
    for user in ["ana", "ben", "chen", "dara"] {
        sb.run_ok(&["prefs", "set", user, "--quiet-hours", "none"], 0);
    }
    sb.copy_sample_inbox();
    // Stored and emailed long ago.
    sb.run(&["--now", "2025-01-15T12:00:00Z", "--run-once"]);
    // A second run: three more job runs, the latest of each job.
    sb.run(&["--now", "2025-01-15T12:30:00Z", "--run-once"]);
    let before = status(sb);
    let old = delivered(&before);
    assert!(old > 0, "{before}");
    let alerts_before = alert_ids(sb);
    let old_versions = superseded(sb);
    assert!(old_versions > 0, "the sample inbox has a correction");

    // Kept while they are younger than the settings (100,000 days), and superseded versions by default.
    let nothing = Pruned {
        deliveries: 0,
        job_runs: 0,
        snapshots: 0,
    };
    assert_eq!(daemon_prunes(sb, ["100000", "100000", "0"]), nothing);
    assert_eq!(delivered(&status(sb)), old);
    assert_eq!(superseded(sb), old_versions);

    // Pruned at start with the defaults (400 and 30 days) and superseded versions kept a year.
    assert_eq!(
        daemon_prunes(sb, ["400", "30", "365"]),
        Pruned {
            deliveries: old as u64,
            job_runs: 3,
            snapshots: old_versions as u64,
        }
    );
    let after = status(sb);
    assert_eq!(delivered(&after), 0, "{after}");
    assert_eq!(superseded(sb), 0);
    // Each job's latest run stays for `status` and the catch-up.
    assert_eq!(after["jobs"], before["jobs"], "{after}");
    for waiting in ["pending", "deferred"] {
        assert_eq!(after["deliveries"][waiting], before["deliveries"][waiting], "{after}");
    }
    // The alerts stay (without their delivery), so none is queued or emailed again.
    assert_eq!(alert_ids(sb), alerts_before);
    let emails = common::emails_in(&sb.path("var/outbox")).len();
    assert!(emails > 0);
    // An hour after the first run: nothing new is due, and nothing pruned comes back.
    sb.run(&["--now", "2025-01-15T13:00:00Z", "--run-once"]);
    assert_eq!(
        common::emails_in(&sb.path("var/outbox")).len(),
        emails,
        "nothing emailed again"
    );
}

#[test]
fn on_sqlite_old_deliveries_are_pruned_by_the_daemon_and_their_alerts_stay() {
    old_deliveries_are_pruned_by_the_daemon_and_their_alerts_stay(&Sandbox::new());
}

#[test]
fn on_postgresql_old_deliveries_are_pruned_by_the_daemon_and_their_alerts_stay() {
    let Some(url) = common::postgres_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    old_deliveries_are_pruned_by_the_daemon_and_their_alerts_stay(&Sandbox::with_database(&schema.url));
    rt.block_on(schema.drop());
}
