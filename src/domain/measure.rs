//! What a goal measures in a snapshot (the table in docs/goals.md): a pure
//! function from a goal, a snapshot's summary and what earlier snapshots
//! showed of its linked debts to the goal's value then.

use super::goal::{Goal, GoalType};
use super::money::Money;
use super::period::Period;
use super::snapshot::{Kind, SnapshotLine, SnapshotSummary};
use std::collections::BTreeMap;

/// A goal's value in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// Money in cents; for savings_rate the rate in hundredths of a percent.
    pub value: Money,
    /// Debt goals: what was counted for linked debts that are not plainly in
    /// the snapshot with a balance (for the entry's note and the log).
    pub debt: DebtReading,
    /// The measured accounts' annual rate in percent (APR for debts, expected
    /// return for savings and investments), weighted by balance; `None`
    /// unless every measured account has one.
    pub annual_rate: Option<rust_decimal::Decimal>,
}

/// What a debt goal's value counted for linked debts not in the snapshot
/// with a balance. Empty for every other goal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtReading {
    /// Linked accounts never seen with a balance above zero (from the month
    /// before the goal's start on): the goal counts as nothing paid.
    pub not_seen: Vec<String>,
    /// Of those, the ones that are in this snapshot (at a zero balance).
    pub not_seen_but_present: Vec<String>,
    /// No account linked and the linked debts never seen above zero: nothing paid.
    pub nothing_seen: bool,
    /// Linked accounts seen above zero before and missing now: counted as paid off.
    pub paid_off: Vec<String>,
}

impl DebtReading {
    /// The entry's note and the log line: what was counted, in words; `None`
    /// when the snapshot showed every linked debt.
    pub fn note(&self) -> Option<String> {
        if !self.not_seen.is_empty() {
            let absent = self.not_seen_but_present.is_empty();
            return Some(format!(
                "linked {} {} {}: counted as nothing paid",
                plural(self.not_seen.len(), "account", "accounts"),
                self.not_seen.join(", "),
                match (absent, self.not_seen.len()) {
                    (true, _) => "not seen yet",
                    (false, 1) => "not seen with a balance yet",
                    (false, _) => "not all seen with a balance yet",
                },
            ));
        }
        if self.nothing_seen {
            return Some("no linked debt seen with a balance yet: counted as nothing paid".to_owned());
        }
        if !self.paid_off.is_empty() {
            return Some(format!(
                "linked {} {} gone from this snapshot after being seen: counted as paid off",
                plural(self.paid_off.len(), "account", "accounts"),
                self.paid_off.join(", "),
            ));
        }
        None
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Which of a debt goal's links have been seen with a balance above zero,
/// and since which month: what "paid off" and "nothing paid yet" are judged
/// by. Kept with each progress entry, so tracking the next month from the
/// database gives what tracking it from memory gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtSeen {
    /// Linked account → the first month it had a balance above zero.
    accounts: BTreeMap<String, Period>,
    /// The first month the linked debts together were above zero.
    any: Option<Period>,
}

/// The key that stands for "the linked debts together" in [`DebtSeen::to_text`]
/// (`*` is not allowed in an account identifier).
const ANY_KEY: &str = "*";

impl DebtSeen {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.any.is_none()
    }

    /// When `account` was first seen above zero, if it was.
    pub fn account(&self, account: &str) -> Option<Period> {
        self.accounts.get(account).copied()
    }

    /// Notes what `goal`'s links show in its snapshot of `period`.
    pub fn observe(&mut self, goal: &Goal, summary: &SnapshotSummary, period: Period) {
        if !goal.goal_type.is_debt() {
            return;
        }
        let (accounts, categories) = effective(goal);
        let lines = linked(summary, Kind::Debt, &accounts, &categories);
        for line in &lines {
            if let Some(account) = line.account.as_deref().filter(|_| line.amount > Money::ZERO) {
                if accounts.contains(&account) {
                    self.accounts.entry(account.to_owned()).or_insert(period);
                }
            }
        }
        if self.any.is_none() && total(&lines).is_some_and(|t| t > Money::ZERO) {
            self.any = Some(period);
        }
    }

