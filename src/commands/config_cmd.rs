//! `check-config`.

use super::{Env, Exit};

pub fn check(env: &Env) -> anyhow::Result<Exit> {
    let source = env.config_file.as_ref().map_or_else(
        || "built-in defaults and environment (no configuration file found)".to_owned(),
        |f| f.display().to_string(),
    );
    println!("# configuration from {source}");
    print!("{}", env.settings.redacted_toml()?);
    let url = &env.settings.database.url;
    if crate::storage::Backend::of_url(url) == Some(crate::storage::Backend::Postgres) {
        if let Ok(options) = crate::storage::PgStore::parse(url) {
            println!("# database TLS: {}", crate::storage::pg_tls::describe(url, options));
        }
    }
    let problems = env.settings.validate_at(env.clock.now());
    if problems.is_empty() {
        println!("# configuration is valid");
        Ok(Exit::Ok)
    } else {
        for p in &problems {
            eprintln!("invalid configuration: {p}");
        }
        Ok(Exit::Rejected)
    }
}
