//! Tokens and hashes cross to and from Python: PyJWT decodes our tokens, pwdlib verifies our
//! hashes, and we verify pwdlib's. Needs a Python with `pyjwt` and `pwdlib[argon2]`:
//! `PASSFLOW_PYTHON` names it (CI makes a venv), else `python3`. Without those modules the
//! test says so and passes, unless `PASSFLOW_REQUIRE_PYTHON=1` (set by `.ci/run`).

use std::process::Command;

use crate::helpers::*;
use passflow::auth::credentials::password::{hash_password, verify_password};
use passflow::auth::tokens::TokenKeys;
use passflow::model::scopes::ScopeSet;

const SCRIPT: &str = r#"
import json, sys
import jwt
from pwdlib import PasswordHash
key, token, our_hash = sys.argv[1:4]
claims = jwt.decode(token, key, algorithms=["HS256"])
header = jwt.get_unverified_header(token)
hasher = PasswordHash.recommended()
print(json.dumps({
    "sub": claims["sub"],
    "scope": claims["scope"],
    "header": header,
    "pwdlib_verifies_ours": hasher.verify("correct horse", our_hash),
    "pwdlib_rejects_wrong": not hasher.verify("wrong horse", our_hash),
    "pwdlib_hash": hasher.hash("battery staple"),
}))
"#;

#[test]
#[ignore = "needs Python with PyJWT and pwdlib (PASSFLOW_PYTHON); cargo test -- --ignored"]
fn pyjwt_and_pwdlib_accept_ours_and_we_accept_theirs() {
    let python = python_with("jwt, pwdlib, argon2");

    let token = TokenKeys::new(settings())
        .create_access_token("johndoe", &ScopeSet::tutorial())
        .unwrap();
    let ours = hash_password("correct horse");
    let output = Command::new(&python)
        .args(["-c", SCRIPT, TUTORIAL_KEY, &token, &ours])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["sub"], "johndoe");
    assert_eq!(answer["scope"], "me items");
    assert_eq!(
        answer["header"],
        serde_json::json!({"alg": "HS256", "typ": "JWT"})
    );
    assert_eq!(answer["pwdlib_verifies_ours"], true);
    assert_eq!(answer["pwdlib_rejects_wrong"], true);
    let theirs = answer["pwdlib_hash"].as_str().unwrap();
    assert!(
        theirs.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "{theirs}"
    );
    assert_eq!(verify_password("battery staple", theirs), Ok(true));
    assert_eq!(verify_password("battery", theirs), Ok(false));
}
