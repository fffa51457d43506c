//! Abuse control, in one place: every guess a client makes (a password, a refresh token, a
//! client secret, a second-factor code) takes a cell of a budget before any work is spent on
//! it, and settles it once the outcome is known. [`Guard`] counts each budget in this process
//! ([`local`]) and, with a shared database, across every replica ([`shared`]): one call
//! covers both, and the stricter of the two applies. [`per_address`] caps what one address
//! may have in flight.
//!
//! The budgets (OWASP ASVS V6.3.5, V6.6.3): failed logins per (address, user) and per
//! address; wrong second-factor codes per user, from all addresses together.

pub mod local;
pub mod per_address;
pub mod shared;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::model::username::Username;
use crate::store::StoreError;
use crate::store::throttle::ThrottleStore;
use local::{LoginThrottle, ThrottleSettings};
use shared::{SharedAttempt, SharedCodeAttempt, SharedThrottle};

/// A budget is spent: nothing was checked. `0` is how long the client must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry in {0:?}")]
pub struct Throttled(pub Duration);

impl Throttled {
    /// The wait in whole seconds, rounded up, so that a client retrying on time is admitted.
    pub fn retry_after_secs(&self) -> u64 {
        self.0.as_secs() + 1
    }
}

/// Why an attempt was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// The shared count could not be read: nothing was checked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// This process's budgets, and every replica's when they share a database.
pub struct Guard {
    settings: ThrottleSettings,
    local: LoginThrottle,
    shared: Option<Arc<SharedThrottle>>,
}

impl Guard {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            local: LoginThrottle::new(settings),
            shared: None,
        }
    }

    /// Built at start-up: these budgets with this process's counts under `settings`, the
    /// shared counts (if any) kept.
    pub fn with_local(&self, settings: ThrottleSettings) -> Self {
        Self {
            settings,
            local: LoginThrottle::new(settings),
            shared: self.shared.clone(),
        }
    }

    /// Built at start-up: these budgets, counted in `store` too with `settings`, so that
    /// every server sharing the store shares one budget.
    pub fn with_shared(&self, store: Arc<dyn ThrottleStore>, settings: ThrottleSettings) -> Self {
        Self {
            settings: self.settings,
            local: LoginThrottle::new(self.settings),
            shared: Some(SharedThrottle::new(store, settings)),
        }
    }

    /// A password guess at `username` (any spelling of it, RFC 8265) from `client`.
    pub async fn password_attempt(
        &self,
        client: IpAddr,
        username: &str,
    ) -> Result<PasswordAttempt<'_>, Refused> {
        let local = self.local.attempt(client, username).map_err(Throttled)?;
        let shared = match &self.shared {
            Some(shared) => Some(shared.attempt(client, username).await?),
            None => None,
        };
        Ok(PasswordAttempt { local, shared })
    }

    /// A guess that names no user (a refresh token, a client's secret): only the address's
    /// budget counts. A refusal known to any replica is honoured here without a round trip.
    pub fn address_attempt(&self, client: IpAddr) -> Result<AddressAttempt<'_>, Throttled> {
        let local = self.local.address_attempt(client).map_err(Throttled)?;
        if let Some(shared) = &self.shared {
            shared.check_address(client).map_err(Throttled)?;
        }
        Ok(AddressAttempt {
            guard: self,
            client,
            local,
        })
    }

    /// A second-factor code for `username`, whatever the address.
    pub async fn code_attempt(&self, username: &Username) -> Result<CodeAttempt<'_>, Refused> {
        let local = self.local.code_attempt(username).map_err(Throttled)?;
        let shared = match &self.shared {
            Some(shared) => Some(shared.code_attempt(username).await?),
            None => None,
        };
        Ok(CodeAttempt { local, shared })
    }
}

/// A counted password guess. [`failed`](Self::failed) keeps its cells;
/// [`succeeded`](Self::succeeded) clears the (address, user) count and gives the address its
/// cell back; dropped unsettled (busy, a store failure, a cancelled request) it is refunded,
/// as if it never happened.
#[must_use = "an attempt dropped unsettled is refunded, as if it never happened"]
pub struct PasswordAttempt<'a> {
    local: local::Attempt<'a>,
    shared: Option<SharedAttempt>,
}

impl PasswordAttempt<'_> {
    pub fn failed(self) {
        self.local.failed();
        if let Some(shared) = self.shared {
            shared.failed();
        }
    }

    pub async fn succeeded(self) -> Result<(), StoreError> {
        self.local.succeeded();
        match self.shared {
            Some(shared) => shared.succeeded().await,
            None => Ok(()),
        }
    }
}

/// A counted guess that names no user; settles like [`PasswordAttempt`].
#[must_use = "an attempt dropped unsettled is refunded, as if it never happened"]
pub struct AddressAttempt<'a> {
    guard: &'a Guard,
    client: IpAddr,
    local: local::Attempt<'a>,
}

impl AddressAttempt<'_> {
    /// Counts the failure here and in the shared budget. Counting it never changes the
    /// answer: a store failure here is only logged.
    pub async fn failed(self) {
        self.local.failed();
        if let Some(shared) = &self.guard.shared
            && let Err(err) = shared.charge_failure(self.client).await
        {
            tracing::warn!(%err, "counting a failure in the shared throttle failed");
        }
    }

    pub fn succeeded(self) {
        self.local.succeeded();
    }
}

/// A counted second-factor code: [`wrong`](Self::wrong) keeps the cell,
/// [`right`](Self::right) gives it back, so a right code never clears the wrong ones before
/// it; dropped unsettled it is refunded.
#[must_use = "an attempt dropped unsettled is refunded"]
pub struct CodeAttempt<'a> {
    local: local::CodeAttempt<'a>,
    shared: Option<SharedCodeAttempt>,
}

impl CodeAttempt<'_> {
    pub fn wrong(self) {
        self.local.wrong();
        if let Some(shared) = self.shared {
            shared.wrong();
        }
    }

    pub async fn right(self) -> Result<(), StoreError> {
        drop(self.local);
        match self.shared {
            Some(shared) => shared.right().await,
            None => Ok(()),
        }
    }
}
