//! Alerts and their email through the real binary: generated exactly once,
//! preferences, and delivery to a real SMTP server started by each test
//! (tests/common/smtp.rs): retries on 451, failure on 550, a server that
//! never answers, quiet hours and digests.

mod common;

use common::smtp::{Behaviour, SmtpServer};
use common::{Output, Sandbox, names_in};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Ana (Europe/Berlin) with a custom goal "bike": 1,000.00 by 2026-12-31.
fn sandbox_with_bike() -> Sandbox {
    let sb = Sandbox::new();
    sb.register_sample_users();
    at(
        &sb,
        "2026-01-01T09:00:00Z",
        &[
            "goals",
            "add",
            "--user",
            "ana",
            "--type",
            "custom",
            "--name",
            "New bike",
            "--target",
            "1000",
            "--id",
            "bike",
            "--start-date",
            "2026-01-01",
            "--target-date",
            "2026-12-31",
        ],
        0,
        &[],
    );
    sb
}

/// Runs goalkeeper at `now` with extra environment, insisting on exit `code`.
fn at(sb: &Sandbox, now: &str, args: &[&str], code: i32, env: &[(&str, String)]) -> Output {
    let mut cmd = sb.command(&[]);
    cmd.arg("--now").arg(now).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the goalkeeper binary runs");
    let out = Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(
        out.code,
        Some(code),
        "goalkeeper {args:?}\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    out
}

fn alerts_json(sb: &Sandbox, env: &[(&str, String)]) -> Vec<Value> {
    let out = at(sb, "2026-12-31T00:00:00Z", &["alerts", "list", "--json"], 0, env);
    serde_json::from_str::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn of_type<'a>(alerts: &'a [Value], kind: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["type"] == kind).collect()
}

/// 600.00 recorded for March (12:00 in Berlin, outside quiet hours): crosses 25 % and 50 %.
const MARCH_NOON: &str = "2026-03-10T11:00:00Z";

#[test]
fn alerts_reach_a_real_smtp_server_with_recipients_subject_both_parts_and_headers() {
    let server = SmtpServer::start(Behaviour::Accept);
    let sb = sandbox_with_bike();
    let env = server.env();
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(out.stdout.contains("email: 1 sent (1 alerts)"), "{}", out.stdout);
    let got = server.wait_for(1, Duration::from_secs(5));
    let m = &got[0];
    assert_eq!(m.to, ["ana@example.org"]);
    assert_eq!(m.from, "goals@example.org");
    assert_eq!(m.header("To").as_deref(), Some("\"Ana Lima\" <ana@example.org>"));
    assert_eq!(m.header("Subject").as_deref(), Some("Halfway there: New bike"));
    assert_eq!(m.header("Date").as_deref(), Some("Tue, 10 Mar 2026 11:00:00 +0000"));
    let id = m.header("Message-ID").unwrap();
    assert!(
        id.starts_with("<goalkeeper.delivery.") && id.ends_with("@example.org>"),
        "{id}"
    );
    let text = m.text();
    assert!(text.contains("multipart/alternative"), "{text}");
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    assert!(text.contains("Content-Type: text/html"), "{text}");
    // milestone_25 is recorded but not emailed (not in the default enabled set).
    let alerts = alerts_json(&sb, &env);
    assert_eq!(of_type(&alerts, "milestone_25")[0]["delivery"], Value::Null);
    assert_eq!(of_type(&alerts, "milestone_50")[0]["delivery"]["status"], "sent");
    // Sending again sends nothing more.
    let again = at(&sb, "2026-03-10T18:00:00Z", &["alerts", "send"], 0, &env);
    assert!(again.stdout.contains("email: 0 sent"), "{}", again.stdout);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn an_alert_is_raised_once_however_often_the_same_progress_is_recorded_or_evaluated() {
    let sb = sandbox_with_bike();
    for _ in 0..3 {
        at(
            &sb,
            MARCH_NOON,
            &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
            0,
            &[],
        );
        at(&sb, MARCH_NOON, &["--run-once"], 0, &[]);
    }
    let alerts = alerts_json(&sb, &[]);
    assert_eq!(of_type(&alerts, "milestone_25").len(), 1);
    assert_eq!(of_type(&alerts, "milestone_50").len(), 1);
    // One .eml for the one emailed alert (file transport, the default).
    assert_eq!(names_in(&sb.path("var/outbox")).len(), 1);
    // Completing: goal_completed once, and nothing more for a completed goal.
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "1000", "--period", "2026-04"],
        0,
        &[],
    );
    at(
        &sb,
        "2026-04-10T11:00:00Z",
        &["progress", "record", "bike", "--value", "1100", "--period", "2026-04"],
        0,
        &[],
    );
    at(&sb, "2026-12-20T11:00:00Z", &["--run-once"], 0, &[]);
    let alerts = alerts_json(&sb, &[]);
    assert_eq!(of_type(&alerts, "goal_completed").len(), 1);
    assert!(of_type(&alerts, "deadline_imminent").is_empty());
}

