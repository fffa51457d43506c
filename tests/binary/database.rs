//! `DATABASE_URL` and `passflow users …` against the real binary, on SQLite files.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixtures::TUTORIAL_KEY;
use crate::harness::*;

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("passflow.db").display())
}

/// `passflow users ARGS` against `url`, `stdin` as its input.
fn users(dir: &Path, url: &str, args: &[&str], stdin: &str) -> Output {
    with_stdin(
        passflow(dir)
            .env("DATABASE_URL", url)
            .arg("users")
            .args(args),
        stdin,
    )
}

/// Runs `command` with `stdin` as its standard input.
pub(crate) fn with_stdin(command: &mut std::process::Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
fn assert_ok(output: &Output, stdout: &str) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), stdout);
}

#[track_caller]
fn assert_refused(output: &Output, code: i32, stderr: &str) {
    assert_eq!(output.status.code(), Some(code));
    assert_eq!(String::from_utf8_lossy(&output.stderr), stderr);
}

#[test]
fn the_users_commands_manage_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let dir = dir.path();
    assert_ok(&users(dir, &url, &["list"], ""), "");
    assert_ok(
        &users(
            dir,
            &url,
            &["add", "bob", "--email", "bob@example.com", "--scopes", "me"],
            "plum-kite-ledger\n",
        ),
        "added bob\n",
    );
    assert_refused(
        &users(dir, &url, &["add", "bob"], "another-long-pw\n"),
        3,
        "error: a user named \"bob\" already exists\n",
    );
    assert_refused(
        &users(dir, &url, &["add", "carol"], ""),
        2,
        "error: empty password\n",
    );
    assert_refused(
        &users(dir, &url, &["add", "carol", "--scopes", "me,admin"], "pw\n"),
        2,
        "error: --scopes: unknown scope: admin\n",
    );
    assert_ok(
        &users(dir, &url, &["set-scopes", "bob", "me items"], ""),
        "scopes of bob set\n",
    );
    assert_ok(
        &users(dir, &url, &["disable", "bob"], ""),
        "disabled bob; their sessions have ended\n",
    );
    let listed = users(dir, &url, &["list", "--json"], "");
    assert!(listed.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap(),
        json!([{"username": "bob", "email": "bob@example.com", "full_name": null,
                "disabled": true, "scopes": "me items", "totp": false}])
    );
    assert_ok(
        &users(dir, &url, &["list"], ""),
        "bob\tbob@example.com\t-\tdisabled\tme items\t-\n",
    );
    assert_ok(&users(dir, &url, &["enable", "bob"], ""), "enabled bob\n");
    assert_ok(
        &users(dir, &url, &["set-password", "bob"], "n3w-pass\n"),
        "new password set for bob; their sessions have ended\n",
    );
    assert_ok(
        &users(dir, &url, &["delete", "bob"], ""),
        "deleted bob; their sessions have ended\n",
    );
    assert_refused(
        &users(dir, &url, &["delete", "bob"], ""),
        3,
        "error: no user named \"bob\"\n",
    );
}

/// Issue 21, point 1: every password the commands set meets the policy (ASVS V6.2), and
/// `users check-password` answers the same for scripts, without a database.
#[test]
fn passwords_set_from_the_command_line_meet_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let dir = dir.path();
    for (password, rule) in [
        ("a", "The password must have at least 8 characters"),
        ("ünïcødé", "The password must have at least 8 characters"),
        ("password1", "The password is too common"),
        ("QWERTYUIOP", "The password is too common"),
        ("my-Carol-pass", "The password contains the username"),
    ] {
        assert_refused(
            &users(dir, &url, &["add", "carol"], &format!("{password}\n")),
            2,
            &format!("error: {rule}\n"),
        );
        assert_refused(
            &users(
                dir,
                &url,
                &["check-password", "--username", "carol"],
                &format!("{password}\n"),
            ),
            2,
            &format!("error: {rule}\n"),
        );
    }
    assert_refused(
        &users(
            dir,
            &url,
            &["add", "carol"],
            &format!("{}\n", "x".repeat(129)),
        ),
        2,
        "error: The password must have at most 128 characters\n",
    );
    assert_ok(
        &users(dir, &url, &["add", "carol"], "zebra fjord quill\n"),
        "added carol\n",
    );
    assert_refused(
        &users(dir, &url, &["set-password", "carol"], "123456789\n"),
        2,
        "error: The password is too common\n",
    );
    // check-password needs no database.
    let mut check = passflow(dir);
    check.args(["users", "check-password"]);
    let ok = with_stdin(&mut check, "zebra fjord quill\n");
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    // The bounds come from the environment, as for the server; below ASVS they are refused.
    let mut strict = passflow(dir);
    strict
        .env("DATABASE_URL", &url)
        .env("PASSWORD_MIN_LENGTH", "20")
        .args(["users", "add", "dave"]);
    assert_refused(
        &with_stdin(&mut strict, "zebra fjord quill\n"),
        2,
        "error: The password must have at least 20 characters\n",
    );
    for (variable, value, message) in [
        (
            "PASSWORD_MIN_LENGTH",
            "6",
            "PASSWORD_MIN_LENGTH is 6; it must be at least 8",
        ),
        (
            "PASSWORD_MAX_LENGTH",
            "32",
            "PASSWORD_MAX_LENGTH is 32; it must be at least 64",
        ),
    ] {
        let mut command = passflow(dir);
        command
            .env("DATABASE_URL", &url)
            .env(variable, value)
            .args(["users", "list"]);
        let refused = run(&mut command);
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(message),
            "{refused:?}"
        );
        let server = run(passflow(dir)
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env(variable, value));
        assert_eq!(server.status.code(), Some(2), "{variable}={value}");
        assert!(
            String::from_utf8_lossy(&server.stderr).contains(message),
            "{server:?}"
        );
    }
}

