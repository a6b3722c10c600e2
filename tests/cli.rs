//! The command line through the real binary, each test in its own folder.

mod common;

use common::{Sandbox, names_in, repo_path};
use std::fs;

const HEADER: &str = "user_id,period,kind,account,category,amount,rate,min_payment\n";

#[test]
fn the_sample_inbox_is_stored_with_its_correction_and_duplicate_recognised() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.copy_sample_inbox();
    let out = sb.run_ok(&["--run-once"], 0);
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "inbox: 14 files processed, 53 snapshots stored, 1 corrections, 1 duplicates, 0 failed"
    );
    assert!(names_in(&sb.inbox()).iter().all(|n| n == "processed" || n == "failed"));
    assert_eq!(names_in(&sb.processed()).len(), 15);
    let snap = sb.snapshot_json("ben", "2025-06");
    assert_eq!(snap["version"], 2);
    assert_eq!(snap["versions"], 2);
    assert_eq!(snap["file_name"], "snapshots-2025-06_correction.csv");
    assert_eq!(snap["summary"]["total_income"], "8994.23");
    // Run again: nothing left to do, nothing stored twice.
    let again = sb.run_ok(&["run-once"], 0);
    assert!(again.stdout.contains("0 files processed, 0 snapshots stored"));
    assert_eq!(sb.snapshots_json().as_array().unwrap().len(), 53);
}

#[test]
fn a_snapshot_shows_totals_by_category_and_account() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.drop_file(
        "one.csv",
        format!(
            "{HEADER}ana,2025-01,income,,salary,5000.00,,\nana,2025-01,expense,,housing,1500,,\nana,2025-01,expense,,housing,100.5,,\n\
             ana,2025-01,savings,efund,emergency_fund,2000,4.1,\nana,2025-01,asset,car,vehicle,9000,,\nana,2025-01,debt,card,credit_card,1200,21.9,25\n"
        ),
    );
    sb.run_ok(&["--run-once"], 0);
    let snap = sb.snapshot_json("ana", "2025-01");
    let s = &snap["summary"];
    assert_eq!(s["total_income"], "5000.00");
    assert_eq!(s["total_expenses"], "1600.50");
    assert_eq!(s["surplus"], "3399.50");
    assert_eq!(s["savings_rate"], 0.6799);
    assert_eq!(s["total_debt"], "1200.00");
    assert_eq!(s["net_worth"], "9800.00");
    assert_eq!(s["by_category"][1]["category"], "housing");
    assert_eq!(s["by_category"][1]["total"], "1600.50");
    assert_eq!(s["by_account"][1]["account"], "card");
    assert_eq!(s["by_account"][1]["rate"], "21.9");
    let text = sb.run_ok(&["snapshots", "show", "ana", "2025-01"], 0).stdout;
    assert!(text.contains("Savings rate") && text.contains("68.0 %"), "{text}");
    assert!(text.contains("9,800.00"), "{text}");
}

#[test]
fn a_snapshot_without_income_shows_no_savings_rate() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.drop_file("x.csv", format!("{HEADER}ana,2025-01,expense,,housing,10,,\n"));
    sb.run_ok(&["--run-once"], 0);
    let snap = sb.snapshot_json("ana", "2025-01");
    assert!(snap["summary"]["savings_rate"].is_null());
}

#[test]
fn files_still_being_written_dotfiles_and_folders_are_left_alone() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let body = format!("{HEADER}ana,2025-01,income,,salary,1,,\n");
    for name in ["a.csv.part", "b.csv.tmp", ".c.csv", "notes.txt"] {
        sb.drop_file(name, &body);
    }
    fs::create_dir_all(sb.inbox().join("sub.csv")).unwrap();
    let out = sb.run_ok(&["--run-once"], 0);
    assert!(out.stdout.contains("0 files processed"), "{}", out.stdout);
    for name in ["a.csv.part", "b.csv.tmp", ".c.csv", "notes.txt", "sub.csv"] {
        assert!(sb.inbox().join(name).exists(), "{name} was touched");
    }
}

#[test]
fn a_symlink_is_moved_aside_and_never_followed() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let outside = sb.path("outside.csv");
    fs::write(&outside, format!("{HEADER}ana,2025-01,income,,salary,1,,\n")).unwrap();
    fs::create_dir_all(sb.inbox()).unwrap();
    std::os::unix::fs::symlink(&outside, sb.inbox().join("link.csv")).unwrap();
    sb.run_ok(&["--run-once"], 1);
    let moved = sb.failed().join("link.csv");
    assert!(fs::symlink_metadata(&moved).unwrap().file_type().is_symlink());
    let errors = fs::read_to_string(sb.failed().join("link.csv.errors.txt")).unwrap();
    assert!(errors.contains("symbolic link"), "{errors}");
    assert!(outside.exists());
    assert_eq!(sb.snapshots_json(), serde_json::json!([]));
}

