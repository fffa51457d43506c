//! A user's own security activity (ASVS V16, as GitHub's and Google's security pages show
//! it): the events of their account, newest first, a page at a time. Only the account's own
//! events, found by its stable id, never by its name (a name deleted and added again is
//! another account); an operator's name and words stay out of it.

use crate::auth::Auth;
use crate::model::event::{Actor, Event, EventType};
use crate::store::audit::EventQuery;
use crate::store::{StoreError, UserRecord};

/// The most events one page holds.
pub const MAX_PAGE: usize = 100;

/// One page of a user's activity.
#[derive(Debug)]
pub struct Activity {
    pub events: Vec<Event>,
    /// The cursor of the next (older) page, when there may be one.
    pub next: Option<String>,
}

/// Up to `limit` (at most [`MAX_PAGE`]) of `user`'s events older than the event `before`.
pub async fn own_activity(
    auth: &Auth,
    user: &UserRecord,
    limit: usize,
    before: Option<String>,
) -> Result<Activity, StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let query = EventQuery {
        sub: Some(user.id.as_str().to_owned()),
        before_id: before,
        limit,
        ..EventQuery::default()
    };
    let events: Vec<Event> = auth
        .audit
        .events(&query)
        .await?
        .into_iter()
        .map(as_the_user_sees_it)
        .collect();
    let next = (events.len() == limit)
        .then(|| events.last().map(|event| event.id.clone()))
        .flatten();
    Ok(Activity { events, next })
}

/// An operator is shown as one, without their name or their `--reason`: those are for the
/// deployment's own records. A session the operator's change ended keeps its reason, which is
/// the trail's word (`user_disabled`), not theirs.
fn as_the_user_sees_it(mut event: Event) -> Event {
    if let Actor::Operator(_) = event.actor {
        event.actor = Actor::Operator(String::new());
        if event.kind != EventType::SessionEnded {
            event.reason = None;
        }
    }
    event
}
