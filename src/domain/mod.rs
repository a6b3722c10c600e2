//! The pure core: values and rules with no I/O. Everything here is unit-tested.

pub mod alerts;
pub mod card;
pub mod delivery;
pub mod goal;
pub mod ids;
pub mod measure;
pub mod money;
pub mod period;
pub mod preferences;
pub mod progress;
pub mod snapshot;
pub mod templates;
pub mod tracking;
pub mod tracking_period;
pub mod user;
pub mod wording;

pub use goal::{Goal, GoalId, GoalStatus, GoalType};
pub use ids::UserId;
pub use money::Money;
pub use period::Period;
pub use snapshot::{Kind, Rate, SnapshotLine, SnapshotSummary, SummaryBuilder};
pub use user::{Email, User};
