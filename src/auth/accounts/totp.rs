//! The second factor as the account holder changes it: enrol, confirm with a first code (then
//! receive recovery codes), turn it off proving the password. Each change ends the user's
//! other sessions (ASVS V7.4.3). What a login checks lives in [`crate::auth::credentials::totp`]:
//! `credentials/` checks factors, `accounts/` changes them.

use std::net::IpAddr;

use crate::auth::Auth;
use crate::auth::accounts::password_change::{PasswordProofError, prove_password};
use crate::auth::credentials::totp::code::{TotpSecret, otpauth_uri};
use crate::auth::credentials::totp::recovery;
use crate::auth::credentials::totp::sealing::Unsealable;
use crate::auth::sessions::EndReason;
use crate::model::username::Username;
use crate::store::{StoreError, UserRecord};

/// What a user is shown to add passflow to an authenticator app.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32, 160 bits.
    pub secret: String,
    pub otpauth_uri: String,
}

/// Why an enrolment, confirmation or removal did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP is not offered by this server")]
    NotOffered,
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    #[error("no TOTP enrolment is pending")]
    NotPending,
    #[error("incorrect code")]
    IncorrectCode,
    #[error(transparent)]
    Password(#[from] PasswordProofError),
    #[error(transparent)]
    Unsealable(#[from] Unsealable),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts an enrolment, replacing a pending one. The secret is stored sealed and returned
/// once; TOTP stays off until [`confirm`].
pub async fn enrol(auth: &Auth, username: &Username) -> Result<Enrolment, TotpError> {
    let factor = &auth.totp;
    let cipher = factor.cipher().ok_or(TotpError::NotOffered)?;
    let secret = TotpSecret::generate();
    if !factor
        .store()
        .begin_totp(username, cipher.seal(username, &secret))
        .await?
    {
        return Err(TotpError::AlreadyEnabled);
    }
    Ok(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: otpauth_uri(factor.issuer(), username, &secret),
    })
}

/// Turns TOTP on with a first code from the pending secret, and returns the recovery codes,
/// which are never shown again. The user's other sessions end (ASVS V7.4.3): none of them
/// passed the factor now required.
pub async fn confirm(
    auth: &Auth,
    user: &UserRecord,
    session: Option<&str>,
    code: &str,
) -> Result<Vec<String>, TotpError> {
    let username = user.username();
    let factor = &auth.totp;
    if !factor.offered() {
        return Err(TotpError::NotOffered);
    }
    let record = factor
        .store()
        .totp(username)
        .await?
        .ok_or(TotpError::NotPending)?;
    if record.enabled {
        return Err(TotpError::AlreadyEnabled);
    }
    let secret = factor.open(username, &record)?;
    let step = secret
        .matching_step(code.trim(), auth.clock.now())
        .ok_or(TotpError::IncorrectCode)?;
    let (codes, digests) = recovery::generate();
    if !factor
        .store()
        .enable_totp(username, &record.sealed_secret, step, &digests)
        .await?
    {
        // Confirmed meanwhile, or replaced by a newer enrolment this code is not from.
        return Err(match factor.store().totp(username).await? {
            Some(record) if record.enabled => TotpError::AlreadyEnabled,
            _ => TotpError::IncorrectCode,
        });
    }
    end_other_sessions(auth, user, session).await?;
    tracing::info!(
        username = username.as_str(),
        "TOTP enabled; other sessions ended"
    );
    Ok(codes)
}

/// Turns TOTP off (or drops a pending enrolment) once the password is proven, counted like
/// a login. Removing a factor ends the user's other sessions too (ASVS V7.4.3).
pub async fn disable(
    auth: &Auth,
    client: IpAddr,
    user: &UserRecord,
    session: Option<&str>,
    password: String,
) -> Result<(), TotpError> {
    let username = user.username();
    // The account as stored now: the one whose sessions the change ends.
    let user = prove_password(auth, client, username, password).await?;
    if auth.totp.store().remove_totp(username).await? {
        end_other_sessions(auth, &user, session).await?;
        tracing::info!(
            username = username.as_str(),
            "TOTP disabled; other sessions ended"
        );
    }
    Ok(())
}

/// A factor turned on or off: the sessions that passed (or skipped) the old one end, the one
/// that made the change goes on (ASVS V7.4.3).
async fn end_other_sessions(
    auth: &Auth,
    user: &UserRecord,
    session: Option<&str>,
) -> Result<(), StoreError> {
    let now = auth.clock.now();
    auth.sessions
        .end_all_but(user, session, now, EndReason::SecondFactorChanged)
        .await
}
