//! Cron schedules read in an IANA time zone, fired at the right instants across daylight-saving changes.
//!
//! The daemon's periodic jobs (`[schedule] evaluate`, `dispatch`) are cron expressions read in
//! `[schedule] timezone`. [`CronSchedule`] parses one with the parser tokio-cron-scheduler itself uses
//! ([croner], same options) and answers, purely, "when does it fire next after `now`?"
//! ([`CronSchedule::next_after`]) and "did it fire between the last run and now?" ([`CronSchedule::missed_since`]).
//! [`arm`] drives a schedule through a tokio-cron-scheduler [`JobScheduler`].
//!
//! # The dialect
//!
//! Six fields, `second minute hour day-of-month month day-of-week`, and an optional seventh, the year:
//! `0 0 6 * * *` is 06:00:00 every day, `0 * * * * *` the start of every minute. Names (`MON`, `JAN`),
//! lists, ranges, steps, `L`, `W`, `#` and `@daily`-style nicknames are croner's. As in tokio-cron-scheduler,
//! a day-of-month and a day-of-week that are both restricted must **both** match (`0 0 6 13 * FRI` is
//! Friday the 13th), unlike Vixie cron, where either would do.
//!
//! # Daylight-saving time
//!
//! A cron expression names local wall-clock times. When the zone changes its clocks:
//!
//! * **a local time that does not exist** (spring forward, e.g. 02:30 on 2026-03-08 in New York): an
//!   expression for one time of day (single second, minute and hour, like `0 30 2 * * *`) fires at the
//!   **first instant after the gap** (03:00 EDT, the transition itself) — the run is late, not lost. Any
//!   other expression (wildcards, lists, ranges, steps) simply has no such time that day: `0 * * * * *`
//!   fires at 01:59 EST and then at 03:00 EDT, one real minute later, and `0 0 * * * *` has 23 runs that day.
//! * **a local time that occurs twice** (fall back, e.g. 01:30 on 2026-11-01 in New York): an expression
//!   for one time of day fires **once**, at the **first** occurrence (01:30 EDT); started during the repeated
//!   hour after that instant, it next fires the next day. Any other expression fires at every instant
//!   whose local time matches, in both passes: `0 * * * * *` keeps firing every real minute (120 times
//!   between 01:00 EDT and 02:00 EST) and `0 0 * * * *` has 25 runs that day. Nothing fires twice at one
//!   instant and the fire times always increase.
//!
//! This is the Open Cron Pattern Specification's rule, which croner implements for one search; the
//! wrapper here fixes the cases croner's single search gets wrong (below).
//!
//! # What tokio-cron-scheduler 0.15 does, and why jobs are not registered with its `_tz` constructors
//!
//! `Job::new_async_tz(expr, tz, run)` (`src/job/mod.rs`, `new_async_tz`, likewise `new_tz` and
//! `new_cron_job_async_tz`) computes the **first** tick correctly, with croner in the real zone, but also
//! stores `time_offset_seconds = tz.offset_from_utc_datetime(Utc::now())`: the zone's offset on the day
//! the job is created. Every later tick is computed by the scheduler loop (`src/scheduler.rs`, after a job
//! runs) as `cron.iter_after(now.with_timezone(&FixedOffset::east_opt(job.time_offset_seconds)))`: in that
//! **fixed** offset. A job created in winter for 06:00 in New York (−05:00) therefore fires at 07:00 EDT
//! from the first run after 2026-03-08 on, and one created in summer fires at 05:00 EST after 2026-11-01,
//! until the daemon restarts. (The test
//! `tokio_cron_scheduler_re_arms_tz_jobs_in_the_offset_of_the_day_they_were_created` reproduces it.)
//! Its scheduler also reads the wall clock itself (`Utc::now()`, polled every 500 ms) and stores ticks in
//! whole seconds.
//!
//! croner's own zone-aware search (`Cron::find_next_occurrence` with a `chrono_tz::Tz`) is right for gaps
//! and for first occurrences, but alone it (a) returns an instant **before** the start when started in
//! the second pass of a repeated hour (it resolves an ambiguous local time to its earlier instant) and
//! (b) skips the second pass for interval expressions (`0 * * * * *` jumps from 01:59 EDT to 02:00 EST,
//! leaving an hour without a run). [`CronSchedule::next_after`] walks croner's matches in local-time order
//! and takes both instants of an ambiguous time into account, so neither happens.
//!
//! # How to drive tokio-cron-scheduler
//!
//! Register **one-shot** jobs at instants computed by [`CronSchedule::next_after`], each re-arming the
//! next one when its run ends: that is [`arm`]. tokio-cron-scheduler still does the waiting, the polling
//! and the running; only the choice of instant is ours. Consequences, all deliberate:
//!
//! * a run never overlaps the previous run of the same job: the next fire time is computed after the run
//!   ends, from `max(now, the instant it was due for)`, so a run that overruns its next fire times skips
//!   them (catch up with [`CronSchedule::missed_since`] if that matters) and a run never repeats an instant;
//! * fire times are exact to the second (tokio-cron-scheduler stores whole seconds and polls every 500 ms,
//!   so a run starts within about half a second after its instant);
//! * after `JobScheduler::shutdown` nothing new starts; a run in progress finishes (the daemon waits for it).

