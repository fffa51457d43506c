//! Signing keys through the real binary: `passflow keys generate`, serving with each
//! algorithm, the starts refused by name, and the issuer that is not a URL.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::fixtures::{TUTORIAL_KEY, jwt_claims, jwt_header};
use crate::harness::*;

/// `passflow keys generate --algorithm ALG` into `dir/name`.
pub fn generate_key(dir: &Path, algorithm: &str, name: &str) -> PathBuf {
    let output = run(passflow(dir).args(["keys", "generate", "--algorithm", algorithm]));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let pem = String::from_utf8(output.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
        "{pem}"
    );
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// A key OpenSSL makes (`openssl genpkey ARGS`), for the kinds passflow never generates.
fn openssl_key(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    path
}

#[tokio::test]
async fn each_generated_key_serves_tokens_its_jwks_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    for algorithm in ["EdDSA", "ES256", "RS256"] {
        let key = generate_key(dir.path(), algorithm, &format!("{algorithm}.pem"));
        let server = Server::start(
            passflow(dir.path())
                .env("TOKEN_ALGORITHM", algorithm)
                .env("SIGNING_KEY_FILE", &key),
        );
        let token = token_for(&client, &server, "johndoe", "secret").await;
        let header = jwt_header(&token);
        assert_eq!(header["alg"], algorithm);
        assert_eq!(jwt_claims(&token)["sub"], "johndoe");
        assert_eq!(header["typ"], "JWT");
        let jwks = get_json(&client, server.url("/.well-known/jwks.json")).await;
        assert_eq!(jwks["keys"][0]["kid"], header["kid"], "{algorithm}");
        let me = get_as(&client, server.url("/users/me/"), &token).await;
        assert_eq!(me.status(), 200, "{algorithm}");
        // No SECRET_KEY: nothing is signed with a random one, and nothing warns about it.
        assert!(
            !server
                .startup_log
                .iter()
                .any(|line| line.contains("SECRET_KEY is not set")),
            "{:?}",
            server.startup_log
        );
    }
}

