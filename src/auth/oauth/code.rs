//! The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636): a code issued when a
//! user allows a client, traded once at the token endpoint for a session of that client.
//!
//! Codes are 256 bits from the OS RNG, stored as SHA-256 digests, live
//! `AUTHORIZATION_CODE_LIFETIME_SECONDS` (60 by default, ASVS V10.4.3), and are bound to the
//! client, the redirect URI, the PKCE challenge, the nonce, the scopes and the login's time.
//! An exchange spends the code and starts the session in one transaction; a second exchange
//! is refused and ends that session (ASVS V10.4.2).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::auth::Auth;
use crate::auth::oauth::grant::{Grant, issue_grant};
use crate::auth::sessions::EndReason;
use crate::auth::tokens::refresh_token::sha256;
use crate::auth::tokens::secret::os_random_base64url;
use crate::model::client::Client;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::store::codes::{Exchange, StoredCode};

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
    pub username: String,
    pub scope: ScopeSet,
    pub auth_time: UnixTime,
}

/// Issues a code for `authorization`, valid for `lifetime` seconds from now.
pub async fn issue_code(
    auth: &Auth,
    authorization: Authorization,
    lifetime: u64,
) -> Result<String, StoreError> {
    let code = os_random_base64url(32).map_err(|err| StoreError::Unavailable(Box::new(err)))?;
    let now = auth.clock.now();
    auth.sessions
        .issue_code(StoredCode {
            digest: sha256(code.as_bytes()),
            client_id: authorization.client_id,
            redirect_uri: authorization.redirect_uri,
            code_challenge: authorization.code_challenge,
            nonce: authorization.nonce,
            username: authorization.username,
            scope: authorization.scope,
            auth_time: authorization.auth_time,
            expires_at: now + lifetime,
        })
        .await?;
    Ok(code)
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

/// Trades a code for a session of `client` and its first token pair. The code is spent
/// whatever the outcome: a code that failed a check cannot be tried again.
pub async fn exchange_code(
    auth: &Auth,
    client: &Client,
    request: CodeExchange<'_>,
) -> Result<Grant, CodeError> {
    let now = auth.clock.now();
    let prepared = auth.sessions.prepare();
    let max_lifetime = auth.sessions.settings().max_lifetime;
    let start = |code: &StoredCode| {
        check(code, client, &request).ok().map(|()| {
            prepared.stored(
                &code.username,
                &code.scope,
                Some(&client.id),
                now,
                max_lifetime,
            )
        })
    };
    let digest = sha256(request.code.as_bytes());
    let code = match auth.sessions.exchange_code(&digest, now, &start).await? {
        Exchange::Spent {
            code,
            started: true,
        } => code,
        Exchange::Spent {
            code,
            started: false,
        } => {
            let refusal = check(&code, client, &request).err();
            return Err(refusal.unwrap_or(CodeRefused::Unknown).into());
        }
        Exchange::Replayed { .. } => return Err(CodeRefused::Replayed.into()),
        Exchange::Expired => return Err(CodeRefused::Expired.into()),
        Exchange::Unknown => return Err(CodeRefused::Unknown.into()),
    };
    let session = prepared.stored(
        &code.username,
        &code.scope,
        Some(&client.id),
        now,
        max_lifetime,
    );
    let user = match auth.users.get_user_fresh(&code.username).await? {
        Some(user) if !user.profile.disabled => user,
        // Disabled between the consent and the exchange: no tokens, and the session the
        // exchange started ends (ASVS V7.4.2).
        _ => {
            auth.sessions
                .end(&session.record.id, now, EndReason::UserDisabled)
                .await?;
            return Err(CodeRefused::UserDisabled.into());
        }
    };
    let scope = code.scope.intersection(&user.scopes);
    Ok(issue_grant(
        auth,
        Arc::clone(&user),
        &session.record,
        scope,
        prepared.into_refresh_token(),
        now,
    )?)
}
