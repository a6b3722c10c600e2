//! Rows as the SQL of both backends reads and writes them: the column lists, the row types and
//! their conversions into domain values, and the small helpers the shared statements use. The
//! statements themselves are in [`super::sql`].

use crate::domain::snapshot::SnapshotLine;
use crate::domain::{Email, Kind, Money, Period, Rate, User, UserId};
use anyhow::Context;
use chrono_tz::Tz;

/// Keys per lookup or insert of snapshots and users. Only statements of a
/// full chunk are kept prepared: the odd-sized last one of each file would
/// otherwise fill the statement cache with shapes never seen again.
pub(super) const KEY_CHUNK: usize = 500;

/// Counts and line numbers fit an i64 for any file goalkeeper accepts.
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn user_from_parts(
    id: String,
    email: Option<String>,
    display_name: Option<String>,
    timezone: String,
) -> anyhow::Result<User> {
    let tz: Tz = timezone
        .parse()
        .map_err(|_| anyhow::anyhow!("stored user {id:?} has an unknown time zone {timezone:?}"))?;
    Ok(User {
        id: UserId::from_trusted(id),
        email: email.map(Email::from_trusted),
        display_name,
        timezone: tz,
    })
}

pub(super) fn line_from_parts(
    kind: &str,
    account: Option<String>,
    category: String,
    amount: i64,
    rate: Option<String>,
    min_payment: Option<i64>,
) -> anyhow::Result<SnapshotLine> {
    let kind: Kind = kind
        .parse()
        .map_err(|()| anyhow::anyhow!("stored line has an unknown kind {kind:?}"))?;
    let rate = rate
        .map(|r| {
            r.parse::<Rate>()
                .map_err(|()| anyhow::anyhow!("stored line has a malformed rate {r:?}"))
        })
        .transpose()?;
    Ok(SnapshotLine {
        kind,
        account,
        category,
        amount: Money::from_cents(amount),
        rate,
        min_payment: min_payment.map(Money::from_cents),
    })
}

pub(super) fn parse_period(s: &str) -> anyhow::Result<Period> {
    s.parse()
        .with_context(|| format!("stored snapshot has a malformed period {s:?}"))
}

/// `INSERT INTO users ... ON CONFLICT (id) <on_conflict>` for a chunk of users.
pub(super) fn insert_users<'a, DB: sqlx::Database>(
    users: &'a [User],
    now: chrono::DateTime<chrono::Utc>,
    on_conflict: &str,
) -> sqlx::QueryBuilder<'a, DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    chrono::DateTime<chrono::Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q =
        sqlx::QueryBuilder::new("INSERT INTO users (id, email, display_name, timezone, created_at, updated_at) ");
    q.push_values(users, |mut row, u| {
        row.push_bind(u.id.as_str())
            .push_bind(u.email.as_ref().map(|e| e.as_str()))
            .push_bind(u.display_name.as_deref())
            .push_bind(u.timezone.name())
            .push_bind(now)
            .push_bind(now);
    });
    q.push(" ON CONFLICT (id) ");
    q.push(on_conflict);
    q
}

pub(super) const GOAL_SELECT: &str = "SELECT id, user_id, name, description, goal_type, target_value, target_date, \
     start_date, original_balance, is_recurring, recurrence_period, tracking_frequency, reminder_enabled, \
     reminder_day, status, template_id, completed_at, created_at, updated_at FROM goals";

#[derive(sqlx::FromRow)]
pub(crate) struct GoalRow {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) goal_type: String,
    pub(crate) target_value: i64,
    pub(crate) target_date: Option<chrono::NaiveDate>,
    pub(crate) start_date: chrono::NaiveDate,
    pub(crate) original_balance: Option<i64>,
    pub(crate) is_recurring: bool,
    pub(crate) recurrence_period: Option<String>,
    pub(crate) tracking_frequency: String,
    pub(crate) reminder_enabled: bool,
    pub(crate) reminder_day: i64,
    pub(crate) status: String,
    pub(crate) template_id: Option<String>,
    pub(crate) completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) created_at: chrono::DateTime<chrono::Utc>,
    pub(crate) updated_at: chrono::DateTime<chrono::Utc>,
}

impl GoalRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

fn stored<T: std::str::FromStr>(what: &str, text: &str) -> anyhow::Result<T> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("stored goal has an unknown {what} {text:?}"))
}

/// Links by goal id: (accounts, categories).
pub(crate) type LinkMap = std::collections::HashMap<String, crate::domain::goal::GoalLinks>;

