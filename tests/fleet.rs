//! Several instances on one PostgreSQL database, proven under faults (issue 18 req 2): three real
//! `goalkeeper daemon` processes share one schema and one inbox, with a slow SMTP server in the test
//! (one connection each, 25 ms per email). Twelve monthly files for USERS users are dropped (written
//! as `NAME.part`, then renamed) while they run; one daemon is SIGKILLed while it sends (emails of
//! its round still claimed), another while it stores a file (its inbox run unfinished, the pass lock
//! held); both are restarted. Then: every file stored once and moved once; snapshots, progress
//! entries and alerts the same as one daemon's on a second schema; every email received, a second
//! copy only of an email in flight at a kill (at most one per kill with one connection); the killed
//! instance's advisory lock released so another instance's inbox run starts within one poll
//! interval; and `status` lists every instance's last runs.
//!
//! PostgreSQL only: it is about instances sharing one PostgreSQL database. Without
//! GOALKEEPER_TEST_POSTGRES_URL it fails (CI always sets it).

mod common;

use common::smtp::{Behaviour, SmtpServer};
use common::{PgSchema, Sandbox, names_in};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USERS: usize = 250;
const FILES: usize = 12;
const POLL: Duration = Duration::from_secs(1);
/// The daemons' clocks start here (mid-day UTC: no quiet hours for the UTC users).
const T0: &str = "2026-03-10T12:00:00Z";
const HEADER: &str = "user_id,period,kind,account,category,amount,rate,min_payment\n";

fn file_name(f: usize) -> String {
    format!("snapshots-2025-{:02}.csv", f + 1)
}

fn month(f: usize) -> String {
    let mut body = String::from(HEADER);
    for u in 0..USERS {
        common::synthetic_month(&mut body, u, &format!("2025-{:02}", f + 1), f, f);
    }
    body
}

/// USERS users, each with an emergency fund of 2,200: 1,000 saved in January, 100 more each month, so
/// February crosses half way (milestone_50, emailed) and August three quarters (milestone_75, not emailed).
fn prepare(sb: &Sandbox) {
    sb.register_numbered_users(USERS);
    let mut goals = String::from("goal_id,user_id,type,name,target_value,target_date,start_date,accounts,categories\n");
    for u in 0..USERS {
        goals.push_str(&format!(
            "g{u:05},u{u:05},emergency_fund,Fund,2200.00,2027-01-01,2025-01-01,efund,\n"
        ));
    }
    std::fs::write(sb.path("goals.csv"), goals).unwrap();
    sb.run_ok(&["--now", T0, "goals", "import", "goals.csv"], 0);
}

fn drop_file(sb: &Sandbox, name: &str, body: &str) {
    std::fs::create_dir_all(sb.inbox()).unwrap();
    let part = sb.inbox().join(format!("{name}.part"));
    std::fs::write(&part, body).unwrap();
    std::fs::rename(&part, sb.inbox().join(name)).unwrap();
}

