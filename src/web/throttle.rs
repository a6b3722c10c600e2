//! The sign-in rate limit: at most a few sign-in attempts per email address and per client
//! address in a fixed window, kept in memory (per process; a restart forgets it, which only ever
//! lets a few more attempts through). Every attempt counts, not only failures: each one may send
//! an email.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Attempts allowed per email address in a window.
pub const PER_ADDRESS: u32 = 5;
/// Attempts allowed per client (IP address) in a window: sign-in requests and link redemptions.
pub const PER_CLIENT: u32 = 20;
/// The window.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Keys kept before old windows are swept.
const SWEEP_AT: usize = 10_000;

/// Counts per key in fixed windows.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Throttle {
    /// Counts one attempt for `key` at `now`: `Err(seconds to wait)` once `limit` attempts were
    /// made in the current window (the refused attempt is not counted).
    pub fn attempt(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now - *start < WINDOW);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= WINDOW || now < entry.0 {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let wait = (entry.0 + WINDOW - now).num_seconds().max(1);
            return Err(u64::try_from(wait).unwrap_or(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_attempt_after_the_limit_waits_for_the_window_to_end() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let throttle = Throttle::default();
        for _ in 0..3 {
            assert_eq!(throttle.attempt("a", 3, t), Ok(()));
        }
        assert_eq!(throttle.attempt("a", 3, t + TimeDelta::minutes(5)), Err(600));
        assert_eq!(throttle.attempt("b", 3, t), Ok(()), "another key has its own count");
        assert_eq!(throttle.attempt("a", 3, t + WINDOW), Ok(()), "a new window");
    }
}