#[test]
fn import_is_all_or_nothing_unless_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let file = dir.path().join("users.json");
    let entry = |name: &str| {
        json!({"username": name, "full_name": null, "email": null, "disabled": false,
               "hashed_password": passflow::store::demo::JOHNDOE_HASH})
    };
    std::fs::write(&file, json!({"ann": entry("ann")}).to_string()).unwrap();
    let file_arg = file.to_str().unwrap();
    assert_ok(
        &users(dir.path(), &url, &["import", file_arg], ""),
        "imported 1 users\n",
    );
    std::fs::write(
        &file,
        json!({"ben": entry("ben"), "ann": entry("ann")}).to_string(),
    )
    .unwrap();
    assert_refused(
        &users(dir.path(), &url, &["import", file_arg], ""),
        3,
        "error: a user named \"ann\" already exists\n",
    );
    assert_ok(
        &users(dir.path(), &url, &["list"], ""),
        "ann\t-\t-\tenabled\tme items\t-\n",
    );
    assert_ok(
        &users(dir.path(), &url, &["import", file_arg, "--replace"], ""),
        "imported 2 users\n",
    );
    std::fs::write(&file, r#"{"dan": {"username": "dan"}}"#).unwrap();
    let bad = users(dir.path(), &url, &["import", file_arg], "");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.starts_with("error: users import "), "{stderr}");
    assert!(stderr.contains("user \"dan\": missing field"), "{stderr}");
}

#[test]
fn without_a_usable_database_url_commands_and_starts_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(passflow(dir.path()).args(["users", "list"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
    assert_eq!(
        run(passflow(dir.path()).arg("migrate")).status.code(),
        Some(2)
    );

    for url in [
        "mysql://root@127.0.0.1/passflow".to_owned(),
        format!("sqlite:{}/no/such/dir/p.db", dir.path().display()),
        "postgres://postgres@127.0.0.1:1/passflow".to_owned(),
    ] {
        let output = run(passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("DATABASE_URL", &url));
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("DATABASE_URL"), "{url}: {stderr}");
    }
    let output = run(passflow(dir.path())
        .env("SECRET_KEY", TUTORIAL_KEY)
        .env("DATABASE_URL", sqlite_url(dir.path()))
        .env("USERS_FILE", dir.path().join("users.json")));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("USERS_FILE and DATABASE_URL are both set"),
        "{stderr}"
    );
    assert!(stderr.contains("passflow users import"), "{stderr}");
}

#[test]
fn a_new_database_has_no_users_and_the_log_says_how_to_add_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("DATABASE_URL", sqlite_url(dir.path())),
    );
    let log = server.startup_log.join("\n");
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("the database has no users"), "{log}");
    assert!(log.contains("passflow users add NAME"), "{log}");
}

/// Issue 12, point 5: what the `users` command changes, a running server sees within 1 s.
#[tokio::test]
async fn a_change_from_the_command_line_reaches_the_running_server_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    assert!(
        users(dir.path(), &url, &["add", "bob"], "first-pw\n")
            .status
            .success()
    );
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("DATABASE_URL", &url),
    );
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), r#"{"status":"ok"}"#);
    let token = token_for(&client, &server, "bob", "first-pw").await;
    assert_eq!(
        get_as(&client, server.url("/users/me/"), &token)
            .await
            .status(),
        200
    );

    let changed = Instant::now();
    assert!(
        users(dir.path(), &url, &["set-password", "bob"], "second-pw\n")
            .status
            .success()
    );
    loop {
        let status = get_as(&client, server.url("/users/me/"), &token)
            .await
            .status();
        if status == 401 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "still {status} after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        login(&client, &server, "bob", "first-pw").await.status(),
        401
    );
    assert_eq!(
        login(&client, &server, "bob", "second-pw").await.status(),
        200
    );

    assert!(
        users(dir.path(), &url, &["add", "dora"], "lantern-ferry\n")
            .status
            .success()
    );
    assert_eq!(
        login(&client, &server, "dora", "lantern-ferry")
            .await
            .status(),
        200
    );
}

