//! Sessions (issue 11): refresh with rotation and reuse detection, lifetimes, logout,
//! logout everywhere, RFC 7009 revocation, and the session list. Lifetimes run on a manual
//! clock, moved forward instead of slept through.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::sessions::SessionSettings;
use passflow::clock::Clock;
use passflow::model::username::Username;
use passflow::router;
use passflow::store::{InMemorySessionStore, InMemoryUserStore, StoreError, UserRecord, UserStore};
use serde_json::{Value, json};

use crate::helpers::*;

const JOHNDOE_JSON: &str = r#"{"username":"johndoe","email":"johndoe@example.com","full_name":"John Doe","disabled":false}"#;

/// The manual clock's start: 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;

struct Fixture {
    app: Router,
    clock: Clock,
}

fn fixture() -> Fixture {
    fixture_with(SessionSettings::default())
}

fn fixture_with(sessions: SessionSettings) -> Fixture {
    let clock = Clock::manual(NOW);
    let state = state_with(settings(), InMemoryUserStore::demo())
        .with_clock(clock.clone())
        .with_sessions(Arc::new(InMemorySessionStore::default()), sessions);
    Fixture {
        app: router(state),
        clock,
    }
}

async fn post_with_token(app: &Router, path: &str, token: &str) -> Reply {
    let request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

async fn delete_with_token(app: &Router, path: &str, token: &str) -> Reply {
    let request = Request::delete(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

async fn revoke(app: &Router, fields: &[(&str, &str)]) -> Reply {
    post_form_to(app, "/revoke", fields).await
}

#[track_caller]
fn assert_empty(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert!(reply.body.is_empty(), "{}", reply.text());
}

const INVALID_REFRESH: &str = r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#;
const EXPIRED_REFRESH: &str = r#"{"error":"invalid_grant","detail":"Refresh token expired"}"#;
const REUSED_REFRESH: &str = r#"{"error":"invalid_grant","detail":"Refresh token already used; the session has been ended"}"#;
const INVALID_TOKEN: &str = r#"{"detail":"Could not validate credentials"}"#;

/// Asserts the token is refused exactly as a forged one would be.
async fn assert_refused(app: &Router, access_token: &str) {
    get_with_token(app, "/users/me/", access_token)
        .await
        .assert(401, INVALID_TOKEN, Some("Bearer"));
}

// 1. Login starts a session.

#[tokio::test]
async fn login_starts_a_session_named_by_the_sid_claim() {
    let Fixture { app, .. } = fixture();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let access = str_of(&pair, "access_token");
    let sid = jwt_claims(access)["sid"].as_str().unwrap().to_owned();
    let list = get_with_token(&app, "/users/me/sessions/", access).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(
        list.json(),
        json!([{
            "id": sid,
            "created_at": "2027-01-15T08:00:00Z",
            "last_used_at": "2027-01-15T08:00:00Z",
            "expires_at": "2027-01-29T08:00:00Z",
            "current": true,
        }])
    );
}

// 2. Refresh.

#[tokio::test]
async fn refresh_returns_a_new_pair_in_the_same_session_and_is_not_cached() {
    let Fixture { app, clock } = fixture();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    clock.advance(60);
    let reply = refresh_grant(&app, str_of(&pair, "refresh_token"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let next = reply.json();
    assert_eq!(next["token_type"], "bearer");
    assert_eq!(next["scope"], "me items");
    assert_eq!(next["expires_in"], 1800);
    assert_ne!(next["refresh_token"], pair["refresh_token"]);
    let (old, new) = (
        jwt_claims(str_of(&pair, "access_token")),
        jwt_claims(str_of(&next, "access_token")),
    );
    assert_eq!(new["sid"], old["sid"]);
    assert_eq!(new["iat"], NOW + 60);
    assert_eq!(new["exp"], NOW + 60 + 1800);
    get_with_token(&app, "/users/me/", str_of(&next, "access_token"))
        .await
        .assert(200, JOHNDOE_JSON, None);
    // The list shows the refresh as the last use.
    let list = get_with_token(&app, "/users/me/sessions/", str_of(&next, "access_token")).await;
    assert_eq!(list.json()[0]["last_used_at"], "2027-01-15T08:01:00Z");
    assert_eq!(list.json()[0]["expires_at"], "2027-01-29T08:01:00Z");
}

#[tokio::test]
async fn refresh_accepts_multipart() {
    let Fixture { app, .. } = fixture();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let reply = post_multipart(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&pair, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "me items");
}

#[tokio::test]
async fn refresh_may_narrow_the_scopes_but_never_widen_them() {
    let Fixture { app, .. } = fixture();
    let login = post_form(
        &app,
        &[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", "me"),
        ],
    )
    .await;
    let pair = login.json();
    assert_eq!(pair["scope"], "me");
    let wider = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&pair, "refresh_token")),
            ("scope", "me items"),
        ],
    )
    .await;
    wider.assert(
        400,
        r#"{"error":"invalid_scope","detail":"Scope not granted to this session: items"}"#,
        None,
    );
    let unknown = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&pair, "refresh_token")),
            ("scope", "admin"),
        ],
    )
    .await;
    unknown.assert(
        400,
        r#"{"error":"invalid_scope","detail":"Unknown scope: admin"}"#,
        None,
    );

    // A refused scope spends nothing: the token still works, and a subset is fine.
    let full = password_grant(&app, "johndoe", "secret", "").await;
    let narrowed = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&full, "refresh_token")),
            ("scope", "items"),
        ],
    )
    .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.text());
    assert_eq!(narrowed.json()["scope"], "items");
    assert_eq!(
        jwt_claims(str_of(&narrowed.json(), "access_token"))["scope"],
        "items"
    );
    // The session keeps its grant: the next refresh may ask for all of it again.
    let again = refreshed(&app, str_of(&narrowed.json(), "refresh_token")).await;
    assert_eq!(again["scope"], "me items");
    let scoped = refreshed(&app, str_of(&pair, "refresh_token")).await;
    assert_eq!(scoped["scope"], "me");
}

