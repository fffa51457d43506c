//! The tutorial's dependency chain as extractors: `oauth2_scheme` → `get_current_user` →
//! `get_current_active_user` become [`BearerToken`] → [`CurrentUser`] → [`ActiveUser`].
//! A handler names the one it needs in its signature; each builds on the previous one.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum_extra::TypedHeader;
use axum_extra::headers::{Authorization, authorization::Bearer};
use ipnet::IpNet;

use crate::http::error::ApiError;
use crate::scopes::{AnyScope, RequiredScopes};
use crate::state::AppState;
use crate::store::UserRecord;

/// Tokens longer than this are refused before any base64 or JSON work is spent on them;
/// ours are about 250 bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The raw token from `Authorization: Bearer <token>` (FastAPI's `OAuth2PasswordBearer`).
#[derive(Debug)]
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, state).await {
            Ok(TypedHeader(Authorization(bearer))) if bearer.token().len() > MAX_TOKEN_LEN => {
                Err(ApiError::InvalidToken)
            }
            Ok(TypedHeader(Authorization(bearer))) => Ok(Self(bearer.token().to_owned())),
            Err(rejection) if rejection.is_missing() => Err(ApiError::NotAuthenticated),
            Err(_) => Err(unparsed_authorization(
                parts.headers.get(header::AUTHORIZATION),
            )),
        }
    }
}

/// An `Authorization` header the typed parser refused. FastAPI splits at the first space:
/// another scheme means "Not authenticated", while a Bearer scheme with an empty or
/// non-ASCII token is a token that fails to validate.
fn unparsed_authorization(value: Option<&HeaderValue>) -> ApiError {
    let scheme = value
        .and_then(|value| value.as_bytes().split(|&b| b == b' ').next())
        .unwrap_or_default();
    if scheme.eq_ignore_ascii_case(b"bearer") {
        ApiError::InvalidToken
    } else {
        ApiError::NotAuthenticated
    }
}

/// The user a valid token names, holding the scopes `R` demands (FastAPI's
/// `get_current_user` with `SecurityScopes`). Disabled users get through; see [`ActiveUser`].
pub struct CurrentUser<R = AnyScope> {
    pub user: Arc<UserRecord>,
    required: PhantomData<fn() -> R>,
}

impl<R: RequiredScopes> FromRequestParts<AppState> for CurrentUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let BearerToken(token) = BearerToken::from_request_parts(parts, state).await?;
        let claims = state.tokens.decode(&token).map_err(|err| {
            tracing::debug!(%err, "token refused");
            ApiError::InvalidToken
        })?;
        let user = state
            .users
            .get_user(&claims.sub)
            .await?
            .ok_or(ApiError::InvalidToken)?;
        // A scope counts only while the user is still allowed it, so taking a scope away
        // from a user also takes it out of tokens already issued. Tokens without a `scope`
        // claim come from the JWT chapter (or PyJWT), which had no scopes: they carry the
        // user's allowed set, exactly what a scope-less login is granted today.
        let granted = |scope: &crate::scopes::Scope| {
            user.scopes.contains(scope)
                && claims
                    .scope
                    .as_deref()
                    .is_none_or(|claim| claim.split(' ').any(|s| s == scope.as_str()))
        };
        if !R::SCOPES.iter().all(granted) {
            return Err(ApiError::NotEnoughPermissions {
                required: R::SCOPES,
            });
        }
        Ok(Self {
            user,
            required: PhantomData,
        })
    }
}

impl<R> Deref for CurrentUser<R> {
    type Target = UserRecord;

    fn deref(&self) -> &UserRecord {
        &self.user
    }
}

/// A [`CurrentUser`] who is not disabled (FastAPI's `get_current_active_user`).
pub struct ActiveUser<R = AnyScope> {
    pub user: Arc<UserRecord>,
    required: PhantomData<fn() -> R>,
}

impl<R: RequiredScopes> FromRequestParts<AppState> for ActiveUser<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser { user, .. } = CurrentUser::<R>::from_request_parts(parts, state).await?;
        if user.profile.disabled {
            return Err(ApiError::InactiveUser);
        }
        Ok(Self {
            user,
            required: PhantomData,
        })
    }
}

impl<R> Deref for ActiveUser<R> {
    type Target = UserRecord;

    fn deref(&self) -> &UserRecord {
        &self.user
    }
}

/// The address a request comes from, as the login throttle counts it: the TCP peer, or, when
/// the peer is one of `TRUSTED_PROXIES`, the nearest address in `X-Forwarded-For` that is not.
/// A header from anyone else is ignored, since any client can write one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Without a socket (a router driven in-process), every request shares one address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(Self(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Each proxy appends the address it received from: read right to left, past our own.
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or_default().split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_and_their_header_ignored() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &spoofed, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &spoofed, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let chain = headers(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_garbled_or_missing_header_stops_at_the_last_good_hop() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let garbled = headers(&["203.0.113.9, not-an-ip, 10.2.2.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &garbled, &trusted),
            ip("10.2.2.2")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }
}
