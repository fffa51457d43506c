//! `passflow audit list` and the events the operator's commands record, on the real binary
//! and an SQLite file.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::clients::{field, stderr, stdout};
use crate::database::with_stdin;
use crate::harness::*;

/// The binary on the database at `dir`, run by the OS user `ops-ana`.
fn operator(dir: &Path) -> std::process::Command {
    let url = format!("sqlite:{}", dir.join("passflow.db").display());
    let mut command = passflow(dir);
    command.env("DATABASE_URL", url).env("USER", "ops-ana");
    command
}

fn succeeded(output: &Output) -> &Output {
    assert!(output.status.success(), "{}", stderr(output));
    output
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `event` without its id and time (fresh each run), after checking their form.
fn stable(mut event: Value) -> Value {
    let id = event["id"].as_str().unwrap().to_owned();
    assert_eq!((id.len(), &id[14..15]), (36, "7"), "a UUIDv7: {id}");
    let time = event["time"].as_str().unwrap().to_owned();
    assert!(
        humantime::parse_rfc3339(&time).is_ok() && time.len() == 24,
        "RFC 3339 with milliseconds: {time}"
    );
    let object = event.as_object_mut().unwrap();
    object.remove("id");
    object.remove("time");
    event
}

#[test]
fn each_operator_command_is_recorded_with_who_and_why_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let password = "plum-kite-ledger-7";
    succeeded(&with_stdin(
        operator(dir).args(["users", "add", "bob", "--reason", "new hire"]),
        password,
    ));
    // A reason that tries to forge a second row of the table, and to colour the terminal.
    let forged = "left\n2026-01-01T00:00:00.000Z\tuser.deleted\t\u{1b}[2Jboss";
    succeeded(&run(
        operator(dir).args(["users", "disable", "BOB", "--reason", forged])
    ));
    let added = succeeded(&run(operator(dir).args([
        "clients",
        "add",
        "Billing",
        "--redirect-uri",
        "https://billing.example/cb",
    ])))
    .clone();
    let client_id = field(&added, "client_id");
    let secret = field(&added, "client_secret");
    // Nothing changed, so nothing is recorded.
    succeeded(&run(operator(dir).args(["users", "totp-reset", "bob"])));

    let listed = succeeded(&run(operator(dir).args(["audit", "list", "--json"]))).clone();
    let events: Vec<Value> = json_lines(&listed).into_iter().map(stable).collect();
    let bob_sub = events[1]["sub"].clone();
    assert_eq!(
        bob_sub.as_str().map(str::len),
        Some(22),
        "bob's random id: {events:?}"
    );
    let operator_ana = json!({"kind": "operator", "name": "ops-ana"});
    let expected = |kind: &str, user: Value, sub: &Value, client: Value, reason: Value| {
        json!({
            "type": kind, "outcome": "success", "user": user, "sub": sub,
            "actor": operator_ana, "client_id": client, "session_id": null, "address": null,
            "user_agent": null, "request_id": null, "reason": reason,
        })
    };
    assert_eq!(
        events,
        [
            expected(
                "client.created",
                json!(null),
                &json!(null),
                json!(client_id),
                json!(null)
            ),
            expected(
                "user.disabled",
                json!("bob"),
                &bob_sub,
                json!(null),
                json!(forged)
            ),
            expected(
                "user.created",
                json!("bob"),
                &bob_sub,
                json!(null),
                json!("new hire")
            ),
        ],
        "newest first"
    );

    // The table: one row per event, the forged reason shown escaped, not obeyed.
    let table = stdout(succeeded(&run(operator(dir).args(["audit", "list"]))));
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(!table.contains('\u{1b}'), "{table}");
    assert_eq!(
        rows[1][1..],
        [
            "user.disabled",
            "success",
            "bob",
            "operator:ops-ana",
            "-",
            "-",
            "-",
            r"left\n2026-01-01T00:00:00.000Z\tuser.deleted\t\u{1b}[2Jboss",
        ]
    );

    // Filters: by user, by type, by time, and a limit.
    let bob = run(operator(dir).args(["audit", "list", "--json", "--user", "bob", "--limit", "1"]));
    let bob: Vec<Value> = json_lines(succeeded(&bob))
        .into_iter()
        .map(stable)
        .collect();
    assert_eq!(bob, events[1..2]);
    let typed = run(operator(dir).args([
        "audit",
        "list",
        "--json",
        "--type",
        "client.created",
        "--type",
        "user.created",
    ]));
    let typed: Vec<Value> = json_lines(succeeded(&typed))
        .into_iter()
        .map(stable)
        .collect();
    assert_eq!(typed, [events[0].clone(), events[2].clone()]);
    let recent = run(operator(dir).args(["audit", "list", "--since", "1h"]));
    assert_eq!(stdout(succeeded(&recent)).lines().count(), 3);
    let old = run(operator(dir).args(["audit", "list", "--until", "2020-01-01T00:00:00Z"]));
    assert_eq!(stdout(succeeded(&old)), "");

    // Neither the password nor the client's secret is anywhere in the database's files.
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [password, secret.as_str()] {
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes()),
                "{needle} stored"
            );
        }
    }
}