// 3. Refresh failures.

#[tokio::test]
async fn unknown_malformed_and_missing_refresh_tokens_are_refused() {
    let Fixture { app, .. } = fixture();
    for token in [
        "not-a-token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        tokens::PYJWT_JOHNDOE,
    ] {
        refresh_grant(&app, token, None)
            .await
            .assert(400, INVALID_REFRESH, None);
    }
    post_form(&app, &[("grant_type", "refresh_token")])
        .await
        .assert(
            400,
            r#"{"error":"invalid_request","detail":"Missing refresh_token"}"#,
            None,
        );
    // The password grant's answers are untouched by the new grant.
    post_form(&app, &[("grant_type", "password")])
        .await
        .assert(
            422,
            r#"{"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required","input":null},{"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]}"#,
            None,
        );
    post_form(&app, &[("username", "johndoe"), ("password", "wrong")])
        .await
        .assert(
            401,
            r#"{"detail":"Incorrect username or password"}"#,
            Some("Bearer"),
        );
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh_and_the_session_ends() {
    let Fixture { app, .. } = fixture();
    // alice is disabled in the tutorial's database, yet may log in (as in FastAPI).
    let pair = password_grant(&app, "alice", "secretalice", "").await;
    let refresh_token = str_of(&pair, "refresh_token");
    refresh_grant(&app, refresh_token, None).await.assert(
        400,
        r#"{"error":"invalid_grant","detail":"User is disabled"}"#,
        None,
    );
    refresh_grant(&app, refresh_token, None)
        .await
        .assert(400, INVALID_REFRESH, None);
}

/// A user store whose users can be deleted, as a database's can.
struct Deletable {
    users: InMemoryUserStore,
    deleted: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl UserStore for Deletable {
    async fn get_user(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        if self.deleted.lock().unwrap().iter().any(|d| d == username) {
            return Ok(None);
        }
        self.users.get_user(username).await
    }

    async fn find_login(&self, username: &str) -> Result<Option<Arc<UserRecord>>, StoreError> {
        if self.deleted.lock().unwrap().iter().any(|d| d == username) {
            return Ok(None);
        }
        self.users.find_login(username).await
    }

    async fn update_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: String,
    ) -> Result<bool, StoreError> {
        self.users.update_password_hash(username, old, new).await
    }
}

#[tokio::test]
async fn a_deleted_user_cannot_refresh() {
    let store = Arc::new(Deletable {
        users: InMemoryUserStore::demo(),
        deleted: Default::default(),
    });
    let state = state_with(settings(), InMemoryUserStore::demo()).with_users(store.clone());
    let app = router(state);
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    store.deleted.lock().unwrap().push("johndoe".into());
    refresh_grant(&app, str_of(&pair, "refresh_token"), None)
        .await
        .assert(
            400,
            r#"{"error":"invalid_grant","detail":"User is disabled"}"#,
            None,
        );
}

#[tokio::test]
async fn failed_refreshes_count_against_the_address_in_the_login_throttle() {
    let state = state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
        per_ip: 2,
        ..ThrottleSettings::default()
    });
    let app = router(state);
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    refresh_grant(&app, "guess-1", None)
        .await
        .assert(400, INVALID_REFRESH, None);
    refresh_grant(&app, "guess-2", None)
        .await
        .assert(400, INVALID_REFRESH, None);
    let throttled = refresh_grant(&app, str_of(&pair, "refresh_token"), None).await;
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    assert_eq!(
        throttled.text(),
        r#"{"detail":"Too many failed login attempts"}"#
    );
    assert!(throttled.header("retry-after").is_some());
}

