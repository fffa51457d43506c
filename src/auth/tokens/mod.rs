//! Access tokens, in one home: the keys (the HS256 secret, signing keys and their algorithms,
//! rotation), [`TokenKeys`] that signs and verifies with them (with its cache of verified
//! tokens) and publishes the JWKS, the claims, and the access-token check every route makes.
//! The tutorial's `create_access_token` and the decoding half of `get_current_user`.

pub mod access;
pub mod claims;
pub mod id_token;
pub mod keys;
pub mod refresh_token;
pub mod secret;
pub mod settings;
pub mod signer;

pub use claims::{AccessToken, Claims, InvalidToken, SessionBound};
pub(crate) use secret::random_hex;
pub use secret::{MIN_SECRET_LEN, SecretKey, SecretTooShort};
pub use settings::TokenSettings;

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use quick_cache::sync::Cache;

use crate::auth::tokens::claims::NewClaims;
use crate::auth::tokens::signer::Signer;
use crate::model::scopes::ScopeSet;
use crate::model::time::{UnixTime, now};

/// How many verified tokens [`TokenKeys::decode`] remembers.
const VERIFIED_TOKENS_CACHED: usize = 10_000;

/// A public key that verifies tokens naming it by `kid`, with the one algorithm it accepts.
struct VerifyingKey {
    kid: String,
    key: DecodingKey,
    validation: Validation,
}

/// Keys, header and validation rules, built once at start-up and shared by every request.
pub struct TokenKeys {
    signer: Arc<Signer>,
    /// `SECRET_KEY` first, then `PREVIOUS_SECRET_KEYS` in order; empty when HS256 tokens are
    /// no longer accepted.
    hmac: Vec<DecodingKey>,
    hmac_validation: Validation,
    /// The signing key's public half, then the previous keys'.
    by_kid: Vec<VerifyingKey>,
    jwks: JwkSet,
    settings: TokenSettings,
    verified: Cache<String, Arc<Claims>>,
}

/// The rules every token meets whatever its key; `algorithm` is pinned, so a token's own
/// `alg` header is never trusted (RFC 8725 §3.1): `none`, other HMAC sizes and a
/// public-key algorithm on an HMAC key (key confusion) are all refused.
fn validation(algorithm: Algorithm, settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    // `exp` and `nbf` are checked against the caller's clock in `decode_at`, the same
    // way for fresh and remembered tokens; jsonwebtoken only requires `exp` to exist.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    if let Some(issuer) = &settings.issuer {
        validation.set_issuer(&[issuer]);
        validation.required_spec_claims.insert("iss".into());
    }
    // Without a configured audience, a token that names one is still refused, as PyJWT
    // does: it was meant for some other service.
    if let Some(audience) = &settings.audience {
        validation.set_audience(&[audience]);
        validation.required_spec_claims.insert("aud".into());
    }
    validation
}

fn hmac_key(secret: &SecretKey) -> DecodingKey {
    DecodingKey::from_secret(&secret.0).expect("a SecretKey is never empty")
}

impl TokenKeys {
    pub fn new(settings: TokenSettings) -> Self {
        let signer = match settings.signing_keys.first() {
            Some(key) => Arc::new(Signer::with_key(key)),
            None => Arc::new(Signer::hs256(&settings.secret.0)),
        };
        let hmac = if settings.accept_hs256 || settings.signing_keys.is_empty() {
            std::iter::once(&settings.secret)
                .chain(&settings.previous)
                .map(hmac_key)
                .collect()
        } else {
            Vec::new()
        };
        let by_kid = settings
            .signing_keys
            .iter()
            .map(|key| VerifyingKey {
                kid: key.kid().to_owned(),
                key: key.decoding().clone(),
                validation: validation(key.algorithm(), &settings),
            })
            .collect();
        let jwks = JwkSet {
            keys: settings
                .signing_keys
                .iter()
                .map(|key| key.public_jwk().clone())
                .collect(),
        };
        Self {
            signer,
            hmac,
            hmac_validation: validation(Algorithm::HS256, &settings),
            by_kid,
            jwks,
            settings,
            verified: Cache::new(VERIFIED_TOKENS_CACHED),
        }
    }

    /// The public keys that verify this server's tokens (RFC 7517 §5): the signing key's,
    /// then the previous keys'. Empty with HS256: a symmetric key is never published.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The tutorial's `create_access_token`: `sub`, `exp` (now + lifetime), plus `iat`, a
    /// random `jti` and the granted `scope`. Belongs to no session; logins use
    /// [`Self::create_access_token_at`] with theirs.
    pub fn create_access_token(
        &self,
        username: &str,
        scope: &ScopeSet,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.create_access_token_at(username, scope, None, now())
            .map(|minted| minted.token)
    }

