//! What every request can reach: the user store, the token keys and the hash pool.

use std::sync::Arc;

use crate::password::HashPool;
use crate::store::UserStore;
use crate::token::TokenKeys;

#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<TokenKeys>,
    pub hasher: HashPool,
}

impl AppState {
    pub fn new(users: impl UserStore, tokens: TokenKeys, hasher: HashPool) -> Self {
        Self {
            users: Arc::new(users),
            tokens: Arc::new(tokens),
            hasher,
        }
    }
}
