//! Email: how alert emails look ([`render`], with the extra headers in `headers`) and how they leave
//! ([`transport`]). The outbox dispatcher ([`crate::dispatch`]) uses both; nothing here calls it.

mod headers;
pub mod render;
pub mod tls;
pub mod transport;

/// Who holds the outbox claims: host name and process id.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}
