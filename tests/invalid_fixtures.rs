//! Every file in `fixtures/invalid/` is dropped into the inbox of the real
//! binary: each must be rejected as a whole (exit 1, moved to the failed
//! folder, nothing stored) with an errors file naming the right line and
//! column. See `fixtures/invalid/README.md` for the table of cases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// A private goalkeeper installation: its own database and inbox folders in a
/// temporary directory, with the fixture users registered.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        let users = format!("{FIXTURES}/users.csv");
        let out = sandbox.run(&["users", "import", &users]);
        assert!(out.status.success(), "users import failed: {}", describe(&out));
        sandbox
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn inbox(&self) -> PathBuf {
        self.path("inbox")
    }

    fn failed(&self) -> PathBuf {
        self.path("failed")
    }

    fn processed(&self) -> PathBuf {
        self.path("processed")
    }

    /// Runs the binary in the sandbox, with no configuration inherited from
    /// the environment of the test run.
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_goalkeeper"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GOALKEEPER") {
                cmd.env_remove(key);
            }
        }
        cmd.args(args)
            .current_dir(self.dir.path())
            .env(
                "GOALKEEPER__DATABASE__URL",
                format!("sqlite://{}", self.path("gk.db").display()),
            )
            .env("GOALKEEPER__INBOX__DIR", self.inbox())
            .env("GOALKEEPER__INBOX__PROCESSED_DIR", self.processed())
            .env("GOALKEEPER__INBOX__FAILED_DIR", self.failed())
            .env_remove("GOALKEEPER_NOW")
            .output()
            .expect("the goalkeeper binary runs")
    }

    /// Drops `fixtures/invalid/NAME` into the inbox, runs the inbox once and
    /// checks the file was refused as a whole. Returns its errors file.
    fn reject(&self, name: &str) -> String {
        std::fs::create_dir_all(self.inbox()).unwrap();
        let source = Path::new(FIXTURES).join("invalid").join(name);
        std::fs::copy(&source, self.inbox().join(name)).unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));

        let out = self.run(&["--run-once"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "--run-once on {name} should exit 1 (input refused): {}",
            describe(&out)
        );
        assert!(!self.inbox().join(name).exists(), "{name} was left in the inbox");
        assert!(
            self.failed().join(name).is_file(),
            "{name} was not moved to the failed folder"
        );
        assert!(
            !self.processed().join(name).exists(),
            "{name} was moved to the processed folder"
        );
        let errors = self.failed().join(format!("{name}.errors.txt"));
        let report = std::fs::read_to_string(&errors).unwrap_or_else(|e| panic!("reading {}: {e}", errors.display()));
        assert!(report.starts_with(&format!("goalkeeper rejected {name}: ")), "{report}");

        let out = self.run(&["snapshots", "list", "--json"]);
        assert!(out.status.success(), "snapshots list: {}", describe(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "[]",
            "something from {name} was stored"
        );
        report
    }
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Rejects `name` and checks its errors file lists each of `problems` as a
/// line of its own.
fn assert_rejected_with(name: &str, problems: &[&str]) {
    let report = Sandbox::new().reject(name);
    for problem in problems {
        assert!(
            report.lines().any(|line| line == *problem),
            "the errors file of {name} lacks the line\n  {problem}\nIt reads:\n{report}"
        );
    }
}

#[test]
fn a_header_with_an_unknown_column_is_rejected_at_line_1_and_that_column() {
    assert_rejected_with(
        "bad_header.csv",
        &[
            "line 1, column 2 (month): found \"month\"; expected a column name, one of user_id,period,kind,account,category,amount,rate,min_payment",
            "line 1: expected a column named period in the header (it has: user_id,month,kind,account,category,amount,rate,min_payment)",
        ],
    );
}

#[test]
fn a_month_that_does_not_exist_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "bad_period.csv",
        &["line 5, column 2 (period): found \"2025-13\"; expected a month as YYYY-MM, like 2025-01"],
    );
}

#[test]
fn a_negative_amount_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "negative_amount.csv",
        &[
            "line 5, column 6 (amount): found \"-95.40\"; expected an amount that is not negative (a debt is a positive balance of kind debt)",
        ],
    );
}

#[test]
fn a_thousands_separator_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "thousands_separator.csv",
        &[
            "line 5, column 6 (amount): found \"1,234.50\"; expected a plain number without thousands separators, like 1234.50",
        ],
    );
}

#[test]
fn a_currency_sign_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "currency_sign.csv",
        &["line 5, column 6 (amount): found \"$12\"; expected a plain number without a currency sign, like 1234.50"],
    );
}

#[test]
fn an_unknown_kind_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "unknown_kind.csv",
        &["line 5, column 3 (kind): found \"loan\"; expected one of income, expense, savings, investment, asset, debt"],
    );
}

#[test]
fn a_balance_without_an_account_is_rejected_at_its_line_and_column() {
    assert_rejected_with(
        "missing_account.csv",
        &[
            "line 5, column 4 (account): empty; expected an account identifier: savings lines are balances of an account",
        ],
    );
}

#[test]
fn an_account_twice_in_one_snapshot_is_rejected_at_the_second_line_naming_the_first() {
    assert_rejected_with(
        "duplicate_account.csv",
        &[
            "line 7, column 4 (account): found \"visa\"; expected each account once per snapshot: visa is already on line 5 for ana 2025-03",
        ],
    );
}

#[test]
fn an_unregistered_user_is_rejected_at_its_first_line_and_column() {
    assert_rejected_with(
        "unknown_user.csv",
        &[
            "line 5, column 1 (user_id): found \"zoe\"; expected a registered user; add it with `goalkeeper users add` or `users import`, or set inbox.auto_create_users",
        ],
    );
}

#[test]
fn a_utf16_file_is_rejected_as_a_whole_with_a_hint_to_save_it_as_utf8() {
    assert_rejected_with(
        "utf16.csv",
        &[
            "file: expected UTF-8 text, but the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8",
        ],
    );
}

#[test]
fn an_empty_file_is_rejected_as_a_whole_asking_for_a_header() {
    assert_rejected_with(
        "empty.csv",
        &[
            "file: expected a header row naming the columns: user_id,period,kind,account,category,amount,rate,min_payment",
        ],
    );
}

#[test]
fn a_ragged_row_is_rejected_at_its_line_with_the_field_counts() {
    assert_rejected_with(
        "ragged_row.csv",
        &["line 5: expected 8 fields, as in the header; found 5"],
    );
}

#[test]
fn a_huge_field_is_rejected_at_its_line_and_column_with_its_size() {
    let x60 = "x".repeat(60);
    assert_rejected_with(
        "huge_field.csv",
        &[&format!(
            "line 5, column 5 (category): found \"{x60}\"; expected a field of at most 1024 bytes; this one has 5000 bytes"
        )],
    );
}
