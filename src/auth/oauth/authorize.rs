//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9207): what the
//! authorization endpoint checks before it shows a login page, and how it answers a request
//! it refuses.
//!
//! Two kinds of refusal (RFC 6749 §4.1.2.1): while the client or its redirect URI is in
//! doubt, the user is shown an error page and never sent anywhere (an open redirector is an
//! attack, ASVS V10.4.1); once both are known, every other error goes back to the client's
//! redirect URI with `error`, `error_description`, `state` and `iss`.

use std::sync::Arc;

use url::Url;

use crate::auth::oauth::clients::Clients;
use crate::model::client::Client;
use crate::model::description::naming;
use crate::model::scopes::{Scope, ScopeCatalog, ScopeSet, UnknownScope};
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::storable;

/// An authorization request's parameters, each as sent (RFC 6749 §3.1: a repeated one is
/// refused). Unknown parameters are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// OpenID Connect Core §3.1.2.1: the username to fill in.
    pub login_hint: Option<String>,
    /// OpenID Connect Core §3.1.2.1: an id_token naming the user the client expects.
    pub id_token_hint: Option<String>,
    /// The first parameter sent more than once, if any.
    pub repeated: Option<String>,
}

impl AuthorizeParams {
    /// Reads `name=value` pairs (a query string or a form), keeping the first of each name
    /// and noting the first name repeated.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params = Self::default();
        for (name, value) in pairs {
            let slot = match name {
                "response_type" => &mut params.response_type,
                "client_id" => &mut params.client_id,
                "redirect_uri" => &mut params.redirect_uri,
                "scope" => &mut params.scope,
                "state" => &mut params.state,
                "code_challenge" => &mut params.code_challenge,
                "code_challenge_method" => &mut params.code_challenge_method,
                "nonce" => &mut params.nonce,
                "prompt" => &mut params.prompt,
                "max_age" => &mut params.max_age,
                "request" => &mut params.request,
                "request_uri" => &mut params.request_uri,
                "login_hint" => &mut params.login_hint,
                "id_token_hint" => &mut params.id_token_hint,
                _ => continue,
            };
            if slot.is_some() {
                params.repeated.get_or_insert_with(|| name.to_owned());
            } else {
                *slot = Some(value.to_owned());
            }
        }
        params
    }
}

impl AuthorizeParams {
    /// The parameters as sent, for a form to carry to the next step of the login.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("nonce", &self.nonce),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("id_token_hint", &self.id_token_hint),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }
}

/// OpenID Connect Core §3.1.2.1's `prompt`, as far as passflow acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prompt {
    /// Ask for what is missing (a login, a consent).
    #[default]
    AsNeeded,
    /// Show nothing: answer at once, or fail with `login_required` / `consent_required`.
    None,
    /// Ask for the password again, even from a browser signed in.
    Login,
    /// Ask for consent again, even if it was given.
    Consent,
}

/// A request that passed every check: what the login page carries through its steps.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client: Arc<Client>,
    /// Where the answer goes.
    pub redirect_to: String,
    /// The redirect URI as the request named it (`None`: it named none), bound to the code.
    pub redirect_uri: Option<String>,
    pub scope: ScopeSet,
    pub state: Option<String>,
    /// An S256 challenge.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// Seconds since the user's last password after which they must give it again.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
}

impl AuthorizeRequest {
    /// Whether a browser whose password was given at `auth_time` must give it again: at
    /// `prompt=login`, or once `max_age` seconds have passed. Times are whole seconds, so a
    /// login exactly `max_age` ago may be up to a second older and counts as too old;
    /// `max_age=0` asks every time (OpenID Connect Core §3.1.2.1, as `prompt=login`).
    pub fn wants_password(&self, auth_time: UnixTime, now: UnixTime) -> bool {
        self.prompt == Prompt::Login
            || self
                .max_age
                .is_some_and(|max_age| now.saturating_sub(auth_time) >= max_age)
    }

