//! `GET` and `POST /authorize`: the authorization endpoint (RFC 6749 §4.1.1) and the login
//! page it shows. Each step is a form posted back here with every parameter of the request
//! in hidden inputs: the password, then the second factor for users with TOTP on, then
//! consent for clients that are not first-party. What each step leads to is decided by the
//! use case, [`sign_in::authorize`]; this page checks the CSRF token, keeps the cookies and
//! renders the [`Next`] step.

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
use crate::auth::oauth::authorize::AuthorizeParams;
use crate::auth::oauth::sign_in::{self, Answer, Browser, Form, Next, Problem};
use crate::http::extract::TokenCaller;
use crate::state::AppState;

/// Where every form posts.
const ACTION: &str = "/authorize";

/// The fields of a posted form that are not the authorization request's.
#[derive(Default)]
struct StepFields {
    csrf: Option<String>,
    decision: Option<String>,
    ticket: Option<String>,
    totp: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl StepFields {
    fn read(pairs: &[(String, String)]) -> Self {
        let mut fields = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "csrf" => &mut fields.csrf,
                "decision" => &mut fields.decision,
                "ticket" => &mut fields.ticket,
                "totp" => &mut fields.totp,
                "username" => &mut fields.username,
                "password" => &mut fields.password,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.clone());
        }
        fields
    }

    /// What the form asks for, told apart by the fields it carries.
    fn step(self) -> sign_in::Step {
        use sign_in::Step;
        match self {
            StepFields {
                decision: Some(decision),
                ..
            } => Step::Consent {
                allow: decision == "allow",
            },
            StepFields {
                totp: Some(code), ..
            } => Step::SecondFactor {
                ticket: self.ticket.unwrap_or_default(),
                code,
            },
            StepFields {
                username: Some(username),
                password: Some(password),
                ..
            } => Step::Password { username, password },
            _ => Step::Show,
        }
    }
}

fn pairs_of(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

fn params_of(pairs: &[(String, String)]) -> AuthorizeParams {
    AuthorizeParams::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// The authorization endpoint, as a client's link reaches it.
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    caller: TokenCaller,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs_of(query.unwrap_or_default().as_bytes());
    let visit = Visit::start(&state, jar, StatusCode::FOUND);
    answer(visit, &caller, params_of(&pairs), None).await
}

/// A step of the login page, posted.
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    caller: TokenCaller,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let pairs = pairs_of(&body);
    let visit = Visit::start(&state, jar, StatusCode::SEE_OTHER);
    let fields = StepFields::read(&pairs);
    answer(visit, &caller, params_of(&pairs), Some(fields)).await
}

/// Runs the use case for one request and renders its answer. `fields`: a posted form's,
/// whose CSRF token must be this browser's.
async fn answer(
    visit: Result<Visit<'_>, PageError>,
    caller: &TokenCaller,
    params: AuthorizeParams,
    fields: Option<StepFields>,
) -> Response {
    let visit = match visit {
        Ok(visit) => visit,
        Err(err) => return err.into_response(),
    };
    let step = match fields {
        None => sign_in::Step::Show,
        Some(fields) if visit.names.csrf_matches(&visit.jar, fields.csrf.as_deref()) => {
            fields.step()
        }
        Some(_) => return (visit.jar, PageError::Forged).into_response(),
    };
    let browser = Browser {
        session: visit.names.session(&visit.jar),
        csrf: &visit.csrf,
        context: caller.context(),
        admission: &visit.state.login_admission,
    };
    let outcome = sign_in::authorize(&visit.state.auth, &browser, params, step).await;
    let answer = match outcome {
        Ok(answer) => answer,
        Err(err) => return (visit.jar, PageError::from(err)).into_response(),
    };
    if answer.next.problem().is_some_and(held) {
        caller.hold().await;
    }
    visit.render(answer)
}

/// One request to the endpoint: the browser's cookies and CSRF token, and how it is sent on.
struct Visit<'a> {
    state: &'a AppState,
    names: CookieNames,
    jar: CookieJar,
    csrf: String,
    issuer: &'a str,
    /// 302 after a `GET`, 303 after a `POST` (so the client's redirect URI is fetched
    /// with `GET`).
    redirect: StatusCode,
}

