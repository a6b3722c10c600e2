//! TLS to PostgreSQL (rustls): `verify-full` against the local server's own CA connects; the wrong CA
//! fails naming the certificate problem; `sslmode=disable` against a role the server lets in only over
//! TLS fails clearly; `check-config` says the mode. The server side is set up by `.ci/pg-tls.sh`
//! (which `.ci/run` runs), which prints GOALKEEPER_TEST_PG_TLS_CA and GOALKEEPER_TEST_PG_TLS_WRONG_CA.

mod common;

use goalkeeper::storage::{PgStore, Storage};

/// The CA files, or `None` (skipped outside CI; an error under CI, so the TLS half never skips silently).
fn tls_setup() -> Option<(String, String)> {
    match (
        std::env::var("GOALKEEPER_TEST_PG_TLS_CA"),
        std::env::var("GOALKEEPER_TEST_PG_TLS_WRONG_CA"),
    ) {
        (Ok(ca), Ok(wrong)) if !ca.is_empty() && !wrong.is_empty() => Some((ca, wrong)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("GOALKEEPER_TEST_PG_TLS_CA must be set in CI: run `eval \"$(bash .ci/pg-tls.sh)\"`")
        }
        _ => {
            eprintln!("GOALKEEPER_TEST_PG_TLS_CA is not set: skipping the TLS tests (see .ci/pg-tls.sh)");
            None
        }
    }
}

/// The role `.ci/pg-tls.sh` lets in over TLS only.
const TLS_ONLY: &str = "postgres://gk_tls_only@127.0.0.1:5432/goalkeeper_test";

#[tokio::test]
async fn verify_full_with_the_servers_ca_connects_over_tls() {
    let Some((ca, _)) = tls_setup() else { return };
    let url = format!("{TLS_ONLY}?sslmode=verify-full&sslrootcert={ca}");
    let store = PgStore::connect(&url)
        .await
        .expect("verify-full with the right CA connects");
    store.close().await;
    // 127.0.0.1 is in the certificate's names, as is localhost.
    let url = format!("postgres://gk_tls_only@localhost:5432/goalkeeper_test?sslmode=verify-full&sslrootcert={ca}");
    let store = PgStore::connect(&url).await.expect("verify-full by name connects");
    store.close().await;
}

#[tokio::test]
async fn the_wrong_ca_fails_with_a_message_naming_the_certificate_problem() {
    let Some((_, wrong)) = tls_setup() else { return };
    for mode in ["verify-full", "verify-ca"] {
        let url = format!("{TLS_ONLY}?sslmode={mode}&sslrootcert={wrong}");
        let err = PgStore::connect(&url).await.expect_err("the wrong CA is refused");
        let message = format!("{err:#}");
        assert!(message.contains(&format!("sslmode={mode}")), "{message}");
        assert!(
            message.contains("invalid peer certificate: UnknownIssuer"),
            "{mode}: {message}"
        );
        assert!(
            message.contains(&format!(
                "TLS certificate problem with sslmode={mode}: the server's certificate is not signed by the CA in \
                 sslrootcert={wrong}"
            )),
            "{mode}: {message}"
        );
    }
}

#[tokio::test]
async fn sslmode_disable_against_a_server_that_requires_tls_fails_clearly() {
    if tls_setup().is_none() {
        return;
    }
    let url = format!("{TLS_ONLY}?sslmode=disable");
    let err = PgStore::connect(&url).await.expect_err("no TLS, no entry");
    let message = format!("{err:#}");
    assert!(message.contains("sslmode=disable"), "{message}");
    assert!(message.contains("no encryption"), "{message}");
    assert!(
        message.contains("the server accepts this connection only over TLS: use sslmode=verify-full"),
        "{message}"
    );
}

#[test]
fn check_config_reports_the_tls_mode_and_where_it_came_from() {
    for (url, expected) in [
        (
            "postgres://gk@db.internal/gk",
            "# database TLS: sslmode=verify-full (goalkeeper's default for a server on another host)",
        ),
        (
            "postgres://gk@db.internal/gk?sslmode=require",
            "# database TLS: sslmode=require (from the URL)",
        ),
    ] {
        let out = common::goalkeeper()
            .env_remove("PGSSLMODE")
            .env("GOALKEEPER__DATABASE__URL", url)
            .arg("check-config")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.lines().any(|l| l == expected), "{url}:\n{stdout}");
    }
}
