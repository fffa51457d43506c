//! The second factor: RFC 6238 time-based one-time codes (ASVS V6.5, V6.6), as a login checks
//! them: once TOTP is on, a password login must carry a code or a recovery code, each accepted
//! once (RFC 6238 §5.2, ASVS V6.5.1) on every server sharing the store. Turning it on and off
//! is the account's business ([`crate::auth::accounts::totp`]).

pub mod code;
pub mod recovery;
pub mod sealing;

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::guard::{Refused, Throttled};
use crate::model::username::Username;
use crate::store::totp::{TotpRecord, TotpStore};
use crate::store::{InMemoryTotpStore, StoreError};
use code::TotpSecret;
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

    /// What seals secrets; `None` where enrolment is off.
    pub(crate) fn cipher(&self) -> Option<&SecretCipher> {
        self.cipher.as_ref()
    }

    pub(crate) fn store(&self) -> &dyn TotpStore {
        self.store.as_ref()
    }

    /// The `issuer` of the otpauth URIs (`TOTP_ISSUER`).
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn open(
        &self,
        username: &Username,
        record: &TotpRecord,
    ) -> Result<TotpSecret, Unsealable> {
        self.cipher
            .as_ref()
            .ok_or(Unsealable)?
            .open(username, &record.sealed_secret)
    }
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
pub async fn required(auth: &Auth, username: &Username) -> Result<Option<TotpRecord>, StoreError> {
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
    username: &Username,
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
