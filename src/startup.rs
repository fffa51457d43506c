//! The composition root: configuration in, a serving application out. Every long-lived part
//! (stores, keys, hash pool, throttle, sessions) is built here and nowhere else.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::auth::hash_pool::HashPool;
use crate::auth::token::{SecretTooShort, TokenKeys};
use crate::config::ServeArgs;
use crate::state::AppState;
use crate::store::{InMemorySessionStore, InMemoryUserStore, UsersFileError};

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
        .with_trusted_proxies(args.trusted_proxies.iter().copied())
        .with_sessions(
            Arc::new(InMemorySessionStore::default()),
            args.session_settings(),
        ))
}

/// How often ended sessions and stale revocations are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Keeps session memory bounded: sessions past their deadlines and revocations no token
/// can match any more are dropped every [`PRUNE_EVERY`].
fn spawn_pruning(state: &AppState) {
    let sessions = Arc::clone(&state.sessions);
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            if let Err(err) = sessions.prune(clock.now()).await {
                tracing::warn!(%err, "pruning sessions failed");
            }
        }
    });
}

/// Binds `HOST:PORT` and serves `state` until `shutdown` resolves, then drains.
pub async fn run(
    args: &ServeArgs,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    spawn_pruning(&state);
    let app = crate::http::router_with(state, &args.http_options());
    crate::server::serve(listener, app, args.server_options(), shutdown).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
