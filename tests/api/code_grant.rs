//! The authorization-code grant at `/token` (RFC 6749 §4.1.3, RFC 7636 §4.6), each case on
//! memory, SQLite and PostgreSQL: registered clients, codes issued by the domain call the
//! authorization endpoint makes, exchanged over HTTP.

use std::sync::Arc;

use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use passflow::AppState;
use passflow::auth::credentials::totp::SecondFactor;
use passflow::auth::credentials::totp::sealing::SecretCipher;
use passflow::auth::oauth::code::{Authorization, issue_code, s256_challenge};
use passflow::auth::oauth::metadata::ServerMetadata;
use passflow::auth::oauth::registration::{
    NewClient, Registered, RegistrationError, register, remove,
};
use passflow::auth::sessions::{MAX_SESSIONS_PER_USER, SessionSettings};
use passflow::clock::Clock;
use passflow::model::client::PkcePolicy;
use passflow::model::event::{EventType, RequestContext};
use passflow::model::scopes::{ScopeCatalog, ScopeSet};
use passflow::model::time::now;
use passflow::model::user_id::UserId;
use passflow::router;
use passflow::store::audit::{AuditStore, EventQuery};
use passflow::store::clients::{ClientRegistry, ClientsFile, InMemoryClientStore};
use passflow::store::demo;
use passflow::store::sql::Database;
use serde_json::{Value, json};

use crate::database::TestDb;
use crate::helpers::operator_at;
use crate::helpers::{
    Reply, default_state, get_with_token, keys_of, post_form, post_form_authorized, str_of,
};
use crate::stores::{Backend, on_every_backend};

pub(crate) const REDIRECT: &str = "https://app.example/callback";
/// Where every test client may send its users after they sign out.
pub(crate) const SIGNED_OUT: &str = "https://app.example/signed-out";
/// A live code whose session has ended before it started.
pub(crate) const ENDED: &str =
    "Authorization code no longer valid: already used, or its session has ended";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";

/// A deployment with clients registered, on one backend.
pub(crate) struct SignIn {
    pub(crate) app: Router,
    pub(crate) state: AppState,
    pub(crate) clock: Clock,
    /// Confidential, registered for the refresh grant.
    pub(crate) web: Registered,
    /// Public (PKCE, no secret), without the refresh grant.
    pub(crate) spa: Registered,
    /// Another confidential client.
    pub(crate) other: Registered,
    /// The operator's own app (public, first-party): never asks for consent.
    pub(crate) first: Registered,
    /// The database's registry, on SQLite and PostgreSQL.
    pub(crate) database: Option<Arc<Database>>,
    _db: Option<TestDb>,
    _dir: tempfile::TempDir,
}

fn new_client(name: &str, public: bool, refresh: bool) -> NewClient {
    NewClient {
        name: name.into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![SIGNED_OUT.into()],
        public,
        first_party: false,
        scopes: None,
        pkce: PkcePolicy::Required,
        refresh,
    }
}

pub(crate) async fn register_all(registry: &dyn ClientRegistry) -> [Registered; 4] {
    let offered = ScopeCatalog::default();
    let operator = RequestContext::operator(Some("test".into()));
    let first_party = NewClient {
        first_party: true,
        ..new_client("First", true, true)
    };
    let mut registered = Vec::new();
    for new in [
        new_client("Web", false, true),
        new_client("SPA", true, false),
        new_client("Other", false, true),
        first_party,
    ] {
        registered.push(register(registry, &offered, new, &operator).await.unwrap());
    }
    registered.try_into().unwrap()
}

