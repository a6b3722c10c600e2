//! docs/money.md's worked examples, run through the code (issue 19,
//! requirement 3): each example's snapshots are tracked into progress
//! entries and summarised as `goals show` does, and every figure the code
//! computes must be the **bold** result the page states in that figure's
//! row. A change to the math that the page does not follow (or the other way
//! round) fails here.

use chrono::{NaiveDate, TimeZone, Utc};
use goalkeeper::domain::goal::{GoalId, GoalLinks, ProgressEntry, ProgressSource};
use goalkeeper::domain::measure::savings_rate_bp;
use goalkeeper::domain::progress::{Summary, months_until};
use goalkeeper::domain::snapshot::{Kind, SnapshotLine};
use goalkeeper::domain::tracking::{Prior, SnapshotAt, live_summary, track};
use goalkeeper::domain::wording;
use goalkeeper::domain::{Goal, GoalType, Money, Period, SnapshotSummary, UserId};
use rust_decimal::Decimal;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

/// The page, cut at its `## ` headings.
struct Page(String);

impl Page {
    fn read() -> Page {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/money.md");
        Page(std::fs::read_to_string(path).expect("docs/money.md"))
    }

    /// The section whose heading starts with `heading`.
    fn section(&self, heading: &str) -> &str {
        let start = self
            .0
            .find(&format!("\n## {heading}"))
            .unwrap_or_else(|| panic!("no section {heading:?} in docs/money.md"));
        let rest = &self.0[start + 1..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
        &rest[..end]
    }
}

/// Asserts that the table rows of `section` starting with `| {first} |`
/// include one stating `**{result}**`.
fn states(section: &str, first: &str, result: &str) {
    let prefix = format!("| {first} |");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert!(
        rows.iter().any(|r| r.contains(&format!("**{result}**"))),
        "docs/money.md should state **{result}** for {first:?}; its rows say:\n{}\nin:\n{section}",
        rows.join("\n")
    );
}

/// `text` with every run of whitespace (line breaks included) as one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn amount(d: Decimal) -> String {
    Money::from_decimal(d).grouped()
}

/// Progress as `goals show` prints it.
fn percent(progress: f64) -> String {
    wording::progress_percent(progress)
}

fn goal(goal_type: GoalType, target: &str, target_date: Option<&str>, accounts: &[&str], categories: &[&str]) -> Goal {
    let created = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut g = Goal::new(
        GoalId::parse("g").unwrap(),
        UserId::parse("u").unwrap(),
        goal_type,
        "goal",
        money(target),
        day("2025-01-01"),
        created,
    );
    g.target_date = target_date.map(day);
    g.links = GoalLinks {
        accounts: accounts.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
    };
    if goal_type.is_debt() {
        g.original_balance = Some(g.target);
    }
    g
}

fn line(kind: Kind, account: Option<&str>, category: &str, amount: &str, rate: Option<&str>) -> SnapshotLine {
    SnapshotLine {
        rate: rate.map(|r| r.parse().unwrap()),
        ..SnapshotLine::new(kind, account, category, money(amount))
    }
}

fn stored(entry: goalkeeper::domain::goal::NewProgress) -> ProgressEntry {
    ProgressEntry {
        id: 0,
        goal_id: entry.goal_id,
        period: entry.period,
        value: entry.value,
        contribution: entry.contribution,
        progress: entry.progress,
        on_track: entry.on_track,
        off_track_streak: entry.off_track_streak,
        principal_paid: None,
        interest_paid: None,
        source: entry.source,
        snapshot_id: None,
        recorded_at: Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
        note: entry.note,
    }
}

/// Consecutive months from `first`, each with the lines `lines` makes of its value.
fn monthly<T: Copy>(
    first: &str,
    values: &[T],
    lines: impl Fn(T) -> Vec<SnapshotLine>,
) -> Vec<(Period, Vec<SnapshotLine>)> {
    let first: Period = first.parse().unwrap();
    (0i32..)
        .zip(values)
        .map(|(i, v)| (first.add_months(i).unwrap(), lines(*v)))
        .collect()
}

/// What sync makes of `months` (period, lines), and `goals show` on `today`.
struct Worked {
    entries: Vec<ProgressEntry>,
    summary: Summary,
}

fn work(goal: &Goal, months: &[(Period, Vec<SnapshotLine>)], today: &str) -> Worked {
    let summaries: Vec<(Period, SnapshotSummary)> = months
        .iter()
        .map(|(p, lines)| (*p, SnapshotSummary::of_lines(lines).unwrap()))
        .collect();
    let at: Vec<SnapshotAt<'_>> = summaries
        .iter()
        .map(|(period, summary)| SnapshotAt {
            snapshot_id: None,
            period: *period,
            summary,
        })
        .collect();
    let entries: Vec<ProgressEntry> = track(goal, Prior::default(), &at, None)
        .entries
        .into_iter()
        .map(stored)
        .collect();
    let summary = live_summary(goal, &entries, summaries.last().map(|(_, s)| s), day(today));
    Worked { entries, summary }
}

