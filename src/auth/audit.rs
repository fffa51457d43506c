//! The audit trail's one door (ASVS V16): every security event passes through here to be
//! kept in the store, written as one log line under the target `passflow::audit` (for a log
//! shipper to carry elsewhere, V16.4.3) and counted in `passflow_audit_events_total{type}`.
//!
//! An event of a change is written by the store in the change's own transaction, then
//! [`announce`]d; an event with no change of its own (a failed login) is [`Audit::record`]ed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::model::event::Event;
use crate::model::username::canonical;
use crate::store::StoreError;
use crate::store::audit::{AuditStore, EventQuery};

/// The target of the events' log lines: `RUST_LOG=passflow::audit=info` keeps them alone.
pub const LOG_TARGET: &str = "passflow::audit";

#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
    throttled: Arc<ThrottleNotices>,
}

/// How often a failed write is tried again, and after how long.
const RETRIES: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(200)];

impl Audit {
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self {
            store,
            throttled: Arc::default(),
        }
    }

    /// Keeps events that belong to no change (a failure, a refusal): stored, then announced.
    /// A failed write is tried again twice, then counted in
    /// `passflow_audit_write_failures_total`; the events are logged either way, so the log
    /// shipper has them when the database does not. The answer to the request never
    /// depends on it.
    pub async fn record(&self, events: &[Event]) {
        let mut stored = self.store.append(events).await;
        for pause in RETRIES {
            if stored.is_ok() {
                break;
            }
            tokio::time::sleep(pause).await;
            stored = self.store.append(events).await;
        }
        if let Err(err) = &stored {
            crate::metrics::audit_write_failed(events.len());
            tracing::error!(target: LOG_TARGET, error = %err, events = events.len(), "audit events not stored");
        }
        for event in events {
            announce(event);
        }
    }

    /// Records a refusal by a throttle once per cell and window: `event` is kept only if no
    /// refusal of the same address and name is still in its window (`wait` long), so a flood
    /// of refused guesses adds one row, not one per guess.
    pub async fn record_throttled(&self, event: Event, wait: Duration) {
        if self.throttled.first(&event, wait) {
            self.record(&[event]).await;
        }
    }

    /// The events `query` selects, newest first.
    pub async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        self.store.events(query).await
    }

    /// Deletes every event older than `before` (milliseconds), [`RETENTION_BATCH`] at a
    /// time, so no statement holds the table long however much is due; how many it deleted.
    pub async fn forget_older(&self, before: i64) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        loop {
            let deleted = self.store.delete_older(before, RETENTION_BATCH).await?;
            forgotten += deleted;
            if deleted < RETENTION_BATCH {
                return Ok(forgotten);
            }
            // Let the requests waiting for the store in between.
            tokio::task::yield_now().await;
        }
    }
}

/// Events one retention statement deletes at most.
pub const RETENTION_BATCH: usize = 1_000;

/// How often the retention runs (and once at start).
const RETAIN_EVERY: Duration = Duration::from_secs(60 * 60);

/// Where `AUDIT_RETENTION_DAYS` ends at `now` (milliseconds): events before it go. `None`
/// for 0, which keeps them forever.
pub fn retention_cutoff(now: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now.saturating_sub(i64::from(days) * 86_400_000))
}

/// Deletes events older than `days` (`AUDIT_RETENTION_DAYS`) at start and every hour after
/// (ASVS V16.4: kept as long as the deployment says, then gone). On every replica: each
/// deletes by age, so they agree on what is left; a failure is logged and retried next time.
pub fn spawn_retention(audit: Audit, days: u32, clock: Clock) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETAIN_EVERY);
        loop {
            every.tick().await;
            let Some(cutoff) = retention_cutoff(clock.now_millis(), days) else {
                return;
            };
            match audit.forget_older(cutoff).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::info!(forgotten, days, "old audit events deleted"),
                Err(err) => tracing::warn!(%err, "deleting old audit events failed"),
            }
        }
    });
}

/// Throttle refusals already recorded, until their window ends. Bounded: past
/// [`NOTICES`] entries, the ended ones are dropped, then (a flood of distinct cells) all.
#[derive(Default)]
struct ThrottleNotices(Mutex<HashMap<ThrottleCell, Instant>>);

