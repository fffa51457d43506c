//! `passflow clients …` and the start-up rules for clients, on the real binary.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::harness::*;

fn clients(dir: &Path, file: &str, args: &[&str]) -> Output {
    run(passflow(dir)
        .arg("clients")
        .arg("--file")
        .arg(file)
        .args(args))
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The value of `name: value` in a command's output.
pub(crate) fn field(output: &Output, name: &str) -> String {
    stdout(output)
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {}", stdout(output)))
        .to_owned()
}

#[test]
fn the_clients_file_is_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let web = clients(
        dir.path(),
        "clients.json",
        &[
            "add",
            "Web App",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--refresh-token",
            "--scopes",
            "me",
        ],
    );
    assert!(web.status.success(), "{}", stderr(&web));
    assert_eq!(
        stderr(&web),
        "the secret is shown this once; passflow keeps only its digest\n"
    );
    let web_id = field(&web, "client_id");
    let secret = field(&web, "client_secret");
    assert_eq!((web_id.len(), secret.len()), (22, 43));
    // The file holds the secret's digest, never the secret.
    let text = std::fs::read_to_string(dir.path().join("clients.json")).unwrap();
    assert!(!text.contains(&secret), "{text}");

    let spa = clients(
        dir.path(),
        "clients.json",
        &[
            "add",
            "SPA",
            "--public",
            "--first-party",
            "--redirect-uri",
            "https://spa.example/",
        ],
    );
    assert!(spa.status.success(), "{}", stderr(&spa));
    assert_eq!(
        stdout(&spa).lines().count(),
        1,
        "a public client gets no secret"
    );
    let spa_id = field(&spa, "client_id");

    let list = clients(dir.path(), "clients.json", &["list"]);
    assert_eq!(
        stdout(&list),
        format!(
            "{spa_id}\tSPA\tpublic\tfirst-party\tany scope\tpkce required\t-\thttps://spa.example/\n\
             {web_id}\tWeb App\tconfidential\tthird-party\tme\tpkce required\trefresh_token\t\
             https://app.example/cb http://127.0.0.1/cb\n"
        )
    );
    let json_list = clients(dir.path(), "clients.json", &["list", "--json"]);
    let listed: Value = serde_json::from_slice(&json_list.stdout).unwrap();
    assert_eq!(
        listed[1],
        json!({
            "client_id": web_id,
            "client_name": "Web App",
            "redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"],
            "post_logout_redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "me",
            "first_party": false,
            "pkce": "required",
        })
    );

    let rotated = clients(dir.path(), "clients.json", &["rotate-secret", &web_id]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert_ne!(field(&rotated, "client_secret"), secret);
    let public = clients(dir.path(), "clients.json", &["rotate-secret", &spa_id]);
    assert_eq!(public.status.code(), Some(2));
    assert_eq!(
        stderr(&public),
        format!("error: client {spa_id:?} is public: it has no secret to rotate\n")
    );

    let removed = clients(dir.path(), "clients.json", &["remove", &spa_id]);
    assert_eq!(stdout(&removed), format!("removed {spa_id} (SPA)\n"));
    let again = clients(dir.path(), "clients.json", &["remove", &spa_id]);
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(stderr(&again), format!("error: no client {spa_id:?}\n"));
}

#[test]
fn an_id_that_begins_with_a_dash_is_still_an_id() {
    // New ids never begin with `-`; ones registered by earlier versions may, and the commands
    // that take an id must not read them as options.
    let dir = tempfile::tempdir().unwrap();
    let added = clients(
        dir.path(),
        "clients.json",
        &["add", "Old", "--redirect-uri", "https://old.example/cb"],
    );
    let id = field(&added, "client_id");
    assert!(!id.starts_with('-'));
    let old_id = format!("-v{}", &id[2..]);
    let path = dir.path().join("clients.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&id, &old_id)).unwrap();

    let rotated = clients(dir.path(), "clients.json", &["rotate-secret", &old_id]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert_eq!(field(&rotated, "client_secret").len(), 43);
    let removed = clients(dir.path(), "clients.json", &["remove", &old_id]);
    assert_eq!(stdout(&removed), format!("removed {old_id} (Old)\n"));
    assert_eq!(stdout(&clients(dir.path(), "clients.json", &["list"])), "");
}

#[test]
fn bad_registrations_exit_2_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            vec!["add", "A", "--redirect-uri", "https://app.example/cb#x"],
            "error: redirect URI \"https://app.example/cb#x\" has a fragment (RFC 6749 §3.1.2)\n",
        ),
        (
            vec!["add", "A", "--redirect-uri", "http://app.example/cb"],
            "error: redirect URI \"http://app.example/cb\" is neither https nor http on a \
             loopback address (127.0.0.1, [::1] or localhost)\n",
        ),
        (
            vec![
                "add",
                "A",
                "--redirect-uri",
                "https://a.example/",
                "--scopes",
                "me,admin",
            ],
            "error: --scopes: unknown scope: admin, not offered here (OFFERED_SCOPES)\n",
        ),
        (
            vec![
                "add",
                "A",
                "--public",
                "--pkce",
                "optional",
                "--redirect-uri",
                "https://a.example/",
            ],
            "error: a public client must use PKCE: --pkce optional is for confidential clients\n",
        ),
    ] {
        let output = clients(dir.path(), "clients.json", &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&output), message);
    }
    assert!(!dir.path().join("clients.json").exists(), "nothing written");
    let nowhere = run(passflow(dir.path()).args(["clients", "list"]));
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(stderr(&nowhere).starts_with("error: DATABASE_URL is not set and no --file is given"));
}

