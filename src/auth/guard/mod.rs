//! Abuse control: failed-login budgets per (address, user), per address and per user's codes,
//! counted in this process and, with a shared database, across every replica; and the cap on
//! what one address may have in flight.

pub mod local;
pub mod per_address;
pub mod shared;
