//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

pub mod http;
pub mod smtp;

use goalkeeper::storage::{LineSource, NewLine, PgStore, SqliteStore, Storage};
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL server for tests. `.ci/run` always sets it; under CI its
/// absence is an error, so the PostgreSQL half of the suite never skips silently.
pub fn postgres_url() -> Option<String> {
    match std::env::var("GOALKEEPER_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("GOALKEEPER_TEST_POSTGRES_URL must be set in CI: the storage suite runs on PostgreSQL too")
        }
        _ => {
            eprintln!("GOALKEEPER_TEST_POSTGRES_URL is not set: skipping the PostgreSQL half of this test");
            None
        }
    }
}

/// A database of its own for one test: a fresh schema on the test server,
/// reached through a URL whose connections use it as their search path.
pub struct PgSchema {
    pub url: String,
    admin_url: String,
    schema: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PgSchema {
    pub async fn create(admin_url: &str) -> PgSchema {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "gk_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let pool = sqlx::PgPool::connect(admin_url)
            .await
            .expect("the test PostgreSQL server answers");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        PgSchema {
            url: format!("{admin_url}{sep}options[search_path]={schema}"),
            admin_url: admin_url.to_owned(),
            schema,
        }
    }

    pub async fn drop(self) {
        let pool = sqlx::PgPool::connect(&self.admin_url).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

pub async fn sqlite_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

pub async fn pg_store(admin_url: &str) -> (PgStore, PgSchema) {
    let schema = PgSchema::create(admin_url).await;
    let store = PgStore::connect(&schema.url).await.unwrap();
    store.migrate().await.unwrap();
    (store, schema)
}

/// A line source over lines in memory; fails at `fail_at` if set.
pub struct VecSource {
    pub lines: Vec<NewLine>,
    pub pos: usize,
    pub fail_at: Option<usize>,
    pub panic_at: Option<usize>,
}

impl VecSource {
    pub fn new(lines: Vec<NewLine>) -> Self {
        VecSource {
            lines,
            pos: 0,
            fail_at: None,
            panic_at: None,
        }
    }
}

impl LineSource for VecSource {
    fn next_chunk(&mut self, buf: &mut Vec<NewLine>, max: usize) -> anyhow::Result<()> {
        buf.clear();
        while buf.len() < max && self.pos < self.lines.len() {
            if self.panic_at == Some(self.pos) {
                panic!("the reader died at line index {} (as this test wants)", self.pos);
            }
            if self.fail_at == Some(self.pos) {
                anyhow::bail!("the source failed at line index {}", self.pos);
            }
            buf.push(self.lines[self.pos].clone());
            self.pos += 1;
        }
        Ok(())
    }
}

/// The path of the built binary, and a command for it with a clean environment.
pub fn goalkeeper() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_goalkeeper"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GOALKEEPER") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

pub fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A goalkeeper installation in a temp folder: its own database and inbox,
/// driven through the real binary.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub db_url: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("gk.db").display());
        Sandbox { dir, db_url }
    }