/// The rows every worked example has, but the current value.
fn states_the_standing(section: &str, s: &Summary) {
    states(section, "progress", &percent(s.progress));
    states(section, "on track", if s.on_track { "on track" } else { "off track" });
    states(section, "required monthly", &amount(s.required_monthly_contribution));
    states(section, "pace", &amount(s.current_monthly_pace));
    let completion = s
        .projected_completion_date
        .map_or_else(|| "none".to_owned(), |d| d.to_string());
    states(section, "projected completion", &completion);
}

/// The rows every worked example of a growing goal or a debt has.
fn states_the_summary(section: &str, w: &Worked) {
    let s = &w.summary;
    states(section, "current value", &amount(s.current_value));
    states_the_standing(section, s);
    if let Some(months) = s.months_left {
        states(section, "months remaining", &months.to_string());
    }
    if let Some(v) = s.projected_final_value {
        states(section, "projected final value", &amount(v));
    }
}

fn contribution(w: &Worked, period: &str) -> String {
    let p: Period = period.parse().unwrap();
    w.entries.iter().find(|e| e.period == p).unwrap().contribution.grouped()
}

#[test]
fn the_months_remaining_and_the_rounding_are_as_the_page_says() {
    let page = Page::read();
    let months = page.section("Months remaining");
    for (d, t) in [
        ("2025-05-02", "2025-12-31"),
        ("2025-01-31", "2025-02-28"),
        ("2025-04-30", "2025-12-31"),
        ("2025-12-31", "2025-12-31"),
    ] {
        states(months, &format!("{d} | {t}"), &months_until(day(d), day(t)).to_string());
    }
    let rounding = page.section("Rounding");
    let rate = |income: &str, expenses: &str| {
        let s = SnapshotSummary::of_lines(&[
            line(Kind::Income, None, "salary", income, None),
            line(Kind::Expense, None, "living", expenses, None),
        ])
        .unwrap();
        format!("**{} %**", Money::from_cents(savings_rate_bp(&s)))
    };
    for stated in [rate("3000", "1765.44"), rate("1000", "998.75")] {
        assert!(rounding.contains(&stated), "{stated} not in:\n{rounding}");
    }
}

#[test]
fn the_savings_goal_example_is_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("Savings goals");
    let savings = |a: &str| vec![line(Kind::Savings, Some("efund"), "emergency_fund", a, None)];
    let g = goal(GoalType::EmergencyFund, "6000", Some("2025-12-31"), &[], &[]);
    let months = monthly("2024-12", &["1000", "1400", "1750", "2300", "2400"], savings);
    let w = work(&g, &months, "2025-05-02");
    states_the_summary(section, &w);
    states(section, "contributions", &contribution(&w, "2025-01"));
}

#[test]
fn the_investment_example_with_an_expected_return_is_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("investment_target, retirement_savings");
    let etf = |a: &str| vec![line(Kind::Investment, Some("etf"), "stocks", a, Some("6"))];
    let g = goal(GoalType::InvestmentTarget, "50000", Some("2027-12-31"), &["etf"], &[]);
    let months = monthly("2024-12", &["30000", "30500", "31000", "31600"], etf);
    states_the_summary(section, &work(&g, &months, "2025-04-02"));
}

#[test]
fn the_net_worth_example_is_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("net_worth_target");
    let worth = |savings: &str, debt: &str| {
        vec![
            line(Kind::Savings, Some("acc"), "misc", savings, None),
            line(Kind::Debt, Some("card"), "credit_card", debt, None),
        ]
    };
    let g = goal(GoalType::NetWorthTarget, "20000", Some("2026-12-31"), &[], &[]);
    let months = monthly(
        "2024-12",
        &[("500", "2000"), ("800", "2000"), ("1400", "2000"), ("2100", "2000")],
        |(a, b)| worth(a, b),
    );
    let w = work(&g, &months, "2025-04-02");
    states_the_summary(section, &w);
    // Unclamped, as stored.
    states(
        section,
        "January's progress",
        &format!("{:.1} %", w.entries[0].progress * 100.0),
    );
}

#[test]
fn the_custom_goal_example_is_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("custom");
    let g = goal(GoalType::Custom, "1500", Some("2025-12-31"), &[], &[]);
    // As `progress record` writes them: against the latest earlier entry, the first against nothing.
    let entry = |period: &str, value: &str, contribution: &str| {
        stored(goalkeeper::domain::goal::NewProgress {
            goal_id: g.id.clone(),
            period: period.parse().unwrap(),
            value: money(value),
            contribution: money(contribution),
            progress: 0.0,
            on_track: true,
            off_track_streak: 0,
            source: ProgressSource::Manual,
            snapshot_id: None,
            note: None,
            debt_seen: Default::default(),
        })
    };
    let entries = vec![entry("2025-03", "300", "0"), entry("2025-04", "450", "150")];
    let summary = live_summary(&g, &entries, None, day("2025-05-02"));
    let w = Worked { entries, summary };
    states_the_summary(section, &w);
    states(section, "contributions", &contribution(&w, "2025-04"));
}