    /// A refusal of this request, sent back to the client.
    pub fn refusal(&self, error: AuthorizeError, description: &str) -> RedirectRefusal {
        RedirectRefusal {
            redirect_to: self.redirect_to.clone(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }
}

/// Why no redirect is possible: answered with an error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageRefusal {
    #[error("The request names no client (client_id is missing or repeated).")]
    NoClient,
    #[error("The application that sent you here is not registered.")]
    UnknownClient,
    #[error("The application asked to send you to an address it has not registered.")]
    RedirectUri,
}

/// RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeError {
    InvalidRequest,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl AuthorizeError {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeError::InvalidRequest => "invalid_request",
            AuthorizeError::UnsupportedResponseType => "unsupported_response_type",
            AuthorizeError::InvalidScope => "invalid_scope",
            AuthorizeError::AccessDenied => "access_denied",
            AuthorizeError::LoginRequired => "login_required",
            AuthorizeError::ConsentRequired => "consent_required",
            AuthorizeError::RequestNotSupported => "request_not_supported",
            AuthorizeError::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// A refusal sent back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectRefusal {
    pub redirect_to: String,
    pub error: AuthorizeError,
    pub description: String,
    pub state: Option<String>,
}

impl RedirectRefusal {
    /// The URL the browser is sent to: the redirect URI (its own query kept, RFC 6749
    /// §3.1.2) with `error`, `error_description`, `state` and `iss` (RFC 9207 §2) added.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![
            ("error", self.error.as_str()),
            ("error_description", self.description.as_str()),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", issuer));
        with_query(&self.redirect_to, &pairs)
    }
}

/// The code's answer to the client: the redirect URI with `code`, `state` and `iss`.
pub fn code_location(request: &AuthorizeRequest, code: &str, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(&request.redirect_to, &pairs)
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        // Registered URIs always parse; a string that does not is never redirected to.
        Err(_) => uri.to_owned(),
    }
}

/// Either refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Page(PageRefusal),
    Redirect(RedirectRefusal),
}

