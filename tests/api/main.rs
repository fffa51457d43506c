//! The service in-process: the router driven with tower's `oneshot`, no sockets. One test
//! binary, so the crate is linked once and the helpers are shared.

// Helpers are `pub` for the sibling modules of this one test binary.
#![allow(unreachable_pub)]

#[path = "../fixtures/mod.rs"]
mod fixtures;
mod helpers;

mod account;
mod audit;
mod authorize;
mod bad_input;
mod code_grant;
mod database;
mod examples;
mod floods;
mod fuzz_corpus;
mod hardening;
mod introspection;
mod keys;
mod layering;
mod login;
mod names;
mod openapi;
mod openid;
mod properties;
mod python_interop;
mod scopes;
mod sessions;
mod stores;
mod timing;
mod totp;
mod users_file;
