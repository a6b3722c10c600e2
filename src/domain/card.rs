//! What an alert's email shows of its goal, as the evaluation that raised the
//! alert saw it. Stored with the alert (as JSON), so sending never has to
//! recompute a goal, and the email agrees with the alert's message. The
//! email words it as its type speaks ([`super::wording::of_card`]).

use super::alerts::Evaluation;
use super::goal::Goal;
use super::money::Money;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalCard {
    pub goal_name: String,
    pub goal_type: String,
    /// The target is a percentage (savings rate), not money.
    pub target_is_percent: bool,
    /// Hundredths (cents, or hundredths of a percent).
    pub current: i64,
    pub target: i64,
    /// Unclamped (1.0 = done).
    pub progress: f64,
    pub on_track: bool,
    /// Hundredths per month; 0 when nothing more is needed.
    pub required_monthly: i64,
    pub projected_completion: Option<NaiveDate>,
}

impl GoalCard {
    pub fn new(goal: &Goal, current: Money, evaluation: &Evaluation) -> GoalCard {
        GoalCard {
            goal_name: goal.name.clone(),
            goal_type: goal.goal_type.as_str().to_owned(),
            target_is_percent: goal.goal_type.target_is_percent(),
            current: current.cents(),
            target: goal.target.cents(),
            progress: if evaluation.progress.is_finite() {
                evaluation.progress
            } else {
                0.0
            },
            on_track: evaluation.on_track,
            required_monthly: evaluation.required_monthly.cents(),
            projected_completion: evaluation.projected_completion,
        }
    }

    /// Progress as a whole-number percent clamped to 0–100, for bars.
    pub fn percent_shown(&self) -> f64 {
        (self.progress * 100.0).clamp(0.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(target_is_percent: bool, progress: f64) -> GoalCard {
        GoalCard {
            goal_name: "Rainy day".to_owned(),
            goal_type: "emergency_fund".to_owned(),
            target_is_percent,
            current: 450_000,
            target: 1_350_000,
            progress,
            on_track: true,
            required_monthly: 112_500,
            projected_completion: None,
        }
    }

    #[test]
    fn the_percent_shown_is_clamped() {
        assert_eq!(card(false, 1.3).percent_shown(), 100.0);
        assert_eq!(card(false, -0.2).percent_shown(), 0.0);
        assert_eq!(card(false, 0.25).percent_shown(), 25.0);
    }

    #[test]
    fn a_card_survives_its_json() {
        let c = card(false, 0.5);
        let back: GoalCard = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
