//! The pages' two cookies: the browser session (a login page session's token, so the next
//! authorization skips the password) and the CSRF token every form echoes (double submit:
//! a page on another site can make a browser post, but cannot read the cookie to copy it
//! into the form). Both `HttpOnly` and `SameSite=Lax`; behind https, `Secure` with the
//! `__Host-` prefix, so no subdomain and no plain-http page can set them (RFC 6265bis
//! §4.1.3.2). On plain http (local development only) neither can be had.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq as _;

use crate::auth::tokens::secret::os_random_base64url;

#[derive(Debug, Clone, Copy)]
pub(super) struct CookieNames {
    session: &'static str,
    csrf: &'static str,
    secure: bool,
}

impl CookieNames {
    /// The names for a service reached at `issuer`: `__Host-` names on https.
    pub(super) fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                session: "__Host-passflow-session",
                csrf: "__Host-passflow-csrf",
                secure: true,
            }
        } else {
            Self {
                session: "passflow-session",
                csrf: "passflow-csrf",
                secure: false,
            }
        }
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .build()
    }

    /// The browser session's token, if the browser sent one.
    pub(super) fn session<'a>(&self, jar: &'a CookieJar) -> Option<&'a str> {
        jar.get(self.session).map(Cookie::value)
    }

    /// The jar with the browser session's cookie set: a new token at every login, so a
    /// token planted before it is worth nothing after (no fixation, ASVS V7.2.4).
    pub(super) fn with_session(&self, jar: CookieJar, token: String) -> CookieJar {
        jar.add(self.cookie(self.session, token))
    }

    /// The jar with the browser session's cookie removed: signed out.
    pub(super) fn without_session(&self, jar: CookieJar) -> CookieJar {
        jar.remove(self.cookie(self.session, String::new()))
    }

    /// The browser's CSRF token, made and set now if it has none.
    pub(super) fn csrf(
        &self,
        jar: CookieJar,
    ) -> Result<(CookieJar, String), rand::rand_core::OsError> {
        if let Some(token) = jar.get(self.csrf) {
            let token = token.value().to_owned();
            return Ok((jar, token));
        }
        let token = os_random_base64url(32)?;
        Ok((jar.add(self.cookie(self.csrf, token.clone())), token))
    }

    /// Whether a posted form carries this browser's CSRF token.
    pub(super) fn csrf_matches(&self, jar: &CookieJar, posted: Option<&str>) -> bool {
        match (jar.get(self.csrf), posted) {
            (Some(cookie), Some(posted)) if !posted.is_empty() => {
                cookie.value().as_bytes().ct_eq(posted.as_bytes()).into()
            }
            _ => false,
        }
    }
}