    pub fn with_database(db_url: &str) -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            db_url: db_url.to_owned(),
        }
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    pub fn inbox(&self) -> std::path::PathBuf {
        self.path("inbox")
    }

    pub fn processed(&self) -> std::path::PathBuf {
        self.path("processed")
    }

    pub fn failed(&self) -> std::path::PathBuf {
        self.path("failed")
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = goalkeeper();
        cmd.current_dir(self.dir.path())
            .env("GOALKEEPER__DATABASE__URL", &self.db_url)
            .env("GOALKEEPER__INBOX__DIR", self.inbox())
            .env("GOALKEEPER__INBOX__PROCESSED_DIR", self.processed())
            .env("GOALKEEPER__INBOX__FAILED_DIR", self.failed())
            .args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("the goalkeeper binary runs");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and insists on exit status `code`, showing the output if not.
    pub fn run_ok(&self, args: &[&str], code: i32) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.code,
            Some(code),
            "goalkeeper {args:?}\nstdout:\n{}\nstderr:\n{}",
            out.stdout,
            out.stderr
        );
        out
    }

    /// Registers `count` users u00000, u00001, ... (UTC) through `users import`.
    pub fn register_numbered_users(&self, count: usize) {
        let mut csv = String::from("user_id,email,display_name,timezone\n");
        for u in 0..count {
            csv.push_str(&format!("u{u:05},u{u:05}@example.org,,UTC\n"));
        }
        std::fs::write(self.path("numbered-users.csv"), csv).unwrap();
        self.run_ok(&["users", "import", "numbered-users.csv"], 0);
    }

    pub fn register_sample_users(&self) {
        let users = repo_path("fixtures/users.csv");
        self.run_ok(&["users", "import", users.to_str().unwrap()], 0);
    }

    pub fn drop_file(&self, name: &str, contents: impl AsRef<[u8]>) {
        std::fs::create_dir_all(self.inbox()).unwrap();
        std::fs::write(self.inbox().join(name), contents).unwrap();
    }

    pub fn copy_sample_inbox(&self) {
        std::fs::create_dir_all(self.inbox()).unwrap();
        for entry in std::fs::read_dir(repo_path("fixtures/inbox")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), self.inbox().join(entry.file_name())).unwrap();
        }
    }

    /// `snapshots show USER PERIOD --json`, parsed.
    pub fn snapshot_json(&self, user: &str, period: &str) -> serde_json::Value {
        serde_json::from_str(&self.run_ok(&["snapshots", "show", user, period, "--json"], 0).stdout).unwrap()
    }

    pub fn snapshots_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.run_ok(&["snapshots", "list", "--json"], 0).stdout).unwrap()
    }
}

/// Appends user u`u`'s month `period` (8 lines) to a snapshot CSV body: an
/// income of 4000+u units and `income_cents`, four expenses, savings that grow
/// and a card debt that shrinks by 100 a `step`.
pub fn synthetic_month(body: &mut String, u: usize, period: &str, step: usize, income_cents: usize) {
    body.push_str(&format!(
        "u{u:05},{period},income,,salary,{}.{income_cents:02},,\n",
        4000 + u
    ));
    for (c, amount) in [
        ("housing", 1500),
        ("groceries", 400),
        ("transport", 150),
        ("utilities", 120),
    ] {
        body.push_str(&format!("u{u:05},{period},expense,,{c},{amount}.00,,\n"));
    }
    body.push_str(&format!(
        "u{u:05},{period},savings,efund,emergency_fund,{}.00,4.1,\n",
        1000 + 100 * step
    ));
    body.push_str(&format!(
        "u{u:05},{period},investment,401k,retirement,{}.00,7,\n",
        20000 + u
    ));
    body.push_str(&format!(
        "u{u:05},{period},debt,card,credit_card,{}.00,21.9,25\n",
        5000 - 100 * step
    ));
}

pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// An email the file transport wrote, as a receiver reads it.
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The `.eml` files in `dir`, by name, parsed by a real MIME parser.
pub fn emails_in(dir: &std::path::Path) -> Vec<Email> {
    names_in(dir)
        .iter()
        .map(|name| {
            let raw = std::fs::read(dir.join(name)).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to = message.to().and_then(|t| t.first()).and_then(|a| a.address());
            Email {
                to: to.unwrap_or_default().to_owned(),
                subject: message.subject().unwrap_or_default().to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
            }
        })
        .collect()
}

pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Defines each storage test twice: `sqlite::NAME` always, `postgres::NAME`
/// in a schema of its own when GOALKEEPER_TEST_POSTGRES_URL is set.
#[allow(unused_macros)] // only the storage test crates use it
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, _dir) = crate::common::sqlite_store().await;
                    super::$test(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(url) = crate::common::postgres_url() else { return };
                    let (store, schema) = crate::common::pg_store(&url).await;
                    super::$test(store.clone()).await;
                    goalkeeper::storage::Storage::close(&store).await;
                    schema.drop().await;
                }
            )*
        }
    };
}
