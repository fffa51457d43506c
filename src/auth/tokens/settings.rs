//! How tokens are minted and checked.

use std::time::Duration;

use crate::auth::tokens::keys::SigningKey;
use crate::auth::tokens::secret::SecretKey;

/// How tokens are minted and checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `SECRET_KEY`: signs HS256 tokens, and verifies tokens without a `kid`.
    pub secret: SecretKey,
    /// `PREVIOUS_SECRET_KEYS`: still accepted when verifying, never used to sign, so the
    /// key can be rotated without logging anyone out.
    pub previous: Vec<SecretKey>,
    /// With an asymmetric `TOKEN_ALGORITHM`: `SIGNING_KEY_FILE`, which signs, then
    /// `PREVIOUS_SIGNING_KEY_FILES`, which only verify. Empty: HS256 with `secret`.
    pub signing_keys: Vec<SigningKey>,
    /// Whether tokens without a `kid` are verified as HS256 with `secret` and `previous`.
    /// Always with HS256; with an asymmetric algorithm only while `SECRET_KEY` is still set,
    /// so that a switch from HS256 logs nobody out.
    pub accept_hs256: bool,
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
            signing_keys: Vec::new(),
            accept_hs256: true,
            lifetime,
            leeway: 0,
            issuer: None,
            audience: None,
        }
    }
}