#[test]
fn unusable_key_settings_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ed25519 = generate_key(d, "EdDSA", "ed25519.pem");
    let p384 = openssl_key(
        d,
        "p384.pem",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    let rsa1024 = openssl_key(
        d,
        "rsa1024.pem",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
    );
    let not_pem = d.join("not.pem");
    std::fs::write(&not_pem, "just some text\n").unwrap();
    let missing = d.join("missing.pem");
    let ed = ed25519.to_str().unwrap();
    let rsa = generate_key(d, "RS256", "rsa.pem");
    let rsa = rsa.to_str().unwrap();
    let cases: [(&[(&str, &str)], &str); 13] = [
        // The id_token key (issue 41 §2): RS256, and never an access token's.
        (
            &[
                ("TOKEN_ALGORITHM", "RS256"),
                ("SIGNING_KEY_FILE", rsa),
                ("ID_TOKEN_SIGNING_KEY_FILE", rsa),
            ],
            "is also an access-token key (SIGNING_KEY_FILE or PREVIOUS_SIGNING_KEY_FILES): \
             id_tokens need a key of their own",
        ),
        (
            &[("ID_TOKEN_SIGNING_KEY_FILE", ed)],
            "ID_TOKEN_SIGNING_KEY_FILE: ",
        ),
        (
            &[("PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES", rsa)],
            "PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES is set, but ID_TOKEN_SIGNING_KEY_FILE is not",
        ),
        (
            &[("ID_TOKEN_SIGNING_KEY_FILE", missing.to_str().unwrap())],
            "ID_TOKEN_SIGNING_KEY_FILE: cannot read",
        ),
        (
            &[("TOKEN_ALGORITHM", "EdDSA")],
            "SIGNING_KEY_FILE is not set, and TOKEN_ALGORITHM is EdDSA",
        ),
        (
            &[
                ("TOKEN_ALGORITHM", "ES256"),
                ("SIGNING_KEY_FILE", missing.to_str().unwrap()),
            ],
            "SIGNING_KEY_FILE: cannot read",
        ),
        (
            &[
                ("TOKEN_ALGORITHM", "RS256"),
                ("SIGNING_KEY_FILE", not_pem.to_str().unwrap()),
            ],
            "SIGNING_KEY_FILE: ",
        ),
        (
            &[("TOKEN_ALGORITHM", "ES256"), ("SIGNING_KEY_FILE", ed)],
            "holds an Ed25519 key; ES256 needs a P-256 key",
        ),
        (
            &[
                ("TOKEN_ALGORITHM", "ES256"),
                ("SIGNING_KEY_FILE", p384.to_str().unwrap()),
            ],
            "holds a P-384 key; ES256 needs a P-256 key",
        ),
        (
            &[
                ("TOKEN_ALGORITHM", "RS256"),
                ("SIGNING_KEY_FILE", rsa1024.to_str().unwrap()),
            ],
            "holds a 1024-bit RSA key; RS256 needs at least 2048 bits",
        ),
        (
            &[("TOKEN_ALGORITHM", "HS512")],
            "TOKEN_ALGORITHM: unknown algorithm \"HS512\"",
        ),
        (
            &[
                ("TOKEN_ALGORITHM", "EdDSA"),
                ("SIGNING_KEY_FILE", ed),
                ("PREVIOUS_SIGNING_KEY_FILES", not_pem.to_str().unwrap()),
            ],
            "PREVIOUS_SIGNING_KEY_FILES: ",
        ),
        (
            &[("SIGNING_KEY_FILE", ed)],
            "SIGNING_KEY_FILE is set, but TOKEN_ALGORITHM is HS256",
        ),
    ];
    for (settings, expected) in cases {
        let mut command = passflow(d);
        command.env("SECRET_KEY", TUTORIAL_KEY);
        for (name, value) in settings {
            command.env(name, value);
        }
        let output = run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{settings:?}: {stderr}");
        assert!(stderr.contains(expected), "{settings:?}: {stderr}");
        assert!(
            !stderr.contains("-----BEGIN"),
            "a key is never echoed: {stderr}"
        );
    }
}

