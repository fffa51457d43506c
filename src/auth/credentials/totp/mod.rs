//! The second factor: RFC 6238 time-based one-time codes (ASVS V6.5, V6.6). A user enrols,
//! confirms with a first code (then receives recovery codes), and from then on a password
//! login must carry a code or a recovery code. Each code is accepted once (RFC 6238 §5.2,
//! ASVS V6.5.1), on every server sharing the store.

pub mod code;
pub mod recovery;
pub mod sealing;

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::accounts::password_change::{PasswordProofError, prove_password};
use crate::auth::guard::{Refused, Throttled};
use crate::auth::sessions::EndReason;
use crate::store::totp::{TotpRecord, TotpStore};
use crate::store::{InMemoryTotpStore, StoreError};
use code::{TotpSecret, otpauth_uri};
use sealing::{SecretCipher, Unsealable};

/// Where second factors are kept and how their secrets are sealed.
pub struct SecondFactor {
    store: Arc<dyn TotpStore>,
    /// `None`: enrolment is off (a database, and no `TOTP_ENCRYPTION_KEY` to seal with).
    cipher: Option<SecretCipher>,
    issuer: String,
}

impl SecondFactor {
    pub fn new(store: Arc<dyn TotpStore>, cipher: Option<SecretCipher>, issuer: &str) -> Self {
        Self {
            store,
            cipher,
            issuer: issuer.to_owned(),
        }
    }

    /// In memory, sealed with a key made up at start: nothing outlives the process anyway.
    pub fn in_memory(issuer: &str) -> Self {
        Self::new(
            Arc::new(InMemoryTotpStore::default()),
            Some(SecretCipher::random()),
            issuer,
        )
    }

    /// Whether users may enrol here.
    pub fn offered(&self) -> bool {
        self.cipher.is_some()
    }

    fn open(&self, username: &str, record: &TotpRecord) -> Result<TotpSecret, Unsealable> {
        self.cipher
            .as_ref()
            .ok_or(Unsealable)?
            .open(username, &record.sealed_secret)
    }
}

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
pub async fn enrol(auth: &Auth, username: &str) -> Result<Enrolment, TotpError> {
    let factor = &auth.totp;
    let cipher = factor.cipher.as_ref().ok_or(TotpError::NotOffered)?;
    let secret = TotpSecret::generate();
    if !factor
        .store
        .begin_totp(username, cipher.seal(username, &secret))
        .await?
    {
        return Err(TotpError::AlreadyEnabled);
    }
    Ok(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: otpauth_uri(&factor.issuer, username, &secret),
    })
}

/// Turns TOTP on with a first code from the pending secret, and returns the recovery codes,
/// which are never shown again. The user's other sessions end (ASVS V7.4.3): none of them
/// passed the factor now required.
pub async fn confirm(
    auth: &Auth,
    username: &str,
    session: Option<&str>,
    code: &str,
) -> Result<Vec<String>, TotpError> {
    let factor = &auth.totp;
    if !factor.offered() {
        return Err(TotpError::NotOffered);
    }
    let record = factor
        .store
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
        .store
        .enable_totp(username, &record.sealed_secret, step, &digests)
        .await?
    {
        // Confirmed meanwhile, or replaced by a newer enrolment this code is not from.
        return Err(match factor.store.totp(username).await? {
            Some(record) if record.enabled => TotpError::AlreadyEnabled,
            _ => TotpError::IncorrectCode,
        });
    }
    end_other_sessions(auth, username, session).await?;
    tracing::info!(username, "TOTP enabled; other sessions ended");
    Ok(codes)
}

/// Turns TOTP off (or drops a pending enrolment) once the password is proven, counted like
/// a login. Removing a factor ends the user's other sessions too (ASVS V7.4.3).
pub async fn disable(
    auth: &Auth,
    client: IpAddr,
    username: &str,
    session: Option<&str>,
    password: String,
) -> Result<(), TotpError> {
    prove_password(auth, client, username, password).await?;
    if auth.totp.store.remove_totp(username).await? {
        end_other_sessions(auth, username, session).await?;
        tracing::info!(username, "TOTP disabled; other sessions ended");
    }
    Ok(())
}

/// A factor turned on or off: the sessions that passed (or skipped) the old one end, the one
/// that made the change goes on (ASVS V7.4.3).
async fn end_other_sessions(
    auth: &Auth,
    username: &str,
    session: Option<&str>,
) -> Result<(), StoreError> {
    let now = auth.clock.now();
    auth.sessions
        .end_all_but(username, session, now, EndReason::SecondFactorChanged)
        .await
}

/// Why a second factor was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CodeRefused {
    /// Wrong, replayed, or a spent recovery code.
    #[error("incorrect TOTP code")]
    Incorrect,
    /// Too many wrong codes for this user; nothing was checked.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error(transparent)]
    Unsealable(#[from] Unsealable),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for CodeRefused {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(throttled) => Self::Throttled(throttled),
            Refused::Store(err) => Self::Store(err),
        }
    }
}

/// A second factor as a login step receives it. A passkey joins here later.
#[derive(Clone, PartialEq, Eq)]
pub enum Factor {
    /// The authenticator app's current code (RFC 6238).
    TotpCode(String),
    /// One of the codes shown once at enrolment.
    RecoveryCode(String),
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Factor::TotpCode(_) => "TotpCode(..)",
            Factor::RecoveryCode(_) => "RecoveryCode(..)",
        })
    }
}

impl Factor {
    /// What a typed `totp` field holds (`/token`'s and the login page's): six digits are an
    /// authenticator's code, anything else a recovery code; blank is nothing.
    pub fn typed(field: &str) -> Option<Self> {
        let code = field.trim();
        if code.is_empty() {
            return None;
        }
        let digits =
            code.len() == usize::from(code::DIGITS) && code.bytes().all(|b| b.is_ascii_digit());
        Some(if digits {
            Factor::TotpCode(code.to_owned())
        } else {
            Factor::RecoveryCode(code.to_owned())
        })
    }
}

/// The user's confirmed TOTP, when a login must pass it after the password; `None` when the
/// password is enough (no TOTP, or an enrolment not yet confirmed).
pub async fn required(auth: &Auth, username: &str) -> Result<Option<TotpRecord>, StoreError> {
    let record = auth.totp.store.totp(username).await?;
    Ok(record.filter(|record| record.enabled))
}

/// Checks `factor` against the user's TOTP `record`. Run only once the password is proven,
/// so that its answers tell nothing to someone without it. Each code is spent once, on every
/// server. Wrong codes count per user across all addresses ([`Guard::code_attempt`]), and
/// past the limit even a right code is refused.
///
/// [`Guard::code_attempt`]: crate::auth::guard::Guard::code_attempt
pub async fn check(
    auth: &Auth,
    username: &str,
    record: &TotpRecord,
    factor: &Factor,
) -> Result<(), CodeRefused> {
    let second = &auth.totp;
    let attempt = auth.guard.code_attempt(username).await?;
    let accepted = match factor {
        Factor::TotpCode(code) => {
            let secret = second.open(username, record)?;
            match secret.matching_step(code, auth.clock.now()) {
                Some(step) => second.store.spend_totp_step(username, step).await?,
                None => false,
            }
        }
        Factor::RecoveryCode(code) => {
            let digest = recovery::digest(code);
            second.store.spend_recovery_code(username, &digest).await?
        }
    };
    if !accepted {
        attempt.wrong();
        return Err(CodeRefused::Incorrect);
    }
    attempt.right().await?;
    Ok(())
}
