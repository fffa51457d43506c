//! The domain: everything passflow decides, with nothing of HTTP in it (`http/` maps these
//! errors to responses). One folder per concept:
//!
//! - [`login`]: the password login, step by step, and the tutorial's `authenticate_user`.
//! - [`credentials`]: what a login checks: password hashes (and the pool that computes them),
//!   TOTP codes and recovery codes.
//! - [`accounts`]: what a user or an operator changes: the password policy, a password change,
//!   TOTP enrolment, the users file.
//! - [`tokens`]: access tokens: keys, signing and verifying, claims, the JWKS.
//! - [`sessions`]: what a login starts and a refresh continues; the view of ended sessions.
//! - [`guard`]: abuse control: failed-login budgets, per-address limits.
//! - [`oauth`]: the protocol's pieces: grants, refresh, introspection, metadata.
//! - [`audit`]: the security events' one door: stored, logged and counted.
//! - [`context`]: [`Auth`], what every use case works with.

pub mod accounts;
pub mod audit;
pub mod context;
pub mod credentials;
pub mod guard;
pub mod login;
pub mod oauth;
pub mod sessions;
pub mod tokens;

pub use context::Auth;
pub use login::{LoginError, LoginRequest, authenticate_user, grant_scopes, login};
pub use oauth::grant::Grant;
pub use oauth::refresh::{RefreshError, RefreshRequest, refresh};
