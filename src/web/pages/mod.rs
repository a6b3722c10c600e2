//! One module per page (or group of forms):
//!
//! - [`login`]: `/login` (ask for a link), `/login/link` (the emailed link, then sign in), `/logout`.
//! - [`dashboard`]: `/` (every goal as a card, the unread alerts) and marking an alert read.

pub mod dashboard;
pub mod login;
