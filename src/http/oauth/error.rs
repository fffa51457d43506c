//! The protocol endpoints' domain errors as answers: `/token`'s password grant in the
//! tutorial's `{"detail": ...}` words (its clients are FastAPI's), the refresh grant, client
//! authentication and introspection in RFC 6749 §5.2's shape with `detail`, and the
//! authorization-code grant in RFC 6749 §5.2's own words (`error_description`).

use crate::auth::oauth::clients::ClientRefused;
use crate::auth::oauth::code::{CodeError, CodeRefused};
use crate::auth::oauth::introspection::IntrospectionError;
use crate::auth::{LoginError, RefreshError};
use crate::http::error::{ApiError, OAuthError};

/// The login use case's outcomes, as the tutorial's wire contract words them.
impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Throttled(throttled) => throttled.into(),
            LoginError::IncorrectCredentials => ApiError::IncorrectLogin,
            LoginError::UnknownScope(name) => {
                ApiError::InvalidScope(format!("Unknown scope: {name}"))
            }
            LoginError::ScopeNotAllowed(scope) => {
                ApiError::InvalidScope(format!("Scope not allowed for this user: {scope}"))
            }
            LoginError::TotpRequired => ApiError::TotpRequired,
            LoginError::IncorrectTotp => ApiError::IncorrectTotp,
            LoginError::Busy(_) => ApiError::Overloaded,
            LoginError::Store(err) => err.into(),
            LoginError::Token(err) => ApiError::Internal(err.into()),
            LoginError::Unsealable(err) => ApiError::Internal(err.into()),
        }
    }
}

/// The refresh use case's outcomes as RFC 6749 §5.2 errors.
impl From<RefreshError> for ApiError {
    fn from(err: RefreshError) -> Self {
        let oauth = |error, detail: String| ApiError::OAuth { error, detail };
        match err {
            RefreshError::Throttled(throttled) => throttled.into(),
            RefreshError::Refused(_) | RefreshError::UserDisabled | RefreshError::OtherClient => {
                oauth(OAuthError::InvalidGrant, err.to_string())
            }
            RefreshError::InvalidClient => ApiError::InvalidClient,
            RefreshError::InvalidScope(detail) => oauth(OAuthError::InvalidScope, detail),
            RefreshError::Store(err) => err.into(),
            RefreshError::Token(err) => ApiError::Internal(err.into()),
        }
    }
}

impl From<IntrospectionError> for ApiError {
    fn from(err: IntrospectionError) -> Self {
        match err {
            IntrospectionError::Stale(stale) => stale.into(),
            IntrospectionError::Store(err) => err.into(),
        }
    }
}

/// A protocol client that did not prove who it is (RFC 6749 §5.2).
impl From<ClientRefused> for ApiError {
    fn from(err: ClientRefused) -> Self {
        match err {
            ClientRefused::Throttled(throttled) => throttled.into(),
            ClientRefused::InvalidClient => ApiError::InvalidClient,
            ClientRefused::Store(err) => err.into(),
        }
    }
}

/// The code grant's outcomes, in RFC 6749 §5.2's own shape.
impl From<CodeError> for ApiError {
    fn from(err: CodeError) -> Self {
        match err {
            CodeError::Refused(refused) => invalid_grant(refused),
            CodeError::Store(err) => err.into(),
            CodeError::Token(err) => ApiError::Internal(err.into()),
        }
    }
}

fn invalid_grant(refused: CodeRefused) -> ApiError {
    ApiError::Protocol {
        error: OAuthError::InvalidGrant,
        description: refused.to_string(),
    }
}

/// A client of the code grant that did not prove who it is.
pub(crate) fn code_client_refused(err: ClientRefused) -> ApiError {
    match err {
        ClientRefused::InvalidClient => ApiError::Protocol {
            error: OAuthError::InvalidClient,
            description: "Client authentication failed".into(),
        },
        other => other.into(),
    }
}
