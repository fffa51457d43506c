//! Where second factors live: each user's sealed TOTP secret, whether it is confirmed, the
//! last time step a code was accepted for, and the digests of unspent recovery codes.
//!
//! Every write that spends something (a time step, a recovery code) is one conditional
//! statement, so that of two servers accepting the same code at once exactly one succeeds.

use async_trait::async_trait;

use crate::model::username::Username;
use crate::store::StoreError;
use crate::store::session::Digest;

/// A user's TOTP state as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// AES-256-GCM sealed; only `auth::credentials::totp` can open it.
    pub sealed_secret: Vec<u8>,
    /// `false` while the enrolment awaits its first code.
    pub enabled: bool,
    /// The last time step a code was accepted for.
    pub last_step: Option<u64>,
}

impl std::fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRecord")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait TotpStore: Send + Sync + 'static {
    /// The user's TOTP state, read afresh (a login decides on it).
    async fn totp(&self, username: &Username) -> Result<Option<TotpRecord>, StoreError>;

    /// Stores a pending secret, replacing a pending one. `false`, storing nothing, when the
    /// user's TOTP is already enabled.
    async fn begin_totp(
        &self,
        username: &Username,
        sealed_secret: Vec<u8>,
    ) -> Result<bool, StoreError>;

    /// Turns on the pending secret `sealed_secret` with `step` spent and `recovery` as the
    /// only recovery codes. `false`, changing nothing, if that secret is no longer pending
    /// (replaced, or enabled meanwhile).
    async fn enable_totp(
        &self,
        username: &Username,
        sealed_secret: &[u8],
        step: u64,
        recovery: &[Digest],
    ) -> Result<bool, StoreError>;

    /// Spends `step` if it is later than the last step spent; `false` for a replay.
    async fn spend_totp_step(&self, username: &Username, step: u64) -> Result<bool, StoreError>;

    /// Spends a recovery code by its digest; `false` if the user holds no such unspent code.
    async fn spend_recovery_code(
        &self,
        username: &Username,
        digest: &Digest,
    ) -> Result<bool, StoreError>;

    /// Removes the user's TOTP, pending or enabled, and its recovery codes. `true` if it was
    /// enabled.
    async fn remove_totp(&self, username: &Username) -> Result<bool, StoreError>;
}
