//! What every request can reach: the domain's [`Auth`] context, and what only HTTP needs on
//! top of it (admission to `/token`, and the proxies whose `X-Forwarded-For` is believed).

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::auth::Auth;
use crate::auth::accounts::policy::PasswordPolicy;
use crate::auth::audit::Audit;
use crate::auth::credentials::hash_pool::HashPool;
use crate::auth::credentials::totp::SecondFactor;
use crate::auth::guard::Guard;
use crate::auth::guard::local::ThrottleSettings;
use crate::auth::guard::per_address::PerAddressLimit;
use crate::auth::login::ticket::LoginTickets;
use crate::auth::oauth::clients::Clients;
use crate::auth::oauth::code::DEFAULT_CODE_LIFETIME;
use crate::auth::oauth::introspection::IntrospectionClients;
use crate::auth::oauth::metadata::ServerMetadata;
use crate::auth::sessions::revocation::Revocations;
use crate::auth::sessions::{SessionSettings, Sessions};
use crate::auth::tokens::TokenKeys;
use crate::auth::tokens::id_token::IdTokens;
use crate::auth::tokens::refresh_token::TokenTags;
use crate::clock::Clock;
use crate::model::scopes::ScopeCatalog;
use crate::store::audit::{AuditStore, InMemoryAuditStore};
use crate::store::clients::{ClientStore, InMemoryClientStore};
use crate::store::consents::{ConsentStore, InMemoryConsentStore};
use crate::store::session::SessionStore;
use crate::store::throttle::ThrottleStore;
use crate::store::{InMemorySessionStore, UserStore};

/// How `/token` admits logins per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Logins one address may have in flight (waiting for a hashing thread, or hashing):
    /// `LOGIN_CONCURRENCY_PER_IP`. It bounds each address's share of the shared hash queue,
    /// so a waiting login is never behind more than this many of any other address's.
    pub per_address: usize,
    /// The least time a refused or failed login takes to be answered. An instant refusal can
    /// be asked again at once, so a client in a closed loop would cost the server its full
    /// request rate; waiting costs nothing in async code and slows such a client to its own
    /// number of connections per `refusal_hold`.
    pub refusal_hold: Duration,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        Self {
            per_address: 2,
            refusal_hold: Duration::from_secs(1),
        }
    }
}

/// The issuer authenticator apps show when `TOTP_ISSUER` is not set.
pub const DEFAULT_TOTP_ISSUER: &str = "passflow";

#[derive(Clone)]
pub struct AppState {
    pub auth: Auth,
    pub login_admission: Arc<PerAddressLimit>,
    pub refusal_hold: Duration,
    pub trusted_proxies: Arc<[IpNet]>,
    /// The RFC 8414 document, when `TOKEN_ISSUER` is an issuer URL.
    pub metadata: Option<Arc<ServerMetadata>>,
    /// Who may call `/introspect` (`INTROSPECTION_CLIENTS`); `None`: it is not served.
    pub introspection: Option<IntrospectionClients>,
}

impl AppState {
    /// State with sessions in memory, the default login throttle and admission, the system
    /// clock, and no trusted proxies.
    pub fn new(users: impl UserStore, tokens: TokenKeys, hasher: HashPool) -> Self {
        let admission = AdmissionSettings::default();
        let tickets = Arc::new(LoginTickets::new(&tokens));
        // One memory trail: the sessions' starts are written to the ring the domain reads.
        let trail = Arc::new(InMemoryAuditStore::default());
        let sessions = sessions(
            &tokens,
            Arc::new(InMemorySessionStore::with_audit(Arc::clone(&trail))),
            SessionSettings::default(),
        );
        Self {
            auth: Auth {
                users: Arc::new(users),
                sessions,
                tokens: Arc::new(tokens),
                hasher,
                guard: Arc::new(Guard::new(ThrottleSettings::default())),
                clock: Clock::system(),
                scopes: Arc::new(ScopeCatalog::default()),
                password_policy: PasswordPolicy::default(),
                totp: Arc::new(SecondFactor::in_memory(DEFAULT_TOTP_ISSUER)),
                clients: Clients::new(Arc::new(InMemoryClientStore::default())),
                consents: Arc::new(InMemoryConsentStore::default()),
                tickets,
                code_lifetime: DEFAULT_CODE_LIFETIME,
                id_tokens: None,
                audit: Audit::new(trail),
            },
            login_admission: PerAddressLimit::new(admission.per_address),
            refusal_hold: admission.refusal_hold,
            trusted_proxies: Arc::from([]),
            metadata: None,
            introspection: None,
        }
    }

