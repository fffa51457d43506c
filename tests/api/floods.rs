//! Per-address admission to `/token` (LOGIN_CONCURRENCY_PER_IP) and held refusals.

use std::time::{Duration, Instant};

use passflow::auth::credentials::hash_pool::HashPool;
use passflow::auth::tokens::TokenKeys;
use passflow::state::AdmissionSettings;
use passflow::store::InMemoryUserStore;
use passflow::{AppState, router};

use crate::hardening::login_from;
use crate::helpers::*;

const IN_FLIGHT: &str = r#"{"detail":"Too many logins in progress from this address"}"#;

fn app(per_address: usize, refusal_hold: Duration) -> axum::Router {
    let state = AppState::new(
        InMemoryUserStore::demo(),
        TokenKeys::new(settings()),
        HashPool::new(2, 32).unwrap(),
    )
    .with_admission(AdmissionSettings {
        per_address,
        refusal_hold,
    });
    router(state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_over_its_cap_gets_a_held_429_and_others_are_not_affected() {
    let hold = Duration::from_millis(300);
    let app = app(1, hold);
    let flooder = {
        let app = app.clone();
        tokio::spawn(async move { login_from(&app, "127.0.0.1", None, "johndoe", "secret").await })
    };
    // Let the first login take the address's only place (it hashes for ~100 ms).
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let refused = login_from(&app, "127.0.0.1", None, "johndoe", "secret").await;
    assert!(
        started.elapsed() >= hold,
        "refusal answered after {:?}",
        started.elapsed()
    );
    refused.assert(429, IN_FLIGHT, None);
    assert_eq!(refused.header("retry-after"), Some("1"));
    // Another address is admitted while the first is busy.
    let other = login_from(&app, "127.0.0.31", None, "johndoe", "secret").await;
    assert_eq!(other.status, 200, "{}", other.text());
    assert_eq!(flooder.await.unwrap().status, 200);
    // The place was given back: the same address logs in again.
    let again = login_from(&app, "127.0.0.1", None, "johndoe", "secret").await;
    assert_eq!(again.status, 200, "{}", again.text());
}

#[tokio::test]
async fn failed_logins_are_answered_no_sooner_than_the_hold() {
    let hold = Duration::from_millis(300);
    let app = app(2, hold);
    let started = Instant::now();
    login_from(&app, "127.0.0.1", None, "johndoe", "wrong")
        .await
        .assert(
            401,
            r#"{"detail":"Incorrect username or password"}"#,
            Some("Bearer"),
        );
    assert!(started.elapsed() >= hold);
    let started = Instant::now();
    let garbage = login_from(&app, "127.0.0.1", None, "", "").await;
    assert_eq!(garbage.status, 422);
    assert!(started.elapsed() >= hold);
}

#[tokio::test]
async fn refreshes_are_answered_while_the_address_holds_all_its_login_places() {
    let state = AppState::new(
        InMemoryUserStore::demo(),
        TokenKeys::new(settings()),
        HashPool::new(2, 32).unwrap(),
    )
    .with_admission(AdmissionSettings {
        per_address: 2,
        refusal_hold: Duration::ZERO,
    });
    let app = router(state.clone());
    let pair = post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(pair.status, 200, "{}", pair.text());
    // In-process requests all come from one address: take both of its places.
    let address = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    let places = [
        state.login_admission.acquire(address).unwrap(),
        state.login_admission.acquire(address).unwrap(),
    ];
    post_form(&app, &[("username", "johndoe"), ("password", "secret")])
        .await
        .assert(429, IN_FLIGHT, None);
    let mut refresh_token = pair.json()["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let reply = post_form(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        refresh_token = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    }
    drop(places);
    let again = post_form(&app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(again.status, 200, "{}", again.text());
}
