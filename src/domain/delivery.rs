//! When an alert email may go (issue 4): quiet hours in the user's time zone, daily cap, minimum gap, digests and priorities. Pure.
//!
//! # The rules
//!
//! An email may go to a user at instant `t` (UTC) when all three hold:
//!
//! * **quiet hours**: the user's local wall-clock time at `t` is not inside their quiet hours
//!   (start inclusive, end exclusive; a window may wrap midnight; no window, or start == end, means none);
//! * **daily cap**: fewer than `max_per_day` emails were sent on `t`'s **local** calendar day;
//! * **minimum gap**: `t` is at least `min_gap_hours` after the last email sent (the latest in the history).
//!
//! [`next_send_time`] is the earliest such instant ≥ `now`. Nothing is ever dropped: the answer is
//! always a concrete instant. It is found by moving a candidate forward, each move skipping only
//! instants a rule forbids, until no rule objects: quiet hours → the end of the quiet window the local
//! time is in; daily cap → the next local midnight; gap → last sent + gap. Each landing spot is checked
//! again against all three rules (midnight is usually in quiet hours, so a capped email lands at the
//! next day's quiet-hours end).
//!
//! # Daylight-saving time
//!
//! A quiet-hours end or a midnight is a local date and time; turning it back into an instant is
//! deliberate when the zone changes its clocks that day:
//!
//! * **a local time that does not exist** (spring forward, e.g. 02:30 on 2026-03-08 in New York) resolves to
//!   the **first instant after the gap**: the transition itself, whose local time is the one just after it
//!   (03:00 EDT). That is also the first instant whose local time is past the quiet window.
//! * **a local time that exists twice** (fall back, e.g. 01:30 on 2026-11-01 in New York) resolves to the
//!   **earlier** of the two instants (01:30 EDT). One exception: an email held *during* the repeated hour
//!   (say at 01:10 EST, after 01:30 EDT has passed, with the wall clock back inside quiet hours) waits for the
//!   later instant (01:30 EST), the end of the window it is actually in; the answer is never before `now`.
//!
//! Quiet hours are always judged by the local wall-clock time, so in the repeated hour the same wall time is
//! quiet both times round.
//!
//! # Other choices
//!
//! * `max_per_day` must be at least 1; **0 is treated as 1**. "Never" would drop emails, which these rules
//!   never do, and "no cap" would be the opposite of what someone writing 0 wants.
//! * `min_gap_hours` 0 means no gap.
//! * When several rules hold an email, [`hold_reason`] names the first of: quiet hours (what the user asked
//!   for explicitly), the daily cap, the minimum gap.
//! * At the very edge of chrono's range (around the year 262,000) where an instant cannot be represented, the
//!   answer saturates at `DateTime::<Utc>::MAX_UTC` and rules whose local time cannot be represented do not
//!   hold.
//! * Several alerts due at once: see [`plan_emails`]. Each email then counts against the cap and the gap
//!   through the history; [`send_times`] plays that through.

use chrono::{DateTime, MappedLocalTime, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};
use std::fmt;

/// A daily quiet window in the user's local time: `start` inclusive, `end` exclusive, wrapping midnight when
/// `end` is earlier than `start`. `start == end` is an empty window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// `"22:00-08:00"` (24-hour `HH:MM-HH:MM`) or `"none"`. Equal start and end also mean none.
    pub fn parse(s: &str) -> Result<Option<QuietHours>, String> {
        let text = s.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let expected =
            || format!("expected quiet hours as HH:MM-HH:MM in 24-hour time, like 22:00-08:00, or \"none\"; got {s:?}");
        let (start, end) = text.split_once('-').ok_or_else(expected)?;
        let start = parse_hh_mm(start.trim()).ok_or_else(expected)?;
        let end = parse_hh_mm(end.trim()).ok_or_else(expected)?;
        Ok((start != end).then_some(QuietHours { start, end }))
    }

    /// Whether the local wall-clock time is inside the window (start inclusive, end exclusive).
    pub fn contains(&self, local: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= local && local < self.end
        } else {
            self.start <= local || local < self.end
        }
    }

    /// The local date and time at which the window containing `local` ends: the same day when `local` is
    /// before `end`, otherwise (a window wrapping midnight, `local` after `start`) the next day.
    /// `None` when the next day cannot be represented.
    fn end_of_window_containing(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let date = if local.time() < self.end {
            Some(local.date())
        } else {
            local.date().succ_opt()
        };
        date.map(|d| d.and_time(self.end))
    }
}

