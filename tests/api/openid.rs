//! OpenID Connect (issue 41): the identity scopes on the consent page, the id_token of a code
//! exchange checked as a relying party checks it (signature against the JWKS, `iss`, `aud`,
//! `nonce`, `at_hash`), `/userinfo` and its RFC 6750 refusals, the discovery document, and an
//! id_token refused everywhere an access token is asked for.

use std::sync::LazyLock;

use axum::Router;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use passflow::auth::oauth::introspection::IntrospectionClients;
use passflow::auth::oauth::registration::Registered;
use passflow::auth::tokens::id_token::{IdTokens, at_hash};
use passflow::auth::tokens::keys::{SigningKey, TokenAlgorithm, generate};
use passflow::router;
use serde_json::{Value, json};

use crate::authorize::{Browser, assert_page, authorize_url, redirect_param};
use crate::code_grant::{SignIn, basic, exchange_code_on, sign_in};
use crate::helpers::*;
use crate::stores::{Backend, on_every_backend};

const ISSUER: &str = "https://auth.example.com";
const NONCE: &str = "n-0S6_WzA2Mj";

/// One RSA key for the whole test binary: making one takes a while.
static ID_TOKEN_KEY: LazyLock<String> =
    LazyLock::new(|| generate(TokenAlgorithm::Rs256).expect("an RSA key"));

/// The key a rotation brings in.
static NEXT_ID_TOKEN_KEY: LazyLock<String> =
    LazyLock::new(|| generate(TokenAlgorithm::Rs256).expect("an RSA key"));

pub(crate) fn id_tokens() -> IdTokens {
    id_tokens_of(&[&ID_TOKEN_KEY])
}

/// The id_token keys of these PEMs, the first signing.
fn id_tokens_of(pems: &[&str]) -> IdTokens {
    let keys = pems
        .iter()
        .map(|pem| SigningKey::from_pem(TokenAlgorithm::Rs256, pem.as_bytes()).unwrap())
        .collect();
    IdTokens::new(keys, ISSUER, 1800)
}

fn kid_of(id_token: &str) -> String {
    jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap()
}

/// The sign-in deployment with OpenID Connect on, and `/introspect` for the client `api`.
fn openid_app(sign_in: &SignIn) -> Router {
    let clients = IntrospectionClients::parse(&format!("api:{INTROSPECTION_SECRET}")).unwrap();
    let state = sign_in
        .state
        .clone()
        .with_id_tokens(id_tokens())
        .with_introspection(clients);
    router(state)
}

/// johndoe signs in for `client` asking `extra`, allows it, and the client trades the code:
/// the token response.
async fn signed_in(app: &Router, client: &Registered, extra: &[(&str, &str)]) -> Value {
    let mut browser = Browser::on(app.clone());
    let login = browser.get(&authorize_url(client, extra)).await;
    assert_page(&login, 200);
    let typed = [("username", "johndoe"), ("password", "secret")];
    let mut reply = browser.submit(&login, &typed).await;
    if reply.status == 200 {
        reply = browser.submit(&reply, &[("decision", "allow")]).await;
    }
    assert_eq!(reply.status, 303, "{}", reply.text());
    exchanged(app, client, &redirect_param(&reply, "code")).await
}

/// The id_token's claims, once its signature is checked against the served JWKS by its
/// `kid`, with RS256, the issuer and the audience pinned, as a relying party checks it.
async fn verified_claims(app: &Router, id_token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("a kid");
    let jwks: JwkSet =
        serde_json::from_value(get(app, "/.well-known/jwks.json", None).await.json()).unwrap();
    let matching: Vec<_> = jwks
        .keys
        .iter()
        .filter(|jwk| jwk.common.key_id.as_deref() == Some(kid.as_str()))
        .collect();
    assert_eq!(matching.len(), 1, "exactly one key has the kid");
    let key = DecodingKey::from_jwk(matching[0]).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims
}

