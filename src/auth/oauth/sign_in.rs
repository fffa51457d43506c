//! The authorization endpoint's use case (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): what
//! a browser's visit, or a step it posts, leads to. One call per request, [`authorize`],
//! returns the [`Next`] step — a form to show (password, second factor, consent), or back to
//! the client with a code or a refusal — and the page only renders it. Every rule is decided
//! here: who is signed in, `prompt` and `max_age`, a disabled user, which browser session
//! ends, what the code is bound to and how long it lives.
//!
//! The password and second-factor steps run the same login as `/token` ([`flow`]), with the
//! same throttle cells and the same login metric.

use crate::model::event::RequestContext;
use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::LoginError;
use crate::auth::credentials::totp::Factor;
use crate::auth::guard::per_address::PerAddressLimit;
use crate::auth::login::flow::{self, Authenticated, PasswordStep};
use crate::auth::login::{self, ticket::ProvenPassword};
use crate::auth::oauth::authorize::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, PageRefusal, Prompt, RedirectRefusal,
    Refusal, check_request, code_location,
};
use crate::auth::oauth::code::{Authorization, issue_code};
use crate::auth::oauth::consent::{consent_needed, record_consent};
use crate::auth::sessions::{EndReason, RefreshToken};
use crate::model::client::Client;
use crate::model::scopes::ScopeSet;
use crate::model::username::Username;
use crate::store::UserRecord;
use crate::store::session::SessionRecord;

/// What a browser brings to the endpoint besides the request.
pub struct Browser<'a> {
    /// Its browser session's token (the session cookie), if it sent one.
    pub session: Option<&'a str>,
    /// Its CSRF token: a login ticket is bound to it, so a ticket is worth nothing in
    /// another browser.
    pub csrf: &'a str,
    /// Who it is and where from: the address its failed logins count against, and what its
    /// events record.
    pub context: &'a RequestContext,
    /// The password logins each address may have in flight (`LOGIN_CONCURRENCY_PER_IP`,
    /// shared with `/token`).
    pub admission: &'a Arc<PerAddressLimit>,
}

/// What the browser sent: a visit, or a step of the forms.
pub enum Step {
    /// A visit (`GET`), or a form with none of the fields below: what the request needs.
    Show,
    /// The consent form's buttons.
    Consent { allow: bool },
    /// The password form.
    Password { username: String, password: String },
    /// The second-factor form: the password step's ticket and a TOTP or recovery code.
    SecondFactor { ticket: String, code: String },
}

/// Where the browser goes next.
pub enum Next {
    /// The client or its redirect URI is in doubt: an error page, never a redirect
    /// (RFC 6749 §4.1.2.1).
    Refused(PageRefusal),
    /// Back to the client: a code or a refusal.
    Redirect(Redirect),
    /// A form for the user, carrying `params` to the next step.
    Ask {
        client: Arc<Client>,
        params: AuthorizeParams,
        form: Form,
    },
}

impl Next {
    /// Why a form is shown again, if it is.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            Next::Ask {
                form: Form::Password { problem, .. } | Form::SecondFactor { problem, .. },
                ..
            } => *problem,
            _ => None,
        }
    }
}

/// The answer sent to the client's redirect URI.
pub enum Redirect {
    Code {
        request: AuthorizeRequest,
        code: String,
    },
    Refusal(RedirectRefusal),
}

impl Redirect {
    /// The URL the browser is sent to, with `iss` (RFC 9207).
    pub fn location(&self, issuer: &str) -> String {
        match self {
            Redirect::Code { request, code } => code_location(request, code, issuer),
            Redirect::Refusal(refusal) => refusal.location(issuer),
        }
    }
}

/// The forms of the sign-in.
pub enum Form {
    /// The password. `username`: to fill in again.
    Password {
        username: String,
        problem: Option<Problem>,
    },
    /// A TOTP or recovery code, for the user the ticket's password proved.
    SecondFactor {
        username: Username,
        ticket: String,
        problem: Option<Problem>,
    },
    /// Whether the user allows the client `scope`.
    Consent { username: Username, scope: ScopeSet },
}

