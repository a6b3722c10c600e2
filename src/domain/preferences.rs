//! A user's alert preferences (seed 4.2): which alert types are emailed, and
//! the delivery rules (quiet hours, daily cap, minimum gap). Pure.

use super::alerts::{AlertType, DEFAULT_ENABLED};
use super::delivery::{QuietHours, Rules};
use chrono_tz::Tz;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Preferences {
    /// Alert types that are emailed; the others are only recorded (in-app history).
    pub enabled: BTreeSet<AlertType>,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub in_app_enabled: bool,
    /// In the user's time zone; `None` = no quiet hours.
    #[serde(serialize_with = "quiet_text")]
    pub quiet_hours: Option<QuietHours>,
    /// Emails per local calendar day.
    pub max_per_day: u32,
    pub min_gap_hours: u32,
}

fn quiet_text<S: serde::Serializer>(q: &Option<QuietHours>, s: S) -> Result<S::Ok, S::Error> {
    match q {
        Some(q) => s.serialize_str(&q.to_string()),
        None => s.serialize_none(),
    }
}

impl Default for Preferences {
    /// The seed's defaults: off_track, milestone_50, goal_completed,
    /// deadline_approaching and update_reminder by email; quiet 22:00-08:00;
    /// 5 a day; 4 hours apart.
    fn default() -> Self {
        let rules = Rules::default();
        Preferences {
            enabled: DEFAULT_ENABLED.iter().copied().collect(),
            email_enabled: true,
            push_enabled: false,
            in_app_enabled: true,
            quiet_hours: rules.quiet_hours,
            max_per_day: rules.max_per_day,
            min_gap_hours: rules.min_gap_hours,
        }
    }
}

impl Preferences {
    /// Whether an alert of this type is emailed (it is recorded either way).
    pub fn emails(&self, alert_type: AlertType) -> bool {
        self.email_enabled && self.enabled.contains(&alert_type)
    }

    /// The delivery rules in the user's zone.
    pub fn rules(&self, timezone: Tz) -> Rules {
        Rules {
            timezone,
            quiet_hours: self.quiet_hours,
            max_per_day: self.max_per_day,
            min_gap_hours: self.min_gap_hours,
        }
    }

    /// The enabled types as stored: comma-separated names in a fixed order.
    pub fn enabled_text(&self) -> String {
        self.enabled.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Parses stored enabled types; unknown names (from a newer version) are skipped.
    pub fn parse_enabled(text: &str) -> BTreeSet<AlertType> {
        text.split(',').filter_map(|t| t.trim().parse().ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_seeds() {
        let p = Preferences::default();
        assert_eq!(
            p.enabled_text(),
            "off_track,milestone_50,goal_completed,deadline_approaching,update_reminder"
        );
        assert_eq!(p.quiet_hours.map(|q| q.to_string()).as_deref(), Some("22:00-08:00"));
        assert_eq!((p.max_per_day, p.min_gap_hours), (5, 4));
        assert!(p.email_enabled && p.in_app_enabled && !p.push_enabled);
    }

    #[test]
    fn only_enabled_types_are_emailed_and_nothing_when_email_is_off() {
        let mut p = Preferences::default();
        assert!(p.emails(AlertType::OffTrack));
        assert!(!p.emails(AlertType::Milestone25));
        p.email_enabled = false;
        assert!(!p.emails(AlertType::OffTrack));
    }

    #[test]
    fn enabled_types_survive_their_text_and_unknown_names_are_skipped() {
        let p = Preferences::default();
        assert_eq!(Preferences::parse_enabled(&p.enabled_text()), p.enabled);
        assert_eq!(
            Preferences::parse_enabled("off_track, bogus,milestone_25"),
            [AlertType::OffTrack, AlertType::Milestone25].into_iter().collect()
        );
        assert!(Preferences::parse_enabled("").is_empty());
    }
}