#[test]
fn a_server_answering_451_is_retried_later_and_the_same_message_then_arrives() {
    let server = SmtpServer::start(Behaviour::TempFailFirst(1));
    let sb = sandbox_with_bike();
    let env = server.env();
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(out.stdout.contains("1 to retry"), "{}", out.stdout);
    let alerts = alerts_json(&sb, &env);
    let d = &of_type(&alerts, "milestone_50")[0]["delivery"];
    assert_eq!(d["status"], "deferred");
    assert_eq!(d["hold_reason"], "retry");
    assert!(d["last_error"].as_str().unwrap().contains("451"), "{d}");
    // Not yet due: the first retry waits about a minute.
    let early = at(&sb, "2026-03-10T11:00:30Z", &["alerts", "send"], 0, &env);
    assert!(early.stdout.contains("email: 0 sent"), "{}", early.stdout);
    let later = at(&sb, "2026-03-10T11:05:00Z", &["alerts", "send"], 0, &env);
    assert!(later.stdout.contains("email: 1 sent"), "{}", later.stdout);
    let got = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(server.attempts(), 2);
    let alerts = alerts_json(&sb, &env);
    let d = &of_type(&alerts, "milestone_50")[0]["delivery"];
    assert_eq!(d["status"], "sent");
    assert_eq!(d["attempts"], 2);
    assert_eq!(got[0].header("Message-ID").as_deref(), d["message_id"].as_str());
}

#[test]
fn a_server_answering_550_fails_the_delivery_and_it_is_not_retried() {
    let server = SmtpServer::start(Behaviour::Reject);
    let sb = sandbox_with_bike();
    let env = server.env();
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(out.stdout.contains("1 failed"), "{}", out.stdout);
    at(&sb, "2026-03-11T11:00:00Z", &["alerts", "send"], 0, &env);
    at(&sb, "2026-03-20T11:00:00Z", &["alerts", "send"], 0, &env);
    assert_eq!(server.attempts(), 1);
    let failed = at(
        &sb,
        MARCH_NOON,
        &["alerts", "list", "--status", "failed", "--json"],
        0,
        &env,
    );
    let failed: Vec<Value> = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["delivery"]["last_error"].as_str().unwrap().contains("550"));
}

#[test]
fn a_server_that_never_answers_is_abandoned_within_the_timeout_and_retried_later() {
    let server = SmtpServer::start(Behaviour::NeverAnswer);
    let sb = sandbox_with_bike();
    let mut env = server.env();
    env.push(("GOALKEEPER__EMAIL__SMTP__TIMEOUT_SECONDS", "1".to_owned()));
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let started = Instant::now();
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert!(out.stdout.contains("1 to retry"), "{}", out.stdout);
    let alerts = alerts_json(&sb, &env);
    let d = &of_type(&alerts, "milestone_50")[0]["delivery"];
    assert!(d["last_error"].as_str().unwrap().contains("timed out"), "{d}");
}

