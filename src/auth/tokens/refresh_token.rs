//! The refresh token's format: opaque to clients, a family key and a secret of its own, stored
//! only as SHA-256 digests (RFC 9700 §4.14; ASVS V7.2.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::store::session::Digest;

/// Bytes of randomness in a refresh token: a family key shared by the session's tokens,
/// then a secret of its own. 384 bits in all (RFC 9700 §4.14 asks for unguessable tokens;
/// ASVS V7.2.3 for at least 128 bits).
pub(crate) const FAMILY_KEY_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;

/// An opaque refresh token as the client holds it: URL-safe base64 of the family key and
/// the secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(pub(crate) String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

impl RefreshToken {
    pub(crate) fn mint(family_key: &[u8; FAMILY_KEY_BYTES]) -> Self {
        let mut bytes = [0u8; FAMILY_KEY_BYTES + SECRET_BYTES];
        bytes[..FAMILY_KEY_BYTES].copy_from_slice(family_key);
        rand::fill(&mut bytes[FAMILY_KEY_BYTES..]);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The first token of a new family, every byte from the OS RNG, with its family key: an
    /// authorization code (the first token of the session it starts).
    pub(crate) fn from_os() -> Result<(Self, [u8; FAMILY_KEY_BYTES]), rand::rand_core::OsError> {
        use rand::TryRngCore as _;
        let mut bytes = [0u8; FAMILY_KEY_BYTES + SECRET_BYTES];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
        let mut family_key = [0u8; FAMILY_KEY_BYTES];
        family_key.copy_from_slice(&bytes[..FAMILY_KEY_BYTES]);
        Ok((Self(URL_SAFE_NO_PAD.encode(bytes)), family_key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A presented refresh token, as the store can look it up: the family key lets a used
/// token find its session, so reuse is detected however many rotations ago it was used,
/// with one row per session. Only a holder of one of the session's tokens knows the key,
/// so nobody else can end a session by forging one.
pub(crate) struct Presented {
    pub(crate) family_key: [u8; FAMILY_KEY_BYTES],
    pub(crate) family: Digest,
    pub(crate) token: Digest,
}

impl Presented {
    pub(crate) fn parse(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != FAMILY_KEY_BYTES + SECRET_BYTES {
            return None;
        }
        let mut family_key = [0u8; FAMILY_KEY_BYTES];
        family_key.copy_from_slice(&bytes[..FAMILY_KEY_BYTES]);
        Some(Self {
            family_key,
            family: sha256(&family_key),
            token: sha256(token.as_bytes()),
        })
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
