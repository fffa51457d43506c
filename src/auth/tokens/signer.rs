//! The one place a JWT is signed: a key and the header that names it. Access tokens and
//! id_tokens each have a [`Signer`]; what differs between them is their claims and keys.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::auth::tokens::keys::SigningKey;

/// A key that signs, with the header every token it signs carries.
pub struct Signer {
    key: Key,
    header: Header,
}

enum Key {
    /// HMAC, Ed25519, ECDSA: signed by jsonwebtoken.
    Jwt(EncodingKey),
    /// RSA, parsed once. jsonwebtoken parses and checks an RSA key from its DER on every
    /// signature, which doubled the cost of each id_token (BENCHMARKS.md); the signature
    /// itself is aws-lc-rs's RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), as there.
    Rsa(Arc<RsaKeyPair>),
}

impl Signer {
    /// Signs with an asymmetric key: the header names its algorithm and, as `kid`, the
    /// published key that verifies it (RFC 7515 §4.1.4).
    pub fn with_key(key: &SigningKey) -> Self {
        let mut header = Header::new(key.algorithm());
        header.kid = Some(key.kid().to_owned());
        let rsa = (key.algorithm() == Algorithm::RS256)
            .then(|| RsaKeyPair::from_der(key.encoding().as_bytes()).ok())
            .flatten();
        let key = match rsa {
            Some(pair) => Key::Rsa(Arc::new(pair)),
            None => Key::Jwt(key.encoding().clone()),
        };
        Self { key, header }
    }

    /// Signs with HS256 and `secret`, under the tutorial's header, byte for byte:
    /// `{"alg":"HS256","typ":"JWT"}`.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            key: Key::Jwt(EncodingKey::from_secret(secret).expect("a SecretKey is never empty")),
            header: Header::new(Algorithm::HS256),
        }
    }

    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        let pair = match &self.key {
            Key::Jwt(key) => return jsonwebtoken::encode(&self.header, claims, key),
            Key::Rsa(pair) => pair,
        };
        // JWS Compact Serialization (RFC 7515 §7.1), as jsonwebtoken writes it.
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.header)?);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
        let message = format!("{header}.{payload}");
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .map_err(|_| ErrorKind::RsaFailedSigning)?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::keys::{TokenAlgorithm, generate};

    #[test]
    fn an_rsa_signature_is_what_jsonwebtoken_verifies_and_writes() {
        let pem = generate(TokenAlgorithm::Rs256).unwrap();
        let key = SigningKey::from_pem(TokenAlgorithm::Rs256, pem.as_bytes()).unwrap();
        let claims = serde_json::json!({"sub": "johndoe", "exp": 4_000_000_000u64});
        let token = Signer::with_key(&key).sign(&claims).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["sub"]);
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(&token, key.decoding(), &validation).unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.kid.as_deref(), Some(key.kid()));
        // PKCS#1 v1.5 is deterministic: the same bytes jsonwebtoken itself signs.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid().to_owned());
        assert_eq!(
            token,
            jsonwebtoken::encode(&header, &claims, key.encoding()).unwrap()
        );
    }
}