#[test]
fn quiet_hours_hold_an_email_until_they_end_in_the_users_zone() {
    let server = SmtpServer::start(Behaviour::Accept);
    let sb = sandbox_with_bike();
    let env = server.env();
    // 23:30 in Berlin (22:30 UTC in March): inside the default 22:00-08:00.
    let night = "2026-03-10T22:30:00Z";
    at(
        &sb,
        night,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, night, &["alerts", "send"], 0, &env);
    assert!(out.stdout.contains("1 deferred"), "{}", out.stdout);
    let alerts = alerts_json(&sb, &env);
    let d = &of_type(&alerts, "milestone_50")[0]["delivery"];
    assert_eq!(d["status"], "deferred");
    assert_eq!(d["hold_reason"], "quiet hours");
    // 08:00 in Berlin is 07:00 UTC.
    assert_eq!(d["due_at"], "2026-03-11T07:00:00Z");
    let still = at(&sb, "2026-03-11T06:59:00Z", &["alerts", "send"], 0, &env);
    assert!(still.stdout.contains("email: 0 sent"), "{}", still.stdout);
    let morning = at(&sb, "2026-03-11T07:00:00Z", &["alerts", "send"], 0, &env);
    assert!(morning.stdout.contains("email: 1 sent"), "{}", morning.stdout);
    server.wait_for(1, Duration::from_secs(5));
}

#[test]
fn alerts_due_together_go_as_one_digest_and_without_digest_one_by_one_with_the_gap() {
    let server = SmtpServer::start(Behaviour::Accept);
    let sb = sandbox_with_bike();
    let env = server.env();
    at(
        &sb,
        MARCH_NOON,
        &["prefs", "set", "ana", "--enable", "milestone_25"],
        0,
        &env,
    );
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(out.stdout.contains("email: 1 sent (2 alerts)"), "{}", out.stdout);
    let got = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].header("Subject").as_deref(), Some("2 updates on your goals"));

    let server = SmtpServer::start(Behaviour::Accept);
    let sb = sandbox_with_bike();
    let mut env = server.env();
    env.push(("GOALKEEPER__EMAIL__DIGEST", "false".to_owned()));
    at(
        &sb,
        MARCH_NOON,
        &["prefs", "set", "ana", "--enable", "milestone_25"],
        0,
        &env,
    );
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    let out = at(&sb, MARCH_NOON, &["alerts", "send"], 0, &env);
    assert!(
        out.stdout.contains("email: 1 sent (1 alerts), 1 deferred"),
        "{}",
        out.stdout
    );
    let alerts = alerts_json(&sb, &env);
    let held: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["delivery"]["status"] == "deferred")
        .collect();
    assert_eq!(held.len(), 1, "{alerts:?}");
    let held = &held[0]["delivery"];
    assert_eq!(held["hold_reason"], "minimum gap");
    assert_eq!(held["due_at"], "2026-03-10T15:00:00Z");
    at(&sb, "2026-03-10T15:00:00Z", &["alerts", "send"], 0, &env);
    let got = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(got.len(), 2);
}

#[test]
fn preferences_show_the_defaults_change_on_request_and_refuse_nonsense() {
    let sb = sandbox_with_bike();
    let show = at(&sb, MARCH_NOON, &["prefs", "show", "ana", "--json"], 0, &[]);
    let p: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(p["preferences"]["quiet_hours"], "22:00-08:00");
    assert_eq!(p["preferences"]["max_per_day"], 5);
    assert_eq!(p["preferences"]["min_gap_hours"], 4);
    assert_eq!(
        p["preferences"]["enabled"],
        serde_json::json!([
            "off_track",
            "milestone_50",
            "goal_completed",
            "deadline_approaching",
            "update_reminder"
        ])
    );
    at(
        &sb,
        MARCH_NOON,
        &[
            "prefs",
            "set",
            "ana",
            "--quiet-hours",
            "none",
            "--max-per-day",
            "2",
            "--min-gap-hours",
            "0",
            "--disable",
            "update_reminder",
            "--enable",
            "deadline_missed",
            "--email",
            "off",
        ],
        0,
        &[],
    );
    let p: Value =
        serde_json::from_str(&at(&sb, MARCH_NOON, &["prefs", "show", "ana", "--json"], 0, &[]).stdout).unwrap();
    assert_eq!(p["preferences"]["quiet_hours"], Value::Null);
    assert_eq!(p["preferences"]["max_per_day"], 2);
    assert_eq!(p["preferences"]["email_enabled"], false);
    let enabled = p["preferences"]["enabled"].as_array().unwrap();
    assert!(enabled.contains(&Value::from("deadline_missed")) && !enabled.contains(&Value::from("update_reminder")));
    // Email off: alerts are recorded, nothing is emailed.
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &[],
    );
    let alerts = alerts_json(&sb, &[]);
    assert!(alerts.iter().all(|a| a["delivery"].is_null()), "{alerts:?}");

    let bad = at(
        &sb,
        MARCH_NOON,
        &["prefs", "set", "ana", "--quiet-hours", "25:00-07:00"],
        1,
        &[],
    );
    assert!(bad.stderr.contains("--quiet-hours"), "{}", bad.stderr);
    let bad = at(
        &sb,
        MARCH_NOON,
        &["prefs", "set", "ana", "--enable", "sometimes"],
        1,
        &[],
    );
    assert!(bad.stderr.contains("expected one of off_track"), "{}", bad.stderr);
    at(&sb, MARCH_NOON, &["prefs", "set", "ana", "--max-per-day", "0"], 1, &[]);
    at(&sb, MARCH_NOON, &["prefs", "show", "nobody"], 1, &[]);
}

