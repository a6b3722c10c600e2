//! Each goal type's card in its own words through the real binary (issue 19,
//! requirement 5): `goals show`, `dashboard` and the alert emails of the
//! sample year (the sample users, inbox and fixtures/goals.csv). The figures
//! are those tests/goals_cli.rs works out by hand for the same year.

mod common;

use common::{Sandbox, repo_path};

const NOW: &str = "2026-02-01T09:00:00Z";

fn gk(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["--now", NOW];
    all.extend_from_slice(args);
    sb.run_ok(&all, 0).stdout
}

fn the_sample_year() -> Sandbox {
    let sb = Sandbox::new();
    sb.register_sample_users();
    let goals = repo_path("fixtures/goals.csv");
    gk(&sb, &["goals", "import", goals.to_str().unwrap()]);
    sb.copy_sample_inbox();
    gk(&sb, &["--run-once"]);
    sb
}

/// The card lines of `goals show`: those between the title and the details.
fn card_lines(show: &str) -> Vec<String> {
    show.lines()
        .skip(1)
        .take_while(|l| !l.starts_with("  target "))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn goals_show_and_the_dashboard_speak_each_goal_types_language() {
    let sb = the_sample_year();
    let cards: &[(&str, &[&str], &str)] = &[
        (
            "ana-efund",
            &["Current: 9,838.34 of 12,000.00", "Needed per month: 395.77"],
            "395.77/mo",
        ),
        (
            "ben-networth",
            &["Current: 65,342.40 of 100,000.00", "Needed per month: 990.22"],
            "990.22/mo",
        ),
        (
            "ben-student",
            &[
                "Paid off 3,945.04 of 18,500.00; 14,554.96 left",
                "To pay per month: 390.21",
            ],
            "390.21/mo",
        ),
        ("ana-card", &["Paid off 4,200.00 of 4,200.00; nothing left"], "0.00/mo"),
        (
            "dara-dining",
            &["Spent 247.93 of a 240.00 limit this month: 7.93 over"],
            "7.93 over",
        ),
        (
            "dara-savings-rate",
            &["Saved 51.32 % of income this month, target 20 %"],
            "on target",
        ),
    ];
    let dashboard = gk(&sb, &["dashboard"]);
    for &(id, lines, needed) in cards {
        let show = gk(&sb, &["goals", "show", id]);
        assert_eq!(card_lines(&show), lines, "{id}:\n{show}");
        let name = show.split(" (").next().unwrap();
        let row = dashboard
            .lines()
            .find(|l| l.contains(&format!("  {name}  ")))
            .unwrap_or_else(|| panic!("{id} not on the dashboard:\n{dashboard}"));
        assert!(row.contains(&format!("  {needed}  ")), "{id}: {row}");
    }
}

#[test]
fn alert_emails_speak_each_goal_types_language_in_both_parts() {
    let sb = the_sample_year();
    let emails = common::emails_in(&sb.path("var/outbox"));
    let of = |to: &str| {
        let e = emails
            .iter()
            .find(|e| e.to == to)
            .unwrap_or_else(|| panic!("no email to {to}"));
        (&e.to, &e.text, &e.html)
    };
    let row = |label: &str, value: &str| format!(">{label}</td><td style=\"padding:2px 0;\">{value}</td>");

    // Over a spending limit: what was spent, the limit and the margin; nothing "needed".
    let (_, text, html) = of("dara@example.org");
    assert!(
        text.lines()
            .any(|l| l == "Spent 269.33 of a 240.00 limit this month: 29.33 over"),
        "{text}"
    );
    assert!(
        html.contains(&row("Spent", "269.33 of a 240.00 limit this month: 29.33 over")),
        "{html}"
    );
    for absent in ["Current", "Needed per month"] {
        assert!(!text.contains(absent) && !html.contains(absent), "{absent}: {text}");
    }

    // A debt: how much is paid off, of what, and what is left; what to pay.
    let (_, text, html) = of("ana@example.org");
    for line in [
        "Paid off 2,106.36 of 4,200.00; 2,093.64 left",
        "To pay per month: 230.95",
        "Paid off 4,200.00 of 4,200.00; nothing left",
        "Current: 6,419.33 of 12,000.00",
        "Needed per month: 476.79",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }
    for (label, value) in [
        ("Paid off", "2,106.36 of 4,200.00; 2,093.64 left"),
        ("To pay per month", "230.95"),
        ("Current", "6,419.33 of 12,000.00"),
    ] {
        assert!(html.contains(&row(label, value)), "{label}: {html}");
    }
}

#[test]
fn a_completed_goals_projected_completion_is_the_day_it_was_completed_everywhere() {
    let sb = the_sample_year();
    // ana-card's December entry reached 100 %; the run that saw it was on 2026-02-01.
    let show = gk(&sb, &["goals", "show", "ana-card"]);
    assert!(show.contains("  completion    2025-12-31\n"), "{show}");
    let json: serde_json::Value = serde_json::from_str(&gk(&sb, &["goals", "show", "ana-card", "--json"])).unwrap();
    assert_eq!(json["projected_completion_date"], "2025-12-31");
    let emails: Vec<String> = common::emails_in(&sb.path("var/outbox"))
        .into_iter()
        .map(|e| e.text)
        .collect();
    let completed = emails
        .iter()
        .find(|t| t.contains("== Goal achieved: Credit card paid off =="))
        .expect("the goal_completed email");
    let card = completed
        .split("== Goal achieved: Credit card paid off ==")
        .nth(1)
        .unwrap();
    assert!(card.contains("Projected completion: 2025-12-31"), "{card}");
    // A month later it still completed on the same day.
    let later = sb
        .run_ok(&["--now", "2026-03-15T09:00:00Z", "goals", "show", "ana-card"], 0)
        .stdout;
    assert!(later.contains("  completion    2025-12-31\n"), "{later}");
}
