//! Whatever arrives, the answer is a 4xx with a JSON `detail`, never a panic or a 500.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use passflow::auth::guard::local::ThrottleSettings;
use passflow::store::InMemoryUserStore;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One login per property run may reach the hash; the rest are throttled before it, so the
/// properties exercise parsing, not argon2.
fn app_for_properties() -> axum::Router {
    passflow::router(
        state_with(settings(), InMemoryUserStore::demo()).with_throttle(ThrottleSettings {
            per_user: 1,
            per_ip: 1,
            window: std::time::Duration::from_secs(3600),
            ..passflow::auth::guard::local::ThrottleSettings::default()
        }),
    )
}

fn assert_json_4xx(reply: &Reply) {
    assert!(
        reply.status.is_client_error(),
        "{} {}",
        reply.status,
        reply.text()
    );
    assert!(reply.json()["detail"].is_array() || reply.json()["detail"].is_string());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_authorization_header_bytes_get_a_json_401(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            return Ok(()); // not sendable over HTTP at all
        };
        let reply = runtime().block_on(get_with_authorization(&app(), "/users/me/", value));
        prop_assert_eq!(reply.status.as_u16(), 401);
        assert_json_4xx(&reply);
    }

    #[test]
    fn any_token_after_bearer_gets_a_json_401(token in "\\PC{0,200}") {
        let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else {
            return Ok(());
        };
        let reply = runtime().block_on(get_with_authorization(&app(), "/users/me/items/", value));
        prop_assert_eq!(reply.status.as_u16(), 401);
        assert_json_4xx(&reply);
    }

    #[test]
    fn any_form_body_gets_a_json_4xx(
        body in proptest::collection::vec(any::<u8>(), 0..2000),
        content_type in prop::sample::select(vec![
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=X",
            "multipart/form-data",
            "application/json",
            "text/plain",
            "",
        ]),
    ) {
        let app = app_for_properties();
        let mut request = Request::post("/token");
        if !content_type.is_empty() {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let reply = runtime().block_on(send(&app, request.body(Body::from(body)).unwrap()));
        assert_json_4xx(&reply);
    }

    #[test]
    fn urlencoded_forms_with_any_fields_get_a_json_4xx(
        fields in proptest::collection::vec(
            (prop::sample::select(vec!["username", "password", "grant_type", "scope", "client_id", "x"]), "\\PC{0,40}"),
            0..8,
        ),
    ) {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = runtime().block_on(post_form(&app_for_properties(), &fields));
        assert_json_4xx(&reply);
    }
}