#[test]
fn the_debt_examples_are_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("debt_payoff");
    let loan = |a: &str| vec![line(Kind::Debt, Some("loan"), "auto", a, Some("6"))];
    let g = goal(GoalType::DebtPayoff, "12000", Some("2026-12-31"), &["loan"], &[]);
    let months = monthly("2024-12", &["12000", "11600", "11200", "10800"], loan);
    let w = work(&g, &months, "2025-04-02");
    states_the_summary(section, &w);
    states(section, "contributions", &contribution(&w, "2025-01"));

    // The store card whose pace does not cover the interest: its own table, after the loan's.
    let card_table = &section[section.find("When the pace does not cover the interest").unwrap()..];
    let card = |a: &str| vec![line(Kind::Debt, Some("card"), "credit_card", a, Some("24"))];
    let g = goal(GoalType::DebtPayoff, "5000", Some("2025-12-31"), &["card"], &[]);
    let months = monthly("2024-12", &["5000", "4950", "4900", "4840"], card);
    let w = work(&g, &months, "2025-04-02");
    let s = &w.summary;
    states(card_table, "current value", &amount(s.current_value));
    states(card_table, "pace", &amount(s.current_monthly_pace));
    states(card_table, "required monthly", &amount(s.required_monthly_contribution));
    assert_eq!(s.projected_completion_date, None);
    states(card_table, "projected completion", "none");
    states(
        card_table,
        "projected final value",
        &amount(s.projected_final_value.unwrap()),
    );
    let note = s.note.as_deref().unwrap();
    assert!(flat(page.section("Projected completion")).contains(note), "{note}");

    // Linked by mistake to an account the snapshots do not name.
    let g = goal(GoalType::DebtPayoff, "5000", Some("2025-12-31"), &["crd"], &[]);
    let w = work(&g, &monthly("2025-01", &["4950"], card), "2025-02-02");
    let january = &w.entries[0];
    let prose = flat(section);
    assert!(
        prose.contains(&format!("January's entry measures **{}**", january.value.grouped())),
        "{section}"
    );
    let note = january.note.as_deref().unwrap();
    assert!(prose.contains(&format!("with the note \"{note}\"")), "{note}");
    assert!(!january.on_track && january.progress < 1.0);
}

#[test]
fn the_debt_free_example_is_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("debt_free");
    let debts = |card: &str, family: &str| {
        vec![
            line(Kind::Debt, Some("card"), "credit_card", card, Some("19.9")),
            line(Kind::Debt, Some("family"), "family", family, None),
        ]
    };
    let g = goal(GoalType::DebtFree, "4000", Some("2025-12-31"), &[], &[]);
    let months = monthly(
        "2024-12",
        &[("1500", "2500"), ("1300", "2400"), ("1000", "2300"), ("750", "2200")],
        |(a, b)| debts(a, b),
    );
    states_the_summary(section, &work(&g, &months, "2025-04-02"));
}

#[test]
fn the_recurring_examples_are_what_the_code_computes() {
    let page = Page::read();
    let section = page.section("savings_rate");
    let budget = |income: &str, expenses: &str| {
        vec![
            line(Kind::Income, None, "salary", income, None),
            line(Kind::Expense, None, "living", expenses, None),
        ]
    };
    let g = goal(GoalType::SavingsRate, "20", None, &[], &[]);
    let months = monthly(
        "2025-01",
        &[("4000", "3400"), ("4000", "3320"), ("4000", "3230"), ("4000", "3260")],
        |(a, b)| budget(a, b),
    );
    let w = work(&g, &months, "2025-05-02");
    let rates: Vec<String> = w.entries.iter().map(|e| format!("{} %", e.value)).collect();
    assert_eq!(rates, ["15.00 %", "17.00 %", "19.25 %", "18.50 %"]);
    let rate = Money::from_decimal(w.summary.current_value);
    states(section, "current value", &format!("{rate} %").replace(".50 %", ".5 %"));
    states_the_standing(section, &w.summary);
    assert_eq!(w.summary.projected_final_value, None);

    let section = page.section("expense_reduction");
    let dining = |a: &str| vec![line(Kind::Expense, None, "dining", a, None)];
    let g = goal(GoalType::ExpenseReduction, "240", None, &[], &["dining"]);
    let months = monthly("2025-01", &["320", "300", "280.40", "269.33"], dining);
    let w = work(&g, &months, "2025-05-02");
    states(section, "current value", &amount(w.summary.current_value));
    states_the_standing(section, &w.summary);
    assert_eq!(w.summary.projected_final_value, None);
    let card = wording::of_summary(g.goal_type, g.target, &w.summary);
    assert!(
        flat(section).contains(&format!("\"{}\"", card.standing.line)),
        "{}",
        card.standing.line
    );
}
