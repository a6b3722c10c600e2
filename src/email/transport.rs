//! Sending one formatted email: to an SMTP relay through lettre, or into a
//! folder as an `.eml` file. A failure comes back classified, so the caller
//! knows whether to try again later:
//!
//! | what happened                                               | result                   |
//! |-------------------------------------------------------------|--------------------------|
//! | the server answered 5xx (at any step: greeting, AUTH, MAIL, RCPT, DATA) | [`SendError::Permanent`] |
//! | the server answered 4xx                                     | [`SendError::Transient`] |
//! | connection refused or reset, DNS failure, TLS handshake failure | [`SendError::Transient`] |
//! | `security = "starttls"` and the server does not offer STARTTLS | [`SendError::Transient`] (nothing is sent) |
//! | no complete answer within `smtp.timeout_seconds`            | [`SendError::Transient`] |
//! | the file transport cannot write (disk full, permissions)    | [`SendError::Transient`] |
//! | the message has no `Message-ID` (file transport)            | [`SendError::Permanent`] |
//!
//! Every reply code and text the server gave is in the error's text.

use super::tls::{ImplicitTls, extra_roots, nodelay_tcp, starttls_parameters};
use crate::config::{EmailSettings, SmtpSecurity, SmtpSettings, TransportKind, is_loopback_host};
use anyhow::{Context, bail};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Where emails go: chosen by `email.transport`.
#[derive(Debug)]
pub enum Transport {
    File(FileTransport),
    Smtp(Box<SmtpTransport>),
}

/// What the transport did with a message that was accepted, for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The relay's answer to the end of the message, e.g. `250 2.0.0 Ok: queued as 4F2B`.
    Smtp { reply: String },
    /// The file the message was written to.
    File { path: PathBuf },
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accepted::Smtp { reply } => write!(f, "accepted by the server: {reply}"),
            Accepted::File { path } => write!(f, "written to {}", path.display()),
        }
    }
}

/// Why a message was not sent, and whether trying again later may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: the server was unreachable, slow, or answered 4xx.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Not worth retrying: the server refused this message (5xx) or it cannot be sent as it is.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }

    /// The text without the transient/permanent prefix.
    pub fn detail(&self) -> &str {
        match self {
            SendError::Transient(text) | SendError::Permanent(text) => text,
        }
    }
}

impl Transport {
    /// Builds the transport `email.transport` names. Reads the SMTP password
    /// (first line of `password_file`, or `GOALKEEPER__EMAIL__SMTP__PASSWORD`);
    /// it is never logged. Opens no connection: the first send does.
    pub fn from_settings(email: &EmailSettings) -> anyhow::Result<Transport> {
        match email.transport {
            TransportKind::File => Ok(Transport::File(FileTransport::new(&email.file.dir)?)),
            TransportKind::Smtp => Ok(Transport::Smtp(Box::new(SmtpTransport::new(&email.smtp, &email.from)?))),
        }
    }

    /// Sends `message` to the recipients of its envelope (its To, Cc and Bcc).
    pub async fn send(&self, message: &Message) -> Result<Accepted, SendError> {
        match self {
            Transport::File(file) => file.send(message).await,
            Transport::Smtp(smtp) => smtp.send(message.envelope(), &message.formatted()).await,
        }
    }

    /// Says goodbye (QUIT) on pooled SMTP connections; sends after this fail
    /// transiently. Nothing to do for the file transport.
    pub async fn close(&self) {
        if let Transport::Smtp(smtp) = self {
            smtp.close().await;
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::File(file) => write!(f, "files in {}", file.dir.display()),
            Transport::Smtp(smtp) => write!(f, "SMTP via {} ({:?})", smtp.server, smtp.security),
        }
    }
}

