//! Authorization codes (RFC 6749 §4.1) and what a store answers to their exchange.
//!
//! A code is the first token of the session it starts: when the user allows the client, the
//! session is stored *pending*, with the code's digest as its current token, and the code's
//! bindings beside it. The exchange rotates the code out for a refresh token in place, one
//! conditional update of one row as a refresh is, so of two exchanges of one code exactly one
//! wins, on every backend and across replicas; the other finds the session through its family
//! and ends it (RFC 6749 §4.1.2). The store holds digests only, never a code.

use std::sync::Arc;

use super::UserRecord;
use super::session::{Digest, SessionRecord};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;
use crate::model::username::Username;

/// A code as issued: what it was bound to when the user allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub digest: Digest,
    /// The pending session the code starts.
    pub session_id: String,
    pub client_id: String,
    /// The redirect URI as the authorization request named it: the exchange must name it
    /// again (RFC 6749 §4.1.3). `None`: the request named none (one is registered).
    pub redirect_uri: Option<String>,
    /// The S256 challenge (RFC 7636 §4.2), when the request carried one.
    pub code_challenge: Option<String>,
    /// OpenID Connect's `nonce`, repeated in the id_token.
    pub nonce: Option<String>,
    /// The browser session the user allowed it in: the id_token's `sid`.
    pub browser_session: Option<String>,
    /// Whose it is: what the store files it under.
    pub user_id: UserId,
    /// The user's name, for the session the code starts.
    pub username: Username,
    pub scope: ScopeSet,
    /// When the user last proved their password.
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
}

/// A code exchanged: its session is started now (no longer pending, its current token the
/// new refresh token's digest), for its user as stored now, enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub code: StoredCode,
    pub session: SessionRecord,
    pub user: Arc<UserRecord>,
    /// Whether the user's TOTP is on, when the store read it in the same statement.
    pub second_factor: Option<bool>,
}

/// Why an exchange started nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStarted {
    /// The code was live, but its user is disabled or gone. The pending session is the
    /// caller's to end.
    UserDisabled { session_id: String },
    /// Exchanged before: the session it started is the caller's to end.
    Replayed { session_id: String },
    /// Live, but its session has ended: by an earlier exchange's refusal or replay, a logout
    /// everywhere, a revoked consent (the code's issue is remembered until it expires).
    Ended,
    /// Past its lifetime, exchanged or not: it changes nothing any more.
    Expired,
    /// Never issued (a forgery with a session's family bytes), or pruned.
    Unknown,
}

/// How a store tells the failed exchanges apart, from what it holds for the code's family
/// and digest once the update matched nothing. Only the code itself (its digest is stored)
/// within its lifetime can end the session it started (RFC 6749 §4.1.2): a code seen later
/// in a log or a browser's history, or a forgery made of its family bytes, changes nothing.
pub(crate) fn not_started(
    session: Option<(String, bool)>,
    code_expires_at: Option<UnixTime>,
    now: UnixTime,
) -> NotStarted {
    match (session, code_expires_at) {
        (_, None) => NotStarted::Unknown,
        (_, Some(expires_at)) if now >= expires_at => NotStarted::Expired,
        (Some((id, false)), Some(_)) => NotStarted::Replayed { session_id: id },
        (Some((id, true)), Some(_)) => NotStarted::UserDisabled { session_id: id },
        (None, Some(_)) => NotStarted::Ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;

    #[test]
    fn only_the_live_code_itself_is_a_replay() {
        let started = || Some(("s".to_owned(), false));
        assert_eq!(
            not_started(started(), Some(NOW + 1), NOW),
            NotStarted::Replayed {
                session_id: "s".into()
            }
        );
        // Spent and past its lifetime: the session lives.
        assert_eq!(not_started(started(), Some(NOW), NOW), NotStarted::Expired);
        // The family bytes with another secret: no code has that digest.
        assert_eq!(not_started(started(), None, NOW), NotStarted::Unknown);
        assert_eq!(
            not_started(Some(("s".into(), true)), Some(NOW + 1), NOW),
            NotStarted::UserDisabled {
                session_id: "s".into()
            }
        );
        assert_eq!(not_started(None, Some(NOW + 1), NOW), NotStarted::Ended);
        assert_eq!(not_started(None, None, NOW), NotStarted::Unknown);
    }
}
