//! Telling systemd how the daemon is (`Type=notify`, [sd_notify(3)]): `READY=1` once it is ready,
//! `STATUS=` after every run, `WATCHDOG=1` while it is alive, `STOPPING=1` on shutdown. Without
//! `NOTIFY_SOCKET` (not started by systemd) every call does nothing.
//!
//! [sd_notify(3)]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html

use sd_notify::NotifyState;
use std::time::Duration;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    // One line: systemd shows the status as it is.
    let line: String = status.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    send(&[NotifyState::Status(&line)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `WatchdogSec=` (at least a second, the scheduler's
/// resolution), or `None` when systemd does not watch this process.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec / 2).max(Duration::from_secs(1)))
}
