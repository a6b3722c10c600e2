//! Tracking periods for reminders: the month, quarter, ISO week or pair of ISO weeks that contains a
//! day, and the reminder's due day in it. Pure; the reminder rule that uses it is in [`super::alerts`].

use crate::domain::goal::TrackingFrequency;
use chrono::{Datelike, Days, Months, NaiveDate};

/// A tracking period (for reminders): its occurrence label, its days and the reminder's due day in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPeriod {
    /// `YYYY-MM`, `YYYY-Qn` or the ISO week `YYYY-Www`.
    pub label: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The reminder's due day, within the period.
    pub due: NaiveDate,
}

/// The tracking period containing `day` for `frequency`, with the reminder due on `reminder_day` (a day
/// of the month for monthly and quarterly, a weekday 1 = Monday … 7 = Sunday, wrapping, for weekly and
/// biweekly). None only at the very ends of the calendar.
pub fn tracking_period(frequency: TrackingFrequency, reminder_day: u8, day: NaiveDate) -> Option<TrackingPeriod> {
    match frequency {
        TrackingFrequency::Monthly => {
            let first = day.with_day(1)?;
            let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
            Some(TrackingPeriod {
                label: format!("{:04}-{:02}", first.year(), first.month()),
                first_day: first,
                last_day: last,
                due: day_of_month(first, reminder_day)?,
            })
        }
        TrackingFrequency::Quarterly => {
            let quarter = (day.month() - 1) / 3;
            let first = NaiveDate::from_ymd_opt(day.year(), quarter * 3 + 1, 1)?;
            let last = first.checked_add_months(Months::new(3))?.pred_opt()?;
            Some(TrackingPeriod {
                label: format!("{:04}-Q{}", first.year(), quarter + 1),
                first_day: first,
                last_day: last,
                due: day_of_month(first, reminder_day)?,
            })
        }
        TrackingFrequency::Weekly => {
            let monday = monday_of(day)?;
            Some(TrackingPeriod {
                label: iso_week_label(monday),
                first_day: monday,
                last_day: monday.checked_add_days(Days::new(6))?,
                due: monday.checked_add_days(Days::new(weekday_offset(reminder_day)))?,
            })
        }
        TrackingFrequency::Biweekly => {
            // Back to the even week that opens the period (at most two steps: week 1 after week 53).
            let mut first = monday_of(day)?;
            while first.iso_week().week() % 2 == 1 {
                first = first.checked_sub_days(Days::new(7))?;
            }
            let mut next = first.checked_add_days(Days::new(7))?;
            while next.iso_week().week() % 2 == 1 {
                next = next.checked_add_days(Days::new(7))?;
            }
            Some(TrackingPeriod {
                label: iso_week_label(first),
                first_day: first,
                last_day: next.pred_opt()?,
                due: first.checked_add_days(Days::new(weekday_offset(reminder_day)))?,
            })
        }
    }
}

/// Day `day` (at least 1, clamped to the month's length) of the month starting on `first`.
fn day_of_month(first: NaiveDate, day: u8) -> Option<NaiveDate> {
    let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
    let day = u32::from(day).clamp(1, last.day());
    first.with_day(day)
}

fn monday_of(day: NaiveDate) -> Option<NaiveDate> {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
}

/// Days after Monday of weekday `reminder_day` (1 = Monday … 7 = Sunday, wrapping modulo 7; 0 = Sunday).
fn weekday_offset(reminder_day: u8) -> u64 {
    (u64::from(reminder_day) + 6) % 7
}

fn iso_week_label(day: NaiveDate) -> String {
    let week = day.iso_week();
    format!("{:04}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn tracking_periods_span_their_frequency() {
        use TrackingFrequency::*;
        // (frequency, reminder day, day, label, first, last, due)
        let table = [
            (
                Monthly,
                15,
                "2026-02-10",
                "2026-02",
                "2026-02-01",
                "2026-02-28",
                "2026-02-15",
            ),
            (
                Monthly,
                31,
                "2024-02-10",
                "2024-02",
                "2024-02-01",
                "2024-02-29",
                "2024-02-29",
            ),
            (
                Monthly,
                0,
                "2026-12-31",
                "2026-12",
                "2026-12-01",
                "2026-12-31",
                "2026-12-01",
            ),
            (
                Quarterly,
                5,
                "2026-11-20",
                "2026-Q4",
                "2026-10-01",
                "2026-12-31",
                "2026-10-05",
            ),
            (
                Quarterly,
                28,
                "2026-01-01",
                "2026-Q1",
                "2026-01-01",
                "2026-03-31",
                "2026-01-28",
            ),
            (
                Weekly,
                3,
                "2026-03-08",
                "2026-W10",
                "2026-03-02",
                "2026-03-08",
                "2026-03-04",
            ),
            (
                Weekly,
                0,
                "2026-03-02",
                "2026-W10",
                "2026-03-02",
                "2026-03-08",
                "2026-03-08",
            ),
            (
                Biweekly,
                1,
                "2026-03-02",
                "2026-W10",
                "2026-03-02",
                "2026-03-15",
                "2026-03-02",
            ),
            (
                Biweekly,
                1,
                "2026-03-15",
                "2026-W10",
                "2026-03-02",
                "2026-03-15",
                "2026-03-02",
            ),
            (
                Biweekly,
                2,
                "2027-01-06",
                "2026-W52",
                "2026-12-21",
                "2027-01-10",
                "2026-12-22",
            ),
        ];
        for (frequency, reminder_day, today, label, first, last, due) in table {
            let tp = tracking_period(frequency, reminder_day, day(today)).unwrap();
            assert_eq!(
                tp,
                TrackingPeriod {
                    label: label.to_owned(),
                    first_day: day(first),
                    last_day: day(last),
                    due: day(due),
                },
                "{frequency} {reminder_day} {today}"
            );
        }
        assert!(tracking_period(Weekly, 1, NaiveDate::MIN).is_none());
    }
}
