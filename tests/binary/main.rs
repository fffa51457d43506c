//! The real binary: configuration refusals, the CLI, and HTTP over a socket.

// Helpers are `pub` for the sibling modules of this one test binary.
#![allow(unreachable_pub)]

mod audit;
mod clients;
mod database;
#[path = "../fixtures/mod.rs"]
mod fixtures;
mod harness;
mod keys;
mod replicas;
mod sign_in;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fixtures::TUTORIAL_KEY;
use harness::*;
use serde_json::{Value, json};

#[tokio::test]
async fn serves_login_and_profile_over_http_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // tower_http's debug events say when a request has reached the router.
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("RUST_LOG", "passflow=info,tower_http=debug"),
    );
    let client = reqwest::Client::new();

    let token = token_for(&client, &server, "johndoe", "secret").await;
    let me = get_as(&client, server.url("/users/me/"), &token).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.text().await.unwrap(),
        r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#
    );

    // seed 001's pytest suite, against the default server: bcrypt users log in.
    for (user, password, full_name, email) in [
        (
            "stanley",
            "secret",
            "Stanley Jobson",
            "Stanley.Jobson@localhost",
        ),
        ("mike", "password", "Mike Doe", "Mike.Doe@localhost"),
    ] {
        let unauthenticated = client.get(server.url("/users/me")).send().await.unwrap();
        assert_eq!(unauthenticated.status(), 401);
        let token = token_for(&client, &server, user, password).await;
        let me = get_as(&client, server.url("/users/me"), &token).await;
        assert_eq!(me.status(), 200);
        assert_eq!(
            me.json::<Value>().await.unwrap(),
            json!({"username": user, "email": email, "full_name": full_name, "disabled": false})
        );
    }

    // A login in flight when SIGTERM arrives still gets its answer.
    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = server.url("/token");
        async move {
            client
                .post(url)
                .header("x-request-id", "in-flight-at-sigterm")
                .form(&[("username", "johndoe"), ("password", "secret")])
                .send()
                .await
                .map(|reply| reply.status())
        }
    });
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        // The login is in the handler (hashing takes ~100 ms) once the router has seen it.
        // Its own request id tells its line from the earlier logins' lines still queued.
        let line = server.wait_for_log("in-flight-at-sigterm");
        assert!(line.contains("started processing request"), "{line}");
        server.terminate()
    })
    .await
    .unwrap();
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "passflow=info,tower_http=info"),
    );
    let client = reqwest::Client::new();
    let pair: Value = login(&client, &server, "johndoe", "secret")
        .await
        .json()
        .await
        .unwrap();
    let first = pair["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&client, &server.base, first).await.status(), 200);
    assert_eq!(refresh(&client, &server.base, first).await.status(), 400);
    assert!(server.terminate().success());

    let logs = server.log_after_exit();
    let lines: Vec<Value> = server
        .startup_log
        .iter()
        .map(String::as_str)
        .chain(logs.lines())
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let reuse = lines
        .iter()
        .find(|line| line["fields"]["message"] == "refresh token reused; session ended")
        .expect("the reuse is logged");
    assert_eq!(reuse["level"], "WARN");
    assert!(reuse["fields"]["session"].is_string(), "{reuse}");
    let answered = lines
        .iter()
        .find(|line| line["fields"]["message"] == "finished processing request")
        .expect("a line per request with tower_http=info");
    assert_eq!(answered["span"]["path"], "/token");
    assert_eq!(answered["span"]["method"], "POST");
    assert!(answered["span"]["id"].is_string(), "{answered}");
    assert!(answered["fields"]["status"].is_number(), "{answered}");
    assert!(answered["fields"]["latency"].is_string(), "{answered}");
    for secret in [first, pair["access_token"].as_str().unwrap(), TUTORIAL_KEY] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

/// A port nothing listens on right now (the listener is dropped at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("METRICS_ADDR", &metrics),
    );
    let client = reqwest::Client::new();
    let pair: Value = login(&client, &server, "johndoe", "secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        login(&client, &server, "johndoe", "wrong").await.status(),
        401
    );
    let first = pair["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&client, &server.base, first).await.status(), 200);
    assert_eq!(refresh(&client, &server.base, first).await.status(), 400);
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "not on the public port");

    let text = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"passflow_logins_total{outcome="success"} 1"#,
        r#"passflow_logins_total{outcome="failure"} 1"#,
        r#"passflow_refreshes_total{outcome="success"} 1"#,
        r#"passflow_refreshes_total{outcome="invalid_grant"} 1"#,
        r#"passflow_sessions_ended_total{reason="reused"} 1"#,
        "passflow_hash_queue_depth 0",
        r#"passflow_http_request_duration_seconds_count{route="/token",status="200"} 2"#,
        r#"passflow_http_request_duration_seconds_count{route="/token",status="401"} 1"#,
        r#"passflow_http_request_duration_seconds_count{route="unmatched",status="404"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.contains("# TYPE passflow_http_request_duration_seconds histogram"),
        "{text}"
    );
}

