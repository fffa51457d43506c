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

    /// Signs on the calling thread: what tests, benches and the offline CLI use, and what
    /// [`Self::sign_in_pool`] does for the fast keys.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        match &self.key {
            Key::Jwt(key) => jsonwebtoken::encode(&self.header, claims, key),
            Key::Rsa(pair) => self.sign_rsa(pair, &serde_json::to_vec(claims)?),
        }
    }

    /// Signs where it costs the server least. An RSA-3072 signature is ~0.9 ms of CPU: on an
    /// async worker it would stall every request that worker holds (and, on SQLite, leave the
    /// one connection idle), so it runs on tokio's blocking pool. HMAC, Ed25519 and ECDSA take
    /// microseconds, less than the hand-off to the pool would, and are signed here.
    pub async fn sign_in_pool(
        self: &Arc<Self>,
        claims: &impl Serialize,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let Key::Rsa(pair) = &self.key else {
            return self.sign(claims);
        };
        // Serialized here, so both ways sign the same bytes.
        let payload = serde_json::to_vec(claims)?;
        let (signer, pair) = (Arc::clone(self), Arc::clone(pair));
        match tokio::task::spawn_blocking(move || signer.sign_rsa(&pair, &payload)).await {
            Ok(signed) => signed,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// JWS Compact Serialization (RFC 7515 §7.1) of `payload`, as jsonwebtoken writes it.
    fn sign_rsa(
        &self,
        pair: &RsaKeyPair,
        payload: &[u8],
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.header)?);
        let payload = URL_SAFE_NO_PAD.encode(payload);
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

    #[tokio::test]
    async fn the_pool_signs_the_bytes_the_caller_would() {
        // Fields out of alphabetical order: a detour through `serde_json::Value` would sort
        // them, and the two ways would sign different bytes.
        #[derive(Serialize)]
        struct Claims {
            sub: &'static str,
            exp: u64,
            aud: &'static str,
        }
        let claims = Claims {
            sub: "johndoe",
            exp: 4_000_000_000,
            aud: "app",
        };
        let pem = generate(TokenAlgorithm::Rs256).unwrap();
        let rsa = SigningKey::from_pem(TokenAlgorithm::Rs256, pem.as_bytes()).unwrap();
        for signer in [Signer::with_key(&rsa), Signer::hs256(b"secret")] {
            let signer = Arc::new(signer);
            assert_eq!(
                signer.sign_in_pool(&claims).await.unwrap(),
                signer.sign(&claims).unwrap()
            );
        }
    }
}