on_every_backend!(an_openid_sign_in_gets_an_id_token_and_its_claims_at_userinfo);
async fn an_openid_sign_in_gets_an_id_token_and_its_claims_at_userinfo(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let app = openid_app(&sign_in);
    let web = &sign_in.web;
    let signed_in_at = sign_in.clock.now();
    // The consent page names the identity scopes with their descriptions.
    let mut browser = Browser::on(app.clone());
    let scope = [("scope", "openid profile email me"), ("nonce", NONCE)];
    let login = browser.get(&authorize_url(web, &scope)).await;
    let typed = [("username", "johndoe"), ("password", "secret")];
    let consent = browser.submit(&login, &typed).await;
    assert_page(&consent, 200);
    let html = consent.text();
    for line in [
        "<li><code>me</code> — Read information about the current user.</li>",
        "<li><code>email</code> — See your email address.</li>",
        "<li><code>openid</code> — Sign you in with your account.</li>",
        "<li><code>profile</code> — See your name and username.</li>",
    ] {
        assert!(html.contains(line), "{line} in {html}");
    }

    let tokens = signed_in(&app, web, &scope).await;
    assert_eq!(
        keys_of(&tokens),
        [
            "access_token",
            "token_type",
            "scope",
            "expires_in",
            "refresh_token",
            "id_token"
        ]
    );
    assert_eq!(tokens["scope"], "me email openid profile");
    let access = str_of(&tokens, "access_token");
    let id_token = str_of(&tokens, "id_token");
    let claims = verified_claims(&app, id_token, &web.client.id).await;
    let user = sign_in
        .state
        .auth
        .users
        .get_user("johndoe")
        .await
        .unwrap()
        .unwrap();
    let sub = user.id.as_str();
    assert_ne!(sub, "johndoe", "an opaque id, never the name");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(
        claims,
        json!({
            "iss": ISSUER,
            "sub": sub,
            "aud": web.client.id,
            "exp": iat + 1800,
            "iat": iat,
            "auth_time": signed_in_at,
            "nonce": NONCE,
            "at_hash": at_hash(access),
            "amr": ["pwd"],
            "sid": claims["sid"].as_str().expect("the browser session's id"),
        })
    );

    // `/userinfo`, each way a token may come.
    let expected = json!({
        "sub": sub,
        "name": "John Doe",
        "preferred_username": "johndoe",
        "email": "johndoe@example.com",
        "email_verified": false,
    });
    let bearer = format!("Bearer {access}");
    for reply in [
        get(&app, "/userinfo", Some(&bearer)).await,
        post_form_authorized(&app, "/userinfo", Some(&bearer), &[]).await,
        post_form_authorized(&app, "/userinfo", None, &[("access_token", access)]).await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json(), expected);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    post_form_authorized(&app, "/userinfo", Some(&bearer), &[("access_token", access)])
        .await
        .assert(
            400,
            r#"{"error":"invalid_request","error_description":"The access token was sent more than one way"}"#,
            Some("Bearer error=\"invalid_request\""),
        );

    // An id_token is no access token, anywhere.
    let invalid_token = r#"{"error":"invalid_token","error_description":"The access token is missing, invalid, expired or revoked"}"#;
    let challenge = Some("Bearer error=\"invalid_token\"");
    get(&app, "/userinfo", Some(&format!("Bearer {id_token}")))
        .await
        .assert(401, invalid_token, challenge);
    get_with_token(&app, "/users/me/", id_token).await.assert(
        401,
        r#"{"detail":"Could not validate credentials"}"#,
        Some("Bearer"),
    );
    let introspected = post_form_authorized(
        &app,
        "/introspect",
        Some(&basic("api", INTROSPECTION_SECRET)),
        &[("token", id_token)],
    )
    .await;
    assert_eq!(introspected.text(), r#"{"active":false}"#);
    // The access token beside it reports its identity scopes too.
    let introspected = post_form_authorized(
        &app,
        "/introspect",
        Some(&basic("api", INTROSPECTION_SECRET)),
        &[("token", access)],
    )
    .await;
    assert_eq!(introspected.json()["scope"], "me email openid profile");
    let authorization = basic(&web.client.id, web.secret.as_deref().unwrap());
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", id_token)];
    post_form_authorized(&app, "/token", Some(&authorization), &refresh)
        .await
        .assert(
            400,
            r#"{"error":"invalid_grant","detail":"Invalid refresh token"}"#,
            None,
        );

    // No token; a token without `openid`.
    get(&app, "/userinfo", None)
        .await
        .assert(401, invalid_token, challenge);
    let tutorial = password_grant(&app, "johndoe", "secret", "").await;
    get_with_token(&app, "/userinfo", str_of(&tutorial, "access_token"))
        .await
        .assert(
            403,
            r#"{"error":"insufficient_scope","error_description":"The access token was not granted the openid scope"}"#,
            Some("Bearer error=\"insufficient_scope\", scope=\"openid\""),
        );

    // The client ends the session: its access token is refused at once.
    let refresh_token = str_of(&tokens, "refresh_token");
    let revoked = post_form_authorized(
        &app,
        "/revoke",
        Some(&authorization),
        &[("token", refresh_token)],
    )
    .await;
    assert_eq!(revoked.status, 200);
    get(&app, "/userinfo", Some(&bearer))
        .await
        .assert(401, invalid_token, challenge);
}

on_every_backend!(claims_follow_the_scopes_and_no_openid_means_no_id_token);
async fn claims_follow_the_scopes_and_no_openid_means_no_id_token(backend: Backend) {
    let sign_in = sign_in(backend).await;
    let app = openid_app(&sign_in);
    let tokens = signed_in(&app, &sign_in.web, &[("scope", "openid")]).await;
    assert_eq!(tokens["scope"], "openid");
    let claims = verified_claims(&app, str_of(&tokens, "id_token"), &sign_in.web.client.id).await;
    assert_eq!(claims.get("nonce"), None, "no nonce asked, none given");
    let info = get_with_token(&app, "/userinfo", str_of(&tokens, "access_token")).await;
    assert_eq!(info.json(), json!({"sub": claims["sub"]}));
    // Without `openid`: the code flow as before, no id_token.
    let tokens = signed_in(&app, &sign_in.other, &[("scope", "me")]).await;
    assert_eq!(
        keys_of(&tokens),
        [
            "access_token",
            "token_type",
            "scope",
            "expires_in",
            "refresh_token"
        ]
    );
    // The password grant knows no identity scope, as before.
    let refused = post_form(
        &app,
        &[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", "openid"),
        ],
    )
    .await;
    refused.assert(400, r#"{"detail":"Unknown scope: openid"}"#, None);
}

#[tokio::test]
async fn discovery_names_what_is_served_once_a_client_is_registered() {
    let sign_in = sign_in(Backend::Memory).await;
    let app = openid_app(&sign_in);
    // (This deployment's metadata was made without `/introspect`, so it names none.)
    let reply = get(&app, "/.well-known/openid-configuration", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let document = reply.json();
    let expected = json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://auth.example.com/authorize",
        "token_endpoint": "https://auth.example.com/token",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "revocation_endpoint": "https://auth.example.com/revoke",
        "grant_types_supported": ["authorization_code", "password", "refresh_token"],
        "scopes_supported": ["me", "items", "openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "userinfo_endpoint": "https://auth.example.com/userinfo",
        "end_session_endpoint": "https://auth.example.com/end-session",
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "amr", "sid", "name", "preferred_username", "email", "email_verified"],
    });
    assert_eq!(document, expected);
    // RFC 8414's document is the same one.
    let rfc8414 = get(&app, "/.well-known/oauth-authorization-server", None).await;
    assert_eq!(rfc8414.json(), expected);
    // The JWKS publishes the id_token key; with HS256 access tokens, only it.
    let jwks = get(&app, "/.well-known/jwks.json", None).await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    // OpenID Connect off: not served, and the RFC 8414 document as before.
    let off = get(&sign_in.app, "/.well-known/openid-configuration", None).await;
    off.assert(404, r#"{"detail":"Not Found"}"#, None);
    let before = get(
        &sign_in.app,
        "/.well-known/oauth-authorization-server",
        None,
    )
    .await;
    assert_eq!(before.json().get("userinfo_endpoint"), None);
    assert_eq!(before.json()["scopes_supported"], json!(["me", "items"]));
    get(&sign_in.app, "/userinfo", None)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    // On, but no client registered yet: discovery waits for one.
    let no_client = router(
        default_state()
            .with_metadata(passflow::auth::oauth::metadata::ServerMetadata::new(
                ISSUER, false,
            ))
            .with_id_tokens(id_tokens()),
    );
    get(&no_client, "/.well-known/openid-configuration", None)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
}

on_every_backend!(a_refresh_repeats_the_sign_in_and_amr_names_the_second_factor);
async fn a_refresh_repeats_the_sign_in_and_amr_names_the_second_factor(backend: Backend) {
    use crate::totp::{code_at, confirm, enrol};
    let sign_in = sign_in(backend).await;
    let app = openid_app(&sign_in);
    let clock = &sign_in.clock;
    let token = crate::helpers::login(&app, "johndoe", "secret").await;
    let secret = enrol(&app, &token).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        confirm(&app, &token, &code_at(&secret, clock.now()))
            .await
            .status,
        200
    );
    clock.advance(30);

    let web = &sign_in.web;
    let mut browser = Browser::on(app.clone());
    let extra = [("scope", "openid"), ("nonce", NONCE)];
    let login = browser.get(&authorize_url(web, &extra)).await;
    let typed = [("username", "johndoe"), ("password", "secret")];
    let factor = browser.submit(&login, &typed).await;
    assert_page(&factor, 200);
    let signed_in_at = clock.now();
    let consent = browser
        .submit(&factor, &[("totp", &code_at(&secret, clock.now()))])
        .await;
    assert_page(&consent, 200);
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let tokens = exchanged(&app, web, &redirect_param(&done, "code")).await;
    let authorization = basic(&web.client.id, web.secret.as_deref().unwrap());
    let first = verified_claims(&app, str_of(&tokens, "id_token"), &web.client.id).await;
    assert_eq!(first["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(first["auth_time"], signed_in_at);

    clock.advance(120);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", str_of(&tokens, "refresh_token")),
    ];
    let refreshed = post_form_authorized(&app, "/token", Some(&authorization), &refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let refreshed = refreshed.json();
    let again = verified_claims(&app, str_of(&refreshed, "id_token"), &web.client.id).await;
    // Core §12.2: the same issuer, subject, audience and sign-in; no nonce; a new `iat`.
    for claim in ["iss", "sub", "aud", "auth_time", "amr", "sid"] {
        assert_eq!(again[claim], first[claim], "{claim}");
    }
    assert_eq!(again.get("nonce"), None);
    assert_eq!(again["iat"], clock.now());
    assert_eq!(
        again["at_hash"],
        at_hash(str_of(&refreshed, "access_token"))
    );
}

async fn exchanged(app: &Router, client: &Registered, code: &str) -> Value {
    let reply = exchange_code_on(app, client, code).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// Issue 41 §5: `max_age` and `prompt=login` ask the password again and the id_token tells
/// when; `prompt=none` with an `id_token_hint` of another user is `login_required`;
/// `login_hint` fills in the username; what passflow does not act on is accepted.
#[tokio::test]
async fn freshness_and_hints() {
    let sign_in = sign_in(Backend::Memory).await;
    let app = openid_app(&sign_in);
    let (web, clock) = (&sign_in.web, &sign_in.clock);
    let openid = [("scope", "openid")];
    let mut browser = Browser::on(app.clone());
    let first_at = clock.now();
    let tokens = {
        let login = browser.get(&authorize_url(web, &openid)).await;
        let typed = [("username", "johndoe"), ("password", "secret")];
        let consent = browser.submit(&login, &typed).await;
        let done = browser.submit(&consent, &[("decision", "allow")]).await;
        exchanged(&app, web, &redirect_param(&done, "code")).await
    };
    let johns_hint = str_of(&tokens, "id_token").to_owned();
    let first = verified_claims(&app, &johns_hint, &web.client.id).await;
    assert_eq!(first["auth_time"], first_at);

    clock.advance(100);
    for (asked, ignored) in [
        (("max_age", "50"), ("display", "page")),
        (("prompt", "login"), ("ui_locales", "fr")),
    ] {
        let extra = [openid[0], asked, ignored, ("acr_values", "urn:x")];
        let login = browser.get(&authorize_url(web, &extra)).await;
        assert_page(&login, 200);
        let typed = [("username", "johndoe"), ("password", "secret")];
        let done = browser.submit(&login, &typed).await;
        let tokens = exchanged(&app, web, &redirect_param(&done, "code")).await;
        let claims = verified_claims(&app, str_of(&tokens, "id_token"), &web.client.id).await;
        assert_eq!(claims["auth_time"], clock.now(), "{asked:?}");
        clock.advance(10);
    }
    // Within max_age: no password, the sign-in's time as it was.
    let extra = [openid[0], ("max_age", "3600")];
    let done = browser.get(&authorize_url(web, &extra)).await;
    assert_eq!(done.status, 302, "{}", done.text());
    redirect_param(&done, "code");

    // `prompt=none` with a hint: its user's browser answers at once; another's does not.
    let hinted = [
        openid[0],
        ("prompt", "none"),
        ("id_token_hint", johns_hint.as_str()),
    ];
    let done = browser.get(&authorize_url(web, &hinted)).await;
    assert_eq!(done.status, 302);
    redirect_param(&done, "code");
    let mut stanleys = Browser::on(app.clone());
    let login = stanleys.get(&authorize_url(web, &openid)).await;
    let typed = [("username", "stanley"), ("password", "secret")];
    let consent = stanleys.submit(&login, &typed).await;
    assert_page(&consent, 200);
    let done = stanleys.get(&authorize_url(web, &hinted)).await;
    assert_eq!(redirect_param(&done, "error"), "login_required");
    let forged = [
        openid[0],
        ("prompt", "none"),
        ("id_token_hint", "e30.e30.sig"),
    ];
    let done = browser.get(&authorize_url(web, &forged)).await;
    assert_eq!(redirect_param(&done, "error"), "login_required");

    // `login_hint` fills in the username of a new browser's form.
    let mut fresh = Browser::on(app.clone());
    let login = fresh
        .get(&authorize_url(web, &[openid[0], ("login_hint", "johndoe")]))
        .await;
    assert_page(&login, 200);
    assert!(
        login
            .text()
            .contains("name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"johndoe\""),
        "{}",
        login.text()
    );
}

/// The browser session cookie's name behind https.
const SESSION_COOKIE: &str = "__Host-passflow-session";

on_every_backend!(signing_out_ends_the_browser_session_and_its_clients_sessions);
/// Issue 41 §6: RP-Initiated Logout 1.0.
async fn signing_out_ends_the_browser_session_and_its_clients_sessions(backend: Backend) {
    use crate::code_grant::SIGNED_OUT;
    let sign_in = sign_in(backend).await;
    let app = openid_app(&sign_in);
    let web = &sign_in.web;
    let openid = [("scope", "openid")];
    let authorization = basic(&web.client.id, web.secret.as_deref().unwrap());

    // With a hint naming the browser's user: signed out at once, back to the client.
    let mut browser = Browser::on(app.clone());
    let login = browser.get(&authorize_url(web, &openid)).await;
    let typed = [("username", "johndoe"), ("password", "secret")];
    let consent = browser.submit(&login, &typed).await;
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let tokens = exchanged(&app, web, &redirect_param(&done, "code")).await;
    let access = str_of(&tokens, "access_token");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "s&1"),
        ])
        .finish();
    let out = browser.get(&format!("/end-session?{query}")).await;
    assert_eq!(out.status, 302, "{}", out.text());
    assert_eq!(
        out.header("location"),
        Some("https://app.example/signed-out?state=s%261")
    );
    let removal = out
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|line| line.to_str().unwrap().to_owned())
        .find(|line| line.starts_with(SESSION_COOKIE))
        .expect("the session cookie is removed");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(
        removal.contains("Secure"),
        "__Host- needs Secure: {removal}"
    );
    let invalid_token = r#"{"error":"invalid_token","error_description":"The access token is missing, invalid, expired or revoked"}"#;
    get_with_token(&app, "/userinfo", access).await.assert(
        401,
        invalid_token,
        Some("Bearer error=\"invalid_token\""),
    );
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", str_of(&tokens, "refresh_token")),
    ];
    let refused = post_form_authorized(&app, "/token", Some(&authorization), &refresh).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_page(&browser.get(&authorize_url(web, &openid)).await, 200);

    // Without a hint: the user is asked first, and the form is this browser's.
    let mut browser = Browser::on(app.clone());
    let login = browser.get(&authorize_url(web, &openid)).await;
    let done = browser.submit(&login, &typed).await;
    let tokens = exchanged(&app, web, &redirect_param(&done, "code")).await;
    let access = str_of(&tokens, "access_token");
    let ask = browser
        .get(&format!("/end-session?client_id={}", web.client.id))
        .await;
    assert_page(&ask, 200);
    let html = ask.text();
    assert!(html.contains("<h1>Sign out?</h1>"), "{html}");
    assert!(
        html.contains(
            "Signed in as <strong>johndoe</strong>. <strong>Web</strong> asks to sign you out."
        ),
        "{html}"
    );
    assert_eq!(
        get_with_token(&app, "/userinfo", access).await.status,
        200,
        "nothing ended yet"
    );
    let mut other = Browser::on(app.clone());
    other.get(&authorize_url(web, &openid)).await;
    let forged = other
        .submit_to("/end-session", &ask, &[("confirm", "yes")])
        .await;
    assert_page(&forged, 403);
    assert_eq!(get_with_token(&app, "/userinfo", access).await.status, 200);
    // "Stay signed in" ends nothing: a page says so, or, with a registered URI to go back
    // to, the user goes back to it (the relying party sees one outcome either way). A
    // forged "stay" is refused as a forged "sign out" is.
    let forged = other
        .submit_to("/end-session", &ask, &[("stay", "yes")])
        .await;
    assert_page(&forged, 403);
    let stayed = browser
        .submit_to("/end-session", &ask, &[("stay", "yes")])
        .await;
    assert_page(&stayed, 200);
    assert!(
        stayed.text().contains(
            "<h1>You are still signed in</h1>\n<p id=\"message\">Nothing was signed out here; \
             <strong>Web</strong> may have signed you out of itself.</p>"
        ),
        "{}",
        stayed.text()
    );
    let back = format!(
        "/end-session?client_id={}&post_logout_redirect_uri={SIGNED_OUT}&state=s2",
        web.client.id
    );
    let ask_back = browser.get(&back).await;
    assert_page(&ask_back, 200);
    let stayed = browser
        .submit_to("/end-session", &ask_back, &[("stay", "yes")])
        .await;
    assert_eq!(stayed.status, 303, "{}", stayed.text());
    assert_eq!(
        stayed.header("location"),
        Some("https://app.example/signed-out?state=s2")
    );
    let cookies = stayed.headers.get_all("set-cookie").iter();
    let mut cookies = cookies.map(|line| line.to_str().unwrap());
    assert!(
        !cookies.any(|line| line.starts_with(SESSION_COOKIE)),
        "the session cookie stays"
    );
    assert_eq!(get_with_token(&app, "/userinfo", access).await.status, 200);
    let again = browser.get(&authorize_url(web, &openid)).await;
    assert!(redirect_param(&again, "code").len() > 20, "still signed in");
    let out = browser
        .submit_to("/end-session", &ask, &[("confirm", "yes")])
        .await;
    assert_page(&out, 200);
    assert!(
        out.text()
            .contains("You signed out of <strong>Web</strong>"),
        "{}",
        out.text()
    );
    get_with_token(&app, "/userinfo", access).await.assert(
        401,
        invalid_token,
        Some("Bearer error=\"invalid_token\""),
    );

    // Where to send the user is in doubt: an error page, never a redirect.
    let hint = str_of(&tokens, "id_token");
    for (query, message) in [
        (
            format!(
                "client_id={}&post_logout_redirect_uri=https://evil.example/",
                web.client.id
            ),
            "The application asked to send you to an address it has not registered.",
        ),
        (
            "post_logout_redirect_uri=https://app.example/signed-out".to_owned(),
            "A post_logout_redirect_uri needs a client_id or an id_token_hint.",
        ),
        (
            "id_token_hint=e30.e30.c2ln".to_owned(),
            "The id_token_hint is not an ID token of this server.",
        ),
        (
            format!("id_token_hint={hint}&client_id={}", sign_in.other.client.id),
            "The client_id is not the client the id_token_hint was issued to.",
        ),
        (
            "client_id=nobody".to_owned(),
            "The application that sent you here is not registered.",
        ),
    ] {
        let refused = browser.get(&format!("/end-session?{query}")).await;
        assert_page(&refused, 400);
        assert_eq!(
            crate::authorize::message(&refused).as_deref(),
            Some(message)
        );
    }
}

