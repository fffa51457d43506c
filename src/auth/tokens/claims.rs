//! What an access token says: the claims passflow writes and the claims it reads (those of
//! the tutorial's PyJWT tokens included).

use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::model::scopes::{Scope, ScopeSet, deserialize_claim};
use crate::model::time::UnixTime;

/// What passflow writes into a token.
#[derive(Serialize)]
pub(super) struct NewClaims<'a> {
    pub(super) sub: &'a str,
    pub(super) exp: UnixTime,
    pub(super) iat: UnixTime,
    pub(super) jti: String,
    /// The session the token belongs to (OpenID Connect's `sid`): ending the session
    /// refuses the token (ASVS V7.4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sid: Option<&'a str>,
    /// RFC 8693 §4.2: space-separated, like the token response's `scope`.
    pub(super) scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) aud: Option<&'a str>,
    /// The registered client the session belongs to (RFC 9068 §2.2); absent for a password
    /// login, as before clients existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) client_id: Option<&'a str>,
}

/// What passflow reads from a token. Only `sub` and `exp` are required, so tokens minted by
/// the FastAPI tutorial (PyJWT, the same key, `{"sub", "exp"}`) stay valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: UnixTime,
    #[serde(default)]
    pub nbf: Option<UnixTime>,
    #[serde(default)]
    pub iat: Option<UnixTime>,
    /// The session id; absent in tokens minted before sessions, or by the tutorial.
    #[serde(default)]
    pub sid: Option<String>,
    /// The granted scopes. Absent in tokens from the JWT chapter, which predates scopes; see
    /// `CurrentUser` for how that is read.
    #[serde(default, deserialize_with = "deserialize_claim")]
    pub scope: Option<ScopeSet>,
    /// Checked against `TOKEN_ISSUER` when that is set; reported by introspection.
    #[serde(default)]
    pub iss: Option<String>,
    /// A string or an array of strings (RFC 7519 §4.1.3), as the token carries it.
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
    /// The registered client whose code exchange started the session (RFC 9068 §2.2).
    #[serde(default)]
    pub client_id: Option<String>,
}

impl Claims {
    /// Whether the token grants `scope` to a user allowed `allowed` now: a scope it carries
    /// (any, for a token without a `scope` claim, the JWT chapter's) that the user is still
    /// allowed. Asked by every protected request, so no set is built.
    pub fn grants(&self, scope: &Scope, allowed: &ScopeSet) -> bool {
        allowed.contains(scope)
            && self
                .scope
                .as_ref()
                .is_none_or(|claim| claim.contains(scope))
    }
}

/// The session an access token is minted in.
#[derive(Debug, Clone, Copy)]
pub struct SessionBound<'a> {
    pub id: &'a str,
    /// The earliest of the session's absolute and idle deadlines.
    pub ends_at: UnixTime,
    /// The session's registered client, if a code exchange started it.
    pub client_id: Option<&'a str>,
}

/// A minted access token and the seconds it lives (the token response's `expires_in`).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

/// Any reason a token is refused. Clients only ever see "Could not validate credentials".
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(#[from] pub(super) jsonwebtoken::errors::Error);

impl InvalidToken {
    pub(super) fn expired() -> Self {
        Self(ErrorKind::ExpiredSignature.into())
    }
}
