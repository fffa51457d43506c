//! `GET /users/me/activity`: the user's own security events, newest first, a page at a time
//! (ASVS V16; the page a user checks after "was that me?").

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::accounts::activity::{MAX_PAGE, own_activity};
use crate::http::error::{ApiError, ValidationErrorBody, ValidationIssue};
use crate::http::extract::ActiveUser;
use crate::model::event::{Actor, Event, rfc3339};
use crate::model::scopes::MeScope;
use crate::state::AppState;

/// Events per page when `limit` is not given.
const DEFAULT_PAGE: u32 = 20;
/// What an event id (a UUID) can look like: anything else is no cursor.
const CURSOR_PATTERN: &str = "^[0-9a-f-]{1,64}$";

fn is_cursor(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f' | b'-'))
}

/// Which page: `limit` events older than the event `before` (the `next` of the page before).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActivityPage {
    /// Events per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// The previous page's `next`.
    #[param(pattern = "^[0-9a-f-]{1,64}$")]
    before: Option<String>,
}

impl FromRequestParts<AppState> for ActivityPage {
    type Rejection = ApiError;

    /// Refused as FastAPI refuses a bad `Query(ge=1, le=100)`: a 422 naming the parameter.
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let (mut limit, mut before) = (None, None);
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "limit" => limit = Some(value.into_owned()),
                "before" => before = Some(value.into_owned()),
                _ => {}
            }
        }
        let limit = limit.as_deref().map(page_limit).transpose()?;
        if let Some(cursor) = &before
            && !is_cursor(cursor)
        {
            let msg = format!("String should match pattern '{CURSOR_PATTERN}'");
            let ctx = Some(json!({"pattern": CURSOR_PATTERN}));
            return Err(issue("string_pattern_mismatch", "before", msg, cursor, ctx));
        }
        Ok(Self { limit, before })
    }
}

/// One refused query parameter, in FastAPI's 422 shape.
fn issue(
    kind: &'static str,
    field: &str,
    msg: String,
    input: &str,
    ctx: Option<Value>,
) -> ApiError {
    ApiError::Validation(vec![ValidationIssue {
        kind,
        loc: vec!["query".into(), field.into()],
        msg,
        input: json!(input),
        ctx,
    }])
}

/// `limit` as FastAPI's `Query(ge=1, le=100)` reads it.
pub(crate) fn page_limit(text: &str) -> Result<u32, ApiError> {
    match text.parse::<i64>() {
        Err(_) => {
            let msg = "Input should be a valid integer, unable to parse string as an integer";
            Err(issue("int_parsing", "limit", msg.into(), text, None))
        }
        Ok(n) if n < 1 => {
            let msg = "Input should be greater than or equal to 1".into();
            Err(issue(
                "greater_than_equal",
                "limit",
                msg,
                text,
                Some(json!({"ge": 1})),
            ))
        }
        Ok(n) if n > MAX_PAGE as i64 => {
            let msg = format!("Input should be less than or equal to {MAX_PAGE}");
            let ctx = Some(json!({"le": MAX_PAGE}));
            Err(issue("less_than_equal", "limit", msg, text, ctx))
        }
        Ok(n) => Ok(u32::try_from(n).unwrap_or(DEFAULT_PAGE)),
    }
}

/// Who did it, as the user is shown: an operator's name is not.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityActor {
    /// `user`, `operator`, `client` or `anonymous`.
    #[schema(example = "user")]
    kind: &'static str,
    /// The user's own name, or a client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// One event of the user's account.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityEvent {
    #[schema(example = "019b0f6e-5a3c-7d1e-9f00-2b7c4e1a9d33")]
    id: String,
    #[schema(value_type = String, format = DateTime, example = "2026-12-08T09:30:00.123Z")]
    time: String,
    /// `login.succeeded`, `login.failed`, `session.ended` … (the README's Audit section).
    #[serde(rename = "type")]
    #[schema(example = "login.succeeded")]
    kind: String,
    /// `success` or `failure`.
    #[schema(example = "success")]
    outcome: &'static str,
    actor: ActivityActor,
    #[schema(example = "203.0.113.7")]
    address: Option<String>,
    user_agent: Option<String>,
    client_id: Option<String>,
    session_id: Option<String>,
    /// Why, in the trail's words (`wrong_password`, `logout` …).
    reason: Option<String>,
}

impl From<Event> for ActivityEvent {
    fn from(event: Event) -> Self {
        let kind = event.actor.kind();
        // Never an operator's name, whatever the domain left in it.
        let name = match &event.actor {
            Actor::Operator(_) => None,
            actor => actor.name().map(str::to_owned),
        };
        Self {
            time: rfc3339(event.time),
            kind: event.kind.as_str().to_owned(),
            outcome: event.outcome.as_str(),
            actor: ActivityActor { kind, name },
            address: event.address.map(|address| address.to_string()),
            user_agent: event.user_agent,
            client_id: event.client_id,
            session_id: event.session_id,
            reason: event.reason,
            id: event.id,
        }
    }
}

/// A page of the user's activity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityView {
    events: Vec<ActivityEvent>,
    /// Pass as `before` for the next (older) page; `null`: this was the last.
    next: Option<String>,
}

/// The current user's security activity, newest first.
///
/// Sign-ins with their address and user agent, failed attempts on the account, sessions
/// ended, and changes made to the account. Only this account's events: never another
/// user's, never an operator's name.
#[utoipa::path(
    get,
    path = "/users/me/activity",
    tag = "users",
    params(ActivityPage),
    responses(
        (status = 200, description = "A page of the user's events", body = ActivityView),
        (status = 422, description = "Validation Error", body = ValidationErrorBody,
            example = json!(page_limit("0").unwrap_err().body())),
    ),
)]
pub(crate) async fn read_own_activity(
    user: ActiveUser<MeScope>,
    page: ActivityPage,
    State(state): State<AppState>,
) -> Result<Json<ActivityView>, ApiError> {
    let limit = page.limit.unwrap_or(DEFAULT_PAGE) as usize;
    let activity = own_activity(&state.auth, &user, limit, page.before).await?;
    Ok(Json(ActivityView {
        events: activity
            .events
            .into_iter()
            .map(ActivityEvent::from)
            .collect(),
        next: activity.next,
    }))
}
