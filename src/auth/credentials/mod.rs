//! What a login checks: password hashes (argon2id, and the hashes carried over from pwdlib and
//! passlib), the pool of threads that computes them, and the TOTP second factor.

pub mod hash_pool;
pub mod password;
pub mod totp;
