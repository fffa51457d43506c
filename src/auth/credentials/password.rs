//! Password hashing: the tutorial's `verify_password` and `get_password_hash`. They cost
//! ~100 ms of CPU each: requests run them through [`HashPool`](super::hash_pool::HashPool).
//!
//! Passwords are hashed and compared in NFKC (NIST SP 800-63B §5.1.1.2): `é` typed as one
//! code point on one device and as `e` + a combining accent on another is one password.

use std::borrow::Cow;
use std::cell::RefCell;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version};

/// pwdlib's recommended argon2id cost (argon2-cffi's defaults), so hashes move freely between
/// passflow and a Python service in either direction.
const M_COST_KIB: u32 = 65_536;
const T_COST: u32 = 3;
const P_COST: u32 = 4;
const OUTPUT_LEN: usize = 32;

fn argon2id() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("pwdlib's argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The form a password is hashed and compared in: NFKC. ASCII, and anything already in
/// NFKC, is returned as it is, without a copy.
pub fn normalize(password: &str) -> Cow<'_, str> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfkc_quick};
    match is_nfkc_quick(password.chars()) {
        IsNormalized::Yes => Cow::Borrowed(password),
        IsNormalized::No | IsNormalized::Maybe => {
            let normalized: String = password.nfkc().collect();
            if normalized == password {
                Cow::Borrowed(password)
            } else {
                Cow::Owned(normalized)
            }
        }
    }
}

/// The tutorial's `get_password_hash`: an argon2id PHC string, with a fresh random salt, of
/// the password's [normal form](normalize).
pub fn hash_password(password: &str) -> String {
    argon2id()
        .hash_password(normalize(password).as_bytes())
        .expect("hashing with valid parameters and a random salt cannot fail")
        .to_string()
}

/// A stored hash that no verifier here understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an argon2 PHC string or a bcrypt ($2a$/$2b$/$2y$) hash")]
pub struct UnsupportedHash;

// Parsed once per verification and never stored, so the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum StoredHash<'a> {
    Argon2(PasswordHash),
    Bcrypt(&'a str),
}

impl<'a> StoredHash<'a> {
    fn parse(hash: &'a str) -> Result<Self, UnsupportedHash> {
        // passlib and Python's bcrypt write the modular-crypt form ($2b$12$...), not PHC.
        if hash.parse::<bcrypt::HashParts>().is_ok() {
            return Ok(StoredHash::Bcrypt(hash));
        }
        let parsed = PasswordHash::new(hash).map_err(|_| UnsupportedHash)?;
        // Argon2's own parser accepts argon2i, argon2d and argon2id at any cost.
        Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| UnsupportedHash)?;
        Params::try_from(&parsed).map_err(|_| UnsupportedHash)?;
        Ok(StoredHash::Argon2(parsed))
    }

    fn verify(&self, password: &str) -> bool {
        match self {
            StoredHash::Argon2(parsed) => verify_argon2(password.as_bytes(), parsed),
            // Like Python's bcrypt 4 and passlib, only the first 72 bytes count.
            StoredHash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }

    fn is_current(&self) -> bool {
        let current = argon2id();
        match self {
            StoredHash::Argon2(hash) => {
                hash.algorithm == Algorithm::Argon2id.ident()
                    && hash.version == Some(Version::V0x13.into())
                    && Params::try_from(hash).is_ok_and(|params| &params == current.params())
            }
            StoredHash::Bcrypt(_) => false,
        }
    }
}

/// Checks that a stored hash is one `verify_password` can use, without a password.
pub(crate) fn check_hash(hash: &str) -> Result<(), UnsupportedHash> {
    StoredHash::parse(hash).map(drop)
}

/// The tutorial's `verify_password`, for argon2 (any variant and cost) and bcrypt hashes,
/// in the password's normal form or, for a hash made before passwords were normalized (here
/// or by pwdlib/passlib), as typed. Costs ~100 ms of CPU and 64 MiB at pwdlib's parameters,
/// twice for a wrong password that NFKC changes: call it through [`HashPool`].
pub fn verify_password(password: &str, hash: &str) -> Result<bool, UnsupportedHash> {
    let stored = StoredHash::parse(hash)?;
    Ok(!matches!(matching_form(&stored, password), Form::Neither))
}

