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

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    /// The outcome [`Self::as_str`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Failure]
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

impl Actor {
    /// Its `kind`, as the JSON form and the store name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Operator(_) => "operator",
            Actor::Client(_) => "client",
            Actor::Anonymous => "anonymous",
        }
    }

    /// Its `name`; none for [`Actor::Anonymous`].
    pub fn name(&self) -> Option<&str> {
        match self {
            Actor::User(name) | Actor::Operator(name) | Actor::Client(name) => Some(name),
            Actor::Anonymous => None,
        }
    }

    /// The actor a `kind` and `name` (as [`Self::kind`] and [`Self::name`] give them) stand
    /// for; `None` for a kind that is none.
    pub fn from_parts(kind: &str, name: Option<String>) -> Option<Self> {
        let name = name.unwrap_or_default();
        match kind {
            "user" => Some(Actor::User(name)),
            "operator" => Some(Actor::Operator(name)),
            "client" => Some(Actor::Client(name)),
            "anonymous" => Some(Actor::Anonymous),
            _ => None,
        }
    }
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

/// Where a use case was asked from and by whom (ASVS V16.2.1): every event it records
/// carries this. Nothing in it is HTTP's: a route fills it from the request, a command from
/// the operator's shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub actor: Actor,
    /// After `TRUSTED_PROXIES`.
    pub address: Option<IpAddr>,
    /// Cut to [`USER_AGENT_CHARS`] characters.
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The operator's `--reason`, recorded with each change the command makes.
    pub reason: Option<String>,
}

impl RequestContext {
    /// An operator at the command line. The name is the OS account's, as the shell says it
    /// (`SUDO_USER` first: `sudo passflow …` is the person, not root). It attributes, it does
    /// not authenticate: whoever runs the command can already write the database.
    pub fn operator(reason: Option<String>) -> Self {
        let name = ["SUDO_USER", "USER", "LOGNAME"]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|name| !name.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            actor: Actor::Operator(name),
            address: None,
            user_agent: None,
            request_id: None,
            reason,
        }
    }

    /// Nobody proven yet, from `address`.
    pub fn anonymous(address: Option<IpAddr>) -> Self {
        Self {
            actor: Actor::Anonymous,
            address,
            user_agent: None,
            request_id: None,
            reason: None,
        }
    }

    /// The address a guess from this request counts against: a request with none (a
    /// command, a router driven in-process) counts as the unspecified address.
    pub fn client_address(&self) -> IpAddr {
        self.address
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// The same request, acting as `actor` (once a login has proven who it is).
    pub fn as_actor(&self, actor: Actor) -> Self {
        Self {
            actor,
            ..self.clone()
        }
    }

    /// A new event of this request: a fresh time-ordered id, at `time` (milliseconds).
    pub fn event(&self, kind: EventType, outcome: Outcome, time: i64) -> Event {
        Event {
            id: uuid::Uuid::now_v7().to_string(),
            time,
            kind,
            outcome,
            user: None,
            sub: None,
            actor: self.actor.clone(),
            client_id: None,
            session_id: None,
            address: self.address,
            user_agent: self
                .user_agent
                .as_ref()
                .map(|agent| agent.chars().take(USER_AGENT_CHARS).collect()),
            request_id: self.request_id.clone(),
            reason: self.reason.clone(),
        }
    }
}

impl Event {
    /// The account it concerns: its name and, when known, its stable id. A NUL in a typed
    /// name, which no store keeps as text (PostgreSQL refuses it), is kept as U+FFFD.
    pub fn user(mut self, name: &str, sub: Option<&str>) -> Self {
        self.user = Some(name.replace('\0', "\u{fffd}"));
        self.sub = sub.map(str::to_owned);
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn session(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }

    /// A copy for one session of many a change ends, with an id of its own.
    pub fn for_session(&self, session_id: &str, client_id: Option<&str>) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: Some(session_id.to_owned()),
            client_id: client_id.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Why, in the trail's words (`logout`, `wrong_password` …) or an operator's.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// The stable JSON form (the same as `audit list --json`), one line: user-controlled
    /// text is escaped in it, so a name with a newline cannot forge a line (ASVS V16.4.1).
    pub fn to_json_line(&self) -> String {
        // Only a map with non-string keys can fail to serialize, and an event has none.
        serde_json::to_string(self).expect("an event serializes")
    }
}

/// `millis` since the epoch as RFC 3339 in UTC with milliseconds.
pub fn rfc3339(millis: i64) -> String {
    let since = std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + since).to_string()
}

fn rfc3339_millis<S: serde::Serializer>(millis: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*millis))
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