// 4. Rotation and reuse detection.

#[tokio::test]
async fn a_used_refresh_token_ends_the_whole_session() {
    let Fixture { app, .. } = fixture();
    let first = password_grant(&app, "johndoe", "secret", "").await;
    let second = refreshed(&app, str_of(&first, "refresh_token")).await;
    let third = refreshed(&app, str_of(&second, "refresh_token")).await;
    for pair in [&first, &second, &third] {
        get_with_token(&app, "/users/me/", str_of(pair, "access_token"))
            .await
            .assert(200, JOHNDOE_JSON, None);
    }
    // The first token, used two rotations ago, comes back: a thief or a confused client.
    refresh_grant(&app, str_of(&first, "refresh_token"), None)
        .await
        .assert(400, REUSED_REFRESH, None);
    // The newest refresh token is dead, and so is every access token of the session.
    refresh_grant(&app, str_of(&third, "refresh_token"), None)
        .await
        .assert(400, INVALID_REFRESH, None);
    for pair in [&first, &second, &third] {
        assert_refused(&app, str_of(pair, "access_token")).await;
    }
    // Other sessions of the user live on.
    let other = password_grant(&app, "johndoe", "secret", "").await;
    refreshed(&app, str_of(&other, "refresh_token")).await;
}

crate::stores::on_every_backend!(only_a_token_the_session_was_given_counts_as_reuse);
/// A session's family bytes with a secret never issued (and a guessed tag, or none) are an
/// unknown token, at `/token` and at `/revoke`: the session lives. A token it really was
/// given, spent however many rotations ago, still ends it.
async fn only_a_token_the_session_was_given_counts_as_reuse(backend: crate::stores::Backend) {
    let sign_in = crate::code_grant::sign_in(backend).await;
    let app = &sign_in.app;
    let first = password_grant(app, "johndoe", "secret", "").await;
    let second = refreshed(app, str_of(&first, "refresh_token")).await;
    let third = refreshed(app, str_of(&second, "refresh_token")).await;
    let spent = str_of(&first, "refresh_token");
    for forged in &crate::code_grant::made_from_code(spent)[1..] {
        refresh_grant(app, forged, None)
            .await
            .assert(400, INVALID_REFRESH, None);
        assert_empty(&revoke(app, &[("token", forged)]).await, 200);
    }
    get_with_token(app, "/users/me/", str_of(&third, "access_token"))
        .await
        .assert(200, JOHNDOE_JSON, None);
    refresh_grant(app, spent, None)
        .await
        .assert(400, REUSED_REFRESH, None);
    assert_refused(app, str_of(&third, "access_token")).await;
}

