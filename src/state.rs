//! What every request can reach: the user store, the token keys, the hash pool, the login
//! throttle and the proxies whose `X-Forwarded-For` is believed.

use std::sync::Arc;

use ipnet::IpNet;

use crate::auth::hash_pool::HashPool;
use crate::auth::throttle::{LoginThrottle, ThrottleSettings};
use crate::auth::token::TokenKeys;
use crate::store::UserStore;

#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<TokenKeys>,
    pub hasher: HashPool,
    pub throttle: Arc<LoginThrottle>,
    pub trusted_proxies: Arc<[IpNet]>,
}

impl AppState {
    /// State with the default login throttle and no trusted proxies.
    pub fn new(users: impl UserStore, tokens: TokenKeys, hasher: HashPool) -> Self {
        Self {
            users: Arc::new(users),
            tokens: Arc::new(tokens),
            hasher,
            throttle: Arc::new(LoginThrottle::new(ThrottleSettings::default())),
            trusted_proxies: Arc::from([]),
        }
    }

    pub fn with_throttle(self, settings: ThrottleSettings) -> Self {
        Self {
            throttle: Arc::new(LoginThrottle::new(settings)),
            ..self
        }
    }

    pub fn with_trusted_proxies(self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            trusted_proxies: proxies.into_iter().collect(),
            ..self
        }
    }
}