/// One `.eml` file per message in a folder, named after its Message-ID.
#[derive(Debug)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    pub fn new(dir: &Path) -> anyhow::Result<FileTransport> {
        if dir.as_os_str().is_empty() {
            bail!("email.file.dir: a folder is required for transport = \"file\"");
        }
        Ok(FileTransport { dir: dir.to_path_buf() })
    }

    /// Writes `{dir}/{message-id}.eml` atomically (temporary file, fsync,
    /// rename, fsync of the folder), creating the folder if it is missing. The
    /// same Message-ID sent again replaces the same file.
    pub async fn send(&self, message: &Message) -> Result<Accepted, SendError> {
        let Some(stem) = message.headers().get_raw("Message-ID").and_then(file_stem) else {
            return Err(SendError::Permanent(
                "the message has no usable Message-ID to name its file after".to_owned(),
            ));
        };
        let path = self.dir.join(format!("{stem}.eml"));
        let bytes = message.formatted();
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomically(&target, &bytes)).await;
        match written {
            Ok(Ok(())) => Ok(Accepted::File { path }),
            Ok(Err(e)) => Err(SendError::Transient(format!("writing {}: {e}", path.display()))),
            Err(e) => Err(SendError::Transient(format!("writing {}: {e}", path.display()))),
        }
    }
}

impl FileTransport {
    /// Writes each message as [`send`](Self::send) does, as one durable batch (see
    /// [`write_batch`]): one result per message, in order. A message is `Ok` only once its file
    /// and its name are on disk, so recording the batch as sent after this never loses one; a
    /// crash before that record writes the same files again (same Message-ID, same name).
    pub async fn send_batch(&self, messages: &[Message]) -> Vec<Result<Accepted, SendError>> {
        let mut results: Vec<Option<Result<Accepted, SendError>>> = Vec::with_capacity(messages.len());
        let mut files = Vec::new();
        let mut slots = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            match message.headers().get_raw("Message-ID").and_then(file_stem) {
                Some(stem) => {
                    files.push((self.dir.join(format!("{stem}.eml")), message.formatted()));
                    slots.push(i);
                    results.push(None);
                }
                None => results.push(Some(Err(SendError::Permanent(
                    "the message has no usable Message-ID to name its file after".to_owned(),
                )))),
            }
        }
        let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        let dir = self.dir.clone();
        let written = tokio::task::spawn_blocking(move || write_batch(&dir, files)).await;
        for (k, (slot, path)) in slots.into_iter().zip(paths).enumerate() {
            let result = match &written {
                Ok(each) => match each.get(k) {
                    Some(Ok(())) => Ok(Accepted::File { path }),
                    Some(Err(e)) => Err(SendError::Transient(format!("writing {}: {e}", path.display()))),
                    None => Err(SendError::Transient(format!("writing {}: no result", path.display()))),
                },
                Err(e) => Err(SendError::Transient(format!("writing {}: {e}", path.display()))),
            };
            results[slot] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(SendError::Transient("not written".to_owned()))))
            .collect()
    }
}

/// `<20240501.abc@goalkeeper.example>` → `20240501.abc_goalkeeper.example`:
/// only `[A-Za-z0-9._-]`, no leading dot, at most 200 characters.
fn file_stem(message_id: &str) -> Option<String> {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    let stem = safe.trim_start_matches('.');
    (!stem.is_empty()).then(|| stem.to_owned())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut written = write_batch(dir, vec![(path.to_path_buf(), bytes.to_vec())]);
    written.pop().unwrap_or(Ok(()))
}

/// Writes each `(path, bytes)` atomically and durably, as a batch: every file to a temporary
/// name first (its writeback started at once), then each synced (`fdatasync`: after the first,
/// the filesystem has usually committed the others' blocks with it, so the rest cost little),
/// renamed into place, and the folder synced once for all the renames. One result per file, in
/// order; a file is only `Ok` once its data and its name are on disk.
fn write_batch(dir: &Path, files: Vec<(PathBuf, Vec<u8>)>) -> Vec<std::io::Result<()>> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return files
            .iter()
            .map(|_| Err(std::io::Error::new(e.kind(), e.to_string())))
            .collect();
    }
    let temps: Vec<std::io::Result<(tempfile::NamedTempFile, PathBuf)>> = files
        .into_iter()
        .map(|(path, bytes)| {
            let mut temp = tempfile::Builder::new().prefix(".").suffix(".part").tempfile_in(dir)?;
            temp.write_all(&bytes)?;
            start_writeback(temp.as_file());
            Ok((temp, path))
        })
        .collect();
    let mut results: Vec<std::io::Result<()>> = temps
        .into_iter()
        .map(|temp| {
            let (temp, path) = temp?;
            temp.as_file().sync_data()?;
            temp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        })
        .collect();
    // The renames are only durable once the folder itself is on disk: once for the batch.
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        for result in results.iter_mut().filter(|r| r.is_ok()) {
            *result = Err(std::io::Error::new(e.kind(), format!("syncing the folder: {e}")));
        }
    }
    results
}

