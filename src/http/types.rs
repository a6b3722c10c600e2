//! The API's JSON in and out, with their OpenAPI schemas. Responses carry the same field names as
//! the CLI's `--json` (they are the same values, re-shaped through serde); requests refuse unknown
//! fields.

use super::error::Error;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A stored value as its API type: the CLI's JSON read back into the documented shape.
pub fn reshape<T: Serialize, U: DeserializeOwned>(value: &T) -> Result<U, Error> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            Error::Service(crate::service::Error::Internal(anyhow::anyhow!(
                "shaping a response: {e}"
            )))
        })
}

/// Deserializes a present field (even `null`) as `Some`, so `null` can mean "remove".
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinksIn {
    pub accounts: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
}

/// A goal's fields; in a PATCH, what is absent stays as it is (`target_date: null` removes it).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalFieldsIn {
    pub name: Option<String>,
    /// An amount with up to two decimals, as a string ("2500.00"); a percentage for savings_rate.
    pub target_value: Option<String>,
    /// `YYYY-MM-DD`, or null for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub target_date: Option<Option<String>>,
    /// `YYYY-MM-DD`; today in the user's time zone by default.
    pub start_date: Option<String>,
    pub links: Option<LinksIn>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalCreate {
    /// One of the goal types (emergency_fund, savings_target, ... custom).
    #[serde(rename = "type")]
    pub goal_type: String,
    /// Made up from the user and type when absent.
    pub id: Option<String>,
    pub name: Option<String>,
    /// An amount with up to two decimals, as a string ("2500.00"); a percentage for savings_rate.
    pub target_value: Option<String>,
    /// `YYYY-MM-DD`, or null for none.
    pub target_date: Option<String>,
    /// `YYYY-MM-DD`; today in the user's time zone by default.
    pub start_date: Option<String>,
    pub links: Option<LinksIn>,
    pub description: Option<String>,
}

