//! The failed-login throttle shared by every server on one database (`DATABASE_URL` is
//! PostgreSQL): an attacker spreading guesses over the replicas gets the budget of one server,
//! not one per replica. It counts beside each server's own [`LoginThrottle`] with the same
//! limits and keys, so the stricter of the two always applies.
//!
//! [`LoginThrottle`]: super::local::LoginThrottle

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quick_cache::sync::Cache;

use super::{Refused, Throttled};
use crate::auth::guard::local::ThrottleSettings;
use crate::auth::tokens::refresh_token::sha256;
use crate::model::username::Username;
use crate::model::username::canonical;
use crate::store::StoreError;
use crate::store::throttle::ThrottleStore;

/// Keys refused recently, remembered locally so that a throttled client costs no database
/// round trip until its known retry time.
const DENIED_CACHED: usize = 100_000;

pub struct SharedThrottle {
    store: Arc<dyn ThrottleStore>,
    settings: ThrottleSettings,
    denied: Cache<String, Instant>,
}

/// A budget's row in the [`ThrottleStore`]: the one place its key is spelt.
enum Key<'a> {
    /// Failed guesses from an address.
    Address(IpAddr),
    /// Failed logins of one account (its RFC 8265 key) from one address.
    AddressUser(IpAddr, &'a str),
    /// Wrong second-factor codes for one account (its RFC 8265 key).
    Codes(&'a str),
}

impl Key<'_> {
    /// A name is kept as the SHA-256 of its key: whatever was typed (a NUL byte, 16 KiB of
    /// text), the row's key is short text any database holds, so a strange name is one more
    /// failed login, never a statement the database refuses.
    fn row(&self) -> String {
        let name = |username: &str| hex::encode(sha256(canonical(username).as_bytes()).0);
        match self {
            Key::Address(ip) => format!("a|{ip}"),
            Key::AddressUser(ip, username) => format!("u|{ip}|{}", name(username)),
            Key::Codes(username) => format!("c|{}", name(username)),
        }
    }
}

