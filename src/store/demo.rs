//! The demo users: the tutorial's `fake_users_db` (johndoe, alice) and the users of the pytest
//! suite that ported it to bcrypt (stanley, mike), so both test suites pass against a default
//! server. Their passwords are published: `secret`, `secretalice`, `secret`, `password`.

use std::sync::Arc;

use super::{User, UserRecord};
use crate::model::scopes::ScopeSet;
use crate::model::user_id::UserId;

/// johndoe's hash from the tutorial (pwdlib argon2id) for the password `secret`.
pub const JOHNDOE_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc";
/// alice's hash from the tutorial for `secretalice`.
pub const ALICE_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$g2/AV1zwopqUntPKJavBFw$BwpRGDCyUHLvHICnwijyX8ROGoiUPwNKZ7915MeYfCE";
/// stanley's passlib bcrypt hash for `secret`.
pub const STANLEY_HASH: &str = "$2b$12$HIbxs5kbjinDEUzbQJYqpeTp.GxRgy4m8hdQM4JnSunGQ6VaY5Ld6";
/// mike's passlib bcrypt hash for `password`.
pub const MIKE_HASH: &str = "$2b$12$JAM3vz8gEZDeNSDAILiaReTmvoNM5EEP33Elhq5fCoTgno4SxfqKO";

/// Every demo user, each allowed every scope.
pub fn users() -> Vec<UserRecord> {
    [
        (
            "johndoe",
            "John Doe",
            "johndoe@example.com",
            JOHNDOE_HASH,
            false,
        ),
        (
            "alice",
            "Alice Chains",
            "alicechains@example.com",
            ALICE_HASH,
            true,
        ),
        (
            "stanley",
            "Stanley Jobson",
            "Stanley.Jobson@localhost",
            STANLEY_HASH,
            false,
        ),
        ("mike", "Mike Doe", "Mike.Doe@localhost", MIKE_HASH, false),
    ]
    .into_iter()
    .map(|(username, full_name, email, hash, disabled)| UserRecord {
        id: UserId::of_name(username),
        profile: Arc::new(User {
            username: username.into(),
            email: Some(email.to_owned()),
            full_name: Some(full_name.to_owned()),
            disabled,
        }),
        hashed_password: hash.to_owned(),
        scopes: ScopeSet::tutorial(),
    })
    .collect()
}
