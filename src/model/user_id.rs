//! A user's stable id: the `sub` that OpenID Connect's id_tokens and `/userinfo` carry
//! (OpenID Connect Core §2: locally unique and never reassigned), and the key that the user's
//! sessions, authorization codes and consents are filed under. Access tokens keep `sub` =
//! username, as the tutorial's resource servers read it.
//!
//! On a database each user is given a random id when added (a migration gave every earlier
//! user one), so a user deleted and added again under the same name is someone else to every
//! relying party. Users that live in memory (the demo users, `USERS_FILE`) cannot be deleted;
//! theirs is derived from the name, so it survives a restart.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// A user's stable, opaque id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// A fresh id: 128 random bits, base64url (22 characters).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The id of a user kept in memory: a digest of its name, the same at every start.
    pub fn of_name(username: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"passflow user id\0")
            .chain_update(username.as_bytes())
            .finalize();
        Self(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// An id as stored.
    pub fn stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_differ_and_named_ones_repeat() {
        assert_ne!(UserId::random(), UserId::random());
        assert_eq!(UserId::random().as_str().len(), 22);
        assert_eq!(UserId::of_name("zoe"), UserId::of_name("zoe"));
        assert_ne!(UserId::of_name("zoe"), UserId::of_name("Zoe"));
    }
}