/// The README's curl walkthrough, over real HTTP: login → refresh → logout.
#[tokio::test]
async fn a_session_logs_in_refreshes_and_logs_out_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(passflow(dir.path()).env("SECRET_KEY", TUTORIAL_KEY));
    let client = reqwest::Client::new();
    let login: Value = client
        .post(server.url("/token"))
        .form(&[("username", "johndoe"), ("password", "secret")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply = refresh(
        &client,
        &server.base,
        login["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["cache-control"], "no-store");
    let refreshed: Value = reply.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    let sessions = get_as(&client, server.url("/users/me/sessions/"), access).await;
    assert_eq!(sessions.status(), 200);
    let sessions: Value = sessions.json().await.unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["current"], true);

    let logout = client
        .post(server.url("/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let me = get_as(&client, server.url("/users/me/"), access).await;
    assert_eq!(me.status(), 401);
    assert_eq!(me.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        me.text().await.unwrap(),
        r#"{"detail":"Could not validate credentials"}"#
    );
    let again = refresh(
        &client,
        &server.base,
        refreshed["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.text().await.unwrap(),
        r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#
    );
}

#[tokio::test]
async fn without_a_secret_key_it_serves_with_a_random_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut passflow(dir.path()));
    let client = reqwest::Client::new();
    let token = token_for(&client, &server, "johndoe", "secret").await;
    let me = get_as(&client, server.url("/users/me/items/"), &token).await;
    assert_eq!(
        me.text().await.unwrap(),
        r#"[{"item_id":"Foo","owner":"johndoe"}]"#
    );
}

#[test]
fn a_missing_secret_key_is_warned_about_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = passflow(dir.path())
        .env("PORT", "0")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.contains("WARN"), "{first}");
    assert!(first.contains("SECRET_KEY is not set"), "{first}");
    assert!(first.contains("will not survive a restart"), "{first}");
}

#[test]
fn a_short_secret_key_is_refused_with_a_way_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(passflow(dir.path()).env("SECRET_KEY", "too-short"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is 9 bytes long"), "{stderr}");
    assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the key itself is not echoed: {stderr}"
    );
}

#[test]
fn bad_numbers_are_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
        ("HASH_WORKERS", "0"),
        ("HASH_QUEUE", "-1"),
        ("TOKEN_LEEWAY_SECONDS", "1.5"),
        ("LOGIN_CONCURRENCY_PER_IP", "0"),
        ("LOGIN_CONCURRENCY_PER_IP", "few"),
        ("CONNECTIONS_PER_IP", "0"),
        ("CONNECTIONS_PER_IP", "-5"),
        ("SESSION_IDLE_TIMEOUT_SECONDS", "0"),
        ("SESSION_IDLE_TIMEOUT_SECONDS", "two weeks"),
        ("SESSION_MAX_LIFETIME_SECONDS", "0"),
        ("SESSION_MAX_LIFETIME_SECONDS", "-1"),
        ("REFRESH_REUSE_GRACE_SECONDS", "-1"),
        ("REFRESH_REUSE_GRACE_SECONDS", "0.5"),
    ] {
        let output = run(passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env(variable, value));
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}={value}: {stderr}");
    }
}

