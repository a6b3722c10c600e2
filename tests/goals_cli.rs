//! Goals, progress, templates and the dashboard through the real binary,
//! on the sample users and inbox in fixtures/ and the goals in
//! fixtures/goals.csv. Every figure asserted here was worked out by hand from
//! the sample snapshots (see the comments next to them).

mod common;

use common::{Output, Sandbox, repo_path};
use serde_json::Value;

/// The instant every command runs at: the day after the sample's last month.
const NOW: &str = "2026-02-01T09:00:00Z";

/// The keys of `goals show --json` (and of each `dashboard --json` item).
const SHOW_KEYS: [&str; 20] = [
    "id",
    "user_id",
    "name",
    "type",
    "status",
    "target_value",
    "target_date",
    "start_date",
    "current_value",
    "progress_percent",
    "on_track",
    "days_elapsed",
    "days_remaining",
    "required_monthly_contribution",
    "current_monthly_pace",
    "projected_completion_date",
    "projected_final_value",
    "standing",
    "needed",
    "needed_short",
];

/// The goals of fixtures/goals.csv.
const FIXTURE_GOALS: [&str; 9] = [
    "ana-bike",
    "ana-card",
    "ana-efund",
    "ben-house",
    "ben-networth",
    "ben-student",
    "chen-retirement",
    "dara-dining",
    "dara-savings-rate",
];

/// The months of the sample inbox.
const SAMPLE_MONTHS: [&str; 13] = [
    "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
    "2025-11", "2025-12", "2026-01",
];

/// Runs goalkeeper at [`NOW`] and insists on exit status `code`.
fn gk(sb: &Sandbox, args: &[&str], code: i32) -> Output {
    gk_at(sb, NOW, args, code)
}

fn gk_at(sb: &Sandbox, now: &str, args: &[&str], code: i32) -> Output {
    let mut all = vec!["--now", now];
    all.extend_from_slice(args);
    sb.run_ok(&all, code)
}

fn parse(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.stdout))
}

fn show(sb: &Sandbox, id: &str) -> Value {
    parse(&gk(sb, &["goals", "show", id, "--json"], 0))
}

fn history(sb: &Sandbox, id: &str) -> Vec<Value> {
    parse(&gk(sb, &["progress", "history", id, "--json"], 0))
        .as_array()
        .expect("progress history --json is an array")
        .clone()
}

fn periods(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["period"].as_str().unwrap()).collect()
}

fn goals_list(sb: &Sandbox) -> Vec<Value> {
    parse(&gk(sb, &["goals", "list", "--json"], 0))
        .as_array()
        .unwrap()
        .clone()
}

/// The ids of the current snapshots of `user`, by period.
fn current_snapshot_ids(sb: &Sandbox, user: &str) -> std::collections::BTreeMap<String, i64> {
    sb.snapshots_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["user_id"] == user && s["is_current"] == true)
        .map(|s| (s["period"].as_str().unwrap().to_owned(), s["id"].as_i64().unwrap()))
        .collect()
}

