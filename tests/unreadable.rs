//! A file in the inbox that cannot be read never stalls the files behind it: it is quarantined in
//! failed_dir with a report saying what failed and what to do, counted (run summary, `status`,
//! `/metrics`, exit 1 for `--run-once`), and the pass goes on. Through the real binary.
//!
//! Root reads any file whatever its mode, so when the tests run as root every goalkeeper command
//! runs as `nobody` over a sandbox that `nobody` owns, and the unreadable file stays root's with
//! mode 0600: exactly an operator's "the service user cannot read it".

mod common;

use common::{Output, Sandbox, names_in, repo_path};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const HEADER: &str = "user_id,period,kind,account,category,amount,rate,min_payment\n";
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A sandbox whose folders the service user owns (`nobody` when the tests run as root).
fn sandbox(db_url: Option<&str>) -> Sandbox {
    let sb = db_url.map_or_else(Sandbox::new, Sandbox::with_database);
    for dir in [sb.inbox(), sb.processed(), sb.failed()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    if is_root() {
        for path in [sb.dir.path().to_path_buf(), sb.inbox(), sb.processed(), sb.failed()] {
            std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    sb
}

/// A goalkeeper command as the service user.
fn command(sb: &Sandbox, args: &[&str]) -> std::process::Command {
    let mut cmd = sb.command(args);
    if is_root() {
        // std clears the supplementary groups when dropping from root to another uid.
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

fn run(sb: &Sandbox, args: &[&str], code: i32) -> Output {
    let out = command(sb, args).output().expect("the goalkeeper binary runs");
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

/// Drops a file the service user may read and rename.
fn drop_readable(sb: &Sandbox, name: &str, contents: &str) {
    let path = sb.inbox().join(name);
    std::fs::write(&path, contents).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

/// Drops a file the service user cannot read (but, as the folder is its own, may rename).
fn drop_unreadable(sb: &Sandbox, name: &str, contents: &str) {
    let path = sb.inbox().join(name);
    std::fs::write(&path, contents).unwrap();
    // As root the file stays root's: mode 0600 shuts nobody out. As anyone else, 0000 does.
    let mode = if is_root() { 0o600 } else { 0o000 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What an operator does after fixing it: make it readable and move it back.
fn fix_and_move_back(sb: &Sandbox, name: &str) {
    let quarantined = sb.failed().join(name);
    std::fs::set_permissions(&quarantined, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(sb.failed().join(format!("{name}.errors.txt"))).unwrap();
    std::fs::rename(&quarantined, sb.inbox().join(name)).unwrap();
}

fn register_users(sb: &Sandbox) {
    let users = repo_path("fixtures/users.csv");
    run(sb, &["users", "import", users.to_str().unwrap()], 0);
}

fn month(user: &str, period: &str) -> String {
    format!("{HEADER}{user},{period},income,,salary,1000,,\n")
}

fn an_unreadable_file_is_quarantined_counted_and_the_next_files_are_stored(sb: &Sandbox) {
    register_users(sb);
    drop_readable(sb, "1-ana.csv", &month("ana", "2025-01"));
    drop_unreadable(sb, "2-ben.csv", &month("ben", "2025-01"));
    drop_readable(sb, "3-chen.csv", &month("chen", "2025-01"));

    // A dry run says so, and changes nothing.
    let dry = run(sb, &["--run-once", "--dry-run"], 1);
    assert!(
        dry.stdout.contains(
            "2-ben.csv: would quarantine as unreadable: opening failed with \"Permission denied (os error 13)\"; \
             permission denied: fix its permissions"
        ),
        "{}",
        dry.stdout
    );
    assert_eq!(names_in(&sb.inbox()).len(), 3);

    let out = run(sb, &["--run-once"], 1);
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "inbox: 2 files processed, 2 snapshots stored, 0 corrections, 0 duplicates, 0 failed, 1 unreadable"
    );
    assert!(
        out.stderr.contains("1 file(s) could not be read and were quarantined"),
        "{}",
        out.stderr
    );
    assert_eq!(names_in(&sb.processed()), ["1-ana.csv", "3-chen.csv"]);
    assert_eq!(names_in(&sb.failed()), ["2-ben.csv", "2-ben.csv.errors.txt"]);
    assert!(names_in(&sb.inbox()).is_empty());
    let report = std::fs::read_to_string(sb.failed().join("2-ben.csv.errors.txt")).unwrap();
    assert_eq!(
        report,
        "goalkeeper could not read 2-ben.csv: opening failed with \"Permission denied (os error 13)\". \
         Nothing from this file was stored.\n\
         What to do: permission denied: fix its permissions (the user goalkeeper runs as must be able to read it) \
         and move it back into the inbox.\n\
         Moving it back later is an ordinary arrival (a late month or a correction).\n"
    );

    let status: Value = serde_json::from_str(&run(sb, &["status", "--json"], 0).stdout).unwrap();
    assert_eq!(status["inbox"]["failed"], 1, "{status}");
    assert_eq!(status["inbox"]["unreadable"], 1, "{status}");
    let inbox_run = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "inbox")
        .unwrap();
    assert_eq!(inbox_run["ok"], true, "{status}");
    assert_eq!(inbox_run["summary"]["unreadable"], 1, "{status}");
    let text = run(sb, &["status"], 0).stdout;
    assert!(text.contains("1 failed in"), "{text}");
    assert!(text.contains("(1 of them unreadable"), "{text}");

    // Fixed and moved back: an ordinary arrival.
    fix_and_move_back(sb, "2-ben.csv");
    let out = run(sb, &["--run-once"], 0);
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "inbox: 1 files processed, 1 snapshots stored, 0 corrections, 0 duplicates, 0 failed"
    );
    let users: Vec<String> = serde_json::from_str::<Value>(&run(sb, &["snapshots", "list", "--json"], 0).stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["ana", "ben", "chen"]);
}

#[test]
fn on_sqlite_an_unreadable_file_is_quarantined_counted_and_the_next_files_are_stored() {
    an_unreadable_file_is_quarantined_counted_and_the_next_files_are_stored(&sandbox(None));
}

#[test]
fn on_postgresql_an_unreadable_file_is_quarantined_counted_and_the_next_files_are_stored() {
    let Some(url) = common::postgres_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    an_unreadable_file_is_quarantined_counted_and_the_next_files_are_stored(&sandbox(Some(&schema.url)));
    rt.block_on(schema.drop());
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {timeout:?}");
}

fn exists(path: &Path) -> bool {
    path.exists()
}

#[test]
fn the_daemon_quarantines_an_unreadable_file_stays_healthy_and_stores_the_files_after_it() {
    let sb = sandbox(None);
    register_users(&sb);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut daemon = command(&sb, &["daemon"])
        .env("GOALKEEPER__SCHEDULE__INBOX_POLL_SECONDS", "1")
        .env("GOALKEEPER__HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the daemon starts");
    wait_until("the daemon answers /healthz", Duration::from_secs(30), || {
        http_get(port, "/healthz").starts_with("HTTP/1.1 200")
    });
    drop_unreadable(&sb, "1-ana.csv", &month("ana", "2025-01"));
    drop_readable(&sb, "2-ben.csv", &month("ben", "2025-01"));
    wait_until("both files handled", Duration::from_secs(20), || {
        exists(&sb.processed().join("2-ben.csv")) && exists(&sb.failed().join("1-ana.csv.errors.txt"))
    });
    wait_until(
        "the unreadable file counted in /metrics",
        Duration::from_secs(10),
        || http_get(port, "/metrics").contains("goalkeeper_files_total{outcome=\"unreadable\"} 1"),
    );
    let metrics = http_get(port, "/metrics");
    assert!(
        metrics.contains("goalkeeper_files_total{outcome=\"stored\"} 1"),
        "{metrics}"
    );
    let health = http_get(port, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    // Fixed and moved back while the daemon runs: stored on the next poll.
    fix_and_move_back(&sb, "1-ana.csv");
    wait_until("the fixed file stored", Duration::from_secs(20), || {
        exists(&sb.processed().join("1-ana.csv"))
    });
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon exited");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
