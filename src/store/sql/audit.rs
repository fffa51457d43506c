//! `AuditStore` on the database: `audit_events`, which a trigger keeps append-only (see the
//! migration `audit_events`). Reads go newest first through the primary key (ids are UUIDv7,
//! time-ordered) or, for one user, through `(username, id)` or `(subject, id)`; the retention
//! deletes by `occurred_at`.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Connection as _, Row};

use super::{Database, unavailable};
use crate::model::event::{Actor, Event, EventType, Outcome};
use crate::store::StoreError;
use crate::store::audit::{AuditStore, EventQuery};

const COLUMNS: &str = "id, occurred_at, event_type, outcome, username, subject, actor_kind, actor_name, \
     client_id, session_id, address, user_agent, request_id, reason";

fn corrupt(what: String) -> StoreError {
    StoreError::Unavailable(what.into())
}

fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    let text = |name: &str| row.try_get::<Option<String>, _>(name).map_err(unavailable);
    let kind: String = row.try_get("event_type").map_err(unavailable)?;
    let outcome: String = row.try_get("outcome").map_err(unavailable)?;
    let actor_kind: String = row.try_get("actor_kind").map_err(unavailable)?;
    let actor = Actor::from_parts(&actor_kind, text("actor_name")?)
        .ok_or_else(|| corrupt(format!("audit event with actor kind {actor_kind:?}")))?;
    let address = text("address")?;
    Ok(Event {
        id: row.try_get("id").map_err(unavailable)?,
        time: row.try_get("occurred_at").map_err(unavailable)?,
        kind: kind
            .parse::<EventType>()
            .map_err(|err| corrupt(err.to_string()))?,
        outcome: Outcome::from_name(&outcome)
            .ok_or_else(|| corrupt(format!("audit event with outcome {outcome:?}")))?,
        user: text("username")?,
        sub: text("subject")?,
        actor,
        client_id: text("client_id")?,
        session_id: text("session_id")?,
        address: address
            .map(|address| address.parse())
            .transpose()
            .map_err(|err: std::net::AddrParseError| corrupt(err.to_string()))?,
        user_agent: text("user_agent")?,
        request_id: text("request_id")?,
        reason: text("reason")?,
    })
}

/// Appends `event` inside `tx`: an event of a change commits with the change or not at all.
pub(super) async fn append_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let outcome = event.outcome.as_str();
    sqlx::query(&format!(
        "INSERT INTO audit_events ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&event.id)
    .bind(event.time)
    .bind(event.kind.as_str())
    .bind(outcome)
    .bind(event.user.as_deref())
    .bind(event.sub.as_deref())
    .bind(event.actor.kind())
    .bind(event.actor.name())
    .bind(event.client_id.as_deref())
    .bind(event.session_id.as_deref())
    .bind(event.address.map(|address| address.to_string()))
    .bind(event.user_agent.as_deref())
    .bind(event.request_id.as_deref())
    .bind(event.reason.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl AuditStore for Database {
    async fn append(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let mut tx = connection.begin().await.map_err(|err| self.failed(err))?;
        for event in events {
            append_in(&mut tx, event)
                .await
                .map_err(|err| self.failed(err))?;
        }
        tx.commit().await.map_err(|err| self.failed(err))
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut conditions = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = Vec::new();
        // Placeholders are numbered in the order the values are bound below: texts, then
        // numbers.
        if let Some(user) = &query.user {
            texts.push(user.clone());
            conditions.push(format!("username = ${}", texts.len()));
        }
        if let Some(sub) = &query.sub {
            texts.push(sub.clone());
            conditions.push(format!("subject = ${}", texts.len()));
        }
        if let Some(id) = &query.before_id {
            texts.push(id.clone());
            conditions.push(format!("id < ${}", texts.len()));
        }
        if !query.types.is_empty() {
            let first = texts.len() + 1;
            texts.extend(query.types.iter().map(|kind| kind.as_str().to_owned()));
            let placeholders: Vec<String> =
                (first..=texts.len()).map(|n| format!("${n}")).collect();
            conditions.push(format!("event_type IN ({})", placeholders.join(", ")));
        }
        for (op, value) in [(">=", query.since), ("<", query.until)] {
            if let Some(value) = value {
                numbers.push(value);
                conditions.push(format!("occurred_at {op} ${}", texts.len() + numbers.len()));
            }
        }
        numbers.push(i64::try_from(query.limit).unwrap_or(i64::MAX));
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events {filter} ORDER BY id DESC LIMIT ${}",
            texts.len() + numbers.len()
        );
        let mut statement = sqlx::query(&sql);
        for text in &texts {
            statement = statement.bind(text.as_str());
        }
        for number in &numbers {
            statement = statement.bind(*number);
        }
        let rows = statement
            .fetch_all(&mut *self.connection().await?)
            .await
            .map_err(|err| self.failed(err))?;
        rows.iter().map(event_from_row).collect()
    }

    async fn delete_older(&self, before: i64, batch: usize) -> Result<usize, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE occurred_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(i64::try_from(batch).unwrap_or(i64::MAX))
        .execute(&mut *self.connection().await?)
        .await
        .map_err(|err| self.failed(err))?;
        Ok(usize::try_from(deleted.rows_affected()).unwrap_or(usize::MAX))
    }
}
