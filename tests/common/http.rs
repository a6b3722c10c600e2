//! A `goalkeeper serve` process on a free port and the blocking HTTP client the API tests use.

use super::Sandbox;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A `goalkeeper serve` process; killed when dropped.
pub struct Server {
    child: std::process::Child,
    base: String,
    pub client: Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start(sb: &Sandbox, now: Option<&str>) -> Server {
        Server::start_on(sb, now, "127.0.0.1", &[])
    }

    /// Listening on `host` (the client still connects to 127.0.0.1), with more environment.
    pub fn start_on(sb: &Sandbox, now: Option<&str>, host: &str, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut cmd = sb.command(&["serve"]);
        cmd.env("GOALKEEPER__HTTP__LISTEN", format!("{host}:{port}"));
        cmd.envs(env.iter().copied());
        if let Some(now) = now {
            cmd.env("GOALKEEPER_NOW", now);
        }
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        };
        let start = Instant::now();
        while server.client.get(server.url("/healthz")).send().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "goalkeeper serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// SIGTERM, then waits (up to 20 s) for the exit status.
    pub fn stop(&mut self) -> Option<i32> {
        let pid = i32::try_from(self.child.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "goalkeeper serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn req(&self, method: &str, path: &str, token: &str) -> RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client.request(m, self.url(path)).bearer_auth(token)
    }
}

/// Status and JSON body.
pub fn done(r: RequestBuilder) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let r: Response = r.send().unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body, headers)
}

pub fn token(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["tokens", "create"];
    all.extend_from_slice(args);
    sb.run_ok(&all, 0).stdout.trim().to_owned()
}
