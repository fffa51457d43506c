//! What an OAuth error may tell the client: RFC 6749 §5.2 allows an `error_description` only
//! NQSCHAR, printable ASCII without `"` and `\`. A refusal names what it refused only when
//! that is made of those characters; anything else a request sent (a control character, an
//! escape sequence, text in another script) is not repeated, so nobody can make a client's
//! callback page or log show text of their choosing.

/// Whether `text` may stand in an `error_description`.
pub fn describable(text: &str) -> bool {
    text.bytes().all(|b| {
        (0x20..=0x21).contains(&b) || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
    })
}

/// `"{what}: {value}"`, or `what` alone when `value` may not be repeated.
pub fn naming(what: &str, value: &str) -> String {
    if describable(value) {
        format!("{what}: {value}")
    } else {
        what.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nqschar_is_repeated() {
        assert_eq!(naming("unknown scope", "admin"), "unknown scope: admin");
        assert_eq!(
            naming("unknown scope", "a b!#[]~"),
            "unknown scope: a b!#[]~"
        );
        for refused in ["x\u{1}y", "x\"y", "x\\y", "\u{1b}[31m", "é", "x\ny", "\0"] {
            assert_eq!(
                naming("unknown scope", refused),
                "unknown scope",
                "{refused:?}"
            );
        }
    }
}
