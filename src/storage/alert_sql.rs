//! The SQL of [`AlertStorage`](super::AlertStorage), shared by both backends
//! (`$N` placeholders work on both), and the alert inserts that the progress
//! transactions in `sql.rs` call.

use super::alerts::{AlertRow, DeliveryRow, DueDelivery};
use crate::domain::delivery::QuietHours;
use crate::domain::preferences::Preferences;
use chrono::{DateTime, Utc};

/// Alerts per multi-row insert: 10 columns, far below both parameter limits.
pub(super) const ALERT_CHUNK: usize = 500;
/// Deferrals per bulk `UPDATE`: 3 binds each, more than a round (1,000 deliveries) in one.
pub(super) const DEFER_CHUNK: usize = 2_000;

#[derive(sqlx::FromRow)]
pub(super) struct PrefsRow {
    user_id: String,
    enabled_alerts: String,
    email_enabled: bool,
    push_enabled: bool,
    in_app_enabled: bool,
    quiet_hours_start: Option<String>,
    quiet_hours_end: Option<String>,
    max_alerts_per_day: i64,
    min_hours_between_alerts: i64,
}

impl PrefsRow {
    pub(super) fn into_prefs(self) -> (String, Preferences) {
        let quiet_hours = match (&self.quiet_hours_start, &self.quiet_hours_end) {
            (Some(start), Some(end)) => QuietHours::parse(&format!("{start}-{end}")).ok().flatten(),
            _ => None,
        };
        let prefs = Preferences {
            enabled: Preferences::parse_enabled(&self.enabled_alerts),
            email_enabled: self.email_enabled,
            push_enabled: self.push_enabled,
            in_app_enabled: self.in_app_enabled,
            quiet_hours,
            max_per_day: u32::try_from(self.max_alerts_per_day).unwrap_or(0),
            min_gap_hours: u32::try_from(self.min_hours_between_alerts).unwrap_or(0),
        };
        (self.user_id, prefs)
    }
}

pub(super) const PREFS_SELECT: &str = "SELECT user_id, enabled_alerts, email_enabled, push_enabled, in_app_enabled, \
     quiet_hours_start, quiet_hours_end, max_alerts_per_day, min_hours_between_alerts FROM alert_preferences";

#[derive(sqlx::FromRow)]
pub(super) struct AlertListRow {
    id: i64,
    goal_id: String,
    user_id: String,
    alert_type: String,
    occurrence: String,
    priority: i64,
    title: String,
    message: String,
    action_url: Option<String>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
    d_id: Option<i64>,
    d_status: Option<String>,
    d_due_at: Option<DateTime<Utc>>,
    d_attempts: Option<i64>,
    d_hold_reason: Option<String>,
    d_last_error: Option<String>,
    d_message_id: Option<String>,
    d_sent_at: Option<DateTime<Utc>>,
}

pub(super) const ALERT_LIST_SELECT: &str = "SELECT a.id, a.goal_id, a.user_id, a.alert_type, a.occurrence, \
     a.priority, a.title, a.message, a.action_url, a.created_at, a.read_at, d.id AS d_id, d.status AS d_status, \
     d.due_at AS d_due_at, d.attempts AS d_attempts, d.hold_reason AS d_hold_reason, d.last_error AS d_last_error, \
     d.message_id AS d_message_id, d.sent_at AS d_sent_at \
     FROM alerts a LEFT JOIN email_deliveries d ON d.alert_id = a.id";

