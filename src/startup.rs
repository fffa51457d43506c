//! The composition root: configuration in, a serving application out. Every long-lived part
//! (store, keys, hash pool, throttle) is built here and nowhere else.

use std::future::Future;

use tokio::net::TcpListener;

use crate::auth::hash_pool::HashPool;
use crate::auth::token::{SecretTooShort, TokenKeys};
use crate::config::ServeArgs;
use crate::state::AppState;
use crate::store::{InMemoryUserStore, UsersFileError};

/// A setting that parses but cannot be used; passflow refuses to start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    SecretKey(#[from] SecretTooShort),
    #[error(transparent)]
    UsersFile(#[from] UsersFileError),
    #[error("HASH_WORKERS: cannot start the hashing threads")]
    HashPool(#[source] std::io::Error),
}

/// Everything the router needs, built once: keys, users, the hash pool and the throttle.
pub fn build_state(args: &ServeArgs) -> Result<AppState, StartupError> {
    let (settings, random_key) = args.token_settings()?;
    if random_key {
        tracing::warn!(
            "SECRET_KEY is not set: signing with a random key made at start-up; tokens \
             will not survive a restart. Set SECRET_KEY (`openssl rand -hex 32`)."
        );
    }
    let users = match &args.users_file {
        Some(path) => InMemoryUserStore::from_json_file(path)?,
        None => InMemoryUserStore::demo(),
    };
    let hasher = HashPool::new(args.hash_workers(), usize::from(args.hash_queue))
        .map_err(StartupError::HashPool)?;
    Ok(AppState::new(users, TokenKeys::new(settings), hasher)
        .with_throttle(args.throttle_settings())
        .with_admission(args.admission_settings())
        .with_trusted_proxies(args.trusted_proxies.iter().copied()))
}

/// Binds `HOST:PORT` and serves `state` until `shutdown` resolves, then drains.
pub async fn run(
    args: &ServeArgs,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let app = crate::http::router_with(state, &args.http_options());
    crate::server::serve(listener, app, args.server_options(), shutdown).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