/// Money as goalkeeper writes it in JSON: a string with exactly two decimals.
fn is_money(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    match digits.split_once('.') {
        Some((whole, cents)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && cents.len() == 2
                && cents.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Every key of a goal view is there, and nothing else; money and dates are
/// written the documented way.
fn assert_goal_view(v: &Value) {
    let id = v["id"].as_str().unwrap_or("?");
    let mut keys: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = SHOW_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{id}");
    for key in [
        "target_value",
        "current_value",
        "required_monthly_contribution",
        "current_monthly_pace",
    ] {
        let s = v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: {key} is a string: {v}"));
        assert!(is_money(s), "{id}: {key} = {s:?}");
    }
    match &v["projected_final_value"] {
        Value::Null => {}
        Value::String(s) => assert!(is_money(s), "{id}: projected_final_value = {s:?}"),
        other => panic!("{id}: projected_final_value = {other}"),
    }
    assert!(is_date(v["start_date"].as_str().unwrap()), "{id}: {v}");
    for key in ["target_date", "projected_completion_date"] {
        match &v[key] {
            Value::Null => {}
            Value::String(s) => assert!(is_date(s), "{id}: {key} = {s:?}"),
            other => panic!("{id}: {key} = {other}"),
        }
    }
    assert!(v["progress_percent"].is_number(), "{id}: {v}");
    assert!(v["on_track"].is_boolean(), "{id}: {v}");
    assert!(v["days_elapsed"].is_i64(), "{id}: {v}");
    assert!(
        v["days_remaining"].is_null() || v["days_remaining"].is_i64(),
        "{id}: {v}"
    );
}

/// Users registered and the sample inbox stored; no goals yet.
fn with_sample_snapshots() -> Sandbox {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.copy_sample_inbox();
    gk(&sb, &["--run-once"], 0);
    sb
}

/// Users registered, fixtures/goals.csv imported and one more goal added; no snapshots yet.
fn sample_users_and_goals(sb: &Sandbox) {
    sb.register_sample_users();
    let goals = repo_path("fixtures/goals.csv");
    let out = gk(sb, &["goals", "import", goals.to_str().unwrap()], 0);
    assert!(
        out.stdout.contains("imported 9 goals from")
            && out
                .stdout
                .contains("(9 created, 0 updated); 0 progress entries from stored snapshots"),
        "{}",
        out.stdout
    );
    // One more goal, to see the correction change a value and not only an id:
    // the corrected June adds a bonus to ben's income, so his savings rate moves.
    gk(
        sb,
        &[
            "goals",
            "add",
            "--user",
            "ben",
            "--type",
            "savings_rate",
            "--id",
            "ben-rate",
            "--name",
            "Save 30 % of income",
            "--target",
            "30",
            "--start-date",
            "2025-01-01",
        ],
        0,
    );
}

/// Users registered, fixtures/goals.csv imported, then the sample inbox stored.
fn the_sample_year(sb: &Sandbox) {
    sample_users_and_goals(sb);
    sb.copy_sample_inbox();
    let out = gk(sb, &["--run-once"], 0);
    assert!(
        out.stdout
            .contains("inbox: 14 files processed, 53 snapshots stored, 1 corrections, 1 duplicates, 0 failed"),
        "{}",
        out.stdout
    );
}

/// A sandbox on a fresh schema of the test PostgreSQL server, if one is set.
fn on_postgres(test: impl FnOnce(&Sandbox)) {
    let Some(url) = common::postgres_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    let sb = Sandbox::with_database(&schema.url);
    test(&sb);
    rt.block_on(schema.drop());
}

fn a_year_of_snapshots_moves_every_goal(sb: &Sandbox) {
    the_sample_year(sb);

    for id in FIXTURE_GOALS.iter().chain(&["ben-rate"]) {
        assert_goal_view(&show(sb, id));
    }

    // ana's emergency fund: efund 9,838.34 in 2026-01 against 12,000.00 by
    // 2026-06-30 at 4.1 % a year. 396 days since 2025-01-01, 149 to go; pace
    // is the mean of the last three contributions (448.95 + 531.95 +
    // 727.11) / 3; at that pace and rate it passes 12,000 after 4 months.
    assert_eq!(
        show(sb, "ana-efund"),
        serde_json::json!({
            "id": "ana-efund",
            "user_id": "ana",
            "name": "Emergency fund",
            "type": "emergency_fund",
            "status": "active",
            "target_value": "12000.00",
            "target_date": "2026-06-30",
            "start_date": "2025-01-01",
            "current_value": "9838.34",
            "progress_percent": 81.99,
            "on_track": true,
            "days_elapsed": 396,
            "days_remaining": 149,
            "required_monthly_contribution": "395.77",
            "current_monthly_pace": "569.34",
            "projected_completion_date": "2026-06-01",
            "projected_final_value": "12873.78",
            "standing": {"label": "Current", "value": "9,838.34 of 12,000.00", "line": "Current: 9,838.34 of 12,000.00"},
            "needed": {"label": "Needed per month", "value": "395.77", "line": "Needed per month: 395.77"},
            "needed_short": "395.77/mo",
        })
    );
    // It crosses 25 % in February, 50 % in July and 75 % in December, on track throughout.
    let efund = history(sb, "ana-efund");
    let first_at = |share: f64| {
        efund
            .iter()
            .find(|e| e["progress"].as_f64().unwrap() >= share)
            .map(|e| e["period"].as_str().unwrap().to_owned())
    };
    assert_eq!(first_at(0.25).as_deref(), Some("2025-02"));
    assert_eq!(first_at(0.50).as_deref(), Some("2025-07"));
    assert_eq!(first_at(0.75).as_deref(), Some("2025-12"));
    assert!(efund.iter().all(|e| e["on_track"] == true), "{efund:?}");
    assert_eq!(efund[0]["value"], "2556.39");
    assert_eq!(efund[0]["contribution"], "0.00");
    assert_eq!(efund[12]["value"], "9838.34");
    assert_eq!(efund[12]["contribution"], "727.11");

    // ana's card: paid down from 4,200.00; it is gone from the December
    // snapshot (after 12.13 in November), so the goal completed then and
    // tracking stopped: twelve entries, not thirteen.
    let card = show(sb, "ana-card");
    assert_eq!(card["status"], "completed");
    assert_eq!(card["current_value"], "4200.00");
    assert_eq!(card["progress_percent"], 100.0);
    let card = history(sb, "ana-card");
    assert_eq!(periods(&card), SAMPLE_MONTHS[..12]);
    assert_eq!(card[0]["value"], "265.65"); // 4,200.00 − 3,934.35
    assert_eq!(card[10]["value"], "4187.87"); // 4,200.00 − 12.13
    assert_eq!(card[11]["value"], "4200.00");
    assert_eq!(card[11]["contribution"], "12.13");
    assert_eq!(
        card[11]["note"],
        "linked account card gone from this snapshot after being seen: counted as paid off"
    );
    let listed = goals_list(sb);
    let completed: Vec<&str> = listed
        .iter()
        .filter(|g| g["status"] == "completed")
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(completed, ["ana-card"]);

    // Every other goal measured by snapshots has one budget_sync entry per
    // month from its start, each from that month's current snapshot.
    for id in [
        "ana-efund",
        "ben-house",
        "ben-networth",
        "ben-rate",
        "ben-student",
        "chen-retirement",
        "dara-dining",
        "dara-savings-rate",
    ] {
        let user = id.split('-').next().unwrap();
        let snapshots = current_snapshot_ids(sb, user);
        let entries = history(sb, id);
        assert_eq!(periods(&entries), SAMPLE_MONTHS, "{id}");
        for e in &entries {
            assert_eq!(e["source"], "budget_sync", "{id}: {e}");
            assert_eq!(e["goal_id"], id);
            let period = e["period"].as_str().unwrap();
            assert_eq!(
                e["snapshot_id"].as_i64(),
                snapshots.get(period).copied(),
                "{id} {period}"
            );
        }
    }
    // The custom goal takes manual entries only.
    assert_eq!(history(sb, "ana-bike"), Vec::<Value>::new());
    let bike = show(sb, "ana-bike");
    assert_eq!(
        (bike["current_value"].as_str(), bike["status"].as_str()),
        (Some("0.00"), Some("active"))
    );

    // ben's June was corrected: his goals' June entries come from the
    // correction (version 2), and the savings rate is the corrected one:
    // (8,994.23 − 3,776.09) / 8,994.23 = 58.02 % (49.61 % before the bonus).
    let june = sb.snapshot_json("ben", "2025-06");
    assert_eq!(
        (june["version"].as_i64(), june["is_current"].as_bool()),
        (Some(2), Some(true))
    );
    let corrected = june["id"].as_i64().unwrap();
    let superseded: Vec<i64> = sb
        .snapshots_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["user_id"] == "ben" && s["period"] == "2025-06" && s["is_current"] == false)
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(superseded.len(), 1);
    assert_ne!(superseded[0], corrected);
    for id in ["ben-house", "ben-networth", "ben-student", "ben-rate"] {
        let entries = history(sb, id);
        let entry = entries.iter().find(|e| e["period"] == "2025-06").unwrap();
        assert_eq!(entry["snapshot_id"].as_i64(), Some(corrected), "{id}: {entry}");
    }
    let rate = history(sb, "ben-rate");
    assert_eq!(rate[5]["value"], "58.02");
    assert_eq!(rate[5]["contribution"], "11.65"); // from May's 46.37
    assert_eq!(rate[6]["contribution"], "-8.87"); // July's 49.15 against the corrected June
    let networth = history(sb, "ben-networth");
    assert_eq!(networth[5]["value"], june["net_worth"]);

    // The rest, figure by figure.
    let ben_house = show(sb, "ben-house");
    assert_eq!(ben_house["current_value"], "21417.65");
    assert_eq!(ben_house["progress_percent"], 53.54);
    assert_eq!(ben_house["on_track"], true);
    let student = show(sb, "ben-student");
    assert_eq!(student["current_value"], "3945.04"); // 18,500.00 − 14,554.96
    assert_eq!(student["progress_percent"], 21.32);
    // 14,554.96 over the 41 months to 2029-06-30 at 5.5 %: the standard payment.
    assert_eq!(student["required_monthly_contribution"], "390.21");
    assert_eq!(student["days_remaining"], 1245);
    let networth = show(sb, "ben-networth");
    assert_eq!(networth["current_value"], "65342.40");
    assert_eq!(networth["current_monthly_pace"], "2372.38"); // (2,187.31 + 2,824.62 + 2,105.21) / 3
    let chen = show(sb, "chen-retirement");
    assert_eq!(chen["current_value"], "5463173.34");
    assert_eq!(chen["current_monthly_pace"], "63691.18"); // (247,813.87 − 47,787.45 − 8,952.89) / 3
    let rate = show(sb, "dara-savings-rate");
    // (6,537.44 − 3,182.45) / 6,537.44 = 51.32 % against 20 %: done this month, every month.
    assert_eq!(rate["target_value"], "20.00");
    assert_eq!(rate["current_value"], "51.32");
    assert_eq!(rate["progress_percent"], 100.0);
    assert_eq!(rate["on_track"], true);
    assert_eq!(rate["days_remaining"], Value::Null);
    let dining = show(sb, "dara-dining");
    // 247.93 against a ceiling of 240.00: 7.93 too much this month.
    assert_eq!(dining["current_value"], "247.93");
    assert_eq!(dining["required_monthly_contribution"], "7.93");
    assert_eq!(dining["on_track"], false);
    // Progress is measured from the first month's 257.07 toward 240.00.
    assert_eq!(dining["progress_percent"], 53.54);
}

#[test]
fn a_year_of_snapshots_moves_every_goal_and_completes_the_paid_off_card() {
    a_year_of_snapshots_moves_every_goal(&Sandbox::new());
}

#[test]
fn a_year_of_snapshots_moves_every_goal_on_postgresql_too() {
    on_postgres(a_year_of_snapshots_moves_every_goal);
}

/// What sync left of every goal: its entries (without ids and times) and the
/// alerts raised, in a stable order.
fn sync_outcome(sb: &Sandbox) -> (Vec<Value>, Vec<Value>) {
    let mut entries = Vec::new();
    for goal in goals_list(sb) {
        let id = goal["id"].as_str().unwrap();
        for mut e in history(sb, id) {
            let e = e.as_object_mut().unwrap();
            for volatile in ["id", "recorded_at", "snapshot_id"] {
                e.remove(volatile);
            }
            e.insert("goal".into(), Value::from(id));
            entries.push(Value::Object(e.clone()));
        }
    }
    let mut alerts: Vec<Value> = parse(&gk(sb, &["alerts", "list", "--json"], 0))
        .as_array()
        .unwrap()
        .iter()
        .map(|a| serde_json::json!([a["goal_id"], a["type"], a["occurrence"], a["title"], a["message"]]))
        .collect();
    alerts.sort_by_key(|a| a.to_string());
    (entries, alerts)
}

#[test]
fn one_run_over_a_year_of_files_syncs_goals_as_one_run_per_file_does() {
    // One run: each file's goals are tracked while the file before it is stored.
    let all_at_once = Sandbox::new();
    the_sample_year(&all_at_once);

    // The same files one run at a time, in the same order.
    let one_by_one = Sandbox::new();
    sample_users_and_goals(&one_by_one);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(repo_path("fixtures/inbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        one_by_one.drop_file(name, std::fs::read(file).unwrap());
        gk(&one_by_one, &["--run-once"], 0);
    }

    let (entries, alerts) = sync_outcome(&all_at_once);
    assert!(
        entries.len() > 90 && alerts.len() > 10,
        "{} entries, {} alerts",
        entries.len(),
        alerts.len()
    );
    assert_eq!((entries, alerts), sync_outcome(&one_by_one));
}

/// `--run-once` at NOW with goal sync's debug log, which it returns; it must succeed.
fn run_once_logging_goal_sync(sb: &Sandbox) -> String {
    let out = sb
        .command(&["--now", NOW, "--run-once"])
        .env("RUST_LOG", "warn,goalkeeper::goals=debug")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

#[test]
fn a_first_file_naming_most_users_with_goals_has_every_goal_read_while_it_is_prepared() {
    let sb = Sandbox::new();
    sample_users_and_goals(&sb);
    sb.copy_sample_inbox();
    let log = run_once_logging_goal_sync(&sb);
    assert_eq!(
        log.matches("reading every active goal while the first file is prepared")
            .count(),
        1,
        "{log}"
    );
    // Every user's goals were in memory for every file after the first.
    assert!(!log.contains("not all in memory"), "{log}");
}

#[test]
fn a_user_first_seen_in_a_later_file_is_tracked_from_that_file_without_recomputing_anyone() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    for (user, id) in [("ana", "ana-save"), ("ben", "ben-save")] {
        gk(
            &sb,
            &[
                "goals",
                "add",
                "--user",
                user,
                "--type",
                "savings_target",
                "--id",
                id,
                "--name",
                "Savings",
                "--target",
                "10000",
                "--start-date",
                "2025-01-01",
                "--target-date",
                "2026-01-01",
                "--account",
                "pot",
            ],
            0,
        );
    }
    let header = "user_id,period,kind,account,category,amount,rate,min_payment\n";
    let month = |users: &[&str], period: &str, pot: &str| -> String {
        users
            .iter()
            .map(|u| format!("{u},{period},income,,salary,3000.00,,\n{u},{period},savings,pot,savings,{pot},,\n"))
            .collect()
    };
    // ben appears only in the second file: its goals are not in memory when
    // the first file is stored, so the second is planned after that commit.
    sb.drop_file(
        "s-2025-01.csv",
        format!("{header}{}", month(&["ana"], "2025-01", "1000.00")),
    );
    sb.drop_file(
        "s-2025-02.csv",
        format!("{header}{}", month(&["ana", "ben"], "2025-02", "1500.00")),
    );
    sb.drop_file(
        "s-2025-03.csv",
        format!("{header}{}", month(&["ana", "ben"], "2025-03", "2100.00")),
    );
    let log = run_once_logging_goal_sync(&sb);
    assert!(log.contains("not all in memory"), "{log}");
    assert!(!log.contains("recomputing"), "{log}");
    // A first file naming one of two users with goals: only its user's goals are read for it.
    assert!(!log.contains("reading every active goal"), "{log}");
    let contributions = |id: &str| -> Vec<(String, String)> {
        history(&sb, id)
            .iter()
            .map(|e| {
                (
                    e["period"].as_str().unwrap().to_owned(),
                    e["contribution"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |p: &str, c: &str| (p.to_owned(), c.to_owned());
    assert_eq!(
        contributions("ana-save"),
        [
            pair("2025-01", "0.00"),
            pair("2025-02", "500.00"),
            pair("2025-03", "600.00")
        ]
    );
    assert_eq!(
        contributions("ben-save"),
        [pair("2025-02", "0.00"), pair("2025-03", "600.00")]
    );
}

#[test]
fn a_goal_created_after_the_snapshots_backfills_every_month_from_its_start() {
    let sb = with_sample_snapshots();
    let out = gk(
        &sb,
        &[
            "goals",
            "add",
            "--user",
            "ben",
            "--type",
            "savings_target",
            "--id",
            "ben-efund-h2",
            "--name",
            "Emergency fund, second half",
            "--target",
            "15000",
            "--start-date",
            "2025-07-01",
            "--account",
            "efund",
        ],
        0,
    );
    assert_eq!(
        out.stdout,
        "added goal ben-efund-h2 (savings_target, Emergency fund, second half): 7 progress entries from stored \
         snapshots\n"
    );
    let entries = history(&sb, "ben-efund-h2");
    assert_eq!(periods(&entries), SAMPLE_MONTHS[6..]);
    let snapshots = current_snapshot_ids(&sb, "ben");
    for e in &entries {
        assert_eq!(e["source"], "budget_sync");
        let period = e["period"].as_str().unwrap();
        assert_eq!(e["snapshot_id"].as_i64(), snapshots.get(period).copied(), "{period}");
    }
    // The first contribution is measured from the (corrected) June before the start.
    assert_eq!(entries[0]["value"], "10743.17");
    assert_eq!(entries[0]["contribution"], "264.29"); // 10,743.17 − 10,478.88
    assert_eq!(entries[6]["value"], "12274.63");
    let v = show(&sb, "ben-efund-h2");
    assert_goal_view(&v);
    assert_eq!(v["current_value"], "12274.63");
    assert_eq!(v["start_date"], "2025-07-01");
    assert_eq!(v["days_elapsed"], 215);
}

#[test]
fn a_paused_goal_is_not_synced_and_catches_up_when_resumed() {
    let sb = Sandbox::new();
    the_sample_year(&sb);
    assert_eq!(
        gk(&sb, &["goals", "pause", "ben-house"], 0).stdout,
        "goal ben-house is now paused\n"
    );

    // February arrives for ben while his house goal is paused.
    sb.drop_file(
        "snapshots-2026-02.csv",
        "user_id,period,kind,account,category,amount,rate,min_payment\n\
         ben,2026-02,income,,salary,7420.00,,\n\
         ben,2026-02,expense,,groceries,640.00,,\n\
         ben,2026-02,expense,,transport,350.00,,\n\
         ben,2026-02,expense,,utilities,300.00,,\n\
         ben,2026-02,expense,,dining,310.00,,\n\
         ben,2026-02,expense,,housing,2100.00,,\n\
         ben,2026-02,savings,efund,emergency_fund,12510.00,4.10,\n\
         ben,2026-02,savings,house,down_payment,22180.00,3.90,\n\
         ben,2026-02,investment,401k,retirement,34653.11,7.00,\n\
         ben,2026-02,asset,car,vehicle,12050.00,,\n\
         ben,2026-02,debt,student,student_loan,14241.67,5.50,380.00\n",
    );
    let march = "2026-03-01T09:00:00Z";
    let out = gk_at(&sb, march, &["--run-once"], 0);
    assert!(
        out.stdout
            .contains("inbox: 1 files processed, 1 snapshots stored, 0 corrections, 0 duplicates, 0 failed"),
        "{}",
        out.stdout
    );
    let february = sb.snapshot_json("ben", "2026-02")["id"].as_i64().unwrap();

    let house = history(&sb, "ben-house");
    assert_eq!(periods(&house), SAMPLE_MONTHS, "a paused goal got an entry");
    // ben's active goals did get February.
    let networth = history(&sb, "ben-networth");
    assert_eq!(networth.last().unwrap()["period"], "2026-02");
    assert_eq!(networth.last().unwrap()["snapshot_id"].as_i64(), Some(february));
    let paused = show(&sb, "ben-house");
    assert_eq!(
        (paused["status"].as_str(), paused["current_value"].as_str()),
        (Some("paused"), Some("21417.65"))
    );

    assert_eq!(
        gk_at(&sb, march, &["goals", "resume", "ben-house"], 0).stdout,
        "goal ben-house is now active\n"
    );
    let house = history(&sb, "ben-house");
    let mut months = SAMPLE_MONTHS.to_vec();
    months.push("2026-02");
    assert_eq!(periods(&house), months);
    let last = house.last().unwrap();
    assert_eq!(last["source"], "budget_sync");
    assert_eq!(last["value"], "22180.00");
    assert_eq!(last["contribution"], "762.35"); // 22,180.00 − 21,417.65
    assert_eq!(last["snapshot_id"].as_i64(), Some(february));
    let resumed = show(&sb, "ben-house");
    assert_eq!(
        (resumed["status"].as_str(), resumed["current_value"].as_str()),
        (Some("active"), Some("22180.00"))
    );
}

/// Users registered and two goals without snapshots.
fn two_goals() -> Sandbox {
    let sb = Sandbox::new();
    sb.register_sample_users();
    for (id, name) in [("ana-trip", "Trip to Lisbon"), ("ana-laptop", "New laptop")] {
        gk(
            &sb,
            &[
                "goals",
                "add",
                "--user",
                "ana",
                "--type",
                "major_purchase",
                "--id",
                id,
                "--name",
                name,
                "--target",
                "2000",
                "--start-date",
                "2025-01-01",
            ],
            0,
        );
    }
    sb
}

fn status_of(sb: &Sandbox, id: &str) -> Option<String> {
    goals_list(sb)
        .iter()
        .find(|g| g["id"] == id)
        .map(|g| g["status"].as_str().unwrap().to_owned())
}

#[test]
fn illegal_status_changes_are_refused_with_a_clear_error() {
    let sb = two_goals();

    // Abandoned is final.
    assert_eq!(
        gk(&sb, &["goals", "abandon", "ana-trip"], 0).stdout,
        "goal ana-trip is now abandoned\n"
    );
    let out = gk(&sb, &["goals", "resume", "ana-trip"], 1);
    assert_eq!(
        out.stderr,
        "cannot resume a goal that is abandoned: an abandoned goal stays abandoned; create a new goal instead\n"
    );
    assert_eq!(out.stdout, "");
    assert_eq!(status_of(&sb, "ana-trip").as_deref(), Some("abandoned"));

    // Paused twice.
    gk(&sb, &["goals", "pause", "ana-laptop"], 0);
    let out = gk(&sb, &["goals", "pause", "ana-laptop"], 1);
    assert_eq!(out.stderr, "cannot pause a goal that is paused: it is paused already\n");
    assert_eq!(status_of(&sb, "ana-laptop").as_deref(), Some("paused"));

    // Deleted goals have no status to change.
    assert_eq!(
        gk(&sb, &["goals", "delete", "ana-laptop"], 0).stdout,
        "deleted goal ana-laptop and its history\n"
    );
    let out = gk(&sb, &["goals", "complete", "ana-laptop"], 1);
    assert_eq!(
        out.stderr,
        "no goal \"ana-laptop\"; a deleted goal cannot change status\n"
    );
    assert_eq!(status_of(&sb, "ana-laptop"), None);
    let out = gk(&sb, &["goals", "delete", "ana-laptop"], 1);
    assert_eq!(out.stderr, "no goal \"ana-laptop\" (deleted already?)\n");

    // Completed is final too.
    let sb = two_goals();
    gk(&sb, &["goals", "complete", "ana-trip"], 0);
    let out = gk(&sb, &["goals", "pause", "ana-trip"], 1);
    assert_eq!(
        out.stderr,
        "cannot pause a goal that is completed: a completed goal is final\n"
    );
    let out = gk(&sb, &["goals", "resume", "ana-laptop"], 1);
    assert_eq!(out.stderr, "cannot resume a goal that is active: it is not paused\n");
}

#[test]
fn a_target_of_zero_or_less_a_debt_goal_without_one_account_and_an_unknown_type_are_refused() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let add = |extra: &[&str]| {
        let mut args = vec!["goals", "add", "--user", "ana", "--name", "Something"];
        args.extend_from_slice(extra);
        gk(&sb, &args, 1)
    };

    let out = add(&["--type", "savings_target", "--target", "0"]);
    assert_eq!(out.stderr, "--target: expected an amount above zero\n");
    let out = add(&["--type", "savings_target", "--target", "0.00"]);
    assert_eq!(out.stderr, "--target: expected an amount above zero\n");
    let out = add(&["--type", "savings_target", "--target=-5"]);
    assert!(
        out.stderr
            .starts_with("--target: found \"-5\"; expected an amount that is not negative"),
        "{}",
        out.stderr
    );

    let out = add(&["--type", "debt_payoff", "--target", "4200"]);
    assert_eq!(
        out.stderr,
        "--account: expected exactly one debt account for a debt_payoff goal\n"
    );
    let out = add(&[
        "--type",
        "debt_payoff",
        "--target",
        "4200",
        "--account",
        "card",
        "--account",
        "student",
    ]);
    assert_eq!(
        out.stderr,
        "--account: expected exactly one debt account for a debt_payoff goal\n"
    );

    let out = add(&["--type", "house", "--target", "4200"]);
    assert_eq!(
        out.stderr,
        "--type: found \"house\"; expected one of emergency_fund, savings_target, down_payment, major_purchase, \
         debt_payoff, debt_free, investment_target, retirement_savings, savings_rate, expense_reduction, \
         net_worth_target, custom\n"
    );

    assert_eq!(goals_list(&sb), Vec::<Value>::new(), "nothing was created");
}

#[test]
fn a_debt_goal_with_exactly_one_account_is_accepted() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let out = gk(
        &sb,
        &[
            "goals",
            "add",
            "--user",
            "ana",
            "--type",
            "debt_payoff",
            "--name",
            "Card",
            "--target",
            "4200",
            "--account",
            "card",
        ],
        0,
    );
    assert_eq!(
        out.stdout,
        "added goal ana-debt_payoff-1 (debt_payoff, Card): 0 progress entries from stored snapshots\n"
    );
}

#[test]
fn a_goals_import_with_one_bad_row_imports_nothing_and_lists_every_bad_row_by_line() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let header = "goal_id,user_id,type,name,target_value,target_date,start_date,accounts,categories\n";
    let good = sb.path("good.csv");
    std::fs::write(
        &good,
        format!("{header}ana-trip,ana,major_purchase,Trip,2000.00,2026-06-30,2025-01-01,,\n"),
    )
    .unwrap();
    gk(&sb, &["goals", "import", good.to_str().unwrap()], 0);

    let bad = sb.path("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{header}\
             ana-trip,ana,major_purchase,Trip,9999.00,2026-06-30,2025-01-01,,\n\
             zoe-fund,zoe,savings_target,Nobody's,1000.00,,2025-01-01,,\n\
             ana-date,ana,savings_target,Bad date,1000.00,2026-02-30,2025-01-01,,\n\
             ana-type,ana,house,Bad type,1000.00,,2025-01-01,,\n\
             ben-fine,ben,down_payment,Fine,50000.00,2027-12-31,2025-01-01,house,\n"
        ),
    )
    .unwrap();
    let out = gk(&sb, &["goals", "import", bad.to_str().unwrap()], 1);
    let name = bad.display();
    assert_eq!(
        out.stderr,
        format!(
            "{name}: line 3, column 2 (user_id): found \"zoe\"; expected a registered user\n\
             {name}: line 4, column 6 (target_date): found \"2026-02-30\"; expected a date as YYYY-MM-DD or empty\n\
             {name}: line 5, column 3 (type): found \"house\"; expected one of emergency_fund, savings_target, \
             down_payment, major_purchase, debt_payoff, debt_free, investment_target, retirement_savings, \
             savings_rate, expense_reduction, net_worth_target, custom\n\
             {name}: nothing imported (3 problems)\n"
        )
    );
    assert_eq!(out.stdout, "");
    let goals = goals_list(&sb);
    let ids: Vec<&str> = goals.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ana-trip"], "the good rows were not imported either");
    assert_eq!(goals[0]["target_value"], "2000.00", "the existing goal was not updated");
}

#[test]
fn a_bad_target_in_a_goals_import_is_reported_once() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let file = sb.path("targets.csv");
    std::fs::write(
        &file,
        "goal_id,user_id,type,name,target_value\n\
         a1,ana,savings_target,Words,abc\n\
         a2,ana,savings_rate,Too much,120\n",
    )
    .unwrap();
    let out = gk(&sb, &["goals", "import", file.to_str().unwrap()], 1);
    let name = file.display();
    assert!(
        out.stderr.contains(&format!(
            "{name}: line 2, column 5 (target_value): found \"abc\"; expected a plain decimal number like 1234.50\n"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "{name}: line 3, column 5 (target_value): found \"120\"; expected a percentage of income from 0 to 100\n"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn templates_are_listed_and_turned_into_goals_from_the_latest_snapshot() {
    let sb = with_sample_snapshots();

    let out = gk(&sb, &["templates", "list"], 0);
    let ids: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let six = [
        "emergency_fund_3_months",
        "emergency_fund_6_months",
        "debt_free",
        "house_down_payment",
        "retirement_target",
        "savings_rate_target",
    ];
    assert_eq!(ids, six, "{}", out.stdout);
    assert!(out.stdout.starts_with("TEMPLATE "), "{}", out.stdout);
    let listed = parse(&gk(&sb, &["templates", "list", "--json"], 0));
    let json_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(json_ids, six);

    // ben's latest snapshot (2026-01) has 3,891.31 of expenses.
    let out = gk(
        &sb,
        &["goals", "from-template", "emergency_fund_6_months", "--user", "ben"],
        0,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "added goal ben-emergency_fund-1 (emergency_fund, 6-Month Emergency Fund): 0 progress entries from stored snapshots",
        "{}",
        out.stdout
    );
    // One line: how the target was derived, and what it takes a month.
    assert!(
        lines.len() == 2
            && lines[1].starts_with("6 × monthly expenses 3,891.31 = 23,347.86; ")
            && lines[1].ends_with("/month for 24 months"),
        "{}",
        out.stdout
    );
    let fund = show(&sb, "ben-emergency_fund-1");
    assert_goal_view(&fund);
    assert_eq!(fund["type"], "emergency_fund");
    assert_eq!(fund["target_value"], "23347.86");
    // Today in New York, and 24 months on.
    assert_eq!(fund["start_date"], "2026-02-01");
    assert_eq!(fund["target_date"], "2028-02-01");

    let out = gk(
        &sb,
        &[
            "goals",
            "from-template",
            "house_down_payment",
            "--user",
            "ana",
            "--param",
            "home_price=450000",
        ],
        0,
    );
    assert!(
        out.stdout.ends_with("\n20 % of home price 450,000.00 = 90,000.00\n"),
        "{}",
        out.stdout
    );
    let house = show(&sb, "ana-down_payment-1");
    assert_eq!(house["type"], "down_payment");
    assert_eq!(house["target_value"], "90000.00");
    assert_eq!(house["target_date"], Value::Null);

    // A user without a snapshot has no expenses to multiply.
    gk(&sb, &["users", "add", "--id", "eve", "--email", "eve@example.org"], 0);
    let out = gk(
        &sb,
        &["goals", "from-template", "emergency_fund_3_months", "--user", "eve"],
        1,
    );
    assert_eq!(
        out.stderr,
        "a 3-month emergency fund is 3 × your monthly expenses: expected a budget snapshot, but none is stored yet; \
         add one first\n"
    );
    assert_eq!(out.stdout, "");
    let out = gk(&sb, &["goals", "from-template", "debt_free", "--user", "eve"], 1);
    assert!(out.stderr.contains("expected a budget snapshot"), "{}", out.stderr);
    assert!(goals_list(&sb).iter().all(|g| g["user_id"] != "eve"));

    let out = gk(
        &sb,
        &["goals", "from-template", "emergency_fund_9_months", "--user", "ben"],
        1,
    );
    assert!(
        out.stderr
            .starts_with("unknown template \"emergency_fund_9_months\"; expected one of emergency_fund_3_months,"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_goal_started_after_the_latest_snapshot_stands_where_that_snapshot_puts_it() {
    // tracking::live_summary: "No entry yet (a goal started after the latest
    // snapshot): where it stands is what the latest snapshot says". ben's new
    // emergency fund starts today, after his latest snapshot, whose
    // emergency_fund account holds 12,274.63: it starts from there, not zero.
    let sb = with_sample_snapshots();
    let out = gk(
        &sb,
        &["goals", "from-template", "emergency_fund_6_months", "--user", "ben"],
        0,
    );
    let fund = show(&sb, "ben-emergency_fund-1");
    assert_eq!(fund["current_value"], "12274.63");
    // So the plan asks at most (23,347.86 − 12,274.63) / 24 = 461.38 a month
    // (less with 4.1 % interest), not the 23,347.86 / 24 = 972.83 of a start from zero.
    let line = out
        .stdout
        .lines()
        .find(|l| l.ends_with("/month for 24 months"))
        .unwrap();
    let amount: f64 = line
        .rsplit("; ")
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(amount <= 461.38, "{line}");
    let required: f64 = fund["required_monthly_contribution"].as_str().unwrap().parse().unwrap();
    assert!(required <= 461.38, "{fund}");
}

#[test]
fn moving_a_goals_start_later_drops_the_entries_before_it() {
    let sb = Sandbox::new();
    the_sample_year(&sb);
    let out = gk(&sb, &["goals", "update", "ben-house", "--start-date", "2025-07-01"], 0);
    assert_eq!(out.stdout, "updated goal ben-house: 7 progress entries recomputed\n");
    // src/goals.rs: "A goal's budget_sync entries are always what tracking its
    // user's current snapshots from its start gives".
    assert_eq!(periods(&history(&sb, "ben-house")), SAMPLE_MONTHS[6..]);
}

#[test]
fn a_manual_entry_shows_in_the_history_and_can_complete_a_custom_goal() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let goals = repo_path("fixtures/goals.csv");
    gk(&sb, &["goals", "import", goals.to_str().unwrap()], 0);

    // ana's bike: 1,500.00 by 2026-09-30.
    let out = gk(
        &sb,
        &[
            "progress",
            "record",
            "ana-bike",
            "--value",
            "400",
            "--period",
            "2025-10",
            "--note",
            "birthday money",
        ],
        0,
    );
    assert_eq!(out.stdout, "recorded 400.00 for ana-bike in 2025-10 (26.7 %)\n");
    let entries = history(&sb, "ana-bike");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (
            e["period"].as_str(),
            e["source"].as_str(),
            e["value"].as_str(),
            e["contribution"].as_str(),
            e["note"].as_str(),
            e["snapshot_id"].is_null(),
            e["recorded_at"].as_str(),
        ),
        (
            Some("2025-10"),
            Some("manual"),
            Some("400.00"),
            Some("0.00"),
            Some("birthday money"),
            true,
            Some(NOW)
        )
    );
    let text = gk(&sb, &["progress", "history", "ana-bike"], 0).stdout;
    assert!(
        text.lines()
            .any(|l| l.starts_with("2025-10  manual") && l.contains("400.00") && l.ends_with("birthday money")),
        "{text}"
    );

    gk(
        &sb,
        &[
            "progress", "record", "ana-bike", "--value", "900.00", "--period", "2025-12",
        ],
        0,
    );
    assert_eq!(show(&sb, "ana-bike")["status"], "active");

    let out = gk(
        &sb,
        &[
            "progress", "record", "ana-bike", "--value", "1500", "--period", "2026-01",
        ],
        0,
    );
    assert_eq!(
        out.stdout,
        "recorded 1,500.00 for ana-bike in 2026-01 (100.0 %)\ngoal ana-bike completed\n"
    );
    let entries = history(&sb, "ana-bike");
    assert_eq!(periods(&entries), ["2025-10", "2025-12", "2026-01"]);
    let contributions: Vec<&str> = entries.iter().map(|e| e["contribution"].as_str().unwrap()).collect();
    assert_eq!(contributions, ["0.00", "500.00", "600.00"]);
    let bike = show(&sb, "ana-bike");
    assert_eq!(bike["status"], "completed");
    assert_eq!(bike["current_value"], "1500.00");
    assert_eq!(bike["progress_percent"], 100.0);

    let out = gk(&sb, &["progress", "record", "nope", "--value", "1"], 1);
    assert_eq!(out.stderr, "no goal \"nope\"\n");
}

#[test]
fn recording_a_month_again_keeps_the_contributions_adding_up_to_the_change_in_value() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let goals = repo_path("fixtures/goals.csv");
    gk(&sb, &["goals", "import", goals.to_str().unwrap()], 0);
    for (value, period) in [("300", "2025-09"), ("400", "2025-10"), ("450", "2025-10")] {
        gk(
            &sb,
            &["progress", "record", "ana-bike", "--value", value, "--period", period],
            0,
        );
    }
    // From 300.00 in September to 450.00 in October, whatever the entries.
    let entries = history(&sb, "ana-bike");
    let cents = |v: &Value| {
        let s = v.as_str().unwrap();
        let (whole, frac) = s.split_once('.').unwrap();
        whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
    };
    let total: i64 = entries.iter().map(|e| cents(&e["contribution"])).sum();
    assert_eq!(entries.last().unwrap()["value"], "450.00");
    assert_eq!(total, 15_000, "{entries:#?}");
}

/// The character column where `needle` starts in `line`.
fn char_col(line: &str, needle: &str) -> usize {
    let byte = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    line[..byte].chars().count()
}

#[test]
fn the_dashboard_shows_aligned_rows_with_a_progress_bar_and_percent() {
    let sb = Sandbox::new();
    the_sample_year(&sb);
    let out = gk(&sb, &["dashboard", "--user", "ana"], 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let header = lines[0];
    assert!(header.starts_with("USER  GOAL "), "{header}");
    let rows = &lines[1..];

    // Cells are separated by at least two spaces; the bar is 20 wide with
    // milestone marks at 25, 50 and 75 % where it is not filled.
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect())
        .collect();
    assert_eq!(
        cells,
        [
            vec![
                "ana",
                "New bike",
                "░░░░░┆░░░░┆░░░░┆░░░░",
                "0.0 %",
                "187.50/mo",
                "-",
                "✗ behind"
            ],
            vec![
                "ana",
                "Credit card paid off",
                "████████████████████",
                "100.0 %",
                "0.00/mo",
                // Completed: its December entry reached 100 % (docs/money.md).
                "2025-12-31",
                "done"
            ],
            vec![
                "ana",
                "Emergency fund",
                "████████████████░░░░",
                "82.0 %",
                "395.77/mo",
                "2026-06-01",
                "✓ on track"
            ],
        ],
        "{}",
        out.stdout
    );

    // Aligned: every column starts at the same character on every row.
    let progress = char_col(header, "PROGRESS");
    let needed = char_col(header, "NEEDED");
    let projected = char_col(header, "PROJECTED");
    let status = char_col(header, "STATUS");
    for (row, c) in rows.iter().zip(&cells) {
        assert_eq!(char_col(row, c[1]), char_col(header, "GOAL"), "{row}");
        assert_eq!(char_col(row, c[2]), progress, "{row}");
        assert_eq!(char_col(row, c[4]), needed, "{row}");
        assert_eq!(char_col(row, c[5]), projected, "{row}");
        assert_eq!(char_col(row, c[6]), status, "{row}");
        assert_eq!(c[2].chars().count(), 20, "{row}");
    }
    let percent_ends: Vec<usize> = rows.iter().map(|r| char_col(r, " %") + 2).collect();
    assert!(percent_ends.windows(2).all(|w| w[0] == w[1]), "{}", out.stdout);

    // JSON: one view per goal not abandoned, in user then id order.
    let all = parse(&gk(&sb, &["dashboard", "--json"], 0));
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = FIXTURE_GOALS.to_vec();
    want.insert(5, "ben-rate");
    assert_eq!(ids, want);
    for v in all.as_array().unwrap() {
        assert_goal_view(v);
        assert_eq!(*v, show(&sb, v["id"].as_str().unwrap()));
    }
    gk(&sb, &["goals", "abandon", "ana-bike"], 0);
    let ana = parse(&gk(&sb, &["dashboard", "--user", "ana", "--json"], 0));
    let ids: Vec<&str> = ana
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ana-card", "ana-efund"]);

    let empty = Sandbox::new();
    empty.register_sample_users();
    assert_eq!(
        gk(&empty, &["dashboard"], 0).stdout,
        "no goals yet: add one with `goalkeeper goals add` or `goals from-template`\n"
    );
    assert_eq!(parse(&gk(&empty, &["dashboard", "--json"], 0)), serde_json::json!([]));
}
