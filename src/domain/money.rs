//! Exact money: a count of cents in an `i64`. Never a float.

use std::fmt;
use std::str::FromStr;

/// The largest amount accepted from input: 15 integer digits. Sums of many
/// such amounts still use checked arithmetic.
const MAX_INTEGER_DIGITS: usize = 15;

/// An amount of money in minor units (cents). May be negative when it is the
/// result of arithmetic (a surplus, a net worth); amounts parsed from input
/// are never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a text is not a valid amount; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("expected an amount, like 1234.50")]
    Empty,
    #[error("expected an amount that is not negative (a debt is a positive balance of kind debt)")]
    Negative,
    #[error("expected a plain number without a currency sign, like 1234.50")]
    CurrencySign,
    #[error("expected a plain number without thousands separators, like 1234.50")]
    ThousandsSeparator,
    #[error("expected at most 2 digits after the decimal point")]
    TooManyDecimals,
    #[error("expected at most {MAX_INTEGER_DIGITS} digits before the decimal point")]
    TooLarge,
    #[error("expected a plain decimal number like 1234.50")]
    NotANumber,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// `amount` rounded to the cent, half away from zero (the one rounding
    /// mode of docs/money.md); saturates at the ends of an `i64`.
    pub fn from_decimal(amount: rust_decimal::Decimal) -> Money {
        use rust_decimal::prelude::ToPrimitive;
        let cents = amount
            .checked_mul(rust_decimal::Decimal::ONE_HUNDRED)
            .map(|c| c.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
            .and_then(|c| c.to_i64());
        Money(cents.unwrap_or(if amount.is_sign_negative() { i64::MIN } else { i64::MAX }))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `1234567.5` as `1,234,567.50`: for people, not for machines.
    pub fn grouped(self) -> String {
        use std::fmt::Write;
        let abs = self.0.unsigned_abs();
        let int = (abs / 100).to_string();
        let mut out = String::with_capacity(int.len() + int.len() / 3 + 5);
        if self.0 < 0 {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        // Writing to a String cannot fail.
        let _ = write!(out, ".{:02}", abs % 100);
        out
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Accepts exactly `DIGITS[.D[D]]`: no sign, no currency symbol, no
    /// grouping, no exponent. Anything else gets an error that says why.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        if looks_like_currency(s) {
            return Err(MoneyError::CurrencySign);
        }
        if s.contains(',') || s.contains('_') || s.contains(' ') || s.contains('\'') {
            return Err(MoneyError::ThousandsSeparator);
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(MoneyError::NotANumber);
        }
        let frac = frac.unwrap_or("");
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let int = int.trim_start_matches('0');
        if int.len() > MAX_INTEGER_DIGITS {
            return Err(MoneyError::TooLarge);
        }
        // Both parts are now at most 15 and 2 ASCII digits: the parse and the
        // arithmetic below cannot overflow an i64.
        let whole: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| MoneyError::NotANumber)?
        };
        let cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::NotANumber)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::NotANumber)?,
        };
        Ok(Money(whole * 100 + cents))
    }
}

/// A currency symbol anywhere, or a three-letter code (`USD 12`, `12EUR`)
/// around something numeric.
fn looks_like_currency(s: &str) -> bool {
    const SYMBOLS: &[char] = &['$', '€', '£', '¥', '₹', '¤', '₩', '₽', '₺', '¢', '₪', '₫'];
    if s.contains(SYMBOLS) {
        return true;
    }
    let numeric = |p: &str| {
        let p = p.trim();
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    };
    let is_code = |p: &str| p.len() == 3 && p.bytes().all(|b| b.is_ascii_uppercase());
    let (head, tail) = (s.get(..3), s.get(s.len().saturating_sub(3)..));
    head.is_some_and(|h| is_code(h) && numeric(&s[3..]))
        || tail.is_some_and(|t| is_code(t) && numeric(&s[..s.len() - 3]))
}

impl fmt::Display for Money {
    /// Plain decimal with two places: `-12.05`, `1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl serde::Serialize for Money {
    /// Money travels as a decimal string ("1125.00") so no consumer reads it as a float.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_to_exact_cents() {
        for (text, cents) in [
            ("0", 0),
            ("0.5", 50),
            ("12", 1200),
            ("12.3", 1230),
            ("12.34", 1234),
            ("007.10", 710),
            ("999999999999999.99", 99_999_999_999_999_999),
        ] {
            assert_eq!(text.parse::<Money>(), Ok(Money::from_cents(cents)), "{text}");
        }
    }

    #[test]
    fn malformed_amounts_are_rejected_with_the_reason() {
        for (text, err) in [
            ("", MoneyError::Empty),
            ("-1", MoneyError::Negative),
            ("$12", MoneyError::CurrencySign),
            ("12€", MoneyError::CurrencySign),
            ("USD 12", MoneyError::CurrencySign),
            ("1,234.50", MoneyError::ThousandsSeparator),
            ("1 234.50", MoneyError::ThousandsSeparator),
            ("1.234", MoneyError::TooManyDecimals),
            ("1e5", MoneyError::NotANumber),
            ("12.", MoneyError::NotANumber),
            (".5", MoneyError::NotANumber),
            ("+5", MoneyError::NotANumber),
            ("abc", MoneyError::NotANumber),
            ("1.2.3", MoneyError::NotANumber),
            ("1000000000000000", MoneyError::TooLarge),
        ] {
            assert_eq!(text.parse::<Money>(), Err(err.clone()), "{text}");
        }
    }

    #[test]
    fn decimals_round_to_the_cent_half_away_from_zero_and_saturate() {
        let m = |s: &str| Money::from_decimal(s.parse().unwrap()).cents();
        assert_eq!(m("333.333"), 33_333);
        assert_eq!(m("0.005"), 1);
        assert_eq!(m("0.015"), 2);
        assert_eq!(m("-0.005"), -1);
        assert_eq!(m("-2.675"), -268);
        assert_eq!(m("79228162514264337593543950335"), i64::MAX);
        assert_eq!(m("-92233720368547758.08"), i64::MIN);
        assert_eq!(m("-1e20"), i64::MIN);
    }

    #[test]
    fn display_always_shows_two_places() {
        assert_eq!(Money::from_cents(0).to_string(), "0.00");
        assert_eq!(Money::from_cents(5).to_string(), "0.05");
        assert_eq!(Money::from_cents(-1205).to_string(), "-12.05");
        assert_eq!(Money::from_cents(112500).to_string(), "1125.00");
    }

    #[test]
    fn grouped_display_uses_thousands_separators() {
        assert_eq!(Money::from_cents(0).grouped(), "0.00");
        assert_eq!(Money::from_cents(99_999).grouped(), "999.99");
        assert_eq!(Money::from_cents(100_000).grouped(), "1,000.00");
        assert_eq!(Money::from_cents(-123_456_789).grouped(), "-1,234,567.89");
    }

    proptest::proptest! {
        #[test]
        fn any_cent_amount_round_trips_through_its_text(cents in 0i64..99_999_999_999_999_999) {
            let m = Money::from_cents(cents);
            proptest::prop_assert_eq!(m.to_string().parse::<Money>(), Ok(m));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Money>();
        }
    }
}