/// A `goalkeeper daemon`, its stderr collected.
struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(sb: &Sandbox, now: &str, env: &[(&str, String)]) -> Daemon {
        let mut cmd = sb.command(&["--now", now, "daemon"]);
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the goalkeeper binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Daemon { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("goalkeeper::daemon: ready"))
        {
            assert!(Instant::now() < deadline, "not ready in 60 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How this process appears in `job_runs.instance` and `claimed_by` (host:pid).
    fn instance_suffix(&self) -> String {
        format!(":{}", self.child.id())
    }

    fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    fn terminate(&mut self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0), "after SIGTERM:\n{}", self.log());
                return;
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Direct reads of one schema, to watch the daemons and export rows for the comparison.
struct Db {
    rt: tokio::runtime::Runtime,
    pool: sqlx::PgPool,
}

impl Db {
    fn open(rt: tokio::runtime::Runtime, url: &str) -> Db {
        let pool = rt.block_on(sqlx::PgPool::connect(url)).unwrap();
        Db { rt, pool }
    }

    /// One JSON text per row of `sql` (a SELECT of one text column).
    fn rows(&self, sql: &str) -> Vec<String> {
        let rows: Vec<(String,)> = self.rt.block_on(sqlx::query_as(sql).fetch_all(&self.pool)).unwrap();
        rows.into_iter().map(|(r,)| r).collect()
    }

    fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = self.rt.block_on(sqlx::query_as(sql).fetch_one(&self.pool)).unwrap();
        n
    }

    /// The unfinished inbox run of `daemon`, if any: its id.
    fn running_inbox_run(&self, daemon: &Daemon) -> Option<i64> {
        let sql = format!(
            "SELECT id FROM job_runs WHERE job = 'inbox' AND finished_at IS NULL AND instance LIKE '%{}' \
             ORDER BY id DESC LIMIT 1",
            daemon.instance_suffix()
        );
        let row: Option<(i64,)> = self
            .rt
            .block_on(sqlx::query_as(&sql).fetch_optional(&self.pool))
            .unwrap();
        row.map(|(id,)| id)
    }

    /// The Message-IDs `daemon` holds claimed (status sending).
    fn claimed_by(&self, daemon: &Daemon) -> BTreeSet<String> {
        self.rows(&format!(
            "SELECT message_id FROM email_deliveries WHERE status = 'sending' AND claimed_by LIKE '%{}'",
            daemon.instance_suffix()
        ))
        .into_iter()
        .collect()
    }

    fn outbox_busy(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM email_deliveries WHERE status IN ('pending', 'sending')")
    }

    /// What must be the same on both schemas, ids and timestamps left out.
    fn export(&self) -> BTreeMap<&'static str, Vec<String>> {
        let mut out = BTreeMap::new();
        out.insert(
            "files",
            self.rows(
                "SELECT json_build_array(file_name, sha256, size_bytes, line_count, snapshots, corrections)::text \
                 FROM ingested_files ORDER BY file_name",
            ),
        );
        out.insert(
            "snapshots",
            self.rows(
                "SELECT json_build_array(s.user_id, s.period, s.version, s.is_current, f.file_name, s.line_count, \
                 s.total_income, s.total_expenses, s.surplus, s.savings_rate, s.total_savings, s.total_investment, \
                 s.total_assets, s.total_debt, s.net_worth)::text \
                 FROM snapshots s JOIN ingested_files f ON f.id = s.file_id ORDER BY s.user_id, s.period, s.version",
            ),
        );
        out.insert(
            "snapshot_lines",
            self.rows(
                "SELECT json_build_array(s.user_id, s.period, s.version, l.line_no, l.kind, l.account, l.category, \
                 l.amount, l.rate, l.min_payment)::text FROM snapshot_lines l JOIN snapshots s ON s.id = l.snapshot_id \
                 ORDER BY s.user_id, s.period, s.version, l.line_no",
            ),
        );
        out.insert(
            "progress",
            self.rows(
                "SELECT json_build_array(p.goal_id, p.period, p.source, p.value, p.contribution, p.progress_ratio, \
                 p.on_track, p.principal_paid, p.interest_paid, s.user_id, s.period, s.version, p.note)::text \
                 FROM goal_progress p LEFT JOIN snapshots s ON s.id = p.snapshot_id ORDER BY p.goal_id, p.period, p.source",
            ),
        );
        out.insert(
            "alerts",
            self.rows(
                "SELECT json_build_array(goal_id, user_id, alert_type, occurrence, priority, title, message, action_url)::text \
                 FROM alerts ORDER BY goal_id, alert_type, occurrence",
            ),
        );
        out.insert(
            "goals",
            self.rows("SELECT json_build_array(id, status)::text FROM goals ORDER BY id"),
        );
        out
    }
}

fn wait_until(what: &str, timeout: Duration, done: impl FnMut() -> bool) -> Duration {
    wait_until_or(what, timeout, String::new, done)
}

/// Polls `done` every 10 ms; how long it took. Panics after `timeout` with `state()`.
fn wait_until_or(
    what: &str,
    timeout: Duration,
    state: impl Fn() -> String,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}; {}",
            state()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

