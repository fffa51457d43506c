//! Brute-force throttling of `/token`, with governor's GCRA limiters.
//!
//! Failed logins are counted for two keys: (client IP, username), which stops guessing one
//! account's password, and client IP alone, which stops spraying many accounts from one
//! address. An attacker's address being throttled never locks the account owner out from
//! their own address.
//!
//! A throttled attempt must be refused before any hashing, but whether an attempt fails is
//! only known after it. So every attempt takes a cell up front as an [`Attempt`], which then
//! settles it: a wrong password keeps the cells; a success clears the (IP, username) count and
//! refunds the per-IP cell, so many users behind one address logging in never add up to a
//! lockout; an attempt that ends any other way (server busy, request cancelled) refunds both.

use std::convert::Infallible;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{Quota, RateLimiter};

use crate::model::username::Username;
use crate::model::username::canonical;

/// Limits for [`LoginThrottle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed logins per (client IP, username) per window.
    pub per_user: u32,
    /// Failed logins per client IP per window.
    pub per_ip: u32,
    /// Wrong second-factor codes per user per window, from all addresses together: once a
    /// password has leaked, six digits must not be guessable from many addresses.
    pub codes_per_user: u32,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_user: 10,
            per_ip: 100,
            codes_per_user: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Past this many tracked keys, every attempt first drops the ones whose window has passed.
const TRACKED_KEYS_SOFT_CAP: usize = 100_000;

type Limiter<K> =
    RateLimiter<K, SharedStore<K>, DefaultClock, NoOpMiddleware<<DefaultClock as Clock>::Instant>>;

pub struct LoginThrottle {
    per_user: Limiter<(IpAddr, String)>,
    per_user_state: SharedStore<(IpAddr, String)>,
    per_user_cell: Nanos,
    per_ip: Limiter<IpAddr>,
    per_ip_state: SharedStore<IpAddr>,
    per_ip_cell: Nanos,
    codes: Limiter<String>,
    codes_state: SharedStore<String>,
    codes_cell: Nanos,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        let clock = DefaultClock::default();
        let per_user_state = SharedStore::default();
        let per_ip_state = SharedStore::default();
        let per_user_quota = quota(settings.per_user, settings.window);
        let per_ip_quota = quota(settings.per_ip, settings.window);
        let codes_state = SharedStore::default();
        let codes_quota = quota(settings.codes_per_user, settings.window);
        Self {
            per_user: RateLimiter::new(per_user_quota, per_user_state.clone(), clock.clone()),
            per_user_state,
            per_user_cell: Nanos::from(per_user_quota.replenish_interval()),
            per_ip: RateLimiter::new(per_ip_quota, per_ip_state.clone(), clock.clone()),
            per_ip_state,
            per_ip_cell: Nanos::from(per_ip_quota.replenish_interval()),
            codes: RateLimiter::new(codes_quota, codes_state.clone(), clock.clone()),
            codes_state,
            codes_cell: Nanos::from(codes_quota.replenish_interval()),
            clock,
        }
    }

    /// Takes a cell for a login attempt, before any hashing is spent on it. `Err` carries how
    /// long the client must wait. The cell is the account's as a person reads its name
    /// (RFC 8265 key): `ZOE` and `zoe` guess at one password and share one budget.
    pub fn attempt(&self, ip: IpAddr, username: &str) -> Result<Attempt<'_>, Duration> {
        if self.per_user.len() > TRACKED_KEYS_SOFT_CAP {
            self.per_user.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = self.clock.now();
        self.per_ip
            .check_key(&ip)
            .map_err(|denied| denied.wait_time_from(now))?;
        let key = (ip, canonical(username).into_owned());
        if let Err(denied) = self.per_user.check_key(&key) {
            self.per_ip_state.refund(&ip, self.per_ip_cell);
            return Err(denied.wait_time_from(now));
        }
        Ok(Attempt {
            throttle: self,
            ip,
            user_key: Some(key),
            settled: false,
        })
    }

    /// Takes a cell for an attempt that names no user (a refresh-token grant, an
    /// introspection client's credentials), so only the address counts: a failed refresh
    /// is a guess at a token, as a failed login is a guess at a password.
    pub fn address_attempt(&self, ip: IpAddr) -> Result<Attempt<'_>, Duration> {
        let now = self.clock.now();
        self.per_ip
            .check_key(&ip)
            .map_err(|denied| denied.wait_time_from(now))?;
        Ok(Attempt {
            throttle: self,
            ip,
            user_key: None,
            settled: false,
        })
    }
}

impl LoginThrottle {
    /// Takes a cell for checking a second-factor code of `username`, whatever the address.
    /// Only a wrong code keeps it, so a right one never clears the failures before it.
    pub fn code_attempt(&self, username: &Username) -> Result<CodeAttempt<'_>, Duration> {
        if self.codes.len() > TRACKED_KEYS_SOFT_CAP {
            self.codes.retain_recent();
        }
        let now = self.clock.now();
        let key = canonical(username).into_owned();
        self.codes
            .check_key(&key)
            .map_err(|denied| denied.wait_time_from(now))?;
        Ok(CodeAttempt {
            throttle: self,
            username: key,
            wrong: false,
        })
    }
}

/// A counted second-factor check: kept if [`CodeAttempt::wrong`], refunded otherwise.
#[must_use = "an attempt dropped without `wrong` is refunded"]
pub struct CodeAttempt<'a> {
    throttle: &'a LoginThrottle,
    username: String,
    wrong: bool,
}

impl CodeAttempt<'_> {
    /// A wrong code: the cell stays taken.
    pub fn wrong(mut self) {
        self.wrong = true;
    }
}

