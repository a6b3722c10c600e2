//! The dispatcher: sends the email outbox. Part of every `--run-once`
//! (`goalkeeper alerts send` runs it alone; the daemon on its `dispatch`
//! schedule).
//!
//! One round: read what is due, decide per user what goes now and what waits
//! ([`crate::domain::delivery`]: quiet hours, daily cap, minimum gap, digest),
//! defer what waits (saying why), claim what goes (one short transaction: each
//! email gets its Message-ID, stable across retries), send with no
//! transaction open, and record outcomes as sends complete: whatever has
//! finished is committed together in one short transaction (group commit, so
//! the batches grow with the load). At most `concurrency` sends run at once
//! (for SMTP `[email.smtp] connections`), and a connection starts its next
//! send only after the previous one's outcome is committed
//! ([`unrecorded_budget`]`(concurrency)` = `concurrency`). A crash leaves the
//! emails being sent claimed; when the claim runs out they are sent again with
//! the same Message-ID: per crash at most `concurrency` duplicates, each
//! Message-ID at most twice, never a loss.

mod entry;
pub use entry::{dispatcher, send_due, send_due_until};

use crate::config::EmailSettings;
use crate::domain::alerts::AlertType;
use crate::domain::card::GoalCard;
use crate::domain::delivery::{self, Due, History, Rules};
use crate::domain::preferences::Preferences;
use crate::domain::wording;
use crate::email::render::{self, Item, Outgoing, Recipient, Sender};
use crate::stop::Stop;
use crate::storage::{AlertStorage, DueDelivery, Outcome};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

/// Deliveries read per round.
const BATCH: i64 = 1_000;
/// How long a claim holds: a sender that crashed is retried after this.
const CLAIM: TimeDelta = TimeDelta::minutes(10);
/// How far back sends count for the daily cap and the gap.
const HISTORY: TimeDelta = TimeDelta::hours(48);

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth retrying: connection, timeout, TLS, a 4xx reply.
    Transient(String),
    /// Refused for good: a 5xx reply.
    Permanent(String),
}

/// Something that sends a finished message (SMTP, files, or a test double).
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, message: lettre::Message) -> impl Future<Output = Result<(), SendFailure>> + Send;

    /// `Some(n)`: this mailer makes its sends durable in batches of up to `n` messages
    /// ([`send_batch`](Self::send_batch), e.g. files synced together), and the dispatcher
    /// records each batch's outcomes in one transaction after it. `None` (the default): one
    /// message at a time, outcomes recorded by group commit.
    fn batch_size(&self) -> Option<usize> {
        None
    }

    /// Sends `messages`, one result per message in order (by default one after another).
    fn send_batch(&self, messages: Vec<lettre::Message>) -> impl Future<Output = Vec<Result<(), SendFailure>>> + Send {
        async move {
            let mut results = Vec::with_capacity(messages.len());
            for message in messages {
                results.push(self.send(message).await);
            }
            results
        }
    }
}

/// What a dispatch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DispatchSummary {
    /// Emails accepted by the server (a digest counts once).
    pub emails_sent: usize,
    /// Alerts in those emails.
    pub alerts_sent: usize,
    /// Alerts held for later (quiet hours, cap, gap).
    pub deferred: usize,
    /// Alerts whose email failed transiently and will be retried.
    pub retrying: usize,
    /// Alerts whose email failed for good.
    pub failed: usize,
}

impl std::fmt::Display for DispatchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "email: {} sent ({} alerts), {} deferred, {} to retry, {} failed",
            self.emails_sent, self.alerts_sent, self.deferred, self.retrying, self.failed
        )
    }
}

/// The delay before retry `attempt` (1 = after the first failure): doubling
/// from `initial` up to `max`, then spread by a jitter of up to −25 % drawn
/// from `seed` (deterministic, so tests can check it; different deliveries
/// spread differently).
pub fn retry_delay(attempt: u32, initial_seconds: u64, max_seconds: u64, seed: u64) -> TimeDelta {
    let doubled = initial_seconds.saturating_mul(1u64 << attempt.saturating_sub(1).min(32));
    let base = doubled.min(max_seconds).max(1);
    // SplitMix64 of the seed: a well-spread number from a small one.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let jitter = z % (base / 4 + 1);
    TimeDelta::seconds(i64::try_from(base - jitter).unwrap_or(i64::MAX))
}

