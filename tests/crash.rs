//! Crash safety: `kill -9` a real `goalkeeper --run-once` at different points
//! of its run, check that every file is either untouched and unstored, or
//! stored (and moved, or still waiting to be moved), then re-run it and check
//! that everything is stored exactly once, goals' progress included.

mod common;

use common::{Sandbox, names_in};
use std::collections::HashMap;
use std::time::Instant;

const FILES: usize = 6;
const USERS: usize = 800;
const HEADER: &str = "user_id,period,kind,account,category,amount,rate,min_payment\n";

fn file_name(i: usize) -> String {
    format!("snapshots-2025-{:02}.csv", i + 1)
}

/// A sandbox with USERS registered, each with an emergency fund goal, and
/// FILES monthly files waiting in its inbox.
fn prepared() -> Sandbox {
    let sb = Sandbox::new();
    sb.register_numbered_users(USERS);
    let mut goals = String::from("goal_id,user_id,type,name,target_value,target_date,start_date,accounts,categories\n");
    for u in 0..USERS {
        goals.push_str(&format!(
            "g{u:05},u{u:05},emergency_fund,Fund,10000.00,2027-01-01,2025-01-01,efund,\n"
        ));
    }
    std::fs::write(sb.path("goals.csv"), goals).unwrap();
    sb.run_ok(&["goals", "import", "goals.csv"], 0);
    for f in 0..FILES {
        let mut body = String::from(HEADER);
        for u in 0..USERS {
            let p = format!("2025-{:02}", f + 1);
            common::synthetic_month(&mut body, u, &p, f, f);
        }
        sb.drop_file(&file_name(f), body);
    }
    sb
}

/// Snapshots per source file, and the highest version seen.
fn stored(sb: &Sandbox) -> (HashMap<String, usize>, i64) {
    let mut per_file = HashMap::new();
    let mut max_version = 0;
    for s in sb.snapshots_json().as_array().unwrap() {
        *per_file.entry(s["file_name"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        max_version = max_version.max(s["version"].as_i64().unwrap());
    }
    (per_file, max_version)
}

/// What must hold at any moment, crash or not. Returns how many files are done.
fn check_invariants(sb: &Sandbox, when: &str) -> usize {
    let inbox = names_in(&sb.inbox());
    let processed = names_in(&sb.processed());
    assert!(names_in(&sb.failed()).is_empty(), "{when}: a file failed");
    let (per_file, max_version) = stored(sb);
    assert!(max_version <= 1, "{when}: a file was stored twice");
    for f in 0..FILES {
        let name = file_name(f);
        let waiting = inbox.contains(&name);
        let moved = processed.contains(&name);
        assert!(
            waiting ^ moved,
            "{when}: {name} is in the inbox: {waiting}, processed: {moved}"
        );
        let snapshots = per_file.get(&name).copied().unwrap_or(0);
        assert!(
            snapshots == 0 || snapshots == USERS,
            "{when}: {name} is half stored ({snapshots} snapshots)"
        );
        assert!(!moved || snapshots == USERS, "{when}: {name} was moved but not stored");
    }
    assert_eq!(
        processed.len(),
        processed.iter().filter(|n| n.starts_with("snapshots-")).count()
    );
    processed.len()
}

/// The progress entries (period, value, contribution) of every 100th goal.
fn progress_of_some_goals(sb: &Sandbox) -> Vec<Vec<(String, String, String)>> {
    (0..USERS)
        .step_by(100)
        .map(|u| {
            let out = sb.run_ok(&["progress", "history", &format!("g{u:05}"), "--json"], 0);
            let entries: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            entries
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (field("period"), field("value"), field("contribution"))
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_run_killed_at_any_point_loses_nothing_and_stores_nothing_twice() {
    // How long an uninterrupted run takes here, to spread the kills over it.
    let reference = prepared();
    let started = Instant::now();
    let run = reference
        .command(&["--run-once"])
        .env("RUST_LOG", "warn,goalkeeper::commands::run_once=debug")
        .output()
        .unwrap();
    let whole = started.elapsed();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // The kills are spread over the run up to the end of its inbox phase
    // (files and goals), not over the alert passes after it.
    let log = String::from_utf8_lossy(&run.stderr);
    let inbox_ms: u64 = log
        .split("inbox_ms=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no inbox_ms in the run's log: {log}"));
    let full = std::time::Duration::from_millis(inbox_ms + 50).min(whole);
    assert_eq!(check_invariants(&reference, "after an uninterrupted run"), FILES);
    let progress = progress_of_some_goals(&reference);
    assert!(progress.iter().all(|entries| entries.len() == FILES), "{progress:?}");

    let mut landed_midway = 0;
    for tenth in [1, 2, 3, 4, 5, 6, 7, 8, 9] {
        let sb = prepared();
        let delay = full.mul_f64(f64::from(tenth) / 10.0);
        let mut child = sb.command(&["--run-once"]).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; it may have finished already
        child.wait().unwrap();
        let done = check_invariants(&sb, &format!("after a kill at {delay:?}"));
        let goals_done = progress_of_some_goals(&sb) == progress;
        eprintln!("kill at {delay:?} of {full:?}: {done} of {FILES} files done, goals' progress done: {goals_done}");
        if done < FILES || !goals_done {
            landed_midway += 1;
        }
        // A second kill during the recovery run, then a run to the end.
        let mut child = sb.command(&["--run-once"]).spawn().unwrap();
        std::thread::sleep(delay / 2);
        let _ = child.kill();
        child.wait().unwrap();
        check_invariants(&sb, "after a kill during recovery");
        sb.run_ok(&["--run-once"], 0);
        assert_eq!(check_invariants(&sb, "after recovery"), FILES);
        let (per_file, _) = stored(&sb);
        assert_eq!(per_file.values().sum::<usize>(), FILES * USERS);
        // Files stored before a kill whose goals' progress was not stored
        // yet are caught up: every goal ends as after an uninterrupted run.
        assert_eq!(progress_of_some_goals(&sb), progress, "after a kill at {delay:?}");
    }
    // The kills must really have interrupted work, or this test proves nothing.
    assert!(
        landed_midway >= 3,
        "only {landed_midway} of 9 kills interrupted a run of {full:?}"
    );
}
