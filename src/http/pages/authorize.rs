//! `GET` and `POST /authorize`: the authorization endpoint (RFC 6749 §4.1.1) and the login
//! page it shows. Each step is a form posted back here with every parameter of the request
//! in hidden inputs: the password, then the second factor for users with TOTP on, then
//! consent for clients that are not first-party. The password and TOTP steps run the same
//! login as `/token` ([`flow`]), with the same throttle cells; a browser that signed in
//! keeps a browser session and skips the password next time.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::cookies::CookieNames;
use super::error::PageError;
use super::render::Page;
use crate::auth::LoginError;
use crate::auth::credentials::totp::Factor;
use crate::auth::login::flow::{self, Authenticated, PasswordStep};
use crate::auth::oauth::authorize::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, Prompt, RedirectRefusal, Refusal,
    check_request, code_location,
};
use crate::auth::oauth::code::{Authorization, issue_code};
use crate::auth::oauth::consent::{consent_needed, record_consent};
use crate::auth::sessions::EndReason;
use crate::http::extract::TokenCaller;
use crate::state::AppState;
use crate::store::UserRecord;
use crate::store::session::SessionRecord;

/// Where every form posts.
const ACTION: &str = "/authorize";

/// What a posted form asks for, told apart by the fields it carries.
enum Step {
    /// `decision`: the consent page's buttons.
    Consent { allow: bool },
    /// `totp` and the `ticket` of the password step.
    SecondFactor { ticket: String, code: String },
    /// `username` and `password`.
    Password { username: String, password: String },
    /// None of those: show what the request needs, as `GET` does.
    Show,
}

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

    fn step(self) -> Step {
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
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs_of(query.unwrap_or_default().as_bytes());
    let params = params_of(&pairs);
    answer(Visit::start(&state, jar, StatusCode::FOUND), |visit| {
        visit.show(params)
    })
    .await
}

/// A step of the login page, posted.
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    caller: TokenCaller,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let pairs = pairs_of(&body);
    let params = params_of(&pairs);
    let fields = StepFields::read(&pairs);
    answer(Visit::start(&state, jar, StatusCode::SEE_OTHER), |visit| {
        visit.post(params, fields, caller)
    })
    .await
}

