//! The progress calculator: from a goal's terms and where it stands today, a [`Summary`] of how far
//! along it is, whether it is on track, what it takes each month to finish on time and when it will
//! finish at the current pace.
//!
//! Pure and total: no I/O, no clock, no panics, and never a NaN or an infinity. Money stays exact in
//! [`Decimal`] with checked arithmetic; a figure too large to compute degrades to a missing projection
//! (with a note saying why) rather than a wrong one. Months are calendar months
//! ([`NaiveDate::checked_add_months`], which clamps the day), never 30-day blocks.
//!
//! Rates: an annual rate in percent becomes a monthly rate `i = rate / 12 / 100`, compounded monthly,
//! with payments at the end of each month (the standard PMT/NPER conventions). Month counts are found
//! exactly in `Decimal` (no floating-point logarithm), so a payment that clears a loan in exactly `n`
//! months gives `n`, not `n + 1`.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Projections further away than this many months (100 years) are not made.
pub const MAX_PROJECTION_MONTHS: u32 = 1200;
/// How many of the most recent contributions make up the current pace.
pub const PACE_WINDOW: usize = 3;

/// A monthly rate smaller than this in size (an APR under 1.2e-13 %) is treated as zero: it changes
/// no figure by a cent, and dividing by it would only amplify rounding.
const NEGLIGIBLE_MONTHLY_RATE: Decimal = Decimal::from_parts(1, 0, 0, false, 16);

const NOTE_TOO_FAR: &str = "more than 100 years away at this pace";
const NOTE_TOO_LARGE: &str = "the figures are too large to project";
const NOTE_RATE_TOO_LARGE: &str = "the figures are too large to apply the annual rate, so it was left out";
const NOTE_PAST_CALENDAR: &str = "the projected date is beyond the supported calendar";

/// What is measured and how progress is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// The value grows toward the target (savings, investment, net worth, custom).
    Accumulate,
    /// current = amount paid down so far (original balance − current balance); target = original balance.
    Debt,
    /// Recurring, judged per period. current = this period's savings rate in percent (e.g. 18.5),
    /// target = target percent (e.g. 20). income and surplus are this period's money figures.
    SavingsRate { income: Decimal, surplus: Decimal },
    /// Recurring, judged per period. current = this period's spending in the linked categories,
    /// target = the monthly ceiling; baseline = spending in the first period at or after the start.
    ExpenseReduction { baseline: Decimal },
}

impl Measure {
    /// Judged period by period (expected share 1) rather than accumulated toward a date.
    pub fn is_recurring(&self) -> bool {
        matches!(self, Measure::SavingsRate { .. } | Measure::ExpenseReduction { .. })
    }
}

/// A goal's terms: what it measures, its target and its dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalTerms {
    pub measure: Measure,
    /// V: money (e.g. 27000.00), or a percent for [`Measure::SavingsRate`].
    pub target: Decimal,
    /// s
    pub start: NaiveDate,
    /// T
    pub target_date: Option<NaiveDate>,
    /// Annual rate in percent: a debt's APR (Debt) or an account's expected return (Accumulate).
    /// Ignored for the recurring measures.
    pub annual_rate: Option<Decimal>,
}

/// Where a goal stands on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// c (see [`Measure`] for its meaning).
    pub current: Decimal,
    /// d
    pub as_of: NaiveDate,
    /// The contributions of the most recent progress entries, oldest first (the caller passes at most 3;
    /// at most the last [`PACE_WINDOW`] are used anyway).
    pub recent_contributions: Vec<Decimal>,
}

/// How a goal is doing as of one day.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// c as given.
    pub current_value: Decimal,
    /// The unclamped ratio of progress (1.0 = done); always finite.
    pub progress: f64,
    pub on_track: bool,
    /// d − s, in days.
    pub days_elapsed: i64,
    /// T − d, in days (negative after the deadline); None without T.
    pub days_remaining: Option<i64>,
    /// The smallest n ≥ 0 with d + n calendar months ≥ T; None without T.
    pub months_left: Option<u32>,
    /// Rounded to cents, half away from zero; never negative.
    pub required_monthly_contribution: Decimal,
    /// The mean of the last up to 3 contributions, rounded to cents.
    pub current_monthly_pace: Decimal,
    pub projected_completion_date: Option<NaiveDate>,
    /// Rounded to cents; None without T (and for the recurring measures).
    pub projected_final_value: Option<Decimal>,
    /// Why a projection is missing when that is not obvious, e.g.
    /// "at 50.00 a month the payments do not cover the monthly interest of 62.50".
    /// Several reasons are joined with "; ".
    pub note: Option<String>,
}

/// Summarizes a goal's progress as of `obs.as_of`. Total: any input gives a summary.
/// Progress (unclamped) and whether it is on track as of `as_of`, without
/// the projections: all a stored progress entry needs. `summarize` judges
/// the same way.
pub fn standing(terms: &GoalTerms, current: Decimal, as_of: NaiveDate) -> (f64, bool) {
    let (progress, on_track) = judge(terms, current, as_of);
    (progress.to_f64(), on_track)
}

fn judge(terms: &GoalTerms, current: Decimal, today: NaiveDate) -> (Ratio, bool) {
    let progress = progress_ratio(&terms.measure, current, terms.target);
    let expected = if terms.measure.is_recurring() {
        Some(Share::WHOLE)
    } else {
        terms
            .target_date
            .map(|deadline| Share::expected(terms.start, today, deadline))
    };
    let on_track = expected.is_none_or(|share| progress.at_least_nine_tenths_of(share));
    (progress, on_track)
}

pub fn summarize(terms: &GoalTerms, obs: &Observation) -> Summary {
    summarize_with(terms, obs, FinalValue::Projected)
}

/// [`summarize`] without `projected_final_value` (None): what an alert's
/// evaluation reads, for a third less work on a goal with a rate.
pub fn summarize_for_alerts(terms: &GoalTerms, obs: &Observation) -> Summary {
    summarize_with(terms, obs, FinalValue::Skipped)
}

/// Whether a summary projects the final value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinalValue {
    Projected,
    Skipped,
}

