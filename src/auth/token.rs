//! JWT access tokens: the tutorial's `create_access_token` and the decoding half of
//! `get_current_user`.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

use crate::model::scopes::{ScopeSet, deserialize_claim};
use crate::model::time::{UnixTime, now};

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

/// A key setting that cannot be used; passflow refuses to start, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Secret(#[from] SecretTooShort),
    #[error(
        "PREVIOUS_SECRET_KEYS: key {position} is {len} bytes long; it must be at least \
         {MIN_SECRET_LEN}"
    )]
    Previous { position: usize, len: usize },
}

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
pub(crate) fn random_hex(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How tokens are minted and checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub secret: SecretKey,
    /// `PREVIOUS_SECRET_KEYS`: still accepted when verifying, never used to sign, so the
    /// key can be rotated without logging anyone out.
    pub previous: Vec<SecretKey>,
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
            previous: Vec::new(),
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
    exp: UnixTime,
    iat: UnixTime,
    jti: String,
    /// The session the token belongs to (OpenID Connect's `sid`): ending the session
    /// refuses the token (ASVS V7.4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    /// RFC 8693 §4.2: space-separated, like the token response's `scope`.
    scope: String,
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
    pub exp: UnixTime,
    #[serde(default)]
    pub nbf: Option<UnixTime>,
    #[serde(default)]
    pub iat: Option<UnixTime>,
    /// The session id; absent in tokens minted before sessions, or by the tutorial.
    #[serde(default)]
    pub sid: Option<String>,
    /// The granted scopes. Absent in tokens from the JWT chapter, which predates scopes; see
    /// `CurrentUser` for how that is read.
    #[serde(default, deserialize_with = "deserialize_claim")]
    pub scope: Option<ScopeSet>,
}

/// The session an access token is minted in.
#[derive(Debug, Clone, Copy)]
pub struct SessionBound<'a> {
    pub id: &'a str,
    /// The earliest of the session's absolute and idle deadlines.
    pub ends_at: UnixTime,
}

/// A minted access token and the seconds it lives (the token response's `expires_in`).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

/// Any reason a token is refused. Clients only ever see "Could not validate credentials".
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(#[from] jsonwebtoken::errors::Error);

impl InvalidToken {
    fn expired() -> Self {
        Self(ErrorKind::ExpiredSignature.into())
    }
}

/// How many verified tokens [`TokenKeys::decode`] remembers.
const VERIFIED_TOKENS_CACHED: usize = 10_000;

/// Keys, header and validation rules, built once at start-up and shared by every request.
pub struct TokenKeys {
    encoding: EncodingKey,
    /// `SECRET_KEY` first, then `PREVIOUS_SECRET_KEYS` in order.
    decoding: Vec<DecodingKey>,
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
        Self {
            encoding: EncodingKey::from_secret(&settings.secret.0),
            decoding: std::iter::once(&settings.secret)
                .chain(&settings.previous)
                .map(|key| DecodingKey::from_secret(&key.0))
                .collect(),
            header: Header::new(Algorithm::HS256),
            validation,
            settings,
            verified: Cache::new(VERIFIED_TOKENS_CACHED),
        }
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
    /// (ASVS V7.3.2: no token outlives the session's absolute or idle deadline).
    pub fn create_access_token_at(
        &self,
        username: &str,
        scope: &ScopeSet,
        session: Option<SessionBound<'_>>,
        now: UnixTime,
    ) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let mut exp = now + self.settings.lifetime.as_secs();
        if let Some(session) = &session {
            exp = exp.min(session.ends_at);
        }
        let claims = NewClaims {
            sub: username,
            exp,
            iat: now,
            jti: random_hex(16),
            sid: session.as_ref().map(|session| session.id),
            scope: scope.to_string(),
            iss: self.settings.issuer.as_deref(),
            aud: self.settings.audience.as_deref(),
        };
        Ok(AccessToken {
            token: jsonwebtoken::encode(&self.header, &claims, &self.encoding)?,
            expires_in: exp.saturating_sub(now),
        })
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

    /// Checks the signature against each key in turn (tokens carry no key id: PyJWT's do
    /// not either); any failure other than a signature mismatch is final.
    fn verify(&self, token: &str) -> Result<Claims, InvalidToken> {
        let mut last = None;
        for key in &self.decoding {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
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
            .create_access_token("johndoe", &ScopeSet::all())
            .unwrap();
        let claims = keys.decode(&token).unwrap();
        assert_eq!(claims.sub, "johndoe");
        assert_eq!(claims.scope, Some(ScopeSet::all()));
        let now = now();
        assert!((now + 59..=now + 60).contains(&claims.exp));
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_expired() {
        let keys = keys();
        let token = keys
            .create_access_token_at("johndoe", &ScopeSet::all(), None, NOW)
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
            .create_access_token_at("johndoe", &ScopeSet::all(), None, NOW)
            .unwrap()
            .token;
        assert!(keys.decode_at(&token, NOW + 65).is_ok());
        assert!(keys.decode_at(&token, NOW + 66).is_err());
    }

    #[test]
    fn a_forged_token_never_matches_a_remembered_one() {
        let keys = keys();
        let token = keys
            .create_access_token("johndoe", &ScopeSet::all())
            .unwrap();
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

#[cfg(test)]
mod rotation_tests {
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
            .create_access_token("johndoe", &ScopeSet::all())
            .unwrap();
        let rotated = keys_with(&new, &[&old]);
        assert_eq!(rotated.decode(&token).unwrap().sub, "johndoe");
        let fresh = rotated
            .create_access_token("johndoe", &ScopeSet::all())
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
