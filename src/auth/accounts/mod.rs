//! What a user changes about their own account, and what an operator changes about anyone's:
//! the password policy (OWASP ASVS V6.2), a password change, the second factor turned on and
//! off, the users file; and what the user sees of their account's activity.

pub mod activity;
pub mod admin;
pub mod password_change;
pub mod policy;
pub mod totp;
pub mod users_file;
