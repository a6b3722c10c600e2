//! The clock: the wall clock, or a fixed instant from `--now` / `GOALKEEPER_NOW`,
//! or (for the daemon, which must keep time moving) the wall clock shifted to
//! start at that instant. Only the shell reads it; domain and job code take
//! `now` as an argument.

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
    /// The wall clock plus this offset: time runs, from a chosen start.
    Shifted(TimeDelta),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
            Clock::Shifted(offset) => Utc::now() + offset,
        }
    }

    /// A clock that keeps running: a fixed instant becomes the start of a shifted clock.
    pub fn running(self) -> Clock {
        match self {
            Clock::Fixed(t) => Clock::Shifted(t - Utc::now()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_made_running_starts_at_its_instant_and_moves_on() {
        let start = DateTime::parse_from_rfc3339("2026-03-08T06:59:58Z").unwrap().to_utc();
        let clock = Clock::Fixed(start).running();
        let first = clock.now();
        assert!((first - start).num_seconds().abs() <= 1, "{first}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now() > first);
        assert_eq!(Clock::System.running(), Clock::System);
    }
}