/// Why a form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Unknown user or wrong password: one problem (ASVS V6.3.8).
    IncorrectCredentials,
    /// A wrong, replayed or spent code; the password stays proved.
    IncorrectCode,
    /// Too many failures; nothing was checked.
    Throttled { retry_after: u64 },
    /// The address has as many logins in flight as it may.
    Busy,
    /// The password step's ticket expired (or is not this browser's).
    TicketExpired,
    /// The browser session ended before consent was given.
    SignInEnded,
    /// The password and factors were right, but the account is disabled.
    Inactive,
}

/// What one request to the endpoint did.
pub struct Answer {
    pub next: Next,
    /// A browser session begun by this step: the browser's new session cookie. The one it
    /// sent, if any, has ended (no session fixation, ASVS V7.2.4).
    pub new_session: Option<RefreshToken>,
}

impl From<Next> for Answer {
    fn from(next: Next) -> Self {
        Self {
            next,
            new_session: None,
        }
    }
}

/// A browser signed in: its session and its user as stored now.
struct SignedIn {
    session: SessionRecord,
    user: Arc<UserRecord>,
}

/// Answers one request to the authorization endpoint. `Err`: a store or the hashing out of
/// reach; nothing was decided.
pub async fn authorize(
    auth: &Auth,
    browser: &Browser<'_>,
    params: AuthorizeParams,
    step: Step,
) -> Result<Answer, LoginError> {
    let request = match check_request(&auth.clients, &auth.scopes, &params).await? {
        Ok(request) => request,
        Err(Refusal::Page(refusal)) => return Ok(Next::Refused(refusal).into()),
        Err(Refusal::Redirect(refusal)) => {
            return Ok(Next::Redirect(Redirect::Refusal(refusal)).into());
        }
    };
    let visit = Visit {
        auth,
        browser,
        request,
        params,
    };
    match step {
        Step::Show => visit.show().await.map(Answer::from),
        Step::Consent { allow } => visit.consent(allow).await.map(Answer::from),
        Step::Password { username, password } => visit.password(username, password).await,
        Step::SecondFactor { ticket, code } => visit.second_factor(ticket, code).await,
    }
}

/// One checked request, from one browser.
struct Visit<'a> {
    auth: &'a Auth,
    browser: &'a Browser<'a>,
    request: AuthorizeRequest,
    params: AuthorizeParams,
}

impl<'a> Visit<'a> {
    fn ask(self, form: Form) -> Next {
        Next::Ask {
            client: self.request.client,
            params: self.params,
            form,
        }
    }

    fn refuse(&self, error: AuthorizeError, description: &str) -> Next {
        Next::Redirect(Redirect::Refusal(self.request.refusal(error, description)))
    }

    fn password_form(self, username: String, problem: Option<Problem>) -> Next {
        self.ask(Form::Password { username, problem })
    }

    async fn show(self) -> Result<Next, LoginError> {
        match self.signed_in(true).await? {
            // `prompt=none` for a user the browser is not signed in as: that user is not
            // signed in (OpenID Connect Core §3.1.2.1).
            Some(signed_in) if self.request.prompt == Prompt::None && !self.hinted(&signed_in) => {
                Ok(self.refuse(
                    AuthorizeError::LoginRequired,
                    "The user the id_token_hint names is not signed in",
                ))
            }
            Some(signed_in) => self.proceed(signed_in).await,
            None if self.request.prompt == Prompt::None => {
                Ok(self.refuse(AuthorizeError::LoginRequired, "The user is not signed in"))
            }
            None => {
                let username = self.request.login_hint.clone().unwrap_or_default();
                Ok(self.password_form(username, None))
            }
        }
    }