impl AlertListRow {
    pub(super) fn into_row(self) -> anyhow::Result<AlertRow> {
        let delivery = match (self.d_id, self.d_status, self.d_due_at) {
            (Some(id), Some(status), Some(due_at)) => Some(DeliveryRow {
                id,
                status: status
                    .parse()
                    .map_err(|e| anyhow::anyhow!("stored delivery {id} has an unknown status: {e}"))?,
                due_at,
                attempts: self.d_attempts.unwrap_or(0),
                hold_reason: self.d_hold_reason,
                last_error: self.d_last_error,
                message_id: self.d_message_id,
                sent_at: self.d_sent_at,
            }),
            _ => None,
        };
        Ok(AlertRow {
            id: self.id,
            goal_id: self.goal_id,
            user_id: self.user_id,
            alert_type: self.alert_type,
            occurrence: self.occurrence,
            priority: self.priority,
            title: self.title,
            message: self.message,
            action_url: self.action_url,
            created_at: self.created_at,
            read_at: self.read_at,
            delivery,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DueRow {
    id: i64,
    alert_id: i64,
    user_id: String,
    status: String,
    attempts: i64,
    message_id: Option<String>,
    alert_type: String,
    priority: i64,
    title: String,
    message: String,
    action_url: Option<String>,
    card: Option<String>,
    alert_created_at: DateTime<Utc>,
    email: Option<String>,
    display_name: Option<String>,
    timezone: String,
}

pub(super) const DUE_SELECT: &str = "SELECT d.id, d.alert_id, d.user_id, d.status, d.attempts, d.message_id, \
     a.alert_type, a.priority, a.title, a.message, a.action_url, a.card, a.created_at AS alert_created_at, \
     u.email, u.display_name, u.timezone \
     FROM email_deliveries d JOIN alerts a ON a.id = d.alert_id JOIN users u ON u.id = d.user_id \
     WHERE (d.status IN ('pending', 'deferred') AND d.due_at <= $1) \
        OR (d.status = 'sending' AND d.claimed_until <= $1) \
     ORDER BY d.user_id, d.id LIMIT $2";

impl DueRow {
    pub(super) fn into_due(self) -> anyhow::Result<DueDelivery> {
        Ok(DueDelivery {
            id: self.id,
            alert_id: self.alert_id,
            user_id: self.user_id,
            status: self
                .status
                .parse()
                .map_err(|e| anyhow::anyhow!("stored delivery {} has an unknown status: {e}", self.id))?,
            attempts: self.attempts,
            message_id: self.message_id,
            alert_type: self.alert_type,
            priority: self.priority,
            title: self.title,
            message: self.message,
            action_url: self.action_url,
            card: self.card,
            alert_created_at: self.alert_created_at,
            email: self.email,
            display_name: self.display_name,
            timezone: self.timezone,
        })
    }
}

/// Implements [`AlertStorage`](super::AlertStorage) for `$store` (see `impl_storage`).
macro_rules! impl_alert_storage {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Gives this instance's claimed deliveries back inside `tx`: pending
            /// again, the attempt not counted (their Message-ID is kept).
            async fn release_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                ids: &[i64],
                instance: &str,
            ) -> anyhow::Result<()> {
                for chunk in ids.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE email_deliveries SET status = 'pending', claimed_by = NULL, claimed_until = NULL, \
                         attempts = attempts - 1 WHERE claimed_by = ",
                    );
                    q.push_bind(instance).push(" AND status = 'sending' AND id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().persistent(false).execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Inserts alerts not stored before, and an outbox row for each new
            /// one that is emailed, inside `tx`; returns how many were new.
            #[allow(dead_code)]
            pub(super) async fn insert_alerts_sql(
                tx: &mut sqlx::Transaction<'static, $db>,
                alerts: &[$crate::storage::PlannedAlert],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<usize> {
                use $crate::storage::alert_sql::ALERT_CHUNK;
                let mut new = 0;
                for chunk in alerts.chunks(ALERT_CHUNK) {
                    // Only an emailed alert keeps its card: the email is all that reads it.
                    let cards: Vec<Option<String>> = chunk
                        .iter()
                        .map(|a| a.email.then(|| serde_json::to_string(&a.card)).transpose())
                        .collect::<Result<_, _>>()?;
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO alerts (goal_id, user_id, alert_type, occurrence, priority, title, message, \
                         action_url, card, created_at) ",
                    );
                    q.push_values(chunk.iter().zip(&cards), |mut row, (a, card)| {
                        row.push_bind(a.goal_id.as_str())
                            .push_bind(a.user_id.as_str())
                            .push_bind(a.alert.alert_type.as_str())
                            .push_bind(a.alert.occurrence.as_str())
                            .push_bind(i64::from(a.alert.alert_type.priority()))
                            .push_bind(a.alert.title.as_str())
                            .push_bind(a.alert.message.as_str())
                            .push_bind(a.alert.action_url.as_deref())
                            .push_bind(card.as_deref())
                            .push_bind(now);
                    });
                    q.push(" ON CONFLICT (goal_id, alert_type, occurrence) DO NOTHING RETURNING id, goal_id, alert_type, occurrence");
                    let created: Vec<(i64, String, String, String)> =
                        q.build_query_as().persistent(false).fetch_all(&mut **tx).await?;
                    new += created.len();
                    let emailed: std::collections::HashSet<(&str, &str, &str)> = chunk
                        .iter()
                        .filter(|a| a.email)
                        .map(|a| (a.goal_id.as_str(), a.alert.alert_type.as_str(), a.alert.occurrence.as_str()))
                        .collect();
                    let outbox: Vec<(i64, &str)> = created
                        .iter()
                        .filter(|(_, g, t, o)| emailed.contains(&(g.as_str(), t.as_str(), o.as_str())))
                        .filter_map(|(id, g, _, _)| {
                            chunk.iter().find(|a| a.goal_id.as_str() == g).map(|a| (*id, a.user_id.as_str()))
                        })
                        .collect();
                    if outbox.is_empty() {
                        continue;
                    }
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO email_deliveries (alert_id, user_id, status, due_at, created_at, updated_at) ",
                    );
                    q.push_values(&outbox, |mut row, (id, user)| {
                        row.push_bind(*id)
                            .push_bind(*user)
                            .push_bind("pending")
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(now);
                    });
                    q.push(" ON CONFLICT (alert_id) DO NOTHING");
                    q.build().persistent(false).execute(&mut **tx).await?;
                }
                Ok(new)
            }
        }

        impl $crate::storage::AlertStorage for $store {
            async fn preferences(
                &self,
                users: &[&str],
            ) -> anyhow::Result<std::collections::HashMap<String, $crate::domain::preferences::Preferences>> {
                let mut out = std::collections::HashMap::with_capacity(users.len());
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new($crate::storage::alert_sql::PREFS_SELECT);
                    q.push(" WHERE user_id IN (");
                    let mut list = q.separated(", ");
                    for u in chunk {
                        list.push_bind(*u);
                    }
                    q.push(")");
                    let rows: Vec<$crate::storage::alert_sql::PrefsRow> =
                        q.build_query_as().persistent(false).fetch_all(&self.pool).await?;
                    out.extend(rows.into_iter().map($crate::storage::alert_sql::PrefsRow::into_prefs));
                }
                for u in users {
                    out.entry((*u).to_owned()).or_default();
                }
                Ok(out)
            }

            async fn set_preferences(
                &self,
                user: &$crate::domain::UserId,
                prefs: &$crate::domain::preferences::Preferences,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<()> {
                let start = prefs.quiet_hours.map(|q| q.start.format("%H:%M").to_string());
                let end = prefs.quiet_hours.map(|q| q.end.format("%H:%M").to_string());
                sqlx::query(
                    "INSERT INTO alert_preferences (user_id, enabled_alerts, email_enabled, push_enabled, \
                     in_app_enabled, quiet_hours_start, quiet_hours_end, max_alerts_per_day, \
                     min_hours_between_alerts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (user_id) DO UPDATE SET enabled_alerts = excluded.enabled_alerts, \
                     email_enabled = excluded.email_enabled, push_enabled = excluded.push_enabled, \
                     in_app_enabled = excluded.in_app_enabled, quiet_hours_start = excluded.quiet_hours_start, \
                     quiet_hours_end = excluded.quiet_hours_end, max_alerts_per_day = excluded.max_alerts_per_day, \
                     min_hours_between_alerts = excluded.min_hours_between_alerts, updated_at = excluded.updated_at",
                )
                .bind(user.as_str())
                .bind(prefs.enabled_text())
                .bind(prefs.email_enabled)
                .bind(prefs.push_enabled)
                .bind(prefs.in_app_enabled)
                .bind(start)
                .bind(end)
                .bind(i64::from(prefs.max_per_day))
                .bind(i64::from(prefs.min_gap_hours))
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn record_alerts(
                &self,
                alerts: &[$crate::storage::PlannedAlert],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<usize> {
                if alerts.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let new = Self::insert_alerts(&mut tx, alerts, now).await?;
                tx.commit().await?;
                Ok(new)
            }

            async fn list_alerts(
                &self,
                filter: $crate::storage::AlertFilter<'_>,
            ) -> anyhow::Result<Vec<$crate::storage::AlertRow>> {
                let mut q = sqlx::QueryBuilder::<$db>::new($crate::storage::alert_sql::ALERT_LIST_SELECT);
                q.push(" WHERE 1 = 1");
                if let Some(user) = filter.user {
                    // Through the user's goals: alerts are keyed by goal (migration 0004).
                    q.push(" AND a.goal_id IN (SELECT g.id FROM goals g WHERE g.user_id = ")
                        .push_bind(user.as_str())
                        .push(") AND a.user_id = ")
                        .push_bind(user.as_str());
                }
                if let Some(status) = filter.status {
                    q.push(" AND d.status = ").push_bind(status.as_str());
                }
                q.push(" ORDER BY a.created_at DESC, a.id DESC");
                if let Some(limit) = filter.limit {
                    q.push(" LIMIT ").push_bind(limit);
                }
                let rows: Vec<$crate::storage::alert_sql::AlertListRow> =
                    q.build_query_as().persistent(false).fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::storage::alert_sql::AlertListRow::into_row).collect()
            }

            async fn mark_read(&self, alert_id: i64, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<bool> {
                let done = sqlx::query("UPDATE alerts SET read_at = COALESCE(read_at, $1) WHERE id = $2")
                    .bind(now)
                    .bind(alert_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn due_deliveries(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> anyhow::Result<Vec<$crate::storage::DueDelivery>> {
                let rows: Vec<$crate::storage::alert_sql::DueRow> =
                    sqlx::query_as($crate::storage::alert_sql::DUE_SELECT)
                        .bind(now)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map($crate::storage::alert_sql::DueRow::into_due).collect()
            }

            async fn sent_since(
                &self,
                users: &[&str],
                since: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<std::collections::HashMap<String, Vec<chrono::DateTime<chrono::Utc>>>> {
                let mut out: std::collections::HashMap<String, Vec<chrono::DateTime<chrono::Utc>>> =
                    std::collections::HashMap::new();
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    // One email may carry several deliveries (a digest): one row per Message-ID.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT user_id, MIN(sent_at) FROM email_deliveries WHERE status = 'sent' AND sent_at >= ",
                    );
                    q.push_bind(since).push(" AND user_id IN (");
                    let mut list = q.separated(", ");
                    for u in chunk {
                        list.push_bind(*u);
                    }
                    q.push(") GROUP BY user_id, COALESCE(message_id, CAST(id AS TEXT))");
                    let rows: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> =
                        q.build_query_as().persistent(false).fetch_all(&self.pool).await?;
                    for (user, at) in rows {
                        if let Some(at) = at {
                            out.entry(user).or_default().push(at);
                        }
                    }
                }
                Ok(out)
            }

            async fn defer(
                &self,
                deferrals: &[(Vec<i64>, chrono::DateTime<chrono::Utc>, String)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<()> {
                if deferrals.is_empty() {
                    return Ok(());
                }
                // One statement for the whole round (each delivery with its own time and reason),
                // in chunks only to stay under the backends' bind limits: 6,752 deferrals were
                // 6,752 statements when each user's wait was its own UPDATE.
                let rows: Vec<(i64, chrono::DateTime<chrono::Utc>, &str)> = deferrals
                    .iter()
                    .flat_map(|(ids, until, reason)| ids.iter().map(move |id| (*id, *until, reason.as_str())))
                    .collect();
                let mut tx = self.begin_write().await?;
                for chunk in rows.chunks($crate::storage::alert_sql::DEFER_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("WITH held (id, due_at, reason) AS (");
                    q.push_values(chunk, |mut row, (id, until, reason)| {
                        row.push_bind(*id).push_bind(*until).push_bind(*reason);
                    });
                    q.push(
                        ") UPDATE email_deliveries SET status = 'deferred', due_at = held.due_at, \
                         hold_reason = held.reason, updated_at = ",
                    )
                    .push_bind(now)
                    .push(
                        " FROM held WHERE email_deliveries.id = held.id \
                         AND email_deliveries.status IN ('pending', 'deferred')",
                    );
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn claim(
                &self,
                groups: &[(Vec<i64>, String)],
                instance: &str,
                until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<Vec<usize>> {
                let mut tx = self.begin_write().await?;
                let mut claimed = Vec::with_capacity(groups.len());
                for (i, (ids, message_id)) in groups.iter().enumerate() {
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE email_deliveries SET status = 'sending', message_id = ");
                    q.push_bind(message_id.as_str())
                        .push(", claimed_by = ")
                        .push_bind(instance)
                        .push(", claimed_until = ")
                        .push_bind(until)
                        .push(", attempts = attempts + 1, hold_reason = NULL, updated_at = ")
                        .push_bind(now)
                        .push(" WHERE ((status IN ('pending', 'deferred') AND due_at <= ")
                        .push_bind(now)
                        .push(") OR (status = 'sending' AND claimed_until <= ")
                        .push_bind(now)
                        .push(")) AND id IN (");
                    let mut list = q.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let done = q.build().persistent(false).execute(&mut *tx).await?;
                    if done.rows_affected() == ids.len() as u64 {
                        claimed.push(i);
                    } else if done.rows_affected() > 0 {
                        // Part of the group went to another sender: give back what we took.
                        Self::release_in(&mut tx, ids, instance).await?;
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn release_claims(&self, ids: &[i64], instance: &str) -> anyhow::Result<()> {
                let mut tx = self.begin_write().await?;
                Self::release_in(&mut tx, ids, instance).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn alert_counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
                Ok(
                    sqlx::query_as("SELECT alert_type, COUNT(*) FROM alerts GROUP BY alert_type ORDER BY alert_type")
                        .fetch_all(&self.pool)
                        .await?,
                )
            }

            async fn delivery_counts(
                &self,
            ) -> anyhow::Result<std::collections::BTreeMap<$crate::storage::DeliveryStatus, i64>> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM email_deliveries GROUP BY status")
                        .fetch_all(&self.pool)
                        .await?;
                let mut counts: std::collections::BTreeMap<$crate::storage::DeliveryStatus, i64> =
                    $crate::storage::DeliveryStatus::ALL.into_iter().map(|s| (s, 0)).collect();
                for (status, n) in rows {
                    let status: $crate::storage::DeliveryStatus = status
                        .parse()
                        .map_err(|e| anyhow::anyhow!("a stored delivery has an unknown status: {e}"))?;
                    counts.insert(status, n);
                }
                Ok(counts)
            }

            async fn finish(
                &self,
                outcomes: &[(Vec<i64>, $crate::storage::Outcome)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<()> {
                use $crate::storage::Outcome;
                let mut tx = self.begin_outcome_write().await?;
                let sent: Vec<i64> = outcomes
                    .iter()
                    .filter(|(_, o)| matches!(o, Outcome::Sent))
                    .flat_map(|(ids, _)| ids.iter().copied())
                    .collect();
                for chunk in sent.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE email_deliveries SET status = 'sent', claimed_by = NULL, claimed_until = NULL, \
                         last_error = NULL, hold_reason = NULL, sent_at = ",
                    );
                    q.push_bind(now).push(", updated_at = ").push_bind(now).push(" WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().persistent(false).execute(&mut *tx).await?;
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE alerts SET delivered_at = ");
                    q.push_bind(now)
                        .push(" WHERE id IN (SELECT alert_id FROM email_deliveries WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push("))");
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                for (ids, outcome) in outcomes {
                    let (status, due, error) = match outcome {
                        Outcome::Sent => continue,
                        Outcome::Retry { at, error } => ("deferred", *at, error.as_str()),
                        Outcome::Failed { error } => ("failed", now, error.as_str()),
                    };
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE email_deliveries SET status = ");
                    q.push_bind(status)
                        .push(", due_at = ")
                        .push_bind(due)
                        .push(", last_error = ")
                        .push_bind(error)
                        .push(", hold_reason = ")
                        .push_bind(if status == "deferred" { Some("retry") } else { None })
                        .push(", claimed_by = NULL, claimed_until = NULL, updated_at = ")
                        .push_bind(now)
                        .push(" WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_alert_storage;
