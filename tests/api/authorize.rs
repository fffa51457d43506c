//! The authorization endpoint and its login page (`GET`/`POST /authorize`), driven as a
//! browser drives it: cookies kept between requests, each form's hidden inputs posted back as
//! given. Each flow on memory, SQLite and PostgreSQL, ending in a code exchange at `/token`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, header};
use passflow::auth::oauth::code::s256_challenge;
use passflow::auth::oauth::metadata::ServerMetadata;
use passflow::auth::oauth::registration::Registered;
use passflow::model::scopes::ScopeCatalog;
use passflow::router;
use serde_json::{Value, json};

use crate::code_grant::{
    ENDED, REDIRECT, SignIn, VERIFIER, assert_protocol_error, basic, claims, sign_in,
};
use crate::helpers::{Reply, default_state, get, get_with_token, post_form, send, str_of};
use crate::stores::{Backend, on_every_backend};
use crate::totp::{code_at, confirm, enrol};

const ISSUER: &str = "https://auth.example.com";
const STATE: &str = "af0ifjsldkj&<x>";

/// A browser: the cookies the server set, sent back with every request.
pub(crate) struct Browser {
    app: axum::Router,
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` line received, as sent.
    set_cookies: Vec<String>,
}

impl Browser {
    pub(crate) fn new(sign_in: &SignIn) -> Self {
        Self::on(sign_in.app.clone())
    }

    /// A browser of `app`, a deployment built otherwise than [`SignIn`]'s.
    pub(crate) fn on(app: axum::Router) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    /// The same browser (its cookies), its requests now answered by `app`: another
    /// deployment of the same stores.
    pub(crate) fn moved_to(self, app: axum::Router) -> Self {
        Self { app, ..self }
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookie)
        };
        let reply = send(&self.app, request.body(body).unwrap()).await;
        for line in reply.headers.get_all(header::SET_COOKIE) {
            let line = line.to_str().unwrap().to_owned();
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
            self.set_cookies.push(line);
        }
        reply
    }

    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn post(&mut self, fields: &[(String, String)]) -> Reply {
        self.post_to("/authorize", fields).await
    }

    async fn post_to(&mut self, path: &str, fields: &[(String, String)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }

    /// Posts `page`'s form: its hidden inputs as given, plus what the user typed or clicked.
    pub(crate) async fn submit(&mut self, page: &Reply, typed: &[(&str, &str)]) -> Reply {
        self.submit_to("/authorize", page, typed).await
    }

    /// [`Self::submit`] to the form's `path`.
    pub(crate) async fn submit_to(
        &mut self,
        path: &str,
        page: &Reply,
        typed: &[(&str, &str)],
    ) -> Reply {
        let mut fields = hidden_inputs(&page.text());
        fields.extend(typed.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self.post_to(path, &fields).await
    }

    fn session_cookie(&self) -> Option<&str> {
        self.cookies
            .get("__Host-passflow-session")
            .map(String::as_str)
    }
}

/// An authorization request of `client` with PKCE and `state`, plus `extra`.
pub(crate) fn authorize_url(client: &Registered, extra: &[(&str, &str)]) -> String {
    let challenge = s256_challenge(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", STATE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in extra {
        pairs.retain(|(n, _)| n != name);
        pairs.push((name, value));
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/authorize?{query}")
}

/// The hidden inputs of a page's form, unescaped, in order.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let attribute = |name: &str| {
                let start = input.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + input[start..].find('"').unwrap();
                unescape(&input[start..end])
            };
            (attribute("name"), attribute("value"))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Asserts an HTML page with `status` and every header a page must carry.
#[track_caller]
pub(crate) fn assert_page(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_security_headers(reply);
}

#[track_caller]
fn assert_security_headers(reply: &Reply) {
    let policy = reply.header("content-security-policy").unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(
        policy.ends_with("'; frame-ancestors 'none'; base-uri 'none'"),
        "{policy}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
}

/// The message a page shows (`id="message"`), if any.
pub(crate) fn message(reply: &Reply) -> Option<String> {
    let html = reply.text();
    let start = html.find("id=\"message\">")? + "id=\"message\">".len();
    let end = start + html[start..].find("</p>")?;
    Some(unescape(&html[start..end]))
}

/// The query parameter `name` of a redirect's target.
#[track_caller]
pub(crate) fn redirect_param(reply: &Reply, name: &str) -> String {
    let location = url::Url::parse(reply.header("location").unwrap()).unwrap();
    let value = location.query_pairs().find(|(key, _)| key == name);
    value
        .unwrap_or_else(|| panic!("no {name} in {location}"))
        .1
        .into_owned()
}

/// A redirect's target split into the URI and its query parameters.
#[track_caller]
fn redirected(reply: &Reply, status: u16) -> (String, BTreeMap<String, String>) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_security_headers(reply);
    let location = url::Url::parse(reply.header("location").unwrap()).unwrap();
    let params = location.query_pairs().into_owned().collect();
    let mut base = location.clone();
    base.set_query(None);
    (base.to_string(), params)
}

/// Asserts a redirect back to the client carrying `error`, `error_description`, the request's
/// `state` and the issuer (RFC 9207).
#[track_caller]
pub(crate) fn assert_redirected_error(reply: &Reply, status: u16, error: &str, description: &str) {
    let (uri, params) = redirected(reply, status);
    assert_eq!(uri, REDIRECT);
    let expected: BTreeMap<String, String> = [
        ("error", error),
        ("error_description", description),
        ("state", STATE),
        ("iss", ISSUER),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(params, expected);
}

/// The code of a successful redirect, after checking `state` and `iss`.
#[track_caller]
fn code_of(reply: &Reply, status: u16) -> String {
    let (uri, params) = redirected(reply, status);
    assert_eq!(uri, REDIRECT);
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params.len(), 3, "{params:?}");
    params["code"].clone()
}

async fn exchange(sign_in: &SignIn, client: &Registered, code: &str) -> Reply {
    let fields = [
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    sign_in.exchange(client, &fields).await
}

/// johndoe through the password and consent steps for `client`; the code.
async fn sign_in_and_allow(browser: &mut Browser, client: &Registered) -> String {
    let login = browser.get(&authorize_url(client, &[])).await;
    assert_page(&login, 200);
    let consent = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    assert_page(&consent, 200);
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    code_of(&done, 303)
}

on_every_backend!(a_browser_signs_in_allows_and_the_client_trades_the_code);
async fn a_browser_signs_in_allows_and_the_client_trades_the_code(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    assert_page(&login, 200);
    let html = login.text();
    assert!(
        html.contains("to continue to <strong>Web</strong>"),
        "{html}"
    );
    assert!(html.contains("autocomplete=\"username\""), "{html}");
    assert!(html.contains("autocomplete=\"current-password\""), "{html}");
    assert!(
        html.contains("<label for=\"password\">Password</label>"),
        "{html}"
    );
    // Every parameter of the request rides along, escaped, with this browser's CSRF token.
    let hidden = hidden_inputs(&html);
    let csrf = browser.cookies["__Host-passflow-csrf"].clone();
    assert_eq!(hidden[0], ("csrf".to_owned(), csrf));
    assert!(
        hidden.contains(&("state".to_owned(), STATE.to_owned())),
        "{hidden:?}"
    );
    assert!(
        html.contains("value=\"af0ifjsldkj&amp;&lt;x&gt;\""),
        "{html}"
    );
    assert_eq!(
        browser.set_cookies,
        [format!(
            "__Host-passflow-csrf={}; HttpOnly; SameSite=Lax; Secure; Path=/",
            browser.cookies["__Host-passflow-csrf"]
        )]
    );

    let consent = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    assert_page(&consent, 200);
    let html = consent.text();
    assert!(
        html.contains("Allow <strong>Web</strong> access?"),
        "{html}"
    );
    assert!(
        html.contains("<li><code>me</code> — Read information about the current user.</li>"),
        "{html}"
    );
    assert!(
        html.contains("<li><code>items</code> — Read items.</li>"),
        "{html}"
    );
    assert!(html.contains("name=\"decision\" value=\"allow\""), "{html}");
    assert!(html.contains("name=\"decision\" value=\"deny\""), "{html}");
    assert!(
        !html.contains("secret"),
        "the password is never echoed: {html}"
    );
    let session_cookie = browser.session_cookie().unwrap().to_owned();
    assert_eq!(
        browser.set_cookies.last().unwrap(),
        &format!(
            "__Host-passflow-session={session_cookie}; HttpOnly; SameSite=Lax; Secure; Path=/"
        )
    );

    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let code = code_of(&done, 303);
    let reply = exchange(&sign_in, &sign_in.web, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["scope"], "me items");
    let access = str_of(&body, "access_token").to_owned();
    let claims = claims(&access);
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["client_id"], sign_in.web.client.id.as_str());

    // The browser session and the client's session, both the user's.
    let sessions = get_with_token(&sign_in.app, "/users/me/sessions/", &access).await;
    assert_eq!(sessions.status.as_u16(), 200);
    assert_eq!(
        sessions.json().as_array().unwrap().len(),
        2,
        "{}",
        sessions.text()
    );
    let consents = get_with_token(&sign_in.app, "/users/me/consents", &access).await;
    assert_eq!(consents.status.as_u16(), 200);
    let listed = consents.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["client_id"], sign_in.web.client.id.as_str());
    assert_eq!(listed[0]["client_name"], "Web");
    assert_eq!(listed[0]["scope"], "me items");

    // Signed in and allowed: the next authorization answers at once, with a new code.
    let again = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let second = code_of(&again, 302);
    assert_ne!(second, code);
    let reply = exchange(&sign_in, &sign_in.web, &second).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    // The browser's cookie is no refresh token for anyone.
    let reply = post_form(
        &sign_in.app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session_cookie),
        ],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 401);
    assert_eq!(
        reply.json(),
        json!({"error": "invalid_client", "detail": "Invalid client credentials"})
    );
}

on_every_backend!(a_user_with_totp_passes_the_second_step);
async fn a_user_with_totp_passes_the_second_step(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let now = sign_in.clock.now();
    // johndoe turns TOTP on through the API.
    let token = crate::helpers::login(&sign_in.app, "johndoe", "secret").await;
    let enrolment = enrol(&sign_in.app, &token).await;
    let secret = enrolment.json()["secret"].as_str().unwrap().to_owned();
    let confirmed = confirm(&sign_in.app, &token, &code_at(&secret, now)).await;
    assert_eq!(confirmed.status.as_u16(), 200, "{}", confirmed.text());
    sign_in.clock.advance(30);

    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.first, &[])).await;
    let factor = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    assert_page(&factor, 200);
    let html = factor.text();
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");
    assert!(
        html.contains("Signing in as <strong>johndoe</strong>"),
        "{html}"
    );
    assert_eq!(
        browser.session_cookie(),
        None,
        "no session before the second factor"
    );
    let ticket = hidden_inputs(&html)
        .into_iter()
        .find(|(name, _)| name == "ticket")
        .unwrap()
        .1;

    let wrong = browser.submit(&factor, &[("totp", "000000")]).await;
    assert_page(&wrong, 401);
    assert_eq!(
        message(&wrong).as_deref(),
        Some(
            "Incorrect code. Enter the current code from your authenticator app, or a \
             recovery code."
        )
    );
    assert_eq!(browser.session_cookie(), None);

    // The ticket is this browser's: another cannot use it, even with its own CSRF token.
    let mut thief = Browser::new(&sign_in);
    let thief_login = thief.get(&authorize_url(&sign_in.first, &[])).await;
    let mut fields = hidden_inputs(&thief_login.text());
    fields.push(("ticket".into(), ticket));
    fields.push(("totp".into(), code_at(&secret, sign_in.clock.now())));
    let refused = thief.post(&fields).await;
    assert_page(&refused, 401);
    assert_eq!(
        message(&refused).as_deref(),
        Some("That took too long. Sign in again.")
    );
    assert_eq!(thief.session_cookie(), None);

    // First-party: no consent page; the code comes at once.
    let code = browser
        .submit(&wrong, &[("totp", &code_at(&secret, sign_in.clock.now()))])
        .await;
    let code = code_of(&code, 303);
    assert!(browser.session_cookie().is_some());
    let reply = exchange(&sign_in, &sign_in.first, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
}

on_every_backend!(a_wrong_password_shows_the_form_again_and_the_throttle_stops_guessing);
async fn a_wrong_password_shows_the_form_again_and_the_throttle_stops_guessing(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let wrong = browser
        .submit(
            &login,
            &[("username", "johndoe"), ("password", "wrong-password")],
        )
        .await;
    assert_page(&wrong, 401);
    assert_eq!(
        message(&wrong).as_deref(),
        Some("Incorrect username or password")
    );
    assert!(wrong.text().contains("value=\"johndoe\""));
    assert!(!wrong.text().contains("wrong-password"));
    let unknown = browser
        .submit(
            &login,
            &[("username", "nobody"), ("password", "wrong-password")],
        )
        .await;
    assert_page(&unknown, 401);
    assert_eq!(message(&unknown), message(&wrong), "one message for both");
    // The (address, user) budget /token spends: 10 failures, then 429 with Retry-After.
    for _ in 0..9 {
        let wrong = browser
            .submit(
                &login,
                &[("username", "johndoe"), ("password", "wrong-password")],
            )
            .await;
        assert_page(&wrong, 401);
    }
    let throttled = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    assert_page(&throttled, 429);
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after > 0);
    assert_eq!(
        message(&throttled),
        Some(format!(
            "Too many failed attempts. Try again in {retry_after} seconds."
        ))
    );
    // The same cell at /token.
    let reply = post_form(
        &sign_in.app,
        &[("username", "johndoe"), ("password", "secret")],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 429);
    assert_eq!(browser.session_cookie(), None);
}

/// Issue 41 §7: the code flow grants scopes by `/token`'s rule. Fewer than asked may be
/// granted, and the token's `scope` says which; none at all is `invalid_scope`, never a
/// token without scopes.
#[tokio::test]
async fn a_code_grants_what_the_user_may_have_and_never_nothing() {
    let sign_in = sign_in(Backend::Memory).await;
    let offered = ScopeCatalog::with([("billing", "See your invoices")]).unwrap();
    let mut browser = Browser::on(router(sign_in.state.clone().with_scopes(offered)));
    let first = &sign_in.first;
    let login = browser
        .get(&authorize_url(first, &[("scope", "billing")]))
        .await;
    assert_page(&login, 200);
    let typed = [("username", "johndoe"), ("password", "secret")];
    let refused = browser.submit(&login, &typed).await;
    assert_redirected_error(
        &refused,
        303,
        "invalid_scope",
        "None of the requested scopes is allowed for this user",
    );
    // Signed in now: the same request is refused at once, as prompt=none would be.
    let again = browser
        .get(&authorize_url(first, &[("scope", "billing")]))
        .await;
    assert_redirected_error(
        &again,
        302,
        "invalid_scope",
        "None of the requested scopes is allowed for this user",
    );
    let some = browser
        .get(&authorize_url(first, &[("scope", "me billing")]))
        .await;
    let code = code_of(&some, 302);
    let reply = exchange(&sign_in, first, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "me");
}

on_every_backend!(a_disabled_user_gets_no_code);
async fn a_disabled_user_gets_no_code(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let inactive = browser
        .submit(
            &login,
            &[("username", "alice"), ("password", "secretalice")],
        )
        .await;
    assert_page(&inactive, 400);
    assert_eq!(message(&inactive).as_deref(), Some("Inactive user"));
    assert_eq!(browser.session_cookie(), None);
    // Refused and recorded, as a signed-in johndoe is.
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let johndoe = [("username", "johndoe"), ("password", "secret")];
    browser.submit(&login, &johndoe).await;
    assert!(browser.session_cookie().is_some());
    let query = passflow::store::audit::EventQuery {
        limit: 2,
        ..Default::default()
    };
    let events = sign_in.state.auth.audit.events(&query).await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|event| (event.kind.as_str(), event.user.as_deref(), &event.actor))
        .collect();
    let johndoe = passflow::model::event::Actor::User("johndoe".into());
    let anonymous = passflow::model::event::Actor::Anonymous;
    assert_eq!(
        seen,
        [
            ("login.succeeded", Some("johndoe"), &johndoe),
            ("login.refused_inactive", Some("alice"), &anonymous),
        ]
    );
    assert!(
        events[0].session_id.is_some(),
        "the browser session it started"
    );
}

#[tokio::test]
async fn a_form_without_this_browsers_csrf_token_changes_nothing() {
    let sign_in = sign_in(Backend::Memory).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let mut fields = hidden_inputs(&login.text());
    fields.retain(|(name, _)| name != "csrf");
    fields.push(("username".into(), "johndoe".into()));
    fields.push(("password".into(), "secret".into()));
    let forged = browser.post(&fields).await;
    assert_page(&forged, 403);
    assert_eq!(
        message(&forged).as_deref(),
        Some("The form was not sent from this browser's sign-in page, so nothing was done.")
    );
    // Another browser's token is as bad as none.
    fields.push(("csrf".into(), "another-browsers-token".into()));
    assert_page(&browser.post(&fields).await, 403);
    // A browser without the cookie (a cross-site post carries none) is refused too.
    let mut other = Browser::new(&sign_in);
    let mut with_token = hidden_inputs(&login.text());
    with_token.push(("username".into(), "johndoe".into()));
    with_token.push(("password".into(), "secret".into()));
    assert_page(&other.post(&with_token).await, 403);
    assert_eq!(browser.session_cookie(), None);
    assert_eq!(other.session_cookie(), None);
}

#[tokio::test]
async fn a_client_in_doubt_gets_a_page_never_a_redirect() {
    let sign_in = sign_in(Backend::Memory).await;
    let mut browser = Browser::new(&sign_in);
    for (url, text) in [
        (
            "/authorize?response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"
                .to_owned(),
            "The request names no client (client_id is missing or repeated).",
        ),
        (
            authorize_url(&sign_in.web, &[("client_id", "unknown")]),
            "The application that sent you here is not registered.",
        ),
        (
            authorize_url(
                &sign_in.web,
                &[("redirect_uri", "https://evil.example/callback")],
            ),
            "The application asked to send you to an address it has not registered.",
        ),
    ] {
        let reply = browser.get(&url).await;
        assert_page(&reply, 400);
        assert_eq!(reply.header("location"), None);
        assert_eq!(message(&reply).as_deref(), Some(text), "{url}");
    }
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let sign_in = sign_in(Backend::Memory).await;
    let mut browser = Browser::new(&sign_in);
    for (extra, error, description) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "Only response_type=code is supported",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "code_challenge_method must be S256; plain is not supported",
        ),
        (
            vec![("scope", "admin")],
            "invalid_scope",
            "unknown scope: admin",
        ),
        (
            vec![("request", "eyJ")],
            "request_not_supported",
            "Request objects are not supported",
        ),
        (
            vec![("request_uri", "https://app.example/r")],
            "request_uri_not_supported",
            "request_uri is not supported",
        ),
        (
            vec![("prompt", "none")],
            "login_required",
            "The user is not signed in",
        ),
    ] {
        let reply = browser.get(&authorize_url(&sign_in.web, &extra)).await;
        assert_redirected_error(&reply, 302, error, description);
    }
    // A public client must send a challenge.
    let url = authorize_url(&sign_in.spa, &[])
        .replace("&code_challenge_method=S256", "")
        .split("&code_challenge=")
        .next()
        .unwrap()
        .to_owned();
    let reply = browser.get(&url).await;
    assert_redirected_error(
        &reply,
        302,
        "invalid_request",
        "code_challenge is required (PKCE, S256)",
    );
}

on_every_backend!(deny_prompt_and_max_age);
async fn deny_prompt_and_max_age(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let consent = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    let denied = browser.submit(&consent, &[("decision", "deny")]).await;
    assert_redirected_error(&denied, 303, "access_denied", "The user denied access");
    // Signed in, but not allowed: prompt=none cannot ask.
    let reply = browser
        .get(&authorize_url(&sign_in.web, &[("prompt", "none")]))
        .await;
    assert_redirected_error(
        &reply,
        302,
        "consent_required",
        "The user has not allowed this client",
    );

    let code = sign_in_and_allow(&mut browser, &sign_in.web).await;
    assert!(!code.is_empty());
    // Allowed and signed in: prompt=none answers with a code.
    let reply = browser
        .get(&authorize_url(&sign_in.web, &[("prompt", "none")]))
        .await;
    code_of(&reply, 302);
    // prompt=login asks for the password again, and the new login replaces the session.
    let first_cookie = browser.session_cookie().unwrap().to_owned();
    let login = browser
        .get(&authorize_url(&sign_in.web, &[("prompt", "login")]))
        .await;
    assert_page(&login, 200);
    assert!(login.text().contains("autocomplete=\"current-password\""));
    let done = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    code_of(&done, 303);
    assert_ne!(
        browser.session_cookie().unwrap(),
        first_cookie,
        "no fixation"
    );
    let token = crate::helpers::login(&sign_in.app, "johndoe", "secret").await;
    let sessions = get_with_token(&sign_in.app, "/users/me/sessions/", &token).await;
    // The new browser session and this token's; the first browser session ended.
    assert_eq!(
        sessions.json().as_array().unwrap().len(),
        2,
        "{}",
        sessions.text()
    );

    // max_age: a login older than that asks again.
    sign_in.clock.advance(120);
    let reply = browser
        .get(&authorize_url(&sign_in.web, &[("max_age", "300")]))
        .await;
    code_of(&reply, 302);
    let reply = browser
        .get(&authorize_url(&sign_in.web, &[("max_age", "60")]))
        .await;
    assert_page(&reply, 200);
    assert!(reply.text().contains("autocomplete=\"current-password\""));

    // max_age=0 asks for the password at once, even in the second of the login (OpenID
    // Connect Core §3.1.2.1); the login it asks for then answers with a code.
    let login = browser
        .get(&authorize_url(&sign_in.web, &[("prompt", "login")]))
        .await;
    code_of(
        &browser
            .submit(&login, &[("username", "johndoe"), ("password", "secret")])
            .await,
        303,
    );
    let login = browser
        .get(&authorize_url(&sign_in.web, &[("max_age", "0")]))
        .await;
    assert_page(&login, 200);
    assert!(login.text().contains("autocomplete=\"current-password\""));
    let done = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    code_of(&done, 303);
}

on_every_backend!(a_wider_scope_asks_again_and_a_revoked_consent_ends_the_clients_sessions);
async fn a_wider_scope_asks_again_and_a_revoked_consent_ends_the_clients_sessions(
    backend: Backend,
) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser
        .get(&authorize_url(&sign_in.web, &[("scope", "me")]))
        .await;
    let consent = browser
        .submit(&login, &[("username", "johndoe"), ("password", "secret")])
        .await;
    let html = consent.text();
    assert!(
        html.contains("<code>me</code>") && !html.contains("<code>items</code>"),
        "{html}"
    );
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let code = code_of(&done, 303);
    let pair = exchange(&sign_in, &sign_in.web, &code).await.json();
    assert_eq!(pair["scope"], "me");
    // `me items` is wider than `me`: asked again, listing both.
    let wider = browser
        .get(&authorize_url(&sign_in.web, &[("scope", "me items")]))
        .await;
    assert_page(&wider, 200);
    assert!(wider.text().contains("<code>items</code>"));
    let done = browser.submit(&wider, &[("decision", "allow")]).await;
    let unexchanged = code_of(&done, 303);

    let access = str_of(&pair, "access_token");
    let refresh = str_of(&pair, "refresh_token");
    let consents = get_with_token(&sign_in.app, "/users/me/consents", access).await;
    assert_eq!(consents.json()[0]["scope"], "me items");
    let path = format!("/users/me/consents/{}", sign_in.web.client.id);
    let revoked = delete_with_token(&sign_in.app, &path, access).await;
    assert_eq!(revoked.status.as_u16(), 204, "{}", revoked.text());
    // Its access token is refused at once, its refresh token is dead.
    let me = get_with_token(&sign_in.app, "/users/me/", access).await;
    assert_eq!(me.status.as_u16(), 401);
    let fields = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let secret = sign_in.web.secret.as_deref().unwrap();
    let authorization = basic(&sign_in.web.client.id, secret);
    let reply =
        crate::helpers::post_form_authorized(&sign_in.app, "/token", Some(&authorization), &fields)
            .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_grant");
    // Its code not yet exchanged went with them.
    let reply = exchange(&sign_in, &sign_in.web, &unexchanged).await;
    assert_protocol_error(&reply, 400, "invalid_grant", ENDED);
    // The browser is still signed in, but the client must ask again.
    let again = browser.get(&authorize_url(&sign_in.web, &[])).await;
    assert_page(&again, 200);
    assert!(again.text().contains("name=\"decision\""));
    // Nothing left to revoke.
    let token = crate::helpers::login(&sign_in.app, "johndoe", "secret").await;
    let missing = delete_with_token(&sign_in.app, &path, &token).await;
    missing.assert(404, r#"{"detail":"Not Found"}"#, None);
}

on_every_backend!(logging_out_everywhere_ends_the_browser_session);
async fn logging_out_everywhere_ends_the_browser_session(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let code = sign_in_and_allow(&mut browser, &sign_in.web).await;
    let pair = exchange(&sign_in, &sign_in.web, &code).await.json();
    let access = str_of(&pair, "access_token");
    let logout = crate::helpers::post_form_authorized(
        &sign_in.app,
        "/logout/all",
        Some(&format!("Bearer {access}")),
        &[],
    )
    .await;
    assert_eq!(logout.status.as_u16(), 204);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    assert_page(&login, 200);
    assert!(login.text().contains("autocomplete=\"current-password\""));
}

async fn delete_with_token(app: &axum::Router, path: &str, token: &str) -> Reply {
    let request = Request::delete(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

#[tokio::test]
async fn without_an_issuer_url_there_is_no_login_page() {
    let app = router(default_state());
    let reply = get(&app, "/authorize?response_type=code&client_id=x", None).await;
    reply.assert(404, r#"{"detail":"Not Found"}"#, None);
    let reply = get(&app, "/users/me/consents", None).await;
    reply.assert(404, r#"{"detail":"Not Found"}"#, None);
}

#[tokio::test]
async fn the_metadata_names_the_code_flow_once_a_client_is_registered() {
    let without = router(default_state().with_metadata(ServerMetadata::new(ISSUER, false)));
    let body = get(&without, "/.well-known/oauth-authorization-server", None)
        .await
        .json();
    assert_eq!(body["response_types_supported"], json!([]));
    assert_eq!(body.get("authorization_endpoint"), None);
    assert_eq!(body.get("code_challenge_methods_supported"), None);

    let sign_in = sign_in(Backend::Memory).await;
    let body: Value = get(
        &sign_in.app,
        "/.well-known/oauth-authorization-server",
        None,
    )
    .await
    .json();
    assert_eq!(
        body["authorization_endpoint"],
        "https://auth.example.com/authorize"
    );
    assert_eq!(body["response_types_supported"], json!(["code"]));
    assert_eq!(
        body["grant_types_supported"],
        json!(["authorization_code", "password", "refresh_token"])
    );
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        body["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    // A client's session is revoked by that client (RFC 7009 §2.1).
    assert_eq!(
        body["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn a_store_out_of_reach_is_a_503_page_and_loses_nothing() {
    let sign_in = sign_in(Backend::Memory).await;
    let mut browser = Browser::new(&sign_in);
    let login = browser.get(&authorize_url(&sign_in.web, &[])).await;
    let fields: Vec<(String, String)> = hidden_inputs(&login.text())
        .into_iter()
        .chain([
            ("username".to_owned(), "johndoe".to_owned()),
            ("password".to_owned(), "secret".to_owned()),
        ])
        .collect();
    let unreachable = std::sync::Arc::new(crate::examples::Unreachable);
    browser.app = router(sign_in.state.clone().with_users(unreachable));
    let reply = browser.post(&fields).await;
    assert_page(&reply, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(
        message(&reply).as_deref(),
        Some("Signing in is unavailable right now.")
    );
    assert_eq!(browser.session_cookie(), None);
    // Posted again once the store is back, the same form signs in.
    browser.app = sign_in.app.clone();
    assert_page(&browser.post(&fields).await, 200);
    assert!(browser.session_cookie().is_some());
}

on_every_backend!(a_browser_in_use_outlives_the_users_older_sessions);
async fn a_browser_in_use_outlives_the_users_older_sessions(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut browser = Browser::new(&sign_in);
    let mut code = sign_in_and_allow(&mut browser, &sign_in.web).await;
    // Past the per-user cap of 64 sessions the least recently used ends; a browser going
    // through /authorize every second is never that one.
    for _ in 0..70 {
        let reply = exchange(&sign_in, &sign_in.web, &code).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        sign_in.clock.advance(1);
        code = code_of(&browser.get(&authorize_url(&sign_in.web, &[])).await, 302);
    }
    // A code not yet exchanged holds its place under the cap too: the browser keeps its own.
    let reply = exchange(&sign_in, &sign_in.web, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let token = crate::helpers::login(&sign_in.app, "johndoe", "secret").await;
    let sessions = get_with_token(&sign_in.app, "/users/me/sessions/", &token).await;
    assert_eq!(sessions.json().as_array().unwrap().len(), 64);
}