#[test]
fn a_start_with_clients_needs_an_issuer_url() {
    let dir = tempfile::tempdir().unwrap();
    let added = clients(
        dir.path(),
        "clients.json",
        &["add", "Web", "--redirect-uri", "https://app.example/cb"],
    );
    assert!(added.status.success());
    for (issuer, reason) in [
        (None, ", and it is not set"),
        (Some("passflow"), " (it is not an absolute URL)"),
    ] {
        let mut command = passflow(dir.path());
        command.env("CLIENTS_FILE", "clients.json");
        if let Some(issuer) = issuer {
            command.env("TOKEN_ISSUER", issuer);
        }
        let output = run(&mut command);
        assert_eq!(output.status.code(), Some(2), "{issuer:?}");
        assert!(
            stderr(&output).ends_with(&format!(
                "error: TOKEN_ISSUER must be this server's http(s) URL (RFC 8414 §2) when \
                 clients are registered: it is the `iss` of every authorization answer (RFC \
                 9207){reason}\n"
            )),
            "{}",
            stderr(&output)
        );
    }
    std::fs::write(dir.path().join("bad.json"), "[{\"client_id\": 1}]").unwrap();
    let output = run(passflow(dir.path()).env("CLIENTS_FILE", "bad.json"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: CLIENTS_FILE bad.json: not a JSON array of clients"),
        "{}",
        stderr(&output)
    );
    let output = run(passflow(dir.path())
        .env("CLIENTS_FILE", "clients.json")
        .env("DATABASE_URL", "sqlite:x.db"));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("CLIENTS_FILE and DATABASE_URL are both set"));
}

#[tokio::test]
async fn with_clients_and_an_issuer_the_code_grant_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let added = clients(
        dir.path(),
        "clients.json",
        &["add", "Web", "--redirect-uri", "https://app.example/cb"],
    );
    let id = field(&added, "client_id");
    let secret = field(&added, "client_secret");
    let server = Server::start(
        passflow(dir.path())
            .env("CLIENTS_FILE", "clients.json")
            .env("TOKEN_ISSUER", "http://127.0.0.1"),
    );
    let http = reqwest::Client::new();
    let exchange = |secret: String| {
        http.post(server.url("/token"))
            .basic_auth(&id, Some(secret))
            .form(&[("grant_type", "authorization_code"), ("code", "unknown")])
            .send()
    };
    let wrong = exchange("wrong".into()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Basic realm=\"passflow\""
    );
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"error": "invalid_client", "error_description": "Client authentication failed"})
    );
    let unknown = exchange(secret).await.unwrap();
    assert_eq!(unknown.status(), 400);
    assert_eq!(unknown.headers()["cache-control"], "no-store");
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
    );
}

#[test]
fn clients_live_in_the_database_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("passflow.db").display());
    let added = run(passflow(dir.path()).env("DATABASE_URL", &db).args([
        "clients",
        "add",
        "Web",
        "--redirect-uri",
        "https://app.example/cb",
    ]));
    assert!(added.status.success(), "{}", stderr(&added));
    let id = field(&added, "client_id");
    let list = run(passflow(dir.path())
        .env("DATABASE_URL", &db)
        .args(["clients", "list"]));
    assert!(stdout(&list).starts_with(&format!("{id}\tWeb\tconfidential\t")));
    let both = run(passflow(dir.path())
        .env("DATABASE_URL", &db)
        .args(["clients", "--file", "c.json", "list"]));
    assert_eq!(both.status.code(), Some(2));
    // The server finds them there, and wants its issuer URL.
    let refused = run(passflow(dir.path()).env("DATABASE_URL", &db));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("error: TOKEN_ISSUER must be this server's http(s) URL"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_reader_that_stops_reading_ends_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // `passflow clients add … | head -0`: the reading end is closed before anything is written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = passflow(dir.path())
        .args(["clients", "--file", "clients.json", "add", "Web"])
        .args(["--redirect-uri", "https://app.example/cb"])
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    // No panic message, no complaint: the reader chose to stop.
    assert_eq!(stderr(&output), "");
    // The client was registered: the command did its work before it had a reader to lose.
    let listed = clients(dir.path(), "clients.json", &["list", "--json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["client_name"], "Web");
}

/// Issue 41 §2: with a client registered and no `ID_TOKEN_SIGNING_KEY_FILE`, one process
/// makes its id_token key at start, says so once, and serves OpenID Connect with it.
#[tokio::test]
async fn without_an_id_token_key_one_is_made_at_start_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let added = clients(
        dir.path(),
        "clients.json",
        &[
            "add",
            "RP",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--post-logout-redirect-uri",
            "http://127.0.0.1/bye",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let listed = clients(dir.path(), "clients.json", &["list", "--json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(
        listed[0]["post_logout_redirect_uris"],
        json!(["http://127.0.0.1/bye"])
    );
    let server = Server::start(
        passflow(dir.path())
            .env("CLIENTS_FILE", "clients.json")
            .env("TOKEN_ISSUER", "http://127.0.0.1"),
    );
    let warned = server
        .startup_log
        .iter()
        .filter(|line| line.contains("ID_TOKEN_SIGNING_KEY_FILE is not set: signing id_tokens"))
        .count();
    assert_eq!(warned, 1, "{:?}", server.startup_log);
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["end_session_endpoint"],
        "http://127.0.0.1/end-session"
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks: Value = http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}
