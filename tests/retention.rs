//! `[retention]`: the daemon prunes sent and failed deliveries older than `retention.deliveries_days`
//! at start (then daily), counts them in `/metrics`, and keeps their alerts. Through the real binary,
//! on SQLite and PostgreSQL.

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

/// Starts the daemon, waits until its first retention run is in /metrics, stops it; returns the
/// pruned count it reported.
fn daemon_prunes(sb: &Sandbox, deliveries_days: &str) -> u64 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut daemon = sb
        .command(&["daemon"])
        .env("GOALKEEPER__HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .env("GOALKEEPER__RETENTION__DELIVERIES_DAYS", deliveries_days)
        // Only retention does anything: no dispatch or time-based pass at start.
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
            break m
                .lines()
                .find_map(|l| l.strip_prefix("goalkeeper_rows_pruned_total{table=\"email_deliveries\"} "))
                .map_or(0, |n| n.trim().parse().unwrap());
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
    let before = status(sb);
    let old = delivered(&before);
    assert!(old > 0, "{before}");
    let alerts_before = alert_ids(sb);

    // Kept while they are younger than the setting (100,000 days).
    assert_eq!(daemon_prunes(sb, "100000"), 0);
    assert_eq!(delivered(&status(sb)), old);

    // Pruned at start with the default of 400 days; the rest of the outbox and the alerts stay.
    assert_eq!(daemon_prunes(sb, "400"), old as u64);
    let after = status(sb);
    assert_eq!(delivered(&after), 0, "{after}");
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