use crate::clock::Clock;
use chrono::{DateTime, LocalResult, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::{Cron, JobType};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// A cron expression that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "cron expression {expression:?}: {problem}; expected six fields \"second minute hour day-of-month month \
         day-of-week\" (and optionally a year), e.g. \"0 0 6 * * *\" for 06:00:00 every day"
    )]
    Invalid { expression: String, problem: String },
}

/// A parsed cron expression and the IANA zone its times are read in.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    tz: Tz,
    /// One second, one minute and one hour (croner's "fixed-time job"): fires once on a repeated
    /// local time and after the gap on a missing one. Anything else: every matching instant.
    fixed_time: bool,
}

/// The parser tokio-cron-scheduler 0.15 builds (`src/job/mod.rs`): seconds required, day-of-month AND day-of-week.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
}

const FIELDS: [&str; 7] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

/// For an expression with the right number of fields, which field croner refuses: each field is parsed
/// alone (the others `*`) by croner itself, so the message can say "the minute field \"61\"".
fn locate(expr: &str) -> Option<String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if !(6..=7).contains(&fields.len()) || expr.contains('@') {
        return None;
    }
    fields.iter().enumerate().find_map(|(i, field)| {
        let mut alone = vec!["*"; fields.len()];
        alone[i] = field;
        parser().parse(&alone.join(" ")).err().map(|e| {
            let name = FIELDS.get(i).copied().unwrap_or("year");
            format!("the {name} field {field:?}: {}", e.to_string().trim_end_matches('.'))
        })
    })
}

/// The most local-time steps [`CronSchedule::next_after`] walks. It stops at the first match whose
/// earliest instant is after `now`, which comes after at most the matches inside one repeated hour
/// (3,600 for an every-second expression); this only bounds a misbehaving parser.
const MAX_STEPS: usize = 100_000;