#[test]
fn a_fifo_is_moved_aside_without_blocking() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    fs::create_dir_all(sb.inbox()).unwrap();
    let fifo = sb.inbox().join("pipe.csv");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    sb.run_ok(&["--run-once"], 1);
    let errors = fs::read_to_string(sb.failed().join("pipe.csv.errors.txt")).unwrap();
    assert!(errors.contains("FIFO"), "{errors}");
}

#[test]
fn a_file_over_the_size_limit_fails_with_a_clear_error() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.drop_file("big.csv", format!("{HEADER}ana,2025-01,income,,salary,1,,\n"));
    let out = sb
        .command(&["--run-once"])
        .env("GOALKEEPER__INBOX__MAX_FILE_BYTES", "40")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = fs::read_to_string(sb.failed().join("big.csv.errors.txt")).unwrap();
    assert!(
        errors.contains("a file of at most 40 bytes (inbox.max_file_bytes), but this one has 92 bytes"),
        "{errors}"
    );
}

#[test]
fn content_already_stored_is_recognised_and_moved_without_storing_it_again() {
    // The state a crash between commit and move leaves behind.
    let sb = Sandbox::new();
    sb.register_sample_users();
    let body = format!("{HEADER}ana,2025-01,income,,salary,1,,\n");
    sb.drop_file("a.csv", &body);
    sb.run_ok(&["--run-once"], 0);
    sb.drop_file("a.csv", &body);
    let out = sb.run_ok(&["--run-once"], 0);
    assert!(
        out.stdout
            .contains("0 files processed, 0 snapshots stored, 0 corrections, 1 duplicates"),
        "{}",
        out.stdout
    );
    assert_eq!(names_in(&sb.processed()), ["a.csv", "a~2.csv"]);
    assert_eq!(sb.snapshots_json().as_array().unwrap().len(), 1);
}

#[test]
fn a_failed_file_is_all_or_nothing_and_the_good_ones_still_go_through() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.drop_file("1-good.csv", format!("{HEADER}ana,2025-01,income,,salary,1,,\n"));
    sb.drop_file(
        "2-bad.csv",
        format!("{HEADER}ben,2025-01,income,,salary,1,,\nben,2025-02,income,,salary,x,,\n"),
    );
    sb.drop_file("3-good.csv", format!("{HEADER}chen,2025-01,income,,salary,1,,\n"));
    let out = sb.run_ok(&["--run-once"], 1);
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "inbox: 2 files processed, 2 snapshots stored, 0 corrections, 0 duplicates, 1 failed"
    );
    assert!(out.stderr.contains("1 file(s) rejected"), "{}", out.stderr);
    let users: Vec<String> = sb
        .snapshots_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["ana", "chen"]);
    let errors = fs::read_to_string(sb.failed().join("2-bad.csv.errors.txt")).unwrap();
    assert!(
        errors.starts_with("goalkeeper rejected 2-bad.csv: 1 problem. Nothing from this file was stored."),
        "{errors}"
    );
    assert!(errors.contains("line 3, column 6 (amount): found \"x\""), "{errors}");
}

#[test]
fn the_errors_file_lists_the_first_hundred_problems_and_counts_the_rest() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let mut body = HEADER.to_owned();
    for _ in 0..250 {
        body.push_str("ana,2025-01,income,,salary,-1,,\n");
    }
    sb.drop_file("many.csv", body);
    sb.run_ok(&["--run-once"], 1);
    let errors = fs::read_to_string(sb.failed().join("many.csv.errors.txt")).unwrap();
    assert_eq!(errors.lines().filter(|l| l.starts_with("line ")).count(), 100);
    assert!(errors.contains("line 101, column 6 (amount)"));
    assert!(errors.trim_end().ends_with("... and 150 more problems"), "{errors}");
}

