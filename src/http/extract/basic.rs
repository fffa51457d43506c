//! HTTP Basic client credentials (RFC 6749 §2.3.1, `client_secret_basic`), where a request
//! carries them. Other `Authorization` schemes are not this extractor's business.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};

use crate::auth::oauth::clients::ClientCredentials;

/// `Authorization: Basic` as (client id, secret), or `None`. Its `Debug` shows the id only.
pub struct BasicCredentials(pub Option<(String, String)>);

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.0.as_ref().map(|(id, _)| id);
        f.debug_tuple("BasicCredentials").field(&id).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BasicCredentials {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let basic = parts.headers.typed_get::<Authorization<Basic>>();
        Ok(Self(basic.map(|Authorization(basic)| {
            (basic.username().to_owned(), basic.password().to_owned())
        })))
    }
}

/// Client credentials sent both ways at once, or a form `client_id` that is not the
/// header's: they prove no client (RFC 6749 §2.3: one method per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConflictingCredentials {
    #[error("Client credentials sent both in the Authorization header and in the form")]
    BothWays,
    #[error("client_id differs from the Authorization header's")]
    OtherId,
}

impl BasicCredentials {
    /// How a request identifies its client: HTTP Basic, or the form's `client_id` (and
    /// `client_secret`); never both ways at once.
    pub fn with_form<'a>(
        &'a self,
        id: Option<&'a str>,
        secret: Option<&'a str>,
    ) -> Result<Option<ClientCredentials<'a>>, ConflictingCredentials> {
        match (&self.0, id, secret) {
            (Some(_), _, Some(_)) => Err(ConflictingCredentials::BothWays),
            (Some((basic_id, _)), Some(id), None) if id != basic_id => {
                Err(ConflictingCredentials::OtherId)
            }
            (Some((id, secret)), _, None) => Ok(Some(ClientCredentials::Basic { id, secret })),
            (None, Some(id), Some(secret)) => Ok(Some(ClientCredentials::Post { id, secret })),
            (None, Some(id), None) => Ok(Some(ClientCredentials::Public { id })),
            (None, None, _) => Ok(None),
        }
    }
}
