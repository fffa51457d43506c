//! The audit trail's one door (ASVS V16): every security event passes through here to be
//! kept in the store, written as one log line under the target `passflow::audit` (for a log
//! shipper to carry elsewhere, V16.4.3) and counted in `passflow_audit_events_total{type}`.
//!
//! An event of a change is written by the store in the change's own transaction, then
//! [`announce`]d; an event with no change of its own (a failed login) is [`Audit::record`]ed.

use std::sync::Arc;

use crate::clock::Clock;
use crate::model::event::{Event, EventType, Outcome, RequestContext};
use crate::store::StoreError;
use crate::store::audit::{AuditStore, EventQuery};

/// The target of the events' log lines: `RUST_LOG=passflow::audit=info` keeps them alone.
pub const LOG_TARGET: &str = "passflow::audit";

#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
    clock: Clock,
}

impl Audit {
    pub fn new(store: Arc<dyn AuditStore>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// A new event of `context`'s request, now.
    pub fn event(&self, context: &RequestContext, kind: EventType, outcome: Outcome) -> Event {
        context.event(kind, outcome, self.clock.now_millis())
    }

    /// Keeps events that belong to no change (a failure, a replay): stored, then announced.
    /// A failed write is counted and returned; the events are still logged, so the log
    /// shipper has them even when the database does not.
    pub async fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        let stored = self.store.append(events).await;
        if let Err(err) = &stored {
            crate::metrics::audit_write_failed(events.len());
            tracing::error!(target: LOG_TARGET, error = %err, events = events.len(), "audit events not stored");
        }
        for event in events {
            announce(event);
        }
        stored
    }

    /// The events `query` selects, newest first.
    pub async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        self.store.events(query).await
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
