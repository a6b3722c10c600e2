//! How each goal type speaks of where it stands and what it takes (issue
//! 19): the one place the words of a goal's card live. Alert emails (HTML
//! and text), `goals show` and `dashboard` all print what [`words`] says.
//! Pure and table-tested.
//!
//! | type | where it stands | what it takes |
//! |---|---|---|
//! | savings, investment, net worth, custom | `Current: 4,500.00 of 13,500.00` | `Needed per month: 458.33` |
//! | debt_payoff, debt_free | `Paid off 2,106.36 of 4,200.00; 2,093.64 left` | `To pay per month: 350.00` |
//! | expense_reduction | `Spent 269.33 of a 240.00 limit this month: 29.33 over` | (the headline says it) |
//! | savings_rate | `Saved 18.5 % of income this month, target 20 %` | `To save this month: 120.00 more` |

use super::card::GoalCard;
use super::goal::GoalType;
use super::money::Money;
use super::progress::Summary;
use rust_decimal::Decimal;

/// One line of a card: a label and its value (for a table), and the two as
/// one line of text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub line: String,
}

impl Fact {
    /// `Label: value`.
    fn named(label: &str, value: String) -> Fact {
        Fact {
            line: format!("{label}: {value}"),
            label: label.to_owned(),
            value,
        }
    }

    /// `Label value`, one sentence ("Spent 269.33 of …").
    fn sentence(label: &str, value: String) -> Fact {
        Fact {
            line: format!("{label} {value}"),
            label: label.to_owned(),
            value,
        }
    }
}

/// A goal's figures in its type's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// Where the goal stands.
    pub standing: Fact,
    /// What it takes, when anything does.
    pub needed: Option<Fact>,
    /// `needed` (or, for a spending limit, the margin) in a few characters,
    /// for the dashboard's column: `458.33/mo`, `29.33 over`, `120.00 more`.
    pub short: String,
}

/// `current` and `target` in hundredths of the goal's unit (cents, or
/// hundredths of a percent for savings_rate); `required` is the required
/// monthly contribution in cents (for savings_rate the money still to save
/// this month; for expense_reduction it is not shown: the margin is).
pub fn words(goal_type: GoalType, current: i64, target: i64, required: i64) -> Wording {
    let money = |cents: i64| Money::from_cents(cents).grouped();
    let per_month = |label: &str| (required > 0).then(|| Fact::named(label, money(required)));
    match goal_type {
        GoalType::DebtPayoff | GoalType::DebtFree => {
            let left = target.saturating_sub(current);
            let left = if left > 0 {
                format!("{} left", money(left))
            } else {
                "nothing left".to_owned()
            };
            let value = if current > 0 {
                format!("{} of {}; {left}", money(current.min(target.max(0))), money(target))
            } else {
                format!("nothing of {} yet; {left}", money(target))
            };
            Wording {
                standing: Fact::sentence("Paid off", value),
                needed: per_month("To pay per month"),
                short: format!("{}/mo", money(required.max(0))),
            }
        }
        GoalType::ExpenseReduction => {
            let over = current.saturating_sub(target);
            let margin = match over {
                o if o > 0 => format!("{} over", money(o)),
                0 => "at the limit".to_owned(),
                o => format!("{} left", money(o.saturating_neg())),
            };
            Wording {
                standing: Fact::sentence(
                    "Spent",
                    format!("{} of a {} limit this month: {margin}", money(current), money(target)),
                ),
                needed: None,
                short: margin,
            }
        }
        GoalType::SavingsRate => Wording {
            standing: Fact::sentence(
                "Saved",
                format!("{} of income this month, target {}", percent(current), percent(target)),
            ),
            needed: (required > 0).then(|| Fact::named("To save this month", format!("{} more", money(required)))),
            short: if required > 0 {
                format!("{} more", money(required))
            } else {
                "on target".to_owned()
            },
        },
        GoalType::EmergencyFund
        | GoalType::SavingsTarget
        | GoalType::DownPayment
        | GoalType::MajorPurchase
        | GoalType::InvestmentTarget
        | GoalType::RetirementSavings
        | GoalType::NetWorthTarget
        | GoalType::Custom => Wording {
            standing: Fact::named("Current", format!("{} of {}", money(current), money(target))),
            needed: per_month("Needed per month"),
            short: format!("{}/mo", money(required.max(0))),
        },
    }
}

