//! The one place a JWT is signed: a key and the header that names it. Access tokens and
//! id_tokens each have a [`Signer`]; what differs between them is their claims and keys.

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use crate::auth::tokens::keys::SigningKey;

/// A key that signs, with the header every token it signs carries.
pub struct Signer {
    key: EncodingKey,
    header: Header,
}

impl Signer {
    /// Signs with an asymmetric key: the header names its algorithm and, as `kid`, the
    /// published key that verifies it (RFC 7515 §4.1.4).
    pub fn with_key(key: &SigningKey) -> Self {
        let mut header = Header::new(key.algorithm());
        header.kid = Some(key.kid().to_owned());
        Self {
            key: key.encoding().clone(),
            header,
        }
    }

    /// Signs with HS256 and `secret`, under the tutorial's header, byte for byte:
    /// `{"alg":"HS256","typ":"JWT"}`.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_secret(secret).expect("a SecretKey is never empty"),
            header: Header::new(jsonwebtoken::Algorithm::HS256),
        }
    }

    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&self.header, claims, &self.key)
    }
}
