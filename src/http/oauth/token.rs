//! `POST /token`: the OAuth2 password grant (RFC 6749 §4.3), the refresh-token grant
//! (RFC 6749 §6) and, once a client is registered, the authorization-code grant (RFC 6749
//! §4.1.3, RFC 7636 §4.5).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::oauth::code::{CodeExchange, exchange_code};
use crate::http::error::OAuthError;
use crate::http::extract::{BasicCredentials, GrantFields};
use crate::http::oauth::error::code_client_refused;

use crate::auth::credentials::totp::Factor;
use crate::auth::oauth::clients::ClientRefused;
use crate::auth::oauth::grant::TokenResponse;
use crate::auth::oauth::refresh::narrow_scopes;
use crate::auth::sessions::RefreshRefused;
use crate::auth::sessions::RefreshToken;
use crate::auth::{Grant, LoginError, LoginRequest, RefreshError, RefreshRequest, login, refresh};
use crate::http::error::{ApiError, ErrorDetail, OAuthErrorBody, ValidationErrorBody};
use crate::http::extract::{
    OAuth2PasswordRequestForm, RefreshTokenForm, TokenCaller, TokenRequest, TokenRequestForm,
    missing_credentials,
};
use crate::model::description::naming;
use crate::model::scopes::{Scope, ScopeCatalog, ScopeSet};
use crate::state::AppState;

/// The `/token` response (RFC 6749 §5.1): the tutorial's `Token` model plus the granted
/// `scope`, the access token's lifetime and the session's refresh token.
// Every grant answers with it; the domain's `TokenResponse` says what it holds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Token {
    pub(crate) access_token: String,
    #[schema(example = "bearer")]
    pub(crate) token_type: &'static str,
    /// The granted scopes, space-separated.
    #[schema(example = "me items")]
    pub(crate) scope: String,
    /// Seconds the access token lives.
    #[schema(example = 1800)]
    pub(crate) expires_in: u64,
    /// Opaque; trade it at `/token` with `grant_type=refresh_token` for a new pair. Each
    /// works once.
    // Always there for the password and refresh grants, which the document describes; the
    // code grant leaves it out for a client not registered for the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true, nullable = false, value_type = String)]
    pub(crate) refresh_token: Option<String>,
    // OpenID Connect's id_token, from a code exchange with `openid`. Not in the document:
    // the code grant is not (its clients read the discovery document, not OpenAPI).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub(crate) id_token: Option<String>,
}

impl From<TokenResponse> for Token {
    fn from(response: TokenResponse) -> Self {
        Token {
            access_token: response.access_token.token,
            token_type: "bearer",
            scope: response.scope.to_string(),
            expires_in: response.access_token.expires_in,
            refresh_token: response.refresh_token.map(RefreshToken::into_string),
            id_token: response.id_token,
        }
    }
}

/// A token response must never be cached (RFC 6749 §5.1).
pub(crate) const NO_STORE: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

