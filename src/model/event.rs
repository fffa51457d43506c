//! A security event (ASVS V16): what happened, when, to which account, by whom and from
//! where, as one record that is stored, shown and shipped alike. Its JSON form (serde) is the
//! stable schema of the audit trail: field names and type names never change meaning.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened (issue 42 §1's list, the trail's vocabulary).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }
    };
}

event_types! {
    LoginSucceeded => "login.succeeded",
    LoginFailed => "login.failed",
    LoginSecondFactorFailed => "login.second_factor_failed",
    LoginThrottled => "login.throttled",
    LoginRefusedInactive => "login.refused_inactive",
    SessionStarted => "session.started",
    SessionEnded => "session.ended",
    RefreshTokenReused => "refresh_token.reused",
    CodeReplayed => "code.replayed",
    ClientAuthenticationFailed => "client.authentication_failed",
    PasswordChanged => "password.changed",
    TotpEnabled => "totp.enabled",
    TotpDisabled => "totp.disabled",
    RecoveryCodeUsed => "recovery_code.used",
    ConsentGranted => "consent.granted",
    ConsentRevoked => "consent.revoked",
    UserCreated => "user.created",
    UserDisabled => "user.disabled",
    UserEnabled => "user.enabled",
    UserDeleted => "user.deleted",
    UserPasswordSet => "user.password_set",
    UserScopesSet => "user.scopes_set",
    UserTotpReset => "user.totp_reset",
    UsersImported => "users.imported",
    ClientCreated => "client.created",
    ClientRemoved => "client.removed",
    ClientSecretRotated => "client.secret_rotated",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownEventType(name.to_owned()))
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Who did it (ASVS V16.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Actor {
    /// The account's owner, signed in (their name).
    User(String),
    /// Someone at the command line (the OS user's name).
    Operator(String),
    /// A registered client, authenticating as itself (its `client_id`).
    Client(String),
    /// Nobody proven yet: a login attempt, a bad client secret.
    Anonymous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// How much of a `User-Agent` is kept: enough to tell browsers apart, too little to fill a
/// table with one request's header.
pub const USER_AGENT_CHARS: usize = 256;

/// One event, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Time-ordered (UUIDv7): sorting by id sorts by time.
    pub id: String,
    /// Milliseconds since the epoch; RFC 3339 with milliseconds wherever it is shown.
    #[serde(serialize_with = "rfc3339_millis")]
    pub time: i64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub outcome: Outcome,
    /// The account's name, or the name that was typed (as data, never trusted).
    pub user: Option<String>,
    /// The account's stable id, when known.
    pub sub: Option<String>,
    pub actor: Actor,
    pub client_id: Option<String>,
    pub session_id: Option<String>,
    /// After `TRUSTED_PROXIES`.
    pub address: Option<IpAddr>,
    /// At most [`USER_AGENT_CHARS`] characters.
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
}

fn rfc3339_millis<S: serde::Serializer>(millis: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    let since = std::time::Duration::from_millis(u64::try_from(*millis).unwrap_or(0));
    serializer.collect_str(&humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + since,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name_and_names_are_unique() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>(), Ok(*kind));
        }
        let mut names: Vec<_> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(
            "login.nope".parse::<EventType>(),
            Err(UnknownEventType("login.nope".into()))
        );
    }

    #[test]
    fn the_json_form_is_the_documented_schema() {
        let event = Event {
            id: "0190b3a5-0000-7000-8000-000000000000".into(),
            time: 1_800_000_000_123,
            kind: EventType::LoginFailed,
            outcome: Outcome::Failure,
            user: Some("zoe\n[fake line]".into()),
            sub: None,
            actor: Actor::Anonymous,
            client_id: None,
            session_id: None,
            address: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("curl/8".into()),
            request_id: Some("r1".into()),
            reason: Some("wrong_password".into()),
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"id":"0190b3a5-0000-7000-8000-000000000000","time":"2027-01-15T08:00:00.123Z","type":"login.failed","outcome":"failure","user":"zoe\n[fake line]","sub":null,"actor":{"kind":"anonymous"},"client_id":null,"session_id":null,"address":"203.0.113.7","user_agent":"curl/8","request_id":"r1","reason":"wrong_password"}"#
        );
    }
}
