//! Where security events are kept: appended, read newest first, deleted only by age. A
//! database also refuses any `UPDATE` of its table (a trigger, ASVS V16.4.2); memory keeps a
//! bounded ring, the oldest dropped first.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use super::StoreError;
use crate::model::event::{Event, EventType};

/// Which events to read: all of them but what a field rules out, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// The account's name as recorded (exactly).
    pub user: Option<String>,
    /// The account's stable id: its events only, whatever name it had.
    pub sub: Option<String>,
    /// Any of these types; empty: every type.
    pub types: Vec<EventType>,
    /// From this time on, in milliseconds since the epoch.
    pub since: Option<i64>,
    /// Before this time.
    pub until: Option<i64>,
    /// Older than the event with this id (a page's cursor).
    pub before_id: Option<String>,
    pub limit: usize,
}

impl EventQuery {
    fn matches(&self, event: &Event) -> bool {
        self.user
            .as_ref()
            .is_none_or(|user| event.user.as_ref() == Some(user))
            && self
                .sub
                .as_ref()
                .is_none_or(|sub| event.sub.as_ref() == Some(sub))
            && (self.types.is_empty() || self.types.contains(&event.kind))
            && self.since.is_none_or(|since| event.time >= since)
            && self.until.is_none_or(|until| event.time < until)
            && self.before_id.as_ref().is_none_or(|id| event.id < *id)
    }
}

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends `events`, all or none.
    async fn append(&self, events: &[Event]) -> Result<(), StoreError>;

    /// The events `query` selects, newest first, at most `query.limit`.
    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError>;

    /// Deletes up to `batch` events older than `before` (milliseconds); how many it deleted.
    async fn delete_older(&self, before: i64, batch: usize) -> Result<usize, StoreError>;
}

/// How many events the memory store's ring holds by default (`AUDIT_MEMORY_EVENTS`).
pub const MEMORY_EVENTS: usize = 10_000;

/// A bounded ring: once full, each new event drops the oldest.
#[derive(Debug)]
pub struct InMemoryAuditStore {
    events: Mutex<VecDeque<Event>>,
    capacity: usize,
}

impl Default for InMemoryAuditStore {
    fn default() -> Self {
        Self::new(MEMORY_EVENTS)
    }
}

impl InMemoryAuditStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            events: Mutex::new(VecDeque::with_capacity(capacity.min(MEMORY_EVENTS))),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl AuditStore for InMemoryAuditStore {
    async fn append(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut held = self.lock();
        for event in events {
            if held.len() == self.capacity {
                held.pop_front();
            }
            held.push_back(event.clone());
        }
        Ok(())
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let held = self.lock();
        Ok(held
            .iter()
            .rev()
            .filter(|event| query.matches(event))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn delete_older(&self, before: i64, batch: usize) -> Result<usize, StoreError> {
        let mut held = self.lock();
        let old = held.iter().take_while(|event| event.time < before).count();
        let gone = old.min(batch);
        held.drain(..gone);
        Ok(gone)
    }
}
