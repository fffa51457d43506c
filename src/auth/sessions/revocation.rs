//! Which access tokens no longer count although their signature and `exp` still do.
//!
//! An access token is self-contained, so ending a session must also refuse the tokens
//! already minted for it (ASVS V7.4.1). This is the list consulted on every authenticated
//! request: two lock-free maps (papaya), read without allocating or taking a lock, so the
//! check costs next to nothing beside the signature cache. Entries live only as long as a
//! token they could refuse: `ACCESS_TOKEN_EXPIRE_MINUTES` plus the leeway.

use crate::auth::tokens::Claims;
use crate::model::time::UnixTime;
use crate::model::username::Username;

#[derive(Debug)]
pub struct Revocations {
    /// Session id → when the entry can be forgotten.
    ended_sessions: papaya::HashMap<String, UnixTime>,
    /// Username → the moment of their last "log out everywhere", for the tokens that carry
    /// no session id (the JWT chapter's, PyJWT's).
    cut_offs: papaya::HashMap<String, UnixTime>,
    /// How long an access token can be accepted after it was minted.
    keep_for: u64,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES` in seconds, to date tokens that carry no `iat`.
    lifetime: u64,
}

impl Revocations {
    pub fn new(lifetime: u64, keep_for: u64) -> Self {
        Self {
            ended_sessions: papaya::HashMap::new(),
            cut_offs: papaya::HashMap::new(),
            keep_for,
            lifetime,
        }
    }

    /// Refuses every access token of the session from now on.
    pub fn end_session(&self, id: &str, now: UnixTime) {
        self.ended_sessions
            .pin()
            .insert(id.to_owned(), now + self.keep_for);
    }

    /// Refuses every session-less token issued to `username` up to `now`.
    pub fn cut_off(&self, username: &Username, now: UnixTime) {
        self.cut_offs.pin().insert(username.to_string(), now);
    }

    /// Whether a token with valid signature and times must still be refused.
    pub fn refuses(&self, claims: &Claims) -> bool {
        match &claims.sid {
            Some(sid) => self.ended_sessions.pin().contains_key(sid.as_str()),
            None => self
                .cut_offs
                .pin()
                .get(claims.sub.as_str())
                .is_some_and(|&cut| {
                    // Without `iat`, assume the token lived a whole lifetime: the tutorial mints
                    // `exp` = issue time + ACCESS_TOKEN_EXPIRE_MINUTES.
                    let issued = claims
                        .iat
                        .unwrap_or_else(|| claims.exp.saturating_sub(self.lifetime));
                    issued <= cut
                }),
        }
    }

    /// Forgets the entries no unexpired token can match any more.
    pub fn prune(&self, now: UnixTime) {
        self.ended_sessions.pin().retain(|_, &until| until > now);
        let keep_for = self.keep_for;
        self.cut_offs
            .pin()
            .retain(|_, &cut| cut.saturating_add(keep_for) > now);
    }

    /// How long an entry is kept: the longest an access token can be accepted.
    pub fn keep_for(&self) -> u64 {
        self.keep_for
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.ended_sessions.len() + self.cut_offs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;

    fn claims(sid: Option<&str>, iat: Option<UnixTime>, exp: UnixTime) -> Claims {
        Claims {
            sub: "johndoe".into(),
            exp,
            nbf: None,
            iat,
            sid: sid.map(str::to_owned),
            scope: None,
            iss: None,
            aud: None,
            client_id: None,
        }
    }

    #[test]
    fn an_ended_session_refuses_its_tokens_only() {
        let revocations = Revocations::new(1800, 1800);
        revocations.end_session("a", NOW);
        assert!(revocations.refuses(&claims(Some("a"), Some(NOW), NOW + 1800)));
        assert!(!revocations.refuses(&claims(Some("b"), Some(NOW), NOW + 1800)));
        assert!(!revocations.refuses(&claims(None, Some(NOW), NOW + 1800)));
    }

    #[test]
    fn a_cut_off_refuses_earlier_sessionless_tokens_dated_by_iat_or_exp() {
        let revocations = Revocations::new(1800, 1800);
        revocations.cut_off(&Username::from("johndoe"), NOW);
        assert!(revocations.refuses(&claims(None, Some(NOW), NOW + 1800)));
        assert!(!revocations.refuses(&claims(None, Some(NOW + 1), NOW + 1801)));
        // No iat: dated exp − lifetime.
        assert!(revocations.refuses(&claims(None, None, NOW + 1800)));
        assert!(!revocations.refuses(&claims(None, None, NOW + 1801)));
        // Tokens with a session id are ended through their session, not by date.
        assert!(!revocations.refuses(&claims(Some("s"), Some(NOW - 5), NOW + 1795)));
    }

    #[test]
    fn entries_are_forgotten_once_no_token_can_match() {
        let revocations = Revocations::new(1800, 1805);
        revocations.end_session("a", NOW);
        revocations.cut_off(&Username::from("johndoe"), NOW);
        revocations.prune(NOW + 1804);
        assert_eq!(revocations.len(), 2);
        revocations.prune(NOW + 1805);
        assert!(revocations.is_empty());
    }
}
