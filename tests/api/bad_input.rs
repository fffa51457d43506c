//! Text no store can hold (a NUL byte), text past any sensible length, and bytes that are not
//! UTF-8, in every text field of every route and form (issue 40 §2): each is bad input,
//! answered as such, on every store alike. None is an outage: no answer is a 5xx, `/ready`
//! stays 200 after each one, and nothing is written.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::oauth::introspection::IntrospectionClients;
use passflow::router;
use sqlx::Connection as _;

use crate::authorize::{Browser, assert_page, assert_redirected_error, authorize_url, message};
use crate::code_grant::{SignIn, basic, sign_in};
use crate::helpers::*;
use crate::stores::{Backend, on_every_backend};

/// Bad text as raw bytes, and what to call it in a failure.
fn bad_values() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("NUL", b"\0".to_vec()),
        ("NUL inside", b"john\0doe".to_vec()),
        ("16 000 characters", "x".repeat(16_000).into_bytes()),
        ("not UTF-8", vec![0xff, 0xfe, 0xc0, 0xaf]),
        ("a surrogate", vec![0xed, 0xa0, 0x80]),
    ]
}

fn encoded(raw: &[u8]) -> String {
    form_urlencoded::byte_serialize(raw).collect()
}

/// An urlencoded body: `pairs` with `field` replaced by `bad` (added if missing).
fn form_with(pairs: &[(&str, &str)], field: &str, bad: &[u8]) -> String {
    let mut parts: Vec<String> = pairs
        .iter()
        .filter(|(name, _)| *name != field)
        .map(|(name, value)| format!("{name}={}", encoded(value.as_bytes())))
        .collect();
    parts.push(format!("{field}={}", encoded(bad)));
    parts.join("&")
}

/// A JSON object of `fields`, `field`'s value the bad bytes as they are (JSON escapes a NUL;
/// bytes that are not UTF-8 go in raw, making the body no JSON at all).
fn json_with(fields: &[(&str, &str)], field: &str, bad: &[u8]) -> Vec<u8> {
    let mut body = b"{".to_vec();
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend(serde_json::to_string(name).unwrap().into_bytes());
        body.push(b':');
        if *name == field {
            match std::str::from_utf8(bad) {
                Ok(text) => body.extend(serde_json::to_string(text).unwrap().into_bytes()),
                Err(_) => {
                    body.push(b'"');
                    body.extend(bad);
                    body.push(b'"');
                }
            }
        } else {
            body.extend(serde_json::to_string(value).unwrap().into_bytes());
        }
    }
    body.push(b'}');
    body
}

async fn post_raw(
    app: &Router,
    path: &str,
    content_type: &str,
    authorization: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(app, request.body(Body::from(body)).unwrap()).await
}

async fn call(app: &Router, method: &str, path: &str, authorization: &str) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, authorization);
    send(app, request.body(Body::empty()).unwrap()).await
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Row counts of every table a request could write (not the throttle's, whose failures are
/// written by design).
async fn rows(url: &str) -> Vec<i64> {
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "users",
        "sessions",
        "authorization_codes",
        "consents",
        "clients",
        "totp_secrets",
        "totp_recovery_codes",
        "session_ends",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|err| panic!("{table}: {err}"));
        counts.push(count);
    }
    counts
}

/// A form route: its fields as a good request sends them, and the fields to spoil.
struct Form<'a> {
    path: &'static str,
    fields: &'a [(&'a str, &'a str)],
    authorization: Option<&'a str>,
    targets: &'static [&'static str],
}

struct Probe<'a> {
    sign_in: &'a SignIn,
    app: Router,
}

impl Probe<'_> {
    /// Sends one bad request after a fresh view of ended sessions, then asks `/ready`: the
    /// request must be answered below 500, and leave the server ready.
    async fn check<F, Fut>(&self, what: &str, send: F) -> Reply
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Reply>,
    {
        self.sign_in.state.auth.sessions.sync().await.unwrap();
        let reply = send().await;
        assert!(
            reply.status.as_u16() < 500,
            "{what}: {} {}",
            reply.status,
            reply.text()
        );
        let ready = get(&self.app, "/ready", None).await;
        assert_eq!(
            ready.status.as_u16(),
            200,
            "{what}: /ready {}",
            ready.text()
        );
        reply
    }
}