#[test]
fn a_dot_env_file_is_read_and_the_environment_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET_KEY=short-from-dot-env\n").unwrap();
    let output = run(&mut passflow(dir.path()));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is 18 bytes long"), "{stderr}");
    // The environment's (too short, other length) key wins over the file's.
    let output = run(passflow(dir.path()).env("SECRET_KEY", "short"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is 5 bytes long"), "{stderr}");
    // And a flag wins over both.
    let output = run(passflow(dir.path()).env("SECRET_KEY", "short").args([
        "--secret-key",
        "abc",
        "--port",
        "0",
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is 3 bytes long"), "{stderr}");
}

#[test]
fn logs_to_a_pipe_or_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Not a terminal, and NO_COLOR unset: the harness's pipes are what a log file sees.
    let mut server = Server::start(&mut passflow(dir.path()));
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    let log = server.log_after_exit();
    assert!(log.contains("shut down cleanly"), "{log}");
    assert!(!log.contains('\x1b'), "escape sequences in {log:?}");
}

#[test]
fn healthcheck_asks_the_local_server_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut passflow(dir.path()));
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let output = run(passflow(dir.path())
        .args(["healthcheck", "--host", "0.0.0.0"])
        .env("PORT", &port));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    drop(server);
    let output = run(passflow(dir.path()).arg("healthcheck").env("PORT", &port));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("unhealthy: "), "{stderr}");
}

#[test]
fn gen_secret_prints_a_fresh_32_byte_hex_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(passflow(dir.path()).arg("gen-secret"));
    let second = run(passflow(dir.path()).arg("gen-secret"));
    assert!(first.status.success());
    let key = String::from_utf8(first.stdout).unwrap();
    let key = key.trim_end();
    assert_eq!(key.len(), 64);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(key, String::from_utf8(second.stdout).unwrap().trim_end());
}

#[test]
fn hash_password_reads_stdin_and_prints_a_pwdlib_compatible_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = passflow(dir.path())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hunter2\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.trim_end();
    assert!(
        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "{hash}"
    );
    assert_eq!(
        passflow::auth::credentials::password::verify_password("hunter2", hash),
        Ok(true)
    );
}

#[test]
fn help_and_version_list_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(passflow(dir.path()).arg("--help"));
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "serve",
        "hash-password",
        "gen-secret",
        "[env: HOST=]",
        "[env: PORT=]",
        "[env: SECRET_KEY]",
        "[env: ACCESS_TOKEN_EXPIRE_MINUTES=]",
        "[env: USERS_FILE=]",
        "[env: HASH_WORKERS=]",
        "[env: HASH_QUEUE=]",
        "[env: LOGIN_FAILURES_PER_USER=]",
        "[env: TRUSTED_PROXIES=]",
        "[env: CORS_ORIGINS=]",
        "[env: SESSION_IDLE_TIMEOUT_SECONDS=]",
        "[env: SESSION_MAX_LIFETIME_SECONDS=]",
        "[env: REFRESH_REUSE_GRACE_SECONDS=]",
        "[env: LOG_FORMAT=]",
        "[env: METRICS_ADDR=]",
        "[env: DATABASE_URL]",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    // Every setting is documented in .env.example and in the README's table.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for variable in help
        .split("[env: ")
        .skip(1)
        .map(|rest| rest.split(['=', ']']).next().unwrap())
    {
        assert!(
            example.contains(&format!("{variable}=")),
            ".env.example lacks {variable}"
        );
        assert!(
            readme.contains(&format!("`{variable}`")),
            "README lacks {variable}"
        );
    }
    let version = run(passflow(dir.path()).arg("--version"));
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("passflow {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_invalid_users_file_stops_the_start_naming_user_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    std::fs::write(
        &path,
        r#"{"bob": {"username": "bob", "full_name": null, "email": null, "disabled": false}}"#,
    )
    .unwrap();
    let output = run(passflow(dir.path())
        .env("SECRET_KEY", TUTORIAL_KEY)
        .env("USERS_FILE", &path));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("USERS_FILE"), "{stderr}");
    assert!(stderr.contains("user \"bob\""), "{stderr}");
    assert!(
        stderr.contains("missing field `hashed_password`"),
        "{stderr}"
    );
}