impl GoalCreate {
    /// The goal's fields, as a PATCH would carry them.
    pub fn fields(&self) -> GoalFieldsIn {
        GoalFieldsIn {
            name: self.name.clone(),
            target_value: self.target_value.clone(),
            target_date: self.target_date.clone().map(Some),
            start_date: self.start_date.clone(),
            links: self.links.clone(),
            description: self.description.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct LinksOut {
    pub accounts: Vec<String>,
    pub categories: Vec<String>,
}

/// A goal, as `goals list --json` shows it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct GoalOut {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub goal_type: String,
    pub target_value: String,
    pub target_date: Option<String>,
    pub start_date: String,
    pub links: LinksOut,
    pub original_balance: Option<String>,
    pub is_recurring: bool,
    pub recurrence_period: Option<String>,
    pub tracking_frequency: String,
    pub reminder_enabled: bool,
    pub reminder_day: u8,
    pub status: String,
    pub completed_at: Option<String>,
    pub template_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl GoalOut {
    pub fn of(goal: &crate::domain::Goal) -> Result<GoalOut, Error> {
        reshape(goal)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoalPage {
    pub items: Vec<GoalOut>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// `?user=ID`: with an admin token, act for this user.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserParam {
    pub user: Option<String>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// With an admin token, act for this user.
    pub user: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> crate::service::page::PageRequest {
        crate::service::page::PageRequest {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GoalQuery {
    /// active, paused, completed or abandoned.
    pub status: Option<String>,
    /// A goal type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub goal_type: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressIn {
    /// The goal's value now, as a string ("1234.50"; may be negative).
    pub value: String,
    /// `YYYY-MM`; this month in the user's time zone by default.
    pub period: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordedOut {
    pub goal_id: String,
    pub period: String,
    pub value: String,
    pub progress_percent: f64,
    /// The entry reached the target and completed the goal.
    pub completed: bool,
}

/// A progress entry, as `progress history --json` shows it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ProgressOut {
    pub id: i64,
    pub goal_id: String,
    pub period: String,
    pub value: String,
    pub contribution: String,
    pub progress: f64,
    pub on_track: bool,
    pub off_track_streak: u32,
    pub principal_paid: Option<String>,
    pub interest_paid: Option<String>,
    pub source: String,
    pub snapshot_id: Option<i64>,
    pub recorded_at: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgressPage {
    pub items: Vec<ProgressOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardOut {
    pub goals: Vec<crate::service::progress::DashboardGoal>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncOut {
    pub goals: usize,
    pub entries: usize,
    pub completed: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateParamOut {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub default: Option<String>,
}

/// A template, as `templates list --json` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateOut {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub goal_type: String,
    pub description: String,
    pub suggested_timeline_months: Option<u32>,
    pub parameters: Vec<TemplateParamOut>,
    pub tips: Vec<String>,
    pub recurring: bool,
}

impl TemplateOut {
    pub fn of(t: &crate::domain::templates::Template) -> TemplateOut {
        TemplateOut {
            id: t.id.to_owned(),
            name: t.name.to_owned(),
            goal_type: t.goal_type.as_str().to_owned(),
            description: t.description.to_owned(),
            suggested_timeline_months: t.suggested_timeline_months,
            parameters: t
                .parameters
                .iter()
                .map(|p| TemplateParamOut {
                    name: p.name.to_owned(),
                    label: p.label.to_owned(),
                    kind: p.kind.as_str().to_owned(),
                    default: p.default.map(str::to_owned),
                })
                .collect(),
            tips: t.tips.iter().map(|s| (*s).to_owned()).collect(),
            recurring: t.is_recurring,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTemplateIn {
    pub template_id: String,
    /// The template's parameters by name, as strings.
    pub params: Option<BTreeMap<String, String>>,
    pub target_date: Option<String>,
    /// Replaces the template's target.
    pub target_value: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FromTemplateOut {
    pub goal: GoalOut,
    /// How the target was derived, for people.
    pub derivation: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: i64,
    pub status: String,
    pub due_at: String,
    pub attempts: i64,
    pub hold_reason: Option<String>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<String>,
}

/// An alert, as `alerts list --json` shows it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct AlertOut {
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
    pub created_at: String,
    pub read_at: Option<String>,
    pub delivery: Option<DeliveryOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertPage {
    pub items: Vec<AlertOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQueryIn {
    /// Only alerts whose email is pending, deferred, sending, sent or failed.
    pub status: Option<String>,
    /// true: only unread; false: only read.
    pub unread: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PreferencesOut {
    /// Alert types that are emailed.
    pub enabled: Vec<String>,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub in_app_enabled: bool,
    /// `HH:MM-HH:MM` in the user's time zone, or null.
    pub quiet_hours: Option<String>,
    pub max_per_day: u32,
    pub min_gap_hours: u32,
}

/// A user's preferences, as `prefs show --json` shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserPreferences {
    pub user_id: String,
    pub preferences: PreferencesOut,
}

/// Changes to preferences; what is absent stays as it is.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    /// `HH:MM-HH:MM`, or null for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub quiet_hours: Option<Option<String>>,
    pub max_per_day: Option<u32>,
    pub min_gap_hours: Option<u32>,
    /// The whole set of emailed alert types.
    pub enabled: Option<Vec<String>>,
    pub email_enabled: Option<bool>,
    pub in_app_enabled: Option<bool>,
    pub push_enabled: Option<bool>,
}

/// A stored snapshot, as `snapshots list --json` shows it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SnapshotOut {
    pub id: i64,
    pub user_id: String,
    pub period: String,
    pub version: i64,
    pub is_current: bool,
    pub file_name: String,
    pub line_count: i64,
    pub total_income: String,
    pub total_expenses: String,
    pub net_worth: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SnapshotPage {
    pub items: Vec<SnapshotOut>,
    pub next_cursor: Option<String>,
}

/// A month's current snapshot with its lines and totals, as `snapshots show --json` shows it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SnapshotDetail {
    #[serde(flatten)]
    pub row: SnapshotOut,
    pub versions: i64,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<serde_json::Value>,
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}