/// Which form of a password a stored hash was made from.
enum Form {
    Normalized,
    /// As typed, not normalized: a hash from before normalization, to be replaced.
    AsTyped,
    Neither,
}

/// Tries the normal form first, then the form as typed when NFKC changed it. Unknown users
/// go through this too (against a decoy), so both paths cost the same for them.
fn matching_form(stored: &StoredHash<'_>, password: &str) -> Form {
    let normalized = normalize(password);
    if stored.verify(&normalized) {
        Form::Normalized
    } else if matches!(normalized, Cow::Owned(_)) && stored.verify(password) {
        Form::AsTyped
    } else {
        Form::Neither
    }
}

/// Argon2 verification with the parameters, variant and salt of the stored hash, in working
/// memory kept by the thread (see [`with_working_memory`]). Compared in constant time.
fn verify_argon2(password: &[u8], hash: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(hash),
    ) else {
        return false;
    };
    let Ok(version) = hash.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(computed) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let hashed = with_working_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password, salt, computed, memory)
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(computed).is_ok_and(|computed| &computed == expected)
}

/// The most working memory a thread keeps between hashes: pwdlib's 64 MiB.
const KEPT_BLOCKS: usize = M_COST_KIB as usize;

thread_local! {
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `blocks` of argon2 working memory that the thread keeps for its next hash.
/// Mapping and zeroing a fresh 64 MiB for every hash costs about a third of the hash time;
/// the price is that each hashing thread holds its 64 MiB once it has verified a password.
fn with_working_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    if blocks > KEPT_BLOCKS {
        return f(&mut vec![Block::default(); blocks]);
    }
    WORKING_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// What [`verify_and_update`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password, or a stored hash nothing here can read.
    Mismatch,
    /// The password is right. `rehashed` is a fresh hash to store in place of an outdated one.
    Match { rehashed: Option<String> },
}