/// Exactly `HH:MM`, 00:00 to 23:59.
fn parse_hh_mm(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |i: usize| u32::from(b[i] - b'0');
    NaiveTime::from_hms_opt(digit(0) * 10 + digit(1), digit(3) * 10 + digit(4), 0)
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

/// One user's delivery preferences.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub timezone: Tz,
    pub quiet_hours: Option<QuietHours>,
    /// Emails per local calendar day; 0 is treated as 1.
    pub max_per_day: u32,
    /// Hours between two emails; 0 means no gap.
    pub min_gap_hours: u32,
}

impl Default for Rules {
    /// The seed 4.2 defaults: UTC, quiet 22:00-08:00, 5 a day, 4 hours apart.
    fn default() -> Self {
        Rules {
            timezone: Tz::UTC,
            quiet_hours: Some(QuietHours {
                // Both literal times are valid; the fallbacks only satisfy the type.
                start: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN),
                end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            }),
            max_per_day: 5,
            min_gap_hours: 4,
        }
    }
}

impl Rules {
    fn daily_cap(&self) -> usize {
        // 0 is treated as 1 (see the module doc); u32 always fits in usize on supported targets.
        usize::try_from(self.max_per_day.max(1)).unwrap_or(usize::MAX)
    }
}

/// What has been sent to the user already.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Emails sent, any order.
    pub sent_at: &'a [DateTime<Utc>],
}

/// Why an email waits (for logs and `alerts list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    QuietHours,
    DailyCap,
    MinimumGap,
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hold::QuietHours => "quiet hours",
            Hold::DailyCap => "daily cap",
            Hold::MinimumGap => "minimum gap",
        })
    }
}

/// The earliest instant ≥ `now` at which one email may go to this user.
pub fn next_send_time(rules: &Rules, history: &History<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    // Every move skips only forbidden instants and goes strictly forward. The gap moves at most once, the
    // cap at most once per local day with sent emails (twice if a fall back repeats midnight), and quiet hours
    // once after each of those (twice after a spring forward), so this bound is never reached.
    let bound = history.sent_at.len().saturating_mul(4).saturating_add(16);
    let mut candidate = now;
    for _ in 0..bound {
        match first_hold(rules, history, candidate) {
            None => return candidate,
            Some((_, next)) if next > candidate => candidate = next,
            // No progress: only at the edge of chrono's range (saturated) or with impossible zone data.
            Some(_) => break,
        }
    }
    candidate
}

/// Why an email due at `now` waits; `None` = it may go now (exactly when `next_send_time` is `now`).
pub fn hold_reason(rules: &Rules, history: &History<'_>, now: DateTime<Utc>) -> Option<Hold> {
    first_hold(rules, history, now).map(|(hold, _)| hold)
}

/// The instants at which `emails` emails, sent one after another from `now`, go: each is sent at its time and
/// then counts against the cap and the gap for the next.
pub fn send_times(rules: &Rules, history: &History<'_>, now: DateTime<Utc>, emails: usize) -> Vec<DateTime<Utc>> {
    let mut sent = history.sent_at.to_vec();
    let mut times = Vec::with_capacity(emails);
    let mut at = now;
    for _ in 0..emails {
        at = next_send_time(rules, &History { sent_at: &sent }, at);
        sent.push(at);
        times.push(at);
    }
    times
}

/// The first rule (quiet hours, daily cap, minimum gap) holding an email at `t`, and the instant that rule
/// lets it go (the other rules are not consulted for that instant).
fn first_hold(rules: &Rules, history: &History<'_>, t: DateTime<Utc>) -> Option<(Hold, DateTime<Utc>)> {
    let tz = rules.timezone;
    // Not representable only at the edge of chrono's range: local rules then do not hold (module doc).
    let local = local_time(tz, t);

    if let (Some(quiet), Some(local)) = (rules.quiet_hours, local) {
        if quiet.contains(local.time()) {
            let end = quiet.end_of_window_containing(local);
            return Some((
                Hold::QuietHours,
                end.map_or(DateTime::<Utc>::MAX_UTC, |end| resolve_local(tz, end, t)),
            ));
        }
    }

    if let Some(local) = local {
        let day = local.date();
        let sent_that_day = history
            .sent_at
            .iter()
            .filter(|&&sent| local_time(tz, sent).is_some_and(|l| l.date() == day))
            .count();
        if sent_that_day >= rules.daily_cap() {
            let midnight = day.succ_opt().map(|next| next.and_time(NaiveTime::MIN));
            return Some((
                Hold::DailyCap,
                midnight.map_or(DateTime::<Utc>::MAX_UTC, |m| resolve_local(tz, m, t)),
            ));
        }
    }

    let last = history.sent_at.iter().max()?;
    let gap = TimeDelta::try_hours(i64::from(rules.min_gap_hours)).unwrap_or(TimeDelta::MAX);
    let ready = last.checked_add_signed(gap).unwrap_or(DateTime::<Utc>::MAX_UTC);
    (t < ready).then_some((Hold::MinimumGap, ready))
}