/// The daemons' settings: the inbox every second, the dispatch every second, no time-based pass
/// (nothing depends on the moment the daemons happen to run), deliveries through `mail`.
fn settings(mail: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("GOALKEEPER__SCHEDULE__INBOX_POLL_SECONDS", POLL.as_secs().to_string()),
        ("GOALKEEPER__SCHEDULE__DISPATCH", "* * * * * *".to_owned()),
        ("GOALKEEPER__SCHEDULE__EVALUATE", String::new()),
        ("GOALKEEPER__EMAIL__SMTP__CONNECTIONS", "1".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    env.extend(mail);
    env
}

/// `T0` plus `offset`, as `--now` takes it.
fn t0_plus(offset: Duration) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339(T0).unwrap().to_utc();
    (t0 + chrono::TimeDelta::from_std(offset).unwrap()).to_rfc3339()
}

/// One daemon, all files at once, emails to files: what the fleet must end up with.
fn reference(admin: &str, months: &[String]) -> (BTreeMap<&'static str, Vec<String>>, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(PgSchema::create(admin));
    let sb = Sandbox::with_database(&schema.url);
    prepare(&sb);
    for (f, body) in months.iter().enumerate() {
        drop_file(&sb, &file_name(f), body);
    }
    let outbox = sb.path("outbox");
    let mut daemon = Daemon::start(
        &sb,
        T0,
        &settings(vec![
            ("GOALKEEPER__EMAIL__TRANSPORT", "file".to_owned()),
            ("GOALKEEPER__EMAIL__FILE__DIR", outbox.display().to_string()),
        ]),
    );
    let db = Db::open(rt, &schema.url);
    wait_until(
        "the reference stores every file and sends what is due",
        Duration::from_secs(120),
        || names_in(&sb.processed()).len() == FILES && db.outbox_busy() == 0,
    );
    daemon.terminate();
    let export = db.export();
    let mut recipients: Vec<String> = common::emails_in(&outbox).into_iter().map(|e| e.to).collect();
    recipients.sort();
    db.rt.block_on(db.pool.close());
    db.rt.block_on(schema.drop());
    (export, recipients)
}

/// What one kill interrupted.
struct Kill {
    what: &'static str,
    instance: String,
    /// Message-IDs the killed instance held claimed (in flight or about to be).
    claimed: BTreeSet<String>,
    emails_before: usize,
    files_before: usize,
    /// Files in ingested_files right after the kill, and the killed instance's unfinished inbox run.
    stored_after: i64,
    inbox_run: Option<i64>,
}