/// A send that has finished (or was given back unsent: `result` is `None`), waiting for its
/// outcome to be committed; `_unrecorded` is its share of the unrecorded budget, given back (dropped)
/// once the outcome is committed.
struct Finished {
    ids: Vec<i64>,
    attempts: i64,
    result: Option<Result<(), SendFailure>>,
    _unrecorded: tokio::sync::OwnedSemaphorePermit,
}

/// How many emails may be handed to the mailer without their outcome committed yet, for
/// `concurrency` sends at once: `concurrency` itself. A connection sends its next email only once
/// the previous one's outcome is committed, so a crash (SIGKILL, OOM) resends at most the emails
/// being sent at that moment, one per connection, each once.
///
/// That costs little because outcome commits do not wait for the disk (the storage's
/// `begin_outcome_write`: SQLite `synchronous = NORMAL` for them, PostgreSQL
/// `synchronous_commit = off`): the commit is in the operating system, or in the database server,
/// when the next send starts. A budget of twice `concurrency` with commits that waited for the disk
/// gave the same throughput but resent up to two emails per connection.
pub fn unrecorded_budget(concurrency: usize) -> usize {
    concurrency.max(1)
}

/// One email to send: its deliveries, leader first.
struct Email {
    ids: Vec<i64>,
    message_id: String,
    message: lettre::Message,
    attempts: i64,
}

/// What the dispatcher needs besides storage.
pub struct Dispatcher<M: Mailer> {
    pub mailer: Arc<M>,
    pub settings: EmailSettings,
    pub sender: Sender,
    /// Who holds claims (host and process), for operators and shared PostgreSQL.
    pub instance: String,
    /// Sends in flight at once.
    pub concurrency: usize,
}

impl<M: Mailer> Dispatcher<M> {
    /// Sends everything due at `now`, in rounds, until nothing due is left.
    pub async fn run<S: AlertStorage>(&self, store: &S, now: DateTime<Utc>) -> anyhow::Result<DispatchSummary> {
        self.run_until(store, now, &Stop::never()).await
    }

    /// [`run`](Self::run), stopping early when `stop` is requested: no new round starts, and emails
    /// claimed but not yet handed to the mailer are given back (pending again, same Message-ID, the
    /// attempt not counted); sends already under way finish and are recorded.
    pub async fn run_until<S: AlertStorage>(
        &self,
        store: &S,
        now: DateTime<Utc>,
        stop: &Stop,
    ) -> anyhow::Result<DispatchSummary> {
        let mut summary = DispatchSummary::default();
        loop {
            if stop.is_requested() {
                return Ok(summary);
            }
            let due = store.due_deliveries(now, BATCH).await?;
            if due.is_empty() {
                return Ok(summary);
            }
            let full = due.len() as i64 == BATCH;
            let mut by_user: BTreeMap<String, Vec<DueDelivery>> = BTreeMap::new();
            for d in due {
                by_user.entry(d.user_id.clone()).or_default().push(d);
            }
            // A full batch may cut its last user's deliveries short: they go next round.
            if full && by_user.len() > 1 {
                by_user.pop_last();
            }
            let round = self.round(store, by_user, now, stop).await?;
            summary.emails_sent += round.emails_sent;
            summary.alerts_sent += round.alerts_sent;
            summary.deferred += round.deferred;
            summary.retrying += round.retrying;
            summary.failed += round.failed;
        }
    }

