//! The authorization-code flow over real sockets, across two replicas of the binary on one
//! fresh PostgreSQL database: a browser's steps land on either replica, two concurrent
//! exchanges of one code, one on each, give exactly one `200` (ASVS V10.4.2), and a spent code
//! or its family bytes sent to the other replica end nothing (issue 40 §1).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::clients::{field, stderr};
use crate::fixtures::{PostgresDb, TUTORIAL_KEY};
use crate::harness::*;

const PASSWORD: &str = "replica-tutorial-secret";
const REDIRECT: &str = "http://127.0.0.1/cb";
const VERIFIER: &str = "replicas-verifier-0123456789-0123456789-0123456789";

/// A browser over HTTP: its cookies, kept by hand, and no redirect followed.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> (u16, Option<String>, String) {
        for line in response.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap();
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }

    async fn get(&mut self, url: String) -> (u16, Option<String>, String) {
        let response = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }

    /// Posts a page's form to `server`: its hidden inputs as given, plus `typed`.
    async fn submit(
        &mut self,
        server: &Server,
        page: &str,
        typed: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let mut fields = hidden_inputs(page);
        fields.extend(typed.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let response = self
            .http
            .post(server.url("/authorize"))
            .header("cookie", self.cookie_header())
            .form(&fields)
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }
}

fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let attribute = |name: &str| {
                let start = input.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + input[start..].find('"').unwrap();
                input[start..end]
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
            };
            (attribute("name"), attribute("value"))
        })
        .collect()
}

