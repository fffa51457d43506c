//! The audit trail (issue 42) as the routes write it: every login's outcome, once, with where
//! it came from; the operator's side is in `database.rs` and the binary's tests.

use std::net::IpAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use passflow::AppState;
use passflow::auth::guard::local::ThrottleSettings;
use passflow::clock::Clock;
use passflow::model::event::{Actor, Event, Outcome};
use passflow::router;
use passflow::store::audit::EventQuery;
use serde_json::json;

use crate::helpers::*;
use crate::totp::{NOW, code_at, demo_state, turn_on};

const INCORRECT_LOGIN: &str = r#"{"detail":"Incorrect username or password"}"#;

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) audit-test";

/// A password grant from `client` (in-process requests come from 0.0.0.0, trusted here as a
/// proxy), with a user agent and `request_id`.
async fn log_in(app: &Router, client: &str, fields: &[(&str, &str)], request_id: &str) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client)
        .header(header::USER_AGENT, AGENT)
        .header("x-request-id", request_id)
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

async fn trail(state: &AppState) -> Vec<Event> {
    let query = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    let mut events = state.auth.audit.events(&query).await.unwrap();
    events.reverse();
    events
}

/// (type, user, reason, request id) of each event, oldest first.
fn summary(events: &[Event]) -> Vec<(&str, &str, &str, &str)> {
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("-")
    }
    events
        .iter()
        .map(|event| {
            let fields = (text(&event.user), text(&event.reason));
            (
                event.kind.as_str(),
                fields.0,
                fields.1,
                text(&event.request_id),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_login_outcome_is_one_event_with_where_it_came_from() {
    let clock = Clock::manual(NOW);
    let state = demo_state(&clock)
        .with_throttle(ThrottleSettings {
            per_user: 2,
            ..ThrottleSettings::default()
        })
        .with_trusted_proxies(["0.0.0.0/32".parse().unwrap()]);
    let app = router(state.clone());
    let ok = log_in(
        &app,
        "203.0.113.5",
        &[("username", "JohnDoe"), ("password", "secret")],
        "r-ok",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let sid = jwt_claims(str_of(&ok.json(), "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    // A name typed to forge a line is kept as data.
    let forged = "nobody\n2027-01-15T08:00:00Z login.succeeded";
    for (name, id) in [(forged, "r-unknown"), ("johndoe", "r-wrong")] {
        log_in(
            &app,
            "198.51.100.7",
            &[("username", name), ("password", "guess-1")],
            id,
        )
        .await
        .assert(401, INCORRECT_LOGIN, Some("Bearer"));
    }
    // johndoe's cell from this address holds 2 failures: the next are refused, and the
    // refusals are one event, however many there are.
    log_in(
        &app,
        "198.51.100.7",
        &[("username", "johndoe"), ("password", "guess-2")],
        "r-2",
    )
    .await;
    for n in 0..5 {
        let id = format!("r-throttled-{n}");
        let fields = [("username", "JOHNDOE"), ("password", "guess-3")];
        let refused = log_in(&app, "198.51.100.7", &fields, &id).await;
        assert_eq!(refused.status, 429, "{}", refused.text());
    }

    let events = trail(&state).await;
    assert_eq!(
        summary(&events),
        [
            ("login.succeeded", "johndoe", "-", "r-ok"),
            ("login.failed", forged, "unknown_user", "r-unknown"),
            ("login.failed", "johndoe", "wrong_password", "r-wrong"),
            ("login.failed", "johndoe", "wrong_password", "r-2"),
            (
                "login.throttled",
                "JOHNDOE",
                "failed_logins",
                "r-throttled-0"
            ),
        ]
    );
    let johndoe_sub = state
        .auth
        .users
        .get_user("johndoe")
        .await
        .unwrap()
        .unwrap()
        .id
        .clone();
    let success = &events[0];
    assert_eq!(success.actor, Actor::User("johndoe".into()));
    assert_eq!(success.outcome, Outcome::Success);
    assert_eq!(success.session_id.as_deref(), Some(sid.as_str()));
    assert_eq!(success.sub.as_deref(), Some(johndoe_sub.as_str()));
    assert_eq!(
        success.address,
        Some("203.0.113.5".parse::<IpAddr>().unwrap())
    );
    assert_eq!(success.user_agent.as_deref(), Some(AGENT));
    for failure in &events[1..] {
        assert_eq!(failure.actor, Actor::Anonymous);
        assert_eq!(failure.outcome, Outcome::Failure);
        assert_eq!(
            failure.address,
            Some("198.51.100.7".parse::<IpAddr>().unwrap())
        );
        assert_eq!(failure.session_id, None);
    }
    assert_eq!(events[1].sub, None, "an unknown name has no account");
    assert_eq!(events[2].sub.as_deref(), Some(johndoe_sub.as_str()));
}

#[tokio::test]
async fn a_wrong_second_factor_is_recorded_and_a_long_user_agent_cut() {
    let clock = Clock::manual(NOW);
    let state = demo_state(&clock).with_trusted_proxies(["0.0.0.0/32".parse().unwrap()]);
    let app = router(state.clone());
    let (secret, _, _) = turn_on(&app, NOW).await;
    clock.advance(30);
    let before = trail(&state).await.len();
    let wrong = if code_at(&secret, NOW + 30) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let fields = [
        ("username", "johndoe"),
        ("password", "secret"),
        ("totp", wrong),
    ];
    log_in(&app, "192.0.2.1", &fields, "r-code").await.assert(
        401,
        r#"{"detail":"Incorrect TOTP code"}"#,
        Some("Bearer"),
    );
    let events = trail(&state).await;
    assert_eq!(
        summary(&events[before..]),
        [(
            "login.second_factor_failed",
            "johndoe",
            "incorrect_code",
            "r-code"
        )]
    );

    // A user agent is kept to 256 characters.
    let long = "x".repeat(1000);
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, long.as_str())
        .body(Body::from("username=alice&password=wrong-one"))
        .unwrap();
    assert_eq!(send(&app, request).await.status, 401);
    let last = trail(&state).await.pop().unwrap();
    assert_eq!(last.user_agent.as_deref().map(str::len), Some(256));
    // Nothing trusted a header it should not have: without a proxy, the peer.
    assert_eq!(last.address, Some("0.0.0.0".parse::<IpAddr>().unwrap()));
}

async fn activity(app: &Router, token: &str, query: &str) -> Reply {
    get_with_token(app, &format!("/users/me/activity{query}"), token).await
}

/// What the page shows of `event`: as the trail holds it, with no name but the user's.
fn shown(event: &Event) -> serde_json::Value {
    let actor = match &event.actor {
        Actor::User(name) => json!({"kind": "user", "name": name}),
        Actor::Anonymous => json!({"kind": "anonymous"}),
        other => panic!("unexpected actor {other:?}"),
    };
    json!({
        "id": event.id,
        "time": "2027-01-15T08:00:00.000Z",
        "type": event.kind.as_str(),
        "outcome": event.outcome.as_str(),
        "actor": actor,
        "address": event.address.map(|address| address.to_string()),
        "user_agent": event.user_agent,
        "client_id": null,
        "session_id": event.session_id,
        "reason": event.reason,
    })
}

#[tokio::test]
async fn the_activity_page_shows_the_users_own_events_newest_first_a_page_at_a_time() {
    let clock = Clock::manual(NOW);
    let state = demo_state(&clock).with_trusted_proxies(["0.0.0.0/32".parse().unwrap()]);
    let app = router(state.clone());
    let johndoe = [("username", "johndoe"), ("password", "secret")];
    log_in(&app, "203.0.113.5", &johndoe, "r-1").await;
    let wrong = [("username", "johndoe"), ("password", "not-it-1")];
    log_in(&app, "198.51.100.7", &wrong, "r-2").await;
    // Not johndoe's: another account's failure, and a name that is not an account.
    for name in ["alice", "johndoe2"] {
        log_in(
            &app,
            "198.51.100.7",
            &[("username", name), ("password", "x")],
            "r-3",
        )
        .await;
    }
    let last = log_in(&app, "203.0.113.5", &johndoe, "r-4").await.json();
    let token = str_of(&last, "access_token");

    let trail = trail(&state).await;
    let own: Vec<&Event> = trail
        .iter()
        .rev()
        .filter(|event| event.user.as_deref() == Some("johndoe"))
        .collect();
    assert_eq!(own.len(), 3);
    let first = activity(&app, token, "?limit=2").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.json(),
        json!({"events": [shown(own[0]), shown(own[1])], "next": own[1].id})
    );
    let second = activity(&app, token, &format!("?limit=2&before={}", own[1].id)).await;
    assert_eq!(
        second.json(),
        json!({"events": [shown(own[2])], "next": null})
    );
    // The default page holds them all.
    let all = activity(&app, token, "").await.json();
    assert_eq!(all["events"].as_array().unwrap().len(), 3);

    // Bad pages are refused as FastAPI refuses a bad query parameter.
    let refused = [
        (
            "?limit=0",
            r#"{"detail":[{"type":"greater_than_equal","loc":["query","limit"],"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}"#,
        ),
        (
            "?limit=101",
            r#"{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100","input":"101","ctx":{"le":100}}]}"#,
        ),
        (
            "?limit=ten",
            r#"{"detail":[{"type":"int_parsing","loc":["query","limit"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"ten"}]}"#,
        ),
    ];
    for (query, body) in refused {
        activity(&app, token, query).await.assert(422, body, None);
    }
    for cursor in ["a".repeat(65), "%00".into(), "Z".into()] {
        let shown = cursor.replace("%00", "\\u0000");
        activity(&app, token, &format!("?before={cursor}")).await.assert(
            422,
            &format!(
                r#"{{"detail":[{{"type":"string_pattern_mismatch","loc":["query","before"],"msg":"String should match pattern '^[0-9a-f-]{{1,64}}$'","input":"{shown}","ctx":{{"pattern":"^[0-9a-f-]{{1,64}}$"}}}}]}}"#
            ),
            None,
        );
    }
    // Without the `me` scope, or a token at all: the guard's usual answers.
    let items_only = log_in(
        &app,
        "203.0.113.5",
        &[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", "items"),
        ],
        "r-5",
    )
    .await
    .json();
    activity(&app, str_of(&items_only, "access_token"), "")
        .await
        .assert(
            401,
            r#"{"detail":"Not enough permissions"}"#,
            Some(r#"Bearer scope="me""#),
        );
}
