//! The random secrets of web sign-in (a login link's token, a session id) and what is derived
//! from them: 32 bytes (256 bits) from the operating system's random generator, unpadded
//! base64url (43 characters); stored as SHA-256 ([`crate::auth::hash_token`]); compared in
//! constant time. A session's CSRF token is derived from its id, so it needs no storage.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use subtle::ConstantTimeEq;

/// Characters in a secret: 32 bytes in unpadded base64url.
pub const SECRET_CHARS: usize = 43;

/// A new secret from the OS random generator.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the operating system's random generator failed: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `s` has the shape of a secret (checked before any lookup, so junk costs nothing).
pub fn well_formed(s: &str) -> bool {
    let mut out = [0u8; 35];
    s.len() == SECRET_CHARS && matches!(URL_SAFE_NO_PAD.decode_slice(s, &mut out), Ok(32))
}

/// What is stored for a secret: its SHA-256, lowercase hex.
pub fn hash(secret: &str) -> String {
    crate::auth::hash_token(secret)
}

/// Constant-time equality of two strings (their lengths are not secret).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The CSRF token of forms shown to the holder of `session` (or of a sign-in cookie): a hash of
/// the secret under a label of its own, so it reveals nothing of the secret.
pub fn csrf_token(secret: &str) -> String {
    crate::auth::hash_token(&format!("goalkeeper web csrf\0{secret}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_43_url_safe_characters_and_two_differ() {
        let a = generate().unwrap();
        assert!(well_formed(&a), "{a}");
        assert_ne!(a, generate().unwrap());
        assert!(!well_formed(&a[1..]));
        assert!(!well_formed(&format!("{}+", &a[1..])));
    }

    #[test]
    fn the_csrf_token_differs_from_the_stored_hash_and_equality_is_exact() {
        let s = generate().unwrap();
        assert_ne!(csrf_token(&s), hash(&s));
        assert!(same(&csrf_token(&s), &csrf_token(&s)));
        assert!(!same(&csrf_token(&s), &hash(&s)));
        assert!(!same("abc", "abcd"));
    }
}