/// A raw connection to `server`, for what an HTTP client library will not send.
fn raw(server: &Server) -> std::net::TcpStream {
    let address = server.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn read_all(stream: &mut std::net::TcpStream) -> String {
    let mut reply = Vec::new();
    let _ = std::io::Read::read_to_end(stream, &mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn a_huge_body_is_refused_before_it_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(passflow(dir.path()).env("SECRET_KEY", TUTORIAL_KEY));
    let mut stream = raw(&server);
    let head = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 4194304\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    // Send a sliver of the promised 4 MiB; the answer must not wait for the rest.
    stream.write_all(&[b'a'; 64 * 1024]).unwrap();
    let reply = read_all(&mut stream);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(
        reply.ends_with(r#"{"detail":"Request body too large"}"#),
        "{reply}"
    );
}

#[test]
fn slow_and_idle_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("HEADER_READ_TIMEOUT_SECONDS", "1"),
    );
    // Slow loris: headers that never end.
    let mut stream = raw(&server);
    let started = std::time::Instant::now();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let reply = read_all(&mut stream);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held {:?}",
        started.elapsed()
    );
    assert!(!reply.contains("200 OK"), "{reply}");

    // Idle keep-alive: one request, then silence.
    let mut stream = raw(&server);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let reply = read_all(&mut stream);
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held {:?}",
        started.elapsed()
    );
}