/// Asks the kernel to start writing `file`'s data now, without waiting (Linux's
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so a batch's writes overlap; only a speed-up,
/// the `fdatasync` after it is what makes the data durable.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the whole call (borrowed from `file`); the call only
    // schedules writeback and reads no memory of ours.
    let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &std::fs::File) {}

/// SMTP through lettre's connection (lettre speaks the protocol: EHLO,
/// STARTTLS, AUTH, MAIL, RCPT, DATA), over sockets opened here with
/// `TCP_NODELAY` (for every `security`, implicit TLS included: see
/// [`super::tls`]), kept in a small pool: at most `smtp.connections` sends at
/// once, each bounded by `smtp.timeout_seconds` from start to finish.
///
/// Why not lettre's own pool: its sockets keep Nagle's algorithm on, and the
/// message's final `.` line then waits for the server's delayed ACK, about
/// 40 ms per email on Linux (measured: 89 emails/s over 4 connections
/// against a local sink, against 3,400/s for postfix's smtp-source). Here a
/// connection goes back to the pool only after a successful send: after any
/// error or a timeout lettre has aborted it (or the future holding it was
/// dropped), so a half-finished conversation is never reused.
pub struct SmtpTransport {
    host: String,
    port: u16,
    security: SmtpSecurity,
    /// STARTTLS's parameters (lettre upgrades the connection).
    starttls: Option<TlsParameters>,
    /// Implicit TLS, done here before lettre sees the stream.
    implicit: Option<ImplicitTls>,
    hello: ClientId,
    credentials: Option<Credentials>,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    permits: tokio::sync::Semaphore,
    timeout: Duration,
    /// `host:port`, for messages.
    server: String,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A failure before or during a conversation.
enum Failure {
    Smtp(lettre::transport::smtp::Error),
    Io(String),
}

impl SmtpTransport {
    /// Checks the settings and prepares TLS; `from` (the sender's address)
    /// gives the name we greet the server with (EHLO).
    pub fn new(smtp: &SmtpSettings, from: &str) -> anyhow::Result<SmtpTransport> {
        if smtp.host.is_empty() {
            bail!("email.smtp.host: a host name is required for transport = \"smtp\"");
        }
        if smtp.timeout_seconds == 0 {
            bail!("email.smtp.timeout_seconds: expected at least 1");
        }
        if smtp.connections == 0 {
            bail!("email.smtp.connections: expected at least 1");
        }
        let roots = extra_roots(&smtp.ca_file)?;
        let (starttls, implicit) = match smtp.security {
            SmtpSecurity::Starttls => (Some(starttls_parameters(&smtp.host, &roots)?), None),
            SmtpSecurity::Tls => (None, Some(ImplicitTls::new(&smtp.host, &roots)?)),
            SmtpSecurity::None => {
                if !is_loopback_host(&smtp.host) {
                    bail!(
                        "email.smtp.security: \"none\" is only allowed for localhost, not {:?}; use starttls or tls",
                        smtp.host
                    );
                }
                (None, None)
            }
        };
        let sender: Mailbox = from
            .parse()
            .with_context(|| format!("email.from: {from:?} is not an email address"))?;
        Ok(SmtpTransport {
            host: smtp.host.clone(),
            port: smtp.port,
            security: smtp.security,
            starttls,
            implicit,
            hello: ClientId::Domain(sender.email.domain().to_owned()),
            credentials: credentials(smtp)?,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(usize::try_from(smtp.connections).unwrap_or(usize::MAX)),
            timeout: Duration::from_secs(smtp.timeout_seconds),
            server: format!("{}:{}", smtp.host, smtp.port),
        })
    }

