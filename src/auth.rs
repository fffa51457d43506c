//! The login decision: the tutorial's `authenticate_user`, and which scopes a login gets.

use std::sync::Arc;

use crate::http::error::ApiError;
use crate::scopes::{Scope, ScopeSet};
use crate::state::AppState;
use crate::store::UserRecord;

/// The tutorial's `authenticate_user`. Unknown users and wrong passwords are the same error
/// after the same amount of hashing. A correct password on an outdated hash (bcrypt, or
/// weaker argon2) stores a fresh argon2id hash in its place.
pub async fn authenticate_user(
    state: &AppState,
    username: &str,
    password: String,
) -> Result<Arc<UserRecord>, ApiError> {
    let user = state.users.get_user(username).await?;
    let stored_hash = user.as_ref().map(|user| user.hashed_password.clone());
    let (matches, upgraded_hash) = state
        .hasher
        .verify_and_update(password, stored_hash)
        .await?;
    let user = user.filter(|_| matches).ok_or(ApiError::IncorrectLogin)?;
    if let Some(new_hash) = upgraded_hash {
        // A failed upgrade must not fail the login: the old hash still verifies.
        match state.users.update_password_hash(username, new_hash).await {
            Ok(()) => tracing::info!(username, "password hash upgraded to argon2id"),
            Err(err) => tracing::warn!(username, %err, "password hash upgrade failed"),
        }
    }
    Ok(user)
}

/// The scopes a login is granted: exactly those requested, each known and allowed for the
/// user, or the user's whole allowed set when none are requested (RFC 6749 §3.3). The
/// tutorial grants whatever is asked; that is the hole this closes.
pub fn grant_scopes<'a>(
    requested: impl IntoIterator<Item = &'a str>,
    user: &UserRecord,
) -> Result<ScopeSet, ApiError> {
    let mut granted = ScopeSet::new();
    for name in requested {
        let scope: Scope = name
            .parse()
            .map_err(|_| ApiError::InvalidScope(format!("Unknown scope: {name}")))?;
        if !user.scopes.contains(&scope) {
            return Err(ApiError::InvalidScope(format!(
                "Scope not allowed for this user: {name}"
            )));
        }
        granted.insert(scope);
    }
    if granted.is_empty() {
        granted.clone_from(&user.scopes);
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::demo_users;

    fn johndoe_with(scopes: &[Scope]) -> UserRecord {
        UserRecord {
            scopes: scopes.iter().copied().collect(),
            ..demo_users().remove(0)
        }
    }

    #[test]
    fn grants_what_is_asked_when_allowed() {
        let user = johndoe_with(&Scope::ALL);
        assert_eq!(
            grant_scopes(["items"], &user).unwrap(),
            [Scope::Items].into()
        );
        assert_eq!(
            grant_scopes(["me", "me"], &user).unwrap(),
            [Scope::Me].into()
        );
    }

    #[test]
    fn grants_the_allowed_set_when_nothing_is_asked() {
        let user = johndoe_with(&[Scope::Me]);
        assert_eq!(grant_scopes([], &user).unwrap(), [Scope::Me].into());
    }

    #[test]
    fn refuses_unknown_and_unallowed_scopes_by_name() {
        let user = johndoe_with(&[Scope::Me]);
        let err = grant_scopes(["me", "admin"], &user).unwrap_err();
        assert_eq!(err.to_string(), "Unknown scope: admin");
        let err = grant_scopes(["items"], &user).unwrap_err();
        assert_eq!(err.to_string(), "Scope not allowed for this user: items");
    }
}