/// Log in with the OAuth2 password flow, or refresh a session, and get a bearer token.
///
/// `grant_type=password` (or none) logs in with `username` and `password` (and `totp`, for
/// users with a second factor) and starts a session; at most `LOGIN_CONCURRENCY_PER_IP` such logins per client address are in
/// progress at once. `grant_type=refresh_token` trades the session's current
/// `refresh_token` for a new pair, and is not capped that way. Failed and refused requests are answered no sooner than a second after they
/// arrive.
#[utoipa::path(
    post,
    path = "/token",
    tag = "auth",
    request_body(
        content(
            (TokenRequestForm = "application/x-www-form-urlencoded"),
            (TokenRequestForm = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "The access token, and the session's refresh token", body = Token,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Password grant: a requested scope is unknown or not allowed for the user (`{\"detail\"}`). \
            Refresh grant (`{\"error\", \"detail\"}`, RFC 6749 §5.2): `invalid_grant` for an unknown, used, expired or revoked refresh token or a disabled user; \
            `invalid_scope` for a scope beyond the session's; `invalid_request` without a refresh token",
            body = OAuthErrorBody,
            examples(
                ("Unknown scope" = (value = json!(ApiError::from(LoginError::UnknownScope("admin".into())).body()))),
                ("invalid_grant" = (value = json!(ApiError::from(RefreshError::Refused(RefreshRefused::Unknown)).body()))),
                ("Refresh token reused" = (value = json!(ApiError::from(RefreshError::Refused(RefreshRefused::Reused)).body()))),
                ("invalid_scope" = (value = json!(ApiError::from(RefreshError::InvalidScope(
                    narrow_scopes(&ScopeCatalog::default(), "items", &ScopeSet::from([Scope::ME])).unwrap_err().to_string())).body()))),
                ("invalid_request" = (value = json!(ApiError::missing_field("refresh_token").body()))),
            )),
        (status = 401, description = "Incorrect username or password; or, for a user with TOTP on, a right password with no `totp` \
            code or a wrong, replayed or spent one", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
            examples(
                ("Incorrect username or password" = (value = json!(ApiError::IncorrectLogin.body()))),
                ("TOTP code required" = (value = json!(ApiError::TotpRequired.body()))),
                ("Incorrect TOTP code" = (value = json!(ApiError::IncorrectTotp.body()))),
            )),
        (status = 413, description = "The request body is too large", body = ErrorDetail,
            example = json!(ApiError::PayloadTooLarge.body())),
        (status = 422, description = "Validation Error", body = ValidationErrorBody,
            example = json!(missing_credentials().body())),
        (status = 429, description = "Too many failed logins or refreshes, or too many logins in progress, from this address, \
            or too many wrong TOTP codes for this user; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            examples(
                ("Too many failed logins" = (value = json!(ApiError::TooManyAttempts { retry_after_secs: 1 }.body()))),
                ("Too many logins in progress" = (value = json!(ApiError::TooManyLoginsInFlight.body()))),
            )),
        (status = 503, description = "Too many logins at once, or a store out of reach; retry after `Retry-After` seconds", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "Seconds to wait")),
            examples(
                ("Hashing saturated" = (value = json!(ApiError::Overloaded.body()))),
                ("Store out of reach" = (value = json!(ApiError::SessionViewStale.body()))),
            )),
    ),
)]
pub(crate) async fn login_for_access_token(
    State(state): State<AppState>,
    caller: TokenCaller,
    basic: BasicCredentials,
    form: Result<TokenRequest, ApiError>,
) -> Response {
    let answer = match form {
        Ok(TokenRequest::Password(form)) => password_grant(&state, &caller, form)
            .await
            .map(|grant| answer(Token::from(TokenResponse::from(grant))))
            .map_err(IntoResponse::into_response),
        // A client's grant is never cached, refusals included (RFC 6749 §5.1, §5.2).
        Ok(TokenRequest::RefreshToken(form)) => refresh_grant(&state, &caller, &basic, form)
            .await
            .map(|grant| answer(Token::from(TokenResponse::from(grant))))
            .map_err(|err| (NO_STORE, err).into_response()),
        Ok(TokenRequest::AuthorizationCode(fields)) => {
            code_grant(&state, &caller, &basic, fields).await
        }
        Ok(TokenRequest::Other(fields)) => other_grant(&state, &caller, &basic, fields)
            .await
            .map_err(IntoResponse::into_response),
        Err(err) => Err(err.into_response()),
    };
    match answer {
        Ok(response) => response,
        Err(refusal) => {
            caller.hold().await;
            refusal
        }
    }
}

fn answer(body: impl Serialize) -> Response {
    (NO_STORE, Json(body)).into_response()
}

