//! Alerts (listing, marking read) and a user's alert preferences.

use super::page::{Page, PageRequest, number_key};
use super::{Caller, Error, Problems, Result, Service};
use crate::domain::UserId;
use crate::domain::alerts::AlertType;
use crate::domain::delivery::QuietHours;
use crate::domain::preferences::Preferences;
use crate::storage::{AlertFilter, AlertRow, AlertStorage, DeliveryStatus};
use chrono::{DateTime, Utc};

/// Which alerts a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    /// Only alerts whose email is in this status.
    pub status: Option<String>,
    /// `Some(true)`: only unread; `Some(false)`: only read.
    pub unread: Option<bool>,
    /// At most this many (the CLI's `--limit`; the API pages instead).
    pub limit: Option<i64>,
}

/// Changes to a user's preferences; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreferenceChanges {
    /// `HH:MM-HH:MM`, or `Some(None)` for none.
    pub quiet_hours: Option<Option<String>>,
    pub max_per_day: Option<u32>,
    pub min_gap_hours: Option<u32>,
    /// Alert types to email too.
    pub enable: Vec<String>,
    /// Alert types to stop emailing (still recorded).
    pub disable: Vec<String>,
    /// The whole set of emailed types, replacing it (the API's `enabled`).
    pub enabled: Option<Vec<String>>,
    pub email_enabled: Option<bool>,
    pub in_app_enabled: Option<bool>,
    pub push_enabled: Option<bool>,
}

fn parse_types(field: &str, names: &[String], problems: &mut Problems) -> Vec<AlertType> {
    let all: Vec<&str> = AlertType::ALL.iter().map(|t| t.as_str()).collect();
    names
        .iter()
        .filter_map(|n| match n.parse::<AlertType>() {
            Ok(t) => Some(t),
            Err(_) => {
                problems.push(field, format!("found {n:?}; expected one of {}", all.join(", ")));
                None
            }
        })
        .collect()
}

impl PreferenceChanges {
    /// `prefs` with these changes, or every bad field (and nothing changed). Pure.
    pub fn apply(&self, mut prefs: Preferences) -> Result<Preferences> {
        let mut problems = Problems::default();
        let enable = parse_types("enable", &self.enable, &mut problems);
        let disable = parse_types("disable", &self.disable, &mut problems);
        let enabled = self
            .enabled
            .as_ref()
            .map(|names| parse_types("enabled", names, &mut problems));
        let quiet = match &self.quiet_hours {
            None => None,
            Some(None) => Some(None),
            Some(Some(text)) if text == "none" => Some(None),
            Some(Some(text)) => match QuietHours::parse(text) {
                Ok(q) => Some(q),
                Err(e) => {
                    problems.push("quiet_hours", e.to_string());
                    None
                }
            },
        };
        if self.max_per_day == Some(0) {
            problems.push(
                "max_per_day",
                "found 0; expected at least 1 (emails are held, never dropped)",
            );
        }
        if self.min_gap_hours.is_some_and(|h| h > 24 * 7) {
            problems.push("min_gap_hours", "expected at most 168 hours (a week)");
        }
        if let Some(t) = enable.iter().find(|t| disable.contains(t)) {
            problems.push("enable", format!("{t} is both enabled and disabled"));
        }
        problems.finish()?;
        if let Some(q) = quiet {
            prefs.quiet_hours = q;
        }
        if let Some(n) = self.max_per_day {
            prefs.max_per_day = n;
        }
        if let Some(h) = self.min_gap_hours {
            prefs.min_gap_hours = h;
        }
        if let Some(all) = enabled {
            prefs.enabled = all.into_iter().collect();
        }
        prefs.enabled.extend(enable);
        for t in disable {
            prefs.enabled.remove(&t);
        }
        if let Some(e) = self.email_enabled {
            prefs.email_enabled = e;
        }
        if let Some(e) = self.in_app_enabled {
            prefs.in_app_enabled = e;
        }
        if let Some(e) = self.push_enabled {
            prefs.push_enabled = e;
        }
        Ok(prefs)
    }
}