/// A goal's words from its [`Summary`] (`goals show`, `dashboard`, the
/// service's standings): `target` is the goal's target (money, or a percent
/// for savings_rate, in hundredths either way).
pub fn of_summary(goal_type: GoalType, target: Money, summary: &Summary) -> Wording {
    words(
        goal_type,
        hundredths(summary.current_value),
        target.cents(),
        hundredths(summary.required_monthly_contribution),
    )
}

/// A stored alert card's words (the email's HTML and text parts). A card
/// whose type this version does not know speaks as a savings goal.
pub fn of_card(card: &GoalCard) -> Wording {
    let goal_type = card.goal_type.parse().unwrap_or(GoalType::Custom);
    words(goal_type, card.current, card.target, card.required_monthly)
}

/// An amount (or a percent) in hundredths, half away from zero.
fn hundredths(d: Decimal) -> i64 {
    Money::from_decimal(d).cents()
}

/// Progress (1.0 = done) for people: a percent clamped to 0–100 with one
/// decimal, rounded half away from zero like every figure (`26.3 %` for
/// 1,050 of 4,000, where formatting the float would give the even `26.2`).
pub fn progress_percent(progress: f64) -> String {
    let tenths = if progress.is_finite() {
        (progress.clamp(0.0, 1.0) * 1000.0).round()
    } else {
        0.0
    };
    format!("{:.1} %", tenths / 10.0)
}

