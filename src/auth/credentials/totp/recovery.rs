//! Recovery codes: ten single-use lookup secrets shown once at enrolment, for a lost
//! authenticator. Each carries 120 random bits, so a plain SHA-256 digest is an adequate
//! way to store it (ASVS V6.5.2 asks a salted password hash only below 112 bits), and a
//! code is found and spent in one statement.

use sha2::{Digest as _, Sha256};
use totp_rs::Secret;

use crate::store::session::Digest;

pub const RECOVERY_CODES: usize = 10;
const CODE_BYTES: usize = 15;
/// Base32 digits per group: `abcdef-ghijkl-mnopqr-stuvwx`.
const GROUP: usize = 6;

/// Fresh codes as the user is shown them, and their digests as the store keeps them.
pub fn generate() -> (Vec<String>, Vec<Digest>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; CODE_BYTES] = rand::random();
            let digits = Secret::from(bytes.as_slice()).to_base32().to_lowercase();
            let code = digits
                .as_bytes()
                .chunks(GROUP)
                .map(|group| std::str::from_utf8(group).expect("base32 is ASCII"))
                .collect::<Vec<_>>()
                .join("-");
            let digest = digest(&code);
            (code, digest)
        })
        .unzip()
}

/// The digest a typed code is looked up by: dashes and spaces dropped, case ignored, so
/// `ABCDEF GHIJKL…` finds `abcdef-ghijkl-…`.
pub fn digest(typed: &str) -> Digest {
    let normalized: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Digest(Sha256::digest(normalized.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_grouped_codes_whose_digests_match_however_typed() {
        let (codes, digests) = generate();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for (code, stored) in codes.iter().zip(&digests) {
            assert_eq!(code.len(), 27, "{code}");
            assert!(code.split('-').all(|group| group.len() == GROUP), "{code}");
            assert_eq!(digest(code).0, stored.0);
            let retyped = code.to_uppercase().replace('-', " ");
            assert_eq!(digest(&retyped).0, stored.0);
        }
        assert_ne!(digest("abcdef-ghijkl").0, digests[0].0);
    }
}
