//! The refresh token's format: opaque to clients, a family key, a secret of its own and a tag
//! that proves passflow minted it, stored only as SHA-256 digests (RFC 9700 §4.14; ASVS
//! V7.2.3).
//!
//! The family key lets a spent token find its session, so reuse is detected however many
//! rotations ago it was spent, with one row per session. The family key alone proves nothing:
//! an authorization code carries its session's family key too, and a code travels in URLs
//! (browser history, access logs). So only a token whose tag verifies counts as reuse; any
//! other token with the right family bytes is merely unknown and changes nothing.

use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::store::session::Digest;

/// Bytes of randomness in a refresh token: a family key shared by the session's tokens,
/// then a secret of its own. 384 bits in all (RFC 9700 §4.14 asks for unguessable tokens;
/// ASVS V7.2.3 for at least 128 bits).
pub(crate) const FAMILY_KEY_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;
/// An authorization code, and a refresh token from before tags: family key and secret.
const UNTAGGED_BYTES: usize = FAMILY_KEY_BYTES + SECRET_BYTES;
/// HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to half the output).
const TAG_BYTES: usize = 16;
const TAGGED_BYTES: usize = UNTAGGED_BYTES + TAG_BYTES;

/// The keys that tag refresh tokens: the first tags, every one verifies (a tag made before a
/// `SECRET_KEY` rotation still proves its token). Derived from `SECRET_KEY` and
/// `PREVIOUS_SECRET_KEYS`, so every server sharing them recognises each other's tokens.
#[derive(Clone)]
pub struct TokenTags {
    keys: Arc<[hmac::Key]>,
}

impl std::fmt::Debug for TokenTags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenTags(..)")
    }
}

impl TokenTags {
    /// What [`crate::auth::tokens::TokenKeys::derived_keys`] derives the keys for.
    pub const PURPOSE: &'static [u8] = b"refresh token tag v1";

    /// The first key tags; all verify. At least one key is needed.
    pub fn new(keys: impl IntoIterator<Item = [u8; 32]>) -> Self {
        let keys: Arc<[hmac::Key]> = keys
            .into_iter()
            .map(|key| hmac::Key::new(hmac::HMAC_SHA256, &key))
            .collect();
        assert!(!keys.is_empty(), "a refresh token needs a key to tag it");
        Self { keys }
    }

    /// One random key, for a process whose tokens no other process must recognise.
    pub fn random() -> Self {
        Self::new([rand::random::<[u8; 32]>()])
    }

    fn tag_with(key: &hmac::Key, body: &[u8]) -> [u8; TAG_BYTES] {
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&hmac::sign(key, body).as_ref()[..TAG_BYTES]);
        tag
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_BYTES] {
        Self::tag_with(&self.keys[0], body)
    }

    /// Whether any key made `tag` for `body`, compared in constant time.
    fn verifies(&self, body: &[u8], tag: &[u8]) -> bool {
        self.keys.iter().fold(false, |found, key| {
            found | bool::from(Self::tag_with(key, body).ct_eq(tag))
        })
    }
}

/// An opaque refresh token as the client holds it: URL-safe base64 of the family key, the
/// secret and the tag. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(pub(crate) String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

impl RefreshToken {
    pub(crate) fn mint(family_key: &[u8; FAMILY_KEY_BYTES], tags: &TokenTags) -> Self {
        let mut bytes = [0u8; TAGGED_BYTES];
        bytes[..FAMILY_KEY_BYTES].copy_from_slice(family_key);
        rand::fill(&mut bytes[FAMILY_KEY_BYTES..UNTAGGED_BYTES]);
        let tag = tags.tag(&bytes[..UNTAGGED_BYTES]);
        bytes[UNTAGGED_BYTES..].copy_from_slice(&tag);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The first token of a new family, every byte from the OS RNG, with its family key: an
    /// authorization code (the first token of the session it starts). Untagged: a code never
    /// counts as a spent refresh token.
    pub(crate) fn from_os() -> Result<(Self, [u8; FAMILY_KEY_BYTES]), rand::rand_core::OsError> {
        use rand::TryRngCore as _;
        let mut bytes = [0u8; UNTAGGED_BYTES];
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

/// A presented token (a refresh token, or an authorization code), as the store can look it
/// up: its family and its digest. Whether its tag proves passflow minted it is asked only
/// where it matters ([`Self::minted`]): the refresh grant's common case is decided by the
/// current token's digest alone, and pays for no HMAC.
pub(crate) struct Presented {
    pub(crate) family_key: [u8; FAMILY_KEY_BYTES],
    pub(crate) family: Digest,
    pub(crate) token: Digest,
    bytes: Vec<u8>,
}

impl Presented {
    pub(crate) fn parse(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != TAGGED_BYTES && bytes.len() != UNTAGGED_BYTES {
            return None;
        }
        let mut family_key = [0u8; FAMILY_KEY_BYTES];
        family_key.copy_from_slice(&bytes[..FAMILY_KEY_BYTES]);
        Some(Self {
            family_key,
            family: sha256(&family_key),
            token: sha256(token.as_bytes()),
            bytes,
        })
    }

    /// Whether the tag verifies. `false` for a code, a forgery, and a refresh token minted
    /// before tags existed: such a token still works while it is its session's current one
    /// (its digest is the proof), but is never taken for a spent one.
    pub(crate) fn minted(&self, tags: &TokenTags) -> bool {
        self.bytes.len() == TAGGED_BYTES
            && tags.verifies(&self.bytes[..UNTAGGED_BYTES], &self.bytes[UNTAGGED_BYTES..])
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

#[cfg(test)]
mod tests {
    use super::*;

    fn family() -> [u8; FAMILY_KEY_BYTES] {
        rand::random()
    }

    #[test]
    fn a_minted_token_is_recognised_by_every_key_that_shares_its_secret() {
        let old = [1u8; 32];
        let tags = TokenTags::new([old]);
        let token = RefreshToken::mint(&family(), &tags);
        assert_eq!(token.as_str().len(), 86);
        assert!(Presented::parse(token.as_str()).unwrap().minted(&tags));
        // After a rotation, the old key still verifies what it tagged.
        let rotated = TokenTags::new([[2u8; 32], old]);
        assert!(Presented::parse(token.as_str()).unwrap().minted(&rotated));
        // Another deployment's key does not.
        let other = TokenTags::new([[3u8; 32]]);
        assert!(!Presented::parse(token.as_str()).unwrap().minted(&other));
    }

    #[test]
    fn codes_and_forgeries_with_the_family_bytes_are_not_minted_tokens() {
        let tags = TokenTags::random();
        let (code, family_key) = RefreshToken::from_os().unwrap();
        let code = Presented::parse(code.as_str()).unwrap();
        assert!(!code.minted(&tags));
        assert_eq!(code.family, sha256(&family_key));
        // The family bytes, a secret never issued, and a tag guessed.
        let mut forged = [7u8; TAGGED_BYTES];
        forged[..FAMILY_KEY_BYTES].copy_from_slice(&family_key);
        let forged = Presented::parse(&URL_SAFE_NO_PAD.encode(forged)).unwrap();
        assert!(!forged.minted(&tags));
        assert_eq!(forged.family, code.family);
        // Neither length: not a token at all.
        assert!(Presented::parse(&URL_SAFE_NO_PAD.encode([0u8; 40])).is_none());
        assert!(Presented::parse("not base64!").is_none());
    }
}