#[test]
fn unknown_users_are_created_when_the_operator_allows_it() {
    let sb = Sandbox::new();
    sb.drop_file("new.csv", format!("{HEADER}stranger,2025-01,income,,salary,1,,\n"));
    let out = sb
        .command(&["--run-once"])
        .env("GOALKEEPER__INBOX__AUTO_CREATE_USERS", "true")
        .env("GOALKEEPER__DEFAULTS__TIMEZONE", "Europe/Paris")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let users = sb.run_ok(&["users", "list", "--json"], 0).stdout;
    let users: serde_json::Value = serde_json::from_str(&users).unwrap();
    assert_eq!(
        users,
        serde_json::json!([{"id": "stranger", "email": null, "display_name": null, "timezone": "Europe/Paris"}])
    );
}

#[test]
fn the_clock_can_be_set_from_the_command_line_or_the_environment() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    sb.drop_file("a.csv", format!("{HEADER}ana,2025-01,income,,salary,1,,\n"));
    sb.run_ok(&["--now", "2026-03-01T09:30:00+01:00", "--run-once"], 0);
    sb.drop_file("b.csv", format!("{HEADER}ana,2025-02,income,,salary,1,,\n"));
    let out = sb
        .command(&["--run-once"])
        .env("GOALKEEPER_NOW", "2026-04-01T00:00:00Z")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let snaps = sb.snapshots_json();
    let created: Vec<&str> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["created_at"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["2026-04-01T00:00:00Z", "2026-03-01T08:30:00Z"]);
    let bad = sb.run(&["--now", "tomorrow", "--run-once"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("expected an RFC 3339 instant"), "{}", bad.stderr);
}

