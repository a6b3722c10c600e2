//! The clock: the wall clock, or a fixed instant from `--now` / `GOALKEEPER_NOW`.
//! Only the shell reads it; domain and job code take `now` as an argument.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        }
    }
}
