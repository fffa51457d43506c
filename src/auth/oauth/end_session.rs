//! OpenID Connect RP-Initiated Logout 1.0: a relying party sends its user to the end-session
//! endpoint, passflow ends the browser session and every client session signed in from it,
//! then sends the user back to a URI the client registered, or shows that they are signed
//! out. A request without an `id_token_hint` naming the browser's user could come from any
//! page, so the user is asked first (§2, §6: logout is a state change an attacker could
//! trigger otherwise).

use std::sync::Arc;

use url::Url;

use crate::auth::Auth;
use crate::model::client::Client;
use crate::model::username::Username;
use crate::store::StoreError;

/// The request's parameters, the first of each name (§2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl EndSessionParams {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params = Self::default();
        for (name, value) in pairs {
            let slot = match name {
                "id_token_hint" => &mut params.id_token_hint,
                "client_id" => &mut params.client_id,
                "post_logout_redirect_uri" => &mut params.post_logout_redirect_uri,
                "state" => &mut params.state,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.to_owned());
            }
        }
        params
    }

    /// The parameters as sent, for the confirmation form to carry.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }
}

/// Why the request is refused with a page, never a redirect: where to send the user is in
/// doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndSessionRefusal {
    #[error("The id_token_hint is not an ID token of this server.")]
    InvalidHint,
    #[error("The application that sent you here is not registered.")]
    UnknownClient,
    #[error("The client_id is not the client the id_token_hint was issued to.")]
    ClientMismatch,
    #[error("The application asked to send you to an address it has not registered.")]
    UnregisteredUri,
    #[error("A post_logout_redirect_uri needs a client_id or an id_token_hint.")]
    UriWithoutClient,
}

/// What the user answered on the confirmation page (its CSRF token checked by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Not asked: a relying party's request.
    Unasked,
    SignOut,
    StaySignedIn,
}

/// What follows the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSession {
    Refused(EndSessionRefusal),
    /// The browser is signed in and nothing proves the request is its user's: ask first.
    Confirm {
        username: Username,
        client: Option<Arc<Client>>,
    },
    /// Signed out (or never signed in): back to `redirect`, or the signed-out page.
    SignedOut {
        redirect: Option<String>,
        client: Option<Arc<Client>>,
    },
    /// The user chose to stay signed in: nothing ended. Still back to `redirect` (a validated
    /// `post_logout_redirect_uri` is honoured whatever the user chose, so the relying party
    /// sees one outcome), or a page that says so.
    StayedSignedIn {
        redirect: Option<String>,
        client: Option<Arc<Client>>,
    },
}

/// Answers an end-session request from the browser whose session cookie is `browser`, with
/// what the user answered on the confirmation page, if this is its form.
pub async fn end_session(
    auth: &Auth,
    browser: Option<&str>,
    params: &EndSessionParams,
    answer: Answer,
) -> Result<EndSession, StoreError> {
    let hint = match (&params.id_token_hint, &auth.id_tokens) {
        (None, _) => None,
        (Some(token), Some(keys)) => match keys.hint(token) {
            Some(hint) => Some(hint),
            None => return Ok(EndSession::Refused(EndSessionRefusal::InvalidHint)),
        },
        (Some(_), None) => return Ok(EndSession::Refused(EndSessionRefusal::InvalidHint)),
    };
    let client_id = match (&params.client_id, &hint) {
        (Some(id), Some(hint)) if *id != hint.aud => {
            return Ok(EndSession::Refused(EndSessionRefusal::ClientMismatch));
        }
        (Some(id), _) => Some(id.as_str()),
        (None, hint) => hint.as_ref().map(|hint| hint.aud.as_str()),
    };
    let client = match client_id {
        Some(id) => match auth.clients.find(id).await? {
            Some(client) => Some(client),
            None => return Ok(EndSession::Refused(EndSessionRefusal::UnknownClient)),
        },
        None => None,
    };
    let redirect = match (&params.post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(_), None) => return Ok(EndSession::Refused(EndSessionRefusal::UriWithoutClient)),
        (Some(uri), Some(client)) => {
            // Exact match only (§3): no loopback port freedom, no normalizing.
            if !client
                .post_logout_redirect_uris
                .iter()
                .any(|registered| registered.as_str() == uri)
            {
                return Ok(EndSession::Refused(EndSessionRefusal::UnregisteredUri));
            }
            Some(with_state(uri, params.state.as_deref()))
        }
    };
    let now = auth.clock.now();
    let session = match browser {
        Some(cookie) => auth.sessions.browser(cookie, now).await?,
        None => None,
    };
    if let Some(session) = session {
        let user = auth.users.get_user_fresh(&session.username).await?;
        let hinted = match (&hint, &user) {
            (Some(hint), Some(user)) => hint.sub == user.id.as_str(),
            _ => false,
        };
        match answer {
            Answer::StaySignedIn => return Ok(EndSession::StayedSignedIn { redirect, client }),
            Answer::Unasked if !hinted => {
                let username = session.username;
                return Ok(EndSession::Confirm { username, client });
            }
            Answer::Unasked | Answer::SignOut => {}
        }
        auth.sessions.sign_out(&session.id, now).await?;
        tracing::info!(
            username = session.username.as_str(),
            "signed out at the end-session endpoint"
        );
    }
    Ok(EndSession::SignedOut { redirect, client })
}

/// `uri` with `state` added to its query (§3), its own query kept.
fn with_state(uri: &str, state: Option<&str>) -> String {
    let Some(state) = state else {
        return uri.to_owned();
    };
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("state", state);
            url.into()
        }
        Err(_) => uri.to_owned(),
    }
}
