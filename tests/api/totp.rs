//! The TOTP second factor (issue 21, point 3): enrolment, confirmation, the `totp` field of
//! the password grant, one use per code, recovery codes, the per-user code throttle, and
//! removal. Codes are computed here from the secret the API returned, with totp-rs (whose
//! RFC 6238 vectors `auth::totp::code` checks).

use std::net::IpAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use passflow::AppState;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::clock::Clock;
use passflow::router;
use passflow::store::InMemoryUserStore;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::helpers::*;

/// The manual clock's start, on a step boundary: 2027-01-15T08:00:00Z.
pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn demo_state(clock: &Clock) -> AppState {
    state_with(settings(), InMemoryUserStore::demo()).with_clock(clock.clone())
}

/// Room for the wrong codes `logins_need_each_code_once` sends on purpose (six, one more
/// than the default budget).
pub(crate) const ROOMY: ThrottleSettings = ThrottleSettings {
    per_user: 10,
    per_ip: 100,
    codes_per_user: 20,
    window: std::time::Duration::from_secs(900),
};

/// The code an authenticator app shows for `secret` (base32) at `time`.
pub(crate) fn code_at(secret: &str, time: u64) -> String {
    let secret = Secret::try_from_base32(secret).unwrap();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret.as_bytes())
        .build()
        .unwrap()
        .generate(time)
        .to_string()
}

/// `method path` with a JSON body, as `token`.
pub(crate) async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

pub(crate) async fn enrol(app: &Router, token: &str) -> Reply {
    call(app, Method::POST, "/users/me/totp", token, None).await
}

pub(crate) async fn confirm(app: &Router, token: &str, code: &str) -> Reply {
    let body = json!({ "code": code });
    call(
        app,
        Method::POST,
        "/users/me/totp/confirm",
        token,
        Some(body),
    )
    .await
}

pub(crate) async fn remove(app: &Router, token: &str, password: &str) -> Reply {
    let body = json!({ "password": password });
    call(app, Method::DELETE, "/users/me/totp", token, Some(body)).await
}

/// A password-grant login of johndoe, with `totp` when given.
pub(crate) async fn log_in(app: &Router, password: &str, totp: Option<&str>) -> Reply {
    let mut fields = vec![("username", "johndoe"), ("password", password)];
    fields.extend(totp.map(|code| ("totp", code)));
    post_form(app, &fields).await
}

pub(crate) fn access(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// Enrols and confirms johndoe at `now` from a fresh login; the secret and recovery codes.
pub(crate) async fn turn_on(app: &Router, now: u64) -> (String, Vec<String>, Value) {
    let pair = log_in(app, "secret", None).await;
    let token = access(&pair);
    let enrolment = enrol(app, &token).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.text());
    let secret = enrolment.json()["secret"].as_str().unwrap().to_owned();
    let confirmed = confirm(app, &token, &code_at(&secret, now)).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let codes = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, pair.json())
}

const REQUIRED: &str = r#"{"detail":"TOTP code required"}"#;
const INCORRECT: &str = r#"{"detail":"Incorrect TOTP code"}"#;