#[test]
fn three_daemons_on_one_postgresql_schema_killed_mid_ingest_and_mid_dispatch_store_everything_once_and_resend_only_what_was_in_flight()
 {
    let admin = std::env::var("GOALKEEPER_TEST_POSTGRES_URL").expect(
        "GOALKEEPER_TEST_POSTGRES_URL must be set: this test is about instances sharing one PostgreSQL database",
    );
    let started = Instant::now();
    let months: Vec<String> = (0..FILES).map(month).collect();
    let (expected, expected_recipients) = reference(&admin, &months);
    eprintln!(
        "reference (one daemon): {} files, {} snapshots, {} progress entries, {} alerts, {} emails, in {:?}",
        expected["files"].len(),
        expected["snapshots"].len(),
        expected["progress"].len(),
        expected["alerts"].len(),
        expected_recipients.len(),
        started.elapsed()
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(PgSchema::create(&admin));
    let sb = Sandbox::with_database(&schema.url);
    prepare(&sb);
    let db = Db::open(rt, &schema.url);
    let server = SmtpServer::start(Behaviour::Slow(Duration::from_millis(25)));
    let env = settings(server.env());
    let fleet_started = Instant::now();
    let mut daemons: Vec<Daemon> = (0..3).map(|_| Daemon::start(&sb, T0, &env)).collect();
    for d in &daemons {
        d.wait_ready();
    }
    let mut instances: BTreeSet<String> = BTreeSet::new();

    // January and February first; the daemon that sends their emails is killed mid-round.
    drop_file(&sb, &file_name(0), &months[0]);
    drop_file(&sb, &file_name(1), &months[1]);
    let files_done = |sb: &Sandbox| names_in(&sb.processed()).len();
    let mut kills: Vec<Kill> = Vec::new();

    // Fault 1: a daemon SIGKILLed while it sends, its round's emails claimed.
    let mut victim = None;
    let diagnose = || {
        format!(
            "{} emails received; deliveries {:?}; files done {}",
            server.messages().len(),
            db.rows("SELECT json_build_array(status, claimed_by, COUNT(*))::text FROM email_deliveries GROUP BY status, claimed_by"),
            names_in(&sb.processed()).len()
        )
    };
    wait_until_or(
        "a daemon in the middle of sending",
        Duration::from_secs(60),
        diagnose,
        || {
            if server.messages().len() < 5 {
                return false;
            }
            victim = (0..3).find(|&i| db.claimed_by(&daemons[i]).len() >= 3);
            victim.is_some()
        },
    );
    let y = victim.unwrap();
    let emails_before = server.messages().len();
    let files_before = files_done(&sb);
    let inbox_run = db.running_inbox_run(&daemons[y]);
    daemons[y].kill();
    let claimed = db.claimed_by(&daemons[y]);
    assert!(
        !claimed.is_empty(),
        "the daemon killed mid-dispatch had finished its round"
    );
    kills.push(Kill {
        what: "mid-dispatch",
        instance: daemons[y].instance_suffix(),
        claimed,
        emails_before,
        files_before,
        stored_after: db.count("SELECT COUNT(*) FROM ingested_files"),
        inbox_run,
    });

    // The other ten months arrive one every 400 ms, the way an exporter writes them.
    let dropper = {
        let inbox = sb.inbox();
        let months = months.clone();
        std::thread::spawn(move || {
            for (f, body) in months.iter().enumerate().skip(2) {
                let part = inbox.join(format!("{}.part", file_name(f)));
                std::fs::write(&part, body).unwrap();
                std::fs::rename(&part, inbox.join(file_name(f))).unwrap();
                std::thread::sleep(Duration::from_millis(400));
            }
        })
    };

    // Fault 2: another daemon SIGKILLed while it stores a file: its inbox run (it holds the pass lock)
    // seen unfinished for 60 ms with a file waiting (a poll of an empty inbox takes a few ms; storing a
    // month of 250 users hundreds).
    let mut victim = None;
    let mut seen: Option<(usize, i64, Instant)> = None;
    wait_until(
        "another daemon in the middle of an inbox run",
        Duration::from_secs(60),
        || {
            let done = files_done(&sb);
            assert!(
                done < FILES,
                "every file was stored before a daemon could be killed mid-ingest"
            );
            let running = (0..3)
                .filter(|&i| i != y)
                .find_map(|i| db.running_inbox_run(&daemons[i]).map(|run| (i, run)));
            let waiting = names_in(&sb.inbox()).iter().any(|n| n.ends_with(".csv"));
            match (running, seen) {
                (Some((i, run)), Some((j, same, since))) if i == j && run == same => {
                    victim = Some((i, run));
                    done >= 3 && waiting && since.elapsed() >= Duration::from_millis(60)
                }
                (Some((i, run)), _) => {
                    seen = Some((i, run, Instant::now()));
                    false
                }
                (None, _) => {
                    seen = None;
                    false
                }
            }
        },
    );
    let (z, killed_run) = victim.unwrap();
    let emails_before = server.messages().len();
    let files_before = files_done(&sb);
    daemons[z].kill();
    let stored_after = db.count("SELECT COUNT(*) FROM ingested_files");
    let waiting_after = names_in(&sb.inbox());
    // The takeover: the next inbox run, by another instance, once the server dropped the lock.
    let takeover = wait_until("another instance takes over the inbox", Duration::from_secs(30), || {
        db.count(&format!(
            "SELECT COUNT(*) FROM job_runs WHERE job = 'inbox' AND id > {killed_run} AND instance NOT LIKE '%{}'",
            daemons[z].instance_suffix()
        )) > 0
    });
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM job_runs WHERE id = {killed_run} AND finished_at IS NULL"
        )),
        1,
        "the run killed mid-ingest had finished: the kill came too late"
    );
    // Its file is still waiting, unstored: the kill came before that file's commit.
    assert!(
        usize::try_from(stored_after).unwrap() < FILES && !waiting_after.is_empty(),
        "{stored_after} stored, waiting: {waiting_after:?}"
    );
    eprintln!(
        "mid-ingest kill: {stored_after} files stored, waiting in the inbox: {:?}",
        waiting_after
            .iter()
            .filter(|n| !n.ends_with(".part"))
            .collect::<Vec<_>>()
    );
    kills.push(Kill {
        what: "mid-ingest",
        instance: daemons[z].instance_suffix(),
        claimed: db.claimed_by(&daemons[z]),
        emails_before,
        files_before,
        stored_after,
        inbox_run: Some(killed_run),
    });

    // Both restarted, their clocks 11 minutes on: the killed instance's 10-minute claims have run out.
    for i in [y, z] {
        instances.insert(daemons[i].instance_suffix());
        let later = t0_plus(fleet_started.elapsed() + Duration::from_secs(11 * 60));
        daemons[i] = Daemon::start(&sb, &later, &env);
        daemons[i].wait_ready();
    }
    dropper.join().unwrap();
    wait_until(
        "every file stored and every due email sent",
        Duration::from_secs(120),
        || files_done(&sb) == FILES && db.outbox_busy() == 0,
    );
    for d in &mut daemons {
        instances.insert(d.instance_suffix());
        d.terminate();
    }
    let fleet_took = fleet_started.elapsed();

    // Every file stored once and moved once.
    let processed = names_in(&sb.processed());
    let all: Vec<String> = (0..FILES).map(file_name).collect();
    assert_eq!(processed, all, "the processed folder");
    assert!(names_in(&sb.inbox()).is_empty(), "{:?}", names_in(&sb.inbox()));
    assert!(names_in(&sb.failed()).is_empty(), "{:?}", names_in(&sb.failed()));
    // What the finished inbox runs report (a killed run leaves no summary: the files it had committed
    // before the kill are not counted there), and what the run after the kill took over.
    let totals = db.rows(
        "SELECT json_build_array(SUM((summary->>'files')::bigint), SUM((summary->>'snapshots')::bigint), \
         SUM((summary->>'duplicates')::bigint))::text FROM job_runs WHERE job = 'inbox'",
    );
    let totals: Vec<i64> = serde_json::from_str(&totals[0]).unwrap();
    let after_kill = db.rows(&format!(
        "SELECT json_build_array(instance, summary)::text FROM job_runs WHERE job = 'inbox' AND id > {killed_run} \
         AND instance NOT LIKE '%{}' ORDER BY id LIMIT 1",
        kills[1].instance
    ));
    eprintln!("finished inbox runs: files, snapshots, duplicates = {totals:?}; the run that took over: {after_kill:?}");
    let got = db.export();
    assert_eq!(got["files"].len(), FILES);
    assert_eq!(
        got["snapshots"].len(),
        FILES * USERS,
        "one snapshot per user and month, none twice"
    );
    for (table, rows) in &expected {
        assert!(
            got[table] == *rows,
            "{table}: {} rows in the fleet, {} in the reference; first difference: {:?}",
            got[table].len(),
            rows.len(),
            got[table].iter().zip(rows).find(|(a, b)| a != b)
        );
    }

    // Every email received, a second copy only of what a killed instance held claimed.
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut recipients = Vec::new();
    for m in server.messages() {
        let id = m.header("Message-ID").unwrap();
        if !copies.contains_key(&id) {
            recipients.push(m.to.join(","));
        }
        *copies.entry(id).or_insert(0) += 1;
    }
    recipients.sort();
    let sent: BTreeSet<String> = db
        .rows("SELECT message_id FROM email_deliveries WHERE status = 'sent'")
        .into_iter()
        .collect();
    let received: BTreeSet<String> = copies.keys().map(|id| id.trim_matches(['<', '>']).to_owned()).collect();
    let sent_bare: BTreeSet<String> = sent.iter().map(|id| id.trim_matches(['<', '>']).to_owned()).collect();
    assert_eq!(received, sent_bare, "emails received vs deliveries recorded as sent");
    assert_eq!(
        recipients, expected_recipients,
        "one email per user with an emailed alert, as in the reference"
    );
    let duplicated: BTreeSet<&String> = copies.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    let arrived = server.messages().len();
    for k in &kills {
        let again = duplicated
            .iter()
            .filter(|id| k.claimed.contains(id.trim_matches(['<', '>'])) || k.claimed.contains(**id))
            .count();
        eprintln!(
            "kill {} ({}): {} emails received and {} files moved before it, {} stored after it, its inbox run \
             {:?} unfinished; {} emails claimed by it, {again} received twice",
            k.what,
            k.instance,
            k.emails_before,
            k.files_before,
            k.stored_after,
            k.inbox_run,
            k.claimed.len()
        );
        assert!(
            again <= 1,
            "kill {}: {again} emails received twice (one connection: at most 1)",
            k.what
        );
    }
    let attributed = duplicated
        .iter()
        .filter(|id| {
            kills
                .iter()
                .any(|k| k.claimed.contains(id.trim_matches(['<', '>'])) || k.claimed.contains(**id))
        })
        .count();
    assert_eq!(
        attributed,
        duplicated.len(),
        "a duplicate no kill explains: {duplicated:?}"
    );
    assert!(copies.values().all(|n| *n <= 2), "{copies:?}");
    eprintln!(
        "fleet: {FILES} files, {} snapshots, {} progress entries, {} alerts; {arrived} emails received for {} \
         ({} duplicates for {} kills); takeover after the mid-ingest kill {takeover:?} (poll {POLL:?}); \
         {:?} for the fleet, {:?} in all",
        got["snapshots"].len(),
        got["progress"].len(),
        got["alerts"].len(),
        copies.len(),
        arrived - copies.len(),
        kills.len(),
        fleet_took,
        started.elapsed()
    );
    // The killed instance held the pass lock; PostgreSQL drops it with the connection, and the next
    // poll of another instance takes over: within one poll interval, plus the scheduler's 500 ms tick
    // and slack for a loaded machine.
    assert!(
        takeover <= POLL + Duration::from_millis(1500),
        "the inbox was taken over {takeover:?} after the kill (poll {POLL:?})"
    );

    // status against the shared database lists every instance's last runs (five processes in all):
    // for each job, one row per instance that ran it, as job_runs has them.
    let status: Value = serde_json::from_str(&sb.run_ok(&["status", "--json"], 0).stdout).unwrap();
    let listed: BTreeSet<(String, String)> = status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["job"].as_str().unwrap().to_owned(),
                r["instance"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ran: BTreeSet<(String, String)> = db
        .rows("SELECT DISTINCT json_build_array(job, instance)::text FROM job_runs")
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert_eq!(listed, ran, "{status}");
    let listed_instances: BTreeSet<String> = listed
        .iter()
        .map(|(_, name)| name[name.rfind(':').unwrap()..].to_owned())
        .collect();
    assert_eq!(listed_instances, instances, "{status}");
    let killed_inbox = status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == "inbox" && r["instance"].as_str().unwrap().ends_with(&kills[1].instance))
        .unwrap();
    assert_eq!(killed_inbox["finished_at"], Value::Null, "{status}");
    let text = sb.run_ok(&["status"], 0).stdout;
    assert!(
        text.contains(&format!("by each of {} instance(s)", instances.len())),
        "{text}"
    );
    for i in &instances {
        assert!(text.contains(i.as_str()), "{i} missing:\n{text}");
    }
    db.rt.block_on(db.pool.close());
    db.rt.block_on(schema.drop());
}