    async fn round<S: AlertStorage>(
        &self,
        store: &S,
        by_user: BTreeMap<String, Vec<DueDelivery>>,
        now: DateTime<Utc>,
        stop: &Stop,
    ) -> anyhow::Result<DispatchSummary> {
        let mut summary = DispatchSummary::default();
        let users: Vec<&str> = by_user.keys().map(String::as_str).collect();
        let history = store.sent_since(&users, now - HISTORY).await?;
        let prefs = store.preferences(&users).await?;
        let mut emails = Vec::new();
        let mut failed: Vec<(Vec<i64>, Outcome)> = Vec::new();
        let mut deferrals: Vec<(Vec<i64>, DateTime<Utc>, String)> = Vec::new();
        for (user, due) in &by_user {
            let defaults = Preferences::default();
            let pref = prefs.get(user).unwrap_or(&defaults);
            let tz: Tz = due[0].timezone.parse().unwrap_or(Tz::UTC);
            let rules = pref.rules(tz);
            let sent = history.get(user).cloned().unwrap_or_default();
            let plan = self.plan_user(due, &rules, &sent, now);
            for (ids, at, reason) in plan.wait {
                summary.deferred += ids.len();
                deferrals.push((ids, at, reason));
            }
            for group in plan.now {
                match self.compose(due, &group, now) {
                    Ok(email) => emails.push(email),
                    Err(error) => {
                        summary.failed += group.len();
                        failed.push((group, Outcome::Failed { error }));
                    }
                }
            }
        }
        store.defer(&deferrals, now).await?;
        if !failed.is_empty() {
            store.finish(&failed, now).await?;
        }
        if emails.is_empty() || stop.is_requested() {
            return Ok(summary);
        }
        let groups: Vec<(Vec<i64>, String)> = emails.iter().map(|e| (e.ids.clone(), e.message_id.clone())).collect();
        let claimed = store.claim(&groups, &self.instance, now + CLAIM, now).await?;
        let mut by_index: HashMap<usize, Email> = emails.into_iter().enumerate().collect();
        let claimed: Vec<Email> = claimed.into_iter().filter_map(|i| by_index.remove(&i)).collect();
        if let Some(size) = self.mailer.batch_size() {
            self.send_in_batches(store, claimed, size.max(1), now, stop, &mut summary)
                .await?;
            return Ok(summary);
        }
        // One budget (see [`unrecorded_budget`]): at most `unrecorded_budget(concurrency)` =
        // `concurrency` emails handed to the mailer whose outcome is not committed yet, which is
        // all that a crash can resend. The same permits bound the sends under way: a send keeps
        // its permit until its outcome is committed, so a connection's next email waits for that
        // commit. Finished sends are recorded together, in one short transaction, by the loop
        // below (group commit): one email at low volume, many while a commit is under way.
        let unrecorded = Arc::new(tokio::sync::Semaphore::new(unrecorded_budget(self.concurrency)));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Finished>();
        let mut sending = tokio::task::JoinSet::new();
        for email in claimed {
            let mailer = self.mailer.clone();
            let unrecorded = unrecorded.clone();
            let stop = stop.clone();
            let done = done_tx.clone();
            sending.spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                let Ok(permit) = unrecorded.acquire_owned().await else {
                    return;
                };
                // Shutting down: what has not started sending is given back, not sent.
                let result = if stop.is_requested() {
                    None
                } else {
                    Some(mailer.send(email.message).await)
                };
                let finished = Finished {
                    ids: email.ids,
                    attempts: email.attempts,
                    result,
                    _unrecorded: permit,
                };
                // An error there ends the round; the permit is then dropped with the message.
                let _ = done.send(finished);
            });
        }
        drop(done_tx);
        let mut batch = Vec::new();
        while let Some(first) = done_rx.recv().await {
            batch.push(first);
            while let Ok(more) = done_rx.try_recv() {
                batch.push(more);
            }
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut unsent: Vec<i64> = Vec::new();
            for finished in &batch {
                match &finished.result {
                    Some(result) => {
                        let outcome = self.outcome(&finished.ids, finished.attempts, result, now, &mut summary);
                        outcomes.push((finished.ids.clone(), outcome));
                    }
                    None => unsent.extend(finished.ids.iter().copied()),
                }
            }
            if !outcomes.is_empty() {
                store.finish(&outcomes, now).await?;
            }
            if !unsent.is_empty() {
                tracing::info!(
                    deliveries = unsent.len(),
                    "shutting down: emails not sent yet stay in the outbox"
                );
                store.release_claims(&unsent, &self.instance).await?;
            }
            // Committed: their unrecorded permits go back with them.
            batch.clear();
        }
        while let Some(joined) = sending.join_next().await {
            if let Err(e) = joined {
                anyhow::bail!("a send task stopped unexpectedly: {e}");
            }
        }
        Ok(summary)
    }

    /// Sends `claimed` through a batching mailer: each batch made durable by the mailer, then its
    /// outcomes recorded in one transaction. A crash between the two sends that one batch again
    /// (same Message-IDs), nothing else. Stopping gives back the batches not started.
    async fn send_in_batches<S: AlertStorage>(
        &self,
        store: &S,
        claimed: Vec<Email>,
        size: usize,
        now: DateTime<Utc>,
        stop: &Stop,
        summary: &mut DispatchSummary,
    ) -> anyhow::Result<()> {
        let mut rest = claimed.into_iter().peekable();
        while rest.peek().is_some() {
            if stop.is_requested() {
                let unsent: Vec<i64> = rest.flat_map(|e| e.ids).collect();
                tracing::info!(
                    deliveries = unsent.len(),
                    "shutting down: emails not sent yet stay in the outbox"
                );
                store.release_claims(&unsent, &self.instance).await?;
                return Ok(());
            }
            let batch: Vec<Email> = rest.by_ref().take(size).collect();
            let mut meta = Vec::with_capacity(batch.len());
            let mut messages = Vec::with_capacity(batch.len());
            for email in batch {
                meta.push((email.ids, email.attempts));
                messages.push(email.message);
            }
            let results = self.mailer.send_batch(messages).await;
            let mut outcomes = Vec::with_capacity(meta.len());
            for (k, (ids, attempts)) in meta.into_iter().enumerate() {
                let result = results
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| Err(SendFailure::Transient("the mailer gave no result".to_owned())));
                let outcome = self.outcome(&ids, attempts, &result, now, summary);
                outcomes.push((ids, outcome));
            }
            store.finish(&outcomes, now).await?;
        }
        Ok(())
    }

    /// What one finished send means for its deliveries, counted in `summary`.
    fn outcome(
        &self,
        ids: &[i64],
        attempts: i64,
        result: &Result<(), SendFailure>,
        now: DateTime<Utc>,
        summary: &mut DispatchSummary,
    ) -> Outcome {
        match result {
            Ok(()) => {
                summary.emails_sent += 1;
                summary.alerts_sent += ids.len();
                Outcome::Sent
            }
            Err(SendFailure::Permanent(error)) => {
                tracing::warn!(deliveries = ?ids, %error, "email refused permanently");
                summary.failed += ids.len();
                Outcome::Failed { error: error.clone() }
            }
            Err(SendFailure::Transient(error)) => {
                // `attempts` was read before the claim added this one.
                let attempt = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
                if attempt >= self.settings.max_attempts {
                    tracing::warn!(deliveries = ?ids, %error, attempt, "email failed; out of attempts");
                    summary.failed += ids.len();
                    Outcome::Failed {
                        error: format!("gave up after {attempt} attempts; last: {error}"),
                    }
                } else {
                    let seed = ids.first().copied().unwrap_or(0) as u64 ^ u64::from(attempt);
                    let delay = retry_delay(
                        attempt,
                        self.settings.retry_initial_seconds,
                        self.settings.retry_max_seconds,
                        seed,
                    );
                    tracing::info!(deliveries = ?ids, %error, attempt, retry_in_s = delay.num_seconds(), "email failed; will retry");
                    summary.retrying += ids.len();
                    Outcome::Retry {
                        at: now + delay,
                        error: error.clone(),
                    }
                }
            }
        }
    }

    /// What goes now and what waits, for one user's due deliveries.
    fn plan_user(&self, due: &[DueDelivery], rules: &Rules, sent: &[DateTime<Utc>], now: DateTime<Utc>) -> UserPlan {
        // Emails already formed (a retry, or a claim that ran out) keep their
        // deliveries and Message-ID; the rest are grouped afresh.
        let mut formed: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        let mut fresh = Vec::new();
        for d in due {
            match &d.message_id {
                Some(m) => formed.entry(m.as_str()).or_default().push(d.id),
                None => fresh.push(Due {
                    key: d.id,
                    priority: u8::try_from(d.priority).unwrap_or(u8::MAX),
                    created_at: d.alert_created_at,
                }),
            }
        }
        let mut groups: Vec<Vec<i64>> = formed.into_values().collect();
        groups.extend(delivery::plan_emails(&fresh, self.settings.digest));
        let times = delivery::send_times(rules, &History { sent_at: sent }, now, groups.len());
        let mut plan = UserPlan::default();
        let mut so_far = sent.to_vec();
        for (group, at) in groups.into_iter().zip(times) {
            if at <= now {
                so_far.push(at);
                plan.now.push(group);
            } else {
                let reason = delivery::hold_reason(rules, &History { sent_at: &so_far }, now)
                    .map_or_else(|| "waiting".to_owned(), |h| h.to_string());
                plan.wait.push((group, at, reason));
            }
        }
        plan
    }

    /// Renders one email from its deliveries (all of one user).
    fn compose(&self, due: &[DueDelivery], group: &[i64], now: DateTime<Utc>) -> Result<Email, String> {
        let members: Vec<&DueDelivery> = group.iter().filter_map(|id| due.iter().find(|d| d.id == *id)).collect();
        let Some(first) = members.first() else {
            return Err("nothing to send".to_owned());
        };
        let Some(address) = first.email.as_deref() else {
            return Err(format!("user {} has no email address", first.user_id));
        };
        // The same rule as `users add` and `users import` (an address stored before it was refused there fails here).
        let address = crate::domain::user::sendable_address(address).map_err(|e| {
            format!(
                "user {}'s email address {address:?} cannot be sent to: {e}",
                first.user_id
            )
        })?;
        // The email is named after its first delivery: the same group (kept
        // together by its stored Message-ID) gives the same name on every attempt.
        let leader = group.iter().copied().min().unwrap_or(first.id);
        let message_id = first
            .message_id
            .clone()
            .unwrap_or_else(|| render::message_id(leader, &self.sender.from));
        let mut items = Vec::with_capacity(members.len());
        let mut ordered = members.clone();
        ordered.sort_by_key(|d| (d.priority, d.alert_created_at, d.id));
        for d in ordered {
            let card: Option<GoalCard> = d.card.as_deref().and_then(|c| serde_json::from_str(c).ok());
            items.push(Item {
                alert_type: d
                    .alert_type
                    .parse::<AlertType>()
                    .map_err(|e| format!("delivery {}: {e}", d.id))?,
                title: d.title.clone(),
                message: d.message.clone(),
                action_url: d.action_url.clone(),
                goal: card_view(card.as_ref()),
            });
        }
        let outgoing = Outgoing {
            message_id: message_id.clone(),
            now,
            to: Recipient {
                name: first.display_name.clone(),
                address,
            },
            items,
        };
        let message = render::render(&self.sender, &outgoing).map_err(|e| format!("rendering the email: {e}"))?;
        Ok(Email {
            ids: group.to_vec(),
            message_id,
            message,
            attempts: members.iter().map(|d| d.attempts).max().unwrap_or(0),
        })
    }
}