fn add_user(dir: &std::path::Path, database: &str) {
    let added = passflow(dir)
        .env("DATABASE_URL", database)
        .args(["users", "add", "johndoe"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(added.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn a_code_from_either_replica_is_spent_once_across_both() {
    let database = PostgresDb::create().await;
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), &url);
    let added = run(passflow(dir.path()).env("DATABASE_URL", &url).args([
        "clients",
        "add",
        "Relying Party",
        "--redirect-uri",
        REDIRECT,
        "--refresh-token",
    ]));
    assert!(added.status.success(), "{}", stderr(&added));
    let (id, secret) = (field(&added, "client_id"), field(&added, "client_secret"));
    // Replicas with a client on PostgreSQL must share an id_token key (issue 41 §2).
    let refused = run(passflow(dir.path())
        .env("SECRET_KEY", TUTORIAL_KEY)
        .env("DATABASE_URL", &url)
        .env("TOKEN_ISSUER", "http://127.0.0.1"));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused)
            .contains("ID_TOKEN_SIGNING_KEY_FILE is not set, DATABASE_URL is PostgreSQL"),
        "{}",
        stderr(&refused)
    );
    let id_token_key = crate::keys::generate_key(dir.path(), "RS256", "id-token.pem");
    // B serves metrics: a page's sign-in counts as a login, as `/token`'s does.
    let metrics = format!("127.0.0.1:{}", crate::free_port());
    let replicas: Vec<Server> = (0..2)
        .map(|replica| {
            let mut command = passflow(dir.path());
            command
                .env("SECRET_KEY", TUTORIAL_KEY)
                .env("DATABASE_URL", &url)
                .env("TOKEN_ISSUER", "http://127.0.0.1")
                .env("ID_TOKEN_SIGNING_KEY_FILE", &id_token_key);
            if replica == 1 {
                command.env("METRICS_ADDR", &metrics);
            }
            Server::start(&mut command)
        })
        .collect();
    let (a, b) = (&replicas[0], &replicas[1]);
    let warned = |server: &Server| {
        let lines = server.startup_log.iter();
        lines
            .filter(|line| line.contains("TOKEN_ISSUER is plain http"))
            .count()
    };
    assert_eq!(
        (warned(a), warned(b)),
        (1, 1),
        "said once: {:?}",
        a.startup_log
    );

    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let mut browser = Browser::new();
    // The page from A, the password to B, the consent to A: one browser session.
    let (status, _, login) = browser.get(a.url(&format!("/authorize?{query}"))).await;
    assert_eq!(status, 200, "{login}");
    let wrong = [("username", "johndoe"), ("password", "not-the-password")];
    let (status, _, again) = browser.submit(b, &login, &wrong).await;
    assert_eq!(status, 401, "{again}");
    assert!(again.contains("Incorrect username or password"), "{again}");
    let typed = [("username", "johndoe"), ("password", PASSWORD)];
    let (status, _, consent) = browser.submit(b, &again, &typed).await;
    assert_eq!(status, 200, "{consent}");
    assert!(consent.contains("Allow <strong>Relying Party</strong> access?"));
    let counted = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"passflow_logins_total{outcome="failure"} 1"#,
        r#"passflow_logins_total{outcome="success"} 1"#,
    ] {
        assert!(
            counted.lines().any(|l| l == line),
            "no {line:?} in:\n{counted}"
        );
    }
    let (status, location, _) = browser.submit(a, &consent, &[("decision", "allow")]).await;
    assert_eq!(status, 303);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    let params: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "s1");
    assert_eq!(params["iss"], "http://127.0.0.1");
    let code = params["code"].clone();

    // The same code to both replicas at once: exactly one session.
    let http = reqwest::Client::new();
    let exchange = |server: &Server, code: &str| {
        http.post(server.url("/token"))
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ])
            .send()
    };
    let (first, second) = tokio::join!(exchange(a, &code), exchange(b, &code));
    let mut replies = Vec::new();
    for response in [first.unwrap(), second.unwrap()] {
        let status = response.status().as_u16();
        replies.push((status, response.json::<Value>().await.unwrap()));
    }
    replies.sort_by_key(|(status, _)| *status);
    assert_eq!(replies[0].0, 200, "{replies:?}");
    assert_eq!(replies[1].0, 400, "{replies:?}");
    assert_eq!(replies[1].1["error"], "invalid_grant");
    // The loser's replay ended the winner's session: its token is refused on both replicas
    // (within the view's propagation, well under a second).
    let access = replies[0].1["access_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for replica in [a, b] {
        let me = get_as(&http, replica.url("/users/me/"), &access).await;
        assert_eq!(me.status().as_u16(), 401);
    }

    // Signed in on the page: the next authorization, on B, answers at once.
    let (status, location, _) = browser.get(b.url(&format!("/authorize?{query}"))).await;
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    assert!(location.as_str().starts_with("http://127.0.0.1/cb?code="));
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();

    // Issue 40 §1, across replicas: exchanged on A, then everything someone who saw the code
    // could send goes to B. Nothing ends the session.
    let reply = exchange(a, &code).await.unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let tokens: Value = reply.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let family = &URL_SAFE_NO_PAD.decode(&code).unwrap()[..16];
    let forged = |len: usize| {
        let mut bytes = vec![0x5a; len];
        bytes[..16].copy_from_slice(family);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    for token in [code.clone(), forged(48), forged(64)] {
        let refresh = |with_client: bool| {
            let request = http.post(b.url("/token")).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ]);
            let request = if with_client {
                request.basic_auth(&id, Some(&secret))
            } else {
                request
            };
            request.send()
        };
        let with = refresh(true).await.unwrap();
        assert_eq!(with.status().as_u16(), 400);
        assert_eq!(with.headers()["cache-control"], "no-store");
        assert_eq!(
            with.text().await.unwrap(),
            r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#
        );
        let without = refresh(false).await.unwrap();
        assert_eq!(without.status().as_u16(), 401);
        assert_eq!(
            without.text().await.unwrap(),
            r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#
        );
        let revoked = http
            .post(b.url("/revoke"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status().as_u16(), 200);
    }
    // The real refresh token without the client's credentials, at B: refused, nothing ends.
    let revoked = http
        .post(b.url("/revoke"))
        .form(&[("token", refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 401);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for replica in [a, b] {
        let me = get_as(&http, replica.url("/users/me/"), &access).await;
        assert_eq!(me.status().as_u16(), 200, "the session lives");
    }
    // The client itself revokes it at B: refused on both replicas.
    let revoked = http
        .post(b.url("/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for replica in [a, b] {
        let me = get_as(&http, replica.url("/users/me/"), &access).await;
        assert_eq!(me.status().as_u16(), 401);
    }

    // OpenID Connect across the replicas (issue 41): the id_token from A verifies with B's
    // JWKS, /userinfo answers on B, and a sign-out on B is refused on A at once.
    let openid = format!("{query}&scope=openid%20profile&nonce=n1");
    let (status, _, consent) = browser.get(a.url(&format!("/authorize?{openid}"))).await;
    assert_eq!(status, 200, "a wider scope asks again: {consent}");
    let (status, location, _) = browser.submit(b, &consent, &[("decision", "allow")]).await;
    assert_eq!(status, 303);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: Value = exchange(a, &code).await.unwrap().json().await.unwrap();
    let id_token = tokens["id_token"].as_str().expect("an id_token").to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let jwks: Value = http
        .get(b.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&id_token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .expect("B publishes A's id_token key");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[id.as_str()]);
    validation.set_issuer(&["http://127.0.0.1"]);
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let claims = jsonwebtoken::decode::<Value>(&id_token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], "n1");
    let info = get_as(&http, b.url("/userinfo"), &access).await;
    assert_eq!(info.status().as_u16(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["preferred_username"], "johndoe");
    let hint = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", &id_token)
        .finish();
    let (status, _, page) = browser.get(b.url(&format!("/end-session?{hint}"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed out"), "{page}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for replica in [a, b] {
        let info = get_as(&http, replica.url("/userinfo"), &access).await;
        assert_eq!(info.status().as_u16(), 401, "signed out on every replica");
        assert_eq!(
            info.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }
}
