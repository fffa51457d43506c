//! Browser sessions: what a login on the page starts, so the next authorization from that
//! browser skips the password (until `max_age` or `prompt=login`). Each is a passflow session
//! like the others — listed in `/users/me/sessions/`, ended by `/logout/all` and a password
//! change — owned by the login page, a client no registration can name, so its token (the
//! browser's cookie) is refused at `/token`: it mints no access token, only codes.

use super::{RefreshToken, Sessions};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;
use crate::model::time::UnixTime;
use crate::store::session::SessionRecord;
use crate::store::{StoreError, UserRecord};

/// The `client_id` of the login page's own sessions. Registered ids are base64url, so no
/// registered client can hold it, and a refresh needs the owner's authentication.
pub const LOGIN_PAGE: &str = "passflow:login-page";

/// Seconds between two writes of a browser session's last use: an app redirecting its user
/// through `/authorize` many times a minute costs one write.
pub const TOUCH_EVERY: u64 = 60;

impl Sessions {
    /// Starts a browser session for `user`: it grants no scope by itself.
    pub async fn start_browser(
        &self,
        user: &UserRecord,
        now: UnixTime,
        started: Event,
    ) -> Result<(SessionRecord, RefreshToken), StoreError> {
        self.start_owned(user, &ScopeSet::default(), Some(LOGIN_PAGE), now, started)
            .await
    }

    /// The live browser session a cookie names; `None` for anything else (ended, expired,
    /// not a browser session's token). Never rotates: the cookie stays as set. A use marks
    /// it used (at most once a [`TOUCH_EVERY`]), so its idle timeout restarts and it is not
    /// the least recently used session the per-user cap ends first.
    pub async fn browser(
        &self,
        cookie: &str,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(mut session) = self.inspect(cookie, now).await? else {
            return Ok(None);
        };
        if session.client_id.as_deref() != Some(LOGIN_PAGE) {
            return Ok(None);
        }
        if now.saturating_sub(session.last_used_at) >= TOUCH_EVERY {
            self.store.touch(&session.id, now).await?;
            session.last_used_at = now;
        }
        Ok(Some(session))
    }
}