    /// Whether the request's `id_token_hint`, if it sent one, names the signed-in user.
    fn hinted(&self, signed_in: &SignedIn) -> bool {
        let Some(hint) = &self.request.id_token_hint else {
            return true;
        };
        let id_tokens = self.auth.id_tokens.as_ref();
        let hint = id_tokens.and_then(|keys| keys.hint(hint));
        hint.is_some_and(|hint| hint.sub == signed_in.user.id.as_str())
    }

    async fn consent(self, allow: bool) -> Result<Next, LoginError> {
        // The consent form follows a login of this browser: no password again.
        let Some(signed_in) = self.signed_in(false).await? else {
            return Ok(self.password_form(String::new(), Some(Problem::SignInEnded)));
        };
        if !allow {
            return Ok(self.refuse(AuthorizeError::AccessDenied, "The user denied access"));
        }
        let scope = self.grantable(&signed_in);
        record_consent(self.auth, &self.request.client, &signed_in.user.id, &scope).await?;
        self.issue(&signed_in).await
    }

    async fn password(self, username: String, password: String) -> Result<Answer, LoginError> {
        let Ok(_place) = self
            .browser
            .admission
            .acquire(self.browser.context.client_address())
        else {
            return Ok(self.password_form(username, Some(Problem::Busy)).into());
        };
        let step = flow::password(self.auth, self.browser.context, &username, password).await;
        match step {
            Ok(PasswordStep::Authenticated(done)) => self.complete(done).await,
            Ok(PasswordStep::FactorRequired(pending)) => {
                // The password step ends here: its cell is refunded and taken again with
                // the code (`flow::password_proven`).
                let user = pending.user().username().to_owned();
                drop(pending);
                let now = self.auth.clock.now();
                let ticket = self.auth.tickets.issue(&user, self.browser.csrf, now);
                Ok(self
                    .ask(Form::SecondFactor {
                        username: user,
                        ticket,
                        problem: None,
                    })
                    .into())
            }
            Err(err) => {
                login::count(Err(&err));
                let problem = refused(err)?;
                Ok(self.password_form(username, Some(problem)).into())
            }
        }
    }

    async fn second_factor(self, ticket: String, code: String) -> Result<Answer, LoginError> {
        let now = self.auth.clock.now();
        let Some(proven) = self.auth.tickets.open(&ticket, self.browser.csrf, now) else {
            return Ok(self
                .password_form(String::new(), Some(Problem::TicketExpired))
                .into());
        };
        match self.factor(&proven, &code).await {
            Ok(done) => self.complete(done).await,
            Err(err) => {
                login::count(Err(&err));
                let username = proven.username().clone();
                Ok(match refused(err)? {
                    // A wrong password (the user removed since): the password again.
                    Problem::IncorrectCredentials => self
                        .password_form(username.to_string(), Some(Problem::IncorrectCredentials)),
                    problem => self.ask(Form::SecondFactor {
                        username,
                        ticket,
                        problem: Some(problem),
                    }),
                }
                .into())
            }
        }
    }

