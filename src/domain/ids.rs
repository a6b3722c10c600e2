//! Identifiers and labels that arrive from files and flags, validated on parse.

use std::fmt;

/// The longest identifier or label accepted (in characters).
pub const MAX_LABEL_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("a value is required")]
    Empty,
    #[error("expected at most {MAX_LABEL_CHARS} characters, found {0}")]
    TooLong(usize),
    #[error("expected only letters, digits and . _ - : @ (no spaces)")]
    BadIdChar,
    #[error("expected printable text without control characters")]
    ControlChar,
}

fn check_length(s: &str) -> Result<(), LabelError> {
    let n = s.chars().count();
    if n == 0 {
        Err(LabelError::Empty)
    } else if n > MAX_LABEL_CHARS {
        Err(LabelError::TooLong(n))
    } else {
        Ok(())
    }
}

/// An identifier: `u0000001`, `card`, `401k`, `jane.doe@home`.
pub fn check_id(s: &str) -> Result<(), LabelError> {
    check_length(s)?;
    if s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@'))
    {
        Ok(())
    } else {
        Err(LabelError::BadIdChar)
    }
}

/// A free label (category, display name): any printable text.
pub fn check_label(s: &str) -> Result<(), LabelError> {
    check_length(s)?;
    if s.chars().any(char::is_control) {
        Err(LabelError::ControlChar)
    } else {
        Ok(())
    }
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        /// Shared text: a run clones ids into every entry and alert it plans, and a clone is a
        /// reference count, not a copy.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, LabelError> {
                check_id(s).map(|()| Self(s.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For values read back from storage, which were validated on the way in.
            pub fn from_trusted(s: String) -> Self {
                Self(s.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// The operator's identifier for a person, as in the CSV files.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_allow_letters_digits_and_a_few_marks() {
        for ok in ["u0000001", "card", "401k", "jane.doe@home", "a:b_c-d", "Zoë"] {
            assert_eq!(check_id(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_id(""), Err(LabelError::Empty));
        assert_eq!(check_id("two words"), Err(LabelError::BadIdChar));
        assert_eq!(check_id("a/b"), Err(LabelError::BadIdChar));
        assert_eq!(check_id(&"x".repeat(65)), Err(LabelError::TooLong(65)));
    }

    #[test]
    fn labels_allow_spaces_but_not_control_characters() {
        assert_eq!(check_label("Emergency fund"), Ok(()));
        assert_eq!(check_label("bad\nlabel"), Err(LabelError::ControlChar));
        assert_eq!(check_label("tab\there"), Err(LabelError::ControlChar));
    }
}