impl SharedThrottle {
    pub fn new(store: Arc<dyn ThrottleStore>, settings: ThrottleSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            denied: Cache::new(DENIED_CACHED),
        })
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.settings.window.as_millis()).unwrap_or(i64::MAX)
    }

    fn cell_ms(&self, limit: u32) -> i64 {
        (self.window_ms() / i64::from(limit.max(1))).max(1)
    }

    /// Takes a cell per key: the address, and the address and the username's RFC 8265 key.
    /// Same semantics as `LoginThrottle::attempt`.
    pub async fn attempt(
        self: &Arc<Self>,
        ip: IpAddr,
        username: &str,
    ) -> Result<SharedAttempt, Refused> {
        let address = Key::Address(ip).row();
        let user = Key::AddressUser(ip, username).row();
        for key in [&address, &user] {
            if let Some(until) = self.denied.get(key) {
                let left = until.saturating_duration_since(Instant::now());
                if !left.is_zero() {
                    return Err(Refused::Throttled(Throttled(left)));
                }
            }
        }
        let now = now_ms();
        let per_ip = self.cell_ms(self.settings.per_ip);
        self.take(&address, per_ip, now).await?;
        let per_user = self.cell_ms(self.settings.per_user);
        if let Err(refused) = self.take(&user, per_user, now).await {
            self.store
                .refund(&address, per_ip)
                .await
                .map_err(Refused::Store)?;
            return Err(refused);
        }
        Ok(SharedAttempt {
            throttle: Arc::clone(self),
            address,
            user,
            settled: false,
        })
    }

    /// For refresh grants, which cost no hashing: refused only if this address is known to
    /// be over its budget, without a database round trip. A failure is then charged with
    /// [`Self::charge_failure`], so a success costs the database nothing. Across N replicas
    /// a guesser gets at most N guesses beyond the budget per window, before every replica
    /// has seen a refusal.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = Key::Address(ip).row();
        match self.denied.get(&key) {
            Some(until) if until > Instant::now() => {
                Err(until.saturating_duration_since(Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// Takes a cell for checking a second-factor code of `username`, counted across every
    /// server and address. Same semantics as `LoginThrottle::code_attempt`.
    pub async fn code_attempt(
        self: &Arc<Self>,
        username: &Username,
    ) -> Result<SharedCodeAttempt, Refused> {
        let key = Key::Codes(username).row();
        if let Some(until) = self.denied.get(&key) {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                return Err(Refused::Throttled(Throttled(left)));
            }
        }
        self.take(&key, self.cell_ms(self.settings.codes_per_user), now_ms())
            .await?;
        Ok(SharedCodeAttempt {
            throttle: Arc::clone(self),
            key,
            settled: false,
        })
    }

    /// Counts a failed refresh against the address.
    pub async fn charge_failure(&self, ip: IpAddr) -> Result<(), StoreError> {
        let per_ip = self.cell_ms(self.settings.per_ip);
        match self.take(&Key::Address(ip).row(), per_ip, now_ms()).await {
            Ok(()) | Err(Refused::Throttled(_)) => Ok(()),
            Err(Refused::Store(err)) => Err(err),
        }
    }

    async fn take(&self, key: &str, cell: i64, now: i64) -> Result<(), Refused> {
        match self.store.take(key, cell, self.window_ms(), now).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(wait_ms)) => {
                let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1));
                self.denied.insert(key.to_owned(), Instant::now() + wait);
                Err(Refused::Throttled(Throttled(wait)))
            }
            Err(err) => Err(Refused::Store(err)),
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// A counted attempt in the shared throttle; settles like `local::Attempt`.
#[must_use = "an attempt dropped unsettled is refunded, as if it never happened"]
pub struct SharedAttempt {
    throttle: Arc<SharedThrottle>,
    address: String,
    user: String,
    settled: bool,
}

impl SharedAttempt {
    /// Wrong password: the cells stay taken.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// Right password: the (address, username) count is cleared on every server, and the
    /// address gets its cell back.
    pub async fn succeeded(mut self) -> Result<(), StoreError> {
        self.settled = true;
        let throttle = &self.throttle;
        throttle.store.clear(&self.user).await?;
        throttle.denied.remove(&self.user);
        let per_ip = throttle.cell_ms(throttle.settings.per_ip);
        throttle.store.refund(&self.address, per_ip).await
    }
}

impl Drop for SharedAttempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // Cancelled or failed for another reason: refund in the background, best effort (a
        // lost refund costs the client one cell for one window, never grants extra).
        let throttle = Arc::clone(&self.throttle);
        let (address, user) = (self.address.clone(), std::mem::take(&mut self.user));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let per_ip = throttle.cell_ms(throttle.settings.per_ip);
                let _ = throttle.store.refund(&address, per_ip).await;
                let per_user = throttle.cell_ms(throttle.settings.per_user);
                let _ = throttle.store.refund(&user, per_user).await;
            });
        }
    }
}

/// A counted second-factor check in the shared throttle; settles like
/// `local::CodeAttempt`.
#[must_use = "an attempt dropped unsettled is refunded in the background"]
pub struct SharedCodeAttempt {
    throttle: Arc<SharedThrottle>,
    key: String,
    settled: bool,
}

impl SharedCodeAttempt {
    /// A wrong code: the cell stays taken on every server.
    pub fn wrong(mut self) {
        self.settled = true;
    }

    /// A right code: the cell is given back.
    pub async fn right(mut self) -> Result<(), StoreError> {
        self.settled = true;
        let throttle = &self.throttle;
        let cell = throttle.cell_ms(throttle.settings.codes_per_user);
        throttle.store.refund(&self.key, cell).await
    }
}

impl Drop for SharedCodeAttempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let throttle = Arc::clone(&self.throttle);
        let key = std::mem::take(&mut self.key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let cell = throttle.cell_ms(throttle.settings.codes_per_user);
                let _ = throttle.store.refund(&key, cell).await;
            });
        }
    }
}
