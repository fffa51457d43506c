//! OAuth 2.0's pieces beyond the password login: the grant every token endpoint answers with,
//! registered clients and what users allowed them, the authorization endpoint's sign-in
//! ([`sign_in`]), the authorization-code grant (RFC 6749 §4.1, RFC 7636), the refresh
//! grant (RFC 6749 §6), token introspection (RFC 7662) and the authorization server's
//! metadata (RFC 8414).

pub mod authorize;
pub mod clients;
pub mod code;
pub mod consent;
pub mod end_session;
pub mod grant;
pub mod introspection;
pub mod metadata;
pub mod refresh;
pub mod registration;
pub mod revocation;
pub mod sign_in;
pub mod userinfo;