    /// [`Self::create_access_token`] as if the clock read `now`, inside `session` when given:
    /// the token carries its id as `sid` and expires no later than the session may
    /// (ASVS V7.3.2: no token outlives the session's absolute or idle deadline). Signed on the
    /// calling thread; the server's grants use [`Self::issue_access_token`].
    pub fn create_access_token_at(
        &self,
        username: &str,
        scope: &ScopeSet,
        session: Option<SessionBound<'_>>,
        now: UnixTime,
    ) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let claims = self.access_claims(username, scope, session.as_ref(), now);
        Ok(AccessToken {
            token: self.signer.sign(&claims)?,
            expires_in: claims.exp.saturating_sub(now),
        })
    }

    /// [`Self::create_access_token_at`], signed where it costs the server least
    /// ([`Signer::sign_in_pool`]: an RSA key's signature off the async workers).
    pub async fn issue_access_token(
        &self,
        username: &str,
        scope: &ScopeSet,
        session: Option<SessionBound<'_>>,
        now: UnixTime,
    ) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let claims = self.access_claims(username, scope, session.as_ref(), now);
        Ok(AccessToken {
            token: self.signer.sign_in_pool(&claims).await?,
            expires_in: claims.exp.saturating_sub(now),
        })
    }

    fn access_claims<'a>(
        &'a self,
        username: &'a str,
        scope: &ScopeSet,
        session: Option<&SessionBound<'a>>,
        now: UnixTime,
    ) -> NewClaims<'a> {
        let mut exp = now + self.settings.lifetime.as_secs();
        if let Some(session) = session {
            exp = exp.min(session.ends_at);
        }
        NewClaims {
            sub: username,
            exp,
            iat: now,
            jti: random_hex(16),
            sid: session.map(|session| session.id),
            scope: scope.to_string(),
            iss: self.settings.issuer.as_deref(),
            aud: self.settings.audience.as_deref(),
            client_id: session.and_then(|session| session.client_id),
        }
    }

    /// A key for `purpose`, derived from `SECRET_KEY` (see [`SecretKey::derive`]).
    pub fn derived_key(&self, purpose: &'static [u8]) -> [u8; 32] {
        self.settings.secret.derive(purpose)
    }

    /// [`Self::derived_key`], then the same from each of `PREVIOUS_SECRET_KEYS`: what
    /// recognises what was made for `purpose` before a rotation.
    pub fn derived_keys(&self, purpose: &'static [u8]) -> Vec<[u8; 32]> {
        std::iter::once(&self.settings.secret)
            .chain(&self.settings.previous)
            .map(|secret| secret.derive(purpose))
            .collect()
    }

    /// `ACCESS_TOKEN_EXPIRE_MINUTES` plus the clock-skew leeway, in seconds: the longest a
    /// token minted now can be accepted.
    pub fn longest_acceptance(&self) -> u64 {
        self.settings.lifetime.as_secs() + self.settings.leeway
    }

    /// `ACCESS_TOKEN_EXPIRE_MINUTES` in seconds.
    pub fn lifetime(&self) -> u64 {
        self.settings.lifetime.as_secs()
    }

    /// Verifies signature, algorithm and time claims, and returns the claims.
    pub fn decode(&self, token: &str) -> Result<Arc<Claims>, InvalidToken> {
        self.decode_at(token, now())
    }

    /// Checks the signature. A token naming a `kid` is checked only with that key and its
    /// algorithm; one without is HS256 and tried against each secret in turn (tokens from the
    /// tutorial, and PyJWT's, carry no key id). Any failure other than a signature mismatch
    /// is final.
    fn verify(&self, token: &str) -> Result<Claims, InvalidToken> {
        let header = jsonwebtoken::decode_header(token)?;
        if let Some(kid) = header.kid.as_deref() {
            let key = self
                .by_kid
                .iter()
                .find(|key| key.kid == kid)
                .ok_or_else(|| InvalidToken(ErrorKind::InvalidToken.into()))?;
            return Ok(jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation)?.claims);
        }
        let mut last = None;
        for key in &self.hmac {
            match jsonwebtoken::decode::<Claims>(token, key, &self.hmac_validation) {
                Ok(decoded) => return Ok(decoded.claims),
                Err(err) if *err.kind() == ErrorKind::InvalidSignature => last = Some(err),
                Err(err) => return Err(err.into()),
            }
        }
        Err(last
            .unwrap_or_else(|| ErrorKind::InvalidSignature.into())
            .into())
    }

    /// [`Self::decode`] as if the clock read `now`.
    ///
    /// Clients send the same token with every request, so a verified signature is remembered
    /// (bounded, keyed by the whole token, signature included: nothing unverified can match);
    /// the time claims are checked on every use.
    pub fn decode_at(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, InvalidToken> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify(token)?);
                self.verified.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        let leeway = self.settings.leeway;
        // RFC 7519 §4.1.4 and §4.1.5, with the configured clock-skew leeway.
        if claims.exp.saturating_add(leeway) < now {
            return Err(InvalidToken::expired());
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(InvalidToken(ErrorKind::ImmatureSignature.into()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(TokenSettings::new(
            SecretKey::new("k".repeat(32)).unwrap(),
            Duration::from_secs(60),
        ))
    }

    const NOW: UnixTime = 1_800_000_000;

    #[test]
    fn round_trips_subject_and_scope() {
        let keys = keys();
        let token = keys
            .create_access_token("johndoe", &ScopeSet::tutorial())
            .unwrap();
        let claims = keys.decode(&token).unwrap();
        assert_eq!(claims.sub, "johndoe");
        assert_eq!(claims.scope, Some(ScopeSet::tutorial()));
        let now = now();
        assert!((now + 59..=now + 60).contains(&claims.exp));
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_expired() {
        let keys = keys();
        let token = keys
            .create_access_token_at("johndoe", &ScopeSet::tutorial(), None, NOW)
            .unwrap()
            .token;
        assert!(keys.decode_at(&token, NOW).is_ok());
        assert!(
            keys.decode_at(&token, NOW + 60).is_ok(),
            "from the cache, on its last second"
        );
        assert!(keys.decode_at(&token, NOW + 61).is_err());
        assert!(keys.decode_at(&token, NOW + 61).is_err());
    }

    #[test]
    fn leeway_extends_both_ends_of_the_validity_window() {
        let keys = TokenKeys::new(TokenSettings {
            leeway: 5,
            ..TokenSettings::new(
                SecretKey::new("k".repeat(32)).unwrap(),
                Duration::from_secs(60),
            )
        });
        let token = keys
            .create_access_token_at("johndoe", &ScopeSet::tutorial(), None, NOW)
            .unwrap()
            .token;
        assert!(keys.decode_at(&token, NOW + 65).is_ok());
        assert!(keys.decode_at(&token, NOW + 66).is_err());
    }

    #[test]
    fn a_forged_token_never_matches_a_remembered_one() {
        let keys = keys();
        let token = keys
            .create_access_token("johndoe", &ScopeSet::tutorial())
            .unwrap();
        keys.decode(&token).unwrap();
        let forged = format!("{}x", token);
        assert!(keys.decode(&forged).is_err());
    }

    #[test]
    fn refuses_short_secrets() {
        let err = SecretKey::new("x".repeat(31)).unwrap_err();
        assert_eq!(err, SecretTooShort(31));
        assert_eq!(err.to_string(), "31 bytes long; it must be at least 32");
        assert!(SecretKey::new("x".repeat(32)).is_ok());
    }

    #[test]
    fn random_secrets_are_64_hex_digits() {
        let hex = random_hex(32);
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(hex, random_hex(32));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = SecretKey::new("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t").unwrap();
        assert_eq!(format!("{secret:?}"), "SecretKey(..)");
    }
}

#[cfg(test)]
mod rotation_tests {
    use std::time::Duration;

    use super::*;

    fn keys_with(secret: &str, previous: &[&str]) -> TokenKeys {
        TokenKeys::new(TokenSettings {
            previous: previous
                .iter()
                .map(|key| SecretKey::new(*key).unwrap())
                .collect(),
            ..TokenSettings::new(SecretKey::new(secret).unwrap(), Duration::from_secs(60))
        })
    }

    #[test]
    fn previous_keys_verify_but_never_sign() {
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let token = keys_with(&old, &[])
            .create_access_token("johndoe", &ScopeSet::tutorial())
            .unwrap();
        let rotated = keys_with(&new, &[&old]);
        assert_eq!(rotated.decode(&token).unwrap().sub, "johndoe");
        let fresh = rotated
            .create_access_token("johndoe", &ScopeSet::tutorial())
            .unwrap();
        assert!(
            keys_with(&new, &[]).decode(&fresh).is_ok(),
            "signed with SECRET_KEY"
        );
        assert!(keys_with(&old, &[]).decode(&fresh).is_err());
        assert!(
            keys_with(&new, &[]).decode(&token).is_err(),
            "old key dropped"
        );
    }
}
