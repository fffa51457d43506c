//! The pages' error surface: what a browser is shown when no form can be, as an HTML page
//! (never JSON, never a redirect while the client is in doubt, RFC 6749 §4.1.2.1).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::render::Page;
use crate::auth::LoginError;
use crate::auth::oauth::authorize::PageRefusal;
use crate::auth::oauth::end_session::EndSessionRefusal;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// The client or its redirect URI is in doubt: nowhere safe to send the user.
    #[error(transparent)]
    Refused(#[from] PageRefusal),
    /// An end-session request whose client or return address is in doubt.
    #[error(transparent)]
    EndSession(#[from] EndSessionRefusal),
    /// A form posted without this browser's CSRF token: from another site, another browser,
    /// or a page older than the browser's cookies. Nothing was changed.
    #[error("form without its CSRF token")]
    Forged,
    /// A store out of reach, or hashing saturated: worth retrying shortly.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A value the form or link carried that no store can hold (a NUL byte).
    #[error("a value that cannot be stored")]
    Unstorable,
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    heading: &'a str,
    message: String,
    advice: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message, advice) = match &self {
            PageError::Refused(refusal) => (
                StatusCode::BAD_REQUEST,
                "Sign-in request refused",
                refusal.to_string(),
                "Go back to the application and try again; if this persists, tell its \
                 developers.",
            ),
            PageError::EndSession(refusal) => (
                StatusCode::BAD_REQUEST,
                "Sign-out request refused",
                refusal.to_string(),
                "Go back to the application and try again; if this persists, tell its \
                 developers.",
            ),
            PageError::Forged => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this browser's sign-in page, so nothing was done."
                    .to_owned(),
                "Go back to the application and start signing in again.",
            ),
            PageError::Unstorable => (
                StatusCode::BAD_REQUEST,
                "Sign-in request refused",
                "The request carries characters that cannot be used here.".to_owned(),
                "Go back to the application and try again; if this persists, tell its \
                 developers.",
            ),
            PageError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "Signing in is unavailable right now.".to_owned(),
                "Nothing was lost: go back and send the form again.",
            ),
        };
        if let PageError::Unavailable(cause) = &self {
            tracing::warn!(cause, "login page answered 503");
        }
        let page = Page::render(
            status,
            "error.html",
            ErrorPage {
                heading,
                message,
                advice,
            },
        );
        match self {
            PageError::Unavailable(_) => page.retry_after(1).into_response(),
            _ => page.into_response(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unstorable(_) => PageError::Unstorable,
            other => PageError::Unavailable(other.to_string()),
        }
    }
}

impl From<rand::rand_core::OsError> for PageError {
    fn from(err: rand::rand_core::OsError) -> Self {
        PageError::Unavailable(format!("OS RNG: {err}"))
    }
}

/// A login failure no form can answer: everything but the user's own mistakes (which the
/// login page answers itself).
impl From<LoginError> for PageError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Store(err) => err.into(),
            other => PageError::Unavailable(other.to_string()),
        }
    }
}
