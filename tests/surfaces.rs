//! Issue 14 req 5: a goal created, paused, resumed, completed or given a manual entry through the
//! API behaves exactly as through the CLI. One 12-month scenario is driven twice through the real
//! binary, the goal actions once as commands and once as HTTP requests (`goalkeeper serve` started
//! at the action's instant), the snapshots and the email passes through the CLI both times; the two
//! databases must then hold the same alerts, goal summaries, progress and outbox. Both backends.

mod common;

use common::http::{Server, done, token};
use common::{PgSchema, Sandbox};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One of the scenario's goal actions.
enum Action {
    Create {
        id: &'static str,
        user: &'static str,
        kind: &'static str,
        name: &'static str,
        target: &'static str,
        date: &'static str,
        accounts: &'static [&'static str],
    },
    Status(&'static str, &'static str),
    Progress {
        goal: &'static str,
        value: &'static str,
        period: &'static str,
        note: &'static str,
    },
}

const USERS: [&str; 2] = ["ana", "ben"];

/// The goal actions, each at an instant: creation before the first snapshot arrives, then a pause
/// and resume, manual entries and completions between months.
fn actions() -> Vec<(&'static str, Action)> {
    use Action::*;
    vec![
        (
            "2025-01-20T10:00:00Z",
            Create {
                id: "ana-efund",
                user: "ana",
                kind: "emergency_fund",
                name: "Emergency fund",
                target: "12000.00",
                date: "2026-06-30",
                accounts: &["efund"],
            },
        ),
        (
            "2025-01-20T10:01:00Z",
            Create {
                id: "ana-card",
                user: "ana",
                kind: "debt_payoff",
                name: "Credit card paid off",
                target: "4200.00",
                date: "2026-03-31",
                accounts: &["card"],
            },
        ),
        (
            "2025-01-20T10:02:00Z",
            Create {
                id: "ana-bike",
                user: "ana",
                kind: "custom",
                name: "New bike",
                target: "1500.00",
                date: "2026-09-30",
                accounts: &[],
            },
        ),
        (
            "2025-01-20T10:03:00Z",
            Create {
                id: "ben-house",
                user: "ben",
                kind: "down_payment",
                name: "House down payment",
                target: "40000.00",
                date: "2027-12-31",
                accounts: &["house"],
            },
        ),
        ("2025-04-20T10:00:00Z", Status("ana-efund", "pause")),
        (
            "2025-05-10T10:00:00Z",
            Progress {
                goal: "ana-bike",
                value: "600.00",
                period: "2025-05",
                note: "birthday money",
            },
        ),
        ("2025-07-20T10:00:00Z", Status("ana-efund", "resume")),
        (
            "2025-09-12T10:00:00Z",
            Progress {
                goal: "ana-bike",
                value: "1600.00",
                period: "2025-09",
                note: "sold the old one",
            },
        ),
        ("2025-10-20T10:00:00Z", Status("ana-card", "complete")),
    ]
}

/// The sample inbox's files of `month` (`snapshots-YYYY-MM*.csv`).
fn files_of(month: &str) -> Vec<std::path::PathBuf> {
    let dir = common::repo_path("fixtures/inbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("snapshots-{month}"))
        })
        .collect();
    files.sort();
    files
}

/// The months of the scenario with the instant each month's files arrive (the 2nd of the next
/// month, 07:00 UTC, as in `goalkeeper demo`), and the instants of two later email passes.
fn months() -> Vec<(String, String, [String; 2])> {
    let mut out = Vec::new();
    for i in 0..13 {
        let (y, m) = (2025 + i / 12, 1 + i % 12);
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        out.push((
            format!("{y}-{m:02}"),
            format!("{ny}-{nm:02}-02T07:00:00Z"),
            [
                format!("{ny}-{nm:02}-02T13:00:00Z"),
                format!("{ny}-{nm:02}-02T21:00:00Z"),
            ],
        ));
    }
    out
}