impl<S: AlertStorage> Service<S> {
    /// The caller's alerts, newest first.
    pub async fn alerts(&self, caller: &Caller, query: &AlertQuery) -> Result<Vec<AlertRow>> {
        let status = query
            .status
            .as_deref()
            .map(str::parse::<DeliveryStatus>)
            .transpose()
            .map_err(|e| Error::invalid("status", e))?;
        let filtered = query.unread.is_some();
        let rows = self
            .store
            .list_alerts(AlertFilter {
                user: caller.scope(),
                status,
                // The unread filter is applied after reading: the limit must count what it keeps.
                limit: if filtered { None } else { query.limit },
            })
            .await?;
        let mut rows: Vec<AlertRow> = rows
            .into_iter()
            .filter(|a| UserId::parse(&a.user_id).is_ok_and(|u| caller.owns(&u)))
            .filter(|a| query.unread.is_none_or(|unread| unread == a.read_at.is_none()))
            .collect();
        if let (true, Some(n)) = (filtered, query.limit) {
            rows.truncate(usize::try_from(n).unwrap_or(0));
        }
        Ok(rows)
    }

    /// A page of [`Service::alerts`], newest first.
    pub async fn alerts_page(&self, caller: &Caller, query: &AlertQuery, page: &PageRequest) -> Result<Page<AlertRow>> {
        let rows = self.alerts(caller, query).await?;
        // Newest first is descending id: the key counts down.
        page.page(rows, |a| number_key(-a.id))
    }

    /// Marks one of the caller's alerts read; returns it.
    pub async fn mark_read(&self, caller: &Caller, now: DateTime<Utc>, id: i64) -> Result<AlertRow> {
        let not_found = || Error::not_found("alert", id.to_string());
        let owned = self
            .alerts(caller, &AlertQuery::default())
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(not_found)?;
        if !self.store.mark_read(id, now).await? {
            return Err(not_found());
        }
        Ok(AlertRow {
            read_at: owned.read_at.or(Some(now)),
            ..owned
        })
    }

    /// A user's preferences (the defaults until changed).
    pub async fn preferences(&self, caller: &Caller, user: &str) -> Result<(UserId, Preferences)> {
        let user = self.user(caller, user).await?.id;
        let prefs = self
            .store
            .preferences(&[user.as_str()])
            .await?
            .remove(user.as_str())
            .unwrap_or_default();
        Ok((user, prefs))
    }

    /// Changes a user's preferences; every bad field is reported and nothing is saved.
    pub async fn set_preferences(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        user: &str,
        changes: &PreferenceChanges,
    ) -> Result<Preferences> {
        let (user, prefs) = self.preferences(caller, user).await?;
        let prefs = changes.apply(prefs)?;
        self.store.set_preferences(&user, &prefs, now).await?;
        Ok(prefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(fields) => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a refusal naming fields, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_preference_is_named_and_nothing_changes() {
        let changes = PreferenceChanges {
            quiet_hours: Some(Some("25:00-08:00".into())),
            max_per_day: Some(0),
            enable: vec!["bogus".into()],
            ..PreferenceChanges::default()
        };
        let e = changes.apply(Preferences::default()).unwrap_err();
        assert_eq!(fields(e), ["enable", "quiet_hours", "max_per_day"]);
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "(?s).{0,30}",
            "[0-9:-]{0,13}",
            "[ ]?[0-9]{1,3}:[0-9]{1,3} ?- ?[0-9]{1,3}:[0-9]{1,3}",
            "[a-z_0-9]{0,25}",
            Just("none".to_owned()),
            Just("NONE".to_owned()),
            Just("٢٢:٠٠-٠٨:٠٠".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn an_arbitrary_value_of_one_preference_is_accepted_or_refused_naming_it(
            field in 0usize..6,
            s in text(),
            n in any::<u32>(),
            list in proptest::collection::vec(text(), 0..3),
        ) {
            let mut c = PreferenceChanges::default();
            let name = match field {
                0 => { c.quiet_hours = Some(Some(s)); "quiet_hours" }
                1 => { c.max_per_day = Some(n % 3 * (n / 3)); "max_per_day" }
                2 => { c.min_gap_hours = Some(n % 400); "min_gap_hours" }
                3 => { c.enable = list; "enable" }
                4 => { c.disable = list; "disable" }
                _ => { c.enabled = Some(list); "enabled" }
            };
            match c.apply(Preferences::default()) {
                Ok(p) => {
                    if let Some(h) = c.min_gap_hours { prop_assert_eq!(p.min_gap_hours, h); }
                    if let Some(m) = c.max_per_day { prop_assert_eq!(p.max_per_day, m); }
                }
                Err(e) => {
                    let named = fields(e);
                    prop_assert!(!named.is_empty() && named.iter().all(|f| f == name), "{name}: {named:?}");
                }
            }
        }
    }
}
