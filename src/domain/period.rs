//! A calendar month, `YYYY-MM`: the unit every snapshot and progress entry is for.

use chrono::{Datelike, Months, NaiveDate};
use std::fmt;
use std::str::FromStr;

/// A calendar month between 1900-01 and 9999-12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a month as YYYY-MM, like 2025-01")]
pub struct PeriodError;

impl Period {
    /// The earliest month goalkeeper knows.
    pub const MIN: Period = Period { year: 1900, month: 1 };

    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1900..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Period {
            // Both bounded just above, so the narrowing casts cannot truncate.
            year: year as u16,
            month: month as u8,
        })
    }

    pub fn of_date(date: NaiveDate) -> Option<Self> {
        Self::new(date.year(), date.month())
    }

    pub fn year(self) -> i32 {
        i32::from(self.year)
    }

    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    pub fn first_day(self) -> NaiveDate {
        // A Period is always a valid year and month, so day 1 always exists.
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        self.first_day()
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The month `n` calendar months later (or earlier, for negative `n`).
    pub fn add_months(self, n: i32) -> Option<Self> {
        let index = self.year() * 12 + self.month() as i32 - 1 + n;
        Self::new(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(PeriodError);
        }
        let year: i32 = s[..4].parse().map_err(|_| PeriodError)?;
        let month: u32 = s[5..].parse().map_err(|_| PeriodError)?;
        Period::new(year, month).ok_or(PeriodError)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_months_parse_and_print_back() {
        for text in ["1900-01", "2025-02", "2026-12", "9999-12"] {
            assert_eq!(text.parse::<Period>().map(|p| p.to_string()), Ok(text.to_string()));
        }
    }

    #[test]
    fn malformed_months_are_rejected() {
        for text in [
            "",
            "2025-1",
            "2025/01",
            "2025-13",
            "2025-00",
            "25-01",
            "2025-01-01",
            "1899-12",
            "２０２５-01",
            "+025-01",
        ] {
            assert_eq!(text.parse::<Period>(), Err(PeriodError), "{text}");
        }
    }

    #[test]
    fn first_and_last_days_follow_the_calendar() {
        let feb_leap: Period = "2024-02".parse().unwrap();
        assert_eq!(feb_leap.last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        let feb: Period = "2025-02".parse().unwrap();
        assert_eq!(feb.last_day(), NaiveDate::from_ymd_opt(2025, 2, 28).unwrap());
        let dec: Period = "2025-12".parse().unwrap();
        assert_eq!(dec.first_day(), NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
        assert_eq!(dec.last_day(), NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
    }

    #[test]
    fn adding_months_crosses_year_boundaries() {
        let p: Period = "2025-11".parse().unwrap();
        assert_eq!(p.add_months(2).unwrap().to_string(), "2026-01");
        assert_eq!(p.add_months(-11).unwrap().to_string(), "2024-12");
        assert_eq!("9999-12".parse::<Period>().unwrap().add_months(1), None);
    }
}
