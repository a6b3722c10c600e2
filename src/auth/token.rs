//! The token itself: how it is made, what it looks like, and the hash that is stored.
//!
//! A token is `gk_` followed by 43 characters of unpadded base64url (RFC 4648 §5), the encoding
//! of 32 bytes (256 bits) from the operating system's random generator: 46 characters in all.
//! The prefix makes a leaked token recognisable (secret scanners, log reviews). Only the
//! token's SHA-256 is stored: a plain hash is enough for 256 random bits (there is nothing to
//! guess, so no salt or slow hash is needed), and it lets a request find its token with one
//! indexed lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// What every token starts with.
pub const PREFIX: &str = "gk_";

/// Random bytes in a token.
pub const SECRET_BYTES: usize = 32;

/// Characters after the prefix: 32 bytes in unpadded base64.
pub const SECRET_CHARS: usize = 43;

/// The whole token's length.
pub const TOKEN_CHARS: usize = PREFIX.len() + SECRET_CHARS;

/// A freshly made token, to be shown once and then forgotten. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// The token, for the one place that shows it (`tokens create`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, lowercase hex: what is stored.
    pub fn sha256(&self) -> String {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(gk_…)")
    }
}

/// The operating system's random generator failed (it practically never does).
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed: {0}")]
pub struct RandomError(String);

/// Makes a new token from [`SECRET_BYTES`] bytes of the OS random generator.
pub fn generate() -> Result<SecretToken, RandomError> {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| RandomError(e.to_string()))?;
    Ok(from_bytes(&bytes))
}

/// The token these bytes encode (tests make known tokens with it).
pub fn from_bytes(bytes: &[u8; SECRET_BYTES]) -> SecretToken {
    SecretToken(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 of a presented token's text, lowercase hex (64 characters).
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
    }
    hex
}

/// Whether `presented` has the shape of a token: the prefix, then exactly [`SECRET_CHARS`]
/// base64url characters that decode to [`SECRET_BYTES`] bytes (the last character canonical).
/// Checked before any database lookup, so junk costs nothing. Never panics, whatever the input.
pub fn well_formed(presented: &str) -> bool {
    let Some(secret) = presented.strip_prefix(PREFIX) else {
        return false;
    };
    if secret.len() != SECRET_CHARS {
        return false;
    }
    let mut out = [0u8; SECRET_BYTES + 3];
    matches!(URL_SAFE_NO_PAD.decode_slice(secret, &mut out), Ok(SECRET_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_has_the_prefix_and_the_length_and_is_well_formed() {
        let token = generate().unwrap();
        assert!(token.expose().starts_with("gk_"));
        assert_eq!(token.expose().len(), TOKEN_CHARS);
        assert!(well_formed(token.expose()));
        assert_ne!(generate().unwrap(), token, "two tokens differ");
    }

    #[test]
    fn a_known_token_hashes_to_its_sha256_in_lowercase_hex() {
        let token = from_bytes(&[0; SECRET_BYTES]);
        assert_eq!(token.expose(), "gk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        // The FIPS 180-2 test vector.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token.sha256(), hash_token(token.expose()));
        assert_eq!(token.sha256().len(), 64);
    }

    #[test]
    fn the_shape_check_refuses_what_cannot_be_a_token() {
        let good = from_bytes(&[0xfb; SECRET_BYTES]);
        let good = good.expose();
        assert!(well_formed(good), "{good}");
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("gk_", "prefix only"),
            (&good[3..], "no prefix"),
            (&good[..good.len() - 1], "one character short"),
            (&format!("{good}A"), "one character long"),
            (&format!("GK_{}", &good[3..]), "prefix in capitals"),
            (&format!("gk_{}=", &good[3..good.len() - 1]), "padding"),
            (
                &format!("gk_{}+", &good[3..good.len() - 1]),
                "standard base64, not url-safe",
            ),
            (
                &format!("gk_{}B", &good[3..good.len() - 1]),
                "a non-canonical last character",
            ),
            (&format!("gk_{}é", &good[3..good.len() - 2]), "not ASCII"),
            (&format!(" {good}"), "a leading space"),
        ];
        for (presented, why) in cases {
            assert!(!well_formed(presented), "{why}: {presented:?}");
        }
    }

    #[test]
    fn the_debug_form_does_not_show_the_token() {
        let token = generate().unwrap();
        assert!(!format!("{token:?}").contains(&token.expose()[3..]));
    }
}
