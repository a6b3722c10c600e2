//! An SMTP server inside the test process, so `cargo test` needs nothing
//! installed: the `mailin` crate's SMTP session (parser, state machine,
//! replies, dot-unstuffing) behind a `std::net::TcpListener` on 127.0.0.1 and
//! a random free port, one thread per connection. Plain text only (no
//! STARTTLS offered); optionally AUTH PLAIN/LOGIN with one user.

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How the server treats what it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts every message (`250` after DATA).
    Accept,
    /// Answers `451` to the DATA command of the first n messages (after their
    /// recipients were accepted), then accepts.
    TempFailFirst(usize),
    /// Refuses every recipient with `550` at RCPT: no message is ever accepted.
    Reject,
    /// Accepts the TCP connection and never sends a byte (not even the greeting).
    NeverAnswer,
    /// Holds its answer to the end of DATA of the first message for this long
    /// (then accepts it); later messages are accepted at once.
    StallFirst(Duration),
    /// Takes this long over the end of DATA of every message, then accepts it
    /// (a slow relay: lets a test kill the sender mid-round).
    Slow(Duration),
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (MAIL FROM), without angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), in order.
    pub to: Vec<String>,
    /// The message as sent after DATA (RFC 5322, dot-unstuffed, CRLF line ends).
    pub data: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The first header called `name` (any case), unfolded; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if found.is_some() {
                break;
            } else if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    connections: AtomicUsize,
    /// MAIL FROM commands: transactions started.
    attempts: AtomicUsize,
    /// DATA commands seen, accepted or not.
    data_starts: AtomicUsize,
    /// Ends of DATA seen.
    data_ends: AtomicUsize,
    /// NeverAnswer keeps its sockets open here.
    held: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

/// A running server; stops accepting when dropped.
pub struct SmtpServer {
    pub port: u16,
    state: Arc<State>,
}

impl SmtpServer {
    pub fn start(behaviour: Behaviour) -> SmtpServer {
        SmtpServer::spawn(behaviour, None)
    }

    /// Offers AUTH PLAIN and LOGIN (over plain text) and accepts only this
    /// user and password; mail is accepted without logging in too.
    pub fn start_with_login(behaviour: Behaviour, username: &str, password: &str) -> SmtpServer {
        SmtpServer::spawn(behaviour, Some((username.to_owned(), password.to_owned())))
    }

    fn spawn(behaviour: Behaviour, login: Option<(String, String)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let mut session = SessionBuilder::new("smtp.test");
        if login.is_some() {
            session
                .enable_auth(AuthMechanism::Plain)
                .enable_auth(AuthMechanism::Login)
                .insecure_enable_plaintext_auth();
        }
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                if behaviour == Behaviour::NeverAnswer {
                    shared.held.lock().unwrap().push(stream);
                    continue;
                }
                let recorder = Recorder {
                    state: Arc::clone(&shared),
                    behaviour,
                    login: login.clone(),
                    from: String::new(),
                    to: Vec::new(),
                    data: Vec::new(),
                };
                let session = session.clone();
                std::thread::spawn(move || serve(stream, &session, recorder));
            }
        });
        SmtpServer { port, state }
    }

    /// The messages accepted so far, in order of arrival.
    pub fn messages(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages were accepted; panics after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut received = self.state.received.lock().unwrap();
        while received.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "expected {n} message(s) at the test SMTP server within {timeout:?}, got {}",
                    received.len()
                );
            }
            received = self.state.arrived.wait_timeout(received, left).unwrap().0;
        }
        received.clone()
    }

    /// Transactions started (MAIL FROM commands), accepted or not.
    pub fn attempts(&self) -> usize {
        self.state.attempts.load(Ordering::SeqCst)
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Settings that point the goalkeeper binary at this server (plain text on loopback).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GOALKEEPER__EMAIL__TRANSPORT", "smtp".to_owned()),
            ("GOALKEEPER__EMAIL__SMTP__HOST", "127.0.0.1".to_owned()),
            ("GOALKEEPER__EMAIL__SMTP__PORT", self.port.to_string()),
            ("GOALKEEPER__EMAIL__SMTP__SECURITY", "none".to_owned()),
        ]
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        self.state.held.lock().map(|mut held| held.clear()).ok();
    }
}

fn serve(stream: TcpStream, session: &SessionBuilder, recorder: Recorder) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let peer = stream.peer_addr().map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip());
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let mut session = session.build(peer, recorder);
    if reply(&mut writer, &session.greeting()).is_err() {
        return;
    }
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => {
                if reply(&mut writer, &response).is_err() {
                    return;
                }
            }
            Action::Close | Action::UpgradeTls => {
                let _ = reply(&mut writer, &response);
                return;
            }
        }
    }
}

/// Writes one reply in one piece: mailin writes a reply as several small writes (`write!` per
/// line part), and on a socket with Nagle's algorithm the second waits for the client's delayed ACK
/// (tens of milliseconds a command, about 200 ms an email on Linux loopback).
fn reply(writer: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(128);
    response.write_to(&mut buf)?;
    writer.write_all(&buf)
}

/// The per-connection mailin handler: records transactions and answers as the behaviour says.
#[derive(Clone)]
struct Recorder {
    state: Arc<State>,
    behaviour: Behaviour,
    login: Option<(String, String)>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Recorder {
    fn login_ok(&self, username: &str, password: &str) -> Response {
        match &self.login {
            Some((u, p)) if u == username && p == password => AUTH_OK,
            _ => INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.state.attempts.fetch_add(1, Ordering::SeqCst);
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.behaviour == Behaviour::Reject {
            return Response::custom(
                550,
                "5.1.1 mailbox unavailable (the test server refuses everyone)".to_owned(),
            );
        }
        self.to.push(to.to_owned());
        OK
    }

    // Refusals happen at RCPT and at the DATA command, never at the end of
    // DATA: after a refused end of DATA, mailin 0.6 stays in DATA mode and
    // would swallow the client's QUIT.
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        let seen = self.state.data_starts.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::TempFailFirst(n) if seen < n => {
                Response::custom(451, "4.3.0 try again later (the test server defers)".to_owned())
            }
            _ => OK,
        }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let seen = self.state.data_ends.fetch_add(1, Ordering::SeqCst);
        if let Behaviour::StallFirst(pause) = self.behaviour
            && seen == 0
        {
            std::thread::sleep(pause);
        }
        if let Behaviour::Slow(pause) = self.behaviour {
            std::thread::sleep(pause);
        }
        let message = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
        };
        let mut received = self.state.received.lock().unwrap();
        received.push(message);
        let number = received.len();
        drop(received);
        self.state.arrived.notify_all();
        Response::custom(250, format!("2.0.0 queued as TEST{number}"))
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        self.login_ok(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.login_ok(username, password)
    }
}