#[test]
fn bad_audit_queries_exit_2_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let refused = |args: &[&str], says: &str| {
        let output = run(operator(dir).arg("audit").arg("list").args(args));
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
        assert_eq!(stdout(&output), "");
    };
    refused(
        &["--type", "login.nope"],
        "invalid value 'login.nope' for '--type <TYPE>': unknown event type \"login.nope\"; one of login.succeeded, ",
    );
    refused(
        &["--since", "yesterday"],
        "invalid value 'yesterday' for '--since <TIME|DURATION>': \"yesterday\" is neither an RFC 3339 time nor a duration like 24h",
    );
    refused(&["--limit", "0"], "invalid value '0' for '--limit <LIMIT>'");
    let output = run(passflow(dir).args(["audit", "list"]));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: DATABASE_URL is not set: this command works on a database (sqlite:PATH or postgres://…)\n"
    );
}

#[tokio::test]
async fn the_server_forgets_events_past_the_retention_at_start() {
    use passflow::model::event::{EventType, Outcome, RequestContext};
    use passflow::store::audit::AuditStore;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("passflow.db").display());
    let database = passflow::store::sql::Database::open(&url).await.unwrap();
    let now = passflow::clock::Clock::system().now_millis();
    let context = RequestContext::anonymous(None);
    let at = |time| context.event(EventType::LoginFailed, Outcome::Failure, time);
    // Two days old and a minute old; the retention is one day.
    let (old, recent) = (at(now - 2 * 86_400_000), at(now - 60_000));
    database.append(&[old, recent.clone()]).await.unwrap();
    database.close().await;

    let server = Server::start(
        passflow(dir.path())
            .env("DATABASE_URL", &url)
            .env("AUDIT_RETENTION_DAYS", "1"),
    );
    let line = server.wait_for_log("old audit events deleted");
    assert!(line.contains("forgotten=1"), "{line}");
    let left = run(operator(dir.path()).args(["audit", "list", "--json"]));
    let left = json_lines(succeeded(&left));
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], recent.id.as_str());

    // Anything but a day count is refused, naming the setting.
    let refused = run(passflow(dir.path()).env("AUDIT_RETENTION_DAYS", "-1"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("AUDIT_RETENTION_DAYS"),
        "{}",
        stderr(&refused)
    );
}

#[tokio::test]
async fn no_password_or_token_reaches_the_stored_trail() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let password = "Stored-trail-pw-9";
    let wrong = "Wrong-trail-guess-4";
    succeeded(&with_stdin(
        operator(dir).args(["users", "add", "carol"]),
        password,
    ));
    let server = Server::start(operator(dir).env("SECRET_KEY", crate::fixtures::TUTORIAL_KEY));
    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client
            .post(server.url("/token"))
            .header("user-agent", "trail-test/1")
            .form(&[("username", "carol"), ("password", password)])
            .send()
    };
    assert_eq!(login(wrong).await.unwrap().status(), 401);
    let pair: Value = login(password).await.unwrap().json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let first = pair["refresh_token"].as_str().unwrap().to_owned();
    let refreshed: Value = refresh(&client, &server.base, &first)
        .await
        .json()
        .await
        .unwrap();
    let next = refreshed["refresh_token"].as_str().unwrap().to_owned();
    drop(server);

    let listed = run(operator(dir).args(["audit", "list", "--json", "--user", "carol"]));
    let kinds: Vec<String> = json_lines(succeeded(&listed))
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["login.succeeded", "login.failed", "user.created"]);
    let signature = access.rsplit('.').next().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for secret in [password, wrong, &access, signature, &first, &next] {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{secret} stored"
            );
        }
    }
}