pub(super) fn goals_from_rows(rows: Vec<GoalRow>, mut links: LinkMap) -> anyhow::Result<Vec<crate::domain::Goal>> {
    rows.into_iter()
        .map(|r| {
            Ok(crate::domain::Goal {
                links: links.remove(&r.id).unwrap_or_default(),
                id: crate::domain::GoalId::from_trusted(r.id),
                user_id: UserId::from_trusted(r.user_id),
                name: r.name,
                description: r.description,
                goal_type: stored("goal type", &r.goal_type)?,
                target: Money::from_cents(r.target_value),
                target_date: r.target_date,
                start_date: r.start_date,
                original_balance: r.original_balance.map(Money::from_cents),
                is_recurring: r.is_recurring,
                recurrence_period: r
                    .recurrence_period
                    .as_deref()
                    .map(|p| stored("recurrence", p))
                    .transpose()?,
                tracking_frequency: stored("tracking frequency", &r.tracking_frequency)?,
                reminder_enabled: r.reminder_enabled,
                reminder_day: u8::try_from(r.reminder_day).unwrap_or(1),
                status: stored("status", &r.status)?,
                completed_at: r.completed_at,
                template_id: r.template_id,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct ProgressRow {
    pub(super) id: i64,
    pub(super) goal_id: String,
    pub(super) period: String,
    pub(super) value: i64,
    pub(super) contribution: i64,
    pub(super) progress_ratio: f64,
    pub(super) on_track: bool,
    pub(super) off_track_streak: i64,
    pub(super) principal_paid: Option<i64>,
    pub(super) interest_paid: Option<i64>,
    pub(super) source: String,
    pub(super) snapshot_id: Option<i64>,
    pub(super) recorded_at: chrono::DateTime<chrono::Utc>,
    pub(super) note: Option<String>,
}

impl ProgressRow {
    pub(super) fn into_entry(self) -> anyhow::Result<crate::domain::goal::ProgressEntry> {
        Ok(crate::domain::goal::ProgressEntry {
            id: self.id,
            goal_id: crate::domain::GoalId::from_trusted(self.goal_id),
            period: parse_period(&self.period)?,
            value: Money::from_cents(self.value),
            contribution: Money::from_cents(self.contribution),
            progress: self.progress_ratio,
            on_track: self.on_track,
            off_track_streak: u32::try_from(self.off_track_streak).unwrap_or(0),
            principal_paid: self.principal_paid.map(Money::from_cents),
            interest_paid: self.interest_paid.map(Money::from_cents),
            source: stored("progress source", &self.source)?,
            snapshot_id: self.snapshot_id,
            recorded_at: self.recorded_at,
            note: self.note,
        })
    }
}

/// Folds one row of the sync-state query into `states`.
/// goal, period, value, contribution, progress, on_track, off_track_streak, debt_seen, rn_desc, rn_asc
pub(super) type SyncRow = (String, String, i64, i64, f64, bool, i64, Option<String>, i64, i64);

/// A progress entry's `debt_seen` column: NULL when nothing was seen.
pub(super) fn debt_seen_text(seen: &crate::domain::measure::DebtSeen) -> Option<String> {
    (!seen.is_empty()).then(|| seen.to_text())
}

pub(super) fn add_sync_row(
    states: &mut std::collections::HashMap<String, super::SyncState>,
    (goal, period, value, contribution, progress, on_track, streak, debt_seen, rn_desc, rn_asc): SyncRow,
) -> anyhow::Result<()> {
    let state = states.entry(goal).or_default();
    let value = Money::from_cents(value);
    if rn_asc == 1 {
        state.first_value = Some(value);
    }
    if rn_desc <= 3 {
        state
            .recent
            .push((parse_period(&period)?, value, Money::from_cents(contribution)));
    }
    // Rows come oldest first: the last one is the newest entry.
    if rn_desc == 1 {
        state.debt_seen = crate::domain::measure::DebtSeen::parse(debt_seen.as_deref().unwrap_or(""))
            .map_err(|e| anyhow::anyhow!("a stored debt_seen: {e}"))?;
        state.last_standing = Some(crate::domain::tracking::Standing {
            progress,
            on_track,
            off_track_streak: u32::try_from(streak).unwrap_or(0),
        });
    }
    Ok(())
}

/// A snapshot row to insert: the snapshot, its period as text, its version.
pub(super) struct SnapshotInsert<'a> {
    pub snapshot: &'a super::NewSnapshot,
    pub period: &'a str,
    pub version: i64,
}

/// The columns of a [`SnapshotRow`](super::SnapshotRow), joined with its file.
pub(super) const SNAPSHOT_ROW_SELECT: &str = "SELECT s.id, s.user_id, s.period, s.version, s.is_current, f.file_name, \
     s.line_count, s.total_income, s.total_expenses, s.net_worth, s.created_at \
     FROM snapshots s JOIN ingested_files f ON f.id = s.file_id";

pub(super) type SnapshotRowTuple = (
    i64,
    String,
    String,
    i64,
    bool,
    String,
    i64,
    i64,
    i64,
    i64,
    chrono::DateTime<chrono::Utc>,
);

pub(super) fn snapshot_row(t: SnapshotRowTuple) -> anyhow::Result<super::SnapshotRow> {
    let (id, user_id, period, version, is_current, file_name, line_count, income, expenses, net_worth, created_at) = t;
    Ok(super::SnapshotRow {
        id,
        user_id: UserId::from_trusted(user_id),
        period: parse_period(&period)?,
        version,
        is_current,
        file_name,
        line_count,
        total_income: Money::from_cents(income),
        total_expenses: Money::from_cents(expenses),
        net_worth: Money::from_cents(net_worth),
        created_at,
    })
}