pub(crate) async fn sign_in(backend: Backend) -> SignIn {
    let clock = Clock::manual(now());
    let dir = tempfile::tempdir().unwrap();
    let state = default_state()
        .with_metadata(ServerMetadata::new("https://auth.example.com", false))
        .with_clock(clock.clone());
    let db = backend.database().await;
    let (state, [web, spa, other, first], database) = match &db {
        None => {
            let file = ClientsFile::new(dir.path().join("clients.json"));
            let registered = register_all(&file).await;
            let store = InMemoryClientStore::new(file.read().unwrap());
            (state.with_clients(Arc::new(store)), registered, None)
        }
        Some(db) => {
            let database = db.open().await;
            for user in demo::users() {
                operator_at(&database, 0).add(&user).await.unwrap();
            }
            let registered = register_all(database.as_ref()).await;
            // Everything in the one database, as a server with DATABASE_URL keeps it.
            let totp = SecondFactor::new(
                Arc::clone(&database) as _,
                Some(SecretCipher::random()),
                "passflow",
            );
            let state = state
                .with_users(Arc::clone(&database) as _)
                .with_sessions(Arc::clone(&database) as _, SessionSettings::default())
                .with_clients(Arc::clone(&database) as _)
                .with_consents(Arc::clone(&database) as _)
                .with_audit(Arc::clone(&database) as _)
                .with_totp(totp);
            (state, registered, Some(database))
        }
    };
    // What the upkeep task does for a server: a view of ended sessions this fresh.
    state.auth.sessions.sync().await.unwrap();
    SignIn {
        app: router(state.clone()),
        state,
        clock,
        web,
        spa,
        other,
        first,
        database,
        _db: db,
        _dir: dir,
    }
}

impl SignIn {
    /// The database behind this deployment, and its URL (SQLite and PostgreSQL).
    pub(crate) fn database(&self) -> Option<(Arc<Database>, &str)> {
        let database = self.database.clone()?;
        Some((database, &self._db.as_ref()?.url))
    }

    /// A code for johndoe, as the authorization endpoint issues it.
    async fn code(&self, client: &Registered, challenge: Option<&str>) -> String {
        self.code_for("johndoe", client, challenge).await
    }

    async fn code_for(
        &self,
        username: &str,
        client: &Registered,
        challenge: Option<&str>,
    ) -> String {
        let authorization = Authorization {
            client_id: client.client.id.clone(),
            redirect_uri: Some(REDIRECT.into()),
            code_challenge: challenge.map(str::to_owned),
            nonce: None,
            browser_session: None,
            user_id: self.user_id(username).await,
            username: username.into(),
            scope: ScopeSet::tutorial(),
            auth_time: self.clock.now(),
        };
        issue_code(&self.state.auth, authorization, 60)
            .await
            .unwrap()
    }

    /// The stable id of the user named `username`.
    pub(crate) async fn user_id(&self, username: &str) -> UserId {
        let user = self.state.auth.users.get_user(username).await.unwrap();
        user.expect("a user of the harness").id.clone()
    }

    /// The ids of the user's live sessions.
    pub(crate) async fn session_ids(&self, username: &str) -> Vec<String> {
        let user = self.user_id(username).await;
        let sessions = self.state.auth.sessions.list(&user, self.clock.now());
        let sessions = sessions.await.unwrap();
        sessions.into_iter().map(|session| session.id).collect()
    }

    pub(crate) async fn pkce_code(&self, client: &Registered) -> String {
        self.code(client, Some(&s256_challenge(VERIFIER))).await
    }

    /// [`exchange_on`] this sign-in's app.
    pub(crate) async fn exchange(&self, client: &Registered, extra: &[(&str, &str)]) -> Reply {
        exchange_on(&self.app, client, extra).await
    }

    pub(crate) async fn exchange_code(&self, client: &Registered, code: &str) -> Reply {
        exchange_code_on(&self.app, client, code).await
    }
}

/// `POST /token` with `grant_type=authorization_code`, the client's credentials over HTTP
/// Basic (confidential) or as `client_id` (public).
pub(crate) async fn exchange_on(
    app: &Router,
    client: &Registered,
    extra: &[(&str, &str)],
) -> Reply {
    let mut fields = vec![("grant_type", "authorization_code")];
    fields.extend_from_slice(extra);
    let basic = client
        .secret
        .as_ref()
        .map(|secret| basic(&client.client.id, secret));
    if basic.is_none() {
        fields.push(("client_id", &client.client.id));
    }
    post_form_authorized(app, "/token", basic.as_deref(), &fields).await
}

/// [`exchange_on`] with the code, the redirect URI and the PKCE verifier the tests use.
pub(crate) async fn exchange_code_on(app: &Router, client: &Registered, code: &str) -> Reply {
    let fields = [
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    exchange_on(app, client, &fields).await
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[track_caller]
pub(crate) fn assert_protocol_error(reply: &Reply, status: u16, error: &str, description: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"error": error, "error_description": description})
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let challenge = (error == "invalid_client").then_some("Basic realm=\"passflow\"");
    assert_eq!(reply.header("www-authenticate"), challenge);
}

pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