#[tokio::test]
async fn the_reuse_grace_allows_a_retry_of_the_replaced_token_only_briefly() {
    let Fixture { app, clock } = fixture_with(SessionSettings {
        reuse_grace: 10,
        ..SessionSettings::default()
    });
    let first = password_grant(&app, "johndoe", "secret", "").await;
    let lost = refreshed(&app, str_of(&first, "refresh_token")).await;
    clock.advance(9);
    // The response was lost; the client retries with the token it still has.
    let retried = refreshed(&app, str_of(&first, "refresh_token")).await;
    assert_eq!(
        jwt_claims(str_of(&retried, "access_token"))["sid"],
        jwt_claims(str_of(&lost, "access_token"))["sid"]
    );
    // Only the token just replaced gets the grace: `first` is two rotations old now.
    refresh_grant(&app, str_of(&first, "refresh_token"), None)
        .await
        .assert(400, REUSED_REFRESH, None);
    refresh_grant(&app, str_of(&retried, "refresh_token"), None)
        .await
        .assert(400, INVALID_REFRESH, None);

    let Fixture { app, clock } = fixture_with(SessionSettings {
        reuse_grace: 10,
        ..SessionSettings::default()
    });
    let first = password_grant(&app, "johndoe", "secret", "").await;
    refreshed(&app, str_of(&first, "refresh_token")).await;
    clock.advance(10);
    refresh_grant(&app, str_of(&first, "refresh_token"), None)
        .await
        .assert(400, REUSED_REFRESH, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_refreshes_of_one_token_exactly_one_succeeds() {
    let Fixture { app, .. } = fixture();
    for _ in 0..5 {
        let pair = password_grant(&app, "johndoe", "secret", "").await;
        let token = str_of(&pair, "refresh_token").to_owned();
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (app, token) = (app.clone(), token.clone());
                tokio::spawn(async move { refresh_grant(&app, &token, None).await })
            })
            .collect();
        let mut succeeded = 0;
        for racer in racers {
            let reply = racer.await.unwrap();
            match reply.status.as_u16() {
                200 => succeeded += 1,
                400 => assert_eq!(reply.json()["error"], "invalid_grant", "{}", reply.text()),
                other => panic!("{other}: {}", reply.text()),
            }
        }
        assert_eq!(succeeded, 1);
    }
}

// 5. Lifetimes.

#[tokio::test]
async fn an_idle_session_is_over() {
    let Fixture { app, clock } = fixture_with(SessionSettings {
        idle_timeout: 3600,
        ..SessionSettings::default()
    });
    let first = password_grant(&app, "johndoe", "secret", "").await;
    clock.advance(3599);
    let second = refreshed(&app, str_of(&first, "refresh_token")).await;
    clock.advance(3600);
    refresh_grant(&app, str_of(&second, "refresh_token"), None)
        .await
        .assert(400, EXPIRED_REFRESH, None);
    refresh_grant(&app, str_of(&second, "refresh_token"), None)
        .await
        .assert(400, INVALID_REFRESH, None);
}

#[tokio::test]
async fn no_refresh_and_no_access_token_reach_past_the_absolute_lifetime() {
    let Fixture { app, clock } = fixture_with(SessionSettings {
        idle_timeout: 3600,
        max_lifetime: 4000,
        ..SessionSettings::default()
    });
    let mut pair = password_grant(&app, "johndoe", "secret", "").await;
    for _ in 0..3 {
        clock.advance(1000);
        pair = refreshed(&app, str_of(&pair, "refresh_token")).await;
    }
    // At NOW + 3000 the session has 1000 s left: the access token gets no more.
    assert_eq!(pair["expires_in"], 1000);
    assert_eq!(jwt_claims(str_of(&pair, "access_token"))["exp"], NOW + 4000);
    clock.advance(999);
    get_with_token(&app, "/users/me/", str_of(&pair, "access_token"))
        .await
        .assert(200, JOHNDOE_JSON, None);
    clock.advance(1);
    refresh_grant(&app, str_of(&pair, "refresh_token"), None)
        .await
        .assert(400, EXPIRED_REFRESH, None);
    clock.advance(1);
    assert_refused(&app, str_of(&pair, "access_token")).await;
}

// 6. Logout.

