//! Tokens other services verify without the secret: EdDSA, ES256 and RS256 signing keys,
//! `kid`s, the JWKS, the switch from HS256, rotation, the attacks RFC 8725 §3.1–3.2 names,
//! and the RFC 8414 metadata.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passflow::auth::oauth::metadata::ServerMetadata;
use passflow::auth::tokens::TokenSettings;
use passflow::auth::tokens::keys::{SigningKey, TokenAlgorithm, generate};
use passflow::router;
use passflow::store::InMemoryUserStore;
use serde_json::{Value, json};

use crate::helpers::*;

const ASYMMETRIC: [TokenAlgorithm; 3] = [
    TokenAlgorithm::EdDsa,
    TokenAlgorithm::Es256,
    TokenAlgorithm::Rs256,
];

const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;

fn key(algorithm: TokenAlgorithm) -> (String, SigningKey) {
    let pem = generate(algorithm).unwrap();
    let key = SigningKey::from_pem(algorithm, pem.as_bytes()).unwrap();
    (pem, key)
}

/// The tutorial's settings, signing with `keys` (the first signs); `accept_hs256`: whether
/// `SECRET_KEY` is still set.
fn signing(keys: &[&SigningKey], accept_hs256: bool) -> TokenSettings {
    TokenSettings {
        signing_keys: keys.iter().map(|key| (*key).clone()).collect(),
        accept_hs256,
        ..settings()
    }
}

fn app_with(settings: TokenSettings) -> axum::Router {
    router(state_with(settings, InMemoryUserStore::demo()))
}

async fn access_token(app: &axum::Router) -> String {
    let reply = post_form(app, &[("username", "johndoe"), ("password", "secret")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

async fn me(app: &axum::Router, token: &str) -> Reply {
    get(app, "/users/me/", Some(&format!("Bearer {token}"))).await
}

/// The public key as SubjectPublicKeyInfo DER, the way a verifier configured with it holds it.
fn public_der(algorithm: TokenAlgorithm, pem: &str) -> Vec<u8> {
    let der = pem::parse(pem).unwrap().into_contents();
    match algorithm {
        TokenAlgorithm::EdDsa => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
            AsDer::<PublicKeyX509Der>::as_der(pair.public_key())
                .unwrap()
                .as_ref()
                .to_vec()
        }
        TokenAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::from_pkcs8(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
            )
            .unwrap();
            AsDer::<PublicKeyX509Der>::as_der(pair.public_key())
                .unwrap()
                .as_ref()
                .to_vec()
        }
        TokenAlgorithm::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
            AsDer::<PublicKeyX509Der>::as_der(pair.public_key())
                .unwrap()
                .as_ref()
                .to_vec()
        }
        TokenAlgorithm::Hs256 => unreachable!("no public key"),
    }
}

fn claims() -> Value {
    json!({"sub": "johndoe", "exp": 4102444800u64, "scope": "me items"})
}

#[tokio::test]
async fn hs256_stays_the_default_and_publishes_no_key() {
    let app = app();
    let token = access_token(&app).await;
    assert_eq!(jwt_header(&token), json!({"typ": "JWT", "alg": "HS256"}));
    let jwks = get(&app, "/.well-known/jwks.json", None).await;
    jwks.assert(200, r#"{"keys":[]}"#, None);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(jwks.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn each_algorithm_signs_with_a_kid_its_jwks_publishes() {
    for algorithm in ASYMMETRIC {
        let (_, key) = key(algorithm);
        let app = app_with(signing(&[&key], false));
        let token = access_token(&app).await;
        assert_eq!(
            jwt_header(&token),
            json!({"typ": "JWT", "alg": algorithm.to_string(), "kid": key.kid()}),
            "{algorithm}"
        );
        assert_eq!(me(&app, &token).await.status, 200, "{algorithm}");

        let jwks = get(&app, "/.well-known/jwks.json", None).await;
        assert_eq!(jwks.status, 200);
        assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
        let keys = jwks.json()["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1, "{algorithm}");
        let jwk = &keys[0];
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["alg"], algorithm.to_string());
        assert_eq!(jwk["use"], "sig");
        let members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = match algorithm {
            TokenAlgorithm::EdDsa => vec!["kty", "crv", "x"],
            TokenAlgorithm::Es256 => vec!["kty", "crv", "x", "y"],
            _ => vec!["kty", "n", "e"],
        };
        expected.extend(["use", "alg", "kid"]);
        let mut sorted = members.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected, "{algorithm}: {jwk}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                jwk.get(private).is_none(),
                "{algorithm} publishes {private}"
            );
        }
        // The JWK verifies the token on its own, as another service would.
        let decoding =
            jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).unwrap())
                .unwrap();
        let mut validation = jsonwebtoken::Validation::new(algorithm.jwt());
        validation.set_required_spec_claims(&["exp", "sub"]);
        let decoded = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "johndoe");
    }
}