/// A refusal's cell: the address, the name's RFC 8265 key, and the event's type.
type ThrottleCell = (Option<IpAddr>, String, &'static str);

const NOTICES: usize = 100_000;

impl ThrottleNotices {
    /// Whether `event` is the first refusal of its cell in this window.
    fn first(&self, event: &Event, wait: Duration) -> bool {
        let name = event.user.as_deref().map(canonical).unwrap_or_default();
        let key = (event.address, name.into_owned(), event.kind.as_str());
        let now = Instant::now();
        let mut notices = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if notices.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        if notices.len() >= NOTICES {
            notices.retain(|_, until| *until > now);
            if notices.len() >= NOTICES {
                notices.clear();
            }
        }
        notices.insert(key, now + wait);
        true
    }
}

/// Writes `event`'s log line and counts it; called once it is stored (or, with no store to
/// keep it, once its change is made). The line's `event` field is the event's stable JSON,
/// escaped, so no text a user typed can break the line or forge another.
pub fn announce(event: &Event) {
    crate::metrics::audit_event(event.kind.as_str());
    tracing::info!(target: LOG_TARGET, event = %event.to_json_line(), "{}", event.kind);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::model::event::{EventType, Outcome, RequestContext};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn forged() -> Event {
        // A typed name that tries to end the line and start a forged one, in colour.
        let name = "zoe\n2026-12-08T00:00:00Z INFO passflow::audit: login.succeeded\u{1b}[0m";
        RequestContext::anonymous(Some("203.0.113.9".parse().unwrap()))
            .event(EventType::LoginFailed, Outcome::Failure, 1_800_000_000_000)
            .user(name, None)
            .reason("unknown_user")
    }

    fn logged(json: bool, event: &Event) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false);
        let dispatch: tracing::Dispatch = if json {
            builder.json().into()
        } else {
            builder.into()
        };
        tracing::dispatcher::with_default(&dispatch, || announce(event));
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    /// A store whose first `failures` appends fail, keeping the rest.
    struct Flaky {
        failures: Mutex<usize>,
        kept: crate::store::audit::InMemoryAuditStore,
    }

    #[async_trait::async_trait]
    impl AuditStore for Flaky {
        async fn append(&self, events: &[Event]) -> Result<(), StoreError> {
            let failed = {
                let mut failures = self.failures.lock().unwrap();
                let failed = *failures > 0;
                *failures = failures.saturating_sub(1);
                failed
            };
            if failed {
                return Err(StoreError::Unavailable("cut".into()));
            }
            self.kept.append(events).await
        }

        async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
            self.kept.events(query).await
        }

        async fn delete_older(&self, before: i64, batch: usize) -> Result<usize, StoreError> {
            self.kept.delete_older(before, batch).await
        }
    }

    async fn kept_after(failures: usize) -> (usize, String) {
        let store = Arc::new(Flaky {
            failures: Mutex::new(failures),
            kept: Default::default(),
        });
        let audit = Audit::new(Arc::clone(&store) as _);
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        audit.record(&[forged()]).await;
        let all = EventQuery {
            limit: 10,
            ..EventQuery::default()
        };
        let kept = store.events(&all).await.unwrap().len();
        (
            kept,
            String::from_utf8(out.0.lock().unwrap().clone()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_failed_write_is_tried_again_then_reported_and_the_event_still_logged() {
        let (kept, log) = kept_after(2).await;
        assert_eq!(kept, 1, "the third try keeps it");
        assert!(!log.contains("not stored"), "{log}");
        let (kept, log) = kept_after(3).await;
        assert_eq!(kept, 0);
        assert!(log.contains("audit events not stored"), "{log}");
        assert!(
            log.contains("login.failed"),
            "the line still carries it: {log}"
        );
    }

    #[test]
    fn retention_reaches_back_its_days_and_zero_keeps_everything() {
        let now = 1_800_000_000_000;
        assert_eq!(retention_cutoff(now, 0), None);
        assert_eq!(retention_cutoff(now, 1), Some(now - 86_400_000));
        assert_eq!(retention_cutoff(now, 180), Some(now - 180 * 86_400_000));
        assert_eq!(retention_cutoff(0, 36_500), Some(-36_500 * 86_400_000));
    }

    #[test]
    fn each_event_is_one_log_line_under_its_target_that_no_typed_text_can_split() {
        let event = forged();
        let line = logged(true, &event);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(!line.contains('\u{1b}'), "{line}");
        let record: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["target"], LOG_TARGET);
        assert_eq!(record["fields"]["message"], "login.failed");
        let carried: serde_json::Value =
            serde_json::from_str(record["fields"]["event"].as_str().unwrap()).unwrap();
        assert_eq!(carried, serde_json::to_value(&event).unwrap());
        assert_eq!(carried["actor"], serde_json::json!({"kind": "anonymous"}));

        let text = logged(false, &event);
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains(r#"zoe\n2026-12-08T00:00:00Z"#), "{text}");
    }
}