/// pwdlib's `verify_and_update`: whether the password matches, and when it does and the
/// stored hash is outdated (another algorithm or cost, or made from the password as typed
/// rather than normalized), a fresh hash to store in its place. An unreadable hash never
/// matches.
pub fn verify_and_update(password: &str, hash: &str) -> Verification {
    let Ok(stored) = StoredHash::parse(hash) else {
        return Verification::Mismatch;
    };
    let outdated = match matching_form(&stored, password) {
        Form::Normalized => !stored.is_current(),
        Form::AsTyped => true,
        Form::Neither => return Verification::Mismatch,
    };
    Verification::Match {
        rehashed: outdated.then(|| hash_password(password)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::demo::{JOHNDOE_HASH as JOHNDOE, STANLEY_HASH as STANLEY};

    #[test]
    fn verifies_the_tutorials_pwdlib_hash() {
        assert_eq!(verify_password("secret", JOHNDOE), Ok(true));
        assert_eq!(verify_password("Secret", JOHNDOE), Ok(false));
        assert_eq!(
            verify_and_update("secret", JOHNDOE),
            Verification::Match { rehashed: None }
        );
    }

    #[test]
    fn verifies_passlib_bcrypt_and_upgrades_it() {
        assert_eq!(verify_password("password", STANLEY), Ok(false));
        assert_eq!(
            verify_and_update("password", STANLEY),
            Verification::Mismatch
        );
        for variant in ["$2a$", "$2b$", "$2y$"] {
            let hash = STANLEY.replacen("$2b$", variant, 1);
            assert_eq!(verify_password("secret", &hash), Ok(true), "{variant}");
            let Verification::Match {
                rehashed: Some(upgraded),
            } = verify_and_update("secret", &hash)
            else {
                panic!("bcrypt is upgraded to argon2id");
            };
            assert!(upgraded.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"));
            assert_eq!(
                verify_and_update("secret", &upgraded),
                Verification::Match { rehashed: None }
            );
        }
    }

    #[test]
    fn new_hashes_carry_pwdlibs_parameters_and_verify() {
        let hash = hash_password("correct horse");
        assert!(
            hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
            "{hash}"
        );
        assert_eq!(verify_password("correct horse", &hash), Ok(true));
        assert_eq!(
            verify_and_update("correct horse", &hash),
            Verification::Match { rehashed: None }
        );
        assert_ne!(hash, hash_password("correct horse"), "salts must differ");
    }

    #[test]
    fn weaker_argon2_parameters_verify_but_need_an_update() {
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert_eq!(verify_password("pw", &cheap), Ok(true));
        assert!(matches!(
            verify_and_update("pw", &cheap),
            Verification::Match { rehashed: Some(_) }
        ));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert_eq!(verify_password("pw", &argon2i), Ok(true));
        assert!(matches!(
            verify_and_update("pw", &argon2i),
            Verification::Match { rehashed: Some(_) }
        ));
    }

    /// `Crème-brûlée-Kürbis-9` as most keyboards send it (NFC) and as macOS pickers and some
    /// password managers do (NFD).
    const NFC: &str = "Cr\u{e8}me-br\u{fb}l\u{e9}e-K\u{fc}rbis-9";
    const NFD: &str = "Cre\u{300}me-bru\u{302}le\u{301}e-Ku\u{308}rbis-9";

    #[test]
    fn a_password_verifies_in_either_unicode_form() {
        assert_ne!(NFC, NFD);
        for (set, typed) in [(NFC, NFD), (NFD, NFC), (NFC, NFC), (NFD, NFD)] {
            let hash = hash_password(set);
            assert_eq!(verify_password(typed, &hash), Ok(true));
            assert_eq!(
                verify_and_update(typed, &hash),
                Verification::Match { rehashed: None }
            );
        }
        // Compatibility forms too: a fullwidth digit is the digit.
        let hash = hash_password("password\u{ff19}");
        assert_eq!(verify_password("password9", &hash), Ok(true));
        assert_eq!(normalize("secret"), Cow::Borrowed("secret"));
    }

    #[test]
    fn a_hash_of_the_decomposed_form_verifies_and_is_replaced() {
        // As pwdlib (or passflow before normalizing) hashed the NFD string as typed.
        let old = argon2id()
            .hash_password(NFD.as_bytes())
            .unwrap()
            .to_string();
        let Verification::Match {
            rehashed: Some(new),
        } = verify_and_update(NFD, &old)
        else {
            panic!("an old hash of the typed form verifies and is replaced");
        };
        assert_eq!(verify_password(NFC, &new), Ok(true));
        assert_eq!(
            verify_and_update(NFD, &new),
            Verification::Match { rehashed: None }
        );
        // Typed as NFC, the old hash of the NFD form cannot be matched: nothing can recover
        // the form it was made from.
        assert_eq!(verify_and_update(NFC, &old), Verification::Mismatch);
        assert_eq!(verify_and_update("wrong", &old), Verification::Mismatch);
    }

    #[test]
    fn refuses_hashes_it_cannot_read() {
        for bad in [
            "",
            "secret",
            "$1$abc$def",
            "$2b$12$short",
            "$scrypt$ln=16,r=8,p=1$aa$bb",
        ] {
            assert_eq!(check_hash(bad), Err(UnsupportedHash), "{bad}");
            assert_eq!(
                verify_password("secret", bad),
                Err(UnsupportedHash),
                "{bad}"
            );
        }
        assert_eq!(check_hash(JOHNDOE), Ok(()));
        assert_eq!(check_hash(STANLEY), Ok(()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The verifier that reuses each thread's working memory agrees with the argon2
        /// crate's own `PasswordVerifier`, for any variant, cost, password and guess.
        #[test]
        fn reusing_working_memory_agrees_with_the_argon2_crate(
            password in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            guess in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            variant in 0usize..3,
            m_cost in 8u32..256,
            t_cost in 1u32..4,
            p_cost in 1u32..3,
            output_len in 16usize..48,
        ) {
            use argon2::PasswordVerifier as _;
            let algorithm = [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id][variant];
            let params = Params::new(m_cost.max(8 * p_cost), t_cost, p_cost, Some(output_len)).unwrap();
            let argon2 = Argon2::new(algorithm, Version::V0x13, params);
            let hash = argon2.hash_password(&password).unwrap().to_string();
            let parsed = PasswordHash::new(&hash).unwrap();
            for candidate in [&password, &guess] {
                let theirs = argon2.verify_password(candidate, &parsed).is_ok();
                proptest::prop_assert_eq!(verify_argon2(candidate, &parsed), theirs);
            }
        }
    }
}
