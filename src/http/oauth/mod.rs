//! The protocol endpoints other software calls: the token endpoint (RFC 6749 §3.2: the
//! tutorial's password grant, and refresh), revocation (RFC 7009), introspection (RFC 7662),
//! and what verifiers fetch (the JWKS, RFC 7517; the metadata, RFC 8414). Errors answer in RFC
//! 6749 §5.2's shape where the RFCs say so, and in the tutorial's `{"detail": ...}` shape
//! where FastAPI clients expect it (`/token`'s password grant).

mod error;
pub(crate) mod introspect;
pub(crate) mod keys;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;