/// OP-Rotation-OP-Sig (Config OP): a new id_token key, published beside the old one
/// (`ID_TOKEN_SIGNING_KEY_FILE` the new, `PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES` the old), signs
/// every id_token from then on; one the old key signed still verifies against the JWKS and is
/// still a hint that names its user; once the old key is retired, it is neither.
#[tokio::test]
async fn a_rotated_id_token_key_is_published_beside_the_old_until_retired() {
    use crate::code_grant::SIGNED_OUT;
    let sign_in = sign_in(Backend::Memory).await;
    let web = &sign_in.web;
    let deployment =
        |pems: &[&str]| router(sign_in.state.clone().with_id_tokens(id_tokens_of(pems)));
    let before = deployment(&[&ID_TOKEN_KEY]);
    let rotated = deployment(&[&NEXT_ID_TOKEN_KEY, &ID_TOKEN_KEY]);
    let retired = deployment(&[&NEXT_ID_TOKEN_KEY]);
    let openid = [("scope", "openid")];

    let mut browser = Browser::on(before.clone());
    let login = browser.get(&authorize_url(web, &openid)).await;
    let typed = [("username", "johndoe"), ("password", "secret")];
    let consent = browser.submit(&login, &typed).await;
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let tokens = exchanged(&before, web, &redirect_param(&done, "code")).await;
    let old = str_of(&tokens, "id_token").to_owned();

    let published = |app: Router| async move {
        let jwks = get(&app, "/.well-known/jwks.json", None).await.json();
        let keys = jwks["keys"].as_array().unwrap().iter();
        keys.map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let next_kid = id_tokens_of(&[&NEXT_ID_TOKEN_KEY]).kid().to_owned();
    assert_eq!(published(before.clone()).await, [kid_of(&old)]);
    assert_eq!(
        published(rotated.clone()).await,
        [next_kid.clone(), kid_of(&old)]
    );
    assert_eq!(published(retired.clone()).await, [next_kid.as_str()]);
    let subject = verified_claims(&rotated, &old, &web.client.id).await["sub"].clone();

    // The same browser, now served by the rotated deployment: signed in and allowed already,
    // its next code brings an id_token of the new key.
    let mut browser = browser.moved_to(rotated.clone());
    let again = browser.get(&authorize_url(web, &openid)).await;
    assert_eq!(again.status, 302, "{}", again.text());
    let tokens = exchanged(&rotated, web, &redirect_param(&again, "code")).await;
    let new = str_of(&tokens, "id_token");
    assert_eq!(kid_of(new), next_kid);
    assert_eq!(
        verified_claims(&rotated, new, &web.client.id).await["sub"],
        subject
    );

    // Retired, the old key verifies no hint; while published, its id_token names the
    // browser's user, who is signed out at once.
    let hint = |id_token: &str| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ])
            .finish()
    };
    let mut stranger = Browser::on(retired);
    let refused = stranger.get(&format!("/end-session?{}", hint(&old))).await;
    assert_page(&refused, 400);
    assert_eq!(
        crate::authorize::message(&refused).as_deref(),
        Some("The id_token_hint is not an ID token of this server.")
    );
    let out = browser.get(&format!("/end-session?{}", hint(&old))).await;
    assert_eq!(out.status, 302, "{}", out.text());
    assert_eq!(out.header("location"), Some(SIGNED_OUT));
}
