//! Brute-force throttling of `/token`, with governor's GCRA limiters.
//!
//! Failed logins are counted for two keys: (client IP, username), which stops guessing one
//! account's password, and client IP alone, which stops spraying many accounts from one
//! address. An attacker's address being throttled never locks the account owner out from
//! their own address.
//!
//! A throttled attempt must be refused before any hashing, but whether an attempt fails is
//! only known after it. So every attempt takes a cell up front, and a success gives it back:
//! the (IP, username) count is cleared, and the per-IP cell is refunded, so that many users
//! behind one address logging in successfully never add up to a lockout.

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

/// Limits for [`LoginThrottle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed logins per (client IP, username) per window.
    pub per_user: u32,
    /// Failed logins per client IP per window.
    pub per_ip: u32,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_user: 10,
            per_ip: 100,
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
    per_ip: Limiter<IpAddr>,
    per_ip_state: SharedStore<IpAddr>,
    per_ip_cell: Nanos,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        let clock = DefaultClock::default();
        let per_user_state = SharedStore::default();
        let per_ip_state = SharedStore::default();
        let per_ip_quota = quota(settings.per_ip, settings.window);
        Self {
            per_user: RateLimiter::new(
                quota(settings.per_user, settings.window),
                per_user_state.clone(),
                clock.clone(),
            ),
            per_user_state,
            per_ip: RateLimiter::new(per_ip_quota, per_ip_state.clone(), clock.clone()),
            per_ip_state,
            per_ip_cell: Nanos::from(per_ip_quota.replenish_interval()),
            clock,
        }
    }

    /// Counts a login attempt before any hashing is spent on it. `Err` carries how long the
    /// client must wait. The attempt counts as failed until [`Self::succeeded`] says otherwise.
    pub fn attempt(&self, ip: IpAddr, username: &str) -> Result<(), Duration> {
        if self.per_user.len() > TRACKED_KEYS_SOFT_CAP {
            self.per_user.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = self.clock.now();
        self.per_ip
            .check_key(&ip)
            .map_err(|denied| denied.wait_time_from(now))?;
        self.per_user
            .check_key(&(ip, username.to_owned()))
            .map_err(|denied| denied.wait_time_from(now))
    }

    /// A correct password: clear the (IP, username) count and give the address its cell back.
    pub fn succeeded(&self, ip: IpAddr, username: &str) {
        self.per_user_state.0.remove(&(ip, username.to_owned()));
        self.per_ip_state.refund(&ip, self.per_ip_cell);
    }

    /// How many (IP, username) keys are tracked; bounded by [`TRACKED_KEYS_SOFT_CAP`] plus what
    /// arrived within one window.
    pub fn tracked_keys(&self) -> usize {
        self.per_user.len()
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
            window: Duration::from_secs(900),
        })
    }

    #[test]
    fn the_attempt_past_the_limit_is_refused_with_a_wait() {
        let throttle = throttle(3, 100);
        for _ in 0..3 {
            assert_eq!(throttle.attempt(ATTACKER, "johndoe"), Ok(()));
        }
        let wait = throttle.attempt(ATTACKER, "johndoe").unwrap_err();
        assert!(
            wait > Duration::from_secs(290) && wait <= Duration::from_secs(300),
            "{wait:?}"
        );
    }

    #[test]
    fn the_owner_is_not_locked_out_from_another_address() {
        let throttle = throttle(2, 100);
        while throttle.attempt(ATTACKER, "johndoe").is_ok() {}
        assert_eq!(throttle.attempt(OWNER, "johndoe"), Ok(()));
        assert_eq!(throttle.attempt(ATTACKER, "alice"), Ok(()));
    }

    #[test]
    fn a_success_clears_its_own_count() {
        let throttle = throttle(2, 100);
        throttle.attempt(OWNER, "johndoe").unwrap();
        throttle.attempt(OWNER, "johndoe").unwrap();
        throttle.succeeded(OWNER, "johndoe");
        assert_eq!(throttle.attempt(OWNER, "johndoe"), Ok(()));
        assert_eq!(throttle.attempt(OWNER, "johndoe"), Ok(()));
        assert!(throttle.attempt(OWNER, "johndoe").is_err());
    }

    #[test]
    fn successes_from_a_shared_address_do_not_count_against_it() {
        let throttle = throttle(10, 2);
        for _ in 0..20 {
            throttle.attempt(OWNER, "johndoe").unwrap();
            throttle.succeeded(OWNER, "johndoe");
        }
        throttle.attempt(OWNER, "alice").unwrap();
        throttle.attempt(OWNER, "bob").unwrap();
        assert!(throttle.attempt(OWNER, "carol").is_err());
    }

    #[test]
    fn one_address_spraying_many_accounts_is_stopped() {
        let throttle = throttle(10, 5);
        for user in ["a", "b", "c", "d", "e"] {
            throttle.attempt(ATTACKER, user).unwrap();
        }
        assert!(throttle.attempt(ATTACKER, "f").is_err());
        assert_eq!(throttle.attempt(OWNER, "f"), Ok(()));
    }
}
