//! What users allowed which clients (ASVS V10.7.1–V10.7.3): one grant per (user, client),
//! the scopes it covers widened by each new consent, so a client asking for more asks again.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::RwLock;

use super::StoreError;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::model::user_id::UserId;

/// A user's consent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub user_id: UserId,
    pub client_id: String,
    /// Every scope the user has allowed this client, over all their consents.
    pub scope: ScopeSet,
    /// The latest consent.
    pub granted_at: UnixTime,
}

/// Where consents live.
#[async_trait]
pub trait ConsentStore: Send + Sync + 'static {
    async fn find(
        &self,
        user: &UserId,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError>;

    /// Stores `consent` in place of the user's earlier one to that client.
    async fn put(&self, consent: ConsentRecord) -> Result<(), StoreError>;

    /// The user's consents, in no particular order.
    async fn list(&self, user: &UserId) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Deletes the user's consent to the client; whether there was one.
    async fn revoke(&self, user: &UserId, client_id: &str) -> Result<bool, StoreError>;
}

/// Consents in a map, gone when the process ends (as the sessions they go with).
#[derive(Debug, Default)]
pub struct InMemoryConsentStore {
    consents: RwLock<HashMap<(UserId, String), ConsentRecord>>,
}

fn key(user: &UserId, client_id: &str) -> (UserId, String) {
    (user.to_owned(), client_id.to_owned())
}

#[async_trait]
impl ConsentStore for InMemoryConsentStore {
    async fn find(
        &self,
        user: &UserId,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        let consents = self.consents.read().await;
        Ok(consents.get(&key(user, client_id)).cloned())
    }

    async fn put(&self, consent: ConsentRecord) -> Result<(), StoreError> {
        let key = key(&consent.user_id, &consent.client_id);
        self.consents.write().await.insert(key, consent);
        Ok(())
    }

    async fn list(&self, user: &UserId) -> Result<Vec<ConsentRecord>, StoreError> {
        let consents = self.consents.read().await;
        Ok(consents
            .values()
            .filter(|consent| consent.user_id == *user)
            .cloned()
            .collect())
    }

    async fn revoke(&self, user: &UserId, client_id: &str) -> Result<bool, StoreError> {
        let removed = self.consents.write().await.remove(&key(user, client_id));
        Ok(removed.is_some())
    }
}