#[test]
fn an_unreachable_database_is_an_operational_error_and_files_stay_put() {
    let sb = Sandbox::with_database("postgres://goalkeeper@127.0.0.1:1/none");
    sb.drop_file("a.csv", format!("{HEADER}ana,2025-01,income,,salary,1,,\n"));
    let out = sb.run(&["--run-once"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("connecting to PostgreSQL at postgres://goalkeeper@127.0.0.1:1/none"),
        "{}",
        out.stderr
    );
    assert!(sb.inbox().join("a.csv").exists());
}

#[test]
fn an_unreadable_inbox_is_an_operational_error() {
    let sb = Sandbox::new();
    fs::write(sb.inbox(), "not a folder").unwrap();
    let out = sb.run(&["--run-once"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("inbox.dir"), "{}", out.stderr);
}

#[test]
fn addresses_that_cannot_be_sent_to_are_refused_at_users_add_and_import_naming_line_and_column() {
    let sb = Sandbox::new();
    let out = sb.run_ok(
        &["users", "add", "--id", "eve", "--email", "\"x@evil.org\"@example.org"],
        1,
    );
    assert!(
        out.stderr
            .contains("--email: expected an email address like name@example.org without a quoted local part"),
        "{}",
        out.stderr
    );
    let file = sb.path("users.csv");
    fs::write(
        &file,
        "user_id,email\nben,ben@example.org\neve,\"\"\"x@evil.org\"\"@example.org\"\nfay,\"\"\"a, b\"\"@example.org\"\ngus,gus@[127.0.0.1]\n",
    )
    .unwrap();
    let out = sb.run_ok(&["users", "import", file.to_str().unwrap()], 1);
    for (line, found) in [
        (
            3,
            r#"found "\"x@evil.org\"@example.org"; expected an email address like name@example.org without a quoted local part ("..."@): mail cannot be sent to that"#,
        ),
        (
            4,
            r#"found "\"a, b\"@example.org"; expected an email address like name@example.org without a quoted local part"#,
        ),
        (
            5,
            r#"found "gus@[127.0.0.1]"; expected a domain name after the @, like name@example.org, not an address literal"#,
        ),
    ] {
        let expected = format!("users.csv: line {line}, column 2 (email): {found}");
        assert!(out.stderr.contains(&expected), "expected {expected}\n{}", out.stderr);
    }
    assert!(out.stderr.contains("nothing imported (3 problems)"), "{}", out.stderr);
    let list = sb.run_ok(&["users", "list"], 0).stdout;
    assert!(!list.contains("ben") && !list.contains("eve"), "{list}");
}

#[test]
fn users_are_validated_added_once_and_imported_all_or_nothing() {
    let sb = Sandbox::new();
    let bad = sb.run(&[
        "users",
        "add",
        "--id",
        "x y",
        "--email",
        "nope",
        "--timezone",
        "Nowhere/City",
    ]);
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("--id: user id: expected only letters"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("--email: expected an email address"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("--timezone: expected an IANA time zone"),
        "{}",
        bad.stderr
    );
    sb.run_ok(
        &[
            "users",
            "add",
            "--id",
            "ana",
            "--email",
            "ana@example.org",
            "--name",
            "Ana",
            "--timezone",
            "Europe/Berlin",
        ],
        0,
    );
    let again = sb.run_ok(&["users", "add", "--id", "ana", "--email", "other@example.org"], 1);
    assert!(again.stderr.contains("user ana already exists"), "{}", again.stderr);

    let file = sb.path("users.csv");
    fs::write(
        &file,
        "user_id,email,display_name,timezone\nben,ben@example.org,,\ncara,bad-email,,\ndan,d@example.org,,Mars/Base\n",
    )
    .unwrap();
    let out = sb.run_ok(&["users", "import", file.to_str().unwrap()], 1);
    assert!(
        out.stderr
            .contains("users.csv: line 3, column 2 (email): found \"bad-email\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("users.csv: line 4, column 4 (timezone): found \"Mars/Base\""),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing imported (2 problems)"), "{}", out.stderr);
    let list = sb.run_ok(&["users", "list"], 0).stdout;
    assert!(!list.contains("ben"), "{list}");

    fs::write(
        &file,
        "user_id,email,display_name,timezone\nben,ben@example.org,,\nana,ana@new.example.org,Ana L.,\n",
    )
    .unwrap();
    let out = sb.run_ok(&["users", "import", file.to_str().unwrap()], 0);
    assert!(
        out.stdout.contains("imported 2 users") && out.stdout.contains("(1 created, 1 updated)"),
        "{}",
        out.stdout
    );
    let list = sb.run_ok(&["users", "list"], 0).stdout;
    assert!(
        list.contains("ana@new.example.org") && list.contains("Ana L.") && list.contains("ben"),
        "{list}"
    );
}

#[test]
fn check_config_prints_the_effective_settings_with_secrets_redacted() {
    let sb = Sandbox::with_database("postgres://gk:hunter2@db.internal/gk");
    let out = sb.run_ok(&["check-config"], 0);
    assert!(
        out.stdout.contains("url = \"postgres://gk:***@db.internal/gk\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));

    let cfg = sb.path("gk.toml");
    fs::write(&cfg, "[inbox]\nmax_file_bytes = 10\nsurprise = 1\n").unwrap();
    let out = sb.run_ok(&["--config", cfg.to_str().unwrap(), "check-config"], 2);
    assert!(
        out.stderr.contains("unknown field `surprise`") && out.stderr.contains("gk.toml"),
        "{}",
        out.stderr
    );

    fs::write(&cfg, b"[inbox]\nmax_file_bytes = 10\n\xFF = 1\n").unwrap();
    let out = sb.run_ok(&["--config", cfg.to_str().unwrap(), "check-config"], 2);
    assert!(
        out.stderr.contains("gk.toml): line 3: expected UTF-8 text"),
        "{}",
        out.stderr
    );

    let out = sb
        .command(&["check-config"])
        .env("GOALKEEPER__DEFAULTS__TIMEZONE", "Mars/Base")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("defaults.timezone: \"Mars/Base\" is not an IANA time zone"));
}

#[test]
fn the_config_file_layers_under_the_environment() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.path("config")).unwrap();
    fs::write(
        sb.path("config/goalkeeper.toml"),
        "[inbox]\nmax_file_bytes = 1234\n[defaults]\ntimezone = \"Asia/Tokyo\"\n",
    )
    .unwrap();
    let out = sb
        .command(&["check-config"])
        .env("GOALKEEPER__DEFAULTS__TIMEZONE", "Europe/Oslo")
        .env("GOALKEEPER__EMAIL__SMTP__USERNAME", "007")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("configuration from config/goalkeeper.toml"), "{text}");
    assert!(
        text.contains("username = \"007\""),
        "a text setting from the environment is taken as written: {text}"
    );
    assert!(text.contains("max_file_bytes = 1234"), "{text}");
    assert!(text.contains("timezone = \"Europe/Oslo\""), "{text}");
}

#[test]
fn default_config_prints_the_example_file() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&["default-config"], 0);
    assert_eq!(
        out.stdout,
        fs::read_to_string(repo_path("config/goalkeeper.example.toml")).unwrap()
    );
}