/// RFC 7636 §4.2: a challenge is the base64url of a SHA-256, 43 characters; RFC 7636 allows
/// 43 to 128 unreserved characters.
fn well_formed_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks an authorization request. `Ok(Err(_))` is a refusal to answer with; `Err(_)` a
/// store out of reach.
pub async fn check_request(
    clients: &Clients,
    offered: &ScopeCatalog,
    params: &AuthorizeParams,
) -> Result<Result<AuthorizeRequest, Refusal>, StoreError> {
    let client_id = match (&params.client_id, params.repeated.as_deref()) {
        (Some(_), Some("client_id")) | (None, _) => {
            return Ok(Err(Refusal::Page(PageRefusal::NoClient)));
        }
        (Some(id), _) => id,
    };
    let Some(client) = clients.find(client_id).await? else {
        return Ok(Err(Refusal::Page(PageRefusal::UnknownClient)));
    };
    if params.repeated.as_deref() == Some("redirect_uri") {
        return Ok(Err(Refusal::Page(PageRefusal::RedirectUri)));
    }
    let Some(target) = client.redirect_uri(params.redirect_uri.as_deref()) else {
        return Ok(Err(Refusal::Page(PageRefusal::RedirectUri)));
    };
    let redirect_to = target.as_str().to_owned();
    let refuse = |error: AuthorizeError, description: String| {
        Ok(Err(Refusal::Redirect(RedirectRefusal {
            redirect_to: redirect_to.clone(),
            error,
            description,
            state: params.state.clone(),
        })))
    };
    use AuthorizeError::*;
    if params.request.is_some() {
        return refuse(
            RequestNotSupported,
            "Request objects are not supported".into(),
        );
    }
    if params.request_uri.is_some() {
        return refuse(
            RequestUriNotSupported,
            "request_uri is not supported".into(),
        );
    }
    if let Some(name) = &params.repeated {
        return refuse(InvalidRequest, format!("{name} is repeated"));
    }
    // What no store can hold (the nonce is stored with the code) is bad input, refused here on
    // every store alike, never a database error.
    if let Some((name, _)) = params
        .pairs()
        .into_iter()
        .find(|(_, value)| !storable(value))
    {
        return refuse(InvalidRequest, format!("{name} holds a NUL character"));
    }
    match params.response_type.as_deref() {
        None => return refuse(InvalidRequest, "response_type is missing".into()),
        Some("code") => {}
        Some(_) => {
            return refuse(
                UnsupportedResponseType,
                "Only response_type=code is supported".into(),
            );
        }
    }
    let code_challenge = match (
        &params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) {
        (None, Some(_)) => {
            return refuse(
                InvalidRequest,
                "code_challenge_method without code_challenge".into(),
            );
        }
        (None, None) if client.requires_pkce() => {
            return refuse(
                InvalidRequest,
                "code_challenge is required (PKCE, S256)".into(),
            );
        }
        (None, None) => None,
        // RFC 7636 §4.3 defaults to `plain`, which passflow refuses (ASVS V10.4.6).
        (Some(_), None | Some("plain")) => {
            return refuse(
                InvalidRequest,
                "code_challenge_method must be S256; plain is not supported".into(),
            );
        }
        (Some(_), Some(method)) if method != "S256" => {
            return refuse(InvalidRequest, "code_challenge_method must be S256".into());
        }
        (Some(challenge), Some(_)) if !well_formed_challenge(challenge) => {
            return refuse(InvalidRequest, "code_challenge is malformed".into());
        }
        (Some(challenge), Some(_)) => Some(challenge.clone()),
    };
    let allowed = match &client.scopes {
        Some(scopes) => offered.restrict(scopes),
        None => offered.iter().map(|(scope, _)| scope.clone()).collect(),
    };
    // No scope asked: the client's API scopes, never an identity scope (OpenID Connect
    // Core §3.1.2.1: `openid` is asked for by name). Identity scopes any client may ask for.
    let scope = match params.scope.as_deref().map(str::trim) {
        None | Some("") => allowed.clone(),
        Some(asked) => match offered.parse_request(asked) {
            Ok(scope) => scope,
            Err(UnknownScope(name)) => return refuse(InvalidScope, naming("unknown scope", &name)),
        },
    };
    let beyond = |scope: &&Scope| !allowed.contains(scope) && !offered.is_identity(scope);
    if let Some(beyond) = scope.iter().find(beyond) {
        return refuse(
            InvalidScope,
            format!("Scope not allowed for this client: {beyond}"),
        );
    }
    let prompt = match params.prompt.as_deref() {
        None | Some("") => Prompt::AsNeeded,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some("consent") => Prompt::Consent,
        Some(_) => {
            return refuse(
                InvalidRequest,
                "prompt must be one of none, login, consent".into(),
            );
        }
    };
    let max_age = match params.max_age.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(_)) => {
            return refuse(InvalidRequest, "max_age is not a number of seconds".into());
        }
    };
    Ok(Ok(AuthorizeRequest {
        redirect_uri: params.redirect_uri.clone(),
        redirect_to,
        client,
        scope,
        state: params.state.clone(),
        code_challenge,
        nonce: params.nonce.clone(),
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
        id_token_hint: params.id_token_hint.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oauth::code::s256_challenge;
    use crate::model::client::{PkcePolicy, RedirectUri};
    use crate::store::clients::InMemoryClientStore;

    const CHALLENGE_OF: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn clients() -> Clients {
        let client = |id: &str, public: bool, pkce| Client {
            post_logout_redirect_uris: Vec::new(),
            id: id.into(),
            name: id.into(),
            redirect_uris: vec![
                RedirectUri::parse("https://app.example/cb?tenant=1").unwrap(),
                RedirectUri::parse("http://127.0.0.1/native").unwrap(),
            ],
            secret_sha256: (!public).then_some([1; 32]),
            first_party: false,
            scopes: Some(ScopeSet::from([Scope::ME])),
            pkce,
            refresh: false,
        };
        Clients::new(Arc::new(InMemoryClientStore::new([
            client("spa", true, PkcePolicy::Required),
            client("web", false, PkcePolicy::Optional),
        ])))
    }

    fn params(pairs: &[(&str, &str)]) -> AuthorizeParams {
        AuthorizeParams::from_pairs(pairs.iter().copied())
    }

    async fn check(pairs: &[(&str, &str)]) -> Result<AuthorizeRequest, Refusal> {
        check_request(&clients(), &ScopeCatalog::default(), &params(pairs))
            .await
            .unwrap()
    }

    async fn redirect_error(pairs: &[(&str, &str)]) -> (AuthorizeError, String) {
        match check(pairs).await {
            Err(Refusal::Redirect(refusal)) => (refusal.error, refusal.description),
            other => panic!("{other:?}"),
        }
    }

    const SPA: [(&str, &str); 5] = [
        ("response_type", "code"),
        ("client_id", "spa"),
        ("redirect_uri", "https://app.example/cb?tenant=1"),
        ("code_challenge", CHALLENGE_OF),
        ("code_challenge_method", "S256"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut pairs = SPA.to_vec();
        pairs.extend_from_slice(extra);
        pairs
    }

    #[tokio::test]
    async fn a_doubtful_client_or_redirect_uri_gets_a_page_never_a_redirect() {
        for (pairs, refusal) in [
            (vec![("response_type", "code")], PageRefusal::NoClient),
            (vec![("client_id", "nobody")], PageRefusal::UnknownClient),
            (
                vec![
                    ("client_id", "spa"),
                    ("redirect_uri", "https://evil.example/cb"),
                ],
                PageRefusal::RedirectUri,
            ),
            // Two registered: the request must name one.
            (vec![("client_id", "spa")], PageRefusal::RedirectUri),
            (
                vec![
                    ("client_id", "spa"),
                    ("redirect_uri", "https://app.example/cb?tenant=1"),
                    ("redirect_uri", "https://evil.example/cb"),
                ],
                PageRefusal::RedirectUri,
            ),
            (
                vec![("client_id", "spa"), ("client_id", "web")],
                PageRefusal::NoClient,
            ),
        ] {
            assert_eq!(check(&pairs).await.unwrap_err(), Refusal::Page(refusal));
        }
    }

    #[tokio::test]
    async fn other_errors_go_back_to_the_client_with_state_and_iss() {
        let refusal = match check(&[
            ("client_id", "spa"),
            ("redirect_uri", "https://app.example/cb?tenant=1"),
            ("response_type", "token"),
            ("state", "a b&c"),
        ])
        .await
        {
            Err(Refusal::Redirect(refusal)) => refusal,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refusal.location("https://auth.example.com"),
            "https://app.example/cb?tenant=1&error=unsupported_response_type&\
             error_description=Only+response_type%3Dcode+is+supported&state=a+b%26c&\
             iss=https%3A%2F%2Fauth.example.com"
        );
    }

    #[tokio::test]
    async fn pkce_is_s256_only_and_required_where_registered() {
        use AuthorizeError::*;
        let no_challenge = &SPA[..3];
        assert_eq!(
            redirect_error(no_challenge).await,
            (
                InvalidRequest,
                "code_challenge is required (PKCE, S256)".into()
            )
        );
        let mut plain = SPA[..4].to_vec();
        plain.push(("code_challenge_method", "plain"));
        assert_eq!(
            redirect_error(&plain).await.1,
            "code_challenge_method must be S256; plain is not supported"
        );
        // Method omitted means plain (RFC 7636 §4.3).
        assert_eq!(
            redirect_error(&SPA[..4]).await.1,
            "code_challenge_method must be S256; plain is not supported"
        );
        let mut short = SPA[..3].to_vec();
        short.extend([("code_challenge", "abc"), ("code_challenge_method", "S256")]);
        assert_eq!(
            redirect_error(&short).await.1,
            "code_challenge is malformed"
        );
        // A confidential client registered `optional` may omit it, and a challenge it sends
        // anyway is honoured.
        let web = [
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", "https://app.example/cb?tenant=1"),
        ];
        assert_eq!(check(&web).await.unwrap().code_challenge, None);
        let challenge = s256_challenge("verifier-of-enough-length-0123456789-abcdefgh");
        let mut honoured = web.to_vec();
        honoured.extend([
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        assert_eq!(
            check(&honoured).await.unwrap().code_challenge.as_deref(),
            Some(challenge.as_str())
        );
    }

    #[tokio::test]
    async fn scopes_prompts_and_unsupported_parameters() {
        use AuthorizeError::*;
        let ok = check(&SPA).await.unwrap();
        assert_eq!(ok.scope, ScopeSet::from([Scope::ME]), "the client's scopes");
        assert_eq!(ok.redirect_to, "https://app.example/cb?tenant=1");
        assert_eq!(
            redirect_error(&with(&[("scope", "me items")])).await,
            (
                InvalidScope,
                "Scope not allowed for this client: items".into()
            )
        );
        assert_eq!(
            redirect_error(&with(&[("scope", "admin")])).await,
            (InvalidScope, "unknown scope: admin".into())
        );
        assert_eq!(
            check(&with(&[("prompt", "none")])).await.unwrap().prompt,
            Prompt::None
        );
        assert_eq!(
            redirect_error(&with(&[("prompt", "select")])).await.0,
            InvalidRequest
        );
        assert_eq!(
            check(&with(&[("max_age", "0")])).await.unwrap().max_age,
            Some(0)
        );
        assert_eq!(
            redirect_error(&with(&[("max_age", "-1")])).await.0,
            InvalidRequest
        );
        assert_eq!(
            redirect_error(&with(&[("request", "eyJ...")])).await.0,
            RequestNotSupported
        );
        assert_eq!(
            redirect_error(&with(&[("request_uri", "urn:x")])).await.0,
            RequestUriNotSupported
        );
        assert_eq!(
            redirect_error(&with(&[("state", "1"), ("state", "2")])).await,
            (InvalidRequest, "state is repeated".into())
        );
        // Unknown parameters are ignored.
        assert!(check(&with(&[("ui_locales", "fr")])).await.is_ok());
        let mut no_response_type = SPA.to_vec();
        no_response_type.remove(0);
        assert_eq!(
            redirect_error(&no_response_type).await,
            (InvalidRequest, "response_type is missing".into())
        );
        // A native app on loopback picks its port (RFC 8252 §7.3).
        let mut native = SPA.to_vec();
        native[2] = ("redirect_uri", "http://127.0.0.1:50123/native");
        assert_eq!(
            check(&native).await.unwrap().redirect_to,
            "http://127.0.0.1:50123/native"
        );
    }

    proptest::proptest! {
        /// RFC 6749 §5.2: whatever a request sends, its refusal describes it in NQSCHAR only.
        #[test]
        fn a_refusal_repeats_only_what_rfc_6749_allows(
            name in proptest::sample::select(vec![
                "response_type", "scope", "state", "code_challenge", "code_challenge_method",
                "nonce", "prompt", "max_age",
            ]),
            value in "\\PC{0,12}|[\\x00-\\x7f]{0,12}",
        ) {
            let mut pairs = SPA.to_vec();
            pairs.retain(|(n, _)| *n != name);
            pairs.push((name, value.as_str()));
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            if let Err(Refusal::Redirect(refusal)) = runtime.block_on(check(&pairs)) {
                proptest::prop_assert!(
                    crate::model::description::describable(&refusal.description),
                    "{:?}",
                    refusal.description
                );
            }
        }
    }

    #[tokio::test]
    async fn a_code_answer_carries_code_state_and_iss() {
        let request = check(&with(&[("state", "xyz")])).await.unwrap();
        assert_eq!(
            code_location(&request, "C0DE", "https://auth.example.com"),
            "https://app.example/cb?tenant=1&code=C0DE&state=xyz&iss=https%3A%2F%2Fauth.example.com"
        );
    }
}
