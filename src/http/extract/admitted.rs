//! Admission to `/token`: a place among the few logins one client address may have in flight,
//! taken before the body is read.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tokio::time::Instant;

use super::ClientIp;
use crate::http::error::ApiError;
use crate::per_address::AddressPermit;
use crate::state::AppState;

/// A login admitted for its client address (`LOGIN_CONCURRENCY_PER_IP`). Dropping it, when
/// the answer is sent or the request is cancelled, gives the place back.
#[derive(Debug)]
pub struct AdmittedLogin {
    permit: AddressPermit,
    /// When `refusal_hold` has passed since the request arrived.
    held_until: Instant,
}

impl FromRequestParts<AppState> for AdmittedLogin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let held_until = Instant::now() + state.refusal_hold;
        let Ok(ClientIp(client)) = ClientIp::from_request_parts(parts, state).await;
        match state.login_admission.acquire(client) {
            Ok(permit) => Ok(Self { permit, held_until }),
            Err(_) => {
                // Held like every refusal, so re-asking at once gains the client nothing.
                tokio::time::sleep_until(held_until).await;
                Err(ApiError::TooManyLoginsInFlight)
            }
        }
    }
}

impl AdmittedLogin {
    /// The client address the login is counted against.
    pub fn client(&self) -> std::net::IpAddr {
        self.permit.address()
    }

    /// Waits until `refusal_hold` has passed since the request arrived, keeping the place
    /// taken. Refused and failed logins are answered no sooner, so a client that re-asks as
    /// soon as it is answered gets at most one failure per place per `refusal_hold`.
    pub async fn hold(&self) {
        tokio::time::sleep_until(self.held_until).await;
    }
}
