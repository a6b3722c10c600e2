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
pub fn summarize(terms: &GoalTerms, obs: &Observation) -> Summary {
    let mut notes = Vec::new();
    let (current, target, today) = (obs.current, terms.target, obs.as_of);
    let months_left = terms.target_date.map(|deadline| months_until(today, deadline));
    let pace = cents(mean_pace(&obs.recent_contributions));
    let progress = progress_ratio(&terms.measure, current, target);

    let expected = if terms.measure.is_recurring() {
        Some(Share::WHOLE)
    } else {
        terms
            .target_date
            .map(|deadline| Share::expected(terms.start, today, deadline))
    };
    let on_track = expected.is_none_or(|share| progress.at_least_nine_tenths_of(share));

    let goal = Goal {
        current,
        target,
        today,
        months_left,
        pace,
    };
    let plan = match &terms.measure {
        Measure::Accumulate => goal.accumulate(monthly_rate(terms.annual_rate, &mut notes), &mut notes),
        Measure::Debt => goal.pay_down(monthly_rate(terms.annual_rate, &mut notes), &mut notes),
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

/// The figures the money-side rules of the accumulating measures share.
struct Goal {
    current: Decimal,
    target: Decimal,
    today: NaiveDate,
    months_left: Option<u32>,
    pace: Decimal,
}

impl Goal {
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
        let final_value = self.months_left.and_then(|n| {
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
        let final_value = self.months_left.and_then(|n| {
            let value = match rate {
                // Without an APR the payments simply add up (the spec's c + pace × months_left).
                None => future_value(self.current, self.pace, Decimal::ZERO, n),
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
            Ratio::Exact { num, den } => match num.checked_div(den) {
                Some(quotient) => decimal_to_f64(quotient),
                None => decimal_to_f64(num) / decimal_to_f64(den),
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
        let g = checked_pow(Decimal::ONE.checked_div(growth)?, n)?;
        let den = Decimal::ONE.checked_sub(g)?;
        if den <= Decimal::ZERO {
            even
        } else {
            i.checked_mul(g)?.checked_div(den)?
        }
    } else {
        // i / (f − 1) = −i / (1 − f) with f = (1+i)ⁿ ∈ (0, 1)
        let f = checked_pow(growth, n)?;
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
    let f = checked_pow(Decimal::ONE.checked_add(i)?, n)?;
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
    let reached = |n: u32| match checked_pow(growth, n).and_then(|f| f.checked_mul(k)) {
        Some(value) if i > Decimal::ZERO => value >= bar,
        Some(value) => value <= bar,
        // Only a growing power overflows, and then it has passed any goal.
        None => i > Decimal::ZERO,
    };
    // Double until reached, then bisect: (not_yet, hit] always brackets the answer.
    let (mut not_yet, mut hit) = (0u32, 1u32);
    while !reached(hit) {
        if hit == u32::MAX {
            return None;
        }
        not_yet = hit;
        hit = hit.saturating_mul(2);
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

/// The nearest `f64` (via the decimal text, which is correctly rounded and so keeps order).
fn decimal_to_f64(value: Decimal) -> f64 {
    value
        .to_string()
        .parse::<f64>()
        .unwrap_or_else(|_| value.to_f64().unwrap_or(0.0))
}
