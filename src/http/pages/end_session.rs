//! `GET` and `POST /end-session`: OpenID Connect RP-Initiated Logout's end-session endpoint.
//! The use case, [`end_session`], decides; this page checks the confirmation form's CSRF
//! token, clears the session cookie and renders the answer: the confirmation form, the
//! "signed out" page, a redirect to the client's registered URI, or an error page.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::cookies::CookieNames;
use super::error::PageError;
use super::render::{Hidden, Page};
use crate::auth::oauth::end_session::{Answer, EndSession, EndSessionParams, end_session};
use crate::model::client::Client;
use crate::state::AppState;

const ACTION: &str = "/end-session";

#[derive(Serialize)]
struct SignOutPage<'a> {
    action: &'static str,
    csrf: &'a str,
    hidden: Vec<Hidden<'a>>,
    username: &'a str,
    client_name: &'a str,
}

fn pairs_of(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

fn params_of(pairs: &[(String, String)]) -> EndSessionParams {
    EndSessionParams::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// The end-session endpoint, as a relying party's link reaches it.
pub(crate) async fn end_session_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs_of(query.unwrap_or_default().as_bytes());
    answer(&state, jar, &params_of(&pairs), None, StatusCode::FOUND).await
}

/// A relying party's form post, or the confirmation form.
pub(crate) async fn end_session_post(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let pairs = pairs_of(&body);
    let field = |wanted: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.as_str())
    };
    // The confirmation form's buttons: "stay" wins should a forged post carry both.
    let choice = match (field("stay"), field("confirm")) {
        (Some(_), _) => Some(Answer::StaySignedIn),
        (None, Some(_)) => Some(Answer::SignOut),
        (None, None) => None,
    };
    let confirmation = choice.map(|choice| (choice, field("csrf").unwrap_or_default()));
    let params = params_of(&pairs);
    answer(&state, jar, &params, confirmation, StatusCode::SEE_OTHER).await
}

/// `confirmation`: the choice made on the confirmation form and its CSRF token, if this is
/// one.
async fn answer(
    state: &AppState,
    jar: CookieJar,
    params: &EndSessionParams,
    confirmation: Option<(Answer, &str)>,
    redirect: StatusCode,
) -> Response {
    let Some(metadata) = state.metadata.as_deref() else {
        return PageError::Unavailable("no issuer URL".into()).into_response();
    };
    let names = CookieNames::for_issuer(&metadata.issuer);
    let (jar, csrf) = match names.csrf(jar) {
        Ok(made) => made,
        Err(err) => return PageError::from(err).into_response(),
    };
    let answer = match confirmation {
        Some((choice, posted)) if names.csrf_matches(&jar, Some(posted)) => choice,
        Some(_) => return (jar, PageError::Forged).into_response(),
        None => Answer::Unasked,
    };
    let browser = names.session(&jar).map(str::to_owned);
    let outcome = end_session(&state.auth, browser.as_deref(), params, answer).await;
    let next = match outcome {
        Ok(next) => next,
        Err(err) => return (jar, PageError::from(err)).into_response(),
    };
    match next {
        EndSession::Refused(refusal) => (jar, PageError::EndSession(refusal)).into_response(),
        EndSession::Confirm { username, client } => {
            let page = SignOutPage {
                action: ACTION,
                csrf: &csrf,
                hidden: Hidden::fields(params.pairs()),
                username: &username,
                client_name: client.as_ref().map_or("", |client| client.name.as_str()),
            };
            let page = Page::render(StatusCode::OK, "sign_out.html", page);
            (jar, page).into_response()
        }
        EndSession::SignedOut {
            redirect: to,
            client,
        } => {
            let jar = names.without_session(jar);
            let page = back_or_page(redirect, to, client.as_deref(), "signed_out.html");
            (jar, page).into_response()
        }
        EndSession::StayedSignedIn {
            redirect: to,
            client,
        } => {
            let page = back_or_page(redirect, to, client.as_deref(), "stayed_signed_in.html");
            (jar, page).into_response()
        }
    }
}

/// Back to the client's registered URI `to`, or `template`'s page naming the client.
fn back_or_page(
    status: StatusCode,
    to: Option<String>,
    client: Option<&Client>,
    template: &'static str,
) -> Response {
    #[derive(Serialize)]
    struct Outcome<'a> {
        client_name: &'a str,
    }
    match to {
        Some(location) => (status, [(LOCATION, location)]).into_response(),
        None => {
            let client_name = client.map_or("", |client| client.name.as_str());
            Page::render(StatusCode::OK, template, Outcome { client_name }).into_response()
        }
    }
}
