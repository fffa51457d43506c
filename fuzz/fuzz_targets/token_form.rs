//! Any `/token` body under any form content type: the form extractor yields a form with a
//! username and password, or a 413/422 — never a panic.
#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use passflow::http::error::ApiError;
use passflow::http::extract::OAuth2PasswordRequestForm;

const CONTENT_TYPES: [&str; 4] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=X",
    "multipart/form-data; boundary=\"a b\"",
    "application/json",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    match runtime.block_on(OAuth2PasswordRequestForm::from_request(request, &())) {
        Ok(form) => assert!(!form.username.is_empty() && !form.password.is_empty()),
        Err(ApiError::Validation(issues)) => assert!(!issues.is_empty()),
        Err(ApiError::PayloadTooLarge) => {}
        Err(other) => panic!("unexpected rejection {other:?}"),
    }
});