#[test]
fn servers_sharing_postgres_must_share_a_key_and_old_keys_must_be_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    // Refused before any connection is tried: no server needs to listen there.
    let output = run(passflow(dir.path()).env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is not set"), "{stderr}");
    // With an asymmetric signing key too: SECRET_KEY still keys what replicas must share.
    let key = dir.path().join("ed25519.pem");
    std::fs::write(
        &key,
        passflow::auth::tokens::keys::generate(passflow::auth::tokens::keys::TokenAlgorithm::EdDsa)
            .unwrap(),
    )
    .unwrap();
    let output = run(passflow(dir.path())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("TOKEN_ALGORITHM", "EdDSA")
        .env("SIGNING_KEY_FILE", &key));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SECRET_KEY is not set"), "{stderr}");

    let output = run(passflow(dir.path())
        .env("SECRET_KEY", TUTORIAL_KEY)
        .env("PREVIOUS_SECRET_KEYS", format!("{},short", "k".repeat(32))));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PREVIOUS_SECRET_KEYS: key 2 is 5 bytes long"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short"),
        "the key itself is not echoed: {stderr}"
    );
}

/// Rotation without logging anyone out: a token signed with the old key still works once
/// the old key is in PREVIOUS_SECRET_KEYS.
#[tokio::test]
async fn a_rotated_key_keeps_earlier_tokens_valid() {
    let dir = tempfile::tempdir().unwrap();
    let old_key = "o".repeat(40);
    let token = {
        let server = Server::start(passflow(dir.path()).env("SECRET_KEY", &old_key));
        token_for(&reqwest::Client::new(), &server, "johndoe", "secret").await
    };
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("PREVIOUS_SECRET_KEYS", &old_key),
    );
    let client = reqwest::Client::new();
    let me = get_as(&client, server.url("/users/me/"), &token).await;
    assert_eq!(me.status(), 200);
}

const TOTP_KEY: &str = "8c2f4a6e1b3d5f7092a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8";