on_every_backend!(text_no_store_can_hold_is_bad_input_never_an_outage);
async fn text_no_store_can_hold_is_bad_input_never_an_outage(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let secret = "resource-server-secret-0123456789abcdef";
    // Hundreds of failed logins follow: a budget they never spend, so each is answered as
    // itself and not as a 429.
    let lifted = ThrottleSettings {
        per_user: 1_000_000,
        per_ip: 1_000_000,
        codes_per_user: 1_000_000,
        ..ThrottleSettings::default()
    };
    let mut state = sign_in
        .state
        .clone()
        .with_throttle(lifted)
        .with_introspection(IntrospectionClients::parse(&format!("api:{secret}")).unwrap())
        .with_id_tokens(crate::openid::id_tokens());
    if let Some((database, _)) = sign_in.database() {
        // As replicas run: the failed-login budget in the database.
        state = state.with_shared_throttle(Arc::clone(&database) as _, lifted);
    }
    let app = router(state);
    let probe = Probe {
        sign_in: &sign_in,
        app: app.clone(),
    };
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let access = str_of(&pair, "access_token").to_owned();
    let bearer = format!("Bearer {access}");
    let refresh_token = str_of(&pair, "refresh_token").to_owned();
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let introspector = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("api:{secret}")
        )
    );
    let before = match sign_in.database() {
        Some((_, url)) => rows(url).await,
        None => Vec::new(),
    };
    let sessions_before = sign_in.session_ids("johndoe").await;

    // The token endpoint, each grant's fields. The password grant's password is wrong and the
    // code is no code, so that no variant can succeed and write a session.
    let password = [("username", "johndoe"), ("password", "wrong")];
    // An unknown scope is refused before the token is spent: no variant rotates it.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("scope", "admin"),
    ];
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "not-a-code"),
        ("redirect_uri", crate::code_grant::REDIRECT),
        ("code_verifier", crate::code_grant::VERIFIER),
    ];
    let revoke = [("token", "not-a-token")];
    let introspect = [("token", access.as_str())];
    let end_session = [("client_id", sign_in.web.client.id.as_str())];
    let forms = [
        Form {
            path: "/token",
            fields: &password,
            authorization: None,
            targets: &[
                "username",
                "password",
                "scope",
                "client_id",
                "client_secret",
                "totp",
                "grant_type",
            ],
        },
        Form {
            path: "/token",
            fields: &refresh,
            authorization: None,
            targets: &["refresh_token", "scope", "client_id", "client_secret"],
        },
        Form {
            path: "/token",
            fields: &code,
            authorization: Some(&web),
            targets: &["code", "redirect_uri", "code_verifier"],
        },
        Form {
            path: "/revoke",
            fields: &revoke,
            authorization: None,
            targets: &["token", "token_type_hint", "client_id", "client_secret"],
        },
        Form {
            path: "/introspect",
            fields: &introspect,
            authorization: Some(&introspector),
            targets: &["token", "token_type_hint"],
        },
        // OpenID Connect (issue 41): the token in a form, and a logout's parameters (the
        // confirmation's CSRF check refuses each post before anything ends).
        Form {
            path: "/userinfo",
            fields: &[],
            authorization: None,
            targets: &["access_token"],
        },
        Form {
            path: "/end-session",
            fields: &end_session,
            authorization: None,
            targets: &[
                "id_token_hint",
                "client_id",
                "post_logout_redirect_uri",
                "state",
                "csrf",
            ],
        },
    ];
    for (name, bad) in bad_values() {
        for form in &forms {
            for field in form.targets {
                let what = format!("{} {field} = {name}", form.path);
                let body = form_with(form.fields, field, &bad).into_bytes();
                probe
                    .check(&what, || {
                        post_raw(&app, form.path, FORM, form.authorization, body)
                    })
                    .await;
            }
        }
        // The code grant's client, named in the form.
        for field in ["client_id", "client_secret"] {
            let what = format!("/token code grant {field} = {name}");
            let mut fields = code.to_vec();
            fields.push(("client_id", &sign_in.web.client.id));
            let body = form_with(&fields, field, &bad).into_bytes();
            probe
                .check(&what, || post_raw(&app, "/token", FORM, None, body))
                .await;
        }
        // JSON bodies of the account routes.
        let password_change = [
            ("current_password", "wrong"),
            ("new_password", "a new passphrase"),
        ];
        for field in ["current_password", "new_password"] {
            let body = json_with(&password_change, field, &bad);
            let what = format!("/users/me/password {field} = {name}");
            probe
                .check(&what, || {
                    post_raw(&app, "/users/me/password", JSON, Some(&bearer), body)
                })
                .await;
        }
        let body = json_with(&[("code", "x")], "code", &bad);
        let what = format!("/users/me/totp/confirm code = {name}");
        probe
            .check(&what, || {
                post_raw(&app, "/users/me/totp/confirm", JSON, Some(&bearer), body)
            })
            .await;
        // Turning TOTP off: a DELETE with the password.
        let request = Request::delete("/users/me/totp")
            .header(header::CONTENT_TYPE, JSON)
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::from(json_with(
                &[("password", "x")],
                "password",
                &bad,
            )))
            .unwrap();
        let what = format!("DELETE /users/me/totp password = {name}");
        probe.check(&what, || send(&app, request)).await;
        // Path segments.
        for (method, prefix) in [
            ("DELETE", "/users/me/sessions/"),
            ("DELETE", "/users/me/consents/"),
        ] {
            let path = format!("{prefix}{}", encoded(&bad).replace('+', "%20"));
            let what = format!("{method} {prefix}{{…}} = {name}");
            probe
                .check(&what, || call(&app, method, &path, &bearer))
                .await;
        }
        // A logout asked for with a link.
        for field in [
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ] {
            let path = format!("/end-session?{}", form_with(&end_session, field, &bad));
            let what = format!("GET /end-session {field} = {name}");
            probe.check(&what, || get(&app, &path, None)).await;
        }
        // The authorization request's parameters, and the login page's fields.
        for field in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "nonce",
            "prompt",
            "max_age",
        ] {
            let url = authorize_url(&sign_in.web, &[]);
            let query = url.trim_start_matches("/authorize?");
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let path = format!("/authorize?{}", form_with(&pairs, field, &bad));
            let what = format!("GET /authorize {field} = {name}");
            probe.check(&what, || get(&app, &path, None)).await;
        }
        for field in ["username", "password"] {
            let mut browser = Browser::on(app.clone());
            let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
            assert_page(&login, 200);
            let typed = String::from_utf8_lossy(&bad).into_owned();
            let mut fields = vec![("username", "johndoe"), ("password", "wrong")];
            fields.retain(|(name, _)| *name != field);
            fields.push((field, &typed));
            let what = format!("POST /authorize {field} = {name}");
            let reply = probe.check(&what, || browser.submit(&login, &fields)).await;
            assert_page(&reply, 401);
            assert_eq!(
                message(&reply).as_deref(),
                Some("Incorrect username or password"),
                "{what}"
            );
        }
    }

    // What the issue names, answered exactly.
    let nul_user = form_with(&password, "username", b"john\0doe").into_bytes();
    post_raw(&app, "/token", FORM, None, nul_user).await.assert(
        401,
        r#"{"detail":"Incorrect username or password"}"#,
        Some("Bearer"),
    );
    let unknown_client = get(
        &app,
        &authorize_url(&sign_in.web, &[("client_id", "web\0")]),
        None,
    )
    .await;
    assert_page(&unknown_client, 400);
    assert!(unknown_client.text().contains("is not registered"));
    assert_redirected_error(
        &get(
            &app,
            &authorize_url(&sign_in.web, &[("nonce", "n\0")]),
            None,
        )
        .await,
        302,
        "invalid_request",
        "nonce holds a NUL character",
    );
    let mut named = code.to_vec();
    named.push(("client_id", "web\0"));
    crate::code_grant::assert_protocol_error(
        &post_raw(
            &app,
            "/token",
            FORM,
            None,
            form_with(&named, "client_secret", b"s").into_bytes(),
        )
        .await,
        401,
        "invalid_client",
        "Client authentication failed",
    );

    let nul_token = form_with(&[], "access_token", b"\0").into_bytes();
    post_raw(&app, "/userinfo", FORM, None, nul_token).await.assert(
        401,
        r#"{"error":"invalid_token","error_description":"The access token is missing, invalid, expired or revoked"}"#,
        Some("Bearer error=\"invalid_token\""),
    );
    let unknown_client = get(&app, "/end-session?client_id=web%00", None).await;
    assert_page(&unknown_client, 400);
    assert_eq!(
        message(&unknown_client).as_deref(),
        Some("The application that sent you here is not registered.")
    );

    // Nothing was written, and the session lives on.
    if let Some((_, url)) = sign_in.database() {
        assert_eq!(rows(url).await, before);
    }
    assert_eq!(sign_in.session_ids("johndoe").await, sessions_before);
    get_with_token(&app, "/users/me/", &access)
        .await
        .assert(
            200,
            r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#,
            None,
        );
}

