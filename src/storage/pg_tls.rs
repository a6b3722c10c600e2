//! TLS to PostgreSQL (rustls, no OpenSSL): the URL's `sslmode` (`disable`, `allow`, `prefer`,
//! `require`, `verify-ca`, `verify-full`) and `sslrootcert` are honoured as libpq does. When neither
//! the URL nor `PGSSLMODE` names a mode, a server on another host gets `verify-full` (encrypted, its
//! certificate checked against `sslrootcert` or the bundled web roots, and its name against the
//! host), and one on this machine (loopback or a Unix socket) gets sqlx's `prefer`.

use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Where the mode came from, for `check-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeSource {
    /// `sslmode=` in the URL.
    Url,
    /// The `PGSSLMODE` environment variable.
    Environment,
    /// Nothing named one: goalkeeper's default for the host.
    DefaultRemote,
    DefaultLocal,
}

/// Whether `host` is this machine: loopback names and addresses, or a Unix socket folder.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the URL's query names a mode.
fn url_names_mode(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| matches!(pair.split('=').next(), Some("sslmode" | "ssl-mode")))
    })
}

/// The options with goalkeeper's default mode applied, and where the mode came from.
pub fn apply_default(url: &str, options: PgConnectOptions) -> (PgConnectOptions, ModeSource) {
    if url_names_mode(url) {
        return (options, ModeSource::Url);
    }
    if std::env::var_os("PGSSLMODE").is_some() {
        return (options, ModeSource::Environment);
    }
    if options.get_socket().is_none() && !is_local_host(options.get_host()) {
        (options.ssl_mode(PgSslMode::VerifyFull), ModeSource::DefaultRemote)
    } else {
        (options, ModeSource::DefaultLocal)
    }
}

/// The mode as libpq spells it.
pub fn mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// One line for `check-config`: the mode in effect and why.
pub fn describe(url: &str, options: PgConnectOptions) -> String {
    let (options, source) = apply_default(url, options);
    let why = match source {
        ModeSource::Url => "from the URL",
        ModeSource::Environment => "from PGSSLMODE",
        ModeSource::DefaultRemote => "goalkeeper's default for a server on another host",
        ModeSource::DefaultLocal => "the default for a server on this machine",
    };
    format!("sslmode={} ({why})", mode_name(options.get_ssl_mode()))
}

/// The value of a parameter in the URL's query, as written (for messages).
fn url_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        pair.split_once('=')
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
    })
}

/// Why connecting failed, for a person: sqlx's error (without its chain, which repeats it) followed,
/// for the TLS problems an operator meets, by what it means and what to do.
pub fn explain(error: &sqlx::Error, url: &str, options: &PgConnectOptions) -> String {
    let io_kind = match error {
        sqlx::Error::Io(e) => Some(e.kind()),
        _ => None,
    };
    let message = error.to_string();
    match hint(&message, io_kind, url, options) {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    }
}

fn hint(message: &str, io_kind: Option<std::io::ErrorKind>, url: &str, options: &PgConnectOptions) -> Option<String> {
    let mode = options.get_ssl_mode();
    let root = url_param(url, "sslrootcert");
    let ca = match root {
        Some(path) => format!("the CA in sslrootcert={path}"),
        None => "the bundled web roots (no sslrootcert was given)".to_owned(),
    };
    let host = options.get_host();
    if message.contains("invalid peer certificate") {
        let what = if message.contains("UnknownIssuer") {
            format!(
                "the server's certificate is not signed by {ca}: set sslrootcert to the CA certificate that \
                 signed the server's certificate"
            )
        } else if message.contains("NotValidForName") {
            format!(
                "the server's certificate does not name the host {host:?}: connect by a name or address in the \
                 certificate, or use sslmode=verify-ca to check the CA only"
            )
        } else if message.contains("Expired") {
            "the server's certificate has expired: renew it on the server".to_owned()
        } else if message.contains("NotValidYet") {
            "the server's certificate is not valid yet: check the clocks of both machines".to_owned()
        } else if message.contains("Revoked") {
            "the server's certificate has been revoked".to_owned()
        } else {
            format!("the server's certificate was refused when checked against {ca}")
        };
        return Some(format!(
            "TLS certificate problem with sslmode={}: {what}",
            mode_name(mode)
        ));
    }
    if message.contains("no encryption") && matches!(mode, PgSslMode::Disable) {
        return Some(
            "the server accepts this connection only over TLS: use sslmode=verify-full with sslrootcert, \
             or sslmode=require"
                .to_owned(),
        );
    }
    if message.contains("no encryption") {
        return Some(format!(
            "the server accepts this connection only over TLS, and sslmode={} did not use it",
            mode_name(mode)
        ));
    }
    let file_problem = matches!(
        io_kind,
        Some(std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied)
    );
    if file_problem && let Some(path) = root {
        return Some(format!("cannot read the CA certificate file sslrootcert={path}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn mode(url: &str) -> (&'static str, ModeSource) {
        let (options, source) = apply_default(url, PgConnectOptions::from_str(url).unwrap());
        (mode_name(options.get_ssl_mode()), source)
    }

    #[test]
    fn a_remote_host_defaults_to_verify_full_and_a_local_one_to_prefer_unless_the_url_says() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return; // the environment decides; covered by its own branch
        }
        let table = [
            (
                "postgres://gk@db.internal/gk",
                ("verify-full", ModeSource::DefaultRemote),
            ),
            (
                "postgres://gk@10.0.0.5:5432/gk",
                ("verify-full", ModeSource::DefaultRemote),
            ),
            ("postgres://gk@127.0.0.1/gk", ("prefer", ModeSource::DefaultLocal)),
            ("postgres://gk@localhost/gk", ("prefer", ModeSource::DefaultLocal)),
            ("postgres://gk@[::1]/gk", ("prefer", ModeSource::DefaultLocal)),
            (
                "postgres://gk@db.internal/gk?sslmode=require",
                ("require", ModeSource::Url),
            ),
            (
                "postgres://gk@db.internal/gk?sslmode=disable",
                ("disable", ModeSource::Url),
            ),
            (
                "postgres://gk@127.0.0.1/gk?sslmode=verify-ca",
                ("verify-ca", ModeSource::Url),
            ),
            (
                "postgres://gk@127.0.0.1/gk?ssl-mode=verify-full",
                ("verify-full", ModeSource::Url),
            ),
        ];
        for (url, expected) in table {
            assert_eq!(mode(url), expected, "{url}");
        }
    }

    fn explained(message: &str, url: &str) -> String {
        let options = apply_default(url, PgConnectOptions::from_str(url).unwrap()).0;
        let error = sqlx::Error::Tls(message.into());
        explain(&error, url, &options)
    }

    #[test]
    fn certificate_problems_are_explained_with_what_to_do() {
        let url = "postgres://gk@db.internal/gk?sslmode=verify-full&sslrootcert=/etc/gk/ca.crt";
        let unknown = explained("invalid peer certificate: UnknownIssuer", url);
        assert!(
            unknown.ends_with(
                "(TLS certificate problem with sslmode=verify-full: the server's certificate is not signed by the \
                 CA in sslrootcert=/etc/gk/ca.crt: set sslrootcert to the CA certificate that signed the server's \
                 certificate)"
            ),
            "{unknown}"
        );
        let no_root = explained(
            "invalid peer certificate: UnknownIssuer",
            "postgres://gk@db.internal/gk",
        );
        assert!(
            no_root.contains("the bundled web roots (no sslrootcert was given)"),
            "{no_root}"
        );
        let name = explained(
            "invalid peer certificate: NotValidForNameContext { expected: DnsName(\"db.internal\"), presented: [] }",
            url,
        );
        assert!(name.contains("does not name the host \"db.internal\""), "{name}");
        let expired = explained(
            "invalid peer certificate: ExpiredContext { time: 1, not_after: 0 }",
            url,
        );
        assert!(expired.contains("has expired"), "{expired}");
    }

    #[test]
    fn a_server_that_requires_tls_refusing_sslmode_disable_is_explained() {
        let url = "postgres://gk@db.internal/gk?sslmode=disable";
        let options = PgConnectOptions::from_str(url).unwrap();
        let message =
            "pg_hba.conf rejects connection for host \"10.0.0.1\", user \"gk\", database \"gk\", no encryption";
        let error = sqlx::Error::Protocol(message.to_owned());
        assert!(
            explain(&error, url, &options)
                .contains("the server accepts this connection only over TLS: use sslmode=verify-full"),
            "{}",
            explain(&error, url, &options)
        );
    }

    #[test]
    fn check_config_says_the_mode_and_where_it_came_from() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        let url = "postgres://gk@db.internal/gk";
        assert_eq!(
            describe(url, PgConnectOptions::from_str(url).unwrap()),
            "sslmode=verify-full (goalkeeper's default for a server on another host)"
        );
    }
}