    /// Sends already formatted bytes to the envelope's recipients.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Accepted, SendError> {
        let Ok(_permit) = self.permits.acquire().await else {
            return Err(SendError::Transient(format!(
                "{}: the transport is closed",
                self.server
            )));
        };
        // The whole conversation is bounded here: a server that accepts and
        // then says nothing cannot hold us. Dropping the future drops its
        // connection, so it never returns to the pool.
        match tokio::time::timeout(self.timeout, self.converse(envelope, message)).await {
            Ok(Ok(response)) => Ok(Accepted::Smtp {
                reply: describe_response(&response),
            }),
            Ok(Err(Failure::Smtp(e))) => Err(self.classify(&e)),
            Ok(Err(Failure::Io(e))) => Err(SendError::Transient(format!("{}: {e}", self.server))),
            Err(_elapsed) => Err(SendError::Transient(format!(
                "{}: timed out after {}s waiting for the server",
                self.server,
                self.timeout.as_secs()
            ))),
        }
    }

    /// One send: on a pooled connection if there is one (and once more on a
    /// fresh one if the pooled one turns out closed), else on a new one.
    async fn converse(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, Failure> {
        let pooled = self.lock_idle().pop();
        if let Some(mut conn) = pooled {
            match conn.send(envelope, message).await {
                Ok(response) => {
                    self.lock_idle().push(conn);
                    return Ok(response);
                }
                // The server answered: that is the answer for this message.
                Err(e) if e.status().is_some() => return Err(Failure::Smtp(e)),
                // The server closed an idle connection: try a fresh one.
                Err(_) => {}
            }
        }
        let mut conn = self.connect().await?;
        let response = conn.send(envelope, message).await.map_err(Failure::Smtp)?;
        self.lock_idle().push(conn);
        Ok(response)
    }

    /// A new connection: TCP with `TCP_NODELAY`, the TLS handshake first for implicit TLS, greeting and
    /// EHLO, STARTTLS when required, AUTH when configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let tcp = nodelay_tcp(&self.host, self.port)
            .await
            .map_err(|e| Failure::Io(format!("connecting: {e}")))?;
        let mut conn = if let Some(implicit) = &self.implicit {
            let tls = implicit
                .connect(tcp)
                .await
                .map_err(|e| Failure::Io(format!("TLS handshake: {}", error_chain(&e))))?;
            AsyncSmtpConnection::connect_with_transport(tls, &self.hello)
                .await
                .map_err(Failure::Smtp)?
        } else {
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                .await
                .map_err(Failure::Smtp)?;
            if let Some(tls) = &self.starttls {
                // Required, never opportunistic: a server (or someone in
                // between) that does not offer STARTTLS gets neither
                // credentials nor mail.
                if !conn.can_starttls() {
                    conn.abort().await;
                    return Err(Failure::Io(
                        "does not offer STARTTLS, which security = \"starttls\" requires; nothing was sent".to_owned(),
                    ));
                }
                conn.starttls(tls.clone(), &self.hello).await.map_err(Failure::Smtp)?;
            }
            conn
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(Failure::Smtp)?;
        }
        Ok(conn)
    }

    /// Closes the pooled connections (QUIT) and refuses further sends.
    pub async fn close(&self) {
        self.permits.close();
        let idle: Vec<AsyncSmtpConnection> = std::mem::take(&mut *self.lock_idle());
        for mut conn in idle {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.quit()).await;
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<AsyncSmtpConnection>> {
        // The list is always consistent (push and pop), so a panic elsewhere cannot poison its meaning.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn classify(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let server = &self.server;
        if let Some(code) = e.status() {
            let text = std::error::Error::source(e)
                .map(ToString::to_string)
                .unwrap_or_default();
            let detail = format!("{server} answered {code} {text}").trim_end().to_owned();
            return if e.is_permanent() {
                SendError::Permanent(detail)
            } else {
                SendError::Transient(detail)
            };
        }
        SendError::Transient(format!("{server}: {}", error_chain(e)))
    }
}

/// The password: the first line of `password_file` (trimmed), else
/// `GOALKEEPER__EMAIL__SMTP__PASSWORD`. Both or neither of user and password.
fn credentials(smtp: &SmtpSettings) -> anyhow::Result<Option<Credentials>> {
    let password = if smtp.password_file.as_os_str().is_empty() {
        smtp.password.clone().filter(|p| !p.is_empty())
    } else {
        let path = &smtp.password_file;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("email.smtp.password_file: cannot read {}", path.display()))?;
        let first = text.lines().next().unwrap_or_default().trim();
        if first.is_empty() {
            bail!(
                "email.smtp.password_file: the first line of {} is empty",
                path.display()
            );
        }
        Some(first.to_owned())
    };
    match (smtp.username.is_empty(), password) {
        (true, None) => Ok(None),
        (true, Some(_)) => bail!("email.smtp.username: a password is configured but the user name is empty"),
        (false, None) => bail!(
            "email.smtp.username is set but there is no password: set email.smtp.password_file \
             or GOALKEEPER__EMAIL__SMTP__PASSWORD"
        ),
        (false, Some(password)) => Ok(Some(Credentials::new(smtp.username.clone(), password))),
    }
}