/// Sends `GET /users/me/` with a bearer "token" of `len` bytes on a kept-alive connection and
/// reads until the server closes it.
fn get_with_long_header(server: &Server, len: usize) -> String {
    let mut stream = raw(server);
    let long = "a".repeat(len);
    let request =
        format!("GET /users/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {long}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes());
    read_all(&mut stream)
}

#[test]
fn oversized_heads_get_a_json_431_and_the_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(passflow(dir.path()).env("SECRET_KEY", TUTORIAL_KEY));
    // 33 KiB: just over the 32 KiB limit; 100 KiB: far over it, inside hyper's buffer.
    for len in [33 * 1024, 100 * 1024] {
        let reply = get_with_long_header(&server, len);
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        assert_eq!(
            lines.next(),
            Some("HTTP/1.1 431 Request Header Fields Too Large")
        );
        let headers: Vec<&str> = lines.collect();
        for expected in [
            "content-type: application/json",
            "connection: close",
            "content-length: 44",
        ] {
            assert!(headers.contains(&expected), "{expected} in {headers:?}");
        }
        // read_all returned: the server closed the kept-alive connection after answering.
        assert_eq!(body, r#"{"detail":"Request Header Fields Too Large"}"#);
    }
    // Under the limit the request is served (and the over-long token refused as usual).
    let mut stream = raw(&server);
    let request = format!(
        "GET /users/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        "a".repeat(31 * 1024)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let reply = read_all(&mut stream);
    assert!(
        reply.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{reply}"
    );
    assert!(
        reply.ends_with(r#"{"detail":"Could not validate credentials"}"#),
        "{reply}"
    );
}

#[tokio::test]
async fn passwords_tokens_and_hashes_never_reach_the_logs_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let password = "Pa55-w0rd-that-must-not-leak";
    let wrong = "Wr0ng-guess-that-must-not-leak";
    let hash = passflow::auth::credentials::password::hash_password(password);
    let users = json!({"logger": {
        "username": "logger", "full_name": null, "email": null,
        "hashed_password": hash, "disabled": false,
    }});
    let users_file = dir.path().join("users.json");
    std::fs::write(&users_file, users.to_string()).unwrap();

    let mut server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("USERS_FILE", &users_file)
            .env("RUST_LOG", "trace"),
    );
    let base = server.base.clone();

    let client = reqwest::Client::new();
    let wrong_reply = client
        .post(format!("{base}/token"))
        .form(&[("username", "logger"), ("password", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_reply.status(), 401);
    let reply = client
        .post(format!("{base}/token"))
        .form(&[("username", "logger"), ("password", password)])
        .send()
        .await
        .unwrap();
    let pair = reply.json::<Value>().await.unwrap();
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let refresh_token = pair["refresh_token"].as_str().unwrap().to_owned();

    let me = client
        .get(format!("{base}/users/me/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let forged = client
        .get(format!("{base}/users/me/"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let refreshed = refresh(&client, &base, &refresh_token)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let next_refresh_token = refreshed["refresh_token"].as_str().unwrap().to_owned();
    // Reuse of the first one: logged as a warning, without the token.
    let reused = refresh(&client, &base, &refresh_token).await;
    assert_eq!(reused.status(), 400);

    // A second factor: its secret, key URI, codes and recovery codes stay out of the logs.
    let token = client
        .post(format!("{base}/token"))
        .form(&[("username", "logger"), ("password", password)])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolment = client
        .post(format!("{base}/users/me/totp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let totp_secret = enrolment["secret"].as_str().unwrap().to_owned();
    let otpauth_uri = enrolment["otpauth_uri"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let first_code = code_at(&totp_secret, now);
    let confirmed = client
        .post(format!("{base}/users/me/totp/confirm"))
        .bearer_auth(&token)
        .json(&json!({ "code": first_code }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let recovery: Vec<String> = confirmed.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    let next_code = code_at(&totp_secret, now + 30);
    for (totp, status) in [
        (next_code.as_str(), 200),
        (first_code.as_str(), 401),
        (recovery[0].as_str(), 200),
        (recovery[0].as_str(), 401),
    ] {
        let login = client
            .post(format!("{base}/token"))
            .form(&[
                ("username", "logger"),
                ("password", password),
                ("totp", totp),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), status, "totp {totp}");
    }

    assert!(server.terminate().success());
    let logs = server.log_after_exit();
    assert!(logs.contains("request"), "trace logging is on: {logs}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(logs.contains("refresh token reused"), "{logs}");
    for secret in [
        password,
        wrong,
        &hash,
        &token,
        signature,
        TUTORIAL_KEY,
        &refresh_token,
        &next_refresh_token,
        &totp_secret,
        &otpauth_uri,
    ]
    .into_iter()
    .chain(recovery.iter().map(String::as_str))
    {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    // Six digits occur in timestamps and request ids; a leaked code would be quoted (Debug,
    // JSON) or a form value.
    for code in [&first_code, &next_code] {
        for leak in [
            format!("\"{code}\""),
            format!("={code}"),
            format!("code: {code}"),
        ] {
            assert!(!logs.contains(&leak), "{leak} leaked into the logs");
        }
    }
    assert!(logs.contains("TOTP enabled"), "{logs}");
    // The audit trail's lines were among those searched.
    for kind in [
        "login.failed",
        "login.succeeded",
        "login.second_factor_failed",
    ] {
        let line = format!("passflow::audit: {kind}");
        assert!(logs.contains(&line), "no {line:?} in {logs}");
    }
}

/// The code an authenticator app shows for `secret` (base32) at `time`.
fn code_at(secret: &str, time: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret.as_bytes())
        .build()
        .unwrap()
        .generate(time)
        .to_string()
}

#[test]
fn bad_introspection_clients_are_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["api:too-short-secret", "no-colon-here", "api:"] {
        let output = run(passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("INTROSPECTION_CLIENTS", value));
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("INTROSPECTION_CLIENTS"),
            "{value}: {stderr}"
        );
        if let Some((_, secret)) = value.split_once(':').filter(|(_, s)| !s.is_empty()) {
            assert!(
                !stderr.contains(secret),
                "the secret is not echoed: {stderr}"
            );
        }
    }
}

/// Issue 30, point 7: `OFFERED_SCOPES` adds scopes; a bad value refuses the start by name.
#[tokio::test]
async fn offered_scopes_are_configured_and_bad_ones_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (value, problem) in [
        (
            "openid",
            "OFFERED_SCOPES: entry 1 is not `name=description`",
        ),
        ("me=again", "OFFERED_SCOPES: \"me\" is listed twice"),
        ("a b=spaced", "OFFERED_SCOPES: \"a b\" is not a scope name"),
        ("openid=", "OFFERED_SCOPES: \"openid\" has no description"),
    ] {
        let output = run(passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("OFFERED_SCOPES", value));
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(problem), "{value}: {stderr}");
    }
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("TOKEN_ISSUER", "http://127.0.0.1")
            .env(
                "OFFERED_SCOPES",
                "openid=Sign you in; email=Read your email",
            ),
    );
    let client = reqwest::Client::new();
    let metadata = get_json(
        &client,
        server.url("/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["me", "items", "openid", "email"])
    );
}
