//! People whose goals goalkeeper tracks.

use super::ids::{LabelError, UserId, check_label};
use chrono_tz::Tz;
use std::str::FromStr;

/// A user as registered by an operator. `email` is absent only for users
/// created automatically by the inbox (`auto_create_users`): they get no email
/// until an operator sets one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Option<Email>,
    pub display_name: Option<String>,
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// An email address that goalkeeper can send to: checked by [`sendable_address`], the one rule
/// that `users add`, `users import` and the dispatcher share.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, UserFieldError> {
        sendable_address(s).map(|_| Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(s: String) -> Self {
        Email(s)
    }
}

/// `s` as the address an email is sent to, or why it cannot be one.
///
/// lettre's [`lettre::Address`] parser (the sender's own syntax) plus goalkeeper's rules, each of
/// which stands for an address that lettre parses but cannot put on a message (its `To` header
/// would not read back, and every delivery would fail with "missing destination address"):
/// at most 254 bytes, no control characters or spaces, no quoted local part (`"a, b"@example.org`),
/// no address literal as domain (`a@[127.0.0.1]`), and the `To` header written for it reads back
/// as the same address.
pub fn sendable_address(s: &str) -> Result<lettre::Address, UserFieldError> {
    if s.len() > 254 || s.chars().any(char::is_control) {
        return Err(UserFieldError::Email);
    }
    let address = lettre::Address::from_str(s).map_err(|_| UserFieldError::Email)?;
    if address.user().contains(['"', '\\']) {
        return Err(UserFieldError::EmailQuoted);
    }
    if address.domain().starts_with('[') {
        return Err(UserFieldError::EmailLiteral);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(UserFieldError::Email);
    }
    // What the dispatcher's message builder does with it: the `To` header it writes must parse back.
    let header = lettre::message::Mailbox::new(None, address.clone()).to_string();
    match header.parse::<lettre::message::Mailboxes>() {
        Ok(read) if read.iter().map(|m| &m.email).eq([&address]) => Ok(address),
        _ => Err(UserFieldError::Email),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserFieldError {
    #[error("user id: {0}")]
    Id(LabelError),
    #[error("expected an email address like name@example.org")]
    Email,
    #[error(
        "expected an email address like name@example.org without a quoted local part (\"...\"@): \
         mail cannot be sent to that"
    )]
    EmailQuoted,
    #[error(
        "expected a domain name after the @, like name@example.org, not an address literal ([...]): \
         mail cannot be sent to that"
    )]
    EmailLiteral,
    #[error("display name: {0}")]
    DisplayName(LabelError),
    #[error("expected an IANA time zone name like Europe/Berlin or America/New_York")]
    TimeZone,
}

pub fn parse_timezone(s: &str) -> Result<Tz, UserFieldError> {
    s.parse::<Tz>().map_err(|_| UserFieldError::TimeZone)
}

/// Raw fields for a new or updated user, as typed by an operator.
pub struct UserInput<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub timezone: Option<&'a str>,
}

/// Which field of [`UserInput`] a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    Email,
    DisplayName,
    TimeZone,
}

impl UserInput<'_> {
    /// Validates every field and reports every problem, not just the first.
    /// Without a time zone the user gets `default_tz`.
    pub fn validate(&self, default_tz: Tz) -> Result<User, Vec<(UserField, UserFieldError)>> {
        let mut problems = Vec::new();
        let id = UserId::parse(self.id)
            .map_err(|e| problems.push((UserField::Id, UserFieldError::Id(e))))
            .ok();
        let email = Email::parse(self.email)
            .map_err(|e| problems.push((UserField::Email, e)))
            .ok();
        let display_name = match self.display_name.filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => match check_label(name) {
                Ok(()) => Some(name.to_owned()),
                Err(e) => {
                    problems.push((UserField::DisplayName, UserFieldError::DisplayName(e)));
                    None
                }
            },
        };
        let timezone = match self.timezone.filter(|s| !s.is_empty()) {
            None => Some(default_tz),
            Some(tz) => parse_timezone(tz)
                .map_err(|e| problems.push((UserField::TimeZone, e)))
                .ok(),
        };
        match (id, email, timezone) {
            (Some(id), Some(email), Some(timezone)) if problems.is_empty() => Ok(User {
                id,
                email: Some(email),
                display_name,
                timezone,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(id: &'a str, email: &'a str, tz: Option<&'a str>) -> UserInput<'a> {
        UserInput {
            id,
            email,
            display_name: Some("Ana"),
            timezone: tz,
        }
    }

    #[test]
    fn a_valid_user_gets_the_default_zone_when_none_is_given() {
        let user = input("u1", "ana@example.org", None)
            .validate(Tz::Europe__Berlin)
            .unwrap();
        assert_eq!(user.timezone, Tz::Europe__Berlin);
        assert_eq!(user.email.unwrap().as_str(), "ana@example.org");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let problems = input("bad id", "not-an-email", Some("Mars/Olympus"))
            .validate(Tz::UTC)
            .unwrap_err();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, [UserField::Id, UserField::Email, UserField::TimeZone]);
    }

    #[test]
    fn emails_with_line_breaks_are_rejected() {
        assert!(Email::parse("a@example.org\r\nBcc: x@evil.test").is_err());
        assert!(Email::parse("@example.org").is_err());
        assert!(Email::parse("a@").is_err());
    }

    #[test]
    fn addresses_lettre_parses_but_cannot_send_to_are_refused_saying_why() {
        for quoted in [
            "\"x@evil.org\"@example.org",
            "\"a, b\"@example.org",
            "\"ab\"@example.org",
        ] {
            assert_eq!(Email::parse(quoted), Err(UserFieldError::EmailQuoted), "{quoted}");
        }
        for literal in ["a@[127.0.0.1]", "a@[IPv6:::1]"] {
            assert_eq!(Email::parse(literal), Err(UserFieldError::EmailLiteral), "{literal}");
        }
        for fine in [
            "a.b+tag@example.org",
            "a!#$%&'*+-=?^_`{|}~@example.org",
            "ünï@bücher.de",
            "a@localhost",
        ] {
            assert_eq!(Email::parse(fine).map(|e| e.as_str().to_owned()), Ok(fine.to_owned()));
        }
    }
}
