//! The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636): a code issued when a
//! user allows a client, traded once at the token endpoint for a session of that client.
//!
//! Codes are 384 bits from the OS RNG, stored as SHA-256 digests, live
//! `AUTHORIZATION_CODE_LIFETIME_SECONDS` (60 by default, ASVS V10.4.3), and are bound to the
//! client, the redirect URI, the PKCE challenge, the nonce, the scopes and the login's time.
//! A code is the first token of the session it starts, stored pending when the code is
//! issued: the exchange rotates it out for a refresh token in one statement, as a refresh
//! does, and a second exchange is refused and ends that session (ASVS V10.4.2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::auth::Auth;
use crate::auth::oauth::grant::{IdTokenError, TokenResponse, id_token, issue_grant};
use crate::auth::sessions::EndReason;
use crate::auth::tokens::refresh_token::sha256;
use crate::model::client::Client;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;
use crate::store::StoreError;
use crate::store::codes::{NotStarted, Started, StoredCode};
use crate::store::session::SignIn;

/// Default and longest code lifetimes, in seconds (RFC 6749 §4.1.2 recommends at most ten
/// minutes).
pub const DEFAULT_CODE_LIFETIME: u64 = 60;
pub const MAX_CODE_LIFETIME: u64 = 600;

/// What the user allowed, to be bound to a code.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client_id: String,
    /// As the request named it; `None` when it named none.
    pub redirect_uri: Option<String>,
    /// An S256 challenge; checked for shape by the authorization endpoint.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    /// The browser session it is issued in.
    pub browser_session: Option<String>,
    pub user_id: UserId,
    pub username: Username,
    pub scope: ScopeSet,
    pub auth_time: UnixTime,
}

/// Issues a code for `authorization`, valid for `lifetime` seconds from now, with its
/// session stored pending.
pub async fn issue_code(
    auth: &Auth,
    authorization: Authorization,
    lifetime: u64,
) -> Result<String, StoreError> {
    let prepared = auth
        .sessions
        .prepare_code()
        .map_err(|err| StoreError::Unavailable(Box::new(err)))?;
    let now = auth.clock.now();
    let code = StoredCode {
        digest: prepared.first_digest(),
        session_id: prepared.id().to_owned(),
        client_id: authorization.client_id,
        redirect_uri: authorization.redirect_uri,
        code_challenge: authorization.code_challenge,
        nonce: authorization.nonce,
        browser_session: authorization.browser_session,
        user_id: authorization.user_id,
        username: authorization.username,
        scope: authorization.scope,
        auth_time: authorization.auth_time,
        expires_at: now + lifetime,
    };
    auth.sessions.issue_code(prepared, code, now).await
}

/// A token request with `grant_type=authorization_code`, from an authenticated client.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Why a code bought nothing; every one is RFC 6749 §5.2 `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefused {
    #[error("Invalid authorization code")]
    Unknown,
    #[error("Authorization code expired")]
    Expired,
    #[error("Authorization code already used; the session it started has been ended")]
    Replayed,
    #[error("Authorization code no longer valid: already used, or its session has ended")]
    Ended,
    #[error("Authorization code was issued to another client")]
    OtherClient,
    #[error("redirect_uri does not match the authorization request")]
    RedirectUri,
    #[error("code_verifier is required: the authorization request carried a code_challenge")]
    VerifierMissing,
    #[error("code_verifier does not match the code_challenge")]
    VerifierWrong,
    #[error(
        "code_verifier sent, but the authorization request carried no code_challenge \
         (RFC 9700 §2.1.1)"
    )]
    VerifierUnexpected,
    #[error("The user is disabled")]
    UserDisabled,
}

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error(transparent)]
    Refused(#[from] CodeRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token encoding failed")]
    Token(#[from] jsonwebtoken::errors::Error),
}

impl From<IdTokenError> for CodeError {
    fn from(err: IdTokenError) -> Self {
        match err {
            IdTokenError::Store(err) => CodeError::Store(err),
            IdTokenError::Token(err) => CodeError::Token(err),
        }
    }
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.2's S256: BASE64URL(SHA256(ASCII(verifier))).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()).0)
}

/// Whether a live code may be traded by `client` with this request.
fn check(
    code: &StoredCode,
    client: &Client,
    request: &CodeExchange<'_>,
) -> Result<(), CodeRefused> {
    if code.client_id != client.id {
        return Err(CodeRefused::OtherClient);
    }
    let redirect_matches = match (&code.redirect_uri, request.redirect_uri) {
        (Some(bound), Some(presented)) => bound == presented,
        (Some(_), None) => false,
        (None, presented) => presented.is_none_or(|uri| client.redirect_uri(Some(uri)).is_some()),
    };
    if !redirect_matches {
        return Err(CodeRefused::RedirectUri);
    }
    match (&code.code_challenge, request.code_verifier) {
        (Some(_), None) => Err(CodeRefused::VerifierMissing),
        (Some(challenge), Some(verifier)) => {
            let computed = s256_challenge(verifier);
            let equal: bool = computed.as_bytes().ct_eq(challenge.as_bytes()).into();
            if well_formed_verifier(verifier) && equal {
                Ok(())
            } else {
                Err(CodeRefused::VerifierWrong)
            }
        }
        (None, Some(_)) => Err(CodeRefused::VerifierUnexpected),
        (None, None) => Ok(()),
    }
}

/// Trades a code for a session of `client` and its first tokens: the refresh token only for a
/// client registered for the refresh grant. The code is spent whatever the outcome: a code
/// that failed a check cannot be tried again.
///
/// The store starts the code's session in one statement, before the checks (one round trip,
/// as a refresh): a check that fails ends that session at once, before any token of it
/// exists, and a replay of the code finds it ended.
pub async fn exchange_code(
    auth: &Auth,
    client: &Client,
    request: CodeExchange<'_>,
) -> Result<TokenResponse, CodeError> {
    let now = auth.clock.now();
    let exchanged = auth
        .sessions
        .exchange_code(request.code, now, auth.users.as_ref())
        .await?;
    let (
        Started {
            code,
            session,
            user,
            second_factor,
        },
        refresh_token,
    ) = match exchanged {
        Ok(started) => started,
        // Disabled between the consent and the exchange: nothing started (ASVS V7.4.2).
        Err(NotStarted::UserDisabled { .. }) => return Err(CodeRefused::UserDisabled.into()),
        Err(NotStarted::Replayed { .. }) => return Err(CodeRefused::Replayed.into()),
        Err(NotStarted::Ended) => return Err(CodeRefused::Ended.into()),
        Err(NotStarted::Expired) => return Err(CodeRefused::Expired.into()),
        Err(NotStarted::Unknown) => return Err(CodeRefused::Unknown.into()),
    };
    if let Err(refused) = check(&code, client, &request) {
        auth.sessions
            .end(&session.id, now, EndReason::CodeRefused)
            .await?;
        return Err(refused.into());
    }
    let scope = auth.scopes.grantable(&code.scope, &user.scopes);
    let mut grant = issue_grant(auth, user, &session, scope, refresh_token, now).await?;
    let nonce = code.nonce.as_deref();
    let sign_in = SignIn {
        second_factor,
        ..SignIn::of(&code)
    };
    grant.id_token = id_token(auth, &grant, &client.id, &sign_in, nonce, now).await?;
    Ok(TokenResponse {
        refresh_token: client.refresh.then_some(grant.refresh_token),
        access_token: grant.access_token,
        scope: grant.scope,
        id_token: grant.id_token,
    })
}
