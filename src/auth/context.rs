//! What the use cases work with: the stores, keys, hash pool, throttles, sessions, second
//! factors, registered clients, consents and clock.
//! Nothing here is HTTP (client addresses arrive as arguments), so a command-line tool or a
//! test drives the same login and refresh a route does.

use std::sync::Arc;

use crate::auth::accounts::policy::PasswordPolicy;
use crate::auth::audit::Audit;
use crate::auth::credentials::hash_pool::HashPool;
use crate::auth::credentials::totp::SecondFactor;
use crate::auth::guard::Guard;
use crate::auth::login::ticket::LoginTickets;
use crate::auth::oauth::clients::Clients;
use crate::auth::sessions::Sessions;
use crate::auth::tokens::TokenKeys;
use crate::auth::tokens::id_token::IdTokens;
use crate::clock::Clock;
use crate::model::event::{Event, EventType, Outcome, RequestContext};
use crate::model::scopes::ScopeCatalog;
use crate::store::UserStore;
use crate::store::consents::ConsentStore;

#[derive(Clone)]
pub struct Auth {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<Sessions>,
    pub tokens: Arc<TokenKeys>,
    pub hasher: HashPool,
    /// Every guess's budget, here and on every server sharing the database.
    pub guard: Arc<Guard>,
    pub clock: Clock,
    /// The scopes this deployment offers (`SCOPES`), with their descriptions.
    pub scopes: Arc<ScopeCatalog>,
    /// What a new password must be.
    pub password_policy: PasswordPolicy,
    /// TOTP secrets, recovery codes and the steps already spent.
    pub totp: Arc<SecondFactor>,
    /// The registered clients of the authorization-code flow.
    pub clients: Clients,
    /// What each user allowed each client.
    pub consents: Arc<dyn ConsentStore>,
    /// Proved passwords a login page carries to its second-factor step.
    pub tickets: Arc<LoginTickets>,
    /// How long an authorization code lives, in seconds
    /// (`AUTHORIZATION_CODE_LIFETIME_SECONDS`).
    pub code_lifetime: u64,
    /// What signs id_tokens; `None`: OpenID Connect is off (no identity scope is offered).
    pub id_tokens: Option<Arc<IdTokens>>,
    /// The security events' one door (ASVS V16).
    pub audit: Audit,
}

impl Auth {
    /// A new event of `context`'s request, now.
    pub fn event(&self, context: &RequestContext, kind: EventType, outcome: Outcome) -> Event {
        context.event(kind, outcome, self.clock.now_millis())
    }
}