#[tokio::test]
async fn forged_and_confused_tokens_are_refused() {
    for algorithm in ASYMMETRIC {
        let (pem, key) = key(algorithm);
        let app = app_with(signing(&[&key], true));
        let (_, stranger) = self::key(algorithm);

        // Another key of the same algorithm, under its own kid (unknown here) or under ours.
        let mut header = Header::new(algorithm.jwt());
        header.kid = Some(stranger.kid().to_owned());
        let unknown_kid = jsonwebtoken::encode(&header, &claims(), stranger.encoding()).unwrap();
        header.kid = Some(key.kid().to_owned());
        let wrong_key = jsonwebtoken::encode(&header, &claims(), stranger.encoding()).unwrap();

        // Key confusion (RFC 8725 §2.1): HS256 with the public key as the HMAC secret, as
        // a verifier that trusted the token's `alg` would check it. With our kid and without.
        let spki = public_der(algorithm, &pem);
        let spki_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.clone()));
        let mut confused = Vec::new();
        for secret in [spki.clone(), spki_pem.into_bytes()] {
            let hmac = EncodingKey::from_secret(&secret).unwrap();
            let mut header = Header::new(Algorithm::HS256);
            confused.push(jsonwebtoken::encode(&header, &claims(), &hmac).unwrap());
            header.kid = Some(key.kid().to_owned());
            confused.push(jsonwebtoken::encode(&header, &claims(), &hmac).unwrap());
        }
        // `alg: none` under our kid.
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "JWT", "kid": key.kid()}).to_string());
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims().to_string());
        let none = format!("{none_header}.{payload}.");

        for forged in [unknown_kid, wrong_key, none].into_iter().chain(confused) {
            me(&app, &forged).await.assert(401, INVALID, Some("Bearer"));
        }
        // HS256 tokens without kid (SECRET_KEY still set) keep working meanwhile.
        assert_eq!(me(&app, tokens::PYJWT_JOHNDOE).await.status, 200);
    }
}

#[tokio::test]
async fn switching_from_hs256_logs_nobody_out_until_the_secret_is_removed() {
    let (_, key) = key(TokenAlgorithm::EdDsa);
    let before = app();
    let old = access_token(&before).await;

    let switched = app_with(signing(&[&key], true));
    assert_eq!(
        me(&switched, &old).await.status,
        200,
        "SECRET_KEY still set"
    );
    assert_eq!(me(&switched, tokens::PYJWT_JOHNDOE).await.status, 200);
    let new = access_token(&switched).await;
    assert_eq!(jwt_header(&new)["alg"], "EdDSA");

    let secret_removed = app_with(signing(&[&key], false));
    me(&secret_removed, &old)
        .await
        .assert(401, INVALID, Some("Bearer"));
    me(&secret_removed, tokens::PYJWT_JOHNDOE)
        .await
        .assert(401, INVALID, Some("Bearer"));
    assert_eq!(me(&secret_removed, &new).await.status, 200);
}

#[tokio::test]
async fn a_rotated_key_still_verifies_and_is_still_published_but_never_signs() {
    for algorithm in ASYMMETRIC {
        let (_, old_key) = key(algorithm);
        let (_, new_key) = key(algorithm);
        let old_token = access_token(&app_with(signing(&[&old_key], false))).await;

        let rotated = app_with(signing(&[&new_key, &old_key], false));
        assert_eq!(me(&rotated, &old_token).await.status, 200, "{algorithm}");
        let new_token = access_token(&rotated).await;
        assert_eq!(jwt_header(&new_token)["kid"], new_key.kid());
        let jwks = get(&rotated, "/.well-known/jwks.json", None).await.json();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jwk| jwk["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [new_key.kid(), old_key.kid()]);

        // Once the old key is dropped, its tokens are refused.
        let dropped = app_with(signing(&[&new_key], false));
        me(&dropped, &old_token)
            .await
            .assert(401, INVALID, Some("Bearer"));
        assert_eq!(me(&dropped, &new_token).await.status, 200);
    }
}

#[tokio::test]
async fn the_metadata_names_the_issuer_and_its_endpoints() {
    let issuer = "https://auth.example.com/tenant";
    let settings = TokenSettings {
        issuer: Some(issuer.into()),
        ..settings()
    };
    let state = state_with(settings, InMemoryUserStore::demo())
        .with_metadata(ServerMetadata::new(issuer, false));
    let app = router(state);
    let reply = get(&app, "/.well-known/oauth-authorization-server", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({
            "issuer": issuer,
            "token_endpoint": "https://auth.example.com/tenant/token",
            "jwks_uri": "https://auth.example.com/tenant/.well-known/jwks.json",
            "revocation_endpoint": "https://auth.example.com/tenant/revoke",
            "grant_types_supported": ["password", "refresh_token"],
            "scopes_supported": ["me", "items"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
        })
    );
    // The tokens' `iss` is exactly the metadata's issuer.
    let token = access_token(&app).await;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], issuer);

    // Without an issuer URL there is no document, and never an OpenID one.
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        get(&crate::helpers::app(), path, None).await.assert(
            404,
            r#"{"detail":"Not Found"}"#,
            None,
        );
    }
}