impl CronSchedule {
    /// Parses `expr` (six or seven fields, see the module docs) for times read in `tz`.
    pub fn parse(expr: &str, tz: Tz) -> Result<Self, ScheduleError> {
        let cron = parser().parse(expr).map_err(|e| ScheduleError::Invalid {
            expression: expr.to_owned(),
            problem: locate(expr).unwrap_or_else(|| e.to_string().trim_end_matches('.').to_owned()),
        })?;
        let fixed_time = cron.determine_job_type() == JobType::FixedTime;
        Ok(CronSchedule {
            expression: expr.to_owned(),
            cron,
            tz,
            fixed_time,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `now`, with the daylight-saving rules of the module docs;
    /// `None` if the expression never fires again (e.g. a year field in the past).
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Fire times are whole seconds; croner would carry a fraction of `now` into its answer.
        let whole = now.with_nanosecond(0).unwrap_or(now);
        let local = whole.with_timezone(&self.tz);
        let mut from = self.walk_start(&local);
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..MAX_STEPS {
            // croner walks matches in local-time order and returns, for a local time occurring twice,
            // its earlier instant; for a one-time-of-day expression whose time is missing, the
            // instant after the gap.
            let found = self.cron.find_next_occurrence(&from, false).ok()?;
            let first = found.with_timezone(&Utc);
            let second = match self.tz.from_local_datetime(&found.naive_local()) {
                LocalResult::Ambiguous(_, later) if !self.fixed_time => Some(later.with_timezone(&Utc)),
                _ => None,
            };
            for instant in [Some(first), second].into_iter().flatten() {
                if instant > now && best.is_none_or(|b| instant < b) {
                    best = Some(instant);
                }
            }
            // Every later match in local-time order has all its instants after `first`.
            if first > now {
                return best;
            }
            from = found;
        }
        best
    }

    /// Whether the schedule had a fire time in `(last_run, now]`: a run was missed (the daemon was down,
    /// or a run overran), so a catch-up run is due at start.
    pub fn missed_since(&self, last_run: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.next_after(last_run).is_some_and(|t| t <= now)
    }

    /// Where the local-time walk starts. Normally at `now`. When `now` is in the first pass of a
    /// repeated hour, an interval expression's earlier local times in that hour fire again in the
    /// second pass, after `now`: start the walk one fold length earlier so they are seen.
    fn walk_start(&self, local: &DateTime<Tz>) -> DateTime<Tz> {
        if self.fixed_time {
            return *local;
        }
        let naive = local.naive_local();
        if let LocalResult::Ambiguous(earlier, later) = self.tz.from_local_datetime(&naive) {
            if earlier != *local {
                return *local;
            }
            let fold = i64::from(earlier.offset().fix().local_minus_utc() - later.offset().fix().local_minus_utc());
            let start = naive - chrono::Duration::seconds(fold);
            if let Some(start) = self.tz.from_local_datetime(&start).earliest() {
                return start;
            }
        }
        *local
    }
}

/// What a scheduled job does when it fires; it is given the instant it was due for.
pub type Work = Arc<dyn Fn(DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A named schedule and its work, shared by the chain of one-shot jobs that runs it.
pub struct CronTask {
    pub name: String,
    pub schedule: CronSchedule,
    pub work: Work,
}

/// What [`arm`] returns: the instant armed (`None`: the schedule never fires again).
pub type Arming = Pin<Box<dyn Future<Output = Result<Option<DateTime<Utc>>, JobSchedulerError>> + Send>>;

/// Registers `task`'s next run (the first fire time after `after`) with `scheduler` as a one-shot job
/// which, when its run ends, arms the one after (see the module docs). Returns the instant armed, or
/// `None` if the schedule never fires again. `clock` gives `now` for the delay (tokio-cron-scheduler itself
/// waits on the wall clock, so this is [`Clock::System`] in the daemon).
pub fn arm(scheduler: JobScheduler, task: Arc<CronTask>, clock: Clock, after: DateTime<Utc>) -> Arming {
    Box::pin(async move {
        let Some(due) = task.schedule.next_after(after) else {
            tracing::info!(job = %task.name, expression = task.schedule.expression(), "the schedule never fires again");
            return Ok(None);
        };
        let delay = delay_until(due, clock.now());
        tracing::debug!(job = %task.name, %due, "armed");
        let job = Job::new_one_shot_async(delay, move |_id, scheduler| {
            let task = Arc::clone(&task);
            Box::pin(async move {
                (task.work)(due).await;
                let after = due.max(clock.now());
                if let Err(e) = arm(scheduler, Arc::clone(&task), clock, after).await {
                    tracing::error!(job = %task.name, error = %e, "could not arm the next run");
                }
            })
        })?;
        scheduler.add(job).await?;
        Ok(Some(due))
    })
}

/// The delay tokio-cron-scheduler needs to fire at `due`, rounded **up** to whole seconds: it computes a
/// one-shot job's tick as the current whole second plus the delay's whole seconds, so rounding down
/// would fire up to a second early. With `due` on a whole second (cron times are) the tick is exactly `due`.
fn delay_until(due: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    let millis = (due - now).num_milliseconds().max(0);
    let seconds = u64::try_from(millis).unwrap_or(0).div_ceil(1000);
    std::time::Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use chrono_tz::America::New_York;
    use chrono_tz::Antarctica::Troll;
    use chrono_tz::Australia::Lord_Howe;
    use chrono_tz::Europe::Berlin;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(expr: &str, tz: Tz) -> CronSchedule {
        CronSchedule::parse(expr, tz).unwrap()
    }

    /// The first `n` fire times after `from`.
    fn fires(s: &CronSchedule, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = utc(from);
        while out.len() < n {
            t = s.next_after(t).unwrap();
            out.push(t);
        }
        out
    }

    /// Every fire time in `[from, to)`.
    fn fires_between(s: &CronSchedule, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let (mut t, end) = (utc(from) - chrono::Duration::seconds(1), utc(to));
        let mut out = Vec::new();
        while let Some(next) = s.next_after(t).filter(|n| *n < end) {
            out.push(next);
            t = next;
        }
        out
    }

    fn rfc(ts: &[DateTime<Utc>]) -> Vec<String> {
        ts.iter().map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).collect()
    }

    #[test]
    fn daily_expressions_fire_at_the_same_local_time_on_both_sides_of_each_clock_change() {
        // (zone, start, the next three fire times of "0 0 6 * * *")
        let table: [(Tz, &str, [&str; 3]); 6] = [
            // New York: EST (−5) → EDT (−4) on 2026-03-08
            (
                New_York,
                "2026-03-06T12:00:00Z",
                ["2026-03-07T11:00:00Z", "2026-03-08T10:00:00Z", "2026-03-09T10:00:00Z"],
            ),
            // EDT → EST on 2026-11-01
            (
                New_York,
                "2026-10-30T12:00:00Z",
                ["2026-10-31T10:00:00Z", "2026-11-01T11:00:00Z", "2026-11-02T11:00:00Z"],
            ),
            // Berlin: CET (+1) → CEST (+2) on 2026-03-29
            (
                Berlin,
                "2026-03-27T12:00:00Z",
                ["2026-03-28T05:00:00Z", "2026-03-29T04:00:00Z", "2026-03-30T04:00:00Z"],
            ),
            // CEST → CET on 2026-10-25
            (
                Berlin,
                "2026-10-23T12:00:00Z",
                ["2026-10-24T04:00:00Z", "2026-10-25T05:00:00Z", "2026-10-26T05:00:00Z"],
            ),
            // Lord Howe: +11 → +10:30 on 2026-04-05 (a 30-minute change)
            (
                Lord_Howe,
                "2026-04-03T00:00:00Z",
                ["2026-04-03T19:00:00Z", "2026-04-04T19:30:00Z", "2026-04-05T19:30:00Z"],
            ),
            // +10:30 → +11 on 2026-10-04
            (
                Lord_Howe,
                "2026-10-02T00:00:00Z",
                ["2026-10-02T19:30:00Z", "2026-10-03T19:00:00Z", "2026-10-04T19:00:00Z"],
            ),
        ];
        for (tz, from, expected) in table {
            let s = schedule("0 0 6 * * *", tz);
            let got = fires(&s, from, 3);
            assert_eq!(rfc(&got), expected, "{tz} from {from}");
            for t in got {
                let local = t.with_timezone(&tz);
                assert_eq!(
                    (local.hour(), local.minute(), local.second()),
                    (6, 0, 0),
                    "{tz}: {local}"
                );
            }
        }
    }

    #[test]
    fn a_time_of_day_inside_the_spring_forward_gap_fires_at_the_first_instant_after_the_gap() {
        // 02:30 does not exist in New York on 2026-03-08 (02:00 EST → 03:00 EDT = 07:00Z).
        let s = schedule("0 30 2 * * *", New_York);
        assert_eq!(
            rfc(&fires(&s, "2026-03-07T00:00:00Z", 3)),
            ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
        );
        // From just before the gap, and from the very instant of the late run.
        assert_eq!(
            s.next_after(utc("2026-03-08T06:59:59Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-03-08T07:00:00Z")),
            Some(utc("2026-03-09T06:30:00Z"))
        );

        // Lord Howe skips 02:00–02:30 on 2026-10-04 (+10:30 → +11 at 15:30Z): 02:15 runs at 02:30 +11.
        let s = schedule("0 15 2 * * *", Lord_Howe);
        assert_eq!(
            rfc(&fires(&s, "2026-10-02T00:00:00Z", 3)),
            ["2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]
        );
    }

    #[test]
    fn a_time_of_day_inside_the_repeated_hour_fires_once_at_its_first_occurrence() {
        // 01:30 happens twice in New York on 2026-11-01: 05:30Z (EDT) and 06:30Z (EST).
        let s = schedule("0 30 1 * * *", New_York);
        assert_eq!(
            rfc(&fires(&s, "2026-10-31T00:00:00Z", 3)),
            ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
        );
        // Started in the repeated hour after the first 01:30 (01:10 EST, and 01:30 EST itself): not again that day.
        for now in ["2026-11-01T05:30:00Z", "2026-11-01T06:10:00Z", "2026-11-01T06:30:00Z"] {
            assert_eq!(s.next_after(utc(now)), Some(utc("2026-11-02T06:30:00Z")), "from {now}");
        }

        // Lord Howe repeats 01:30–02:00 on 2026-04-05 (+11 → +10:30 at 15:00Z): 01:45 runs once, at 14:45Z.
        let s = schedule("0 45 1 * * *", Lord_Howe);
        assert_eq!(
            rfc(&fires(&s, "2026-04-03T00:00:00Z", 3)),
            ["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
        );
        assert_eq!(
            s.next_after(utc("2026-04-04T15:10:00Z")),
            Some(utc("2026-04-05T15:15:00Z"))
        );
    }

    /// Every fire time of `expr` in `[from, to)` is one `step` after the previous one.
    fn assert_regular(expr: &str, tz: Tz, from: &str, to: &str, step_seconds: i64, count: usize) {
        let s = schedule(expr, tz);
        let got = fires_between(&s, from, to);
        assert_eq!(got.len(), count, "{expr} in {tz} over [{from}, {to})");
        assert_eq!(got.first(), Some(&utc(from)), "{expr} in {tz}");
        for pair in got.windows(2) {
            assert_eq!(
                (pair[1] - pair[0]).num_seconds(),
                step_seconds,
                "{expr} in {tz}: {} → {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn an_every_minute_expression_fires_every_real_minute_across_each_clock_change() {
        // New York spring forward (07:00Z): 01:59 EST is followed by 03:00 EDT, one minute later.
        assert_regular(
            "0 * * * * *",
            New_York,
            "2026-03-08T06:00:00Z",
            "2026-03-08T08:00:00Z",
            60,
            120,
        );
        // New York fall back (06:00Z): 01:00–01:59 happens twice and fires both times.
        assert_regular(
            "0 * * * * *",
            New_York,
            "2026-11-01T04:30:00Z",
            "2026-11-01T07:30:00Z",
            60,
            180,
        );
        assert_regular(
            "0 * * * * *",
            Berlin,
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:30:00Z",
            60,
            60,
        );
        assert_regular(
            "0 * * * * *",
            Berlin,
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z",
            60,
            120,
        );
        assert_regular(
            "0 * * * * *",
            Lord_Howe,
            "2026-04-05T14:30:00Z",
            "2026-04-05T15:30:00Z",
            60,
            60,
        );
        assert_regular(
            "0 * * * * *",
            Lord_Howe,
            "2026-10-03T15:00:00Z",
            "2026-10-03T16:00:00Z",
            60,
            60,
        );
        // Troll (Antarctica) moves its clocks by two hours.
        assert_regular(
            "0 * * * * *",
            Troll,
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z",
            60,
            120,
        );
        assert_regular(
            "*/20 * * * * *",
            New_York,
            "2026-11-01T05:50:00Z",
            "2026-11-01T06:10:00Z",
            20,
            60,
        );
    }

    #[test]
    fn an_hourly_expression_runs_23_times_on_the_short_day_and_25_on_the_long_one() {
        let s = schedule("0 0 * * * *", New_York);
        // Local days: 2026-03-08 is 05:00Z–04:00Z next day, 2026-11-01 is 04:00Z–05:00Z next day.
        assert_eq!(
            fires_between(&s, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z").len(),
            23
        );
        assert_eq!(
            fires_between(&s, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z").len(),
            25
        );
        assert_regular(
            "0 0 * * * *",
            New_York,
            "2026-11-01T04:00:00Z",
            "2026-11-01T08:00:00Z",
            3600,
            4,
        );
    }

    #[test]
    fn started_inside_the_repeated_hour_an_interval_expression_continues_with_the_next_real_minute() {
        let s = schedule("0 * * * * *", New_York);
        // First pass, last minute: the next run is 01:00 EST, the second pass.
        assert_eq!(
            s.next_after(utc("2026-11-01T05:59:30Z")),
            Some(utc("2026-11-01T06:00:00Z"))
        );
        // Second pass: never an instant of the first pass (already gone).
        assert_eq!(
            s.next_after(utc("2026-11-01T06:10:30Z")),
            Some(utc("2026-11-01T06:11:00Z"))
        );
        // Hourly, started in the first pass after 01:00 EDT: 01:00 EST comes next.
        let hourly = schedule("0 0 * * * *", New_York);
        assert_eq!(
            hourly.next_after(utc("2026-11-01T05:30:00Z")),
            Some(utc("2026-11-01T06:00:00Z"))
        );
        assert_eq!(
            hourly.next_after(utc("2026-11-01T06:00:00Z")),
            Some(utc("2026-11-01T07:00:00Z"))
        );
    }

    #[test]
    fn a_missed_run_is_one_whose_fire_time_lies_between_the_last_run_and_now() {
        let s = schedule("0 0 6 * * *", New_York);
        // Last run 2026-03-07 06:00 EST; the next is 2026-03-08 06:00 EDT = 10:00Z.
        let last = utc("2026-03-07T11:00:00Z");
        assert!(!s.missed_since(last, utc("2026-03-08T09:59:59Z")), "05:59 EDT: not yet");
        assert!(
            s.missed_since(last, utc("2026-03-08T10:00:00Z")),
            "the fire time itself counts"
        );
        assert!(s.missed_since(last, utc("2026-03-10T00:00:00Z")));
        assert!(!s.missed_since(last, last));
        // Down over the fall-back night, back at 01:10 EST: 01:30 EDT was missed.
        let once = schedule("0 30 1 * * *", New_York);
        assert!(once.missed_since(utc("2026-10-31T05:30:00Z"), utc("2026-11-01T06:10:00Z")));
        assert!(!once.missed_since(utc("2026-11-01T05:30:00Z"), utc("2026-11-01T06:40:00Z")));
    }

    #[test]
    fn an_expression_with_a_year_in_the_past_or_an_impossible_date_never_fires() {
        for expr in ["0 0 6 1 1 * 2020", "0 0 0 30 2 *"] {
            let s = schedule(expr, Tz::UTC);
            assert_eq!(s.next_after(utc("2026-01-01T00:00:00Z")), None, "{expr}");
            assert!(
                !s.missed_since(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")),
                "{expr}"
            );
        }
    }

    #[test]
    fn invalid_expressions_are_refused_with_the_expression_and_what_was_expected() {
        for (expr, detail) in [
            ("0 0 6 * *", "6 or 7 fields"),
            ("", "empty"),
            ("every day at six o'clock sharp", "illegal characters"),
            ("0 61 6 * * *", "the minute field \"61\""),
            ("0 0 25 * * *", "the hour field \"25\""),
            ("0 0 6 * 13 *", "the month field \"13\""),
            ("0 0 6 * * MONDAYISH", "the day-of-week field \"MONDAYISH\""),
            ("0 0 6 * * * 20x6", "the year field"),
        ] {
            let err = CronSchedule::parse(expr, Berlin).unwrap_err().to_string();
            assert!(err.starts_with(&format!("cron expression {expr:?}: ")), "{err}");
            assert!(err.contains("expected six fields"), "{err}");
            assert!(err.contains(detail), "{expr}: {err}");
        }
    }

    #[test]
    fn a_leap_day_expression_waits_for_the_next_leap_year() {
        let s = schedule("0 0 6 29 2 *", Berlin);
        assert_eq!(
            s.next_after(utc("2026-03-01T00:00:00Z")),
            Some(utc("2028-02-29T05:00:00Z"))
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_must_both_match_as_in_tokio_cron_scheduler() {
        let s = schedule("0 0 6 13 * FRI", Tz::UTC);
        assert_eq!(
            s.next_after(utc("2026-01-01T00:00:00Z")),
            Some(utc("2026-02-13T06:00:00Z"))
        );
    }

    #[test]
    fn tokio_cron_scheduler_re_arms_tz_jobs_in_the_offset_of_the_day_they_were_created() {
        // What tokio-cron-scheduler 0.15 stores when a job is created (src/job/mod.rs, new_async_tz) ...
        let mut job = Job::new_async_tz("0 0 6 * * *", New_York, |_, _| Box::pin(async {})).unwrap();
        let stored = job.job_data().unwrap().time_offset_seconds;
        let today = New_York
            .offset_from_utc_datetime(&Utc::now().naive_utc())
            .fix()
            .local_minus_utc();
        assert_eq!(stored, today, "the offset is New York's on the day the job is created");
        // ... and how its scheduler computes every tick after a run (src/scheduler.rs).
        let fixed = chrono::FixedOffset::east_opt(stored).unwrap();
        let rearm = |now: &str| {
            parser()
                .parse("0 0 6 * * *")
                .unwrap()
                .iter_after(utc(now).with_timezone(&fixed))
                .next()
                .unwrap()
        };
        let local_hours: Vec<u32> = ["2026-01-15T12:00:00Z", "2026-07-15T12:00:00Z"]
            .into_iter()
            .map(|now| rearm(now).with_timezone(&Utc).with_timezone(&New_York).hour())
            .collect();
        assert_eq!(
            local_hours.iter().filter(|h| **h == 6).count(),
            1,
            "{local_hours:?}: one season is an hour off"
        );
        // CronSchedule is right in both.
        let s = schedule("0 0 6 * * *", New_York);
        for now in ["2026-01-15T12:00:00Z", "2026-07-15T12:00:00Z"] {
            assert_eq!(s.next_after(utc(now)).unwrap().with_timezone(&New_York).hour(), 6);
        }
    }

    #[test]
    fn croner_alone_goes_back_in_time_inside_the_repeated_hour_which_next_after_corrects() {
        let cron = parser().parse("0 * * * * *").unwrap();
        let now = utc("2026-11-01T06:10:30Z"); // 01:10:30 EST, the second pass
        let croner = cron.find_next_occurrence(&now.with_timezone(&New_York), false).unwrap();
        assert_eq!(
            croner.with_timezone(&Utc),
            utc("2026-11-01T05:11:00Z"),
            "01:11 EDT, an hour ago"
        );
        let late = utc("2026-11-01T05:59:30Z"); // 01:59:30 EDT, the first pass
        let croner = cron
            .find_next_occurrence(&late.with_timezone(&New_York), false)
            .unwrap();
        assert_eq!(
            croner.with_timezone(&Utc),
            utc("2026-11-01T07:00:00Z"),
            "02:00 EST, the second pass skipped"
        );
        let s = schedule("0 * * * * *", New_York);
        assert_eq!(s.next_after(now), Some(utc("2026-11-01T06:11:00Z")));
        assert_eq!(s.next_after(late), Some(utc("2026-11-01T06:00:00Z")));
    }

    #[test]
    fn the_delay_handed_to_tokio_cron_scheduler_rounds_up_to_whole_seconds() {
        let due = utc("2026-03-08T10:00:00Z");
        let secs = |now: &str| delay_until(due, DateTime::parse_from_rfc3339(now).unwrap().to_utc()).as_secs();
        assert_eq!(secs("2026-03-08T09:59:00Z"), 60);
        assert_eq!(secs("2026-03-08T09:58:59.300Z"), 61);
        assert_eq!(secs("2026-03-08T09:59:59.999Z"), 1);
        assert_eq!(secs("2026-03-08T10:00:05Z"), 0, "overdue: at once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_armed_task_runs_at_each_fire_time_and_re_arms_itself() {
        let scheduler = JobScheduler::new().await.unwrap();
        scheduler.start().await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let work: Work = Arc::new(move |due| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send((due, Utc::now()));
            })
        });
        let task = Arc::new(CronTask {
            name: "every second".to_owned(),
            schedule: schedule("* * * * * *", Berlin),
            work,
        });
        arm(scheduler.clone(), task, Clock::System, Utc::now())
            .await
            .unwrap()
            .unwrap();
        let mut runs = Vec::new();
        while runs.len() < 2 {
            let run = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            runs.push(run);
        }
        for (due, ran_at) in &runs {
            assert!(ran_at >= due, "ran at {ran_at}, due {due}: never early");
            assert_eq!(due.timestamp_subsec_nanos(), 0);
        }
        assert!(runs[1].0 > runs[0].0, "{runs:?}");
        let mut scheduler = scheduler;
        scheduler.shutdown().await.unwrap();
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![New_York, Berlin, Lord_Howe, Troll, Tz::UTC])
    }

    fn expression() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "0 0 6 * * *",
            "0 30 1 * * *",
            "0 30 2 * * *",
            "0 15 2 * * *",
            "0 * * * * *",
            "0 0 * * * *",
            "0 */15 1-3 * * *",
            "30 45 1 * * SUN",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_next_fire_time_is_after_now_and_nothing_fires_in_between(
            tz in zone(),
            expr in expression(),
            // 2026, by the second
            offset in 0i64..365 * 86_400,
        ) {
            let s = schedule(expr, tz);
            let now = utc("2026-01-01T00:00:00Z") + chrono::Duration::seconds(offset);
            let next = s.next_after(now).unwrap();
            prop_assert!(next > now);
            // Asked again from any instant before it, the answer is the same: nothing fires in between.
            prop_assert_eq!(s.next_after(next - chrono::Duration::seconds(1)), Some(next));
            let midway = now + (next - now) / 2;
            prop_assert_eq!(s.next_after(midway), Some(next));
            // Local times fire where they exist: the fire time's local time matches, unless it is a run
            // moved to the end of a gap.
            let local: NaiveDateTime = next.with_timezone(&tz).naive_local();
            let moved = tz.from_local_datetime(&(local - chrono::Duration::seconds(1))) == LocalResult::None;
            prop_assert!(s.cron.is_time_matching(&next.with_timezone(&tz)).unwrap() || moved, "{} {} {}", expr, tz, next);
        }
    }
}