on_every_backend!(a_code_buys_one_session_of_its_client);
async fn a_code_buys_one_session_of_its_client(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(
        keys_of(&body),
        [
            "access_token",
            "token_type",
            "scope",
            "expires_in",
            "refresh_token"
        ]
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "me items");
    assert_eq!(body["expires_in"], 1800);
    let access = str_of(&body, "access_token");
    let claims = claims(access);
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["client_id"], sign_in.web.client.id.as_str());
    let me = get_with_token(&sign_in.app, "/users/me/", access).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.text());
    assert_eq!(me.json()["username"], "johndoe");
}

on_every_backend!(a_second_exchange_is_refused_and_ends_the_first_ones_session);
async fn a_second_exchange_is_refused_and_ends_the_first_ones_session(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let first = sign_in.exchange_code(&sign_in.web, &code).await.json();
    let access = str_of(&first, "access_token");
    let refresh = str_of(&first, "refresh_token");
    assert_eq!(
        get_with_token(&sign_in.app, "/users/me/", access)
            .await
            .status
            .as_u16(),
        200
    );
    let second = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(
        &second,
        400,
        "invalid_grant",
        "Authorization code already used; the session it started has been ended",
    );
    // ASVS V10.4.2: what the first exchange got is dead.
    get_with_token(&sign_in.app, "/users/me/", access)
        .await
        .assert(
            401,
            r#"{"detail":"Could not validate credentials"}"#,
            Some("Bearer"),
        );
    let refreshed = post_form_authorized(
        &sign_in.app,
        "/token",
        Some(&basic(
            &sign_in.web.client.id,
            sign_in.web.secret.as_ref().unwrap(),
        )),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(refreshed.status.as_u16(), 400, "{}", refreshed.text());
    assert_eq!(refreshed.json()["error"], "invalid_grant");
}

on_every_backend!(concurrent_exchanges_of_one_code_give_exactly_one_token);
async fn concurrent_exchanges_of_one_code_give_exactly_one_token(backend: Backend) {
    let sign_in = Arc::new(sign_in(backend).await);
    for _ in 0..5 {
        let code = sign_in.pkce_code(&sign_in.web).await;
        let exchanges: Vec<_> = (0..8)
            .map(|_| {
                let sign_in = Arc::clone(&sign_in);
                let code = code.clone();
                tokio::spawn(async move { sign_in.exchange_code(&sign_in.web, &code).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for exchange in exchanges {
            statuses.push(exchange.await.unwrap().status.as_u16());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400]);
    }
}

on_every_backend!(a_code_is_bound_to_its_verifier_client_and_redirect_uri);
async fn a_code_is_bound_to_its_verifier_client_and_redirect_uri(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let wrong_verifier = "x".repeat(43);
    for (fields, description) in [
        (
            vec![
                ("redirect_uri", REDIRECT),
                ("code_verifier", wrong_verifier.as_str()),
            ],
            "code_verifier does not match the code_challenge",
        ),
        (
            vec![("redirect_uri", REDIRECT)],
            "code_verifier is required: the authorization request carried a code_challenge",
        ),
        (
            vec![
                ("redirect_uri", "https://app.example/other"),
                ("code_verifier", VERIFIER),
            ],
            "redirect_uri does not match the authorization request",
        ),
        (
            vec![("code_verifier", VERIFIER)],
            "redirect_uri does not match the authorization request",
        ),
        // A verifier of the right digest but not RFC 7636's shape (too short).
        (
            vec![("redirect_uri", REDIRECT), ("code_verifier", "abc")],
            "code_verifier does not match the code_challenge",
        ),
    ] {
        let code = if fields.contains(&("code_verifier", "abc")) {
            sign_in
                .code(&sign_in.web, Some(&s256_challenge("abc")))
                .await
        } else {
            sign_in.pkce_code(&sign_in.web).await
        };
        let mut fields = fields;
        fields.push(("code", &code));
        let reply = sign_in.exchange(&sign_in.web, &fields).await;
        assert_protocol_error(&reply, 400, "invalid_grant", description);
        // Spent by the failure: the right request gets nothing from it either.
        let retry = sign_in.exchange_code(&sign_in.web, &code).await;
        assert_protocol_error(&retry, 400, "invalid_grant", ENDED);
    }
    // Another client's code.
    let code = sign_in.pkce_code(&sign_in.web).await;
    let reply = sign_in.exchange_code(&sign_in.other, &code).await;
    assert_protocol_error(
        &reply,
        400,
        "invalid_grant",
        "Authorization code was issued to another client",
    );
    // A verifier for a code issued without a challenge (a PKCE downgrade, RFC 9700 §2.1.1).
    let code = sign_in.code(&sign_in.web, None).await;
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(
        &reply,
        400,
        "invalid_grant",
        "code_verifier sent, but the authorization request carried no code_challenge (RFC 9700 §2.1.1)",
    );
    // Never issued.
    let reply = sign_in.exchange_code(&sign_in.web, "not-a-code").await;
    assert_protocol_error(&reply, 400, "invalid_grant", "Invalid authorization code");
    // Expired: 60 s after issue.
    let code = sign_in.pkce_code(&sign_in.web).await;
    sign_in.clock.advance(60);
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(&reply, 400, "invalid_grant", "Authorization code expired");
    // No refused exchange left a session behind.
    assert_eq!(sign_in.session_ids("johndoe").await, Vec::<String>::new());
}

on_every_backend!(a_disabled_users_code_starts_nothing);
async fn a_disabled_users_code_starts_nothing(backend: Backend) {
    let sign_in = sign_in(backend).await;
    // The demo's alice is disabled: as if disabled between her consent and the exchange.
    let code = sign_in
        .code_for("alice", &sign_in.web, Some(&s256_challenge(VERIFIER)))
        .await;
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(&reply, 400, "invalid_grant", "The user is disabled");
    assert_eq!(sign_in.session_ids("alice").await, Vec::<String>::new());
    let replay = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(&replay, 400, "invalid_grant", ENDED);
}

/// What someone who saw a code once (in a URL, a log, a browser's history) could send: the
/// code itself, and tokens made of its family bytes with a secret never issued, untagged (a
/// code's length) and tagged with a guess (a refresh token's length).
pub(crate) fn made_from_code(code: &str) -> [String; 3] {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = URL_SAFE_NO_PAD.decode(code).unwrap();
    let forged = |len: usize| {
        let mut forged = vec![0x5a; len];
        forged[..16].copy_from_slice(&bytes[..16]);
        URL_SAFE_NO_PAD.encode(forged)
    };
    [code.to_owned(), forged(48), forged(64)]
}

impl SignIn {
    /// `POST /revoke` with `fields`, and `Authorization` when given.
    async fn revoke(&self, authorization: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        post_form_authorized(&self.app, "/revoke", authorization, fields).await
    }

    /// Whether the access token still opens `/users/me/` (its session lives).
    async fn lives(&self, access: &str) -> bool {
        let reply = get_with_token(&self.app, "/users/me/", access).await;
        match reply.status.as_u16() {
            200 => true,
            401 => false,
            other => panic!("{other}: {}", reply.text()),
        }
    }
}

on_every_backend!(a_spent_code_is_no_kill_switch);
/// A code is the first token of its session, never a refresh token. Once spent, nothing made
/// of it ends the session: not as a refresh token (with the client's credentials: unknown;
/// without: `invalid_client` before anything else runs), not at `/revoke`, and not as a code
/// after its lifetime. Only its replay within its lifetime ends the session (RFC 6749
/// §4.1.2; that case: `a_second_exchange_is_refused_and_ends_the_first_ones_session`).
async fn a_spent_code_is_no_kill_switch(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let code = sign_in.pkce_code(&sign_in.web).await;
    let as_refresh = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
        ]
    };
    let refresh = |token: String, authorization: Option<String>| {
        let app = sign_in.app.clone();
        async move {
            let fields = as_refresh(&token);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            post_form_authorized(&app, "/token", authorization.as_deref(), &fields).await
        }
    };
    // Before its exchange the code is no refresh token either, and the exchange still works.
    refresh(code.clone(), Some(web.clone())).await.assert(
        400,
        r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#,
        None,
    );
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let access = str_of(&reply.json(), "access_token").to_owned();
    for token in made_from_code(&code) {
        let reply = refresh(token.clone(), Some(web.clone())).await;
        reply.assert(
            400,
            r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#,
            None,
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        refresh(token.clone(), None).await.assert(
            401,
            r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
            Some("Basic realm=\"passflow\""),
        );
        for authorization in [None, Some(web.as_str())] {
            let revoked = sign_in.revoke(authorization, &[("token", &token)]).await;
            assert_eq!(revoked.status.as_u16(), 200, "{}", revoked.text());
        }
        assert!(sign_in.lives(&access).await, "{token}");
    }
    // Past its lifetime the code is merely expired, spent or not.
    sign_in.clock.advance(61);
    assert_protocol_error(
        &sign_in.exchange_code(&sign_in.web, &code).await,
        400,
        "invalid_grant",
        "Authorization code expired",
    );
    assert!(sign_in.lives(&access).await);
    // The code's family bytes as a code: never issued, unknown.
    for forged in &made_from_code(&code)[1..] {
        assert_protocol_error(
            &sign_in.exchange_code(&sign_in.web, forged).await,
            400,
            "invalid_grant",
            "Invalid authorization code",
        );
    }
    assert!(sign_in.lives(&access).await);
}

on_every_backend!(a_clients_session_is_revoked_by_that_client_only);
/// RFC 7009 §2.1: a token bound to a client is that client's to give back. Without its
/// credentials (or with wrong ones) `/revoke` is `invalid_client` and nothing ends; another
/// client's credentials end nothing either; the client itself ends the session, with either
/// of its tokens.
async fn a_clients_session_is_revoked_by_that_client_only(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let other = basic(
        &sign_in.other.client.id,
        sign_in.other.secret.as_ref().unwrap(),
    );
    let wrong = basic(&sign_in.web.client.id, "not-the-secret");
    let code = sign_in.pkce_code(&sign_in.web).await;
    let tokens = sign_in.exchange_code(&sign_in.web, &code).await.json();
    let access = str_of(&tokens, "access_token").to_owned();
    let refresh_token = str_of(&tokens, "refresh_token").to_owned();
    for token in [&access, &refresh_token] {
        for authorization in [None, Some(&wrong)] {
            sign_in
                .revoke(authorization.map(String::as_str), &[("token", token)])
                .await
                .assert(
                    401,
                    r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
                    Some("Basic realm=\"passflow\""),
                );
        }
        // A confidential client's id alone proves nothing.
        sign_in
            .revoke(
                None,
                &[("token", token), ("client_id", &sign_in.web.client.id)],
            )
            .await
            .assert(
                401,
                r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
                Some("Basic realm=\"passflow\""),
            );
        // Credentials sent two ways that disagree prove no client.
        sign_in
            .revoke(
                Some(&web),
                &[("token", token), ("client_id", &sign_in.other.client.id)],
            )
            .await
            .assert(
                401,
                r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
                Some("Basic realm=\"passflow\""),
            );
        let reply = sign_in.revoke(Some(&other), &[("token", token)]).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        assert!(sign_in.lives(&access).await);
    }
    let reply = sign_in
        .revoke(Some(&web), &[("token", &refresh_token)])
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert!(!sign_in.lives(&access).await);

    // A public client names itself with its client_id.
    let code = sign_in.pkce_code(&sign_in.spa).await;
    let access = str_of(
        &sign_in.exchange_code(&sign_in.spa, &code).await.json(),
        "access_token",
    )
    .to_owned();
    let reply = sign_in.revoke(None, &[("token", &access)]).await;
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text());
    assert!(sign_in.lives(&access).await);
    let reply = sign_in
        .revoke(
            None,
            &[("token", &access), ("client_id", &sign_in.spa.client.id)],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert!(!sign_in.lives(&access).await);
}

on_every_backend!(a_logout_everywhere_ends_the_codes_not_yet_exchanged);
/// A code's session exists from the code's issue, unlisted: logging out everywhere ends it,
/// and the code can start nothing after.
async fn a_logout_everywhere_ends_the_codes_not_yet_exchanged(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    assert_eq!(sign_in.session_ids("johndoe").await, Vec::<String>::new());
    let token = crate::helpers::login(&sign_in.app, "johndoe", "secret").await;
    let logout = post_form_authorized(
        &sign_in.app,
        "/logout/all",
        Some(&format!("Bearer {token}")),
        &[],
    )
    .await;
    assert_eq!(logout.status.as_u16(), 204, "{}", logout.text());
    let reply = sign_in.exchange_code(&sign_in.web, &code).await;
    assert_protocol_error(&reply, 400, "invalid_grant", ENDED);
    assert_eq!(sign_in.session_ids("johndoe").await, Vec::<String>::new());
}

on_every_backend!(a_code_never_exchanged_leaves_nothing_once_pruned);
/// The prune deletes an expired code and its pending session; a live one stays.
async fn a_code_never_exchanged_leaves_nothing_once_pruned(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let sessions = &sign_in.state.auth.sessions;
    let expired = sign_in.pkce_code(&sign_in.web).await;
    sign_in.clock.advance(30);
    let live = sign_in.pkce_code(&sign_in.web).await;
    sign_in.clock.advance(31);
    sessions.prune(sign_in.clock.now()).await.unwrap();
    // Only the live code's session was left to end.
    let client = &sign_in.web.client.id;
    let johndoe = sign_in.user_id("johndoe").await;
    let ended = sessions.end_client_sessions(&johndoe, client, sign_in.clock.now());
    assert_eq!(ended.await.unwrap(), 1);
    let reply = sign_in.exchange_code(&sign_in.web, &expired).await;
    assert_protocol_error(&reply, 400, "invalid_grant", "Invalid authorization code");
    let reply = sign_in.exchange_code(&sign_in.web, &live).await;
    assert_protocol_error(&reply, 400, "invalid_grant", ENDED);
}

on_every_backend!(exchanges_beyond_the_cap_end_the_least_recently_used_session);
async fn exchanges_beyond_the_cap_end_the_least_recently_used_session(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let mut started = Vec::new();
    for _ in 0..=MAX_SESSIONS_PER_USER {
        let code = sign_in.pkce_code(&sign_in.web).await;
        let reply = sign_in.exchange_code(&sign_in.web, &code).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        let access = str_of(&reply.json(), "access_token").to_owned();
        started.push((claims(&access)["sid"].as_str().unwrap().to_owned(), access));
        sign_in.clock.advance(1);
    }
    let mut held = sign_in.session_ids("johndoe").await;
    held.sort();
    let mut newest: Vec<String> = started[1..].iter().map(|(sid, _)| sid.clone()).collect();
    newest.sort();
    assert_eq!(held, newest);
    let (_, oldest) = &started[0];
    let me = get_with_token(&sign_in.app, "/users/me/", oldest).await;
    assert_eq!(me.status.as_u16(), 401, "{}", me.text());
}

on_every_backend!(clients_authenticate_as_registered);
async fn clients_authenticate_as_registered(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let id = sign_in.web.client.id.as_str();
    let secret = sign_in.web.secret.clone().unwrap();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    for (authorization, extra) in [
        (Some(basic(id, "wrong")), vec![]),
        (None, vec![("client_id", id), ("client_secret", "wrong")]),
        // A confidential client presenting no secret.
        (None, vec![("client_id", id)]),
        (Some(basic("nobody", &secret)), vec![]),
        (None, vec![]),
    ] {
        let mut fields = exchange.to_vec();
        fields.extend(extra);
        let reply =
            post_form_authorized(&sign_in.app, "/token", authorization.as_deref(), &fields).await;
        assert_protocol_error(
            &reply,
            401,
            "invalid_client",
            "Client authentication failed",
        );
    }
    // Two methods at once (RFC 6749 §2.3).
    let mut fields = exchange.to_vec();
    fields.extend([("client_id", id), ("client_secret", secret.as_str())]);
    let reply =
        post_form_authorized(&sign_in.app, "/token", Some(&basic(id, &secret)), &fields).await;
    assert_protocol_error(
        &reply,
        400,
        "invalid_request",
        "Client credentials sent both in the Authorization header and in the form",
    );
    // None of these spent the code: client_secret_post redeems it.
    let mut fields = exchange.to_vec();
    fields.extend([("client_id", id), ("client_secret", secret.as_str())]);
    let reply = post_form(&sign_in.app, &fields).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
}

/// Every byte as `%XX`: form-urlencoding may escape any byte, and the strictest clients
/// escape more than they must (RFC 6749 §2.3.1; `openid-client` sends `-` as `%2D`).
fn form_urlencoded_all(value: &str) -> String {
    value.bytes().map(|b| format!("%{b:02X}")).collect()
}

on_every_backend!(basic_credentials_are_form_urldecoded);
async fn basic_credentials_are_form_urldecoded(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let id = form_urlencoded_all(&sign_in.web.client.id);
    let secret = form_urlencoded_all(sign_in.web.secret.as_deref().unwrap());
    let encoded = basic(&id, &secret);
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let reply = post_form_authorized(&sign_in.app, "/token", Some(&encoded), &fields).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let refresh_token = str_of(&reply.json(), "refresh_token").to_owned();
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let reply = post_form_authorized(&sign_in.app, "/token", Some(&encoded), &fields).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    // The secret encoded wrongly is no secret.
    let wrong = basic(&id, &format!("{secret}%2D"));
    post_form_authorized(&sign_in.app, "/token", Some(&wrong), &fields)
        .await
        .assert(
            401,
            r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
            Some("Basic realm=\"passflow\""),
        );
}

on_every_backend!(a_public_client_proves_its_code_with_pkce_alone);
async fn a_public_client_proves_its_code_with_pkce_alone(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.spa).await;
    let reply = sign_in.exchange_code(&sign_in.spa, &code).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    // Not registered for the refresh grant: no refresh token.
    assert_eq!(
        keys_of(&reply.json()),
        ["access_token", "token_type", "scope", "expires_in"]
    );
    // A secret for a public client proves nothing.
    let code = sign_in.pkce_code(&sign_in.spa).await;
    let reply = post_form_authorized(
        &sign_in.app,
        "/token",
        Some(&basic(&sign_in.spa.client.id, "made-up")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_protocol_error(
        &reply,
        401,
        "invalid_client",
        "Client authentication failed",
    );
}

on_every_backend!(only_the_sessions_client_refreshes_it);
async fn only_the_sessions_client_refreshes_it(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let code = sign_in.pkce_code(&sign_in.web).await;
    let body = sign_in.exchange_code(&sign_in.web, &code).await.json();
    let refresh = str_of(&body, "refresh_token").to_owned();
    let refresh_fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    // No client credentials: the token is a client's.
    post_form(&sign_in.app, &refresh_fields).await.assert(
        401,
        r#"{"error":"invalid_client","detail":"Invalid client credentials"}"#,
        Some("Basic realm=\"passflow\""),
    );
    // Another client, authenticated: not its token.
    let other = basic(
        &sign_in.other.client.id,
        sign_in.other.secret.as_ref().unwrap(),
    );
    post_form_authorized(&sign_in.app, "/token", Some(&other), &refresh_fields)
        .await
        .assert(
            400,
            r#"{"error":"invalid_grant","detail":"Refresh token was issued to another client"}"#,
            None,
        );
    // Its own client: rotated, as every refresh is.
    let web = basic(&sign_in.web.client.id, sign_in.web.secret.as_ref().unwrap());
    let reply = post_form_authorized(&sign_in.app, "/token", Some(&web), &refresh_fields).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let rotated = reply.json();
    assert_ne!(str_of(&rotated, "refresh_token"), refresh);
    assert_eq!(
        claims(str_of(&rotated, "access_token"))["client_id"],
        sign_in.web.client.id.as_str()
    );
}

/// With no client registered, or no issuer URL, `grant_type=authorization_code` is what it
/// was before the grant existed: the password form's 422.
#[tokio::test]
async fn without_a_client_the_grant_is_answered_as_before() {
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", "abc"),
        ("redirect_uri", REDIRECT),
    ];
    let before = post_form(&crate::helpers::app(), &fields).await;
    assert_eq!(before.status.as_u16(), 422);
    assert_eq!(
        before.text(),
        r#"{"detail":[{"type":"string_pattern_mismatch","loc":["body","grant_type"],"msg":"String should match pattern '^password$'","input":"authorization_code","ctx":{"pattern":"^password$"}},{"type":"missing","loc":["body","username"],"msg":"Field required","input":null},{"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]}"#
    );
    let with_issuer = router(
        default_state().with_metadata(ServerMetadata::new("https://auth.example.com", false)),
    );
    let reply = post_form(&with_issuer, &fields).await;
    assert_eq!((reply.status, reply.text()), (before.status, before.text()));
    // Clients but no issuer URL: not served either (start-up refuses that configuration).
    let dir = tempfile::tempdir().unwrap();
    let file = ClientsFile::new(dir.path().join("clients.json"));
    register_all(&file).await;
    let no_issuer = router(
        default_state().with_clients(Arc::new(InMemoryClientStore::new(file.read().unwrap()))),
    );
    let reply = post_form(&no_issuer, &fields).await;
    assert_eq!((reply.status, reply.text()), (before.status, before.text()));
}

/// RFC 6749 §5.2: a grant passflow does not serve is `unsupported_grant_type` for a client
/// that proves itself; the tutorial's anonymous form, and a client that proves nothing, get
/// the password form's 422 as before.
#[tokio::test]
async fn an_unknown_grant_is_unsupported_for_a_registered_client_only() {
    let sign_in = sign_in(Backend::Memory).await;
    let (web, spa) = (&sign_in.web, &sign_in.spa);
    let secret = web.secret.as_deref().unwrap();
    let grant = ("grant_type", "client_credentials");
    let unsupported = r#"{"error":"unsupported_grant_type","error_description":"unsupported grant_type: client_credentials"}"#;
    let by_basic = basic(&web.client.id, secret);
    for (authorization, fields) in [
        (Some(by_basic.as_str()), vec![grant]),
        (
            None,
            vec![
                grant,
                ("client_id", web.client.id.as_str()),
                ("client_secret", secret),
            ],
        ),
        (None, vec![grant, ("client_id", spa.client.id.as_str())]),
    ] {
        let reply = post_form_authorized(&sign_in.app, "/token", authorization, &fields).await;
        reply.assert(400, unsupported, None);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("pragma"), Some("no-cache"));
    }
    let before = post_form(&crate::helpers::app(), &[grant]).await;
    assert_eq!(before.status.as_u16(), 422);
    let wrong = basic(&web.client.id, "wrong");
    for (authorization, fields) in [
        (None, vec![grant]),
        (Some(wrong.as_str()), vec![grant]),
        (None, vec![grant, ("client_id", "nobody")]),
    ] {
        let reply = post_form_authorized(&sign_in.app, "/token", authorization, &fields).await;
        assert_eq!((reply.status, reply.text()), (before.status, before.text()));
        assert_eq!(reply.header("cache-control"), None);
    }
}

#[tokio::test]
async fn a_code_grant_without_a_code_is_an_invalid_request() {
    let sign_in = sign_in(Backend::Memory).await;
    let reply = sign_in
        .exchange(&sign_in.web, &[("redirect_uri", REDIRECT)])
        .await;
    assert_protocol_error(&reply, 400, "invalid_request", "Missing code");
}

/// `passflow clients remove` on a database: the client's sessions end with it, on every
/// replica (the end is logged), and its codes go.
async fn removing_a_client_ends_its_sessions_and_codes(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let database = sign_in.database.clone().unwrap();
    let code = sign_in.pkce_code(&sign_in.web).await;
    let body = sign_in.exchange_code(&sign_in.web, &code).await.json();
    let unused = sign_in.pkce_code(&sign_in.web).await;
    let operator = RequestContext::operator(Some("retired app".into()));
    let removed = remove(&*database, &sign_in.web.client.id, &operator)
        .await
        .unwrap();
    assert_eq!(removed.name, "Web");
    // Recorded with the change: the removal, and the session it ended, for its reason (not
    // the pending one of the unused code: it never started).
    let query = EventQuery {
        types: vec![EventType::ClientRemoved, EventType::SessionEnded],
        limit: 10,
        ..EventQuery::default()
    };
    let events = database.events(&query).await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|event| {
            let who = event.user.as_deref().unwrap_or("-");
            let why = event.reason.as_deref().unwrap_or("-");
            (event.kind.as_str(), who, why, event.client_id.as_deref())
        })
        .collect();
    let web = Some(sign_in.web.client.id.as_str());
    assert_eq!(
        seen,
        [
            ("session.ended", "johndoe", "client_removed", web),
            ("client.removed", "-", "retired app", web),
        ]
    );
    let sid = claims(str_of(&body, "access_token"))["sid"].clone();
    assert_eq!(events[0].session_id.as_deref(), sid.as_str());
    assert!(matches!(
        remove(&*database, &sign_in.web.client.id, &operator).await,
        Err(RegistrationError::NoSuchClient(id)) if id == sign_in.web.client.id
    ));
    sign_in.state.auth.sessions.sync().await.unwrap();
    get_with_token(&sign_in.app, "/users/me/", str_of(&body, "access_token"))
        .await
        .assert(
            401,
            r#"{"detail":"Could not validate credentials"}"#,
            Some("Bearer"),
        );
    // Its codes are gone: to the (now unknown) client, and to anyone.
    let reply = sign_in.exchange_code(&sign_in.other, &unused).await;
    assert_protocol_error(&reply, 400, "invalid_grant", "Invalid authorization code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_client_ends_its_sessions_and_codes_on_sqlite() {
    removing_a_client_ends_its_sessions_and_codes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn removing_a_client_ends_its_sessions_and_codes_on_postgres() {
    removing_a_client_ends_its_sessions_and_codes(Backend::Postgres).await;
}