#[tokio::test]
async fn logout_ends_the_calling_session_at_once() {
    let Fixture { app, .. } = fixture();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    let other = password_grant(&app, "johndoe", "secret", "").await;
    let access = str_of(&pair, "access_token");
    // Seen once, so it sits in the verified-token cache when the session ends.
    get_with_token(&app, "/users/me/", access)
        .await
        .assert(200, JOHNDOE_JSON, None);
    assert_empty(&post_with_token(&app, "/logout", access).await, 204);
    assert_refused(&app, access).await;
    refresh_grant(&app, str_of(&pair, "refresh_token"), None)
        .await
        .assert(400, INVALID_REFRESH, None);
    // The user's other session is untouched.
    get_with_token(&app, "/users/me/", str_of(&other, "access_token"))
        .await
        .assert(200, JOHNDOE_JSON, None);
    refreshed(&app, str_of(&other, "refresh_token")).await;
}

#[tokio::test]
async fn logout_without_a_valid_token_is_the_usual_401() {
    let Fixture { app, .. } = fixture();
    let request = Request::post("/logout").body(Body::empty()).unwrap();
    send(&app, request)
        .await
        .assert(401, r#"{"detail":"Not authenticated"}"#, Some("Bearer"));
    post_with_token(&app, "/logout", tokens::OTHER_KEY)
        .await
        .assert(401, INVALID_TOKEN, Some("Bearer"));
    post_with_token(&app, "/logout/all", "garbage")
        .await
        .assert(401, INVALID_TOKEN, Some("Bearer"));
}

// 7. Logout everywhere.

/// A token as the FastAPI tutorial mints it (PyJWT): `{"sub", "exp"}`, no `iat`, no `sid`.
fn tutorial_token(sub: &str, issued_at: u64) -> String {
    let claims = json!({"sub": sub, "exp": issued_at + 1800});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TUTORIAL_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn logout_all_ends_every_session_and_every_earlier_token() {
    let Fixture { app, clock } = fixture();
    let sessions = [
        password_grant(&app, "johndoe", "secret", "").await,
        password_grant(&app, "johndoe", "secret", "").await,
    ];
    let legacy = tutorial_token("johndoe", NOW - 60);
    get_with_token(&app, "/users/me/", &legacy)
        .await
        .assert(200, JOHNDOE_JSON, None);
    let stanley = password_grant(&app, "stanley", "secret", "").await;
    clock.advance(5);

    assert_empty(
        &post_with_token(&app, "/logout/all", str_of(&sessions[0], "access_token")).await,
        204,
    );
    for pair in &sessions {
        assert_refused(&app, str_of(pair, "access_token")).await;
        refresh_grant(&app, str_of(pair, "refresh_token"), None)
            .await
            .assert(400, INVALID_REFRESH, None);
    }
    assert_refused(&app, &legacy).await;
    // Another user's session is not touched.
    refreshed(&app, str_of(&stanley, "refresh_token")).await;

    // A login in the same second works, and so does a tutorial token minted after.
    let fresh = password_grant(&app, "johndoe", "secret", "").await;
    get_with_token(&app, "/users/me/", str_of(&fresh, "access_token"))
        .await
        .assert(200, JOHNDOE_JSON, None);
    refreshed(&app, str_of(&fresh, "refresh_token")).await;
    get_with_token(&app, "/users/me/", &tutorial_token("johndoe", NOW + 6))
        .await
        .assert(200, JOHNDOE_JSON, None);
}

// 8. Revocation (RFC 7009).

#[tokio::test]
async fn revoke_answers_200_whatever_the_token() {
    let Fixture { app, .. } = fixture();
    for fields in [
        &[("token", "garbage")][..],
        &[("token", tokens::EXPIRED)],
        &[
            ("token", tokens::OTHER_KEY),
            ("token_type_hint", "access_token"),
        ],
        &[
            ("token", "x".repeat(64).as_str()),
            ("token_type_hint", "refresh_token"),
        ],
        &[("token", "y"), ("token_type_hint", "something_else")],
    ] {
        assert_empty(&revoke(&app, fields).await, 200);
    }
    revoke(&app, &[]).await.assert(
        400,
        r#"{"error":"invalid_request","detail":"Missing token"}"#,
        None,
    );
}

#[tokio::test]
async fn revoking_either_token_of_a_session_ends_it_whatever_the_hint() {
    let Fixture { app, .. } = fixture();
    for (which, hint) in [
        ("access_token", None),
        ("refresh_token", None),
        ("access_token", Some("refresh_token")),
        ("refresh_token", Some("access_token")),
    ] {
        let pair = password_grant(&app, "johndoe", "secret", "").await;
        let mut fields = vec![("token", str_of(&pair, which))];
        if let Some(hint) = hint {
            fields.push(("token_type_hint", hint));
        }
        assert_empty(&revoke(&app, &fields).await, 200);
        assert_refused(&app, str_of(&pair, "access_token")).await;
        refresh_grant(&app, str_of(&pair, "refresh_token"), None)
            .await
            .assert(400, INVALID_REFRESH, None);
    }
}

#[tokio::test]
async fn revoking_a_used_refresh_token_ends_its_session_too() {
    let Fixture { app, .. } = fixture();
    let first = password_grant(&app, "johndoe", "secret", "").await;
    let second = refreshed(&app, str_of(&first, "refresh_token")).await;
    assert_empty(
        &revoke(&app, &[("token", str_of(&first, "refresh_token"))]).await,
        200,
    );
    assert_refused(&app, str_of(&second, "access_token")).await;
}

#[tokio::test]
async fn a_tutorial_session_is_revoked_whatever_client_credentials_come_with_it() {
    let Fixture { app, .. } = fixture();
    let pair = password_grant(&app, "johndoe", "secret", "").await;
    // HTTP Basic of some client, and a form client_id that disagrees: ignored, as before.
    let reply = post_form_authorized(
        &app,
        "/revoke",
        Some("Basic YXBpOnNlY3JldA=="),
        &[
            ("token", str_of(&pair, "refresh_token")),
            ("client_id", "other"),
        ],
    )
    .await;
    assert_empty(&reply, 200);
    assert_refused(&app, str_of(&pair, "access_token")).await;
}

// 9. The session list.

#[tokio::test]
async fn the_session_list_is_newest_first_and_marks_the_current_one() {
    let Fixture { app, clock } = fixture();
    let older = password_grant(&app, "johndoe", "secret", "").await;
    clock.advance(60);
    let newer = password_grant(&app, "johndoe", "secret", "").await;
    password_grant(&app, "alice", "secretalice", "").await;
    let list = get_with_token(&app, "/users/me/sessions/", str_of(&older, "access_token")).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let sid = |pair: &Value| jwt_claims(str_of(pair, "access_token"))["sid"].clone();
    assert_eq!(
        list.json(),
        json!([
            {
                "id": sid(&newer),
                "created_at": "2027-01-15T08:01:00Z",
                "last_used_at": "2027-01-15T08:01:00Z",
                "expires_at": "2027-01-29T08:01:00Z",
                "current": false,
            },
            {
                "id": sid(&older),
                "created_at": "2027-01-15T08:00:00Z",
                "last_used_at": "2027-01-15T08:00:00Z",
                "expires_at": "2027-01-29T08:00:00Z",
                "current": true,
            },
        ])
    );
    // Scope `me` is required, as for /users/me/.
    let items_only = post_form(
        &app,
        &[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", "items"),
        ],
    )
    .await;
    get_with_token(
        &app,
        "/users/me/sessions/",
        str_of(&items_only.json(), "access_token"),
    )
    .await
    .assert(
        401,
        r#"{"detail":"Not enough permissions"}"#,
        Some(r#"Bearer scope="me""#),
    );
}

#[tokio::test]
async fn a_user_can_end_their_own_sessions_only() {
    let Fixture { app, .. } = fixture();
    let mine = password_grant(&app, "johndoe", "secret", "").await;
    let other = password_grant(&app, "johndoe", "secret", "").await;
    let stanleys = password_grant(&app, "stanley", "secret", "").await;
    let token = str_of(&mine, "access_token");
    let sid = |pair: &Value| {
        jwt_claims(str_of(pair, "access_token"))["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let path = |id: &str| format!("/users/me/sessions/{id}");
    delete_with_token(&app, &path(&sid(&stanleys)), token)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    delete_with_token(&app, &path("no-such-session"), token)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    refreshed(&app, str_of(&stanleys, "refresh_token")).await;

    assert_empty(
        &delete_with_token(&app, &path(&sid(&other)), token).await,
        204,
    );
    assert_refused(&app, str_of(&other, "access_token")).await;
    let list = get_with_token(&app, "/users/me/sessions/", token).await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    delete_with_token(&app, &path(&sid(&other)), token)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
}
