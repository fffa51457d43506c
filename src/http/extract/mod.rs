//! What handlers take as arguments. Each extractor is one dependency of the tutorial, and its
//! type in a handler's signature is also what the OpenAPI document says about the route.

mod admitted;
mod basic;
mod bearer;
mod client_ip;
mod context;
mod form;
mod json;
mod user;

pub use admitted::{AdmittedLogin, TokenCaller};
pub use basic::{BasicCredentials, ConflictingCredentials};
pub use bearer::{BearerToken, MAX_TOKEN_LEN};
pub use client_ip::ClientIp;
pub use form::{CodeForm, GrantFields, OAuth2PasswordRequestForm, RefreshTokenForm, TokenRequest};
pub(crate) use form::{TokenRequestForm, form_fields, missing_credentials};
pub(crate) use json::{not_an_object, string_fields};
pub use user::{ActiveUser, CurrentUser};
