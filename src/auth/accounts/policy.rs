//! What a new password must be (OWASP ASVS 5.0 V6.2): long enough, not too long to hash, not
//! among the most common passwords, not the username. No composition rules (V6.2.5) and no
//! expiry: both push people towards weaker, predictable passwords.

use crate::auth::credentials::password::normalize;

/// The ASVS V6.2.1 floor; `PASSWORD_MIN_LENGTH` may raise it, never lower it.
pub const MIN_LENGTH_FLOOR: usize = 8;

/// V6.2.9: a policy must allow at least 64 characters.
pub const MAX_LENGTH_FLOOR: usize = 64;

/// `PASSWORD_MIN_LENGTH` and `PASSWORD_MAX_LENGTH`, in Unicode code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: MIN_LENGTH_FLOOR,
            max_length: 128,
        }
    }
}

/// Bounds that would break the policy; passflow refuses to start, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("PASSWORD_MIN_LENGTH is {0}; it must be at least {MIN_LENGTH_FLOOR} (ASVS V6.2.1)")]
    MinTooLow(usize),
    #[error(
        "PASSWORD_MAX_LENGTH is {max}; it must be at least {MAX_LENGTH_FLOOR} (ASVS V6.2.9) \
         and at least PASSWORD_MIN_LENGTH ({min})"
    )]
    MaxTooLow { min: usize, max: usize },
}

/// The rule a password breaks. Its text is what the CLI prints and `detail` says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("The password must have at least {0} characters")]
    TooShort(usize),
    #[error("The password must have at most {0} characters")]
    TooLong(usize),
    #[error("The password is too common")]
    TooCommon,
    #[error("The password contains the username")]
    ContainsUsername,
}

impl PasswordPolicy {
    pub fn new(min_length: usize, max_length: usize) -> Result<Self, PolicyError> {
        if min_length < MIN_LENGTH_FLOOR {
            return Err(PolicyError::MinTooLow(min_length));
        }
        if max_length < MAX_LENGTH_FLOOR || max_length < min_length {
            return Err(PolicyError::MaxTooLow {
                min: min_length,
                max: max_length,
            });
        }
        Ok(Self {
            min_length,
            max_length,
        })
    }

    /// Whether `password` may be set for `username`. Any characters count, spaces and
    /// Unicode included (V6.2.9); length is in code points, as a person counts them, after
    /// NFKC (NIST SP 800-63B §5.1.1.2).
    /// The password is judged in the form it is hashed in ([`normalize`]).
    pub fn check(&self, username: &str, password: &str) -> Result<(), Weakness> {
        let password = normalize(password);
        let password = password.as_ref();
        let length = password.chars().count();
        if length < self.min_length {
            return Err(Weakness::TooShort(self.min_length));
        }
        if length > self.max_length {
            return Err(Weakness::TooLong(self.max_length));
        }
        // V6.2.4: about 100 000 of the most common passwords (the `passwords` crate's list),
        // compared case-insensitively.
        let lower = password.to_lowercase();
        if passwords::analyzer::is_common_password(password)
            || passwords::analyzer::is_common_password(&lower)
        {
            return Err(Weakness::TooCommon);
        }
        // V6.2.11: no password built from what an attacker already knows.
        let name = username.to_lowercase();
        if !name.is_empty() && lower.contains(&name) {
            return Err(Weakness::ContainsUsername);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_code_points_and_any_character_goes() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("bob", "a"), Err(Weakness::TooShort(8)));
        assert_eq!(policy.check("bob", "ünïcødé"), Err(Weakness::TooShort(8)));
        assert_eq!(policy.check("bob", "ünïcødé!"), Ok(()));
        assert_eq!(policy.check("bob", "correct horse battery"), Ok(()));
        assert_eq!(
            policy.check("bob", &"x".repeat(129)),
            Err(Weakness::TooLong(128))
        );
        assert_eq!(policy.check("bob", &"xq".repeat(64)), Ok(()));
        // Counted after NFKC: eight decomposed letters are eight characters, not sixteen.
        assert_eq!(
            policy.check("bob", "e\u{301}".repeat(7).as_str()),
            Err(Weakness::TooShort(8))
        );
        assert_eq!(policy.check("bob", &"e\u{301}".repeat(64)), Ok(()));
        assert_eq!(
            policy.check("bob", &"e\u{301}".repeat(65).replace('e', "x")),
            Err(Weakness::TooLong(128))
        );
        // No composition rules: all lowercase letters is fine when long and rare.
        assert_eq!(policy.check("bob", "zebrafjordquill"), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let policy = PasswordPolicy::default();
        for common in ["password", "PASSWORD", "12345678", "qwertyuiop", "Iloveyou"] {
            assert_eq!(
                policy.check("bob", common),
                Err(Weakness::TooCommon),
                "{common}"
            );
        }
    }

    #[test]
    fn a_password_containing_the_username_is_refused() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("JohnDoe", "my-johndoe-pass"),
            Err(Weakness::ContainsUsername)
        );
        assert_eq!(
            policy.check("johndoe", "JOHNDOE-xyz"),
            Err(Weakness::ContainsUsername)
        );
    }

    #[test]
    fn bounds_below_asvs_are_refused_by_name() {
        assert_eq!(PasswordPolicy::new(6, 128), Err(PolicyError::MinTooLow(6)));
        assert_eq!(
            PasswordPolicy::new(8, 32),
            Err(PolicyError::MaxTooLow { min: 8, max: 32 })
        );
        assert_eq!(
            PasswordPolicy::new(100, 80),
            Err(PolicyError::MaxTooLow { min: 100, max: 80 })
        );
        assert!(PasswordPolicy::new(12, 64).is_ok());
        assert!(
            PolicyError::MinTooLow(6)
                .to_string()
                .contains("PASSWORD_MIN_LENGTH")
        );
    }
}
