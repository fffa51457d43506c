//! The login ticket: what a login page hands the browser between its password step and its
//! second-factor step, in place of the password. It says "this browser proved this user's
//! password at this time", for five minutes, and nothing else: a signed JWT (RFC 7519) under
//! a key derived from `SECRET_KEY` for this purpose alone, explicitly typed (RFC 8725 §3.11),
//! so it can never pass for an access token. Every replica sharing `SECRET_KEY` opens it.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::auth::tokens::TokenKeys;
use crate::auth::tokens::refresh_token::sha256;
use crate::model::time::UnixTime;
use crate::model::username::Username;

/// How long a password step stays good for its second factor.
pub const TICKET_LIFETIME: u64 = 300;

const TYPE: &str = "passflow-login-ticket";

#[derive(Serialize, Deserialize)]
struct TicketClaims {
    /// The user whose password was proved (not `sub`: an access token needs one).
    usr: String,
    /// When the password was proved: the login's `auth_time`.
    pwd: UnixTime,
    exp: UnixTime,
    /// SHA-256 (hex) of what binds the ticket to one browser (its CSRF cookie): a ticket
    /// lifted from a page is useless in another browser.
    bnd: String,
}

/// A password proved by an earlier request, as a ticket vouches. Only [`LoginTickets::open`]
/// makes one, so the second step cannot be reached without the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenPassword {
    pub(super) username: Username,
    pub(super) proved_at: UnixTime,
}

impl ProvenPassword {
    pub fn username(&self) -> &Username {
        &self.username
    }

    pub fn proved_at(&self) -> UnixTime {
        self.proved_at
    }
}

pub struct LoginTickets {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    header: Header,
}

fn binding_digest(binding: &str) -> String {
    hex::encode(sha256(binding.as_bytes()).0)
}

impl LoginTickets {
    pub fn new(tokens: &TokenKeys) -> Self {
        let key = tokens.derived_key(b"login ticket v1");
        let mut validation = Validation::new(Algorithm::HS256);
        // Checked against the caller's clock in `open`, like access tokens.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp"]);
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TYPE.to_owned());
        Self {
            encoding: EncodingKey::from_secret(&key).expect("32 bytes is a valid HMAC key"),
            decoding: DecodingKey::from_secret(&key).expect("32 bytes is a valid HMAC key"),
            validation,
            header,
        }
    }

    /// A ticket for `username`, whose password was proved at `now`, for the browser that
    /// `binding` identifies.
    pub fn issue(&self, username: &Username, binding: &str, now: UnixTime) -> String {
        let claims = TicketClaims {
            usr: username.to_string(),
            pwd: now,
            exp: now + TICKET_LIFETIME,
            bnd: binding_digest(binding),
        };
        jsonwebtoken::encode(&self.header, &claims, &self.encoding)
            .expect("HS256 over a small JSON object cannot fail")
    }

    /// The password a ticket vouches for, if it is this server's, unexpired, and was given
    /// to the browser that `binding` identifies.
    pub fn open(&self, ticket: &str, binding: &str, now: UnixTime) -> Option<ProvenPassword> {
        let header = jsonwebtoken::decode_header(ticket).ok()?;
        if header.typ.as_deref() != Some(TYPE) {
            return None;
        }
        let claims = jsonwebtoken::decode::<TicketClaims>(ticket, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let bound: bool = claims
            .bnd
            .as_bytes()
            .ct_eq(binding_digest(binding).as_bytes())
            .into();
        (bound && now < claims.exp).then_some(ProvenPassword {
            username: claims.usr.into(),
            proved_at: claims.pwd,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::tokens::{SecretKey, TokenSettings};
    use crate::model::scopes::ScopeSet;

    const NOW: UnixTime = 1_800_000_000;

    fn keys(secret: &str) -> TokenKeys {
        let secret = SecretKey::new(secret.as_bytes().to_vec()).unwrap();
        TokenKeys::new(TokenSettings::new(secret, Duration::from_secs(1800)))
    }

    #[test]
    fn a_ticket_opens_for_its_browser_until_it_expires() {
        let tickets = LoginTickets::new(&keys("k".repeat(32).as_str()));
        let ticket = tickets.issue(&Username::from("johndoe"), "csrf-a", NOW);
        let proven = tickets.open(&ticket, "csrf-a", NOW + 10).unwrap();
        assert_eq!(proven.username(), "johndoe");
        assert_eq!(proven.proved_at(), NOW);
        assert_eq!(tickets.open(&ticket, "csrf-b", NOW + 10), None);
        assert_eq!(tickets.open(&ticket, "csrf-a", NOW + TICKET_LIFETIME), None);
    }

    #[test]
    fn another_secret_or_an_access_token_does_not_open() {
        let ours = keys("k".repeat(32).as_str());
        let tickets = LoginTickets::new(&ours);
        let other = LoginTickets::new(&keys("x".repeat(32).as_str()));
        let ticket = other.issue(&Username::from("johndoe"), "csrf", NOW);
        assert_eq!(tickets.open(&ticket, "csrf", NOW), None);
        let access = ours
            .create_access_token_at("johndoe", &ScopeSet::tutorial(), None, NOW)
            .unwrap()
            .token;
        assert_eq!(tickets.open(&access, "csrf", NOW), None);
        // Nor does a ticket pass for an access token.
        let ticket = tickets.issue(&Username::from("johndoe"), "csrf", NOW);
        assert!(ours.decode_at(&ticket, NOW).is_err());
    }
}