fn describe_response(response: &Response) -> String {
    let text: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), text.join(" ")).trim_end().to_owned()
}

/// The error and its causes, each once.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp_settings() -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: 2525,
            security: SmtpSecurity::None,
            username: String::new(),
            password_file: PathBuf::new(),
            password: None,
            ca_file: PathBuf::new(),
            timeout_seconds: 1,
            connections: 2,
        }
    }

    #[test]
    fn message_ids_become_file_names_of_safe_characters_only() {
        assert_eq!(
            file_stem("<20240501.a-b_c@goalkeeper.example>").as_deref(),
            Some("20240501.a-b_c_goalkeeper.example")
        );
        assert_eq!(file_stem("<../../etc/passwd>").as_deref(), Some("_.._etc_passwd"));
        assert_eq!(file_stem("<x y/z\\w>").as_deref(), Some("x_y_z_w"));
        assert_eq!(file_stem("<>"), None);
        assert_eq!(file_stem("<...>"), None);
        assert_eq!(
            file_stem(&format!("<{}@x>", "a".repeat(300))).map(|s| s.len()),
            Some(200)
        );
    }

    #[test]
    fn the_password_is_the_first_line_of_the_password_file_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "  s3cret \r\nsecond line\n").unwrap();
        let mut smtp = smtp_settings();
        smtp.username = "goalkeeper".to_owned();
        smtp.password_file = file;
        smtp.password = Some("from the environment, ignored".to_owned());
        assert_eq!(
            credentials(&smtp).unwrap(),
            Some(Credentials::new("goalkeeper".to_owned(), "s3cret".to_owned()))
        );
    }

    #[test]
    fn without_a_password_file_the_password_comes_from_the_environment_setting() {
        let mut smtp = smtp_settings();
        smtp.username = "goalkeeper".to_owned();
        smtp.password = Some("env-secret".to_owned());
        assert_eq!(
            credentials(&smtp).unwrap(),
            Some(Credentials::new("goalkeeper".to_owned(), "env-secret".to_owned()))
        );
    }

    #[test]
    fn a_user_without_a_password_or_a_password_without_a_user_is_refused() {
        let mut smtp = smtp_settings();
        smtp.username = "goalkeeper".to_owned();
        let error = credentials(&smtp).unwrap_err().to_string();
        assert!(error.contains("no password"), "{error}");

        let mut smtp = smtp_settings();
        smtp.password = Some("secret".to_owned());
        let error = credentials(&smtp).unwrap_err().to_string();
        assert!(error.contains("user name is empty"), "{error}");
        assert!(!error.contains("secret"), "the password leaked into {error}");

        assert_eq!(credentials(&smtp_settings()).unwrap(), None);
    }

    #[test]
    fn an_empty_first_line_in_the_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "\nsecret on the second line\n").unwrap();
        let mut smtp = smtp_settings();
        smtp.username = "goalkeeper".to_owned();
        smtp.password_file = file;
        let error = credentials(&smtp).unwrap_err().to_string();
        assert!(error.contains("first line"), "{error}");
        assert!(!error.contains("secret"), "the password leaked into {error}");
    }

    #[test]
    fn plain_text_smtp_is_refused_for_a_host_that_is_not_loopback() {
        let mut smtp = smtp_settings();
        smtp.host = "mail.example.org".to_owned();
        let error = SmtpTransport::new(&smtp, "goals@example.org").unwrap_err().to_string();
        assert!(error.contains("only allowed for localhost"), "{error}");

        smtp.host = "localhost".to_owned();
        assert!(SmtpTransport::new(&smtp, "goals@example.org").is_ok());
        smtp.host = "[::1]".to_owned();
        assert!(SmtpTransport::new(&smtp, "goals@example.org").is_ok());
    }

    #[test]
    fn the_smtp_transport_outlives_the_runtime_it_sent_from() {
        // A port nothing listens on: the send fails, but the pool exists.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut smtp = smtp_settings();
        smtp.port = listener.local_addr().unwrap().port();
        drop(listener);
        let transport = SmtpTransport::new(&smtp, "goalkeeper <goals@example.org>").unwrap();
        assert!(format!("{transport:?}").contains(&format!("127.0.0.1:{}", smtp.port)));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let message = Message::builder()
            .from("goals@example.org".parse().unwrap())
            .to("alice@example.org".parse().unwrap())
            .subject("x")
            .body(String::from("x"))
            .unwrap();
        let result = runtime.block_on(transport.send(message.envelope(), &message.formatted()));
        assert!(matches!(result, Err(SendError::Transient(_))), "{result:?}");
        drop(runtime);
        drop(transport); // must not panic: lettre's pool would spawn on a runtime that is gone
    }

    /// `TCP_NODELAY` of this process's TCP socket whose local address is `local`, if there is one.
    #[cfg(unix)]
    fn nodelay_of_own_socket(local: std::net::SocketAddr) -> Option<bool> {
        use std::os::fd::FromRawFd;
        (3..4096).find_map(|fd| {
            // SAFETY: the fd is only borrowed (never closed: ManuallyDrop) to read its address and one
            // option; on an fd that is not a TCP socket both calls just fail.
            let socket = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
            match socket.local_addr() {
                Ok(addr) if addr == local => socket.nodelay().ok(),
                _ => None,
            }
        })
    }

    #[cfg(unix)]
    #[test]
    fn every_security_mode_implicit_tls_included_sends_over_a_socket_with_tcp_nodelay() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for security in [SmtpSecurity::Tls, SmtpSecurity::Starttls, SmtpSecurity::None] {
            // A server that accepts and never answers: the client waits in the TLS handshake (tls) or
            // for the greeting, holding its socket open for us to look at.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut smtp = smtp_settings();
            smtp.port = listener.local_addr().unwrap().port();
            smtp.security = security;
            smtp.timeout_seconds = 5;
            let transport = SmtpTransport::new(&smtp, "goals@example.org").unwrap();
            let message = Message::builder()
                .from("goals@example.org".parse().unwrap())
                .to("alice@example.org".parse().unwrap())
                .subject("x")
                .body(String::from("x"))
                .unwrap();
            let bytes = message.formatted();
            let nodelay = runtime.block_on(async {
                let send = transport.send(message.envelope(), &bytes);
                let look = tokio::task::spawn_blocking(move || {
                    let (server_side, client) = listener.accept().unwrap();
                    // The client sets the option just after its connect returns, which may be after
                    // our accept: look until it is set, or for a second.
                    let deadline = std::time::Instant::now() + Duration::from_secs(1);
                    let mut nodelay = nodelay_of_own_socket(client);
                    while nodelay != Some(true) && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                        nodelay = nodelay_of_own_socket(client);
                    }
                    drop(server_side);
                    nodelay
                });
                let (result, nodelay) = tokio::join!(send, look);
                assert!(result.is_err(), "{security:?}: nothing answered, yet {result:?}");
                nodelay.unwrap()
            });
            assert_eq!(nodelay, Some(true), "{security:?}");
        }
    }

    #[test]
    fn send_errors_say_whether_to_retry() {
        let transient = SendError::Transient("x:25 answered 451 try later".to_owned());
        assert!(transient.is_transient());
        assert_eq!(transient.detail(), "x:25 answered 451 try later");
        assert_eq!(transient.to_string(), "temporary failure: x:25 answered 451 try later");
        assert!(!SendError::Permanent("550".to_owned()).is_transient());
    }
}