#[derive(Serialize)]
struct ScopeLine<'a> {
    name: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct FormPage<'a> {
    action: &'static str,
    csrf: &'a str,
    hidden: Vec<Hidden<'a>>,
    client_name: &'a str,
    message: &'a str,
    username: &'a str,
    ticket: &'a str,
    scopes: Vec<ScopeLine<'a>>,
}

impl<'a> Visit<'a> {
    fn start(state: &'a AppState, jar: CookieJar, redirect: StatusCode) -> Result<Self, PageError> {
        let metadata = state
            .metadata
            .as_deref()
            .ok_or_else(|| PageError::Unavailable("no issuer URL".into()))?;
        let names = CookieNames::for_issuer(&metadata.issuer);
        let (jar, csrf) = names.csrf(jar)?;
        Ok(Self {
            state,
            names,
            jar,
            csrf,
            issuer: &metadata.issuer,
            redirect,
        })
    }

    fn render(self, answer: Answer) -> Response {
        let jar = match answer.new_session {
            Some(token) => self
                .names
                .with_session(self.jar.clone(), token.into_string()),
            None => self.jar.clone(),
        };
        let response = match answer.next {
            Next::Refused(refusal) => PageError::Refused(refusal).into_response(),
            Next::Redirect(redirect) => {
                (self.redirect, [(LOCATION, redirect.location(self.issuer))]).into_response()
            }
            Next::Ask {
                client,
                params,
                form,
            } => self.form_page(&client.name, &params, &form),
        };
        (jar, response).into_response()
    }

    fn form_page(&self, client_name: &str, params: &AuthorizeParams, form: &Form) -> Response {
        let page = FormPage {
            action: ACTION,
            csrf: &self.csrf,
            hidden: Hidden::fields(params.pairs()),
            client_name,
            message: "",
            username: "",
            ticket: "",
            scopes: Vec::new(),
        };
        let (template, page, problem) = match form {
            Form::Password { username, problem } => {
                ("login.html", FormPage { username, ..page }, *problem)
            }
            Form::SecondFactor {
                username,
                ticket,
                problem,
            } => (
                "totp.html",
                FormPage {
                    username,
                    ticket,
                    ..page
                },
                *problem,
            ),
            Form::Consent { username, scope } => {
                let scopes = scope
                    .iter()
                    .map(|scope| ScopeLine {
                        name: scope.as_str(),
                        description: self
                            .state
                            .auth
                            .scopes
                            .description(scope)
                            .unwrap_or_default(),
                    })
                    .collect();
                let page = FormPage {
                    username,
                    scopes,
                    ..page
                };
                ("consent.html", page, None)
            }
        };
        let Some(problem) = problem else {
            return Page::render(StatusCode::OK, template, page).into_response();
        };
        let (status, message, retry_after) = shown(problem);
        let page = FormPage {
            message: &message,
            ..page
        };
        let page = Page::render(status, template, page);
        match retry_after {
            Some(seconds) => page.retry_after(seconds).into_response(),
            None => page.into_response(),
        }
    }
}

/// Whether the answer waits out `refusal_hold`, as a refused `/token` login does: every
/// failed or refused step but an ended sign-in (no guess was made there).
fn held(problem: Problem) -> bool {
    problem != Problem::SignInEnded
}

/// How a form shows its problem: the status, the message, and `Retry-After`.
fn shown(problem: Problem) -> (StatusCode, String, Option<u64>) {
    match problem {
        // One message whether the user is unknown or the password wrong (ASVS V6.3.8).
        Problem::IncorrectCredentials => (
            StatusCode::UNAUTHORIZED,
            "Incorrect username or password".into(),
            None,
        ),
        Problem::IncorrectCode => (
            StatusCode::UNAUTHORIZED,
            "Incorrect code. Enter the current code from your authenticator app, or a \
             recovery code."
                .into(),
            None,
        ),
        Problem::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed attempts. Try again in {retry_after} seconds."),
            Some(retry_after),
        ),
        Problem::Busy => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-ins in progress from your network. Try again.".into(),
            Some(1),
        ),
        Problem::TicketExpired => (
            StatusCode::UNAUTHORIZED,
            "That took too long. Sign in again.".into(),
            None,
        ),
        Problem::SignInEnded => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended. Sign in again.".into(),
            None,
        ),
        Problem::Inactive => (StatusCode::BAD_REQUEST, "Inactive user".into(), None),
    }
}