    async fn factor(
        &self,
        proven: &ProvenPassword,
        code: &str,
    ) -> Result<Authenticated<'a>, LoginError> {
        match flow::password_proven(self.auth, self.browser.context, proven).await? {
            PasswordStep::FactorRequired(pending) => match Factor::typed(code) {
                Some(factor) => pending.factor(&factor).await,
                None => Err(LoginError::IncorrectTotp),
            },
            PasswordStep::Authenticated(done) => Ok(done),
        }
    }

    /// Every factor passed: a disabled user stops here; anyone else gets a new browser
    /// session (the old one ends: no fixation) and goes on to consent or the code.
    async fn complete(mut self, done: Authenticated<'_>) -> Result<Answer, LoginError> {
        login::count(Ok(()));
        if done.user().profile.disabled {
            let username = done.user().username().to_string();
            done.refuse_inactive().await;
            return Ok(self.password_form(username, Some(Problem::Inactive)).into());
        }
        let auth = self.auth;
        let now = auth.clock.now();
        if let Some(earlier) = self.browser.session
            && let Some(session) = auth.sessions.browser(earlier, now).await?
        {
            auth.sessions
                .end(&session.id, now, EndReason::SignedInAgain)
                .await?;
        }
        let (session, token, user) = done.start_browser_session().await?;
        tracing::info!(username = user.username().as_str(), client = %self.request.client.id, "signed in on the login page");
        // The password was just given: `prompt=login` is satisfied for the steps that follow.
        if self.request.prompt == Prompt::Login {
            self.request.prompt = Prompt::AsNeeded;
            self.params.prompt = None;
        }
        let next = self.proceed(SignedIn { session, user }).await?;
        Ok(Answer {
            next,
            new_session: Some(token),
        })
    }

    /// The browser's session, if it has a live one whose user is still enabled; with
    /// `fresh`, also only if the request does not ask for the password again
    /// (`prompt=login`, or a `max_age` that has passed since the password).
    async fn signed_in(&self, fresh: bool) -> Result<Option<SignedIn>, LoginError> {
        let auth = self.auth;
        let Some(cookie) = self.browser.session else {
            return Ok(None);
        };
        let now = auth.clock.now();
        let Some(session) = auth.sessions.browser(cookie, now).await? else {
            return Ok(None);
        };
        if fresh && self.request.wants_password(session.created_at, now) {
            return Ok(None);
        }
        match auth.users.get_user_fresh(&session.username).await? {
            Some(user) if !user.profile.disabled => Ok(Some(SignedIn { session, user })),
            _ => Ok(None),
        }
    }

    /// Signed in: consent if the client needs it and the user has not given it, else the code.
    async fn proceed(self, signed_in: SignedIn) -> Result<Next, LoginError> {
        // One rule with `/token`: fewer scopes than asked may be granted (the token's
        // `scope` says which, RFC 6749 §3.3), none at all is refused, never a token for
        // nothing.
        let scope = self.grantable(&signed_in);
        if scope.is_empty() {
            return Ok(self.refuse(
                AuthorizeError::InvalidScope,
                "None of the requested scopes is allowed for this user",
            ));
        }
        let user = &signed_in.user;
        let request = &self.request;
        if !consent_needed(self.auth, &request.client, &user.id, &scope, request.prompt).await? {
            return self.issue(&signed_in).await;
        }
        if request.prompt == Prompt::None {
            return Ok(self.refuse(
                AuthorizeError::ConsentRequired,
                "The user has not allowed this client",
            ));
        }
        let username = user.username().to_owned();
        Ok(self.ask(Form::Consent { username, scope }))
    }

    /// What the user may grant of what the request asks: `/token`'s rule, and any identity
    /// scope.
    fn grantable(&self, signed_in: &SignedIn) -> ScopeSet {
        let user = &signed_in.user.scopes;
        self.auth.scopes.grantable(&self.request.scope, user)
    }

    /// The code, bound to everything the request named, for the client.
    async fn issue(self, signed_in: &SignedIn) -> Result<Next, LoginError> {
        let scope = self.grantable(signed_in);
        let request = self.request;
        let authorization = Authorization {
            client_id: request.client.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            browser_session: Some(signed_in.session.id.clone()),
            user_id: signed_in.user.id.clone(),
            username: signed_in.user.username().to_owned(),
            scope,
            auth_time: signed_in.session.created_at,
        };
        let code = issue_code(self.auth, authorization, self.auth.code_lifetime).await?;
        Ok(Next::Redirect(Redirect::Code { request, code }))
    }
}

/// A login step's failure as a form's problem; what no form can answer stays an error.
fn refused(err: LoginError) -> Result<Problem, LoginError> {
    match err {
        LoginError::IncorrectCredentials => Ok(Problem::IncorrectCredentials),
        LoginError::IncorrectTotp => Ok(Problem::IncorrectCode),
        LoginError::Throttled(throttled) => Ok(Problem::Throttled {
            retry_after: throttled.retry_after_secs(),
        }),
        other => Err(other),
    }
}
