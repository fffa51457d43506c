//! Each replica's view of the sessions ended elsewhere (another server, the `users` command):
//! replayed from the store's log every [`SYNC_EVERY`] (at once where the store announces
//! ends), refused with 503 when too old to trust (fail closed), reported by `/ready`; and the
//! upkeep task that replays it and prunes what has ended.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Sessions, StaleView};
use crate::clock::Clock;
use crate::store::StoreError;

/// How often the ends other processes logged are read: a session ended from another server
/// or the `users` command is refused here within this.
pub const SYNC_EVERY: Duration = Duration::from_millis(500);

/// The oldest view `/ready` accepts: two polls. A replica whose poll fails or hangs leaves a
/// load balancer's rotation within a second, long before its token checks fail closed at
/// [`SessionSettings::max_view_age`].
pub const READY_VIEW_AGE: Duration = SYNC_EVERY.saturating_mul(2);

/// How often ended sessions and stale revocations are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Sessions {
    /// Whether ends logged elsewhere are known here recently enough to be enforced. A store
    /// only this process can see logs nothing elsewhere: its view is always current.
    pub fn check_view(&self) -> Result<(), StaleView> {
        self.check_view_age(self.settings.max_view_age)
    }

    /// What `/ready` reports: the store answered its last statement, and the view is no
    /// older than [`READY_VIEW_AGE`] (or [`SessionSettings::max_view_age`] if that is
    /// shorter). Stricter than [`Self::check_view`]: a replica stops taking traffic as soon
    /// as it cannot serve it, not when its token checks begin to fail closed.
    pub fn check_ready(&self) -> Result<(), StaleView> {
        if self.store.is_shared() && !self.store.reachable() {
            return Err(StaleView);
        }
        self.check_view_age(READY_VIEW_AGE.min(self.settings.max_view_age))
    }

    fn check_view_age(&self, max_age: Duration) -> Result<(), StaleView> {
        if !self.store.is_shared() {
            return Ok(());
        }
        let synced = self.synced.load(Ordering::Acquire);
        let age = self.elapsed_ms().saturating_sub(synced.saturating_sub(1));
        if synced == 0 || age > millis(max_age) {
            return Err(StaleView);
        }
        Ok(())
    }

    fn elapsed_ms(&self) -> u64 {
        millis(self.born.elapsed())
    }

    /// Changes whenever another process logs an end, where the store can announce it.
    pub fn ends_notifications(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        self.store.ends_notifications()
    }

    /// Applies the ends other processes logged since the last call (sessions ended from
    /// another server or the `users` command), and marks the view fresh.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let started = self.elapsed_ms();
        let cursor = self.cursor.load(Ordering::Acquire);
        let (ends, next) = self.store.ends_since(cursor).await?;
        for end in ends {
            match end.session_id {
                Some(id) => self.revocations.end_session(&id, end.ended_at),
                None => self.revocations.cut_off(&end.username, end.ended_at),
            }
        }
        self.cursor.fetch_max(next, Ordering::AcqRel);
        // Fresh as of when the read began, not when it ended.
        self.synced.fetch_max(started + 1, Ordering::AcqRel);
        Ok(())
    }
}

/// Keeps session memory bounded (sessions past their deadlines and revocations no token can
/// match any more are dropped every [`PRUNE_EVERY`]) and replays the ends logged elsewhere
/// every [`SYNC_EVERY`]. A failing store is logged and retried; requests meanwhile get 503s.
pub fn spawn_upkeep(sessions: Arc<Sessions>, clock: Clock) {
    tokio::spawn(async move {
        let mut sync = tokio::time::interval(SYNC_EVERY);
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        // PostgreSQL announces ends (LISTEN/NOTIFY): replay them at once, not at the next tick.
        let mut announced = sessions.ends_notifications();
        loop {
            let announcement = async {
                match announced.as_mut() {
                    Some(receiver) => receiver.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sync.tick() => {
                    if let Err(err) = sessions.sync().await {
                        tracing::warn!(%err, "reading ended sessions failed");
                    }
                }
                still_listening = announcement => {
                    if !still_listening {
                        announced = None;
                    } else if let Err(err) = sessions.sync().await {
                        tracing::warn!(%err, "reading ended sessions failed");
                    }
                }
                _ = prune.tick() => {
                    if let Err(err) = sessions.prune(clock.now()).await {
                        tracing::warn!(%err, "pruning sessions failed");
                    }
                }
            }
        }
    });
}