    /// Users from a store shared with something else (a database that also holds sessions).
    pub fn with_users(mut self, users: Arc<dyn UserStore>) -> Self {
        self.auth.users = users;
        self
    }

    /// Sessions, and the authorization codes that start some of them, in `store`.
    pub fn with_sessions(
        mut self,
        store: Arc<dyn SessionStore>,
        settings: SessionSettings,
    ) -> Self {
        self.auth.sessions = sessions(&self.auth.tokens, store, settings);
        self
    }

    /// Registered clients from `store` (a database's, or `CLIENTS_FILE`'s).
    pub fn with_clients(mut self, store: Arc<dyn ClientStore>) -> Self {
        self.auth.clients = Clients::new(store);
        self
    }

    /// Consents kept in `store` (a database's; the clients they name must live there too).
    /// Where security events are kept (the memory ring by default).
    pub fn with_audit(mut self, store: Arc<dyn AuditStore>) -> Self {
        self.auth.audit = Audit::new(store);
        self
    }

    pub fn with_consents(mut self, store: Arc<dyn ConsentStore>) -> Self {
        self.auth.consents = store;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.auth.clock = clock;
        self
    }

    /// Second factors kept in `factor` (a database's, or one with another issuer).
    pub fn with_totp(mut self, factor: SecondFactor) -> Self {
        self.auth.totp = Arc::new(factor);
        self
    }

    /// Offers `scopes` (the tutorial's and `SCOPES`').
    pub fn with_scopes(mut self, scopes: ScopeCatalog) -> Self {
        self.auth.scopes = Arc::new(scopes);
        self
    }

    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.auth.password_policy = policy;
        self
    }

    pub fn with_throttle(mut self, settings: ThrottleSettings) -> Self {
        self.auth.guard = Arc::new(self.auth.guard.with_local(settings));
        self
    }

    /// Counts failed logins in `store` too, with the same limits as this server's own
    /// throttle, so that every server sharing the store shares one budget.
    pub fn with_shared_throttle(
        mut self,
        store: Arc<dyn ThrottleStore>,
        settings: ThrottleSettings,
    ) -> Self {
        self.auth.guard = Arc::new(self.auth.guard.with_shared(store, settings));
        self
    }

    pub fn with_admission(self, settings: AdmissionSettings) -> Self {
        Self {
            login_admission: PerAddressLimit::new(settings.per_address),
            refusal_hold: settings.refusal_hold,
            ..self
        }
    }

    pub fn with_introspection(self, clients: IntrospectionClients) -> Self {
        Self {
            introspection: Some(clients),
            ..self
        }
    }

    /// The RFC 8414 document; with OpenID Connect on, it names the identity scopes too.
    pub fn with_metadata(self, metadata: ServerMetadata) -> Self {
        let metadata = metadata.identifying(&self.auth.scopes);
        Self {
            metadata: Some(Arc::new(metadata)),
            ..self
        }
    }

    /// OpenID Connect on: id_tokens signed by `id_tokens`, and the identity scopes
    /// (`openid`, `profile`, `email`, `offline_access`) offered beside the API's.
    pub fn with_id_tokens(mut self, id_tokens: IdTokens) -> Self {
        self.auth.id_tokens = Some(Arc::new(id_tokens));
        self.auth.scopes = Arc::new(ScopeCatalog::clone(&self.auth.scopes).with_identity());
        // The metadata, if already set, lists them once a client is registered.
        if let Some(metadata) = self.metadata.take() {
            let metadata = ServerMetadata::clone(&metadata).identifying(&self.auth.scopes);
            self.metadata = Some(Arc::new(metadata));
        }
        self
    }

    pub fn with_code_lifetime(mut self, seconds: u64) -> Self {
        self.auth.code_lifetime = seconds;
        self
    }

    pub fn with_trusted_proxies(self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            trusted_proxies: proxies.into_iter().collect(),
            ..self
        }
    }
}

fn sessions(
    tokens: &TokenKeys,
    store: Arc<dyn SessionStore>,
    settings: SessionSettings,
) -> Arc<Sessions> {
    let revocations = Revocations::new(tokens.lifetime(), tokens.longest_acceptance());
    let tags = TokenTags::new(tokens.derived_keys(TokenTags::PURPOSE));
    Arc::new(Sessions::new(store, revocations, settings, tags))
}