/// The login contract for a user with TOTP on, on any store: each code once, recovery codes
/// once, the refresh grant without a code.
pub(crate) async fn logins_need_each_code_once(app: &Router, clock: &Clock) {
    let (secret, recovery, _) = turn_on(app, clock.now()).await;

    log_in(app, "secret", None)
        .await
        .assert(401, REQUIRED, Some("Bearer"));
    log_in(app, "secret", Some(""))
        .await
        .assert(401, REQUIRED, Some("Bearer"));
    // A wrong password says nothing about the second factor, code or not.
    log_in(app, "wrong-password", Some(&code_at(&secret, clock.now())))
        .await
        .assert(
            401,
            r#"{"detail":"Incorrect username or password"}"#,
            Some("Bearer"),
        );
    log_in(app, "secret", Some("000000"))
        .await
        .assert(401, INCORRECT, Some("Bearer"));
    // The confirming code's step is spent.
    let confirmed_code = code_at(&secret, clock.now());
    log_in(app, "secret", Some(&confirmed_code))
        .await
        .assert(401, INCORRECT, Some("Bearer"));

    clock.advance(30);
    let code = code_at(&secret, clock.now());
    let pair = log_in(app, "secret", Some(&code)).await;
    access(&pair);
    log_in(app, "secret", Some(&code))
        .await
        .assert(401, INCORRECT, Some("Bearer"));

    // The next step's code is accepted early (one step of drift); the current step's
    // code is then older than the last spent step.
    let next = code_at(&secret, clock.now() + 30);
    clock.advance(1);
    access(&log_in(app, "secret", Some(&next)).await);
    let now_code = code_at(&secret, clock.now());
    if now_code != next {
        log_in(app, "secret", Some(&now_code))
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }

    // Two steps ahead is out of the window.
    clock.advance(59);
    let far = code_at(&secret, clock.now() + 60);
    if far != code_at(&secret, clock.now()) {
        log_in(app, "secret", Some(&far))
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }

    // A recovery code works once, typed however.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    access(&log_in(app, "secret", Some(&typed)).await);
    log_in(app, "secret", Some(&recovery[3]))
        .await
        .assert(401, INCORRECT, Some("Bearer"));
    access(&log_in(app, "secret", Some(&recovery[4])).await);

    // The session already passed the factor: a refresh needs no code.
    let token = pair.json()["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = post_form(
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", &token)],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
}

#[tokio::test]
async fn an_enrolment_is_a_secret_and_its_key_uri_until_confirmed() {
    let clock = Clock::manual(NOW);
    let app = router(demo_state(&clock));
    let token = access(&log_in(&app, "secret", None).await);
    let enrolment = enrol(&app, &token).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.text());
    assert_eq!(enrolment.header("cache-control"), Some("no-store"));
    let body = enrolment.json();
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(
        Secret::try_from_base32(secret).unwrap().as_bytes().len(),
        20
    );
    assert_eq!(
        body,
        json!({
            "secret": secret,
            "otpauth_uri": format!("otpauth://totp/passflow:johndoe?secret={secret}\
                &issuer=passflow&algorithm=SHA1&digits=6&period=30"),
        })
    );
    // Pending: logins are unchanged, and a `totp` field is ignored.
    access(&log_in(&app, "secret", None).await);
    access(&log_in(&app, "secret", Some("not-a-code")).await);

    // Asking again replaces the pending secret: the first one's codes no longer confirm.
    let second = enrol(&app, &token).await.json();
    let replacement = second["secret"].as_str().unwrap();
    assert_ne!(replacement, secret);
    confirm(&app, &token, &code_at(secret, NOW)).await.assert(
        400,
        r#"{"detail":"Incorrect code"}"#,
        None,
    );
    let confirmed = confirm(&app, &token, &code_at(replacement, NOW)).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    assert_eq!(confirmed.header("cache-control"), Some("no-store"));
    let codes = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|code| code.as_str().unwrap().len() == 27));

    enrol(&app, &token)
        .await
        .assert(409, r#"{"detail":"TOTP is already enabled"}"#, None);
    confirm(&app, &token, &code_at(replacement, NOW + 30))
        .await
        .assert(409, r#"{"detail":"TOTP is already enabled"}"#, None);
}

#[tokio::test]
async fn confirming_needs_a_pending_enrolment_and_that_json() {
    let app = router(demo_state(&Clock::manual(NOW)));
    let token = access(&log_in(&app, "secret", None).await);
    confirm(&app, &token, "123456").await.assert(
        409,
        r#"{"detail":"No TOTP enrolment is pending"}"#,
        None,
    );
    call(
        &app,
        Method::POST,
        "/users/me/totp/confirm",
        &token,
        Some(json!({"code": 123456})),
    )
    .await
    .assert(
        422,
        r#"{"detail":[{"type":"string_type","loc":["body","code"],"msg":"Input should be a valid string","input":123456}]}"#,
        None,
    );
    call(&app, Method::DELETE, "/users/me/totp", &token, Some(json!([])))
        .await
        .assert(
            422,
            r#"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]}"#,
            None,
        );
    let anonymous = Request::post("/users/me/totp").body(Body::empty()).unwrap();
    send(&app, anonymous)
        .await
        .assert(401, r#"{"detail":"Not authenticated"}"#, Some("Bearer"));
}

#[tokio::test]
async fn logins_need_each_code_once_in_memory() {
    let clock = Clock::manual(NOW);
    let app = router(demo_state(&clock).with_throttle(ROOMY));
    logins_need_each_code_once(&app, &clock).await;
}

#[tokio::test]
async fn turning_totp_on_or_off_ends_the_other_sessions_only() {
    let clock = Clock::manual(NOW);
    let app = router(demo_state(&clock));
    let other = log_in(&app, "secret", None).await.json();
    let (secret, _, caller) = turn_on(&app, NOW).await;
    let me = |pair: &Value| {
        let token = pair["access_token"].as_str().unwrap().to_owned();
        let app = app.clone();
        async move { get_with_token(&app, "/users/me/", &token).await.status }
    };
    assert_eq!(me(&caller).await, 200, "the confirming session goes on");
    assert_eq!(
        me(&other).await,
        401,
        "a session that never passed the factor ends"
    );

    clock.advance(30);
    let other = log_in(&app, "secret", Some(&code_at(&secret, clock.now())))
        .await
        .json();
    let token = caller["access_token"].as_str().unwrap();
    remove(&app, token, "wrong-password").await.assert(
        400,
        r#"{"detail":"Incorrect password"}"#,
        None,
    );
    let removed = remove(&app, token, "secret").await;
    assert_eq!(removed.status, 204, "{}", removed.text());
    assert!(removed.body.is_empty());
    assert_eq!(me(&caller).await, 200);
    assert_eq!(me(&other).await, 401);
    // The password alone again; removing twice is no error.
    access(&log_in(&app, "secret", None).await);
    assert_eq!(remove(&app, token, "secret").await.status, 204);
}

/// In-process requests come from 0.0.0.0; trusted as a proxy, each request's
/// `X-Forwarded-For` stands for its own client address.
async fn log_in_from(app: &Router, client: IpAddr, totp: &str) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("username", "johndoe"),
            ("password", "secret"),
            ("totp", totp),
        ])
        .finish();
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client.to_string())
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

