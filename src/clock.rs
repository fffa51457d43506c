//! The wall clock every lifetime is measured against: token expiry, session idle and
//! absolute timeouts. Tests swap in a manual clock and move it forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::time::UnixTime;

/// The system clock, or a manual one that only moves when told to.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock stopped at `now` until [`Clock::advance`] moves it.
    pub fn manual(now: UnixTime) -> Self {
        Self(Some(Arc::new(AtomicU64::new(now))))
    }

    pub fn now(&self) -> UnixTime {
        match &self.0 {
            None => jsonwebtoken::get_current_timestamp(),
            Some(manual) => manual.load(Ordering::Relaxed),
        }
    }

    /// Milliseconds since the epoch: an audit event's time. A manual clock counts whole
    /// seconds.
    pub fn now_millis(&self) -> i64 {
        let millis = match &self.0 {
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis()),
            Some(manual) => u128::from(manual.load(Ordering::Relaxed)) * 1000,
        };
        i64::try_from(millis).unwrap_or(i64::MAX)
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    ///
    /// # Panics
    /// On the system clock: a test that thinks it controls time must not silently not.
    pub fn advance(&self, seconds: u64) {
        let manual = self
            .0
            .as_ref()
            .expect("only a manual clock can be advanced");
        manual.fetch_add(seconds, Ordering::Relaxed);
    }
}