fn summarize_with(terms: &GoalTerms, obs: &Observation, final_value: FinalValue) -> Summary {
    let mut notes = Vec::new();
    let (current, target, today) = (obs.current, terms.target, obs.as_of);
    let months_left = terms.target_date.map(|deadline| months_until(today, deadline));
    let pace = cents(mean_pace(&obs.recent_contributions));
    let (progress, on_track) = judge(terms, current, today);

    let standing = Standing {
        current,
        target,
        today,
        months_left,
        pace,
        project_final: final_value == FinalValue::Projected,
    };
    let plan = match &terms.measure {
        Measure::Accumulate => standing.accumulate(monthly_rate(terms.annual_rate, &mut notes), &mut notes),
        Measure::Debt => standing.pay_down(monthly_rate(terms.annual_rate, &mut notes), &mut notes),
        Measure::SavingsRate { income, surplus } => Plan {
            required: savings_shortfall(target, *income, *surplus),
            completion: (current >= target).then_some(today),
            final_value: None,
        },
        Measure::ExpenseReduction { .. } => Plan {
            required: current.saturating_sub(target).max(Decimal::ZERO),
            completion: (current <= target).then_some(today),
            final_value: None,
        },
    };

    Summary {
        current_value: current,
        progress: progress.to_f64(),
        on_track,
        days_elapsed: days_between(terms.start, today),
        days_remaining: terms.target_date.map(|deadline| days_between(today, deadline)),
        months_left,
        required_monthly_contribution: cents(plan.required).max(Decimal::ZERO),
        current_monthly_pace: pace,
        projected_completion_date: plan.completion,
        projected_final_value: plan.final_value.map(cents),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Standard PMT: the level monthly payment that pays off `balance` in `months` at `monthly_rate`
/// (a fraction, e.g. 0.005), paid at the end of each month. Rounded to cents, half away from zero.
///
/// No balance (≤ 0) needs no payment; `months == 0` needs the whole balance now; a zero (or
/// negligible) rate spreads the balance evenly. A rate of −100 % a month or below is meaningless
/// and is treated as zero. A payment too large for a `Decimal` saturates at [`Decimal::MAX`].
pub fn amortizing_payment(balance: Decimal, monthly_rate: Decimal, months: u32) -> Decimal {
    cents(level_payment_to_clear(balance, usable_rate(monthly_rate), months).unwrap_or(Decimal::MAX))
}

/// Standard NPER: the months (rounded UP) to pay off `balance` paying `payment` at the end of each
/// month at `monthly_rate` (a fraction). `Some(0)` when there is no balance; None if the payment does
/// not exceed the first month's interest (or is not positive), or if the count would not fit a `u32`.
/// A rate of −100 % a month or below is meaningless and is treated as zero.
pub fn months_to_amortize(balance: Decimal, monthly_rate: Decimal, payment: Decimal) -> Option<u32> {
    if balance <= Decimal::ZERO {
        return Some(0);
    }
    // Paying off a balance is growing from −balance to 0.
    months_to_reach(-balance, payment, usable_rate(monthly_rate), Decimal::ZERO)
}

/// What it takes and where it leads: the money side of a summary, before rounding.
struct Plan {
    required: Decimal,
    completion: Option<NaiveDate>,
    final_value: Option<Decimal>,
}

/// Where an accumulating goal (savings or debt) stands: what its money-side rules share.
struct Standing {
    current: Decimal,
    target: Decimal,
    today: NaiveDate,
    months_left: Option<u32>,
    pace: Decimal,
    /// Whether to project the final value (the live summary does; alerts do not read it).
    project_final: bool,
}

impl Standing {
    /// The months left, when the final value is projected.
    fn final_months(&self) -> Option<u32> {
        self.months_left.filter(|_| self.project_final)
    }

    fn remaining(&self) -> Decimal {
        self.target.saturating_sub(self.current).max(Decimal::ZERO)
    }

    /// The remainder spread evenly over the months left; all of it when none are left.
    fn spread(&self, months: u32) -> Decimal {
        let remaining = self.remaining();
        remaining.checked_div(Decimal::from(months.max(1))).unwrap_or(remaining)
    }

    /// Savings, investments, net worth: grows toward the target, with an optional expected return.
    fn accumulate(&self, rate: Option<Decimal>, notes: &mut Vec<String>) -> Plan {
        let i = rate.unwrap_or(Decimal::ZERO);
        let required = match self.months_left {
            None => Decimal::ZERO,
            Some(_) if self.remaining().is_zero() => Decimal::ZERO,
            Some(0) => self.remaining(),
            Some(n) if i.is_zero() => self.spread(n),
            Some(n) => level_payment_to_grow(self.current, self.target, i, n).unwrap_or_else(|| {
                notes.push(NOTE_RATE_TOO_LARGE.to_owned());
                self.spread(n)
            }),
        };
        let completion = if self.current >= self.target {
            Some(self.today)
        } else if self.pace <= Decimal::ZERO {
            None
        } else {
            let months = months_to_reach(self.current, self.pace, i, self.target);
            date_after_months(self.today, months, notes)
        };
        let final_value = self.final_months().and_then(|n| {
            let value = future_value(self.current, self.pace, i, n);
            if value.is_none() {
                notes.push(NOTE_TOO_LARGE.to_owned());
            }
            value
        });
        Plan {
            required,
            completion,
            final_value,
        }
    }

    /// A debt: current is the amount paid down, target the original balance; an optional APR.
    fn pay_down(&self, rate: Option<Decimal>, notes: &mut Vec<String>) -> Plan {
        let balance = self.remaining();
        let i = rate.unwrap_or(Decimal::ZERO);
        let required = match self.months_left {
            None => Decimal::ZERO,
            Some(n) => level_payment_to_clear(balance, i, n).unwrap_or_else(|| {
                notes.push(NOTE_RATE_TOO_LARGE.to_owned());
                self.spread(n)
            }),
        };
        let completion = if self.current >= self.target {
            Some(self.today)
        } else if self.pace <= Decimal::ZERO {
            None
        } else if i > Decimal::ZERO && balance.checked_mul(i).is_none_or(|interest| self.pace <= interest) {
            let interest = balance
                .checked_mul(i)
                .map_or_else(String::new, |x| format!(" of {}", money_text(x)));
            notes.push(format!(
                "at {} a month the payments do not cover the monthly interest{interest}",
                money_text(self.pace)
            ));
            None
        } else {
            let months = months_to_reach(-balance, self.pace, i, Decimal::ZERO);
            date_after_months(self.today, months, notes)
        };
        let final_value = self.final_months().and_then(|n| {
            let value = match rate {
                // Without an APR the payments simply add up (the spec's c + pace × months_left),
                // but no more than the debt can be paid off.
                None => future_value(self.current, self.pace, Decimal::ZERO, n).map(|v| v.min(self.target)),
                // Paid off by then, and a positive payment keeps it paid off.
                Some(_)
                    if self.pace > Decimal::ZERO
                        && months_to_reach(-balance, self.pace, i, Decimal::ZERO).is_some_and(|m| m <= n) =>
                {
                    Some(self.target)
                }
                // V − max(B_n, 0), where −B_n is the future value of −B with the payments added.
                Some(_) => future_value(-balance, self.pace, i, n)
                    .and_then(|negated_left| self.target.checked_add(negated_left.min(Decimal::ZERO))),
            };
            if value.is_none() {
                notes.push(NOTE_TOO_LARGE.to_owned());
            }
            value
        });
        Plan {
            required,
            completion,
            final_value,
        }
    }
}

/// The extra money to save this period to reach the target rate: max(V % × income − surplus, 0).
fn savings_shortfall(target_percent: Decimal, income: Decimal, surplus: Decimal) -> Decimal {
    let share = target_percent
        .checked_div(Decimal::ONE_HUNDRED)
        .unwrap_or(Decimal::ZERO);
    share.saturating_mul(income).saturating_sub(surplus).max(Decimal::ZERO)
}

/// A ratio kept exact where it can be, so the on-track boundary is decided without float error.
#[derive(Debug, Clone, Copy)]
enum Ratio {
    /// num / den with den > 0.
    Exact { num: Decimal, den: Decimal },
    /// Only when the exact terms overflowed.
    Approx(f64),
}

impl Ratio {
    fn flag(reached: bool) -> Ratio {
        let num = if reached { Decimal::ONE } else { Decimal::ZERO };
        Ratio::Exact { num, den: Decimal::ONE }
    }

    fn to_f64(self) -> f64 {
        let value = match self {
            Ratio::Exact { num, den } => match exact_quotient_f64(num, den) {
                Some(quotient) => quotient,
                None => match num.checked_div(den) {
                    Some(quotient) => decimal_to_f64(quotient),
                    None => decimal_to_f64(num) / decimal_to_f64(den),
                },
            },
            Ratio::Approx(value) => value,
        };
        if value.is_finite() { value } else { 0.0 }
    }

    /// self ≥ 0.9 × share (the seed's 10 % buffer), exactly when the terms allow.
    fn at_least_nine_tenths_of(self, share: Share) -> bool {
        // num/den ≥ 9·e/(10·t)  ⇔  num·10t ≥ den·9e   (den, t > 0)
        let (lhs_factor, rhs_factor) = (share.of.saturating_mul(10), share.elapsed.saturating_mul(9));
        if let Ratio::Exact { num, den } = self {
            let lhs = num.checked_mul(Decimal::from(lhs_factor));
            let rhs = den.checked_mul(Decimal::from(rhs_factor));
            if let (Some(lhs), Some(rhs)) = (lhs, rhs) {
                return lhs >= rhs;
            }
        }
        // share.of > 0, so the division is finite.
        self.to_f64() >= rhs_factor as f64 / lhs_factor as f64
    }
}

/// progress = c / V, or for expense reduction (baseline − spending) / (baseline − ceiling); never a
/// division by zero or by a negative.
fn progress_ratio(measure: &Measure, current: Decimal, target: Decimal) -> Ratio {
    match measure {
        Measure::ExpenseReduction { baseline } => {
            if *baseline <= target {
                return Ratio::flag(current <= target);
            }
            match (baseline.checked_sub(current), baseline.checked_sub(target)) {
                (Some(num), Some(den)) => Ratio::Exact { num, den },
                _ => {
                    let b = decimal_to_f64(*baseline);
                    Ratio::Approx((b - decimal_to_f64(current)) / (b - decimal_to_f64(target)))
                }
            }
        }
        _ if target <= Decimal::ZERO => Ratio::flag(current >= target),
        _ => Ratio::Exact {
            num: current,
            den: target,
        },
    }
}

/// The share of the time to the deadline that has passed: elapsed / of, within [0, 1], of > 0.
#[derive(Debug, Clone, Copy)]
struct Share {
    elapsed: i64,
    of: i64,
}

impl Share {
    const WHOLE: Share = Share { elapsed: 1, of: 1 };

    /// (d − s) / (T − s) in days, clamped to [0, 1]; the whole when T ≤ s.
    fn expected(start: NaiveDate, today: NaiveDate, deadline: NaiveDate) -> Share {
        let of = days_between(start, deadline);
        if of <= 0 {
            return Share::WHOLE;
        }
        Share {
            elapsed: days_between(start, today).clamp(0, of),
            of,
        }
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

/// The smallest n ≥ 0 with `from` + n calendar months ≥ `to` (0 when from ≥ to).
pub fn months_until(from: NaiveDate, to: NaiveDate) -> u32 {
    if from >= to {
        return 0;
    }
    // Adding the difference in month numbers lands in `to`'s month (the day clamped), so the answer is
    // that difference or one more; the date range keeps it far below u32::MAX.
    let whole = (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month()) - i64::from(from.month());
    let whole = u32::try_from(whole).unwrap_or(0);
    match from.checked_add_months(Months::new(whole)) {
        Some(landed) if landed >= to => whole,
        _ => whole.saturating_add(1),
    }
}

/// The mean of the last up to [`PACE_WINDOW`] contributions (0 if none), unrounded.
fn mean_pace(contributions: &[Decimal]) -> Decimal {
    let recent = &contributions[contributions.len().saturating_sub(PACE_WINDOW)..];
    if recent.is_empty() {
        return Decimal::ZERO;
    }
    let count = Decimal::from(recent.len());
    recent
        .iter()
        .try_fold(Decimal::ZERO, |sum, x| sum.checked_add(*x))
        .and_then(|sum| sum.checked_div(count))
        // The sum overflowed: dividing first keeps every term, and the mean, within range.
        .unwrap_or_else(|| {
            recent.iter().fold(Decimal::ZERO, |sum, x| {
                sum.saturating_add(x.checked_div(count).unwrap_or(*x))
            })
        })
}

/// The monthly rate (a fraction) for an annual rate in percent: `rate / 12 / 100`. A negligible rate
/// is zero; a rate of −100 % a month or below cannot compound and is left out with a note.
fn monthly_rate(annual_percent: Option<Decimal>, notes: &mut Vec<String>) -> Option<Decimal> {
    let annual = annual_percent?;
    let monthly = annual.checked_div(Decimal::from(1200)).unwrap_or(Decimal::ZERO);
    if monthly <= Decimal::NEGATIVE_ONE {
        notes.push(format!(
            "an annual rate of {annual} % cannot compound, so it was left out"
        ));
        return None;
    }
    Some(usable_rate(monthly))
}

/// A monthly rate as the formulas use it: negligible or meaningless (≤ −100 %) rates are zero.
fn usable_rate(monthly: Decimal) -> Decimal {
    if monthly.abs() < NEGLIGIBLE_MONTHLY_RATE || monthly <= Decimal::NEGATIVE_ONE {
        Decimal::ZERO
    } else {
        monthly
    }
}

#[cfg(test)]
/// `base`ⁿ by repeated squaring with checked multiplication (None on overflow; underflow rounds to 0).
fn checked_pow(base: Decimal, exponent: u32) -> Option<Decimal> {
    let (mut result, mut square, mut rest) = (Decimal::ONE, base, exponent);
    loop {
        if rest & 1 == 1 {
            result = result.checked_mul(square)?;
        }
        rest >>= 1;
        if rest == 0 {
            return Some(result);
        }
        square = square.checked_mul(square)?;
    }
}

/// `checked_pow` of one base for many exponents, keeping the squares
/// base^(2^j) between calls: each result is the same product, taken in the
/// same order, as `checked_pow(base, n)` computes.
struct Powers {
    /// base^(2^j) for j < `known`; `None` from the first square that overflowed.
    /// A `u32` exponent has at most 32 bits, so 32 squares are all there can be.
    squares: [Option<Decimal>; 32],
    known: usize,
}

impl Powers {
    fn new(base: Decimal) -> Powers {
        let mut squares = [None; 32];
        squares[0] = Some(base);
        Powers { squares, known: 1 }
    }

    /// base^(2^j), squaring up to it if not done yet.
    fn square(&mut self, j: usize) -> Option<Decimal> {
        while self.known <= j && self.known < self.squares.len() {
            let next = self.squares[self.known - 1].and_then(|s| s.checked_mul(s));
            self.squares[self.known] = next;
            self.known += 1;
        }
        self.squares.get(j).copied().flatten()
    }

    fn pow(&mut self, exponent: u32) -> Option<Decimal> {
        let mut result = Decimal::ONE;
        let mut rest = exponent;
        let mut j = 0;
        loop {
            if rest & 1 == 1 {
                result = result.checked_mul(self.square(j)?)?;
            }
            rest >>= 1;
            if rest == 0 {
                return Some(result);
            }
            j += 1;
            // `checked_pow` squares before it looks at the next bit.
            self.square(j)?;
        }
    }
}

/// Powers of the rates a thread meets, remembered: every month of every goal
/// on an account at 4.10 % raises the same 1.0034166… to one of a few dozen
/// month counts, and a 28-digit product costs more than the rest of a
/// progress summary. Each result is `checked_pow`'s (from [`Powers`]: the
/// same products, in the same order), so remembering changes no answer. Pure:
/// the memo only saves work.
struct PowerTable {
    powers: Powers,
    results: std::collections::HashMap<u32, Option<Decimal>>,
}

/// Bases remembered per thread before the memo starts over (about 1 KB each
/// plus the exponents used).
const MEMO_BASES: usize = 512;
/// Exponents (months) remembered per base: 100 years. Longer ones are
/// computed each time.
const MEMO_MONTHS: u32 = 1200;

thread_local! {
    static POWER_MEMO: std::cell::RefCell<std::collections::HashMap<[u8; 16], PowerTable>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `checked_pow(base, n)`, remembered (see [`PowerTable`]).
fn memo_pow(base: Decimal, n: u32) -> Option<Decimal> {
    // The exact representation (scale included), not the value: 1.0 and 1.00
    // multiply to differently scaled products.
    let key = base.serialize();
    POWER_MEMO.with_borrow_mut(|memo| {
        if memo.len() >= MEMO_BASES && !memo.contains_key(&key) {
            memo.clear();
        }
        let PowerTable { powers, results } = memo.entry(key).or_insert_with(|| PowerTable {
            powers: Powers::new(base),
            results: std::collections::HashMap::new(),
        });
        if n >= MEMO_MONTHS {
            return powers.pow(n);
        }
        *results.entry(n).or_insert_with(|| powers.pow(n))
    })
}

/// Level end-of-month payment factors for `n ≥ 1` months at monthly rate `i` (> −1, zero or not
/// negligible): `sink` = i / ((1+i)ⁿ − 1), the payment per unit of FUTURE value; `amortize` =
/// sink + i = i / (1 − (1+i)⁻ⁿ), the payment per unit of PRESENT value. Each is computed in the form
/// whose powers stay within [0, 1], so long terms underflow toward their limits instead of overflowing.
struct Factors {
    sink: Decimal,
    amortize: Decimal,
}

fn level_factors(i: Decimal, n: u32) -> Option<Factors> {
    let even = Decimal::ONE.checked_div(Decimal::from(n.max(1)))?;
    if i.is_zero() {
        return Some(Factors {
            sink: even,
            amortize: even,
        });
    }
    let growth = Decimal::ONE.checked_add(i)?;
    let sink = if i > Decimal::ZERO {
        // i / (f − 1) = i·g / (1 − g) with g = (1+i)⁻ⁿ ∈ (0, 1]
        let g = memo_pow(Decimal::ONE.checked_div(growth)?, n)?;
        let den = Decimal::ONE.checked_sub(g)?;
        if den <= Decimal::ZERO {
            even
        } else {
            i.checked_mul(g)?.checked_div(den)?
        }
    } else {
        // i / (f − 1) = −i / (1 − f) with f = (1+i)ⁿ ∈ (0, 1)
        let f = memo_pow(growth, n)?;
        let den = Decimal::ONE.checked_sub(f)?;
        if den <= Decimal::ZERO {
            even
        } else {
            (-i).checked_div(den)?
        }
    };
    Some(Factors {
        sink,
        amortize: sink.checked_add(i)?,
    })
}

/// PMT, unrounded: the level payment clearing `balance` in `n` months at `i`. None on overflow.
fn level_payment_to_clear(balance: Decimal, i: Decimal, n: u32) -> Option<Decimal> {
    if balance <= Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    if n == 0 {
        return Some(balance);
    }
    if i.is_zero() {
        // Divide rather than multiply by a rounded 1/n, so that halves of a cent round as they should.
        return balance.checked_div(Decimal::from(n));
    }
    balance.checked_mul(level_factors(i, n)?.amortize)
}

/// The level payment p growing `current` to `target` in `n ≥ 1` months at `i`:
/// c(1+i)ⁿ + p((1+i)ⁿ − 1)/i = V  ⇔  p = V·sink − c·amortize. Unfloored; None on overflow.
fn level_payment_to_grow(current: Decimal, target: Decimal, i: Decimal, n: u32) -> Option<Decimal> {
    let factors = level_factors(i, n)?;
    target
        .checked_mul(factors.sink)?
        .checked_sub(current.checked_mul(factors.amortize)?)
}

/// The value after `n` months: start·(1+i)ⁿ + payment·((1+i)ⁿ − 1)/i (start + payment·n at i = 0).
fn future_value(start: Decimal, payment: Decimal, i: Decimal, n: u32) -> Option<Decimal> {
    if i.is_zero() {
        return start.checked_add(payment.checked_mul(Decimal::from(n))?);
    }
    let f = memo_pow(Decimal::ONE.checked_add(i)?, n)?;
    let saved = payment.checked_mul(f.checked_sub(Decimal::ONE)?.checked_div(i)?)?;
    start.checked_mul(f)?.checked_add(saved)
}

/// The smallest n with future_value(start, payment, i, n) ≥ goal, decided exactly in `Decimal`;
/// None if it is never reached (or not within u32::MAX months).
///
/// Multiplying the condition by i: (1+i)ⁿ·(start·i + payment) ≥ goal·i + payment when i > 0 (≤ when
/// i < 0). The value rises month by month exactly when k = start·i + payment > 0.
fn months_to_reach(start: Decimal, payment: Decimal, i: Decimal, goal: Decimal) -> Option<u32> {
    if start >= goal {
        return Some(0);
    }
    if payment <= Decimal::ZERO && i <= Decimal::ZERO {
        return None;
    }
    if i.is_zero() {
        let months = goal.checked_sub(start)?.checked_div(payment)?;
        return if months > Decimal::from(u32::MAX) {
            None
        } else {
            months.ceil().to_u32()
        };
    }
    let growth = Decimal::ONE.checked_add(i)?;
    let k = start.checked_mul(i)?.checked_add(payment)?;
    let bar = goal.checked_mul(i)?.checked_add(payment)?;
    if k <= Decimal::ZERO || (i < Decimal::ZERO && bar <= Decimal::ZERO) {
        return None; // falling, or (for a negative rate) levelling off below the goal
    }
    let mut reached = |n: u32| match memo_pow(growth, n).and_then(|f| f.checked_mul(k)) {
        Some(value) if i > Decimal::ZERO => value >= bar,
        Some(value) => value <= bar,
        // Only a growing power overflows, and then it has passed any goal.
        None => i > Decimal::ZERO,
    };
    // (not_yet, hit] brackets the answer: reached(not_yet) is false (0 never
    // is: start < goal), reached(hit) is true. A floating-point estimate
    // proposes the answer; `reached` decides, in Decimal, so the estimate can
    // only save work (usually all but two powers), never change the answer.
    let (not_yet, mut hit) = (0u32, 1u32);
    let mut searching = true;
    if let Some(guess) = estimate(k, bar, growth) {
        if reached(guess) {
            hit = guess;
            // The usual case: the month before is short of the goal.
            if guess > 0 && !reached(guess - 1) {
                return Some(guess);
            }
            searching = false; // bisect (0, guess]
        } else if guess < u32::MAX && reached(guess + 1) {
            return Some(guess + 1);
        }
    }
    bracket_search(&mut reached, not_yet, hit, !searching)
}

/// The smallest n > `not_yet` with `reached(n)`, for a `reached` that stays
/// true once true and is false at `not_yet`: doubles `hit` until it is
/// reached (unless `hit_reached` says it is), then bisects. None when not
/// reached by u32::MAX.
fn bracket_search(
    mut reached: impl FnMut(u32) -> bool,
    mut not_yet: u32,
    mut hit: u32,
    hit_reached: bool,
) -> Option<u32> {
    if !hit_reached {
        while !reached(hit) {
            if hit == u32::MAX {
                return None;
            }
            not_yet = hit;
            hit = hit.saturating_mul(2);
        }
    }
    while hit - not_yet > 1 {
        let mid = not_yet + (hit - not_yet) / 2;
        if reached(mid) {
            hit = mid;
        } else {
            not_yet = mid;
        }
    }
    Some(hit)
}

/// n = ⌈ln(bar/k) / ln(growth)⌉, the first whole month of the real solution of growthⁿ·k = bar,
/// from `f64`; None when it cannot be estimated (then the search starts from scratch).
fn estimate(k: Decimal, bar: Decimal, growth: Decimal) -> Option<u32> {
    let n = (bar.to_f64()? / k.to_f64()?).ln() / growth.to_f64()?.ln();
    if !n.is_finite() || n < 0.0 || n >= f64::from(u32::MAX) {
        return None;
    }
    // In range (checked above): the cast neither truncates nor saturates.
    Some(n.ceil() as u32)
}

/// `today` + `months` calendar months, unless that is more than 100 years away or past the calendar.
fn date_after_months(today: NaiveDate, months: Option<u32>, notes: &mut Vec<String>) -> Option<NaiveDate> {
    match months {
        Some(months) if months <= MAX_PROJECTION_MONTHS => {
            let date = today.checked_add_months(Months::new(months));
            if date.is_none() {
                notes.push(NOTE_PAST_CALENDAR.to_owned());
            }
            date
        }
        _ => {
            notes.push(NOTE_TOO_FAR.to_owned());
            None
        }
    }
}

/// Rounded to cents, half away from zero.
fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount for a note: rounded to cents and always with two decimals ("50.00").
fn money_text(amount: Decimal) -> String {
    format!("{:.2}", cents(amount))
}

/// num / den as the nearest `f64`, when both are integers below 2^53 at a
/// common scale (money in cents always is): IEEE division of two exact
/// operands is correctly rounded. None otherwise.
fn exact_quotient_f64(num: Decimal, den: Decimal) -> Option<f64> {
    const EXACT: i128 = 1 << 53;
    let scale = num.scale().max(den.scale());
    let at_scale = |d: Decimal| -> Option<i128> {
        let m = d.mantissa().checked_mul(10i128.checked_pow(scale - d.scale())?)?;
        (m.abs() < EXACT).then_some(m)
    };
    let (n, d) = (at_scale(num)?, at_scale(den)?);
    // Both below 2^53 in magnitude: the conversions are exact.
    (d != 0).then(|| n as f64 / d as f64)
}

/// The nearest `f64` (via the decimal text, which is correctly rounded and so keeps order).
fn decimal_to_f64(value: Decimal) -> f64 {
    value
        .to_string()
        .parse::<f64>()
        .unwrap_or_else(|_| value.to_f64().unwrap_or(0.0))
}

#[cfg(test)]
mod standing_tests {
    use super::*;

    #[test]
    fn a_ratio_of_cents_is_the_nearest_double_either_way() {
        for (num, den) in [
            ("600.00", "1000.00"),
            ("1", "3"),
            ("2", "3"),
            ("123456.78", "27000.00"),
            ("-0.01", "0.07"),
            ("99999999999.99", "0.01"),
            ("1.5", "0.25"),
        ] {
            let (num, den): (Decimal, Decimal) = (num.parse().unwrap(), den.parse().unwrap());
            let via_text = decimal_to_f64(num.checked_div(den).unwrap());
            assert_eq!(exact_quotient_f64(num, den), Some(via_text), "{num} / {den}");
        }
        // Too many digits for a double: the exact path steps aside.
        let big: Decimal = "12345678901234567.89".parse().unwrap();
        assert_eq!(exact_quotient_f64(big, Decimal::ONE), None);
        assert_eq!(exact_quotient_f64(Decimal::ONE, Decimal::ZERO), None);
    }

    proptest::proptest! {
        #[test]
        fn standing_agrees_with_the_full_summary(
            current in -100_000i64..200_000, target in 1i64..150_000, elapsed in 0i64..800, span in 1i64..800,
        ) {
            let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
            let terms = GoalTerms {
                measure: Measure::Accumulate,
                target: Decimal::from(target),
                start,
                target_date: Some(start + chrono::Duration::days(span)),
                annual_rate: None,
            };
            let as_of = start + chrono::Duration::days(elapsed);
            let obs = Observation { current: Decimal::from(current), as_of, recent_contributions: vec![] };
            let full = summarize(&terms, &obs);
            proptest::prop_assert_eq!(standing(&terms, Decimal::from(current), as_of), (full.progress, full.on_track));
        }

        #[test]
        fn the_exact_quotient_is_the_decimal_quotient_rounded_to_a_double(
            num in -10_000_000_000_000i64..10_000_000_000_000, den in 1i64..10_000_000_000_000,
        ) {
            let (num, den) = (Decimal::new(num, 2), Decimal::new(den, 2));
            let via_text = num.checked_div(den).map(decimal_to_f64);
            proptest::prop_assert_eq!(exact_quotient_f64(num, den), via_text);
        }

        #[test]
        fn the_alerts_summary_is_the_full_one_without_the_final_value(
            current in -50_000i64..200_000, target in 1i64..150_000, elapsed in 0i64..900, span in 1i64..900,
            apr_tenths in proptest::option::of(0i64..400), pace in proptest::collection::vec(-2_000i64..6_000, 0..4),
            debt in proptest::bool::ANY,
        ) {
            let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
            let terms = GoalTerms {
                measure: if debt { Measure::Debt } else { Measure::Accumulate },
                target: Decimal::from(target),
                start,
                target_date: Some(start + chrono::Duration::days(span)),
                annual_rate: apr_tenths.map(|t| Decimal::new(t, 1)),
            };
            let obs = Observation {
                current: Decimal::from(current),
                as_of: start + chrono::Duration::days(elapsed),
                recent_contributions: pace.into_iter().map(Decimal::from).collect(),
            };
            let full = summarize(&terms, &obs);
            let for_alerts = summarize_for_alerts(&terms, &obs);
            proptest::prop_assert_eq!(for_alerts.projected_final_value, None);
            proptest::prop_assert_eq!(
                Summary { projected_final_value: None, note: None, ..for_alerts },
                Summary { projected_final_value: None, note: None, ..full }
            );
        }
    }
}

#[cfg(test)]
mod powers_tests {
    use super::*;

    #[test]
    fn cached_and_remembered_powers_are_the_same_products_as_checked_pow() {
        for base in [
            "1.0041666666666666666666666667",
            "1.05",
            "0.99",
            "2",
            "1.0000001",
            "79228162514264337593543950335",
        ] {
            let base: Decimal = base.parse().unwrap();
            let mut powers = Powers::new(base);
            for n in [
                0u32,
                1,
                2,
                3,
                7,
                8,
                64,
                65,
                100,
                127,
                1000,
                4096,
                65_535,
                1 << 20,
                u32::MAX,
            ] {
                assert_eq!(powers.pow(n), checked_pow(base, n), "{base}^{n}");
            }
            let mut fresh = Powers::new(base);
            for n in (0u32..300).rev() {
                assert_eq!(fresh.pow(n), checked_pow(base, n), "{base}^{n}");
            }
            for n in (0u32..1300).chain([0, 1, 1199, 1200, 1201, 65_535]) {
                let (memo, plain) = (memo_pow(base, n), checked_pow(base, n));
                assert_eq!(memo, plain, "{base}^{n}");
                assert_eq!(
                    memo.map(|d| d.serialize()),
                    plain.map(|d| d.serialize()),
                    "{base}^{n}, scale"
                );
            }
        }
    }

    /// The search before the floating-point estimate: doubling, then bisection,
    /// with `checked_pow` for every exponent.
    fn months_to_reach_by_search(start: Decimal, payment: Decimal, i: Decimal, goal: Decimal) -> Option<u32> {
        if start >= goal {
            return Some(0);
        }
        if payment <= Decimal::ZERO && i <= Decimal::ZERO {
            return None;
        }
        if i.is_zero() {
            return months_to_reach(start, payment, i, goal);
        }
        let growth = Decimal::ONE.checked_add(i)?;
        let k = start.checked_mul(i)?.checked_add(payment)?;
        let bar = goal.checked_mul(i)?.checked_add(payment)?;
        if k <= Decimal::ZERO || (i < Decimal::ZERO && bar <= Decimal::ZERO) {
            return None;
        }
        let reached = |n: u32| match checked_pow(growth, n).and_then(|f| f.checked_mul(k)) {
            Some(value) if i > Decimal::ZERO => value >= bar,
            Some(value) => value <= bar,
            None => i > Decimal::ZERO,
        };
        // The full search from (0, 1], with plain `checked_pow`: no estimate, no cached powers.
        bracket_search(reached, 0, 1, false)
    }

    #[test]
    fn the_estimated_search_finds_the_same_month_at_the_edges() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        for (start, payment, i, goal) in [
            ("0", "100", "0.005", "27000"),
            ("-18500", "250", "0.004583333333333333333333", "0"),
            ("-1000", "5.01", "0.005", "0"),
            ("0", "0.01", "0.00000001", "1000000000"),
            ("100", "0", "0.0000001", "100.01"),
            ("5000", "10", "-0.001", "5500"),
            ("5000", "10", "-0.001", "9999"),
            ("1", "0", "1", "79228162514264337593543950335"),
            ("0", "1", "0.1", "1"),
            ("0", "1", "0.1", "1.1"),
        ] {
            let (start, payment, i, goal) = (d(start), d(payment), d(i), d(goal));
            assert_eq!(
                months_to_reach(start, payment, i, goal),
                months_to_reach_by_search(start, payment, i, goal),
                "start {start}, payment {payment}, rate {i}, goal {goal}"
            );
        }
    }

    #[test]
    fn the_estimate_is_the_month_for_an_ordinary_goal() {
        // 100 a month at 0.5 % toward 27,000 from nothing: k = 100, bar = 27,000·0.005 + 100 = 235.
        let (k, bar, growth) = (
            Decimal::from(100),
            Decimal::from(235),
            "1.005".parse::<Decimal>().unwrap(),
        );
        let answer = months_to_reach(
            Decimal::ZERO,
            Decimal::from(100),
            "0.005".parse().unwrap(),
            Decimal::from(27_000),
        );
        assert_eq!(estimate(k, bar, growth), answer);
        assert_eq!(answer, Some(172));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]

        #[test]
        fn the_estimated_search_finds_the_same_month_as_a_full_search(
            start in -5_000_000i64..5_000_000,
            payment in -10_000i64..500_000,
            rate_millionths in -20_000i64..60_000,
            goal in -1_000_000i64..10_000_000,
        ) {
            let (start, payment, goal) = (Decimal::new(start, 2), Decimal::new(payment, 2), Decimal::new(goal, 2));
            let i = Decimal::new(rate_millionths, 6);
            proptest::prop_assert_eq!(
                months_to_reach(start, payment, i, goal),
                months_to_reach_by_search(start, payment, i, goal)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn terms(measure: Measure, target: &str, start: &str, target_date: Option<&str>, rate: Option<&str>) -> GoalTerms {
        GoalTerms {
            measure,
            target: dec(target),
            start: day(start),
            target_date: target_date.map(day),
            annual_rate: rate.map(dec),
        }
    }

    fn observe(current: &str, as_of: &str, contributions: &[&str]) -> Observation {
        Observation {
            current: dec(current),
            as_of: day(as_of),
            recent_contributions: contributions.iter().map(|c| dec(c)).collect(),
        }
    }

    fn saving(target: &str, deadline: Option<&str>, rate: Option<&str>) -> GoalTerms {
        terms(Measure::Accumulate, target, "2026-01-01", deadline, rate)
    }

    fn debt(original: &str, deadline: Option<&str>, apr: Option<&str>) -> GoalTerms {
        terms(Measure::Debt, original, "2026-01-01", deadline, apr)
    }

    #[test]
    fn the_seed_emergency_fund_needs_1125_a_month_for_24_months() {
        let s = summarize(
            &saving("27000.00", Some("2028-01-01"), None),
            &observe("0", "2026-01-01", &[]),
        );
        assert_eq!(s.current_value, Decimal::ZERO);
        assert_eq!(s.progress, 0.0);
        assert!(s.on_track, "nothing is expected on the first day");
        assert_eq!(s.days_elapsed, 0);
        assert_eq!(s.days_remaining, Some(730));
        assert_eq!(s.months_left, Some(24));
        assert_eq!(s.required_monthly_contribution, dec("1125.00"));
        assert_eq!(s.current_monthly_pace, Decimal::ZERO);
        assert_eq!(s.projected_completion_date, None);
        assert_eq!(s.projected_final_value, Some(Decimal::ZERO));
        assert_eq!(s.note, None);
    }

    #[test]
    fn progress_is_the_unclamped_ratio_of_current_to_target() {
        for (measure, target, current, expected) in [
            (Measure::Accumulate, "27000", "0", 0.0),
            (Measure::Accumulate, "27000", "13500", 0.5),
            (Measure::Accumulate, "1000", "450", 0.45),
            (Measure::Accumulate, "1000", "1500", 1.5),
            (Measure::Accumulate, "1000", "-250", -0.25),
            (Measure::Debt, "10000", "2500", 0.25),
            (Measure::Debt, "10000", "12000", 1.2),
        ] {
            let goal = terms(measure.clone(), target, "2026-01-01", None, None);
            let s = summarize(&goal, &observe(current, "2026-03-01", &[]));
            assert_eq!(s.progress, expected, "{measure:?} {current} of {target}");
        }
    }

    #[test]
    fn a_target_at_or_below_zero_counts_as_reached_or_not_without_dividing() {
        for (target, current, expected) in [
            ("0", "0", 1.0),
            ("0", "5", 1.0),
            ("0", "-0.01", 0.0),
            ("-100", "-50", 1.0),
            ("-100", "-150", 0.0),
        ] {
            for measure in [
                Measure::Accumulate,
                Measure::Debt,
                Measure::SavingsRate {
                    income: Decimal::ZERO,
                    surplus: Decimal::ZERO,
                },
            ] {
                let goal = terms(measure.clone(), target, "2026-01-01", Some("2027-01-01"), None);
                let s = summarize(&goal, &observe(current, "2026-06-01", &[]));
                assert_eq!(s.progress, expected, "{measure:?} {current} of {target}");
            }
        }
    }

    #[test]
    fn days_elapsed_and_remaining_count_calendar_days() {
        for (as_of, deadline, elapsed, remaining) in [
            ("2026-01-01", Some("2027-01-01"), 0, Some(365)),
            ("2026-03-01", Some("2026-03-31"), 59, Some(30)),
            ("2027-01-11", Some("2027-01-01"), 375, Some(-10)),
            ("2025-12-22", Some("2026-01-01"), -10, Some(10)),
            ("2026-02-01", None, 31, None),
        ] {
            let s = summarize(&saving("100", deadline, None), &observe("0", as_of, &[]));
            assert_eq!(
                (s.days_elapsed, s.days_remaining),
                (elapsed, remaining),
                "{as_of} to {deadline:?}"
            );
        }
    }

    #[test]
    fn months_left_counts_calendar_months_across_month_ends() {
        for (from, to, expected) in [
            ("2026-01-31", "2026-02-28", 1),
            ("2026-01-31", "2026-03-01", 2),
            ("2028-01-31", "2028-02-29", 1),
            ("2026-03-31", "2026-04-30", 1),
            ("2026-02-28", "2026-03-28", 1),
            ("2026-02-28", "2026-03-29", 2),
            ("2026-01-05", "2026-01-20", 1),
            ("2026-12-15", "2027-01-01", 1),
            ("2026-01-01", "2028-01-01", 24),
            ("2026-01-01", "2036-01-01", 120),
            ("2026-06-15", "2026-06-15", 0),
            ("2026-07-01", "2026-06-15", 0),
        ] {
            assert_eq!(months_until(day(from), day(to)), expected, "{from} to {to}");
            let s = summarize(&saving("100", Some(to), None), &observe("0", from, &[]));
            assert_eq!(s.months_left, Some(expected), "{from} to {to}");
        }
        let s = summarize(&saving("100", None, None), &observe("0", "2026-01-01", &[]));
        assert_eq!(s.months_left, None);
    }

    #[test]
    fn months_left_stays_exact_at_the_ends_of_the_calendar() {
        assert_eq!(months_until(NaiveDate::MIN, NaiveDate::MAX), {
            // Lands on December 1st of the last year, short of December 31st: one more.
            let whole = (NaiveDate::MAX.year() - NaiveDate::MIN.year()) * 12 + 11 + 1;
            u32::try_from(whole).unwrap()
        });
        assert_eq!(months_until(day("2026-01-31"), NaiveDate::MAX), {
            let whole = (NaiveDate::MAX.year() - 2026) * 12 + 11;
            u32::try_from(whole).unwrap()
        });
    }

    #[test]
    fn required_contribution_spreads_the_remainder_over_calendar_months() {
        for (target, current, as_of, deadline, months, required) in [
            ("27000.00", "0", "2026-01-01", "2028-01-01", 24, "1125.00"),
            ("27000.00", "5000", "2026-01-31", "2026-02-28", 1, "22000.00"),
            ("1000", "0", "2026-01-05", "2026-01-20", 1, "1000.00"),
            ("1000", "0", "2026-01-31", "2026-03-01", 2, "500.00"),
            ("100", "0", "2026-01-01", "2026-04-01", 3, "33.33"),
            ("200", "0", "2026-01-01", "2026-04-01", 3, "66.67"),
            ("1000", "1500", "2026-01-01", "2026-04-01", 3, "0"),
            ("1000", "-500", "2026-01-01", "2026-04-01", 3, "500.00"),
        ] {
            let s = summarize(&saving(target, Some(deadline), None), &observe(current, as_of, &[]));
            assert_eq!(s.months_left, Some(months), "{current} of {target} by {deadline}");
            assert_eq!(
                s.required_monthly_contribution,
                dec(required),
                "{current} of {target} by {deadline}"
            );
        }
    }

    #[test]
    fn required_contribution_rounds_half_away_from_zero_to_cents() {
        for (target, deadline, required) in [
            ("100.01", "2026-03-01", "50.01"), // 50.005
            ("0.05", "2026-04-01", "0.02"),    // 0.01666…
            ("0.045", "2026-04-01", "0.02"),   // 0.015 exactly
            ("0.025", "2026-03-01", "0.01"),   // 0.0125
        ] {
            let s = summarize(&saving(target, Some(deadline), None), &observe("0", "2026-01-01", &[]));
            assert_eq!(s.required_monthly_contribution, dec(required), "{target} by {deadline}");
        }
    }

    #[test]
    fn after_the_deadline_the_whole_remainder_is_required_at_once() {
        for as_of in ["2028-01-01", "2028-01-02", "2031-06-30"] {
            let s = summarize(
                &saving("27000", Some("2028-01-01"), None),
                &observe("26000.50", as_of, &[]),
            );
            assert_eq!(s.months_left, Some(0), "{as_of}");
            assert_eq!(s.required_monthly_contribution, dec("999.50"), "{as_of}");
            let s = summarize(
                &debt("5000", Some("2028-01-01"), Some("18")),
                &observe("4000", as_of, &[]),
            );
            assert_eq!(s.required_monthly_contribution, dec("1000.00"), "{as_of}");
            let s = summarize(
                &saving("27000", Some("2028-01-01"), Some("5")),
                &observe("26000.50", as_of, &[]),
            );
            assert_eq!(s.required_monthly_contribution, dec("999.50"), "{as_of}");
        }
        let s = summarize(
            &saving("27000", Some("2028-01-01"), None),
            &observe("0", "2028-02-15", &[]),
        );
        assert_eq!(s.days_remaining, Some(-45));
        assert!(!s.on_track);
    }

    #[test]
    fn without_a_target_date_nothing_is_required_and_the_goal_is_on_track() {
        for goal in [
            saving("27000", None, None),
            saving("27000", None, Some("5")),
            debt("27000", None, Some("18")),
        ] {
            let s = summarize(&goal, &observe("0", "2030-01-01", &["100"]));
            assert!(s.on_track);
            assert_eq!(s.required_monthly_contribution, Decimal::ZERO);
            assert_eq!(s.months_left, None);
            assert_eq!(s.days_remaining, None);
            assert_eq!(s.projected_final_value, None);
        }
    }

    #[test]
    fn pace_is_the_mean_of_the_last_three_contributions() {
        for (contributions, pace) in [
            (&[][..], "0"),
            (&["100"][..], "100.00"),
            (&["100", "200"][..], "150.00"),
            (&["100", "200", "300"][..], "200.00"),
            (&["5000", "100", "200", "300"][..], "200.00"),
            (&["100", "100", "101"][..], "100.33"),
            (&["100", "100", "102"][..], "100.67"),
            (&["0.01", "0.01", "0.02"][..], "0.01"),
            (&["-300", "0", "150"][..], "-50.00"),
            (&["0.005"][..], "0.01"),
        ] {
            let s = summarize(&saving("1000", None, None), &observe("0", "2026-01-01", contributions));
            assert_eq!(s.current_monthly_pace, dec(pace), "{contributions:?}");
        }
        let huge = vec![Decimal::MAX; 3];
        assert_eq!(mean_pace(&huge), Decimal::MAX);
        assert_eq!(mean_pace(&[Decimal::MIN, Decimal::MIN]), Decimal::MIN);
    }

    #[test]
    fn projected_completion_adds_whole_calendar_months_at_the_current_pace() {
        for (contributions, months, date) in [
            (&["900", "1000", "1100"][..], 22, "2027-11-30"), // 22000 / 1000 = 22 exactly
            (&["1500"][..], 15, "2027-04-30"),                // 14.67 rounded up
            (&["22000"][..], 1, "2026-02-28"),
            (&["0.01"][..], 0, ""), // 2.2 million months: withheld
        ] {
            let s = summarize(
                &saving("27000", None, None),
                &observe("5000", "2026-01-31", contributions),
            );
            if date.is_empty() {
                assert_eq!(s.projected_completion_date, None, "{contributions:?}");
            } else {
                assert_eq!(
                    s.projected_completion_date,
                    Some(day(date)),
                    "{contributions:?} ({months} months)"
                );
            }
        }
    }

    #[test]
    fn projected_completion_is_today_when_the_target_is_already_reached() {
        for goal in [
            saving("1000", None, None),
            saving("1000", None, Some("5")),
            debt("1000", None, Some("18")),
        ] {
            for current in ["1000", "1000.01"] {
                let s = summarize(&goal, &observe(current, "2026-05-05", &["-100"]));
                assert_eq!(s.projected_completion_date, Some(day("2026-05-05")));
                assert_eq!(s.note, None);
            }
        }
    }

    #[test]
    fn no_projection_without_a_positive_pace() {
        for contributions in [&[][..], &["0"][..], &["-50", "20", "10"][..]] {
            for goal in [
                saving("1000", None, None),
                saving("1000", None, Some("5")),
                debt("1000", None, Some("18")),
            ] {
                let s = summarize(&goal, &observe("500", "2026-05-05", contributions));
                assert_eq!(s.projected_completion_date, None, "{contributions:?}");
                assert_eq!(s.note, None, "{contributions:?}");
            }
        }
    }

    #[test]
    fn projections_beyond_a_hundred_years_are_withheld_with_a_note() {
        let at_the_cap = summarize(&saving("1200", None, None), &observe("0", "2026-01-01", &["1"]));
        assert_eq!(at_the_cap.projected_completion_date, Some(day("2126-01-01")));
        assert_eq!(at_the_cap.note, None);
        for goal in [saving("1200.01", None, None), saving("1200.01", None, Some("0"))] {
            let s = summarize(&goal, &observe("0", "2026-01-01", &["1"]));
            assert_eq!(s.projected_completion_date, None);
            assert_eq!(s.note.as_deref(), Some("more than 100 years away at this pace"));
        }
        // 6 % APR on 10,000 is 50.00 a month: 50.01 pays it off, in about 1,500 years.
        let s = summarize(&debt("10000", None, Some("6")), &observe("0", "2026-01-01", &["50.01"]));
        assert_eq!(s.projected_completion_date, None);
        assert_eq!(s.note.as_deref(), Some("more than 100 years away at this pace"));
    }

    #[test]
    fn projected_final_value_extends_the_pace_to_the_target_date() {
        for (goal, current, contributions, expected) in [
            (
                saving("27000", Some("2027-01-31"), None),
                "5000",
                &["1000"][..],
                "17000.00",
            ),
            (saving("27000", Some("2027-01-31"), None), "5000", &[][..], "5000.00"),
            (
                saving("27000", Some("2027-01-31"), None),
                "5000",
                &["-100"][..],
                "3800.00",
            ),
            (saving("100", Some("2027-01-31"), None), "0", &["33.333"][..], "399.96"), // pace 33.33
            // Without an APR a debt's payments simply add up (the spec's c + pace × months_left) ...
            (debt("10000", Some("2027-01-31"), None), "2000", &["500"][..], "8000.00"),
            // ... but never to more than the debt itself.
            (
                debt("10000", Some("2027-01-31"), None),
                "2000",
                &["1000"][..],
                "10000.00",
            ),
        ] {
            let s = summarize(&goal, &observe(current, "2026-01-31", contributions));
            assert_eq!(s.months_left, Some(12));
            assert_eq!(
                s.projected_final_value,
                Some(dec(expected)),
                "{current} with {contributions:?}"
            );
        }
    }

    #[test]
    fn amortizing_payment_matches_the_standard_pmt_formula_to_the_cent() {
        // python3: B·i / (1 − (1+i)^−n), i = APR / 1200, rounded half up.
        for (balance, apr, months, payment) in [
            ("10000", "6", 36, "304.22"),   // 304.2193745…
            ("5000", "18", 24, "249.62"),   // 249.6205098…
            ("25000", "4.5", 60, "466.08"), // 466.0754810…
            ("3000", "7", 12, "259.58"),    // 259.5802382…
            ("2000", "12", 1, "2020.00"),
            ("1000", "0", 10, "100.00"),
            ("1000", "6", 0, "1000.00"),
            ("0", "6", 36, "0"),
            ("-50", "6", 36, "0"),
        ] {
            let i = dec(apr) / Decimal::from(1200);
            assert_eq!(
                amortizing_payment(dec(balance), i, months),
                dec(payment),
                "{balance} at {apr} % over {months}"
            );
        }
    }

    #[test]
    fn amortizing_payment_never_panics_on_extreme_rates_or_balances() {
        assert_eq!(amortizing_payment(Decimal::MAX, dec("0.5"), 1), Decimal::MAX);
        assert_eq!(amortizing_payment(dec("1000"), Decimal::MAX, 12), Decimal::MAX);
        // A rate of −100 % a month or below cannot compound: treated as zero.
        assert_eq!(amortizing_payment(dec("1200"), dec("-1"), 12), dec("100.00"));
        assert_eq!(amortizing_payment(dec("1200"), dec("-7"), 12), dec("100.00"));
        // A very long term tends to the interest alone.
        assert_eq!(amortizing_payment(dec("10000"), dec("0.005"), u32::MAX), dec("50.00"));
        // A negative rate shrinks the balance by itself.
        assert!(amortizing_payment(dec("1200"), dec("-0.01"), 12) < dec("100"));
    }

    #[test]
    fn months_to_amortize_matches_the_standard_nper_formula_rounded_up() {
        // python3: −ln(1 − B·i/p) / ln(1+i)
        for (balance, apr, payment, months) in [
            ("10000", "6", "304.22", 36), // 35.99992
            ("10000", "6", "304.21", 37), // 36.00122
            ("5000", "18", "249.62", 25), // 24.00006
            ("5000", "18", "249.63", 24),
            ("5000", "18", "200", 32),      // 31.568
            ("25000", "4.5", "466.08", 60), // 59.99935
            ("10000", "6", "100", 139),     // 138.976
            ("100", "6", "100.50", 1),      // exactly 1, where f64 logs give 1.0000000000000167
            ("1000", "0", "100", 10),
            ("1000", "0", "99.99", 11),
            ("0", "6", "0", 0),
            ("-5", "6", "1", 0),
        ] {
            let i = dec(apr) / Decimal::from(1200);
            assert_eq!(
                months_to_amortize(dec(balance), i, dec(payment)),
                Some(months),
                "{balance} at {apr} % paying {payment}"
            );
        }
    }

    #[test]
    fn months_to_amortize_is_none_when_the_payment_does_not_exceed_the_interest() {
        let i = dec("0.005");
        assert_eq!(months_to_amortize(dec("10000"), i, dec("50")), None);
        assert_eq!(months_to_amortize(dec("10000"), i, dec("49.99")), None);
        assert_eq!(months_to_amortize(dec("10000"), i, Decimal::ZERO), None);
        assert_eq!(months_to_amortize(dec("10000"), i, dec("-100")), None);
        assert_eq!(months_to_amortize(dec("10000"), Decimal::ZERO, Decimal::ZERO), None);
        assert!(months_to_amortize(dec("10000"), i, dec("50.01")).is_some());
        assert_eq!(months_to_amortize(Decimal::MAX, Decimal::MAX, Decimal::MAX), None);
        assert_eq!(months_to_amortize(Decimal::MAX, dec("0.01"), dec("0.01")), None);
    }

    #[test]
    fn debt_with_an_apr_requires_the_amortizing_payment() {
        for (original, paid, apr, deadline, months, required) in [
            ("10000", "0", "6", "2029-01-01", 36, "304.22"),
            ("5000", "0", "18", "2028-01-01", 24, "249.62"),
            ("25000", "0", "4.5", "2031-01-01", 60, "466.08"),
            ("12000", "2000", "6", "2029-01-01", 36, "304.22"), // the remaining 10,000
            ("12000", "2000", "0", "2029-01-01", 36, "277.78"),
            ("12000", "2000", "-12", "2029-01-01", 36, "229.40"),
            ("12000", "12000", "6", "2029-01-01", 36, "0"),
        ] {
            let s = summarize(
                &debt(original, Some(deadline), Some(apr)),
                &observe(paid, "2026-01-01", &[]),
            );
            assert_eq!(s.months_left, Some(months));
            assert_eq!(
                s.required_monthly_contribution,
                dec(required),
                "{paid} of {original} at {apr} %"
            );
        }
    }

    #[test]
    fn debt_projection_uses_nper_on_the_remaining_balance() {
        for (original, paid, apr, payments, date) in [
            ("10000", "0", "6", &["304.22"][..], "2029-01-01"), // 36 months
            ("12000", "2000", "6", &["300", "304.22", "308.44"][..], "2029-01-01"), // pace 304.22
            ("5000", "0", "18", &["200"][..], "2028-09-01"),    // 32 months
            ("10000", "2000", "0", &["1000"][..], "2026-09-01"), // 8 months
        ] {
            let s = summarize(&debt(original, None, Some(apr)), &observe(paid, "2026-01-01", payments));
            assert_eq!(
                s.projected_completion_date,
                Some(day(date)),
                "{paid} of {original} at {apr} %"
            );
            assert_eq!(s.note, None);
        }
        let s = summarize(&debt("10000", None, None), &observe("2000", "2026-01-31", &["1000"]));
        assert_eq!(s.projected_completion_date, Some(day("2026-09-30")));
    }

    #[test]
    fn debt_payments_below_the_interest_never_finish_and_say_why() {
        for pace in ["50", "62.50"] {
            let s = summarize(
                &debt("5000", Some("2027-01-01"), Some("15")),
                &observe("0", "2026-01-01", &[pace]),
            );
            assert_eq!(s.projected_completion_date, None);
            let expected = format!(
                "at {:.2} a month the payments do not cover the monthly interest of 62.50",
                dec(pace)
            );
            assert_eq!(s.note, Some(expected));
        }
        let s = summarize(
            &debt("5000", Some("2027-01-01"), Some("15")),
            &observe("0", "2026-01-01", &["50"]),
        );
        assert_eq!(
            s.note.as_deref(),
            Some("at 50.00 a month the payments do not cover the monthly interest of 62.50")
        );
        // The balance grows: what has been paid down by the deadline falls below zero.
        assert_eq!(s.projected_final_value, Some(dec("-160.75")));
    }

    #[test]
    fn debt_final_value_is_what_is_paid_down_by_the_target_date() {
        // python3: V − max(B(1+i)^n − p((1+i)^n − 1)/i, 0)
        for (original, paid, apr, pace, deadline, expected) in [
            ("10000", "2000", "6", "300", "2027-01-01", "5207.25"),
            ("10000", "2000", "6", "300", "2029-01-01", "10000"), // paid off after 29 months
            ("5000", "0", "18", "100", "2027-01-01", "326.03"),
            ("10000", "2000", "0", "1000", "2027-01-01", "10000"), // an APR of 0 still stops at the balance
            ("10000", "2000", "0", "500", "2027-01-01", "8000.00"),
        ] {
            let s = summarize(
                &debt(original, Some(deadline), Some(apr)),
                &observe(paid, "2026-01-01", &[pace]),
            );
            assert_eq!(
                s.projected_final_value,
                Some(dec(expected)),
                "{paid} of {original} at {apr} % paying {pace}"
            );
        }
    }

    #[test]
    fn savings_with_an_expected_return_need_less_each_month() {
        // python3: p = (V − c(1+i)^n)·i / ((1+i)^n − 1), i = rate / 1200
        for (current, target, rate, deadline, required) in [
            ("5000", "27000", "5", "2028-01-01", "852.67"),
            ("0", "27000", "5", "2028-01-01", "1072.03"),
            ("0", "100000", "7", "2036-01-01", "577.75"),
            ("20000", "27000", "6", "2028-01-01", "175.24"),
            ("26000", "27000", "12", "2028-01-01", "0"), // growth alone gets there: floored at 0
            ("0", "27000", "0", "2028-01-01", "1125.00"),
        ] {
            let s = summarize(
                &saving(target, Some(deadline), Some(rate)),
                &observe(current, "2026-01-01", &[]),
            );
            assert_eq!(
                s.required_monthly_contribution,
                dec(required),
                "{current} to {target} at {rate} %"
            );
            assert_eq!(s.note, None);
        }
    }

    #[test]
    fn savings_with_an_expected_return_project_completion_and_final_value() {
        // python3: the smallest n with c(1+i)^n + p((1+i)^n − 1)/i ≥ V, and that value at n = 24.
        for (current, pace, rate, date, final_value) in [
            ("5000", "800", "5", "2028-03-01", "25673.44"),    // 26 months
            ("0", "1000", "7", "2028-03-01", "25681.03"),      // 26 months
            ("5000", "843.12", "5", "2028-02-01", "26759.46"), // 25 months
        ] {
            let goal = saving("27000", Some("2028-01-01"), Some(rate));
            let s = summarize(&goal, &observe(current, "2026-01-01", &[pace]));
            assert_eq!(
                s.projected_completion_date,
                Some(day(date)),
                "{current} + {pace} at {rate} %"
            );
            assert_eq!(
                s.projected_final_value,
                Some(dec(final_value)),
                "{current} + {pace} at {rate} %"
            );
        }
    }

    #[test]
    fn a_negative_return_that_levels_off_below_the_target_never_projects() {
        // −12 % a year: 5.00 a month levels off at 500.
        let s = summarize(
            &saving("2000", Some("2027-01-01"), Some("-12")),
            &observe("1000", "2026-01-01", &["5"]),
        );
        assert_eq!(s.projected_completion_date, None);
        assert_eq!(s.note.as_deref(), Some("more than 100 years away at this pace"));
        // python3: 1000·0.99^12 + 5·(0.99^12 − 1)/−0.01, and (2000 − 1000·0.99^12)·i/(0.99^12 − 1)
        assert_eq!(s.projected_final_value, Some(dec("943.19")));
        assert_eq!(s.required_monthly_contribution, dec("98.02"));
    }

    #[test]
    fn an_unusable_annual_rate_is_left_out_with_a_note() {
        let s = summarize(
            &saving("27000", Some("2028-01-01"), Some("-1200")),
            &observe("0", "2026-01-01", &[]),
        );
        assert_eq!(s.required_monthly_contribution, dec("1125.00"));
        assert_eq!(
            s.note.as_deref(),
            Some("an annual rate of -1200 % cannot compound, so it was left out")
        );
        let s = summarize(
            &debt("27000", Some("2028-01-01"), Some("-5000")),
            &observe("0", "2026-01-01", &["27000"]),
        );
        assert_eq!(s.required_monthly_contribution, dec("1125.00"));
        assert_eq!(s.projected_completion_date, Some(day("2026-02-01")));
        assert!(s.note.is_some_and(|n| n.starts_with("an annual rate of -5000 %")));
    }

    #[test]
    fn on_track_allows_a_ten_percent_buffer_on_the_expected_share() {
        // Halfway through 10 days: expected 0.5, so 0.45 is on track and 0.44999 is not.
        // A third of the way through 3 days: expected 1/3, so exactly 0.3 is on track.
        for (deadline, as_of, current, on_track) in [
            ("2026-01-11", "2026-01-06", "450", true),
            ("2026-01-11", "2026-01-06", "449.99", false),
            ("2026-01-04", "2026-01-02", "300", true),
            ("2026-01-04", "2026-01-02", "299.99", false),
            ("2026-01-04", "2025-12-01", "0", true), // before the start nothing is expected
            ("2026-01-04", "2026-03-01", "900", true), // after the deadline all of it is
            ("2026-01-04", "2026-03-01", "899.99", false),
        ] {
            let s = summarize(&saving("1000", Some(deadline), None), &observe(current, as_of, &[]));
            assert_eq!(s.on_track, on_track, "{current} as of {as_of}, due {deadline}");
        }
        let s = summarize(
            &debt("1000", Some("2026-01-04"), Some("6")),
            &observe("300", "2026-01-02", &[]),
        );
        assert!(s.on_track);
    }

    #[test]
    fn on_track_treats_a_target_date_before_the_start_as_fully_expected() {
        for (current, on_track) in [("900", true), ("899.99", false), ("1200", true)] {
            let goal = terms(Measure::Accumulate, "1000", "2026-06-01", Some("2026-01-01"), None);
            let s = summarize(&goal, &observe(current, "2026-03-01", &[]));
            assert_eq!(s.on_track, on_track, "{current}");
        }
        let goal = terms(Measure::Accumulate, "1000", "2026-06-01", Some("2026-06-01"), None);
        assert!(!summarize(&goal, &observe("0", "2026-06-01", &[])).on_track);
    }

    #[test]
    fn without_a_target_date_an_accumulating_goal_is_always_on_track() {
        for current in ["0", "-500", "1"] {
            assert!(summarize(&saving("1000", None, None), &observe(current, "2030-01-01", &[])).on_track);
        }
    }

    #[test]
    fn savings_rate_is_judged_per_period() {
        let rate = |income: &str, surplus: &str| Measure::SavingsRate {
            income: dec(income),
            surplus: dec(surplus),
        };
        for (current, progress, on_track, required, done) in [
            ("18.5", 0.925, true, "75.00", false),
            ("18", 0.9, true, "75.00", false),
            ("17.99", 0.8995, false, "75.00", false),
            ("20", 1.0, true, "75.00", true),
            ("25", 1.25, true, "75.00", true),
            ("-3", -0.15, false, "75.00", false),
        ] {
            for deadline in [None, Some("2026-12-31")] {
                let goal = terms(rate("5000", "925"), "20", "2026-01-01", deadline, Some("6"));
                let s = summarize(&goal, &observe(current, "2026-03-31", &["10"]));
                assert_eq!(s.progress, progress, "{current} %");
                assert_eq!(s.on_track, on_track, "{current} %");
                assert_eq!(s.required_monthly_contribution, dec(required), "{current} %");
                assert_eq!(
                    s.projected_completion_date,
                    done.then(|| day("2026-03-31")),
                    "{current} %"
                );
                assert_eq!(s.projected_final_value, None);
                assert_eq!(s.current_monthly_pace, dec("10.00"));
                assert_eq!(s.note, None);
            }
        }
        for (income, surplus, required) in [
            ("5000", "1000", "0"),
            ("5000", "1200", "0"),
            ("4000.10", "0", "800.02"),
            ("0", "-200", "200.00"),
        ] {
            let goal = terms(rate(income, surplus), "20", "2026-01-01", None, None);
            let s = summarize(&goal, &observe("0", "2026-03-31", &[]));
            assert_eq!(s.required_monthly_contribution, dec(required), "{income} {surplus}");
        }
    }

    #[test]
    fn savings_rate_with_zero_income_never_divides_by_zero() {
        let goal = terms(
            Measure::SavingsRate {
                income: Decimal::ZERO,
                surplus: Decimal::ZERO,
            },
            "20",
            "2026-01-01",
            None,
            None,
        );
        let s = summarize(&goal, &observe("0", "2026-03-31", &[]));
        assert_eq!(s.progress, 0.0);
        assert!(!s.on_track);
        assert_eq!(s.required_monthly_contribution, Decimal::ZERO);
        let goal = terms(
            Measure::SavingsRate {
                income: Decimal::ZERO,
                surplus: Decimal::ZERO,
            },
            "0",
            "2026-01-01",
            None,
            None,
        );
        let s = summarize(&goal, &observe("0", "2026-03-31", &[]));
        assert_eq!(s.progress, 1.0);
        assert!(s.on_track);
    }

    #[test]
    fn expense_reduction_measures_the_cut_from_the_baseline() {
        for (baseline, spending, progress, on_track, required, done) in [
            ("1000", "1000", 0.0, false, "200.00", false),
            ("1000", "900", 0.5, false, "100.00", false),
            ("1000", "820", 0.9, true, "20.00", false),
            ("1000", "820.01", 0.89995, false, "20.01", false),
            ("1000", "800", 1.0, true, "0", true),
            ("1000", "700", 1.5, true, "0", true),
            ("1000", "1100", -0.5, false, "300.00", false),
            // A baseline at or below the ceiling: all or nothing.
            ("700", "750", 1.0, true, "0", true),
            ("800", "800", 1.0, true, "0", true),
            ("700", "850", 0.0, false, "50.00", false),
        ] {
            let measure = Measure::ExpenseReduction {
                baseline: dec(baseline),
            };
            let goal = terms(measure, "800", "2026-01-01", Some("2026-12-31"), None);
            let s = summarize(&goal, &observe(spending, "2026-04-30", &["50", "60"]));
            assert_eq!(s.progress, progress, "{spending} from {baseline}");
            assert_eq!(s.on_track, on_track, "{spending} from {baseline}");
            assert_eq!(
                s.required_monthly_contribution,
                dec(required),
                "{spending} from {baseline}"
            );
            assert_eq!(
                s.projected_completion_date,
                done.then(|| day("2026-04-30")),
                "{spending} from {baseline}"
            );
            assert_eq!(s.projected_final_value, None);
            assert_eq!(s.current_monthly_pace, dec("55.00"));
        }
    }

    #[test]
    fn huge_values_degrade_to_missing_projections_instead_of_panicking() {
        let extremes = [
            Decimal::MAX,
            Decimal::MIN,
            Decimal::ZERO,
            dec("0.0000000000000000000000000001"),
        ];
        for measure in [
            Measure::Accumulate,
            Measure::Debt,
            Measure::SavingsRate {
                income: Decimal::MAX,
                surplus: Decimal::MIN,
            },
            Measure::ExpenseReduction { baseline: Decimal::MAX },
            Measure::ExpenseReduction { baseline: Decimal::MIN },
        ] {
            let triples = extremes.iter().flat_map(|v| extremes.iter().map(move |c| (*v, *c)));
            let triples: Vec<_> = triples
                .flat_map(|(v, c)| extremes.iter().map(move |r| (v, c, *r)))
                .collect();
            for (target, current, rate) in triples {
                for (as_of, deadline) in [
                    (NaiveDate::MIN, Some(NaiveDate::MAX)),
                    (NaiveDate::MAX, Some(NaiveDate::MIN)),
                    (day("2026-01-01"), Some(day("2028-01-01"))),
                    (NaiveDate::MAX, None),
                ] {
                    let goal = GoalTerms {
                        measure: measure.clone(),
                        target,
                        start: NaiveDate::MIN,
                        target_date: deadline,
                        annual_rate: Some(rate),
                    };
                    let obs = Observation {
                        current,
                        as_of,
                        recent_contributions: vec![Decimal::MAX, rate, Decimal::MAX],
                    };
                    let s = summarize(&goal, &obs);
                    assert!(s.progress.is_finite());
                    assert!(s.required_monthly_contribution >= Decimal::ZERO);
                }
            }
        }
        let s = summarize(
            &saving("79228162514264337593543950335", None, None),
            &observe("0", "2026-01-01", &["0.01"]),
        );
        assert_eq!(s.projected_completion_date, None);
        assert_eq!(s.note.as_deref(), Some("more than 100 years away at this pace"));
        let s = summarize(
            &saving("1000", Some("2026-02-01"), None),
            &observe("500", "+262142-12-01", &["1"]),
        );
        assert_eq!(s.projected_completion_date, None);
        assert_eq!(
            s.note.as_deref(),
            Some("the projected date is beyond the supported calendar")
        );
    }

    fn money() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            6 => (-10_000_000_000i64..10_000_000_000).prop_map(|cents| Decimal::new(cents, 2)),
            1 => Just(Decimal::ZERO),
            1 => any::<i64>().prop_map(|cents| Decimal::new(cents, 2)),
            1 => (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
            1 => prop_oneof![Just(Decimal::MAX), Just(Decimal::MIN)],
        ]
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        let (min, max) = (NaiveDate::MIN.num_days_from_ce(), NaiveDate::MAX.num_days_from_ce());
        prop_oneof![
            6 => (730_000i32..750_000).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
            1 => (min..=max).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
            1 => prop_oneof![Just(NaiveDate::MIN), Just(NaiveDate::MAX)],
        ]
    }

    fn annual_rate() -> impl Strategy<Value = Option<Decimal>> {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(Decimal::ZERO)),
            4 => (-2_000i64..5_000).prop_map(|bp| Some(Decimal::new(bp, 2))),
            1 => money().prop_map(Some),
        ]
    }

    fn measure() -> impl Strategy<Value = Measure> {
        prop_oneof![
            Just(Measure::Accumulate),
            Just(Measure::Debt),
            (money(), money()).prop_map(|(income, surplus)| Measure::SavingsRate { income, surplus }),
            money().prop_map(|baseline| Measure::ExpenseReduction { baseline }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn summarize_never_panics_and_reports_finite_progress(
            measure in measure(),
            target in money(),
            start in date(),
            target_date in proptest::option::of(date()),
            annual_rate in annual_rate(),
            current in money(),
            as_of in date(),
            recent_contributions in proptest::collection::vec(money(), 0..5),
        ) {
            let goal = GoalTerms { measure, target, start, target_date, annual_rate };
            let obs = Observation { current, as_of, recent_contributions };
            let s = summarize(&goal, &obs);
            prop_assert!(s.progress.is_finite());
            prop_assert!(s.required_monthly_contribution >= Decimal::ZERO);
            prop_assert!(s.required_monthly_contribution.scale() <= 2);
            prop_assert!(s.current_monthly_pace.scale() <= 2);
            prop_assert!(s.projected_final_value.is_none_or(|v| v.scale() <= 2));
            prop_assert_eq!(s.current_value, current);
            prop_assert_eq!(s.months_left.is_some(), target_date.is_some());
            prop_assert!(s.projected_completion_date.is_none_or(|date| date >= as_of));
        }

        #[test]
        fn spreading_the_remainder_covers_it_within_rounding(
            target in (-100_000_000i64..10_000_000_000).prop_map(|cents| Decimal::new(cents, 2)),
            current in (-100_000_000i64..10_000_000_000).prop_map(|cents| Decimal::new(cents, 2)),
            as_of in 730_000i32..750_000,
            ahead in 0i32..40_000,
        ) {
            let as_of = NaiveDate::from_num_days_from_ce_opt(as_of).unwrap();
            let deadline = NaiveDate::from_num_days_from_ce_opt(as_of.num_days_from_ce() + ahead).unwrap();
            let goal = GoalTerms { measure: Measure::Accumulate, target, start: as_of, target_date: Some(deadline), annual_rate: None };
            let s = summarize(&goal, &Observation { current, as_of, recent_contributions: vec![] });
            let months = s.months_left.unwrap();
            let remaining = (target - current).max(Decimal::ZERO);
            let n = Decimal::from(months.max(1));
            prop_assert!(s.required_monthly_contribution * n >= remaining - n * dec("0.005"));
            if months == 0 {
                prop_assert_eq!(s.required_monthly_contribution, remaining);
            }
        }

        #[test]
        fn progress_never_falls_as_the_current_value_rises(
            debt in any::<bool>(),
            target in money(),
            a in money(),
            b in money(),
        ) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let measure = if debt { Measure::Debt } else { Measure::Accumulate };
            let goal = GoalTerms { measure, target, start: day("2026-01-01"), target_date: Some(day("2028-01-01")), annual_rate: None };
            let at = |current| summarize(&goal, &Observation { current, as_of: day("2027-01-01"), recent_contributions: vec![] });
            let (low, high) = (at(low), at(high));
            prop_assert!(low.progress <= high.progress, "{} then {}", low.progress, high.progress);
            prop_assert!(!low.on_track || high.on_track);
        }

        #[test]
        fn a_level_payment_pays_off_the_balance_in_about_its_term(
            balance in (1_000_000i64..10_000_000_000).prop_map(|cents| Decimal::new(cents, 2)),
            apr in (0i64..3_000).prop_map(|bp| Decimal::new(bp, 2)),
            months in 1u32..=360,
        ) {
            let i = apr / Decimal::from(1200);
            let payment = amortizing_payment(balance, i, months);
            let needed = months_to_amortize(balance, i, payment);
            prop_assert!(needed == Some(months) || needed == Some(months + 1), "{:?} for {}", needed, months);
        }
    }
}
