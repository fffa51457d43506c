//! An account's name ([`Username`]), and when two usernames name the same person: RFC 8265
//! §3.3 (UsernameCaseMapped). `Zoe`, `zoe` and fullwidth `ｚｏｅ` look alike on a login page
//! and in a log line, so they are one account: each store keeps the key beside the name as it
//! was typed at creation, and finds accounts by the key. Text someone typed stays `&str` until
//! a store finds the account it names. Sessions, codes and consents are filed under the
//! account's [`UserId`](super::user_id::UserId), never its name; its second factor is filed
//! under the name (the sealed secret is bound to it).

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use precis_core::profile::PrecisFastInvocation as _;
use precis_profiles::UsernameCaseMapped;
use unicode_normalization::UnicodeNormalization as _;

/// An account's name, as the account was created: the `sub` of its access tokens (the
/// tutorial's), and what its second factor is filed under. A name
/// someone typed is plain text until a store finds the account it names ([`pick`]): a
/// `Username` is never made from a login form.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Username {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Username {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Username {
    fn from(name: String) -> Self {
        Self(name)
    }
}

impl From<&str> for Username {
    fn from(name: &str) -> Self {
        Self(name.to_owned())
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

impl PartialEq<str> for Username {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Username {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The form two usernames share when a person cannot tell them apart: RFC 8265 §3.3.3's
/// enforcement (width mapping, case mapping, NFC).
///
/// A name outside the PRECIS IdentifierClass (a space, a symbol; RFC 8264 §4.2) has no
/// enforced form, yet such names were always accepted here and must still be told apart
/// from their look-alikes: for them the key is NFKC (which includes the width mapping),
/// then lower case, then NFC again.
pub fn canonical(name: &str) -> Cow<'_, str> {
    match UsernameCaseMapped::enforce(name) {
        Ok(key) => key,
        Err(_) => Cow::Owned(
            name.nfkc()
                .collect::<String>()
                .to_lowercase()
                .nfc()
                .collect(),
        ),
    }
}

/// Which of the accounts sharing `typed`'s key it names: the only one, or, when a database
/// holds several from before keys were enforced, the one spelled exactly as typed. Any other
/// spelling names none of them, and is answered like an unknown user.
pub fn pick<T>(typed: &str, mut candidates: Vec<T>, name_of: fn(&T) -> &str) -> Option<T> {
    if candidates.len() == 1 {
        return candidates.pop();
    }
    candidates
        .into_iter()
        .find(|candidate| name_of(candidate) == typed)
}

/// The warning for names that share a key, for the log and the command line.
pub fn look_alikes_warning(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    format!(
        "users {} differ only in case, width or Unicode form (RFC 8265): each logs in by its \
         exact spelling only; delete all but one",
        quoted.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_width_variants_share_one_key() {
        for variant in ["zoe", "Zoe", "ZOE", "ｚｏｅ", "ＺＯＥ"] {
            assert_eq!(canonical(variant), "zoe", "{variant}");
        }
        assert_eq!(canonical("johndoe"), "johndoe");
        assert!(matches!(canonical("johndoe"), Cow::Borrowed(_)));
    }

    #[test]
    fn composed_and_decomposed_accents_share_one_key() {
        assert_eq!(canonical("Ren\u{e9}e"), canonical("Rene\u{301}e"));
        assert_eq!(canonical("Ren\u{e9}e"), "ren\u{e9}e");
    }

    #[test]
    fn names_outside_the_identifier_class_still_fold() {
        assert_eq!(canonical("John Doe"), "john doe");
        assert_eq!(canonical("ＪＯＨＮ Doe"), "john doe");
        assert_ne!(canonical("john doe"), canonical("johndoe"));
    }

    #[test]
    fn distinct_names_keep_distinct_keys() {
        assert_ne!(canonical("zoe"), canonical("zoé"));
        assert_ne!(canonical("alice"), canonical("alice2"));
    }

    #[test]
    fn several_candidates_need_the_exact_spelling() {
        let pair = || vec!["Zoe", "zoe"];
        let name: fn(&&'static str) -> &'static str = |name| name;
        assert_eq!(pick("Zoe", pair(), name), Some("Zoe"));
        assert_eq!(pick("zoe", pair(), name), Some("zoe"));
        assert_eq!(pick("ZOE", pair(), name), None);
        assert_eq!(pick("ZOE", vec!["Zoe"], name), Some("Zoe"));
        assert_eq!(pick("ZOE", Vec::new(), name), None);
    }
}
