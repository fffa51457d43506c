//! Where a throttle shared by several servers keeps its counts.

use async_trait::async_trait;

use super::StoreError;

/// GCRA state per key, kept where every server sees it. Times are milliseconds since the
/// epoch; `cell` is the interval one attempt costs, `window` the burst a key may use at once.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Takes one cell for `key` if the key has one left; otherwise how many milliseconds
    /// until it does. Atomic: concurrent takes from several servers never overspend.
    async fn take(
        &self,
        key: &str,
        cell: i64,
        window: i64,
        now: i64,
    ) -> Result<Result<(), i64>, StoreError>;

    /// Gives back one cell taken earlier.
    async fn refund(&self, key: &str, cell: i64) -> Result<(), StoreError>;

    /// Forgets the key: a full bucket again.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
