//! Token introspection (RFC 7662): a resource server asks whether a token is live right now,
//! which an offline signature check cannot tell after a logout. Only registered clients may
//! ask (§2.1), with a secret compared in constant time.

use crate::auth::Auth;
pub use crate::auth::oauth::clients::{ClientsError, IntrospectionClients, MIN_CLIENT_SECRET_LEN};
use crate::auth::sessions::StaleView;
use crate::auth::tokens::access::{AccessError, Verified, check_access_token};
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::username::Username;
use crate::store::{StoreError, UserRecord};

/// What introspection found (RFC 7662 §2.2).
#[derive(Debug, Clone)]
pub enum Introspection {
    /// An access token `/users/me/` would accept, for a user who is not disabled, and what
    /// it grants now: its scopes the user is still allowed (identity scopes always), or, for a
    /// token without a `scope` claim (the JWT chapter's), all the user is allowed.
    Access { verified: Verified, scope: ScopeSet },
    /// A live refresh token: its session, its user, and the session's deadline.
    Refresh {
        username: Username,
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
            Ok(verified) if active(Some(&verified.user)) => {
                let allowed = &verified.user.scopes;
                let scope = match &verified.claims.scope {
                    Some(claim) => auth.scopes.grantable(claim, allowed),
                    None => allowed.clone(),
                };
                Ok(Introspection::Access { verified, scope })
            }
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
        scope: auth.scopes.grantable(&session.scope, &user.scopes),
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
