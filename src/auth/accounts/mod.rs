//! What a user changes about their own account, and what an operator changes about anyone's:
//! the password policy (OWASP ASVS V6.2), a password change, the users file.

pub mod admin;
pub mod password_change;
pub mod policy;
pub mod users_file;
