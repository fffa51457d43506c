//! "Sign in with passflow" in a small axum app, on the `openidconnect` crate: discovery, the
//! code flow with PKCE, state and nonce, the id_token checked (signature against passflow's
//! JWKS, issuer, audience, expiry, nonce, at_hash), then `/userinfo`.
//!
//! ```sh
//! # passflow, as a provider for an app on 127.0.0.1:9000 (prints the client's id and secret)
//! cargo run --release -- clients add "Example app" --redirect-uri http://127.0.0.1:9000/callback
//! TOKEN_ISSUER=http://127.0.0.1:8000 cargo run --release
//! # this app
//! PASSFLOW_ISSUER=http://127.0.0.1:8000 CLIENT_ID=… CLIENT_SECRET=… \
//!   cargo run --manifest-path examples/oidc-client/Cargo.toml
//! ```
//!
//! Settings: `PASSFLOW_ISSUER`, `CLIENT_ID`, `CLIENT_SECRET` (none for a public client),
//! `APP_URL` (default `http://127.0.0.1:9000`; the redirect URI is `APP_URL/callback`). It
//! prints its URL on the first line of stdout once it listens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    reqwest,
};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The client as discovery configured it: every endpoint passflow's document names.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// A sign-in this app started and has not finished: what the callback must check against.
/// A real app keeps it in the user's session (a signed cookie); a map keyed by `state` keeps
/// the example short, and each entry is taken once, or dropped once older than
/// [`SIGN_IN_TIMEOUT`] (a sign-in abandoned half way must not stay forever).
struct Started {
    pkce_verifier: PkceCodeVerifier,
    nonce: Nonce,
    at: Instant,
}

/// How long a started sign-in may take: longer than anyone spends on a login page.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(600);

struct App {
    client: Client,
    issuer: IssuerUrl,
    http: reqwest::Client,
    started: Mutex<HashMap<String, Started>>,
    pages: Environment<'static>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let setting = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let issuer = IssuerUrl::new(setting("PASSFLOW_ISSUER")?)?;
    let app_url = std::env::var("APP_URL").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    // Redirects are never followed: a provider's answer is read as it is (the crate's advice).
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(setting("CLIENT_ID")?),
        std::env::var("CLIENT_SECRET").ok().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{app_url}/callback"))?);
    let mut pages = Environment::new();
    pages.add_template("page.html", include_str!("../templates/page.html"))?;
    let app = Arc::new(App {
        client,
        issuer,
        http,
        started: Mutex::new(HashMap::new()),
        pages,
    });
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(app);
    let address = app_url
        .strip_prefix("http://")
        .ok_or("APP_URL must be an http:// URL")?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("{app_url}");
    axum::serve(listener, router).await?;
    Ok(())
}

async fn home(State(app): State<Arc<App>>) -> Response {
    app.page(context! {})
}

/// Sends the browser to passflow's login page: a fresh PKCE verifier, `state` and nonce.
async fn login(State(app): State<Arc<App>>) -> Redirect {
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = app
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let started = Started {
        pkce_verifier,
        nonce,
        at: Instant::now(),
    };
    let mut pending = app.started.lock().unwrap();
    pending.retain(|_, started| started.at.elapsed() < SIGN_IN_TIMEOUT);
    pending.insert(state.secret().clone(), started);
    drop(pending);
    Redirect::to(url.as_str())
}

/// Where passflow sends the browser back: the code traded, the id_token checked, the claims
/// shown. Any failure is shown as the page's error.
async fn callback(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match signed_in(&app, &query).await {
        Ok(signed_in) => app.page(context! { signed_in }),
        Err(error) => app.page(context! { error => error.to_string() }),
    }
}

async fn signed_in(app: &App, query: &HashMap<String, String>) -> Result<Value, Error> {
    if let Some(error) = query.get("error") {
        return Err(format!("passflow refused: {error}").into());
    }
    // Taken once, whatever follows: a second use of this `state` is refused.
    let started = query
        .get("state")
        .and_then(|state| app.started.lock().unwrap().remove(state))
        .filter(|started| started.at.elapsed() < SIGN_IN_TIMEOUT)
        .ok_or("unknown state: this app did not start that sign-in, or it timed out")?;
    // RFC 9207: the answer comes from the provider this app asked, not a mix-up.
    if query.get("iss").map(String::as_str) != Some(app.issuer.as_str()) {
        return Err("the answer's iss is not passflow's issuer".into());
    }
    let code = query.get("code").ok_or("no code")?;
    let token = app
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))?
        .set_pkce_verifier(started.pkce_verifier)
        .request_async(&app.http)
        .await?;
    let id_token = token.id_token().ok_or("no id_token")?;
    let verifier = app.client.id_token_verifier();
    let claims = id_token.claims(&verifier, &started.nonce)?;
    // Core §3.1.3.6: at_hash binds the access token to this id_token.
    let expected = claims.access_token_hash().ok_or("no at_hash")?;
    let actual = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg()?,
        id_token.signing_key(&verifier)?,
    )?;
    if actual != *expected {
        return Err("at_hash does not match the access token".into());
    }
    let userinfo: CoreUserInfoClaims = app
        .client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))?
        .request_async(&app.http)
        .await?;
    Ok(json!({
        "id_token": serde_json::to_value(claims)?,
        "userinfo": serde_json::to_value(&userinfo)?,
        "scope": token.scopes().map(|scopes| {
            scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
        }),
    }))
}

impl App {
    fn page(&self, context: minijinja::Value) -> Response {
        let rendered = self
            .pages
            .get_template("page.html")
            .and_then(|page| page.render(context));
        match rendered {
            Ok(html) => Html(html).into_response(),
            Err(error) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            )
                .into_response(),
        }
    }
}
