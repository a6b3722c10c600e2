//! What alerts, preferences and the email outbox keep: the [`AlertStorage`]
//! interface, implemented for both backends from `alert_sql.rs`.

use super::Storage;
use crate::domain::alerts::NewAlert;
use crate::domain::card::GoalCard;
use crate::domain::preferences::Preferences;
use crate::domain::{GoalId, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;

/// An alert to store once per (goal, type, occurrence), with whether it is
/// emailed (then an outbox row is written in the same transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAlert {
    pub goal_id: GoalId,
    pub user_id: UserId,
    pub alert: NewAlert,
    /// The goal as the alert saw it, for its email: stored only when `email`.
    pub card: GoalCard,
    pub email: bool,
}

/// Where an alert's email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Due; waiting for the dispatcher.
    Pending,
    /// Held until `due_at` (quiet hours, daily cap, minimum gap, retry backoff).
    Deferred,
    /// Claimed by a dispatcher that is sending it (until `claimed_until`).
    Sending,
    Sent,
    /// Refused permanently, or out of attempts.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Deferred,
        DeliveryStatus::Sending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("found {s:?}; expected one of pending, deferred, sending, sent, failed"))
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored alert, with its email delivery if it has one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub goal_id: String,
    pub user_id: String,
    #[serde(rename = "type")]
    pub alert_type: String,
    pub occurrence: String,
    pub priority: i64,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub delivery: Option<DeliveryRow>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub status: DeliveryStatus,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub hold_reason: Option<String>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Which alerts `alerts list` shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertFilter<'a> {
    pub user: Option<&'a UserId>,
    /// Only alerts whose delivery has this status.
    pub status: Option<DeliveryStatus>,
    pub limit: Option<i64>,
}

/// A delivery the dispatcher may send, with everything its email needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub id: i64,
    pub alert_id: i64,
    pub user_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// Set on the first claim; kept for every retry (one email, one Message-ID).
    pub message_id: Option<String>,
    pub alert_type: String,
    pub priority: i64,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
    /// JSON of a [`GoalCard`].
    pub card: Option<String>,
    pub alert_created_at: DateTime<Utc>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub timezone: String,
}

/// What happened to one email (one or more deliveries).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// A transient failure: try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// Alerts, preferences and the outbox. Every method is a unit of work.
pub trait AlertStorage: Storage {
    /// Stored preferences of these users; a user without a row has the defaults.
    fn preferences(&self, users: &[&str]) -> impl Future<Output = anyhow::Result<HashMap<String, Preferences>>> + Send;

    fn set_preferences(
        &self,
        user: &UserId,
        prefs: &Preferences,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Stores alerts not stored before (and their outbox rows) in one
    /// transaction; returns how many were new.
    fn record_alerts(
        &self,
        alerts: &[PlannedAlert],
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<usize>> + Send;

    /// Alerts, newest first.
    fn list_alerts(&self, filter: AlertFilter<'_>) -> impl Future<Output = anyhow::Result<Vec<AlertRow>>> + Send;

    /// Marks an alert read; `false` if it does not exist.
    fn mark_read(&self, alert_id: i64, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Deliveries due at `now` (pending or deferred until now, or claimed by
    /// a sender whose claim ran out), by user, at most `limit`.
    fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = anyhow::Result<Vec<DueDelivery>>> + Send;

    /// When each of these users was sent an email since `since` (one instant per email, not per alert).
    fn sent_since(
        &self,
        users: &[&str],
        since: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<HashMap<String, Vec<DateTime<Utc>>>>> + Send;

    /// Holds each group of deliveries until its time, saying why, in one
    /// transaction: (delivery ids, until, reason).
    fn defer(
        &self,
        deferrals: &[(Vec<i64>, DateTime<Utc>, String)],
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Claims each group of deliveries as one email with its Message-ID,
    /// until `until`; a group another sender claimed first is left out.
    /// Returns the indices of the groups claimed.
    fn claim(
        &self,
        groups: &[(Vec<i64>, String)],
        instance: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<Vec<usize>>> + Send;

    /// Gives back deliveries this `instance` claimed but did not try to send (the daemon is shutting
    /// down): pending again, the attempt not counted, their Message-ID kept.
    fn release_claims(&self, ids: &[i64], instance: &str) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// How many deliveries are in each status (every status present, zero included).
    fn delivery_counts(
        &self,
    ) -> impl Future<Output = anyhow::Result<std::collections::BTreeMap<DeliveryStatus, i64>>> + Send;

    /// How many alerts are stored, by type (for `/metrics`).
    fn alert_counts(&self) -> impl Future<Output = anyhow::Result<Vec<(String, i64)>>> + Send;

    /// Records what happened to claimed emails, in one transaction.
    fn finish(
        &self,
        outcomes: &[(Vec<i64>, Outcome)],
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}