/// Hundredths of a percent as `18.5 %` (no trailing zeros).
fn percent(hundredths: i64) -> String {
    let text = Money::from_cents(hundredths).grouped();
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

#[cfg(test)]
mod tests {
    use super::*;
    use GoalType::*;

    fn lines(w: &Wording) -> (String, Option<String>, String) {
        (
            w.standing.line.clone(),
            w.needed.as_ref().map(|n| n.line.clone()),
            w.short.clone(),
        )
    }

    #[test]
    fn each_goal_type_speaks_its_own_language() {
        // (type, current, target, required, where it stands, what it takes, the dashboard's column)
        type Row = (
            GoalType,
            i64,
            i64,
            i64,
            &'static str,
            Option<&'static str>,
            &'static str,
        );
        let table: &[Row] = &[
            (
                EmergencyFund,
                450_000,
                1_350_000,
                45_833,
                "Current: 4,500.00 of 13,500.00",
                Some("Needed per month: 458.33"),
                "458.33/mo",
            ),
            (
                NetWorthTarget,
                -120_000,
                4_000_000,
                0,
                "Current: -1,200.00 of 40,000.00",
                None,
                "0.00/mo",
            ),
            (
                DebtPayoff,
                210_636,
                420_000,
                35_000,
                "Paid off 2,106.36 of 4,200.00; 2,093.64 left",
                Some("To pay per month: 350.00"),
                "350.00/mo",
            ),
            (
                DebtFree,
                420_000,
                420_000,
                0,
                "Paid off 4,200.00 of 4,200.00; nothing left",
                None,
                "0.00/mo",
            ),
            (
                DebtPayoff,
                -10_000,
                420_000,
                36_000,
                "Paid off nothing of 4,200.00 yet; 4,300.00 left",
                Some("To pay per month: 360.00"),
                "360.00/mo",
            ),
            (
                ExpenseReduction,
                26_933,
                24_000,
                2_933,
                "Spent 269.33 of a 240.00 limit this month: 29.33 over",
                None,
                "29.33 over",
            ),
            (
                ExpenseReduction,
                20_000,
                24_000,
                0,
                "Spent 200.00 of a 240.00 limit this month: 40.00 left",
                None,
                "40.00 left",
            ),
            (
                ExpenseReduction,
                24_000,
                24_000,
                0,
                "Spent 240.00 of a 240.00 limit this month: at the limit",
                None,
                "at the limit",
            ),
            (
                SavingsRate,
                1_850,
                2_000,
                12_000,
                "Saved 18.5 % of income this month, target 20 %",
                Some("To save this month: 120.00 more"),
                "120.00 more",
            ),
            (
                SavingsRate,
                2_125,
                2_000,
                0,
                "Saved 21.25 % of income this month, target 20 %",
                None,
                "on target",
            ),
            (
                SavingsRate,
                -350,
                1_000,
                0,
                "Saved -3.5 % of income this month, target 10 %",
                None,
                "on target",
            ),
        ];
        for &(t, current, target, required, standing, needed, short) in table {
            let w = words(t, current, target, required);
            assert_eq!(
                lines(&w),
                (standing.to_owned(), needed.map(str::to_owned), short.to_owned()),
                "{t}"
            );
        }
    }

    fn summary(current: &str, required: &str) -> Summary {
        Summary {
            current_value: current.parse().unwrap(),
            progress: 0.5,
            on_track: true,
            days_elapsed: 0,
            days_remaining: None,
            months_left: None,
            required_monthly_contribution: required.parse().unwrap(),
            current_monthly_pace: Decimal::ZERO,
            projected_completion_date: None,
            projected_final_value: None,
            note: None,
        }
    }

    #[test]
    fn a_summary_speaks_in_its_goal_types_words_rounding_half_away_from_zero() {
        let rate = of_summary(SavingsRate, Money::from_cents(2_000), &summary("18.5", "120"));
        assert_eq!(rate.standing.line, "Saved 18.5 % of income this month, target 20 %");
        assert_eq!(
            rate.needed.map(|n| n.line).as_deref(),
            Some("To save this month: 120.00 more")
        );
        // A rate of 18.125 % shows as 18.13 %, -3.125 % as -3.13 %.
        let rate = of_summary(SavingsRate, Money::from_cents(2_000), &summary("18.125", "0"));
        assert_eq!(rate.standing.line, "Saved 18.13 % of income this month, target 20 %");
        let rate = of_summary(SavingsRate, Money::from_cents(2_000), &summary("-3.125", "0"));
        assert_eq!(rate.standing.line, "Saved -3.13 % of income this month, target 20 %");
        let spent = of_summary(ExpenseReduction, Money::from_cents(24_000), &summary("269.33", "29.33"));
        assert_eq!(
            spent.standing.line,
            "Spent 269.33 of a 240.00 limit this month: 29.33 over"
        );
        assert_eq!(spent.needed, None);
        let huge = of_summary(
            NetWorthTarget,
            Money::from_cents(100),
            &summary("-79228162514264337593543950335", "0"),
        );
        assert_eq!(
            huge.standing.value,
            format!("{} of 1.00", Money::from_cents(i64::MIN).grouped())
        );
    }

    #[test]
    fn progress_shows_as_a_clamped_percent_rounded_half_away_from_zero() {
        for (progress, shown) in [
            (1_050.0 / 4_000.0, "26.3 %"),
            (0.2624, "26.2 %"),
            (0.4, "40.0 %"),
            (0.0005, "0.1 %"),
            (-0.06, "0.0 %"),
            (1.7, "100.0 %"),
            (0.9999, "100.0 %"),
            (f64::NAN, "0.0 %"),
        ] {
            assert_eq!(progress_percent(progress), shown, "{progress}");
        }
    }

    #[test]
    fn a_stored_alert_card_speaks_in_its_goal_types_words() {
        let card = GoalCard {
            goal_name: "Groceries".to_owned(),
            goal_type: "expense_reduction".to_owned(),
            target_is_percent: false,
            current: 26_933,
            target: 24_000,
            progress: 0.89,
            on_track: false,
            required_monthly: 2_933,
            projected_completion: None,
        };
        let w = of_card(&card);
        assert_eq!(w.standing.line, "Spent 269.33 of a 240.00 limit this month: 29.33 over");
        assert_eq!(w.needed, None);
        // A type this version does not know reads as a savings goal.
        let w = of_card(&GoalCard {
            goal_type: "lottery".to_owned(),
            ..card
        });
        assert_eq!(w.standing.line, "Current: 269.33 of 240.00");
        assert_eq!(w.needed.map(|n| n.line).as_deref(), Some("Needed per month: 29.33"));
    }

    #[test]
    fn every_type_has_words_and_a_table_row_that_reads_as_its_line() {
        for &t in GoalType::ALL {
            let w = words(t, 100, 200, 50);
            assert!(w.standing.line.starts_with(&w.standing.label), "{t}");
            assert!(w.standing.line.ends_with(&w.standing.value), "{t}");
            assert!(!w.short.is_empty(), "{t}");
        }
    }
}