/// The user's wall-clock time at `t`; `None` only at the edge of chrono's range.
fn local_time(tz: Tz, t: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc().checked_add_offset(offset)
}

/// The instant of a local date and time, the first one after `after` (see the module doc):
/// once → that instant; twice (fall back) → the earlier, or the later when the earlier is not after `after`;
/// never (spring forward) → the first instant after the gap.
fn resolve_local(tz: Tz, local: NaiveDateTime, after: DateTime<Utc>) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(at) => at.to_utc(),
        MappedLocalTime::Ambiguous(a, b) => {
            let (earlier, later) = if a <= b {
                (a.to_utc(), b.to_utc())
            } else {
                (b.to_utc(), a.to_utc())
            };
            if earlier > after { earlier } else { later }
        }
        MappedLocalTime::None => match GapInfo::new(&local, &tz).and_then(|gap| gap.end) {
            Some(first_after_gap) => first_after_gap.to_utc(),
            // No gap information: only at the ends of the zone's table or of chrono's range. Subtract the offset
            // in force at the instant with the same digits in UTC: off by at most the size of the jump.
            None => {
                let offset = tz.offset_from_utc_datetime(&local).fix();
                local
                    .checked_sub_offset(offset)
                    .map_or(DateTime::<Utc>::MAX_UTC, |utc| utc.and_utc())
            }
        },
    }
}

/// One alert due for a user. `priority`: lower is more urgent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<K> {
    pub key: K,
    pub priority: u8,
    pub created_at: DateTime<Utc>,
}

