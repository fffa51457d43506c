//! Any string as a token, and any JSON object as claims signed with the right key: decoding
//! returns claims or an error, and accepted claims always have a subject.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use passflow::auth::tokens::{SecretKey, TokenKeys, TokenSettings};

const KEY: &str = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";

static KEYS: LazyLock<TokenKeys> = LazyLock::new(|| {
    TokenKeys::new(TokenSettings::new(
        SecretKey::new(KEY).unwrap(),
        Duration::from_secs(60),
    ))
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = KEYS.decode(text);
    // Past the signature check: the same bytes as claims of a correctly signed token.
    if let Ok(claims @ serde_json::Value::Object(_)) = serde_json::from_str(text) {
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
        )
        .unwrap();
        if let Ok(decoded) = KEYS.decode(&token) {
            assert_eq!(claims["sub"].as_str(), Some(decoded.sub.as_str()));
        }
    }
});