/// The same installation's settings for every command: a file outbox in the sandbox.
fn run_at(sb: &Sandbox, now: &str, args: &[&str]) -> String {
    let out = sb
        .command(args)
        .env("GOALKEEPER_NOW", now)
        .env("GOALKEEPER__EMAIL__FILE__DIR", sb.path("outbox"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "goalkeeper {args:?} at {now}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn through_cli(sb: &Sandbox, now: &str, action: &Action) {
    match action {
        Action::Create {
            id,
            user,
            kind,
            name,
            target,
            date,
            accounts,
        } => {
            let mut args = vec![
                "goals",
                "add",
                "--id",
                id,
                "--user",
                user,
                "--type",
                kind,
                "--name",
                name,
                "--target",
                target,
                "--target-date",
                date,
                "--start-date",
                "2025-01-01",
            ];
            for a in *accounts {
                args.extend(["--account", a]);
            }
            run_at(sb, now, &args);
        }
        Action::Status(goal, verb) => {
            run_at(sb, now, &["goals", verb, goal]);
        }
        Action::Progress {
            goal,
            value,
            period,
            note,
        } => {
            run_at(
                sb,
                now,
                &[
                    "progress", "record", goal, "--value", value, "--period", period, "--note", note,
                ],
            );
        }
    }
}

fn through_api(sb: &Sandbox, now: &str, action: &Action, tokens: &[(&str, String)]) {
    let token_of = |user: &str| tokens.iter().find(|(u, _)| *u == user).unwrap().1.clone();
    let owner = |goal: &str| goal.split('-').next().unwrap().to_owned();
    let s = Server::start(sb, Some(now));
    let (st, body, _) = match action {
        Action::Create {
            id,
            user,
            kind,
            name,
            target,
            date,
            accounts,
        } => done(s.req("POST", "/api/v1/goals", &token_of(user)).json(&json!({
            "id": id, "type": kind, "name": name, "target_value": target, "target_date": date,
            "start_date": "2025-01-01", "links": {"accounts": accounts}
        }))),
        Action::Status(goal, verb) => {
            done(s.req("POST", &format!("/api/v1/goals/{goal}/{verb}"), &token_of(&owner(goal))))
        }
        Action::Progress {
            goal,
            value,
            period,
            note,
        } => done(
            s.req(
                "POST",
                &format!("/api/v1/goals/{goal}/progress"),
                &token_of(&owner(goal)),
            )
            .json(&json!({"value": value, "period": period, "note": note})),
        ),
    };
    assert!(
        st == StatusCode::OK || st == StatusCode::CREATED,
        "at {now}: {st} {body}"
    );
}

/// Drops every `*_at` timestamp and `id` of `v` (rows' own instants and ids differ by how they
/// were written; what they say must not), recursively.
fn without_instants(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.ends_with("_at") && k.as_str() != "id" && k.as_str() != "message_id")
                .map(|(k, v)| (k.clone(), without_instants(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_instants).collect()),
        other => other.clone(),
    }
}

/// What the scenario leaves behind, in a form two installations can be compared by.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// Per alert: goal, type, occurrence, title, message, and its delivery's status and due
    /// minute (an API action's instant is the server's clock, started at the action's instant and
    /// a few milliseconds on).
    alerts: Vec<Value>,
    goals: Vec<Value>,
    dashboards: Vec<Value>,
    progress: Vec<Value>,
    /// Per email in the outbox: recipient and subject.
    emails: Vec<(String, String)>,
}

fn outcome(sb: &Sandbox, now: &str) -> Outcome {
    let parse = |s: String| -> Value { serde_json::from_str(&s).unwrap() };
    let listed = parse(run_at(sb, now, &["alerts", "list", "--limit", "100000", "--json"]));
    let mut alerts: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let due = a["delivery"]["due_at"].as_str().map(|d| d[..16].to_owned());
            json!({
                "goal_id": a["goal_id"], "user_id": a["user_id"], "type": a["type"],
                "occurrence": a["occurrence"], "title": a["title"], "message": a["message"],
                "delivery": a["delivery"]["status"], "due": due,
                "sent": a["delivery"]["sent_at"].as_str().map(|d| d[..16].to_owned()),
            })
        })
        .collect();
    alerts.sort_by_key(|a| a.to_string());
    let goals = parse(run_at(sb, now, &["goals", "list", "--json"]));
    let mut goals: Vec<Value> = goals.as_array().unwrap().iter().map(without_instants).collect();
    goals.sort_by_key(Value::to_string);
    let dashboards = USERS
        .iter()
        .map(|u| without_instants(&parse(run_at(sb, now, &["dashboard", "--user", u, "--json"]))))
        .collect();
    let progress = ["ana-efund", "ana-card", "ana-bike", "ben-house"]
        .iter()
        .map(|g| without_instants(&parse(run_at(sb, now, &["progress", "history", g, "--json"]))))
        .collect();
    let mut emails: Vec<(String, String)> = common::emails_in(&sb.path("outbox"))
        .into_iter()
        .map(|e| (e.to, e.subject))
        .collect();
    emails.sort();
    Outcome {
        alerts,
        goals,
        dashboards,
        progress,
        emails,
    }
}

