//! The headers alert emails carry beyond lettre's own: a `Subject` that a mail client decodes to
//! exactly the stored one-line text, `List-Unsubscribe` (RFC 2369) and `Auto-Submitted` (RFC 3834).

use lettre::message::header::{Header, HeaderName, HeaderValue};

// Evaluated at compile time, so the name checks in `new_from_ascii_str` cannot panic at run time.
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");

/// `Subject:`, encoded as lettre encodes it, except that text containing `=?` is RFC 2047-encoded
/// whole: left as it is, a title that is itself an encoded word (`=?utf-8?b?...?=`) would be decoded
/// by every mail client into whatever it hides, line breaks and fake header lines included.
#[derive(Debug, Clone)]
pub(super) struct Subject(pub(super) String);

impl Header for Subject {
    fn name() -> HeaderName {
        lettre::message::header::Subject::name()
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Subject(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        if !self.0.contains("=?") {
            return HeaderValue::new(Self::name(), self.0.clone());
        }
        let mut encoded = String::with_capacity(self.0.len() * 2);
        let prefix = "Subject: ".len();
        {
            let mut writer = email_encoding::headers::writer::EmailWriter::new(&mut encoded, prefix, 0, false);
            // Writing into a String cannot fail.
            let _ = email_encoding::headers::rfc2047::encode(&self.0, &mut writer);
        }
        // Safe to pass as pre-encoded: RFC 2047 output is printable ASCII, folded by the writer.
        HeaderValue::dangerous_new_pre_encoded(Self::name(), self.0.clone(), encoded)
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Debug, Clone)]
pub(super) struct ListUnsubscribe(pub(super) String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        LIST_UNSUBSCRIBE
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): tells mail systems not to auto-reply.
#[derive(Debug, Clone)]
pub(super) struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        AUTO_SUBMITTED
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}