/// Issue 21, point 3: once the database holds a TOTP secret (even a pending one), the
/// server starts only with the key that sealed it; a bad key is refused by name and never
/// echoed; `users totp-reset` and `users list` see the factor.
#[tokio::test]
async fn totp_secrets_need_their_key_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let dir = dir.path();
    assert_ok(
        &users(dir, &url, &["add", "bob"], "plum-kite-ledger\n"),
        "added bob\n",
    );
    let serve = |key: Option<&str>| {
        let mut command = passflow(dir);
        command
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("DATABASE_URL", &url);
        if let Some(key) = key {
            command.env("TOTP_ENCRYPTION_KEY", key);
        }
        command
    };
    let refused = run(&mut serve(Some("not-hex-at-all")));
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("TOTP_ENCRYPTION_KEY must be 32 bytes"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-hex-at-all"), "{stderr}");

    // Without a key and without secrets: served, enrolment off, said once.
    let mut keyless = Server::start(&mut serve(None));
    let client = reqwest::Client::new();
    let token = token_for(&client, &keyless, "bob", "plum-kite-ledger").await;
    let off = client
        .post(keyless.url("/users/me/totp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    assert!(keyless.terminate().success());
    let log = format!(
        "{}\n{}",
        keyless.startup_log.join("\n"),
        keyless.log_after_exit()
    );
    assert_eq!(
        log.matches("TOTP_ENCRYPTION_KEY is not set").count(),
        1,
        "{log}"
    );

    // A pending enrolment is a stored secret.
    let mut keyed = Server::start(&mut serve(Some(TOTP_KEY)));
    let token = token_for(&client, &keyed, "bob", "plum-kite-ledger").await;
    let pending = client
        .post(keyed.url("/users/me/totp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), 200);
    assert!(keyed.terminate().success());

    let missing = run(&mut serve(None));
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("TOTP_ENCRYPTION_KEY is not set, and the database holds TOTP secrets"),
        "{missing:?}"
    );
    let other_key = TOTP_KEY.replace('8', "9");
    let wrong = run(&mut serve(Some(&other_key)));
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("TOTP_ENCRYPTION_KEY does not open the TOTP secrets"),
        "{stderr}"
    );
    assert!(!stderr.contains(&other_key), "{stderr}");
    let mut again = Server::start(&mut serve(Some(TOTP_KEY)));
    assert!(again.terminate().success());

    // Pending is not enabled; resetting drops it, and the key is no longer needed.
    assert_ok(
        &users(dir, &url, &["list"], ""),
        "bob\t-\t-\tenabled\tme items\t-\n",
    );
    assert_ok(
        &users(dir, &url, &["totp-reset", "bob"], ""),
        "TOTP was not enabled for bob; nothing to turn off\n",
    );
    assert_refused(
        &users(dir, &url, &["totp-reset", "nobody"], ""),
        3,
        "error: no user named \"nobody\"\n",
    );
    let mut keyless = Server::start(&mut serve(None));
    assert!(keyless.terminate().success());
}

/// Issue 29: the commands find users by their RFC 8265 key, refuse look-alikes (exit 2,
/// naming the existing user), and warn of look-alikes a database held from before.
#[tokio::test]
async fn the_users_commands_compare_names_as_people_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let dir = dir.path();
    assert_ok(
        &users(dir, &url, &["add", "zoe"], "plum-kite-ledger\n"),
        "added zoe\n",
    );
    for look_alike in ["Zoe", "ＺＯＥ"] {
        assert_refused(
            &users(dir, &url, &["add", look_alike], "plum-kite-ledger\n"),
            2,
            &format!(
                "error: {look_alike:?} is the existing user \"zoe\" in another case, width or \
                 Unicode form (RFC 8265): two such accounts cannot be told apart\n"
            ),
        );
    }
    assert_ok(
        &users(dir, &url, &["disable", "ZOE"], ""),
        "disabled zoe; their sessions have ended\n",
    );
    assert_ok(&users(dir, &url, &["enable", "Zoe"], ""), "enabled zoe\n");

    // A row written before keys (as by an older passflow): `Zoe` beside `zoe`.
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (username, hashed_password, disabled, scopes, subject) \
         VALUES ('Zoe', $1, FALSE, 'me items', 'subject-of-Zoe')",
    )
    .bind(passflow::store::demo::JOHNDOE_HASH)
    .execute(&mut raw)
    .await
    .unwrap();
    drop(raw);
    // The account that had the name first is named first.
    let warning = "users \"zoe\" and \"Zoe\" differ only in case, width or Unicode form \
                   (RFC 8265): each logs in by its exact spelling only; delete all but one";
    let migrated = run(passflow(dir).env("DATABASE_URL", &url).arg("migrate"));
    assert_ok(&migrated, "the database schema is up to date\n");
    assert_eq!(
        String::from_utf8_lossy(&migrated.stderr),
        format!("warning: {warning}\n")
    );
    assert_ok(
        &users(dir, &url, &["list"], ""),
        "Zoe\t-\t-\tenabled\tme items\t-\tlooks like zoe\n\
         zoe\t-\t-\tenabled\tme items\t-\tlooks like Zoe\n",
    );
    let listed = users(dir, &url, &["list", "--json"], "");
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap()[0]["look_alikes"],
        json!(["zoe"])
    );
    assert_refused(
        &users(dir, &url, &["delete", "ZOE"], ""),
        3,
        "error: \"ZOE\" could be any of the users [\"Zoe\", \"zoe\"]: use the exact spelling\n",
    );
    let server = Server::start(
        passflow(dir)
            .env("DATABASE_URL", &url)
            .env("SECRET_KEY", TUTORIAL_KEY),
    );
    assert!(
        server.startup_log.iter().any(|line| line.contains(warning)),
        "{:#?}",
        server.startup_log
    );
    assert_ok(
        &users(dir, &url, &["delete", "Zoe"], ""),
        "deleted Zoe; their sessions have ended\n",
    );
}

/// Issue 30, point 7: `users add --scopes` takes the scopes `OFFERED_SCOPES` adds, and only
/// those beside the tutorial's.
#[test]
fn the_users_commands_allow_offered_scopes_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let dir = dir.path();
    assert_refused(
        &users(
            dir,
            &url,
            &["add", "bob", "--scopes", "me,openid"],
            "plum-kite-ledger\n",
        ),
        2,
        "error: --scopes: unknown scope: openid\n",
    );
    let offering = |args: &[&str], stdin: &str| {
        with_stdin(
            passflow(dir)
                .env("DATABASE_URL", &url)
                .env("OFFERED_SCOPES", "openid=Sign you in")
                .arg("users")
                .args(args),
            stdin,
        )
    };
    assert_ok(
        &offering(
            &["add", "bob", "--scopes", "openid,me"],
            "plum-kite-ledger\n",
        ),
        "added bob\n",
    );
    assert_ok(
        &offering(&["list"], ""),
        "bob\t-\t-\tenabled\tme openid\t-\n",
    );
}
