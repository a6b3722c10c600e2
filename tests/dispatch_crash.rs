//! A crash during dispatch resends only what was in flight (issue 18): `goalkeeper alerts send`
//! against a slow SMTP server (0.25 s per email), SIGKILLed mid-round several times, each next run
//! after the claims ran out (`--now` 11 minutes later). Every email arrives; per kill at most
//! `[email.smtp] connections` emails arrive again (the sends under way at the kill), and each
//! Message-ID at most once more per kill.

mod common;

use common::Sandbox;
use common::smtp::{Behaviour, SmtpServer};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

const USERS: usize = 40;
const KILLS: usize = 3;

/// `USERS` users, each with a custom goal at 60 %: one emailed alert (milestone_50) each, due at 11:00.
fn sandbox_with_due_emails(sb: &Sandbox) {
    sb.register_numbered_users(USERS);
    let mut goals = String::from("goal_id,user_id,type,name,target_value,target_date,start_date,accounts,categories\n");
    for u in 0..USERS {
        goals.push_str(&format!(
            "g{u:05},u{u:05},custom,Bike,1000.00,2026-12-31,2026-01-01,,\n"
        ));
    }
    std::fs::write(sb.path("goals.csv"), goals).unwrap();
    sb.run_ok(&["--now", "2026-03-10T10:00:00Z", "goals", "import", "goals.csv"], 0);
    for u in 0..USERS {
        let goal = format!("g{u:05}");
        sb.run_ok(
            &[
                "--now",
                "2026-03-10T10:00:00Z",
                "progress",
                "record",
                &goal,
                "--value",
                "600",
                "--period",
                "2026-03",
            ],
            0,
        );
    }
}

/// The minute `k` of the test's timeline: 11:00, 11:11, 11:22, ... (claims hold 10 minutes).
fn minute(k: usize) -> String {
    let m = 11 * k;
    format!("2026-03-10T{:02}:{:02}:00Z", 11 + m / 60, m % 60)
}

fn message_ids(server: &SmtpServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in server.messages() {
        *counts.entry(m.header("Message-ID").unwrap()).or_insert(0) += 1;
    }
    counts
}

fn kill_mid_round_and_finish(sb: &Sandbox, connections: usize) {
    let server = SmtpServer::start(Behaviour::Slow(Duration::from_millis(250)));
    let mut env = server.env();
    env.push(("GOALKEEPER__EMAIL__SMTP__CONNECTIONS", connections.to_string()));
    for k in 0..KILLS {
        let before = server.messages().len();
        let mut cmd = sb.command(&["--now", &minute(k), "alerts", "send"]);
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        // A few emails arrive in this run, then the power goes.
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.messages().len() < before + 3 + k {
            assert!(Instant::now() < deadline, "run {k}: no emails arrived");
            assert!(
                child.try_wait().unwrap().is_none(),
                "run {k} finished before it was killed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!(
            "run {k}: killed after {} emails arrived in it",
            server.messages().len() - before
        );
    }
    let mut cmd = sb.command(&["--now", &minute(KILLS), "alerts", "send"]);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let last = cmd.output().unwrap();
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));

    let counts = message_ids(&server);
    let arrived = server.messages().len();
    let duplicates = arrived - counts.len();
    let most = counts.values().copied().max().unwrap_or(0);
    eprintln!(
        "connections = {connections}: {arrived} emails arrived for {USERS} ({} distinct), \
         {duplicates} duplicates for {KILLS} kills, at most {most} copies of one Message-ID",
        counts.len()
    );
    assert_eq!(counts.len(), USERS, "every email arrived");
    // The bound, stated here rather than read from the code it checks.
    let budget = connections;
    assert!(
        duplicates <= KILLS * budget,
        "{duplicates} duplicates for {KILLS} kills with {connections} connection(s) \
         (at most {budget} per kill): {counts:?}"
    );
    // An email in flight at one kill may be in flight again at the next: one extra copy per kill at most.
    assert!(
        most <= 1 + KILLS,
        "a Message-ID arrived {most} times for {KILLS} kills: {counts:?}"
    );
    let list = sb.run_ok(&["alerts", "list", "--json", "--status", "sent"], 0).stdout;
    let sent: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(sent.len(), USERS, "every delivery is recorded as sent");
}

#[test]
fn sigkill_mid_round_resends_at_most_the_one_email_in_flight_per_kill() {
    let sb = Sandbox::new();
    sandbox_with_due_emails(&sb);
    kill_mid_round_and_finish(&sb, 1);
}

#[test]
fn sigkill_mid_round_resends_at_most_one_email_per_connection_per_kill() {
    let sb = Sandbox::new();
    sandbox_with_due_emails(&sb);
    kill_mid_round_and_finish(&sb, 3);
}

#[test]
fn on_postgresql_sigkill_mid_round_resends_at_most_two_emails_per_connection_per_kill() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    let sb = Sandbox::with_database(&schema.url);
    sandbox_with_due_emails(&sb);
    kill_mid_round_and_finish(&sb, 2);
    rt.block_on(schema.drop());
}
