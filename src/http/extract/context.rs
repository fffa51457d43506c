//! Who is asking and from where, as every use case that records a security event takes it
//! (ASVS V16.2.1): the client address after `TRUSTED_PROXIES`, the user agent and the
//! request id. Nobody is proven yet: a use case names the actor once it knows.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use super::ClientIp;
use crate::model::event::RequestContext;
use crate::state::AppState;

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(address)) = ClientIp::from_request_parts(parts, state).await;
        // Header bytes that are not text are kept as they can be shown, not dropped.
        let text = |name| {
            parts
                .headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        Ok(RequestContext {
            user_agent: text(header::USER_AGENT),
            // Set by the router's request-id layer when the client sent none.
            request_id: text(header::HeaderName::from_static("x-request-id")),
            ..RequestContext::anonymous(Some(address))
        })
    }
}
