//! Failed-attempt rate limiting per client address: a burst of failures, then "retry after N
//! seconds". Pure: the caller passes `now`, so tests (and `--now`) drive the clock.
//!
//! Each client is a token bucket of [`LimiterConfig::burst`] attempts that regains one attempt
//! every [`LimiterConfig::regain`]; only *failed* authentications spend one. It is kept as
//! a single instant per client (the generic cell rate algorithm): `debt_until`, when the bucket
//! is full again. A client whose bucket is full is forgotten, so memory holds only the clients
//! that failed recently, and at most [`LimiterConfig::max_clients`] of them: past that, the one
//! closest to being forgiven is dropped first.
//!
//! Clients are keyed by address; an IPv6 client by its /64 (one host usually owns a whole /64,
//! so per-address keys would give it billions of buckets), and an IPv4-mapped IPv6 address as
//! the IPv4 address it is.
//!
//! The flow for a request with a token: [`check`](FailureLimiter::check) first (refused: 429
//! with `Retry-After`, without looking at the token), then authenticate, and on failure
//! [`record_failure`](FailureLimiter::record_failure). A success spends nothing and clears
//! nothing (many people may share one address behind a NAT).

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

/// How many failures a client may make, and how fast it is forgiven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Failures allowed back to back before the client is refused.
    pub burst: u32,
    /// How long it takes to regain one attempt.
    pub regain: TimeDelta,
    /// The most clients remembered at once.
    pub max_clients: usize,
}

impl Default for LimiterConfig {
    /// 10 failures at once, then one every 6 seconds (10 a minute), for up to 10,000 clients
    /// (under a megabyte).
    fn default() -> Self {
        LimiterConfig {
            burst: 10,
            regain: TimeDelta::seconds(6),
            max_clients: 10_000,
        }
    }
}

/// A refusal: the client may try again after this many whole seconds (at least 1), the value
/// of a `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// Who a limit applies to: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientKey(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
                }
            },
        }
    }
}

/// The failed-attempt limiter. Not shared by itself: see [`SharedLimiter`].
#[derive(Debug, Clone)]
pub struct FailureLimiter {
    config: LimiterConfig,
    /// Per client: when its bucket is full again. Only instants after the last look are kept.
    debt_until: HashMap<ClientKey, DateTime<Utc>>,
}

impl FailureLimiter {
    pub fn new(config: LimiterConfig) -> FailureLimiter {
        FailureLimiter {
            config: LimiterConfig {
                burst: config.burst.max(1),
                regain: config.regain.max(TimeDelta::milliseconds(1)),
                max_clients: config.max_clients.max(1),
            },
            debt_until: HashMap::new(),
        }
    }

    /// Whether `ip` may try to authenticate at `now`; if not, how long until it may.
    pub fn check(&self, ip: IpAddr, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        let Some(&until) = self.debt_until.get(&ClientKey::of(ip)) else {
            return Ok(());
        };
        // Refused once the debt is more than burst - 1 attempts: the burst-th failure is the
        // last one let through.
        let allowance = self.config.regain * (self.config.burst as i32 - 1);
        let wait = (until - now) - allowance;
        if wait <= TimeDelta::zero() {
            Ok(())
        } else {
            // Whole seconds, rounded up, at least 1.
            let ms = wait.num_milliseconds().max(1) as u64;
            Err(RetryAfter(ms.div_ceil(1000)))
        }
    }

    /// Spends one attempt of `ip`'s bucket: it failed to authenticate at `now`.
    pub fn record_failure(&mut self, ip: IpAddr, now: DateTime<Utc>) {
        let key = ClientKey::of(ip);
        if !self.debt_until.contains_key(&key) && self.debt_until.len() >= self.config.max_clients {
            self.make_room(now);
        }
        let until = self.debt_until.entry(key).or_insert(now);
        // A bucket that filled up again since (or a clock that stepped back) starts from now.
        *until = (*until).max(now) + self.config.regain;
    }

    /// Forgets the clients whose buckets are full again; if that frees nothing, the one closest
    /// to being forgiven. Runs only when the map is full, so its scan is rare under normal
    /// traffic, and bounded (`max_clients`) under an attack from many addresses.
    fn make_room(&mut self, now: DateTime<Utc>) {
        self.debt_until.retain(|_, until| *until > now);
        if self.debt_until.len() >= self.config.max_clients {
            let closest = self.debt_until.iter().min_by_key(|(_, until)| **until).map(|(k, _)| *k);
            if let Some(key) = closest {
                self.debt_until.remove(&key);
            }
        }
    }

    /// Clients remembered now.
    pub fn len(&self) -> usize {
        self.debt_until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.debt_until.is_empty()
    }
}

/// A [`FailureLimiter`] shared between request handlers (clone it into each; one lock, held
/// for a map lookup).
#[derive(Debug, Clone)]
pub struct SharedLimiter(std::sync::Arc<std::sync::Mutex<FailureLimiter>>);

