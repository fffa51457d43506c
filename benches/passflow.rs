//! Micro-benchmarks: token encode/decode, signing and verification per algorithm, the
//! extractor chain through the router in-process, and password verification. Run with `cargo bench`; CI only builds them.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use passflow::auth::credentials::hash_pool::HashPool;
use passflow::auth::credentials::password::{hash_password, verify_password};
use passflow::auth::tokens::keys::{SigningKey, TokenAlgorithm, generate};
use passflow::auth::tokens::{SecretKey, TokenKeys, TokenSettings};
use passflow::model::scopes::ScopeSet;
use passflow::store::InMemoryUserStore;
use passflow::{AppState, router};
use tower::ServiceExt;

const KEY: &str = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";

fn keys() -> TokenKeys {
    TokenKeys::new(TokenSettings::new(
        SecretKey::new(KEY).unwrap(),
        Duration::from_secs(1800),
    ))
}

fn tokens(c: &mut Criterion) {
    let keys = keys();
    let token = keys
        .create_access_token("johndoe", &ScopeSet::tutorial())
        .unwrap();
    c.bench_function("token/encode", |b| {
        b.iter(|| keys.create_access_token(black_box("johndoe"), black_box(&ScopeSet::tutorial())))
    });
    c.bench_function("token/decode", |b| {
        b.iter(|| keys.decode(black_box(&token)))
    });
}

/// Signing and (uncached) verification per algorithm: what one login and the first check
/// of each token cost.
fn algorithms(c: &mut Criterion) {
    let mut group = c.benchmark_group("algorithm");
    let hs256 = keys();
    let token = hs256
        .create_access_token("johndoe", &ScopeSet::tutorial())
        .unwrap();
    let secret = jsonwebtoken::DecodingKey::from_secret(KEY.as_bytes()).unwrap();
    group.bench_function("sign/HS256", |b| {
        b.iter(|| hs256.create_access_token(black_box("johndoe"), &ScopeSet::tutorial()))
    });
    group.bench_function("verify/HS256", |b| {
        let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &secret, &validation)
        })
    });
    for algorithm in [
        TokenAlgorithm::EdDsa,
        TokenAlgorithm::Es256,
        TokenAlgorithm::Rs256,
    ] {
        let pem = generate(algorithm).unwrap();
        let key = SigningKey::from_pem(algorithm, pem.as_bytes()).unwrap();
        let keys = TokenKeys::new(TokenSettings {
            signing_keys: vec![key.clone()],
            ..TokenSettings::new(SecretKey::new(KEY).unwrap(), Duration::from_secs(1800))
        });
        let token = keys
            .create_access_token("johndoe", &ScopeSet::tutorial())
            .unwrap();
        group.bench_function(format!("sign/{algorithm}"), |b| {
            b.iter(|| keys.create_access_token(black_box("johndoe"), &ScopeSet::tutorial()))
        });
        let validation = jsonwebtoken::Validation::new(algorithm.jwt());
        group.bench_function(format!("verify/{algorithm}"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(
                    black_box(&token),
                    key.decoding(),
                    &validation,
                )
            })
        });
    }
    group.finish();
}

fn extractor_chain(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let keys = keys();
    let token = keys
        .create_access_token("johndoe", &ScopeSet::tutorial())
        .unwrap();
    let app = runtime.block_on(async {
        router(AppState::new(
            InMemoryUserStore::demo(),
            keys,
            HashPool::new(1, 1).unwrap(),
        ))
    });
    let authorization = format!("Bearer {token}");
    let call = |path: &'static str, authorization: Option<String>| {
        let app = app.clone();
        async move {
            let mut request = Request::get(path);
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let response = app
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert!(response.status().is_success());
            response
        }
    };
    c.bench_function("router/health", |b| {
        b.to_async(&runtime).iter(|| call("/health", None))
    });
    c.bench_function(
        "router/users_me (bearer → current user → active user)",
        |b| {
            b.to_async(&runtime)
                .iter(|| call("/users/me/", Some(authorization.clone())))
        },
    );
}

fn passwords(c: &mut Criterion) {
    let hash = hash_password("secret");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("verify (argon2id m=64MiB t=3 p=4)", |b| {
        b.iter(|| verify_password(black_box("secret"), black_box(&hash)))
    });
    group.finish();
}

criterion_group!(benches, tokens, algorithms, extractor_chain, passwords);
criterion_main!(benches);
