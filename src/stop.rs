//! A cooperative stop request: long work (an inbox pass over many files, a dispatch round of many
//! emails) checks it between units of work, so a daemon asked to shut down finishes the file
//! transaction or email send in progress and takes nothing new.

use tokio::sync::watch;

/// The receiving side: cheap to clone, checked by the work.
#[derive(Debug, Clone)]
pub struct Stop(Option<watch::Receiver<bool>>);

/// The requesting side, kept by whoever decides to stop (the daemon's signal handling).
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl Stop {
    /// A stop that is never requested (`--run-once`, one-shot commands).
    pub fn never() -> Stop {
        Stop(None)
    }

    pub fn new() -> (StopHandle, Stop) {
        let (tx, rx) = watch::channel(false);
        (StopHandle(tx), Stop(Some(rx)))
    }

    pub fn is_requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves once a stop is requested (never, for [`Stop::never`] or a dropped handle).
    pub async fn requested(&self) {
        if let Some(rx) = &self.0 {
            let mut rx = rx.clone();
            if rx.wait_for(|stop| *stop).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

impl StopHandle {
    pub fn request(&self) {
        self.0.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_requested_stop_is_seen_by_every_clone_and_wakes_waiters() {
        let (handle, stop) = Stop::new();
        let other = stop.clone();
        assert!(!stop.is_requested());
        let waiter = tokio::spawn(async move { other.requested().await });
        handle.request();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(stop.is_requested());
        assert!(!Stop::never().is_requested());
    }
}