#[test]
fn an_alert_can_be_marked_read() {
    let sb = sandbox_with_bike();
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &[],
    );
    let alerts = alerts_json(&sb, &[]);
    let id = alerts[0]["id"].as_i64().unwrap().to_string();
    at(&sb, MARCH_NOON, &["alerts", "read", &id], 0, &[]);
    let alerts = alerts_json(&sb, &[]);
    assert_eq!(alerts[0]["read_at"], "2026-03-10T11:00:00Z");
    at(&sb, MARCH_NOON, &["alerts", "read", "999999"], 1, &[]);
}

/// (goal, type, occurrence) of every alert, sorted.
fn alert_keys(sb: &Sandbox) -> Vec<(String, String, String)> {
    let mut keys: Vec<(String, String, String)> = alerts_json(sb, &[])
        .iter()
        .map(|a| {
            (
                a["goal_id"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
                a["occurrence"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The sample goals, then the sample inbox in one run.
fn sample_year(sb: &Sandbox) {
    sb.register_sample_users();
    let goals = common::repo_path("fixtures/goals.csv");
    at(
        sb,
        "2025-01-01T09:00:00Z",
        &["goals", "import", goals.to_str().unwrap()],
        0,
        &[],
    );
    sb.copy_sample_inbox();
    at(sb, "2026-02-02T09:00:00Z", &["--run-once"], 0, &[]);
}

#[test]
fn postgresql_raises_exactly_the_alerts_sqlite_raises_and_stores_each_once() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let lite = Sandbox::new();
    sample_year(&lite);
    let expected = alert_keys(&lite);
    assert!(expected.len() > 5, "{expected:?}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    let pg = Sandbox::with_database(&schema.url);
    sample_year(&pg);
    assert_eq!(alert_keys(&pg), expected);
    // The same files again (as duplicates) and the same pass: nothing new.
    pg.copy_sample_inbox();
    at(&pg, "2026-02-02T09:00:00Z", &["--run-once"], 0, &[]);
    assert_eq!(alert_keys(&pg), expected);
    rt.block_on(schema.drop());
}

#[test]
fn an_email_that_keeps_failing_transiently_is_failed_after_max_attempts() {
    let server = SmtpServer::start(Behaviour::TempFailFirst(100));
    let sb = sandbox_with_bike();
    let mut env = server.env();
    env.push(("GOALKEEPER__EMAIL__MAX_ATTEMPTS", "3".to_owned()));
    at(
        &sb,
        MARCH_NOON,
        &["progress", "record", "bike", "--value", "600", "--period", "2026-03"],
        0,
        &env,
    );
    // Each attempt a day apart: always past the backoff.
    for day in 10..16 {
        at(&sb, &format!("2026-03-{day}T11:00:00Z"), &["alerts", "send"], 0, &env);
    }
    assert_eq!(server.attempts(), 3);
    let alerts = alerts_json(&sb, &env);
    let d = &of_type(&alerts, "milestone_50")[0]["delivery"];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["attempts"], 3);
    assert!(
        d["last_error"].as_str().unwrap().contains("gave up after 3 attempts"),
        "{d}"
    );
}