#[test]
fn the_inbox_runs_on_postgresql_too() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    let sb = Sandbox::with_database(&schema.url);
    sb.register_sample_users();
    sb.copy_sample_inbox();
    let out = sb.run_ok(&["--run-once"], 0);
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "inbox: 14 files processed, 53 snapshots stored, 1 corrections, 1 duplicates, 0 failed"
    );
    let show = sb.run_ok(&["snapshots", "show", "ben", "2025-06", "--json"], 0);
    assert!(show.stdout.contains("\"total_income\": \"8994.23\""), "{}", show.stdout);
    rt.block_on(schema.drop());
}

#[test]
fn the_demo_tells_the_whole_story_and_can_run_again() {
    let sb = Sandbox::new();
    let fixtures = repo_path("fixtures");
    let args = ["demo", "--dir", "demo", "--fixtures", fixtures.to_str().unwrap()];
    for _ in 0..2 {
        let out = sb.run_ok(&args, 0);
        let said = |text: &str| assert!(out.stdout.contains(text), "missing {text:?} in:\n{}", out.stdout);
        said("Registered 4 users");
        said("imported 9 goals");
        // Month by month: the duplicate, the correction and the broken file.
        said("1 duplicate skipped");
        said("1 correction");
        said("1 file rejected");
        said("line 5, column 6 (amount): found \"1,234.50\"");
        // The dashboard as of the morning after the last month's file.
        said("as of 2026-02-02");
        assert!(
            out.stdout.contains("Credit card paid off") && out.stdout.contains("done"),
            "{}",
            out.stdout
        );
        // Emails for real: a milestone, falling behind, a completion.
        let outbox = sb.path("demo/outbox");
        let emails: Vec<String> = names_in(&outbox)
            .iter()
            .map(|n| fs::read_to_string(outbox.join(n)).unwrap())
            .collect();
        assert!(emails.len() >= 10, "{} emails", emails.len());
        let subjects: Vec<&str> = emails
            .iter()
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("Subject: ")))
            .collect();
        for wanted in [
            "Halfway there:",
            "Falling behind:",
            "Goal achieved: Credit card paid off",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(wanted)) || emails.iter().any(|e| e.contains(wanted)),
                "no email says {wanted:?}: {subjects:?}"
            );
        }
        for e in &emails {
            assert!(e.contains("Content-Type: multipart/alternative"), "{e}");
            assert!(e.contains("Message-ID: <goalkeeper.delivery."), "{e}");
        }
        said("emails are in");
    }
    // The demo keeps to its folder: the configured database was never created.
    assert!(!sb.path("gk.db").exists());
}

#[test]
fn the_demo_never_wipes_a_folder_that_is_not_its_own() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.path("precious")).unwrap();
    fs::write(sb.path("precious/keep.txt"), "mine").unwrap();
    let fixtures = repo_path("fixtures");
    let out = sb.run_ok(
        &["demo", "--dir", "precious", "--fixtures", fixtures.to_str().unwrap()],
        2,
    );
    assert!(out.stderr.contains("is not a goalkeeper demo folder"), "{}", out.stderr);
    assert!(sb.path("precious/keep.txt").exists());
}

#[test]
fn a_file_with_only_a_header_is_processed_and_stores_nothing() {
    let sb = Sandbox::new();
    sb.drop_file("empty-month.csv", HEADER);
    let out = sb.run_ok(&["--run-once"], 0);
    assert!(
        out.stdout.contains("1 files processed, 0 snapshots stored"),
        "{}",
        out.stdout
    );
    assert_eq!(names_in(&sb.processed()), ["empty-month.csv"]);
}

#[test]
fn a_command_leaves_its_commit_in_the_database_file_even_while_another_process_has_it_open() {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let copy = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        // Another reader (a daemon, `status`): with it open, SQLite's own checkpoint when
        // the command's last connection closes cannot run, so only the command's own does.
        let mut other = sqlx::SqliteConnection::connect(&sb.db_url).await.unwrap();
        sqlx::query("SELECT count(*) FROM users")
            .execute(&mut other)
            .await
            .unwrap();
        sb.run_ok(&["prefs", "set", "ana", "--max-per-day", "7"], 0);
        // The database file alone, as a backup that copies only it would see it.
        fs::copy(sb.path("gk.db"), copy.path().join("gk.db")).unwrap();
        let url = format!("sqlite://{}", copy.path().join("gk.db").display());
        let mut alone = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (max,): (i64,) = sqlx::query_as("SELECT max_alerts_per_day FROM alert_preferences WHERE user_id = 'ana'")
            .fetch_one(&mut alone)
            .await
            .unwrap();
        assert_eq!(max, 7);
        other.close().await.unwrap();
    });
}
