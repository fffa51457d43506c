//! OpenID Connect's id_token (Core §2, §3.1.3.6): the signed statement that tells a client
//! who signed in, when and how. RS256 with a `kid`, what a client that registers nothing
//! must accept (Core §15.1), under a key of its own (`ID_TOKEN_SIGNING_KEY_FILE`) that never
//! signs an access token: an id_token names no key the access-token check knows, so it is
//! refused wherever an access token is asked for.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::auth::tokens::keys::SigningKey;
use crate::auth::tokens::signer::Signer;
use crate::model::time::UnixTime;

/// The id_token keys: the first signs, every one is published (rotation: a new key first
/// published beside the old).
pub struct IdTokens {
    signer: Arc<Signer>,
    keys: Vec<SigningKey>,
    issuer: String,
    /// Seconds an id_token lives (`ACCESS_TOKEN_EXPIRE_MINUTES`, as its access token).
    lifetime: u64,
}

/// How the user authenticated (RFC 8176 `amr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// A password.
    Password,
    /// A password and a one-time code (TOTP or a recovery code).
    PasswordAndCode,
}

impl Methods {
    fn amr(self) -> &'static [&'static str] {
        match self {
            Methods::Password => &["pwd"],
            Methods::PasswordAndCode => &["pwd", "otp", "mfa"],
        }
    }
}

/// An id_token of this server's, as a hint names its user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Hint {
    /// The user's stable id.
    pub sub: String,
    /// The client it was issued to.
    pub aud: String,
    /// The browser session it was issued in.
    pub sid: Option<String>,
}

/// What an id_token says of one sign-in.
pub struct SignInFacts<'a> {
    /// The user's stable id.
    pub subject: &'a str,
    /// The client the token is for.
    pub client_id: &'a str,
    /// When the user last gave their password.
    pub auth_time: UnixTime,
    /// The authorization request's `nonce`, when it sent one.
    pub nonce: Option<&'a str>,
    /// The access token issued beside it.
    pub access_token: &'a str,
    pub methods: Methods,
    /// The browser session the sign-in happened in (`sid`, for logout).
    pub session: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: UnixTime,
    iat: UnixTime,
    auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    amr: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

/// Core §3.1.3.6: the base64url of the left half of the access token's hash, the hash of
/// the id_token's algorithm (SHA-256 for RS256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

impl IdTokens {
    /// `keys`: RS256 keys, the signing one first; never empty.
    pub fn new(keys: Vec<SigningKey>, issuer: &str, lifetime: u64) -> Self {
        Self {
            signer: Arc::new(Signer::with_key(&keys[0])),
            keys,
            issuer: issuer.to_owned(),
            lifetime,
        }
    }

    /// The public keys, for the JWKS.
    pub fn jwks(&self) -> impl Iterator<Item = &Jwk> {
        self.keys.iter().map(SigningKey::public_jwk)
    }

    /// The `kid` of the key that signs now.
    pub fn kid(&self) -> &str {
        self.keys[0].kid()
    }

    /// What an id_token this server issued says (an `id_token_hint`, OpenID Connect Core
    /// §3.1.2.1, RP-Initiated Logout §2): its signature checked against every id_token key,
    /// the issuer pinned; expired, it still names its user and client. `None` for anything
    /// else.
    pub fn hint(&self, id_token: &str) -> Option<Hint> {
        let kid = jsonwebtoken::decode_header(id_token).ok()?.kid?;
        let key = self.keys.iter().find(|key| key.kid() == kid)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        let decoded = jsonwebtoken::decode::<Hint>(id_token, key.decoding(), &validation);
        decoded.ok().map(|token| token.claims)
    }

    /// An id_token for `facts`, issued `now`, its RSA signature made off the async workers
    /// ([`Signer::sign_in_pool`]).
    pub async fn issue(
        &self,
        facts: &SignInFacts<'_>,
        now: UnixTime,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            iss: &self.issuer,
            sub: facts.subject,
            aud: facts.client_id,
            exp: now + self.lifetime,
            iat: now,
            auth_time: facts.auth_time,
            nonce: facts.nonce,
            at_hash: at_hash(facts.access_token),
            amr: facts.methods.amr(),
            sid: facts.session,
        };
        self.signer.sign_in_pool(&claims).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha_256() {
        // OpenID Connect Core §A.3's example: RS256, its access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