impl SharedLimiter {
    pub fn new(config: LimiterConfig) -> SharedLimiter {
        SharedLimiter(std::sync::Arc::new(std::sync::Mutex::new(FailureLimiter::new(config))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters (at worst one client's instant is not updated): keep going with it.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// See [`FailureLimiter::check`].
    pub fn check(&self, ip: IpAddr, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        self.lock().check(ip, now)
    }

    /// See [`FailureLimiter::record_failure`].
    pub fn record_failure(&self, ip: IpAddr, now: DateTime<Utc>) {
        self.lock().record_failure(ip, now)
    }
}

impl Default for SharedLimiter {
    fn default() -> Self {
        SharedLimiter::new(LimiterConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limiter(burst: u32, regain_s: i64, max_clients: usize) -> FailureLimiter {
        FailureLimiter::new(LimiterConfig {
            burst,
            regain: TimeDelta::seconds(regain_s),
            max_clients,
        })
    }

    #[test]
    fn a_burst_of_failures_is_let_through_then_the_client_waits_for_one_attempt_to_come_back() {
        // (failures so far at t=0, check at second, expected)
        let cases: &[(u32, i64, Result<(), RetryAfter>)] = &[
            (0, 0, Ok(())),
            (1, 0, Ok(())),
            (2, 0, Ok(())),
            (3, 0, Err(RetryAfter(6))),
            (3, 1, Err(RetryAfter(5))),
            (3, 5, Err(RetryAfter(1))),
            (3, 6, Ok(())),
            (4, 0, Err(RetryAfter(12))),
            (4, 11, Err(RetryAfter(1))),
            (4, 12, Ok(())),
            (30, 0, Err(RetryAfter(168))),
        ];
        let a = ip("192.0.2.7");
        for &(failures, at, expected) in cases {
            let mut l = limiter(3, 6, 100);
            for _ in 0..failures {
                l.record_failure(a, t(0));
            }
            assert_eq!(l.check(a, t(at)), expected, "{failures} failures, checked at +{at}s");
        }
    }

    #[test]
    fn a_part_of_a_second_left_is_a_whole_second_to_wait() {
        let mut l = FailureLimiter::new(LimiterConfig {
            burst: 1,
            regain: TimeDelta::milliseconds(1500),
            max_clients: 10,
        });
        let a = ip("192.0.2.7");
        l.record_failure(a, t(0));
        assert_eq!(l.check(a, t(0)), Err(RetryAfter(2)));
        assert_eq!(l.check(a, t(1)), Err(RetryAfter(1)));
        assert_eq!(l.check(a, t(0) + TimeDelta::milliseconds(1499)), Err(RetryAfter(1)));
        assert_eq!(l.check(a, t(2)), Ok(()));
    }

    #[test]
    fn failures_spread_out_slower_than_the_regain_are_never_refused() {
        let mut l = limiter(2, 6, 100);
        let a = ip("192.0.2.7");
        for i in 0..100 {
            assert_eq!(l.check(a, t(6 * i)), Ok(()), "attempt {i}");
            l.record_failure(a, t(6 * i));
        }
    }

    #[test]
    fn one_client_refused_leaves_the_others_alone() {
        let mut l = limiter(1, 60, 100);
        l.record_failure(ip("192.0.2.7"), t(0));
        assert!(l.check(ip("192.0.2.7"), t(1)).is_err());
        assert_eq!(l.check(ip("192.0.2.8"), t(1)), Ok(()));
        assert_eq!(l.check(ip("2001:db8:1:2::1"), t(1)), Ok(()));
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_a_mapped_ipv4_address_is_the_ipv4_client() {
        let cases = [
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3", true),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", false),
            ("::ffff:192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(ClientKey::of(ip(a)) == ClientKey::of(ip(b)), same, "{a} vs {b}");
            let mut l = limiter(1, 60, 100);
            l.record_failure(ip(a), t(0));
            assert_eq!(l.check(ip(b), t(0)).is_err(), same, "{a} then {b}");
        }
    }

    #[test]
    fn memory_stays_within_the_bound_and_forgiven_clients_go_first() {
        let mut l = limiter(5, 10, 3);
        l.record_failure(ip("192.0.2.1"), t(0)); // forgiven at +10
        l.record_failure(ip("192.0.2.2"), t(0));
        l.record_failure(ip("192.0.2.2"), t(0)); // forgiven at +20
        l.record_failure(ip("192.0.2.3"), t(5)); // forgiven at +15
        assert_eq!(l.len(), 3);
        // At +12 the first is forgiven: it makes room.
        l.record_failure(ip("192.0.2.4"), t(12));
        assert_eq!(l.len(), 3);
        assert!(!l.debt_until.contains_key(&ClientKey::of(ip("192.0.2.1"))));
        // Nobody forgiven yet at +13: the closest to it (192.0.2.3) is dropped.
        l.record_failure(ip("192.0.2.5"), t(13));
        assert_eq!(l.len(), 3);
        assert!(!l.debt_until.contains_key(&ClientKey::of(ip("192.0.2.3"))));
        assert!(l.debt_until.contains_key(&ClientKey::of(ip("192.0.2.2"))));
    }

    #[test]
    fn a_clock_that_steps_back_does_not_forgive_or_panic() {
        let mut l = limiter(1, 60, 10);
        let a = ip("192.0.2.7");
        l.record_failure(a, t(100));
        assert!(l.check(a, t(0)).is_err());
        l.record_failure(a, t(0));
        assert_eq!(l.check(a, t(100)), Err(RetryAfter(120)));
    }

    proptest! {
        #[test]
        fn any_sequence_of_attempts_keeps_memory_bounded_and_a_refused_client_waits_at_most_one_regain(
            events in proptest::collection::vec((any::<u32>(), 0i64..30, any::<bool>()), 0..300),
            burst in 1u32..20,
            regain in 1i64..120,
            max_clients in 1usize..16,
        ) {
            let mut l = limiter(burst, regain, max_clients);
            let mut now = 0;
            for (addr, step, fail) in events {
                now += step;
                let a = IpAddr::V4((addr % 32).into());
                match l.check(a, t(now)) {
                    Ok(()) => if fail { l.record_failure(a, t(now)) },
                    Err(RetryAfter(s)) => prop_assert!(s >= 1 && s as i64 <= regain, "{s}"),
                }
                prop_assert!(l.len() <= max_clients);
            }
        }
    }
}