/// Runs the scenario in `sb`, the goal actions through the API when `api`.
fn scenario(sb: &Sandbox, api: bool) -> Outcome {
    run_at(
        sb,
        "2025-01-20T09:00:00Z",
        &[
            "users",
            "import",
            common::repo_path("fixtures/users.csv").to_str().unwrap(),
        ],
    );
    let tokens: Vec<(&str, String)> = if api {
        USERS.iter().map(|u| (*u, token(sb, &["--user", u]))).collect()
    } else {
        Vec::new()
    };
    let mut pending = actions().into_iter().peekable();
    let mut last = String::new();
    for (month, arrival, later) in months() {
        while let Some((at, _)) = pending.peek() {
            if *at >= arrival.as_str() {
                break;
            }
            let (at, action) = pending.next().unwrap();
            if api {
                through_api(sb, at, &action, &tokens);
            } else {
                through_cli(sb, at, &action);
            }
        }
        std::fs::create_dir_all(sb.inbox()).unwrap();
        for f in files_of(&month) {
            std::fs::copy(&f, sb.inbox().join(f.file_name().unwrap())).unwrap();
        }
        run_at(sb, &arrival, &["--run-once"]);
        for at in &later {
            run_at(sb, at, &["alerts", "send"]);
        }
        last = later[1].clone();
    }
    assert!(pending.next().is_none(), "every action ran");
    outcome(sb, &last)
}

fn the_same_scenario_through_the_cli_and_the_api_leaves_the_same_alerts_goals_and_outbox(cli: Sandbox, api: Sandbox) {
    let by_cli = scenario(&cli, false);
    let by_api = scenario(&api, true);
    assert!(
        by_cli.alerts.len() > 10 && by_cli.emails.len() > 5,
        "the scenario raises alerts and sends emails: {by_cli:#?}"
    );
    // The manual entries completed the bike (raising its alerts at the entry's instant), the card
    // was completed by hand, the fund paused and resumed.
    for (goal, kind) in [
        ("ana-bike", "goal_completed"),
        ("ana-bike", "milestone_50"),
        ("ana-card", "milestone_50"),
    ] {
        assert!(
            by_cli.alerts.iter().any(|a| a["goal_id"] == goal && a["type"] == kind),
            "{goal} {kind}: {by_cli:#?}"
        );
    }
    let statuses: Vec<(&str, &str)> = by_api
        .goals
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["status"].as_str().unwrap()))
        .collect();
    for want in [
        ("Credit card paid off", "completed"),
        ("Emergency fund", "active"),
        ("New bike", "completed"),
    ] {
        assert!(statuses.contains(&want), "{want:?} in {statuses:?}");
    }
    assert_eq!(by_cli.alerts, by_api.alerts, "alerts");
    assert_eq!(by_cli.goals, by_api.goals, "goals");
    assert_eq!(by_cli.dashboards, by_api.dashboards, "dashboards");
    assert_eq!(by_cli.progress, by_api.progress, "progress");
    assert_eq!(by_cli.emails, by_api.emails, "outbox");
}

mod sqlite {
    #[test]
    fn the_same_scenario_through_the_cli_and_the_api_leaves_the_same_alerts_goals_and_outbox() {
        super::the_same_scenario_through_the_cli_and_the_api_leaves_the_same_alerts_goals_and_outbox(
            super::Sandbox::new(),
            super::Sandbox::new(),
        );
    }
}

mod postgres {
    #[test]
    fn the_same_scenario_through_the_cli_and_the_api_leaves_the_same_alerts_goals_and_outbox() {
        let Some(url) = super::common::postgres_url() else {
            return;
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (a, b) = rt.block_on(async { (super::PgSchema::create(&url).await, super::PgSchema::create(&url).await) });
        super::the_same_scenario_through_the_cli_and_the_api_leaves_the_same_alerts_goals_and_outbox(
            super::Sandbox::with_database(&a.url),
            super::Sandbox::with_database(&b.url),
        );
        rt.block_on(async {
            a.drop().await;
            b.drop().await;
        });
    }
}
