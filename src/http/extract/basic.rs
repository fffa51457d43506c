//! HTTP Basic client credentials (RFC 6749 §2.3.1, `client_secret_basic`), where a request
//! carries them. Other `Authorization` schemes are not this extractor's business.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};

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
