//! `goalkeeper backup FILE`.

use super::{Env, Exit};
use crate::storage::backup::{self, Outcome};

pub async fn run(env: &Env, file: &std::path::Path) -> anyhow::Result<Exit> {
    match backup::run(&env.settings.database.url, file).await? {
        Outcome::Written { path, bytes } => {
            println!("backup written: {} ({bytes} bytes)", path.display());
            Ok(Exit::Ok)
        }
        Outcome::Refused(why) => {
            eprintln!("error: {why}");
            Ok(Exit::Rejected)
        }
    }
}