async fn answer<'a, F, Fut>(visit: Result<Visit<'a>, PageError>, run: F) -> Response
where
    F: FnOnce(Visit<'a>) -> Fut,
    Fut: Future<Output = (CookieJar, Result<Response, PageError>)>,
{
    match visit {
        Ok(visit) => {
            let (jar, outcome) = run(visit).await;
            (jar, outcome.unwrap_or_else(IntoResponse::into_response)).into_response()
        }
        Err(err) => err.into_response(),
    }
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

/// A browser signed in: its session and the user as stored now.
struct SignedIn {
    session: SessionRecord,
    user: std::sync::Arc<UserRecord>,
}

#[derive(Serialize)]
struct Hidden<'a> {
    name: &'a str,
    value: &'a str,
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

    async fn show(self, params: AuthorizeParams) -> (CookieJar, Result<Response, PageError>) {
        let mut visit = self;
        let outcome = visit.shown(&params).await;
        (visit.jar, outcome)
    }

    async fn post(
        self,
        params: AuthorizeParams,
        fields: StepFields,
        caller: TokenCaller,
    ) -> (CookieJar, Result<Response, PageError>) {
        let mut visit = self;
        let outcome = if visit.names.csrf_matches(&visit.jar, fields.csrf.as_deref()) {
            visit.posted(&params, fields.step(), &caller).await
        } else {
            Err(PageError::Forged)
        };
        (visit.jar, outcome)
    }

    /// The request checked: a page for a client in doubt, a redirect for other errors.
    async fn check(
        &self,
        params: &AuthorizeParams,
    ) -> Result<Result<AuthorizeRequest, Response>, PageError> {
        let auth = &self.state.auth;
        Ok(
            match check_request(&auth.clients, &auth.scopes, params).await? {
                Ok(request) => Ok(request),
                Err(Refusal::Page(refusal)) => Err(PageError::Refused(refusal).into_response()),
                Err(Refusal::Redirect(refusal)) => Err(self.refuse(&refusal)),
            },
        )
    }

    async fn shown(&mut self, params: &AuthorizeParams) -> Result<Response, PageError> {
        let request = match self.check(params).await? {
            Ok(request) => request,
            Err(refusal) => return Ok(refusal),
        };
        match self.signed_in(&request, true).await? {
            Some(signed_in) => self.proceed(&request, params, signed_in).await,
            None if request.prompt == Prompt::None => Ok(self.refuse(
                &request.refusal(AuthorizeError::LoginRequired, "The user is not signed in"),
            )),
            None => Ok(self
                .login_page(StatusCode::OK, &request, params, "", "")
                .into_response()),
        }
    }

    async fn posted(
        &mut self,
        params: &AuthorizeParams,
        step: Step,
        caller: &TokenCaller,
    ) -> Result<Response, PageError> {
        let request = match self.check(params).await? {
            Ok(request) => request,
            Err(refusal) => return Ok(refusal),
        };
        let auth = &self.state.auth;
        match step {
            Step::Show => self.shown(params).await,
            Step::Consent { allow } => {
                // The consent page follows a login of this browser: no password again.
                let Some(signed_in) = self.signed_in(&request, false).await? else {
                    let message = "Your sign-in has ended. Sign in again.";
                    return Ok(self
                        .login_page(StatusCode::UNAUTHORIZED, &request, params, message, "")
                        .into_response());
                };
                if !allow {
                    return Ok(self.refuse(
                        &request.refusal(AuthorizeError::AccessDenied, "The user denied access"),
                    ));
                }
                let scope = request.scope.intersection(&signed_in.user.scopes);
                record_consent(auth, &request.client, signed_in.user.username(), &scope).await?;
                self.issue(&request, &signed_in).await
            }
            Step::Password { username, password } => {
                let Ok(_place) = caller.admit_login(self.state) else {
                    caller.hold().await;
                    let message = "Too many sign-ins in progress from your network. Try again.";
                    return Ok(self
                        .login_page(
                            StatusCode::TOO_MANY_REQUESTS,
                            &request,
                            params,
                            message,
                            &username,
                        )
                        .retry_after(1)
                        .into_response());
                };
                match flow::password(auth, caller.client(), &username, password).await {
                    Ok(PasswordStep::Authenticated(done)) => {
                        self.complete(&request, params, done, caller).await
                    }
                    Ok(PasswordStep::FactorRequired(pending)) => {
                        // The password step ends here; the cell it took is refunded and
                        // taken again with the code (`flow::password_proven`).
                        let now = auth.clock.now();
                        let ticket = auth
                            .tickets
                            .issue(pending.user().username(), &self.csrf, now);
                        let user = pending.user().username().to_owned();
                        drop(pending);
                        Ok(self
                            .factor_page(StatusCode::OK, &request, params, &user, &ticket, "")
                            .into_response())
                    }
                    Err(err) => {
                        self.refused_login(err, &request, params, &username, None, caller)
                            .await
                    }
                }
            }
            Step::SecondFactor { ticket, code } => {
                let now = auth.clock.now();
                let Some(proven) = auth.tickets.open(&ticket, &self.csrf, now) else {
                    caller.hold().await;
                    let message = "That took too long. Sign in again.";
                    return Ok(self
                        .login_page(StatusCode::UNAUTHORIZED, &request, params, message, "")
                        .into_response());
                };
                let step = flow::password_proven(auth, caller.client(), &proven).await;
                let done = match step {
                    Ok(PasswordStep::FactorRequired(pending)) => match Factor::typed(&code) {
                        Some(factor) => pending.factor(&factor).await,
                        None => Err(LoginError::IncorrectTotp),
                    },
                    Ok(PasswordStep::Authenticated(done)) => Ok(done),
                    Err(err) => Err(err),
                };
                match done {
                    Ok(done) => self.complete(&request, params, done, caller).await,
                    Err(err) => {
                        let again = Some((proven.username(), ticket.as_str()));
                        self.refused_login(err, &request, params, proven.username(), again, caller)
                            .await
                    }
                }
            }
        }
    }

    /// A login step that failed: its form again with one message, or a page for what no
    /// form can answer. `factor`: the user and ticket of a second-factor step.
    async fn refused_login(
        &self,
        err: LoginError,
        request: &AuthorizeRequest,
        params: &AuthorizeParams,
        username: &str,
        factor: Option<(&str, &str)>,
        caller: &TokenCaller,
    ) -> Result<Response, PageError> {
        let (status, message, retry_after) = match &err {
            // One message whether the user is unknown or the password wrong (ASVS V6.3.8).
            LoginError::IncorrectCredentials => (
                StatusCode::UNAUTHORIZED,
                "Incorrect username or password".to_owned(),
                None,
            ),
            LoginError::IncorrectTotp => (
                StatusCode::UNAUTHORIZED,
                "Incorrect code. Enter the current code from your authenticator app, or a \
                 recovery code."
                    .to_owned(),
                None,
            ),
            LoginError::Throttled(throttled) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed attempts. Try again in {} seconds.",
                    throttled.retry_after_secs()
                ),
                Some(throttled.retry_after_secs()),
            ),
            _ => return Err(err.into()),
        };
        caller.hold().await;
        let page = match factor {
            // A wrong code leaves the password proved: the code is asked again.
            Some((user, ticket)) if !matches!(err, LoginError::IncorrectCredentials) => {
                self.factor_page(status, request, params, user, ticket, &message)
            }
            _ => self.login_page(status, request, params, &message, username),
        };
        Ok(match retry_after {
            Some(seconds) => page.retry_after(seconds).into_response(),
            None => page.into_response(),
        })
    }

    /// Every factor passed: a disabled user stops here; anyone else gets a new browser
    /// session (the old one ends: no fixation) and goes on to consent or the code.
    async fn complete(
        &mut self,
        request: &AuthorizeRequest,
        params: &AuthorizeParams,
        done: Authenticated<'_>,
        caller: &TokenCaller,
    ) -> Result<Response, PageError> {
        if done.user().profile.disabled {
            caller.hold().await;
            let username = done.user().username().to_owned();
            return Ok(self
                .login_page(
                    StatusCode::BAD_REQUEST,
                    request,
                    params,
                    "Inactive user",
                    &username,
                )
                .into_response());
        }
        let auth = &self.state.auth;
        let now = auth.clock.now();
        if let Some(earlier) = self.names.session(&self.jar).map(str::to_owned)
            && let Some(session) = auth.sessions.browser(&earlier, now).await?
        {
            auth.sessions
                .end(&session.id, now, EndReason::SignedInAgain)
                .await?;
        }
        let (session, token, user) = done.start_browser_session().await?;
        tracing::info!(username = user.username(), client = %request.client.id, "signed in on the login page");
        self.jar = self
            .names
            .with_session(std::mem::take(&mut self.jar), token.into_string());
        // The password was just given: `prompt=login` is satisfied for the steps that follow.
        let mut request = request.clone();
        let mut params = params.clone();
        if request.prompt == Prompt::Login {
            request.prompt = Prompt::AsNeeded;
            params.prompt = None;
        }
        self.proceed(&request, &params, SignedIn { session, user })
            .await
    }

    /// The browser's session, if it has a live one whose user is still enabled; with
    /// `fresh`, also only if the request does not ask for the password again
    /// (`prompt=login`, or a `max_age` that has passed since the password).
    async fn signed_in(
        &self,
        request: &AuthorizeRequest,
        fresh: bool,
    ) -> Result<Option<SignedIn>, PageError> {
        let auth = &self.state.auth;
        let Some(cookie) = self.names.session(&self.jar) else {
            return Ok(None);
        };
        let now = auth.clock.now();
        let Some(session) = auth.sessions.browser(cookie, now).await? else {
            return Ok(None);
        };
        if fresh && request.wants_password(session.created_at, now) {
            return Ok(None);
        }
        match auth.users.get_user_fresh(&session.username).await? {
            Some(user) if !user.profile.disabled => Ok(Some(SignedIn { session, user })),
            _ => Ok(None),
        }
    }

    /// Signed in: consent if the client needs it and the user has not given it, else the code.
    async fn proceed(
        &self,
        request: &AuthorizeRequest,
        params: &AuthorizeParams,
        signed_in: SignedIn,
    ) -> Result<Response, PageError> {
        let auth = &self.state.auth;
        let scope = request.scope.intersection(&signed_in.user.scopes);
        let username = signed_in.user.username();
        if !consent_needed(auth, &request.client, username, &scope, request.prompt).await? {
            return self.issue(request, &signed_in).await;
        }
        if request.prompt == Prompt::None {
            return Ok(self.refuse(&request.refusal(
                AuthorizeError::ConsentRequired,
                "The user has not allowed this client",
            )));
        }
        let scopes = scope
            .iter()
            .map(|scope| ScopeLine {
                name: scope.as_str(),
                description: auth.scopes.description(scope).unwrap_or_default(),
            })
            .collect();
        let page = FormPage {
            scopes,
            username,
            ..self.form(request, params)
        };
        Ok(Page::render(StatusCode::OK, "consent.html", page).into_response())
    }

    /// The code, bound to everything the request named, sent back to the client.
    async fn issue(
        &self,
        request: &AuthorizeRequest,
        signed_in: &SignedIn,
    ) -> Result<Response, PageError> {
        let auth = &self.state.auth;
        let authorization = Authorization {
            client_id: request.client.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            username: signed_in.user.username().to_owned(),
            scope: request.scope.intersection(&signed_in.user.scopes),
            auth_time: signed_in.session.created_at,
        };
        let code = issue_code(auth, authorization, self.state.code_lifetime).await?;
        Ok(self.redirect_to(&code_location(request, &code, self.issuer)))
    }

    fn refuse(&self, refusal: &RedirectRefusal) -> Response {
        self.redirect_to(&refusal.location(self.issuer))
    }

    fn redirect_to(&self, location: &str) -> Response {
        (self.redirect, [(LOCATION, location)]).into_response()
    }

    fn form<'p>(
        &'p self,
        request: &'p AuthorizeRequest,
        params: &'p AuthorizeParams,
    ) -> FormPage<'p> {
        FormPage {
            action: ACTION,
            csrf: &self.csrf,
            hidden: params
                .pairs()
                .into_iter()
                .map(|(name, value)| Hidden { name, value })
                .collect(),
            client_name: &request.client.name,
            message: "",
            username: "",
            ticket: "",
            scopes: Vec::new(),
        }
    }

    fn login_page(
        &self,
        status: StatusCode,
        request: &AuthorizeRequest,
        params: &AuthorizeParams,
        message: &str,
        username: &str,
    ) -> Page {
        let page = FormPage {
            message,
            username,
            ..self.form(request, params)
        };
        Page::render(status, "login.html", page)
    }

    fn factor_page(
        &self,
        status: StatusCode,
        request: &AuthorizeRequest,
        params: &AuthorizeParams,
        username: &str,
        ticket: &str,
        message: &str,
    ) -> Page {
        let page = FormPage {
            message,
            username,
            ticket,
            ..self.form(request, params)
        };
        Page::render(status, "totp.html", page)
    }
}