/// `grant_type=authorization_code`. Served once a client is registered and `TOKEN_ISSUER` is
/// an issuer URL; before that the request is what it always was, a password form with the
/// wrong `grant_type` (422).
async fn code_grant(
    state: &AppState,
    caller: &TokenCaller,
    basic: &BasicCredentials,
    fields: GrantFields,
) -> Result<Response, Response> {
    let served = state.metadata.is_some()
        && state
            .auth
            .clients
            .any()
            .await
            .map_err(|err| ApiError::from(err).into_response())?;
    if !served {
        return Err(fields.password_form_refusal().into_response());
    }
    exchange(state, caller, basic, fields)
        .await
        .map_err(|err| (NO_STORE, err).into_response())
}

/// Any other `grant_type`. A registered client that proves itself is told the grant is
/// not served (RFC 6749 §5.2 `unsupported_grant_type`); any other request gets the password
/// form's 422, as the tutorial's clients always have. Proving a client is client
/// authentication like any other: a wrong secret takes a cell of the address's budget.
async fn other_grant(
    state: &AppState,
    caller: &TokenCaller,
    basic: &BasicCredentials,
    fields: GrantFields,
) -> Result<Response, ApiError> {
    let (id, secret) = fields.client();
    let credentials = basic.with_form(id, secret).ok().flatten();
    let served =
        credentials.is_some() && state.metadata.is_some() && state.auth.clients.any().await?;
    if !served {
        return Err(fields.password_form_refusal());
    }
    let auth = &state.auth;
    match auth
        .clients
        .authenticate(&auth.guard, caller.client(), credentials)
        .await
    {
        Ok(_) => {
            let grant_type = fields.grant_type().unwrap_or_default();
            Err(ApiError::UnsupportedGrantType(naming(
                "unsupported grant_type",
                grant_type,
            )))
        }
        Err(ClientRefused::InvalidClient) => Err(fields.password_form_refusal()),
        Err(ClientRefused::Throttled(throttled)) => Err(throttled.into()),
        Err(ClientRefused::Store(err)) => Err(err.into()),
    }
}

/// The code grant, served: its refusals are RFC 6749 §5.2's, never cached.
async fn exchange(
    state: &AppState,
    caller: &TokenCaller,
    basic: &BasicCredentials,
    fields: GrantFields,
) -> Result<Response, ApiError> {
    let form = fields.into_form()?;
    let credentials = basic
        .with_form(form.client_id.as_deref(), form.client_secret.as_deref())
        .map_err(|conflict| ApiError::Protocol {
            error: OAuthError::InvalidRequest,
            description: conflict.to_string(),
        })?;
    let client = state
        .auth
        .clients
        .authenticate(&state.auth.guard, caller.client(), credentials)
        .await
        .map_err(code_client_refused)?;
    let request = CodeExchange {
        code: &form.code,
        redirect_uri: form.redirect_uri.as_deref(),
        code_verifier: form.code_verifier.as_deref(),
    };
    let response = exchange_code(&state.auth, &client, request).await?;
    Ok(answer(Token::from(response)))
}

async fn password_grant(
    state: &AppState,
    caller: &TokenCaller,
    form: OAuth2PasswordRequestForm,
) -> Result<Grant, ApiError> {
    let _place = caller.admit_login(state)?;
    let request = LoginRequest {
        context: caller.context(),
        username: &form.username,
        password: form.password.clone(),
        scope: &form.scope,
        factor: form.totp.as_deref().and_then(Factor::typed),
    };
    Ok(login(&state.auth, request).await?)
}

async fn refresh_grant(
    state: &AppState,
    caller: &TokenCaller,
    basic: &BasicCredentials,
    form: RefreshTokenForm,
) -> Result<Grant, ApiError> {
    // Credentials that contradict each other prove no client: a client's session then
    // refuses the refresh, a password login's ignores them as it always did.
    let client = basic
        .with_form(form.client_id.as_deref(), form.client_secret.as_deref())
        .ok()
        .flatten();
    let request = RefreshRequest {
        address: caller.client(),
        refresh_token: &form.refresh_token,
        scope: &form.scope,
        client,
    };
    Ok(refresh(&state.auth, request).await?)
}