#[derive(Default)]
struct UserPlan {
    now: Vec<Vec<i64>>,
    wait: Vec<(Vec<i64>, DateTime<Utc>, String)>,
}

/// The renderer's view of a goal card.
fn card_view(card: Option<&GoalCard>) -> render::GoalCard {
    match card {
        Some(c) => {
            let words = wording::of_card(c);
            render::GoalCard {
                name: c.goal_name.clone(),
                standing: words.standing,
                progress_percent: c.percent_shown(),
                on_track: c.on_track,
                needed: words.needed,
                projected_completion: c.projected_completion.map(|d| d.to_string()),
            }
        }
        None => render::GoalCard {
            name: String::new(),
            standing: wording::Fact::default(),
            progress_percent: 0.0,
            on_track: true,
            needed: None,
            projected_completion: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap_with_at_most_a_quarter_of_jitter() {
        for seed in 0..50u64 {
            for (attempt, base) in [(1u32, 60i64), (2, 120), (3, 240), (4, 480), (7, 3600), (20, 3600)] {
                let d = retry_delay(attempt, 60, 3600, seed).num_seconds();
                assert!(d <= base && d >= base - base / 4, "attempt {attempt} seed {seed}: {d}");
            }
        }
        let spread: std::collections::HashSet<i64> =
            (0..50u64).map(|s| retry_delay(3, 60, 3600, s).num_seconds()).collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    }
}
