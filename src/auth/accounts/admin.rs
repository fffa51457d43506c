//! What an operator does to anyone's account: the `passflow users` commands today, an admin
//! route later, both through these calls. Here, and only here, is it said which changes take
//! access away and so end every session of the user at once (ASVS V7.4.2, V7.4.3): disabling,
//! a new password, deletion. Users are named as at a login (RFC 8265: `ZOE` is `zoe`); each
//! call answers with the name as stored.
//!
//! Each change is recorded (ASVS V16.3.3) by the store in the change's own transaction: the
//! operator's name and `--reason` come with the [`RequestContext`].

use crate::auth::audit::announce;
use crate::clock::Clock;
use crate::model::event::{Event, EventType, Outcome, RequestContext};
use crate::model::scopes::ScopeSet;
use crate::model::username::Username;
use crate::store::UserRecord;
use crate::store::admin::{AccountAdmin, AdminError, EndSessions, UserChange};

/// The `session.ended` reason of each change that ends sessions.
const DISABLED: &str = "user_disabled";
const PASSWORD_SET: &str = "password_changed";
const DELETED: &str = "user_deleted";
const REPLACED: &str = "user_replaced";

/// An operator, as `context` says who and why, acting on the accounts in `admin`.
pub struct Operator<'a> {
    admin: &'a dyn AccountAdmin,
    context: RequestContext,
    clock: Clock,
}

impl<'a> Operator<'a> {
    pub fn new(admin: &'a dyn AccountAdmin, context: RequestContext, clock: Clock) -> Self {
        Self {
            admin,
            context,
            clock,
        }
    }

    fn event(&self, kind: EventType, user: &UserRecord) -> Event {
        self.context
            .event(kind, Outcome::Success, self.clock.now_millis())
            .user(user.username(), Some(user.id.as_str()))
    }

    /// Every session of the user ends now, each recorded as ended for `reason`.
    fn end_sessions(&self, reason: &str) -> EndSessions {
        let ended = self
            .context
            .event(
                EventType::SessionEnded,
                Outcome::Success,
                self.clock.now_millis(),
            )
            .reason(reason);
        EndSessions {
            at: self.clock.now(),
            ended,
        }
    }

    /// Adds a user; a name taken, or a look-alike of one, is refused.
    pub async fn add(&self, user: &UserRecord) -> Result<(), AdminError> {
        let event = self.event(EventType::UserCreated, user);
        self.admin.add_user(user, &event).await?;
        announce(&event);
        Ok(())
    }

    /// Imports users all or nothing; `replace` overwrites existing names and ends their
    /// sessions. One `users.imported` event, its `reason` the operator's.
    pub async fn import(&self, users: &[UserRecord], replace: bool) -> Result<(), AdminError> {
        let event = self.context.event(
            EventType::UsersImported,
            Outcome::Success,
            self.clock.now_millis(),
        );
        let replace = replace.then(|| self.end_sessions(REPLACED));
        self.admin.import_users(users, replace, &event).await?;
        announce(&event);
        Ok(())
    }

    /// Disabling takes access away: every session ends (ASVS V7.4.2).
    pub async fn disable(&self, name: &str) -> Result<Username, AdminError> {
        let end = self.end_sessions(DISABLED);
        self.update(
            name,
            EventType::UserDisabled,
            UserChange::Disabled(true),
            Some(end),
        )
        .await
    }

    /// Enabling gives access back; no session has anything to lose.
    pub async fn enable(&self, name: &str) -> Result<Username, AdminError> {
        self.update(
            name,
            EventType::UserEnabled,
            UserChange::Disabled(false),
            None,
        )
        .await
    }

    /// A new password (its hash) ends every session: whoever held the old one is out
    /// (ASVS V7.4.3).
    pub async fn set_password(
        &self,
        name: &str,
        hashed_password: &str,
    ) -> Result<Username, AdminError> {
        let end = self.end_sessions(PASSWORD_SET);
        let change = UserChange::Password(hashed_password);
        self.update(name, EventType::UserPasswordSet, change, Some(end))
            .await
    }

    /// Sessions go on: scopes taken away stop counting in tokens already issued, which count
    /// only what the user is allowed now.
    pub async fn set_scopes(&self, name: &str, scopes: &ScopeSet) -> Result<Username, AdminError> {
        self.update(
            name,
            EventType::UserScopesSet,
            UserChange::Scopes(scopes),
            None,
        )
        .await
    }

    async fn update(
        &self,
        name: &str,
        kind: EventType,
        change: UserChange<'_>,
        end: Option<EndSessions>,
    ) -> Result<Username, AdminError> {
        let user = self.admin.resolve_user(name).await?;
        let event = self.event(kind, &user);
        self.admin
            .update_user(user.username(), change, end, &event)
            .await?;
        announce(&event);
        Ok(user.username().clone())
    }

    /// Deleting ends every session, logged before the rows go.
    pub async fn delete(&self, name: &str) -> Result<Username, AdminError> {
        let user = self.admin.resolve_user(name).await?;
        let event = self.event(EventType::UserDeleted, &user);
        let end = self.end_sessions(DELETED);
        self.admin.delete_user(user.username(), end, &event).await?;
        announce(&event);
        Ok(user.username().clone())
    }

    /// Turns TOTP off (a lost authenticator). Sessions go on: nothing was taken from the
    /// user, and whoever holds their password still needs it. `true` if it was on (and only
    /// then is anything recorded: nothing else changed).
    pub async fn reset_totp(&self, name: &str) -> Result<(Username, bool), AdminError> {
        let user = self.admin.resolve_user(name).await?;
        let event = self.event(EventType::UserTotpReset, &user);
        let was_on = self.admin.reset_totp(user.username(), &event).await?;
        if was_on {
            announce(&event);
        }
        Ok((user.username().clone(), was_on))
    }
}
