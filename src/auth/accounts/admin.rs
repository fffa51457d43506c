//! What an operator does to anyone's account: the `passflow users` commands today, an admin
//! route later, both through these calls. Here, and only here, is it said which changes take
//! access away and so end every session of the user at once (ASVS V7.4.2, V7.4.3): disabling,
//! a new password, deletion. Users are named as at a login (RFC 8265: `ZOE` is `zoe`); each
//! call answers with the name as stored.

use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::username::Username;
use crate::store::UserRecord;
use crate::store::sql::{AdminError, Database, UserChange};

/// An operator acting on the accounts in `0`.
#[derive(Clone, Copy)]
pub struct Operator<'a>(pub &'a Database);

impl Operator<'_> {
    /// Adds a user; a name taken, or a look-alike of one, is refused.
    pub async fn add(&self, user: &UserRecord) -> Result<(), AdminError> {
        self.0.add_user(user).await
    }

    /// Imports users all or nothing; `replace` overwrites existing names and ends their
    /// sessions.
    pub async fn import(
        &self,
        users: &[UserRecord],
        replace: bool,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        self.0.import_users(users, replace, now).await
    }

    /// Disabling takes access away: every session ends (ASVS V7.4.2).
    pub async fn disable(&self, name: &str, now: UnixTime) -> Result<Username, AdminError> {
        let name = self.0.resolve(name).await?;
        let change = UserChange::Disabled(true);
        self.0.update_user(&name, change, Some(now)).await?;
        Ok(name)
    }

    /// Enabling gives access back; no session has anything to lose.
    pub async fn enable(&self, name: &str) -> Result<Username, AdminError> {
        let name = self.0.resolve(name).await?;
        self.0
            .update_user(&name, UserChange::Disabled(false), None)
            .await?;
        Ok(name)
    }

    /// A new password (its hash) ends every session: whoever held the old one is out
    /// (ASVS V7.4.3).
    pub async fn set_password(
        &self,
        name: &str,
        hashed_password: &str,
        now: UnixTime,
    ) -> Result<Username, AdminError> {
        let name = self.0.resolve(name).await?;
        let change = UserChange::Password(hashed_password);
        self.0.update_user(&name, change, Some(now)).await?;
        Ok(name)
    }

    /// Sessions go on: scopes taken away stop counting in tokens already issued, which count
    /// only what the user is allowed now.
    pub async fn set_scopes(&self, name: &str, scopes: &ScopeSet) -> Result<Username, AdminError> {
        let name = self.0.resolve(name).await?;
        self.0
            .update_user(&name, UserChange::Scopes(scopes), None)
            .await?;
        Ok(name)
    }

    /// Deleting ends every session, logged before the rows go.
    pub async fn delete(&self, name: &str, now: UnixTime) -> Result<Username, AdminError> {
        let name = self.0.resolve(name).await?;
        self.0.delete_user(&name, now).await?;
        Ok(name)
    }

    /// Turns TOTP off (a lost authenticator). Sessions go on: nothing was taken from the
    /// user, and whoever holds their password still needs it. `true` if it was on.
    pub async fn reset_totp(&self, name: &str) -> Result<(Username, bool), AdminError> {
        let name = self.0.resolve(name).await?;
        let was_on = self.0.reset_totp(&name).await?;
        Ok((name, was_on))
    }
}
