//! Running the real binary: an empty environment, an ephemeral port, its output collected.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The resource-server example (`examples/resource_server.rs`), which `cargo test` builds
/// beside the test binaries.
pub fn resource_server_example(dir: &Path) -> Command {
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/resource_server");
    assert!(
        example.exists(),
        "{} is missing: run `cargo test`, which builds examples",
        example.display()
    );
    let mut command = Command::new(example);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir);
    command
}

/// A port nothing listens on now, for a server that must come back on the same one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with an empty environment, run from an empty directory (so no `.env` is read
/// unless a test writes one there).
pub fn passflow(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_passflow"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir);
    command
}

pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

/// A server on an ephemeral port, killed when dropped. Its stdout and stderr are collected.
pub struct Server {
    child: Child,
    pub base: String,
    /// What the server printed before "listening on".
    pub startup_log: Vec<String>,
    log: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts `command` on an ephemeral port, unless it sets `PORT` itself.
    pub fn start(command: &mut Command) -> Server {
        if !command.get_envs().any(|(name, _)| name == "PORT") {
            command.env("PORT", "0");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, log) = std::sync::mpsc::channel();
        // Drain both pipes for the server's whole life, so it never blocks on a full one.
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for pipe in [
            Box::new(stdout) as Box<dyn BufRead + Send>,
            Box::new(stderr),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in pipe.lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        let mut seen = Vec::new();
        let base = loop {
            let line = log
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no 'listening on' line; saw {seen:#?}"));
            // In a text line the address ends the line; in a JSON line, the string.
            if let Some((_, address)) = line.split_once("listening on ") {
                break address.split(['"', ' ']).next().unwrap().trim().to_owned();
            }
            seen.push(line);
        };
        Server {
            child,
            base,
            startup_log: seen,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }

    /// Waits up to 20 s for a log line containing `text`, and returns it.
    pub fn wait_for_log(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line containing {text:?} within 20 s"),
            }
        }
    }

    /// Everything the server printed after "listening on", once it has exited.
    pub fn log_after_exit(&self) -> String {
        self.log.iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn login(
    client: &reqwest::Client,
    server: &Server,
    user: &str,
    pw: &str,
) -> reqwest::Response {
    client
        .post(server.url("/token"))
        .form(&[("username", user), ("password", pw)])
        .send()
        .await
        .unwrap()
}

/// Logs in (which must succeed) and returns the access token.
pub async fn token_for(client: &reqwest::Client, server: &Server, user: &str, pw: &str) -> String {
    let reply = login(client, server, user, pw).await;
    assert_eq!(reply.status(), 200);
    reply.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `POST /token` with the refresh-token grant.
pub async fn refresh(
    client: &reqwest::Client,
    base: &str,
    refresh_token: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn get_as(client: &reqwest::Client, url: String, token: &str) -> reqwest::Response {
    client.get(url).bearer_auth(token).send().await.unwrap()
}

/// `GET url`, its body as JSON.
pub async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}
