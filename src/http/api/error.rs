//! The JSON API's domain errors as answers, in the tutorial's `{"detail": ...}` shape.

use crate::auth::accounts::password_change::{PasswordChangeError, PasswordProofError};
use crate::auth::accounts::totp::TotpError;
use crate::http::error::ApiError;

/// A user's own account changes: `400`s worded for the person who typed the password.
impl From<PasswordProofError> for ApiError {
    fn from(err: PasswordProofError) -> Self {
        match err {
            PasswordProofError::Throttled(throttled) => throttled.into(),
            PasswordProofError::IncorrectPassword => ApiError::IncorrectPassword,
            PasswordProofError::Busy(_) => ApiError::Overloaded,
            PasswordProofError::Store(err) => err.into(),
        }
    }
}

impl From<PasswordChangeError> for ApiError {
    fn from(err: PasswordChangeError) -> Self {
        match err {
            PasswordChangeError::Proof(err) => err.into(),
            PasswordChangeError::Weak(weakness) => ApiError::WeakPassword(weakness.to_string()),
            PasswordChangeError::ChangedMeanwhile => ApiError::PasswordChangedMeanwhile,
            PasswordChangeError::Busy(_) => ApiError::Overloaded,
            PasswordChangeError::Store(err) => err.into(),
        }
    }
}

impl From<TotpError> for ApiError {
    fn from(err: TotpError) -> Self {
        match err {
            TotpError::NotOffered => ApiError::NotFound,
            TotpError::AlreadyEnabled => ApiError::TotpAlreadyEnabled,
            TotpError::NotPending => ApiError::TotpNotPending,
            TotpError::IncorrectCode => ApiError::IncorrectCode,
            TotpError::Password(err) => err.into(),
            TotpError::Unsealable(err) => ApiError::Internal(err.into()),
            TotpError::Store(err) => err.into(),
        }
    }
}