impl Drop for CodeAttempt<'_> {
    fn drop(&mut self) {
        if !self.wrong {
            let throttle = self.throttle;
            throttle
                .codes_state
                .refund(&self.username, throttle.codes_cell);
        }
    }
}

/// A counted login attempt; see the module docs for how it settles.
#[must_use = "an attempt dropped unsettled is refunded, as if it never happened"]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    ip: IpAddr,
    /// (client IP, username) for a password login; none for a refresh.
    user_key: Option<(IpAddr, String)>,
    settled: bool,
}

impl Attempt<'_> {
    /// Wrong password: the cells stay taken.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// Right password: the (IP, username) count is cleared and the address gets its cell back.
    pub fn succeeded(mut self) {
        self.settled = true;
        let throttle = self.throttle;
        if let Some(key) = &self.user_key {
            throttle.per_user_state.0.remove(key);
        }
        throttle.per_ip_state.refund(&self.ip, throttle.per_ip_cell);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let throttle = self.throttle;
            if let Some(key) = &self.user_key {
                throttle.per_user_state.refund(key, throttle.per_user_cell);
            }
            throttle.per_ip_state.refund(&self.ip, throttle.per_ip_cell);
        }
    }
}

/// `limit` attempts at once, then one more each `window / limit`: a window that slides.
fn quota(limit: u32, window: Duration) -> Quota {
    let limit = NonZeroU32::new(limit.max(1)).expect("at least 1");
    Quota::with_period(window / limit.get())
        .expect("a positive period")
        .allow_burst(limit)
}

/// governor's DashMap state, shared so that a successful login can forget its key.
struct SharedStore<K: Hash + Eq>(Arc<DashMapStateStore<K>>);

impl<K: Hash + Eq> Default for SharedStore<K> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<K: Hash + Eq> Clone for SharedStore<K> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<K: Hash + Eq + Clone> SharedStore<K> {
    /// Undoes one allowed check. GCRA keeps one "theoretical arrival time" per key and each
    /// allowed cell pushes it one interval later; pulling it one interval back returns the
    /// cell. A time in the past reads as a full bucket, so this can never grant extra cells.
    fn refund(&self, key: &K, cell: Nanos) {
        let _ = self.0.measure_and_replace(key, |tat| {
            let tat = tat.unwrap_or(Nanos::new(0));
            Ok::<_, Infallible>(((), tat.saturating_sub(cell)))
        });
    }
}

impl<K: Hash + Eq + Clone> StateStore for SharedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for SharedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.0)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTACKER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const OWNER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

    fn throttle(per_user: u32, per_ip: u32) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            per_user,
            per_ip,
            codes_per_user: 2,
            window: Duration::from_secs(900),
        })
    }

    #[test]
    fn wrong_codes_count_per_user_from_every_address_and_right_ones_refund() {
        let throttle = throttle(10, 100);
        throttle
            .code_attempt(&Username::from("johndoe"))
            .unwrap()
            .wrong();
        for _ in 0..5 {
            drop(throttle.code_attempt(&Username::from("johndoe")).unwrap());
        }
        throttle
            .code_attempt(&Username::from("johndoe"))
            .unwrap()
            .wrong();
        assert!(throttle.code_attempt(&Username::from("johndoe")).is_err());
        assert!(throttle.code_attempt(&Username::from("alice")).is_ok());
    }

    #[test]
    fn the_attempt_past_the_limit_is_refused_with_a_wait() {
        let throttle = throttle(3, 100);
        for _ in 0..3 {
            throttle.attempt(ATTACKER, "johndoe").unwrap().failed();
        }
        let wait = throttle.attempt(ATTACKER, "johndoe").err().unwrap();
        assert!(
            wait > Duration::from_secs(290) && wait <= Duration::from_secs(300),
            "{wait:?}"
        );
    }

    #[test]
    fn the_owner_is_not_locked_out_from_another_address() {
        let throttle = throttle(2, 100);
        while let Ok(attempt) = throttle.attempt(ATTACKER, "johndoe") {
            attempt.failed();
        }
        assert!(throttle.attempt(OWNER, "johndoe").is_ok());
        assert!(throttle.attempt(ATTACKER, "alice").is_ok());
    }

    #[test]
    fn a_success_clears_its_own_count() {
        let throttle = throttle(2, 100);
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        throttle.attempt(OWNER, "johndoe").err().unwrap();
        // (The refused attempt above took nothing.) A success clears the count.
        let throttle = super::tests::throttle(2, 100);
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        throttle.attempt(OWNER, "johndoe").unwrap().succeeded();
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        assert!(throttle.attempt(OWNER, "johndoe").is_err());
    }

    #[test]
    fn successes_from_a_shared_address_do_not_count_against_it() {
        let throttle = throttle(10, 2);
        for _ in 0..20 {
            throttle.attempt(OWNER, "johndoe").unwrap().succeeded();
        }
        throttle.attempt(OWNER, "alice").unwrap().failed();
        throttle.attempt(OWNER, "bob").unwrap().failed();
        assert!(throttle.attempt(OWNER, "carol").is_err());
    }

    #[test]
    fn attempts_that_end_without_an_answer_take_nothing() {
        let throttle = throttle(1, 1);
        for _ in 0..5 {
            drop(throttle.attempt(OWNER, "johndoe").unwrap());
        }
        throttle.attempt(OWNER, "johndoe").unwrap().failed();
        assert!(throttle.attempt(OWNER, "johndoe").is_err());
    }

    #[test]
    fn one_address_spraying_many_accounts_is_stopped() {
        let throttle = throttle(10, 5);
        for user in ["a", "b", "c", "d", "e"] {
            throttle.attempt(ATTACKER, user).unwrap().failed();
        }
        assert!(throttle.attempt(ATTACKER, "f").is_err());
        assert!(throttle.attempt(OWNER, "f").is_ok());
    }
}