#[tokio::test]
async fn an_issuer_that_is_not_a_url_still_signs_but_publishes_no_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        passflow(dir.path())
            .env("SECRET_KEY", TUTORIAL_KEY)
            .env("TOKEN_ISSUER", "passflow"),
    );
    let warnings: Vec<&String> = server
        .startup_log
        .iter()
        .filter(|line| line.contains("is not an RFC 8414 issuer URL"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", server.startup_log);
    let client = reqwest::Client::new();
    let reply = client
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    assert_eq!(reply.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    let token = token_for(&client, &server, "johndoe", "secret").await;
    assert_eq!(
        get_as(&client, server.url("/users/me/"), &token)
            .await
            .status(),
        200
    );
}

/// `GET /whoami` at the example with `token` (or none): status, body, WWW-Authenticate.
async fn whoami(
    client: &reqwest::Client,
    example: &Server,
    token: Option<&str>,
) -> (u16, String, Option<String>) {
    let mut request = client.get(example.url("/whoami"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.unwrap();
    let challenge = reply
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        reply.status().as_u16(),
        reply.text().await.unwrap(),
        challenge,
    )
}

#[tokio::test]
async fn the_resource_server_example_verifies_offline_and_follows_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = generate_key(d, "EdDSA", "first.pem");
    let second = generate_key(d, "EdDSA", "second.pem");
    let port = free_port().to_string();
    let mut passflow_server = Server::start(
        passflow(d)
            .env("PORT", &port)
            .env("TOKEN_ALGORITHM", "EdDSA")
            .env("SIGNING_KEY_FILE", &first),
    );
    let example = Server::start(
        resource_server_example(d)
            .env("PASSFLOW_URL", &passflow_server.base)
            .env("PORT", "0"),
    );
    let client = reqwest::Client::new();
    let token = token_for(&client, &passflow_server, "johndoe", "secret").await;
    let (status, body, _) = whoami(&client, &example, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"sub":"johndoe","scope":"me items"}"#);

    let invalid = r#"{"detail":"Could not validate credentials"}"#;
    assert_eq!(
        whoami(&client, &example, None).await,
        (
            401,
            r#"{"detail":"Not authenticated"}"#.to_owned(),
            Some("Bearer".to_owned())
        )
    );
    // Signed by a key passflow does not have, under passflow's kid: forged.
    let header = jwt_header(&token);
    let forger = passflow::auth::tokens::keys::SigningKey::from_pem(
        passflow::auth::tokens::keys::TokenAlgorithm::EdDsa,
        &std::fs::read(&second).unwrap(),
    )
    .unwrap();
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    forged_header.kid = header["kid"].as_str().map(str::to_owned);
    let claims = serde_json::json!({"sub": "johndoe", "exp": 4102444800u64, "scope": "me items"});
    let forged = jsonwebtoken::encode(&forged_header, &claims, forger.encoding()).unwrap();
    assert_eq!(
        whoami(&client, &example, Some(&forged)).await,
        (401, invalid.to_owned(), Some("Bearer".to_owned()))
    );
    // A token without the `me` scope.
    let items_only: Value = client
        .post(passflow_server.url("/token"))
        .form(&[
            ("username", "johndoe"),
            ("password", "secret"),
            ("scope", "items"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        whoami(&client, &example, items_only["access_token"].as_str()).await,
        (
            401,
            r#"{"detail":"Not enough permissions"}"#.to_owned(),
            Some("Bearer scope=\"me\"".to_owned())
        )
    );

    // Rotation: passflow restarts on the same address with the second key signing and the
    // first one previous. The example is not restarted.
    passflow_server.terminate();
    let passflow_server = Server::start(
        passflow(d)
            .env("PORT", &port)
            .env("TOKEN_ALGORITHM", "EdDSA")
            .env("SIGNING_KEY_FILE", &second)
            .env("PREVIOUS_SIGNING_KEY_FILES", &first),
    );
    // A new client: the old one's pooled connection went with the old process.
    let client = reqwest::Client::new();
    let rotated = token_for(&client, &passflow_server, "johndoe", "secret").await;
    assert_ne!(jwt_header(&rotated)["kid"], header["kid"]);
    let (status, body, _) = whoami(&client, &example, Some(&rotated)).await;
    assert_eq!(status, 200, "the new key is fetched on first sight: {body}");
    let (status, _, _) = whoami(&client, &example, Some(&token)).await;
    assert_eq!(status, 200, "tokens of the previous key still verify");
}

/// PyJWT's `PyJWKClient` fetches the running server's JWKS, picks the key by the token's
/// `kid`, and verifies the token with the algorithm it is told to expect.
const PYJWK_SCRIPT: &str = r#"
import json, sys
import jwt
url, token, algorithm = sys.argv[1:4]
signing_key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, signing_key.key, algorithms=[algorithm])
print(json.dumps({"sub": claims["sub"], "scope": claims["scope"], "kid": signing_key.key_id}))
"#;

#[tokio::test]
#[ignore = "needs Python with PyJWT and cryptography (PASSFLOW_PYTHON); cargo test -- --ignored"]
async fn pyjwt_verifies_each_algorithm_through_the_jwks() {
    let python = crate::fixtures::python_with("jwt, cryptography");
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    for algorithm in ["EdDSA", "ES256", "RS256"] {
        let key = generate_key(dir.path(), algorithm, &format!("{algorithm}.pem"));
        let server = Server::start(
            passflow(dir.path())
                .env("TOKEN_ALGORITHM", algorithm)
                .env("SIGNING_KEY_FILE", &key),
        );
        let token = token_for(&client, &server, "johndoe", "secret").await;
        let output = Command::new(&python)
            .args([
                "-c",
                PYJWK_SCRIPT,
                &server.url("/.well-known/jwks.json"),
                &token,
                algorithm,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{algorithm}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(answer["sub"], "johndoe", "{algorithm}");
        assert_eq!(answer["scope"], "me items");
        assert_eq!(answer["kid"], jwt_header(&token)["kid"]);
    }
}
