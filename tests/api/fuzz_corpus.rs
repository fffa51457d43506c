//! Replays the fuzzers' committed seeds (`fuzz/seeds/`) through the same paths the fuzz
//! targets drive, so the inputs kept from fuzzing, and any crash found later, stay
//! regression tests in a plain `cargo test`.

use std::path::Path;

use crate::helpers::*;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use passflow::auth::guard::local::ThrottleSettings;
use passflow::auth::tokens::TokenKeys;
use passflow::store::InMemoryUserStore;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[tokio::test]
async fn authorization_header_corpus() {
    let app = app();
    for input in corpus("authorization_header") {
        let Ok(value) = HeaderValue::from_bytes(&input) else {
            continue;
        };
        let request = Request::get("/users/me/")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert!(
            [200, 401].contains(&reply.status.as_u16()),
            "{input:?}: {}",
            reply.status
        );
        reply.json();
    }
}

#[test]
fn token_decode_corpus() {
    let keys = TokenKeys::new(settings());
    for input in corpus("token_decode") {
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = keys.decode(text);
        }
    }
}

#[tokio::test]
async fn token_form_corpus() {
    // At most one input per address reaches the hash; the rest stop at the throttle.
    let app = passflow::router(
        state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
            per_user: 1,
            per_ip: 1,
            window: std::time::Duration::from_secs(3600),
            ..passflow::auth::guard::local::ThrottleSettings::default()
        }),
    );
    const CONTENT_TYPES: [&str; 4] = [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=X",
        "multipart/form-data; boundary=\"a b\"",
        "application/json",
    ];
    for input in corpus("token_form") {
        let Some((&selector, body)) = input.split_first() else {
            continue;
        };
        let request = Request::post("/token")
            .header(
                header::CONTENT_TYPE,
                CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()],
            )
            .body(Body::from(body.to_vec()))
            .unwrap();
        let reply = send(&app, request).await;
        assert!(
            [200, 401, 413, 422, 429].contains(&reply.status.as_u16()),
            "{input:?}: {} {}",
            reply.status,
            reply.text()
        );
        reply.json();
    }
}
