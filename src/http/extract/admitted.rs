//! Admission to `/token`: who is asking, since when, and — for a password login only — a place
//! among the few logins one client address may have in flight.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tokio::time::Instant;

use crate::auth::guard::per_address::AddressPermit;
use crate::http::error::ApiError;
use crate::model::event::RequestContext;
use crate::state::AppState;

/// A `/token` request's client address and the moment it arrived, from which its answer is
/// held when it fails.
#[derive(Debug)]
pub struct TokenCaller {
    /// Its address (after `TRUSTED_PROXIES`), user agent and request id.
    context: RequestContext,
    /// When `refusal_hold` has passed since the request arrived.
    held_until: Instant,
}

/// A password login's place among its address's `LOGIN_CONCURRENCY_PER_IP`. Dropping it, when
/// the answer is sent or the request is cancelled, gives the place back.
#[derive(Debug)]
#[must_use = "the place is given back when this is dropped"]
pub struct AdmittedLogin(#[allow(dead_code)] AddressPermit);

impl FromRequestParts<AppState> for TokenCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let held_until = Instant::now() + state.refusal_hold;
        let Ok(context) = RequestContext::from_request_parts(parts, state).await;
        Ok(Self {
            context,
            held_until,
        })
    }
}

impl TokenCaller {
    /// The client address failures are counted against.
    pub fn client(&self) -> IpAddr {
        self.context.client_address()
    }

    /// Who asks and from where, for the events the request records.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Admits a password login. The cap shares the hashing threads fairly between addresses,
    /// so it applies to what hashes: a refresh grant hashes nothing and never takes a place
    /// (a gateway refreshing many users' sessions from one address is not a flood).
    pub fn admit_login(&self, state: &AppState) -> Result<AdmittedLogin, ApiError> {
        state
            .login_admission
            .acquire(self.client())
            .map(AdmittedLogin)
            .map_err(|_| ApiError::TooManyLoginsInFlight)
    }

    /// Waits until `refusal_hold` has passed since the request arrived. Refused and failed
    /// requests are answered no sooner, so a client that re-asks as soon as it is answered
    /// gets at most one failure per connection per `refusal_hold`.
    pub async fn hold(&self) {
        tokio::time::sleep_until(self.held_until).await;
    }
}