    /// Stored form: `KEY=YYYY-MM` separated by spaces, `*` for the linked
    /// debts together (`*=2025-01 card=2025-01`); empty when nothing was seen.
    pub fn to_text(&self) -> String {
        let any = self.any.map(|p| format!("{ANY_KEY}={p}"));
        any.into_iter()
            .chain(self.accounts.iter().map(|(a, p)| format!("{a}={p}")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads [`to_text`](Self::to_text)'s form back.
    pub fn parse(text: &str) -> Result<DebtSeen, String> {
        let mut seen = DebtSeen::default();
        for item in text.split_whitespace() {
            let (key, period) = item
                .rsplit_once('=')
                .ok_or_else(|| format!("found {item:?}; expected ACCOUNT=YYYY-MM"))?;
            let period: Period = period.parse().map_err(|e| format!("found {item:?}: {e}"))?;
            if key == ANY_KEY {
                seen.any = Some(period);
            } else if key.is_empty() {
                return Err(format!("found {item:?}; expected an account before ="));
            } else {
                seen.accounts.insert(key.to_owned(), period);
            }
        }
        Ok(seen)
    }
}

/// The links a goal uses: its own, else its type's default.
fn effective(goal: &Goal) -> (Vec<&str>, Vec<&str>) {
    let accounts: Vec<&str> = goal.links.accounts.iter().map(String::as_str).collect();
    let mut categories: Vec<&str> = goal.links.categories.iter().map(String::as_str).collect();
    if accounts.is_empty() && categories.is_empty() {
        match goal.goal_type {
            GoalType::EmergencyFund => categories.push("emergency_fund"),
            GoalType::DownPayment => categories.push("down_payment"),
            GoalType::RetirementSavings => categories.push("retirement"),
            _ => {}
        }
    }
    (accounts, categories)
}

/// The `kind` balance lines on the linked accounts, else the linked
/// categories, else all of them.
fn linked<'s>(
    summary: &'s SnapshotSummary,
    kind: Kind,
    accounts: &[&str],
    categories: &[&str],
) -> Vec<&'s SnapshotLine> {
    let pick = |l: &&SnapshotLine| {
        if !accounts.is_empty() {
            l.account.as_deref().is_some_and(|a| accounts.contains(&a))
        } else if !categories.is_empty() {
            categories.contains(&l.category.as_str())
        } else {
            true
        }
    };
    summary
        .by_account
        .iter()
        .filter(|l| l.kind == kind)
        .filter(pick)
        .collect()
}

fn total(lines: &[&SnapshotLine]) -> Option<Money> {
    lines.iter().try_fold(Money::ZERO, |sum, l| sum.checked_add(l.amount))
}

/// Balance-weighted annual rate of `lines`, if every one has a rate.
fn weighted_rate(lines: &[&SnapshotLine]) -> Option<rust_decimal::Decimal> {
    use rust_decimal::Decimal;
    if lines.is_empty() || lines.iter().any(|l| l.rate.is_none()) {
        return None;
    }
    let weight: Decimal = lines.iter().map(|l| Decimal::new(l.amount.cents(), 2)).sum();
    if weight.is_zero() {
        return lines.first().and_then(|l| l.rate).map(|r| r.percent());
    }
    let sum = lines.iter().try_fold(Decimal::ZERO, |acc, l| {
        let rate = l.rate?.percent();
        acc.checked_add(rate.checked_mul(Decimal::new(l.amount.cents(), 2))?)
    })?;
    sum.checked_div(weight)
        .map(|r| r.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
}

/// A savings rate in hundredths of a percent, rounded half away from zero,
/// exactly (surplus × 10,000 ÷ income in integers); no income, no rate (0).
pub fn savings_rate_bp(summary: &SnapshotSummary) -> i64 {
    let (surplus, income) = (
        i128::from(summary.surplus.cents()),
        i128::from(summary.total_income.cents()),
    );
    if income <= 0 {
        return 0;
    }
    let scaled = surplus * 10_000;
    let (quotient, remainder) = (scaled / income, scaled % income);
    let rounded = if remainder.abs() * 2 >= income {
        quotient + scaled.signum()
    } else {
        quotient
    };
    // |surplus| ≤ 2^63 cents and income ≥ 1: the quotient fits unless the
    // surplus dwarfs the income beyond any real budget; then it saturates.
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// The goal's value in a snapshot, or `None` for goals that take manual
/// entries only (custom) or whose value cannot be held.
///
/// `seen`: what the goal's snapshots before this one (from the month before
/// its start on) showed of its linked debts. A debt goal counts as nothing
/// paid until every linked account (or, without linked accounts, the linked
/// debts together) has been seen with a balance above zero, this snapshot
/// included: a mistyped link or a loan whose first statement has not come yet
/// is not celebrated. After that, value = original balance − the linked
/// balances in this snapshot, and a linked account missing from it counts as
/// paid off (seed 6.1).
pub fn measure(goal: &Goal, summary: &SnapshotSummary, seen: &DebtSeen) -> Option<Measured> {
    let (accounts, categories) = effective(goal);
    let plain = |value| {
        Some(Measured {
            value,
            debt: DebtReading::default(),
            annual_rate: None,
        })
    };
    let balances = |kind| {
        let lines = linked(summary, kind, &accounts, &categories);
        Some(Measured {
            value: total(&lines)?,
            debt: DebtReading::default(),
            annual_rate: weighted_rate(&lines),
        })
    };
    match goal.goal_type {
        GoalType::EmergencyFund | GoalType::SavingsTarget | GoalType::DownPayment | GoalType::MajorPurchase => {
            balances(Kind::Savings)
        }
        GoalType::InvestmentTarget | GoalType::RetirementSavings => balances(Kind::Investment),
        GoalType::NetWorthTarget => plain(summary.net_worth),
        GoalType::SavingsRate => plain(Money::from_cents(savings_rate_bp(summary))),
        GoalType::ExpenseReduction => {
            let spent = summary
                .by_category
                .iter()
                .filter(|c| c.kind == Kind::Expense && categories.contains(&c.category.as_str()))
                .try_fold(Money::ZERO, |sum, c| sum.checked_add(c.total))?;
            plain(spent)
        }
        GoalType::DebtPayoff | GoalType::DebtFree => {
            let original = goal.original_balance.unwrap_or(goal.target);
            let lines = linked(summary, Kind::Debt, &accounts, &categories);
            let current = total(&lines)?;
            let balance_of = |a: &str| lines.iter().find(|l| l.account.as_deref() == Some(a)).map(|l| l.amount);
            let mut debt = DebtReading::default();
            for account in &accounts {
                let balance = balance_of(account);
                let seen_now = balance.is_some_and(|b| b > Money::ZERO);
                if seen.account(account).is_none() && !seen_now {
                    debt.not_seen.push((*account).to_owned());
                    if balance.is_some() {
                        debt.not_seen_but_present.push((*account).to_owned());
                    }
                } else if balance.is_none() {
                    debt.paid_off.push((*account).to_owned());
                }
            }
            debt.nothing_seen = accounts.is_empty() && seen.any.is_none() && current <= Money::ZERO;
            let value = if debt.not_seen.is_empty() && !debt.nothing_seen {
                original.checked_sub(current)?
            } else {
                debt.paid_off.clear();
                Money::ZERO
            };
            Some(Measured {
                value,
                debt,
                annual_rate: weighted_rate(&lines),
            })
        }
        GoalType::Custom => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::{GoalId, GoalLinks};
    use crate::domain::snapshot::SnapshotLine;
    use crate::domain::{Money, UserId};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn goal(goal_type: GoalType, target: i64, accounts: &[&str], categories: &[&str]) -> Goal {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let id = GoalId::parse("g1").unwrap();
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let user = UserId::parse("u1").unwrap();
        let mut g = Goal::new(id, user, goal_type, "goal", Money::from_cents(target), start, t);
        g.links = GoalLinks {
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
        };
        g
    }

    fn line(kind: Kind, account: Option<&str>, category: &str, cents: i64) -> SnapshotLine {
        SnapshotLine::new(kind, account, category, Money::from_cents(cents))
    }

    #[test]
    fn the_balance_weighted_rate_rounds_to_four_places_half_away_from_zero() {
        let rated = |account: &str, cents: i64, rate: &str| SnapshotLine {
            rate: Some(rate.parse().unwrap()),
            ..line(Kind::Investment, Some(account), "stocks", cents)
        };
        // (1.0002 + 1.0003) / 2 = 1.00025: 1.0003, not the even 1.0002.
        let s = SnapshotSummary::of_lines(&[rated("a", 100_000, "1.0002"), rated("b", 100_000, "1.0003")]).unwrap();
        let g = goal(GoalType::InvestmentTarget, 1_000_000, &["a", "b"], &[]);
        let m = measure(&g, &s, &DebtSeen::default()).unwrap();
        assert_eq!(m.annual_rate, Some("1.0003".parse().unwrap()));
        // 4,000.00 at 6 % and 1,000.00 at 1 %: (24,000 + 1,000) / 5,000 = 5 %.
        let s = SnapshotSummary::of_lines(&[rated("a", 400_000, "6"), rated("b", 100_000, "1")]).unwrap();
        assert_eq!(
            measure(&g, &s, &DebtSeen::default()).unwrap().annual_rate,
            Some(5.into())
        );
    }

    fn summary() -> SnapshotSummary {
        SnapshotSummary::of_lines(&[
            line(Kind::Income, None, "salary", 500_000),
            line(Kind::Expense, None, "housing", 150_000),
            line(Kind::Expense, None, "dining", 40_000),
            line(Kind::Expense, None, "groceries", 60_000),
            line(Kind::Savings, Some("efund"), "emergency_fund", 300_000),
            line(Kind::Savings, Some("house"), "down_payment", 1_000_000),
            line(Kind::Savings, Some("trip"), "vacation", 50_000),
            line(Kind::Investment, Some("401k"), "retirement", 2_000_000),
            line(Kind::Investment, Some("brokerage"), "stocks", 700_000),
            line(Kind::Asset, Some("car"), "vehicle", 900_000),
            line(Kind::Debt, Some("card"), "credit_card", 250_000),
            line(Kind::Debt, Some("student"), "student_loan", 1_500_000),
        ])
        .unwrap()
    }

    fn value(g: &Goal) -> Option<i64> {
        measure(g, &summary(), &DebtSeen::default()).map(|m| m.value.cents())
    }

    #[test]
    fn each_goal_type_measures_what_the_table_says() {
        use GoalType::*;
        let table: &[(Goal, Option<i64>)] = &[
            (goal(EmergencyFund, 1, &[], &[]), Some(300_000)),
            (goal(DownPayment, 1, &[], &[]), Some(1_000_000)),
            (goal(SavingsTarget, 1, &[], &[]), Some(1_350_000)),
            (goal(MajorPurchase, 1, &["trip"], &[]), Some(50_000)),
            (
                goal(SavingsTarget, 1, &[], &["vacation", "emergency_fund"]),
                Some(350_000),
            ),
            (goal(InvestmentTarget, 1, &[], &[]), Some(2_700_000)),
            (goal(InvestmentTarget, 1, &["brokerage"], &[]), Some(700_000)),
            (goal(RetirementSavings, 1, &[], &[]), Some(2_000_000)),
            (
                goal(NetWorthTarget, 1, &[], &[]),
                Some(300_000 + 1_000_000 + 50_000 + 2_700_000 + 900_000 - 1_750_000),
            ),
            (goal(SavingsRate, 2_000, &[], &[]), Some(5_000)),
            (
                goal(ExpenseReduction, 30_000, &[], &["dining", "groceries"]),
                Some(100_000),
            ),
            (goal(DebtPayoff, 400_000, &["card"], &[]), Some(150_000)),
            (goal(DebtFree, 2_000_000, &[], &[]), Some(250_000)),
            (goal(Custom, 1, &[], &[]), None),
        ];
        for (g, want) in table {
            assert_eq!(value(g), *want, "{} {:?}", g.goal_type, g.links);
        }
    }

    #[test]
    fn explicit_links_win_over_the_default_category() {
        let g = goal(GoalType::EmergencyFund, 1, &["trip"], &[]);
        assert_eq!(value(&g), Some(50_000));
    }

    fn seen_in(goal: &Goal, period: &str, lines: &[SnapshotLine]) -> DebtSeen {
        let mut seen = DebtSeen::default();
        seen.observe(
            goal,
            &SnapshotSummary::of_lines(lines).unwrap(),
            period.parse().unwrap(),
        );
        seen
    }

    fn reading(g: &Goal, seen: &DebtSeen) -> (i64, Option<String>) {
        let m = measure(g, &summary(), seen).unwrap();
        (m.value.cents(), m.debt.note())
    }

    #[test]
    fn a_linked_debt_missing_after_being_seen_above_zero_counts_as_paid_off() {
        let g = goal(GoalType::DebtPayoff, 400_000, &["auto"], &[]);
        let seen = seen_in(&g, "2025-01", &[line(Kind::Debt, Some("auto"), "car", 120_000)]);
        assert_eq!(seen.account("auto"), Some("2025-01".parse().unwrap()));
        assert_eq!(
            reading(&g, &seen),
            (
                400_000,
                Some("linked account auto gone from this snapshot after being seen: counted as paid off".into())
            )
        );
    }

    #[test]
    fn a_linked_debt_never_seen_counts_as_nothing_paid_and_says_so() {
        let g = goal(GoalType::DebtPayoff, 400_000, &["crd"], &[]);
        assert_eq!(
            reading(&g, &DebtSeen::default()),
            (
                0,
                Some("linked account crd not seen yet: counted as nothing paid".into())
            )
        );
        // Seen only at a zero balance: still nothing paid (nothing was owed to pay off).
        let zero = seen_in(&g, "2025-01", &[line(Kind::Debt, Some("crd"), "card", 0)]);
        assert!(zero.is_empty());
        let s = SnapshotSummary::of_lines(&[line(Kind::Debt, Some("crd"), "card", 0)]).unwrap();
        let m = measure(&g, &s, &zero).unwrap();
        assert_eq!(m.value, Money::ZERO);
        assert_eq!(
            m.debt.note().as_deref(),
            Some("linked account crd not seen with a balance yet: counted as nothing paid")
        );
    }

    #[test]
    fn one_unseen_account_of_several_counts_the_whole_goal_as_nothing_paid() {
        let g = goal(GoalType::DebtFree, 2_000_000, &["card", "loan"], &[]);
        assert_eq!(
            reading(&g, &DebtSeen::default()),
            (
                0,
                Some("linked account loan not seen yet: counted as nothing paid".into())
            )
        );
        let seen = seen_in(&g, "2025-01", &[line(Kind::Debt, Some("loan"), "car", 500_000)]);
        // card 2,500.00 is in the snapshot; loan was seen and is gone: paid off.
        assert_eq!(
            reading(&g, &seen),
            (
                2_000_000 - 250_000,
                Some("linked account loan gone from this snapshot after being seen: counted as paid off".into())
            )
        );
    }

    #[test]
    fn a_debt_goal_without_linked_accounts_waits_for_a_debt_above_zero() {
        let g = goal(GoalType::DebtFree, 2_000_000, &[], &["mortgage"]);
        assert_eq!(
            reading(&g, &DebtSeen::default()),
            (
                0,
                Some("no linked debt seen with a balance yet: counted as nothing paid".into())
            )
        );
        let seen = seen_in(&g, "2025-01", &[line(Kind::Debt, Some("home"), "mortgage", 100)]);
        assert_eq!(reading(&g, &seen), (2_000_000, None));
    }

    #[test]
    fn what_was_seen_survives_its_stored_text() {
        let g = goal(GoalType::DebtFree, 2_000_000, &["card", "loan:2"], &[]);
        let seen = seen_in(
            &g,
            "2025-03",
            &[
                line(Kind::Debt, Some("loan:2"), "car", 1),
                line(Kind::Debt, Some("card"), "card", 5),
                line(Kind::Debt, Some("other"), "card", 5),
            ],
        );
        assert_eq!(seen.to_text(), "*=2025-03 card=2025-03 loan:2=2025-03");
        assert_eq!(DebtSeen::parse(&seen.to_text()), Ok(seen));
        assert_eq!(DebtSeen::parse(""), Ok(DebtSeen::default()));
        assert!(DebtSeen::parse("card").is_err());
        assert!(DebtSeen::parse("card=2025-13").is_err());
    }

    #[test]
    fn a_month_without_income_has_a_savings_rate_of_zero() {
        let s = SnapshotSummary::of_lines(&[line(Kind::Expense, None, "rent", 100)]).unwrap();
        let g = goal(GoalType::SavingsRate, 2_000, &[], &[]);
        assert_eq!(measure(&g, &s, &DebtSeen::default()).map(|m| m.value.cents()), Some(0));
    }
}
