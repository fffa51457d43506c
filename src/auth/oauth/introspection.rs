//! Token introspection (RFC 7662): a resource server asks whether a token is live right now,
//! which an offline signature check cannot tell after a logout. Only registered clients may
//! ask (§2.1), with a secret compared in constant time.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::Auth;
use crate::auth::sessions::StaleView;
use crate::auth::tokens::access::{AccessError, Verified, check_access_token};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::{StoreError, UserRecord};

/// Shortest introspection client secret accepted: 32 characters, as long as `SECRET_KEY`.
pub const MIN_CLIENT_SECRET_LEN: usize = 32;

/// `INTROSPECTION_CLIENTS`: who may introspect. Secrets are kept as SHA-256 digests, so a
/// comparison takes the same time whatever the presented secret's length; `Debug` shows ids
/// only.
#[derive(Clone)]
pub struct IntrospectionClients {
    clients: Arc<[(String, [u8; 32])]>,
}

impl fmt::Debug for IntrospectionClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.clients.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("IntrospectionClients")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

/// An `INTROSPECTION_CLIENTS` value that cannot be used; passflow refuses to start. The
/// secret itself is never repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientsError {
    #[error("INTROSPECTION_CLIENTS: entry {0} is not `client_id:secret`")]
    Shape(usize),
    #[error(
        "INTROSPECTION_CLIENTS: the secret of client {id:?} is {len} characters long; it must \
         be at least {MIN_CLIENT_SECRET_LEN} (`openssl rand -hex 32`)"
    )]
    ShortSecret { id: String, len: usize },
    #[error("INTROSPECTION_CLIENTS: client {0:?} is listed twice")]
    Duplicate(String),
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

impl IntrospectionClients {
    /// Parses `client_id:secret` pairs, comma-separated.
    pub fn parse(value: &str) -> Result<Self, ClientsError> {
        let mut clients: Vec<(String, [u8; 32])> = Vec::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            let (id, secret) = entry
                .split_once(':')
                .filter(|(id, _)| !id.is_empty())
                .ok_or(ClientsError::Shape(index + 1))?;
            let len = secret.chars().count();
            if len < MIN_CLIENT_SECRET_LEN {
                return Err(ClientsError::ShortSecret {
                    id: id.to_owned(),
                    len,
                });
            }
            if clients.iter().any(|(known, _)| known == id) {
                return Err(ClientsError::Duplicate(id.to_owned()));
            }
            clients.push((id.to_owned(), digest(secret.as_bytes())));
        }
        Ok(Self {
            clients: clients.into(),
        })
    }

    /// Whether `id` and `secret` are a registered client's. An unknown id costs the same
    /// comparison as a known one.
    pub fn authenticate(&self, id: &str, secret: &str) -> bool {
        let presented = digest(secret.as_bytes());
        let expected = self
            .clients
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, secret)| *secret);
        let matches: bool = presented.ct_eq(&expected.unwrap_or([0; 32])).into();
        matches && expected.is_some()
    }
}

/// What introspection found (RFC 7662 §2.2).
#[derive(Debug, Clone)]
pub enum Introspection {
    /// An access token `/users/me/` would accept, for a user who is not disabled.
    Access(Verified),
    /// A live refresh token: its session, its user, and the session's deadline.
    Refresh {
        username: String,
        scope: ScopeSet,
        session_id: String,
        deadline: UnixTime,
    },
    /// Anything else: expired, ended, spent, garbage, or a disabled user's.
    Inactive,
}

/// Why introspection could not tell: never answered `active: false`, which would be a
/// wrong answer, but 503.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionError {
    #[error(transparent)]
    Stale(#[from] StaleView),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn active(user: Option<&UserRecord>) -> bool {
    user.is_some_and(|user| !user.profile.disabled)
}

/// Looks `token` up without changing anything. JWTs (three dot-separated parts) are access
/// tokens; anything else is tried as a refresh token. The `token_type_hint` is not needed
/// to tell them apart, which RFC 7662 §2.1 allows.
pub async fn introspect(auth: &Auth, token: &str) -> Result<Introspection, IntrospectionError> {
    if token.contains('.') {
        return match check_access_token(auth, token).await {
            Ok(verified) if active(Some(&verified.user)) => Ok(Introspection::Access(verified)),
            Ok(_) | Err(AccessError::Invalid) => Ok(Introspection::Inactive),
            Err(AccessError::Stale(stale)) => Err(stale.into()),
            Err(AccessError::Store(err)) => Err(err.into()),
        };
    }
    let now = auth.clock.now();
    let Some(session) = auth.sessions.inspect(token, now).await? else {
        return Ok(Introspection::Inactive);
    };
    let user = auth.users.get_user_fresh(&session.username).await?;
    let Some(user) = user.filter(|user| active(Some(user))) else {
        return Ok(Introspection::Inactive);
    };
    Ok(Introspection::Refresh {
        deadline: auth.sessions.deadline(&session),
        // What a refresh would grant now: less whatever the user has lost since the login.
        scope: session
            .scope
            .iter()
            .filter(|scope| user.scopes.contains(*scope))
            .collect(),
        username: session.username,
        session_id: session.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn clients_parse_and_authenticate() {
        let clients =
            IntrospectionClients::parse(&format!("api:{SECRET}, jobs:{SECRET}x")).unwrap();
        assert!(clients.authenticate("api", SECRET));
        assert!(clients.authenticate("jobs", &format!("{SECRET}x")));
        assert!(!clients.authenticate("api", &format!("{SECRET}x")));
        assert!(!clients.authenticate("nobody", SECRET));
        assert!(!clients.authenticate("api", ""));
        assert_eq!(
            format!("{clients:?}"),
            r#"IntrospectionClients { ids: ["api", "jobs"], .. }"#
        );
    }

    #[test]
    fn bad_client_lists_are_refused_without_their_secrets() {
        let refused = |value: &str| IntrospectionClients::parse(value).unwrap_err();
        assert_eq!(refused("api"), ClientsError::Shape(1));
        assert_eq!(
            refused(&format!("api:{SECRET},:{SECRET}")),
            ClientsError::Shape(2)
        );
        let short = refused("api:tooshort");
        assert_eq!(
            short,
            ClientsError::ShortSecret {
                id: "api".into(),
                len: 8
            }
        );
        assert!(!short.to_string().contains("tooshort"));
        assert_eq!(
            refused(&format!("api:{SECRET},api:{SECRET}")),
            ClientsError::Duplicate("api".into())
        );
    }
}