/// Groups what is due for one user into emails: one digest with everything (digest on), or one email per alert
/// in priority then age order (digest off). Both orders are most urgent first, then oldest first; ties keep
/// their input order. Nothing due → no emails. Each email returned counts once against the cap and the gap:
/// send the first at [`next_send_time`], record it, and ask again for the next (or see [`send_times`]).
pub fn plan_emails<K: Clone>(due: &[Due<K>], digest: bool) -> Vec<Vec<K>> {
    let mut ordered: Vec<&Due<K>> = due.iter().collect();
    ordered.sort_by_key(|d| (d.priority, d.created_at));
    let keys = ordered.into_iter().map(|d| d.key.clone());
    if !digest {
        keys.map(|key| vec![key]).collect()
    } else if due.is_empty() {
        Vec::new()
    } else {
        vec![keys.collect()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Havana, New_York};
    use chrono_tz::Asia::Tokyo;
    use chrono_tz::Australia::Lord_Howe;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn time(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn quiet(s: &str) -> Option<QuietHours> {
        QuietHours::parse(s).unwrap()
    }

    fn rules(timezone: Tz, quiet_hours: &str) -> Rules {
        Rules {
            timezone,
            quiet_hours: quiet(quiet_hours),
            ..Rules::default()
        }
    }

    fn no_history() -> History<'static> {
        History { sent_at: &[] }
    }

    #[test]
    fn the_defaults_are_seed_4_2() {
        let r = Rules::default();
        assert_eq!(r.timezone, Tz::UTC);
        assert_eq!(r.quiet_hours.map(|q| q.to_string()).as_deref(), Some("22:00-08:00"));
        assert_eq!((r.max_per_day, r.min_gap_hours), (5, 4));
    }

    #[test]
    fn quiet_hours_parse_from_text_and_print_back() {
        for text in [
            "22:00-08:00",
            "13:00-14:00",
            "00:00-23:59",
            "23:59-00:00",
            "07:30-07:45",
        ] {
            assert_eq!(
                QuietHours::parse(text).map(|q| q.map(|q| q.to_string())),
                Ok(Some(text.to_string()))
            );
        }
        assert_eq!(quiet(" 22:00 - 08:00 "), quiet("22:00-08:00"));
        assert_eq!(
            quiet("22:00-08:00"),
            Some(QuietHours {
                start: time("22:00"),
                end: time("08:00")
            })
        );
    }

    #[test]
    fn none_or_an_equal_start_and_end_mean_no_quiet_hours() {
        for text in ["none", "None", " NONE ", "08:00-08:00", "00:00-00:00"] {
            assert_eq!(QuietHours::parse(text), Ok(None), "{text}");
        }
        let empty = QuietHours {
            start: time("08:00"),
            end: time("08:00"),
        };
        assert!(!empty.contains(time("08:00")));
        assert!(!empty.contains(time("03:00")));
    }

    #[test]
    fn malformed_quiet_hours_are_rejected_saying_what_was_expected() {
        for text in [
            "",
            "22:00",
            "22-08",
            "22:00-8:00",
            "2200-0800",
            "24:00-08:00",
            "22:60-08:00",
            "22:00–08:00",
            "nope",
            "22:00-08:00-09:00",
            "+2:00-08:00",
        ] {
            let err = QuietHours::parse(text).unwrap_err();
            assert!(
                err.contains("HH:MM-HH:MM") && err.contains("22:00-08:00") && err.contains("none"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn quiet_hours_contain_their_start_but_not_their_end_and_may_wrap_midnight() {
        let cases = [
            ("22:00-08:00", "22:00", true),
            ("22:00-08:00", "23:59", true),
            ("22:00-08:00", "00:00", true),
            ("22:00-08:00", "07:59", true),
            ("22:00-08:00", "08:00", false),
            ("22:00-08:00", "21:59", false),
            ("22:00-08:00", "12:00", false),
            ("13:00-14:00", "13:00", true),
            ("13:00-14:00", "13:59", true),
            ("13:00-14:00", "14:00", false),
            ("13:00-14:00", "12:59", false),
            ("13:00-14:00", "23:00", false),
        ];
        for (window, local, inside) in cases {
            let q = quiet(window).unwrap();
            assert_eq!(q.contains(time(local)), inside, "{local} in {window}");
        }
    }

    #[test]
    fn an_email_due_in_quiet_hours_waits_for_their_end_in_the_users_zone() {
        let cases = [
            // (zone, quiet hours, now, expected)
            (Tz::UTC, "22:00-08:00", "2026-05-10T23:30:00Z", "2026-05-11T08:00:00Z"),
            (Tz::UTC, "22:00-08:00", "2026-05-10T07:59:00Z", "2026-05-10T08:00:00Z"),
            (Tz::UTC, "22:00-08:00", "2026-05-10T08:00:00Z", "2026-05-10T08:00:00Z"),
            (Tz::UTC, "22:00-08:00", "2026-05-10T21:59:00Z", "2026-05-10T21:59:00Z"),
            (Tz::UTC, "22:00-08:00", "2026-05-10T22:00:00Z", "2026-05-11T08:00:00Z"),
            (Tz::UTC, "13:00-14:00", "2026-05-10T13:00:00Z", "2026-05-10T14:00:00Z"),
            (Tz::UTC, "13:00-14:00", "2026-05-10T13:59:59Z", "2026-05-10T14:00:00Z"),
            (Tz::UTC, "13:00-14:00", "2026-05-10T14:00:00Z", "2026-05-10T14:00:00Z"),
            (Tz::UTC, "13:00-14:00", "2026-05-10T23:30:00Z", "2026-05-10T23:30:00Z"),
            (Tz::UTC, "none", "2026-05-10T03:00:00Z", "2026-05-10T03:00:00Z"),
            // 23:30 JST on the 10th (14:30Z) waits for 08:00 JST on the 11th (23:00Z on the 10th).
            (Tokyo, "22:00-08:00", "2026-05-10T14:30:00Z", "2026-05-10T23:00:00Z"),
            // 07:59 JST waits one minute; 21:59 JST goes now.
            (Tokyo, "22:00-08:00", "2026-05-09T22:59:00Z", "2026-05-09T23:00:00Z"),
            (Tokyo, "22:00-08:00", "2026-05-10T12:59:00Z", "2026-05-10T12:59:00Z"),
        ];
        for (tz, window, now, expected) in cases {
            let r = rules(tz, window);
            assert_eq!(
                next_send_time(&r, &no_history(), at(now)),
                at(expected),
                "{tz} {window} at {now}"
            );
            let reason = hold_reason(&r, &no_history(), at(now));
            assert_eq!(
                reason,
                (now != expected).then_some(Hold::QuietHours),
                "{tz} {window} at {now}"
            );
        }
    }

    #[test]
    fn daylight_saving_changes_resolve_quiet_hours_ends_deliberately() {
        let cases = [
            // (zone, quiet hours, now, expected, why)
            (
                New_York,
                "22:00-02:30",
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
                "02:30 never happens: 03:00 EDT",
            ),
            (
                New_York,
                "22:00-02:30",
                "2026-03-08T04:00:00Z",
                "2026-03-08T07:00:00Z",
                "from 23:00 EST the day before",
            ),
            (
                New_York,
                "22:00-01:30",
                "2026-11-01T04:30:00Z",
                "2026-11-01T05:30:00Z",
                "01:30 twice: the earlier, 01:30 EDT",
            ),
            (
                New_York,
                "22:00-01:30",
                "2026-11-01T05:45:00Z",
                "2026-11-01T05:45:00Z",
                "01:45 EDT is after the window",
            ),
            (
                New_York,
                "22:00-01:30",
                "2026-11-01T06:10:00Z",
                "2026-11-01T06:30:00Z",
                "01:10 EST, repeated hour: 01:30 EST",
            ),
            (
                New_York,
                "22:00-08:00",
                "2026-03-08T05:00:00Z",
                "2026-03-08T12:00:00Z",
                "08:00 EDT is UTC-4",
            ),
            (
                New_York,
                "22:00-08:00",
                "2026-11-01T04:30:00Z",
                "2026-11-01T13:00:00Z",
                "08:00 EST is UTC-5",
            ),
            // Lord Howe moves by half an hour: 02:00 LHDT (+11) back to 01:30 LHST (+10:30) on 2026-04-05 ...
            (
                Lord_Howe,
                "22:00-01:45",
                "2026-04-04T12:00:00Z",
                "2026-04-04T14:45:00Z",
                "01:45 twice: 01:45 LHDT",
            ),
            (
                Lord_Howe,
                "22:00-01:45",
                "2026-04-04T15:05:00Z",
                "2026-04-04T15:15:00Z",
                "01:35 LHST, repeated: 01:45 LHST",
            ),
            (
                Lord_Howe,
                "22:00-08:00",
                "2026-04-04T12:00:00Z",
                "2026-04-04T21:30:00Z",
                "08:00 LHST is UTC+10:30",
            ),
            // ... and 02:00 LHST (+10:30) forward to 02:30 LHDT (+11) on 2026-10-04.
            (
                Lord_Howe,
                "22:00-02:15",
                "2026-10-03T13:00:00Z",
                "2026-10-03T15:30:00Z",
                "02:15 never happens: 02:30 LHDT",
            ),
            (
                Lord_Howe,
                "22:00-08:00",
                "2026-10-03T13:00:00Z",
                "2026-10-03T21:00:00Z",
                "08:00 LHDT is UTC+11",
            ),
        ];
        for (tz, window, now, expected, why) in cases {
            let got = next_send_time(&rules(tz, window), &no_history(), at(now));
            assert_eq!(got, at(expected), "{tz} {window} at {now}: {why}");
        }
    }

    #[test]
    fn a_next_local_midnight_lost_or_repeated_by_a_change_resolves_the_same_way() {
        // Havana changes clocks at midnight: 2026-03-08 00:00 CST → 01:00 CDT, 2026-11-01 01:00 CDT → 00:00 CST.
        let capped = Rules {
            timezone: Havana,
            quiet_hours: None,
            max_per_day: 1,
            min_gap_hours: 0,
        };
        let cases = [
            // (sent, now, expected)
            ("2026-03-07T15:00:00Z", "2026-03-08T01:00:00Z", "2026-03-08T05:00:00Z"), // 01:00 CDT
            ("2026-10-31T15:00:00Z", "2026-11-01T01:00:00Z", "2026-11-01T04:00:00Z"), // 00:00 CDT, the earlier
        ];
        for (sent, now, expected) in cases {
            let sent = [at(sent)];
            let history = History { sent_at: &sent };
            assert_eq!(hold_reason(&capped, &history, at(now)), Some(Hold::DailyCap));
            assert_eq!(next_send_time(&capped, &history, at(now)), at(expected), "{now}");
        }
    }

    #[test]
    fn the_daily_cap_counts_emails_on_the_users_local_calendar_day() {
        let r = Rules {
            timezone: Tokyo,
            min_gap_hours: 0,
            ..Rules::default()
        };
        // Five on 2026-05-10 in Tokyo; the first is still the 9th in UTC, so a UTC count would find only four.
        let sent = [
            "2026-05-09T15:30:00Z",
            "2026-05-09T23:00:00Z",
            "2026-05-10T00:00:00Z",
            "2026-05-10T01:00:00Z",
            "2026-05-10T02:00:00Z",
        ]
        .map(at);
        let history = History { sent_at: &sent };
        let now = at("2026-05-10T06:00:00Z"); // 15:00 JST
        assert_eq!(hold_reason(&r, &history, now), Some(Hold::DailyCap));
        // Local midnight is in quiet hours, so 08:00 JST on the 11th.
        assert_eq!(next_send_time(&r, &history, now), at("2026-05-10T23:00:00Z"));

        // Four that day (the earliest was the 9th in Tokyo too): one more may go now.
        let sent = [
            "2026-05-09T14:30:00Z",
            "2026-05-09T23:00:00Z",
            "2026-05-10T00:00:00Z",
            "2026-05-10T01:00:00Z",
            "2026-05-10T02:00:00Z",
        ]
        .map(at);
        assert_eq!(next_send_time(&r, &History { sent_at: &sent }, now), now);
    }

    #[test]
    fn a_cap_of_zero_behaves_as_a_cap_of_one() {
        let zero = Rules {
            max_per_day: 0,
            min_gap_hours: 0,
            ..Rules::default()
        };
        let now = at("2026-05-10T12:00:00Z");
        assert_eq!(next_send_time(&zero, &no_history(), now), now);
        let sent = [at("2026-05-10T09:00:00Z")];
        assert_eq!(
            next_send_time(&zero, &History { sent_at: &sent }, now),
            at("2026-05-11T08:00:00Z")
        );
    }

    #[test]
    fn an_email_waits_out_the_minimum_gap_since_the_last_one() {
        let r = Rules::default();
        let cases: [(&[&str], &str, &str); 5] = [
            (
                &["2026-05-10T10:00:00Z"],
                "2026-05-10T12:00:00Z",
                "2026-05-10T14:00:00Z",
            ),
            // Any order: the latest counts.
            (
                &["2026-05-10T10:00:00Z", "2026-05-10T03:00:00Z"],
                "2026-05-10T12:00:00Z",
                "2026-05-10T14:00:00Z",
            ),
            (
                &["2026-05-10T08:00:00Z"],
                "2026-05-10T12:00:00Z",
                "2026-05-10T12:00:00Z",
            ),
            // The gap ends at 23:00, inside quiet hours: 08:00 the next day.
            (
                &["2026-05-10T19:00:00Z"],
                "2026-05-10T20:00:00Z",
                "2026-05-11T08:00:00Z",
            ),
            // The gap ends at 06:00, inside quiet hours that began after the last email.
            (
                &["2026-05-10T02:00:00Z"],
                "2026-05-10T03:00:00Z",
                "2026-05-10T08:00:00Z",
            ),
        ];
        for (sent, now, expected) in cases {
            let sent: Vec<_> = sent.iter().map(|s| at(s)).collect();
            let got = next_send_time(&r, &History { sent_at: &sent }, at(now));
            assert_eq!(got, at(expected), "{sent:?} at {now}");
        }
        let no_gap = Rules {
            min_gap_hours: 0,
            ..Rules::default()
        };
        let sent = [at("2026-05-10T11:59:00Z")];
        let now = at("2026-05-10T12:00:00Z");
        assert_eq!(next_send_time(&no_gap, &History { sent_at: &sent }, now), now);
    }

    #[test]
    fn the_send_time_is_never_before_now_even_with_an_old_history() {
        let sent = [at("2020-01-01T12:00:00Z"), at("2020-01-01T13:00:00Z")];
        let r = Rules {
            max_per_day: 1,
            ..Rules::default()
        };
        for now in ["2026-05-10T12:00:00Z", "2026-05-10T23:00:00Z", "2020-01-01T14:00:00Z"] {
            assert!(
                next_send_time(&r, &History { sent_at: &sent }, at(now)) >= at(now),
                "{now}"
            );
        }
    }

    #[test]
    fn hold_reason_names_quiet_hours_then_the_cap_then_the_gap() {
        let r = Rules {
            max_per_day: 1,
            ..Rules::default()
        };
        let sent = [at("2026-05-10T21:00:00Z")];
        let history = History { sent_at: &sent };
        assert_eq!(
            hold_reason(&r, &history, at("2026-05-10T23:00:00Z")),
            Some(Hold::QuietHours)
        );
        assert_eq!(
            hold_reason(&r, &history, at("2026-05-10T21:30:00Z")),
            Some(Hold::DailyCap)
        );
        assert_eq!(hold_reason(&r, &history, at("2026-05-11T08:00:00Z")), None);
        let r = Rules::default();
        assert_eq!(
            hold_reason(&r, &history, at("2026-05-10T21:30:00Z")),
            Some(Hold::MinimumGap)
        );
        assert_eq!(Hold::MinimumGap.to_string(), "minimum gap");
    }

    #[test]
    fn emails_sent_one_after_another_each_count_against_the_cap_and_the_gap() {
        let r = Rules {
            max_per_day: 3,
            ..Rules::default()
        };
        let times = send_times(&r, &no_history(), at("2026-05-10T09:00:00Z"), 5);
        let expected = [
            "2026-05-10T09:00:00Z",
            "2026-05-10T13:00:00Z",
            "2026-05-10T17:00:00Z",
            "2026-05-11T08:00:00Z",
            "2026-05-11T12:00:00Z",
        ];
        assert_eq!(times, expected.map(at));
    }

    #[test]
    fn a_history_in_the_future_or_extreme_settings_still_give_an_instant() {
        // Five a day for the next forty days (a clock that went backwards): the first free local day.
        let now = at("2026-05-10T12:00:00Z");
        let sent: Vec<_> = (0..200i64)
            .map(|i| now + TimeDelta::hours(i / 5 * 24 + i % 5))
            .collect();
        let r = Rules {
            min_gap_hours: 0,
            ..Rules::default()
        };
        assert_eq!(
            next_send_time(&r, &History { sent_at: &sent }, now),
            at("2026-06-19T08:00:00Z")
        );

        let huge = Rules {
            timezone: Lord_Howe,
            max_per_day: u32::MAX,
            min_gap_hours: u32::MAX,
            ..Rules::default()
        };
        let one = [now];
        assert_eq!(
            next_send_time(&huge, &History { sent_at: &one }, now),
            DateTime::<Utc>::MAX_UTC
        );
        for edge in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let r = Rules {
                timezone: Lord_Howe,
                max_per_day: 1,
                ..Rules::default()
            };
            let edges = [edge];
            assert!(next_send_time(&r, &History { sent_at: &edges }, edge) >= edge);
        }
    }

    fn due(key: &'static str, priority: u8, created_at: &str) -> Due<&'static str> {
        Due {
            key,
            priority,
            created_at: at(created_at),
        }
    }

    #[test]
    fn a_digest_groups_everything_due_into_one_email() {
        let all = [
            due("late", 2, "2026-05-10T09:00:00Z"),
            due("urgent", 0, "2026-05-10T10:00:00Z"),
            due("early", 2, "2026-05-10T08:00:00Z"),
        ];
        assert_eq!(plan_emails(&all, true), vec![vec!["urgent", "early", "late"]]);
        assert_eq!(plan_emails(&all[..1], true), vec![vec!["late"]]);
        assert!(plan_emails::<&str>(&[], true).is_empty());
    }

    #[test]
    fn without_a_digest_alerts_go_one_per_email_most_urgent_then_oldest_first() {
        let all = [
            due("p2 new", 2, "2026-05-10T09:00:00Z"),
            due("p0", 0, "2026-05-10T10:00:00Z"),
            due("p2 old", 2, "2026-05-10T08:00:00Z"),
            due("p1", 1, "2026-05-10T11:00:00Z"),
            due("p2 old too", 2, "2026-05-10T08:00:00Z"),
        ];
        let expected: Vec<Vec<&str>> = [["p0"], ["p1"], ["p2 old"], ["p2 old too"], ["p2 new"]]
            .map(Vec::from)
            .to_vec();
        assert_eq!(plan_emails(&all, false), expected);
        assert!(plan_emails::<&str>(&[], false).is_empty());
    }

    /// A time of day on the half hour or at any second.
    fn time_of_day() -> impl Strategy<Value = NaiveTime> {
        prop_oneof![(0..48u32).prop_map(|h| h * 1800), 0..86_400u32]
            .prop_map(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap())
    }

    /// Anywhere 1990–2050 in any zone with any quiet hours.
    fn anywhere() -> impl Strategy<Value = (Tz, DateTime<Utc>, Option<QuietHours>)> {
        let instant = (631_152_000..2_524_608_000i64, 0..1_000_000_000u32)
            .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap());
        let quiet = prop::option::weighted(0.8, (time_of_day(), time_of_day()))
            .prop_map(|q| q.map(|(start, end)| QuietHours { start, end }));
        (prop::sample::select(chrono_tz::TZ_VARIANTS.to_vec()), instant, quiet)
    }

    /// The day and a half before a clock change (often the two hours either side, or the hour after), with quiet hours starting or ending within 90 minutes of the
    /// change's local time (so in the gap or the repeated hour as often as not).
    fn around_a_clock_change() -> impl Strategy<Value = (Tz, DateTime<Utc>, Option<QuietHours>)> {
        let changes = prop::sample::select(vec![
            (New_York, "2026-03-08T07:00:00Z"),
            (New_York, "2026-11-01T06:00:00Z"),
            (Lord_Howe, "2026-04-04T15:00:00Z"),
            (Lord_Howe, "2026-10-03T15:30:00Z"),
            (Havana, "2026-03-08T05:00:00Z"),
            (Havana, "2026-11-01T05:00:00Z"),
            (chrono_tz::Pacific::Apia, "2011-12-30T10:00:00Z"), // Samoa skipped 2011-12-30
            (chrono_tz::Europe::London, "2026-03-29T01:00:00Z"),
            (chrono_tz::Europe::London, "2026-10-25T01:00:00Z"),
        ]);
        let from_change = prop_oneof![-36 * 3600..6 * 3600i64, -2 * 3600..2 * 3600i64, 0..3600i64];
        (changes, from_change, -6..=6i64, time_of_day(), any::<bool>()).prop_map(
            |((tz, change), secs, quarters, other, ends_there)| {
                let change = at(change);
                let there = change.with_timezone(&tz).time() + TimeDelta::minutes(15 * quarters);
                let (start, end) = if ends_there { (other, there) } else { (there, other) };
                (tz, change + TimeDelta::seconds(secs), Some(QuietHours { start, end }))
            },
        )
    }

    proptest! {
        // Cheap cases; enough of them to land in the gap and the repeated hour often.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn next_send_time_is_the_earliest_instant_no_rule_holds(
            (timezone, now, quiet_hours) in prop_oneof![3 => around_a_clock_change(), 1 => anywhere()],
            max_per_day in 0..7u32,
            min_gap_hours in 0..30u32,
            offsets in prop::collection::vec(-4 * 86_400..2 * 86_400i64, 0..16),
        ) {
            let rules = Rules { timezone, quiet_hours, max_per_day, min_gap_hours };
            let sent: Vec<_> = offsets.iter().map(|&s| now + TimeDelta::seconds(s)).collect();
            let history = History { sent_at: &sent };
            let got = next_send_time(&rules, &history, now);

            prop_assert!(got >= now);
            let local = got.with_timezone(&timezone).naive_local();
            if let Some(q) = quiet_hours {
                prop_assert!(!q.contains(local.time()), "{got} is {local} local, inside {q}");
            }
            let same_day = sent.iter().filter(|s| s.with_timezone(&timezone).date_naive() == local.date()).count();
            prop_assert!(same_day < max_per_day.max(1) as usize, "{same_day} already sent on {}", local.date());
            for s in &sent {
                prop_assert!(got >= *s + TimeDelta::hours(i64::from(min_gap_hours)), "{got} too close to {s}");
            }
            prop_assert_eq!(hold_reason(&rules, &history, got), None);
            prop_assert_eq!(hold_reason(&rules, &history, now).is_none(), got == now);
            if got > now {
                let just_before = got - TimeDelta::nanoseconds(1);
                prop_assert!(hold_reason(&rules, &history, just_before).is_some(), "{just_before} was free");
            }
        }
    }
}
