//! `goalkeeper backup FILE` through the real binary: a consistent SQLite copy (even while the daemon
//! runs) that never overwrites; on PostgreSQL it says to use pg_dump.

mod common;

use common::Sandbox;
use std::process::Stdio;

fn stored(sb: &Sandbox) {
    sb.register_sample_users();
    sb.copy_sample_inbox();
    sb.run_ok(&["--run-once"], 0);
}

#[test]
fn a_backup_of_sqlite_is_a_database_with_the_same_content_and_is_never_overwritten() {
    let sb = Sandbox::new();
    stored(&sb);
    let out = sb.run_ok(&["backup", "copy.db"], 0);
    assert!(out.stdout.starts_with("backup written: copy.db ("), "{}", out.stdout);
    let copy = sb.path("copy.db");
    // Only the copy: no partial file left beside it.
    let leftovers: Vec<_> = common::names_in(sb.dir.path())
        .into_iter()
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The copy is a goalkeeper database with the same snapshots.
    let from_copy = Sandbox::with_database(&format!("sqlite://{}", copy.display()));
    assert_eq!(from_copy.snapshots_json(), sb.snapshots_json());

    // Never overwritten: exit 1, a message, the file untouched.
    let before = std::fs::read(&copy).unwrap();
    let again = sb.run_ok(&["backup", "copy.db"], 1);
    assert!(
        again
            .stderr
            .contains("copy.db already exists: goalkeeper backup never overwrites a file"),
        "{}",
        again.stderr
    );
    assert!(std::fs::read(&copy).unwrap() == before, "the existing file was changed");
}

#[test]
fn a_backup_into_a_missing_folder_fails_and_a_missing_database_is_not_created() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&["backup", "nowhere/copy.db"], 2);
    assert!(
        out.stderr.contains("the folder nowhere does not exist"),
        "{}",
        out.stderr
    );
    // The database was never opened, let alone created.
    assert!(!sb.path("gk.db").exists());
    let out = sb.run_ok(&["backup", "copy.db"], 2);
    assert!(!sb.path("gk.db").exists(), "{}", out.stderr);
    assert!(!sb.path("copy.db").exists());
}

#[test]
fn a_backup_while_the_daemon_runs_is_consistent() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let mut daemon = sb
        .command(&["daemon"])
        .env("GOALKEEPER__SCHEDULE__INBOX_POLL_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    sb.copy_sample_inbox();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !common::names_in(&sb.inbox()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    sb.run_ok(&["backup", "live.db"], 0);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    let copy = Sandbox::with_database(&format!("sqlite://{}", sb.path("live.db").display()));
    let status: serde_json::Value = serde_json::from_str(&copy.run_ok(&["status", "--json"], 0).stdout).unwrap();
    assert_eq!(status["database"]["reachable"], true, "{status}");
    assert_eq!(copy.snapshots_json(), sb.snapshots_json());
}

#[test]
fn on_postgresql_backup_says_to_use_pg_dump_and_writes_nothing() {
    let Some(url) = common::postgres_url() else { return };
    let sb = Sandbox::with_database(&url);
    let out = sb.run_ok(&["backup", "copy.db"], 1);
    assert!(out.stderr.contains("for PostgreSQL use pg_dump"), "{}", out.stderr);
    assert!(
        out.stderr.contains("pg_dump --format=custom --file=copy.db"),
        "{}",
        out.stderr
    );
    assert!(!sb.path("copy.db").exists());
}
