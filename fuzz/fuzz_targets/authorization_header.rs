//! Any `Authorization` header value: the bearer extractor answers a token or an ApiError.
#![no_main]

use axum::extract::FromRequestParts;
use axum::http::{HeaderValue, Request, header};
use libfuzzer_sys::fuzz_target;
use passflow::http::error::ApiError;
use passflow::http::extract::BearerToken;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let (mut parts, ()) = Request::get("/users/me/")
        .header(header::AUTHORIZATION, value)
        .body(())
        .unwrap()
        .into_parts();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    match runtime.block_on(BearerToken::from_request_parts(&mut parts, &())) {
        Ok(BearerToken(token)) => assert!(token.len() <= passflow::http::extract::MAX_TOKEN_LEN),
        Err(ApiError::NotAuthenticated | ApiError::InvalidToken) => {}
        Err(other) => panic!("unexpected rejection {other:?}"),
    }
});
