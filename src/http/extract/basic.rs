//! HTTP Basic client credentials (RFC 6749 §2.3.1, `client_secret_basic`), where a request
//! carries them. Other `Authorization` schemes are not this extractor's business.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};

use crate::auth::oauth::clients::ClientCredentials;

/// `Authorization: Basic` as (client id, secret), or `None`. Its `Debug` shows the id only.
///
/// RFC 6749 §2.3.1 has a client form-urlencode its id and secret before Basic encodes them,
/// and strict clients do (`openid-client` sends `-` as `%2D`), so both are decoded. Ids and
/// secrets passflow makes are base64url, which decoding leaves as they are.
pub struct BasicCredentials {
    /// The id and secret, form-urldecoded.
    pub pair: Option<(String, String)>,
    /// The id and secret as sent, where decoding changed them: a resource server whose
    /// `INTROSPECTION_CLIENTS` secret holds `%` or `+` and that sends it unencoded, as
    /// passflow read it before, is still let in.
    as_sent: Option<(String, String)>,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.pair.as_ref().map(|(id, _)| id);
        f.debug_tuple("BasicCredentials").field(&id).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BasicCredentials {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let basic = parts.headers.typed_get::<Authorization<Basic>>();
        Ok(match basic {
            Some(Authorization(basic)) => Self::sent(basic.username(), basic.password()),
            None => Self {
                pair: None,
                as_sent: None,
            },
        })
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
/// `None`: the bytes are not UTF-8, so the value is taken as sent.
fn form_urldecoded(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

impl BasicCredentials {
    fn sent(id: &str, secret: &str) -> Self {
        let decoded = (
            form_urldecoded(id).unwrap_or_else(|| id.to_owned()),
            form_urldecoded(secret).unwrap_or_else(|| secret.to_owned()),
        );
        let changed = decoded.0 != id || decoded.1 != secret;
        Self {
            pair: Some(decoded),
            as_sent: changed.then(|| (id.to_owned(), secret.to_owned())),
        }
    }

    /// Every reading of the credentials to try, the decoded one first.
    pub fn readings(&self) -> impl Iterator<Item = (&str, &str)> {
        [&self.pair, &self.as_sent]
            .into_iter()
            .flatten()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
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
        match (&self.pair, id, secret) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_half_is_form_urldecoded_and_kept_as_sent_when_that_changed_it() {
        let basic = BasicCredentials::sent("my%2Dapp%5F1", "a%2Bb+c%25");
        assert_eq!(basic.pair, Some(("my-app_1".into(), "a+b c%".into())));
        assert_eq!(
            basic.readings().collect::<Vec<_>>(),
            [("my-app_1", "a+b c%"), ("my%2Dapp%5F1", "a%2Bb+c%25")]
        );
        // base64url, as passflow makes ids and secrets: one reading, unchanged.
        let plain = BasicCredentials::sent("Zm9v-_x", "c2VjcmV0-_y");
        assert_eq!(
            plain.readings().collect::<Vec<_>>(),
            [("Zm9v-_x", "c2VjcmV0-_y")]
        );
        // Not UTF-8 once decoded: taken as sent.
        let odd = BasicCredentials::sent("id", "%FF");
        assert_eq!(odd.readings().collect::<Vec<_>>(), [("id", "%FF")]);
    }
}