on_every_backend!(the_token_endpoint_and_the_redirects_speak_rfc_6749);
/// RFC 6749 §3.2: a parameter sent twice to a client's grant is `invalid_request` (the
/// tutorial's anonymous password form keeps FastAPI's reading: the last one counts). §5.2: an
/// `error_description` repeats only NQSCHAR, so what a request sent is named only when safe.
async fn the_token_endpoint_and_the_redirects_speak_rfc_6749(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let app = &sign_in.app;
    let pair = password_grant(app, "johndoe", "secret", "").await;
    let refresh_token = str_of(&pair, "refresh_token");
    let twice = post_form(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", "me"),
            ("scope", "items"),
        ],
    )
    .await;
    twice.assert(
        400,
        r#"{"error":"invalid_request","detail":"A parameter is repeated: scope"}"#,
        None,
    );
    assert_eq!(twice.header("cache-control"), Some("no-store"));
    // Refused before the token was looked at: it still refreshes.
    let refreshed = refreshed(app, refresh_token).await;
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let reply = post_form_authorized(
        app,
        "/token",
        Some(&web),
        &[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("code", "b"),
        ],
    )
    .await;
    crate::code_grant::assert_protocol_error(
        &reply,
        400,
        "invalid_request",
        "A parameter is repeated: code",
    );
    // The password form: FastAPI's last value wins, and its answer is uncached as before.
    let login = post_form(
        app,
        &[
            ("username", "nobody"),
            ("username", "johndoe"),
            ("password", "secret"),
        ],
    )
    .await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.text());

    // Only NQSCHAR is repeated in an error_description, in a redirect or in JSON.
    assert_redirected_error(
        &get(
            app,
            &authorize_url(&sign_in.web, &[("scope", "me x\u{1}y")]),
            None,
        )
        .await,
        302,
        "invalid_scope",
        "unknown scope",
    );
    assert_redirected_error(
        &get(
            app,
            &authorize_url(&sign_in.web, &[("scope", "me xy")]),
            None,
        )
        .await,
        302,
        "invalid_scope",
        "unknown scope: xy",
    );
    let reply = post_form(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&refreshed, "refresh_token")),
            ("scope", "x\u{1b}[31my"),
        ],
    )
    .await;
    reply.assert(
        400,
        r#"{"error":"invalid_scope","detail":"Unknown scope"}"#,
        None,
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}