#[tokio::test]
async fn wrong_codes_are_limited_per_user_across_addresses() {
    let clock = Clock::manual(NOW);
    let state = demo_state(&clock)
        .with_throttle(ThrottleSettings {
            codes_per_user: 3,
            ..ThrottleSettings::default()
        })
        .with_trusted_proxies(["0.0.0.0/32".parse().unwrap()]);
    let app = router(state);
    let (secret, _, _) = turn_on(&app, NOW).await;
    clock.advance(30);
    // Wrong passwords from anywhere never touch the code budget.
    let wrong = [("username", "johndoe"), ("password", "guess-guess")];
    for _ in 0..5 {
        assert_eq!(post_form(&app, &wrong).await.status, 401);
    }
    for n in 1..=3u8 {
        let client = IpAddr::from([203, 0, 113, n]);
        log_in_from(&app, client, "999999")
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    // The fourth address, with the right code: the user's budget is spent, though that
    // address has no failures of its own.
    let refused = log_in_from(
        &app,
        IpAddr::from([198, 51, 100, 1]),
        &code_at(&secret, clock.now()),
    )
    .await;
    refused.assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=301).contains(&wait), "{wait}");
}

#[tokio::test]
async fn wrong_codes_count_as_failed_logins_of_the_address_and_user() {
    let clock = Clock::manual(NOW);
    let state = demo_state(&clock).with_throttle(ThrottleSettings {
        per_user: 3,
        ..ThrottleSettings::default()
    });
    let app = router(state);
    let (secret, _, _) = turn_on(&app, NOW).await;
    for _ in 0..3 {
        log_in(&app, "secret", Some("111111"))
            .await
            .assert(401, INCORRECT, Some("Bearer"));
    }
    clock.advance(30);
    log_in(&app, "secret", Some(&code_at(&secret, clock.now())))
        .await
        .assert(429, r#"{"detail":"Too many failed login attempts"}"#, None);
}

/// Issue 30: the login as a page runs it, one step at a time through `auth::login::flow`,
/// each step a type: password, then the factor, then the grant.
#[tokio::test]
async fn the_login_flow_runs_step_by_step() {
    use passflow::auth::credentials::totp::Factor;
    use passflow::auth::login::flow::{PasswordStep, password};
    use passflow::model::event::RequestContext;

    let clock = Clock::manual(NOW);
    let state = demo_state(&clock).with_throttle(ROOMY);
    let app = router(state.clone());
    let client = RequestContext::anonymous(Some("192.0.2.7".parse().unwrap()));
    // Without a factor turned on, the password alone authenticates.
    let PasswordStep::Authenticated(done) =
        password(&state.auth, &client, "johndoe", "secret".into())
            .await
            .unwrap()
    else {
        panic!("johndoe has no factor yet");
    };
    assert_eq!(done.user().username(), "johndoe");
    assert_eq!(done.grant("me").await.unwrap().scope.to_string(), "me");

    let (secret, recovery, _) = turn_on(&app, NOW).await;
    for factor in [
        Factor::TotpCode(code_at(&secret, NOW + 30)),
        Factor::RecoveryCode(recovery[0].clone()),
    ] {
        clock.advance(30);
        let step = password(&state.auth, &client, "JohnDoe", "secret".into())
            .await
            .unwrap();
        let PasswordStep::FactorRequired(pending) = step else {
            panic!("johndoe's password is not enough now");
        };
        assert_eq!(pending.user().username(), "johndoe");
        let done = pending.factor(&factor).await.unwrap();
        let grant = done.grant("").await.unwrap();
        assert_eq!(grant.scope.to_string(), "me items");
    }
    // A wrong code is refused at its step, and the flow ends there.
    let PasswordStep::FactorRequired(pending) =
        password(&state.auth, &client, "johndoe", "secret".into())
            .await
            .unwrap()
    else {
        panic!("johndoe's password is not enough now");
    };
    let refused = pending.factor(&Factor::TotpCode("000000".into())).await;
    assert!(matches!(
        refused,
        Err(passflow::auth::LoginError::IncorrectTotp)
    ));
}
