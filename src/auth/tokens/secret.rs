//! The HMAC secret that signs HS256 tokens: the tutorial's `SECRET_KEY`.

/// Shortest `SECRET_KEY` accepted: HS256 keys shorter than the hash output (32 bytes) are
/// weaker than the algorithm, and RFC 7518 §3.2 requires at least that much.
pub const MIN_SECRET_LEN: usize = 32;

/// The HMAC key that signs and verifies tokens. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct SecretKey(pub(super) Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} bytes long; it must be at least {MIN_SECRET_LEN}")]
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

    /// A key for another purpose than signing tokens, derived from this one with HKDF-SHA256
    /// (RFC 5869): every server sharing `SECRET_KEY` derives the same, and what it signs can
    /// never pass for a token, nor a token for it.
    pub fn derive(&self, purpose: &'static [u8]) -> [u8; 32] {
        use aws_lc_rs::hkdf;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"passflow").extract(&self.0);
        let mut key = [0u8; 32];
        prk.expand(&[purpose], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut key))
            .expect("32 bytes is HKDF-SHA256's output length");
        key
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

/// `n` bytes from the operating system's RNG, base64url: what must be unguessable and is
/// handed to someone (authorization codes, client ids and secrets).
pub(crate) fn os_random_base64url(n: usize) -> Result<String, rand::rand_core::OsError> {
    use base64::Engine as _;
    use rand::TryRngCore as _;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
