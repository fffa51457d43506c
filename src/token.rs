//! JWT access tokens: the tutorial's `create_access_token` and the decoding half of
//! `get_current_user`.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

/// Shortest `SECRET_KEY` accepted: HS256 keys shorter than the hash output (32 bytes) are
/// weaker than the algorithm, and RFC 7518 §3.2 requires at least that much.
pub const MIN_SECRET_LEN: usize = 32;

/// The HMAC key that signs and verifies tokens. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SECRET_KEY is {0} bytes long; it must be at least {MIN_SECRET_LEN}. \
     Make one with `openssl rand -hex 32` (or `passflow gen-secret`)"
)]
pub struct SecretTooShort(pub usize);

impl SecretKey {
    /// Used as given, like PyJWT uses the tutorial's hex string: its bytes are the key.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SecretTooShort> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_LEN {
            return Err(SecretTooShort(secret.len()));
        }
        Ok(Self(secret))
    }

    /// A fresh key, as `openssl rand -hex 32` would print it.
    pub fn random() -> Self {
        Self(random_hex(32).into_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How tokens are minted and checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub secret: SecretKey,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`.
    pub lifetime: Duration,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway: u64,
    /// When set, minted tokens carry `iss` and decoding requires it.
    pub issuer: Option<String>,
    /// When set, minted tokens carry `aud` and decoding requires it.
    pub audience: Option<String>,
}

impl TokenSettings {
    pub fn new(secret: SecretKey, lifetime: Duration) -> Self {
        Self {
            secret,
            lifetime,
            leeway: 0,
            issuer: None,
            audience: None,
        }
    }
}

/// What passflow writes into a token.
#[derive(Serialize)]
struct NewClaims<'a> {
    sub: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// What passflow reads from a token. Only `sub` and `exp` are required, so tokens minted by
/// the FastAPI tutorial (PyJWT, the same key, `{"sub", "exp"}`) stay valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    /// Space-separated granted scopes. Absent in tokens from the JWT chapter, which predates
    /// scopes; see `CurrentUser` for how that is read.
    pub scope: Option<String>,
}

/// Any reason a token is refused. Clients only ever see "Could not validate credentials".
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(#[from] jsonwebtoken::errors::Error);

/// How many verified tokens [`TokenKeys::decode`] remembers.
const VERIFIED_TOKENS_CACHED: usize = 10_000;

/// Keys, header and validation rules, built once at start-up and shared by every request.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
    settings: TokenSettings,
    verified: Cache<String, Arc<Claims>>,
}

impl TokenKeys {
    pub fn new(settings: TokenSettings) -> Self {
        // The algorithm is pinned: a token's own `alg` header is never trusted, so `none`,
        // HS384/HS512 and public-key algorithms (key-confusion attacks) are all refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = settings.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
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
        Self {
            encoding: EncodingKey::from_secret(&settings.secret.0),
            decoding: DecodingKey::from_secret(&settings.secret.0),
            header: Header::new(Algorithm::HS256),
            validation,
            settings,
            verified: Cache::new(VERIFIED_TOKENS_CACHED),
        }
    }

    /// The tutorial's `create_access_token`: `sub`, `exp` (now + lifetime), plus `iat`, a
    /// random `jti` and the granted `scope`.
    pub fn create_access_token(
        &self,
        username: &str,
        scope: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = NewClaims {
            sub: username,
            exp: now + self.settings.lifetime.as_secs(),
            iat: now,
            jti: random_hex(16),
            scope,
            iss: self.settings.issuer.as_deref(),
            aud: self.settings.audience.as_deref(),
        };
        jsonwebtoken::encode(&self.header, &claims, &self.encoding)
    }

    /// Verifies signature, algorithm and time claims, and returns the claims.
    ///
    /// Clients send the same token with every request, so a verified token is remembered
    /// (bounded, keyed by the whole token, signature included: nothing unverified can match)
    /// and later only its expiry is checked again. `nbf` needs no re-check: once passed, it
    /// stays passed.
    pub fn decode(&self, token: &str) -> Result<Arc<Claims>, InvalidToken> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(claims) = self.verified.get(token) {
            if claims.exp.saturating_add(self.settings.leeway) >= now {
                return Ok(claims);
            }
            self.verified.remove(token);
            return Err(InvalidToken(ErrorKind::ExpiredSignature.into()));
        }
        let claims = Arc::new(
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims,
        );
        self.verified.insert(token.to_owned(), Arc::clone(&claims));
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(TokenSettings::new(
            SecretKey::new("k".repeat(32)).unwrap(),
            Duration::from_secs(60),
        ))
    }

    #[test]
    fn round_trips_subject_and_scope() {
        let keys = keys();
        let token = keys.create_access_token("johndoe", "me items").unwrap();
        let claims = keys.decode(&token).unwrap();
        assert_eq!(claims.sub, "johndoe");
        assert_eq!(claims.scope.as_deref(), Some("me items"));
        let now = jsonwebtoken::get_current_timestamp();
        assert!((now + 59..=now + 60).contains(&claims.exp));
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_expired() {
        let keys = TokenKeys::new(TokenSettings::new(
            SecretKey::new("k".repeat(32)).unwrap(),
            Duration::from_secs(1),
        ));
        let token = keys.create_access_token("johndoe", "me").unwrap();
        assert!(keys.decode(&token).is_ok());
        assert!(
            keys.decode(&token).is_ok(),
            "second decode comes from the cache"
        );
        std::thread::sleep(Duration::from_millis(2100));
        assert!(keys.decode(&token).is_err());
        assert!(keys.decode(&token).is_err());
    }

    #[test]
    fn a_forged_token_never_matches_a_remembered_one() {
        let keys = keys();
        let token = keys.create_access_token("johndoe", "me").unwrap();
        keys.decode(&token).unwrap();
        let forged = format!("{}x", token);
        assert!(keys.decode(&forged).is_err());
    }

    #[test]
    fn refuses_short_secrets_and_names_the_variable() {
        let err = SecretKey::new("x".repeat(31)).unwrap_err();
        assert_eq!(err, SecretTooShort(31));
        let message = err.to_string();
        assert!(message.contains("SECRET_KEY"), "{message}");
        assert!(message.contains("openssl rand -hex 32"), "{message}");
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
