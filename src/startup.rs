//! The composition root: configuration in, a serving application out. Every long-lived part
//! (stores, keys, hash pool, throttle, sessions) is built here and nowhere else.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::auth::accounts::policy::PolicyError;
use crate::auth::accounts::users_file::UsersFileError;
use crate::auth::accounts::users_file::read_users_file;
use crate::auth::audit::spawn_retention;
use crate::auth::credentials::hash_pool::HashPool;
use crate::auth::credentials::totp::SecondFactor;
use crate::auth::credentials::totp::sealing::{BadKey, SecretCipher};
use crate::auth::oauth::introspection::{ClientsError, IntrospectionClients};
use crate::auth::oauth::metadata::{ServerMetadata, issuer_url};
use crate::auth::sessions::spawn_upkeep;
use crate::auth::tokens::TokenKeys;
use crate::auth::tokens::id_token::IdTokens;
use crate::auth::tokens::keys::{SigningKey, TokenAlgorithm, generate};
use crate::config::{KeyError, ScopesError, ServeArgs, TokenArgs};
use crate::model::username::look_alikes_warning;
use crate::state::AppState;
use crate::store::audit::InMemoryAuditStore;
use crate::store::clients::{ClientStore, ClientsFile, ClientsFileError, InMemoryClientStore};
use crate::store::sql::{Database, OpenError, is_postgres};
use crate::store::{
    InMemorySessionStore, InMemoryTotpStore, InMemoryUserStore, StoreError, UserStore,
};

/// A setting that parses but cannot be used; passflow refuses to start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    SecretKey(#[from] KeyError),
    #[error(
        "SECRET_KEY is not set, and DATABASE_URL is PostgreSQL: servers sharing a database \
         must share SECRET_KEY, or what one server makes fails on the others (HS256 tokens, \
         the login page's tickets, the tags that tell a spent refresh token from a forged \
         one). Set SECRET_KEY (`openssl rand -hex 32`) on every one"
    )]
    SharedKeyMissing,
    #[error(transparent)]
    UsersFile(#[from] UsersFileError),
    #[error("HASH_WORKERS: cannot start the hashing threads")]
    HashPool(#[source] std::io::Error),
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error("DATABASE_URL: the database cannot be read: {0}")]
    DatabaseRead(#[source] StoreError),
    #[error(
        "USERS_FILE and DATABASE_URL are both set: a database holds its own users; load the \
         file into it once with `passflow users import FILE` and unset USERS_FILE"
    )]
    UsersFileWithDatabase,
    #[error(transparent)]
    IntrospectionClients(#[from] ClientsError),
    #[error("CLIENTS_FILE {0}")]
    ClientsFile(#[from] ClientsFileError),
    #[error(
        "CLIENTS_FILE {path}: client {client:?} may ask for {scope:?}, which is not offered (OFFERED_SCOPES)"
    )]
    ClientScope {
        path: String,
        client: String,
        scope: String,
    },
    #[error(
        "CLIENTS_FILE and DATABASE_URL are both set: a database holds its own clients; \
         register them there with `passflow clients add` and unset CLIENTS_FILE"
    )]
    ClientsFileWithDatabase,
    #[error(
        "TOKEN_ISSUER must be this server's http(s) URL (RFC 8414 §2) when clients are \
         registered: it is the `iss` of every authorization answer (RFC 9207){0}"
    )]
    IssuerRequired(String),
    #[error(transparent)]
    PasswordPolicy(#[from] PolicyError),
    #[error(transparent)]
    Scopes(#[from] ScopesError),
    #[error(transparent)]
    TotpKey(#[from] BadKey),
    #[error(
        "TOTP_ENCRYPTION_KEY is not set, and the database holds TOTP secrets: set the key \
         they were sealed with"
    )]
    TotpKeyMissing,
    #[error(
        "TOTP_ENCRYPTION_KEY does not open the TOTP secrets in the database: it is not the \
         key they were sealed with"
    )]
    TotpKeyWrong,
    #[error(
        "ID_TOKEN_SIGNING_KEY_FILE is not set, DATABASE_URL is PostgreSQL and clients are \
         registered: replicas must sign id_tokens with one key, or a client that fetched the \
         JWKS from one refuses the id_tokens of another. Name a PEM RSA key on every one \
         (`passflow keys generate --algorithm RS256 > id-token.pem`)"
    )]
    IdTokenKeyRequired,
    #[error("ID_TOKEN_SIGNING_KEY_FILE is not set, and no RSA key could be made in its place")]
    IdTokenKeyUnmade,
    #[error("METRICS_ADDR: cannot serve metrics there")]
    Metrics(#[source] metrics_exporter_prometheus::BuildError),
}

/// Starts the metrics listener when `METRICS_ADDR` is set; needs a Tokio runtime.
pub fn install_metrics(args: &ServeArgs) -> Result<(), StartupError> {
    match args.telemetry.metrics_addr {
        Some(addr) => crate::metrics::install(addr).map_err(StartupError::Metrics),
        None => Ok(()),
    }
}

/// Everything the router needs, built once: keys, stores, the hash pool and the throttle.
pub async fn build_state(args: &ServeArgs) -> Result<AppState, StartupError> {
    // Checked first: a policy setting that would be refused must not wait for a database.
    let policy = args.password.policy()?;
    let offered = args.scopes.catalog()?;
    let totp_key = args
        .totp
        .totp_encryption_key
        .as_deref()
        .map(SecretCipher::from_hex)
        .transpose()?;
    let signing_keys = signing_keys(&args.tokens)?;
    let id_token_keys = id_token_keys(&args.tokens, &signing_keys)?;
    let (settings, random_key) = args.tokens.settings(signing_keys)?;
    if random_key
        && args
            .storage
            .database
            .database_url
            .as_deref()
            .is_some_and(is_postgres)
    {
        return Err(StartupError::SharedKeyMissing);
    }
    if let Some(key) = settings.signing_keys.first() {
        tracing::info!(
            algorithm = ?key.algorithm(),
            kid = key.kid(),
            previous = settings.signing_keys.len() - 1,
            hs256_accepted = settings.accept_hs256,
            "signing tokens with SIGNING_KEY_FILE"
        );
    } else if random_key {
        tracing::warn!(
            "SECRET_KEY is not set: signing with a random key made at start-up; tokens \
             will not survive a restart. Set SECRET_KEY (`openssl rand -hex 32`)."
        );
    }
    let hasher = HashPool::new(args.hashing.workers(), usize::from(args.hashing.hash_queue))
        .map_err(StartupError::HashPool)?;
    if args.storage.clients_file.is_some() && args.storage.database.database_url.is_some() {
        return Err(StartupError::ClientsFileWithDatabase);
    }
    let state = match &args.storage.database.database_url {
        None => {
            let clients = match &args.storage.clients_file {
                Some(path) => clients_file(path, &offered)?,
                None => InMemoryClientStore::default(),
            };
            let users = match &args.storage.users_file {
                Some(path) => {
                    InMemoryUserStore::new(read_users_file(path, "USERS_FILE", &offered)?)
                }
                None => InMemoryUserStore::demo(),
            };
            let cipher = totp_key.unwrap_or_else(SecretCipher::random);
            let totp = SecondFactor::new(
                Arc::new(InMemoryTotpStore::default()),
                Some(cipher),
                &args.totp.totp_issuer,
            );
            let ring = usize::try_from(args.storage.audit_memory_events).unwrap_or(usize::MAX);
            let trail = Arc::new(InMemoryAuditStore::new(ring));
            AppState::new(users, TokenKeys::new(settings), hasher)
                .with_sessions(
                    Arc::new(InMemorySessionStore::with_audit(Arc::clone(&trail))),
                    args.sessions.settings(),
                )
                .with_totp(totp)
                .with_clients(Arc::new(clients))
                .with_audit(trail)
        }
        Some(_) if args.storage.users_file.is_some() => {
            return Err(StartupError::UsersFileWithDatabase);
        }
        Some(url) => {
            let database = Arc::new(Database::open(url).await?);
            let users = database
                .count_users()
                .await
                .map_err(StartupError::DatabaseRead)?;
            for names in database.confusable_names() {
                tracing::warn!("{}", look_alikes_warning(names));
            }
            if users == 0 {
                tracing::warn!(
                    "the database has no users: nobody can log in. Add one with \
                     `passflow users add NAME` (same DATABASE_URL)"
                );
            }
            let cipher = totp_cipher(&database, totp_key).await?;
            let totp =
                SecondFactor::new(Arc::clone(&database) as _, cipher, &args.totp.totp_issuer);
            let mut state = AppState::new(
                InMemoryUserStore::default(),
                TokenKeys::new(settings),
                hasher,
            )
            .with_users(Arc::clone(&database) as Arc<dyn UserStore>)
            .with_sessions(Arc::clone(&database) as _, args.sessions.settings())
            .with_totp(totp)
            .with_clients(Arc::clone(&database) as Arc<dyn ClientStore>)
            .with_consents(Arc::clone(&database) as _)
            .with_audit(Arc::clone(&database) as _);
            if is_postgres(url) {
                // Replicas share one failed-login budget (SQLite serves one server).
                state = state.with_shared_throttle(database, args.throttle.settings());
            }
            // Ends logged before this process started must be known before it serves.
            state
                .auth
                .sessions
                .sync()
                .await
                .map_err(StartupError::DatabaseRead)?;
            state
        }
    };
    let signs_in = state
        .auth
        .clients
        .any()
        .await
        .map_err(StartupError::DatabaseRead)?;
    if signs_in {
        match args.tokens.token_issuer.as_deref().map(issuer_url) {
            Some(Ok(url)) if url.scheme() == "http" => tracing::warn!(
                "TOKEN_ISSUER is plain http: the login page and its cookies work without TLS \
                 (no Secure, no __Host- prefix). Fine on localhost for development; anywhere \
                 else, serve passflow behind https and set an https TOKEN_ISSUER"
            ),
            Some(Ok(_)) => {}
            Some(Err(reason)) => {
                return Err(StartupError::IssuerRequired(format!(" ({reason})")));
            }
            None => return Err(StartupError::IssuerRequired(", and it is not set".into())),
        }
    }
    let introspection = args
        .tokens
        .introspection_clients
        .as_deref()
        .map(IntrospectionClients::parse)
        .transpose()?;
    let introspects = introspection.is_some();
    let state = match introspection {
        Some(clients) => state.with_introspection(clients),
        None => state,
    };
    let postgres = args
        .storage
        .database
        .database_url
        .as_deref()
        .is_some_and(is_postgres);
    let state = match args
        .tokens
        .token_issuer
        .as_deref()
        .map(|issuer| (issuer, issuer_url(issuer)))
    {
        Some((issuer, Ok(_))) => {
            let lifetime = state.auth.tokens.lifetime();
            let mut state = state.with_scopes(offered.clone());
            if let Some(keys) = id_tokens(id_token_keys, signs_in, postgres)? {
                state = state.with_id_tokens(IdTokens::new(keys, issuer, lifetime));
            }
            let metadata = ServerMetadata::new(issuer, introspects).offering(&state.auth.scopes);
            state.with_metadata(metadata)
        }
        Some((issuer, Err(reason))) => {
            tracing::warn!(
                "TOKEN_ISSUER {issuer:?} is not an RFC 8414 issuer URL ({reason}): tokens carry \
                 it as `iss`, but /.well-known/oauth-authorization-server is not served"
            );
            state.with_scopes(offered)
        }
        None => state.with_scopes(offered),
    };
    Ok(state
        .with_password_policy(policy)
        .with_throttle(args.throttle.settings())
        .with_admission(args.throttle.admission())
        .with_code_lifetime(args.sign_in.authorization_code_lifetime_seconds)
        .with_trusted_proxies(args.http.trusted_proxies.iter().copied()))
}

/// The id_token keys (`ID_TOKEN_SIGNING_KEY_FILE`, then the previous ones): RS256, and none
/// of them an access-token key, so that no id_token is ever accepted as an access token.
fn id_token_keys(
    args: &TokenArgs,
    access_keys: &[SigningKey],
) -> Result<Vec<SigningKey>, KeyError> {
    let mut keys = Vec::new();
    for (setting, path) in args.id_token_key_files()? {
        let key = read_key(setting, path, TokenAlgorithm::Rs256)?;
        if access_keys.iter().any(|access| access.kid() == key.kid()) {
            return Err(KeyError::IdTokenKeyShared {
                setting,
                path: path.clone(),
            });
        }
        keys.push(key);
    }
    Ok(keys)
}

/// What signs id_tokens, once the issuer is a URL: the configured keys; else, with a client
/// registered, a key made now (one process, so one key), except on PostgreSQL, whose
/// replicas must share one. `None`: OpenID Connect stays off.
fn id_tokens(
    configured: Vec<SigningKey>,
    signs_in: bool,
    postgres: bool,
) -> Result<Option<Vec<SigningKey>>, StartupError> {
    if !configured.is_empty() {
        tracing::info!(
            kid = configured[0].kid(),
            "signing id_tokens with ID_TOKEN_SIGNING_KEY_FILE"
        );
        return Ok(Some(configured));
    }
    if !signs_in {
        return Ok(None);
    }
    if postgres {
        return Err(StartupError::IdTokenKeyRequired);
    }
    let made = generate(TokenAlgorithm::Rs256)
        .and_then(|pem| SigningKey::from_pem(TokenAlgorithm::Rs256, pem.as_bytes()).ok())
        .ok_or(StartupError::IdTokenKeyUnmade)?;
    tracing::warn!(
        kid = made.kid(),
        "ID_TOKEN_SIGNING_KEY_FILE is not set: signing id_tokens with an RSA key made at \
         start-up; clients that cached the JWKS refuse them after a restart. Set \
         ID_TOKEN_SIGNING_KEY_FILE (`passflow keys generate --algorithm RS256`)"
    );
    Ok(Some(vec![made]))
}

/// `CLIENTS_FILE`, read whole: every client well-formed and allowed only offered scopes.
fn clients_file(
    path: &std::path::Path,
    offered: &crate::model::scopes::ScopeCatalog,
) -> Result<InMemoryClientStore, StartupError> {
    let clients = ClientsFile::new(path).read()?;
    for client in &clients {
        let unknown = client
            .scopes
            .as_ref()
            .and_then(|scopes| offered.first_unknown(scopes));
        if let Some(scope) = unknown {
            return Err(StartupError::ClientScope {
                path: path.display().to_string(),
                client: client.id.clone(),
                scope: scope.to_string(),
            });
        }
    }
    Ok(InMemoryClientStore::new(clients))
}

/// The key a database's TOTP secrets are sealed with: required, and proven on one stored
/// secret, once it holds any. Without secrets or a key, enrolment is off: never a secret
/// stored in the clear.
async fn totp_cipher(
    database: &Database,
    key: Option<SecretCipher>,
) -> Result<Option<SecretCipher>, StartupError> {
    let stored = database
        .any_totp_secret()
        .await
        .map_err(StartupError::DatabaseRead)?;
    match (stored, key) {
        (Some(_), None) => Err(StartupError::TotpKeyMissing),
        (Some((username, sealed)), Some(cipher)) => match cipher.open(&username, &sealed) {
            Ok(_) => Ok(Some(cipher)),
            Err(_) => Err(StartupError::TotpKeyWrong),
        },
        (None, None) => {
            tracing::warn!(
                "TOTP_ENCRYPTION_KEY is not set: TOTP enrolment is off (POST /users/me/totp \
                 answers 404). Set it (`passflow gen-secret`) to offer a second factor"
            );
            Ok(None)
        }
        (None, key) => Ok(key),
    }
}

/// Reads the signing key files the settings name (`SIGNING_KEY_FILE`, then
/// `PREVIOUS_SIGNING_KEY_FILES`); a file that cannot be read or holds the wrong key refuses
/// the start, naming the setting and the file.
fn signing_keys(args: &TokenArgs) -> Result<Vec<SigningKey>, KeyError> {
    args.signing_key_files()?
        .into_iter()
        .map(|(setting, path)| read_key(setting, path, args.token_algorithm))
        .collect()
}

/// The PEM key at `path`, named by `setting`, for `algorithm`.
fn read_key(
    setting: &'static str,
    path: &std::path::PathBuf,
    algorithm: TokenAlgorithm,
) -> Result<SigningKey, KeyError> {
    let text = std::fs::read(path).map_err(|source| KeyError::Unreadable {
        setting,
        path: path.clone(),
        source,
    })?;
    SigningKey::from_pem(algorithm, &text).map_err(|refusal| KeyError::Refused {
        setting,
        path: path.clone(),
        refusal,
    })
}

/// Binds `HOST:PORT` and serves `state` until `shutdown` resolves, then drains.
pub async fn run(
    args: &ServeArgs,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    spawn_upkeep(Arc::clone(&state.auth.sessions), state.auth.clock.clone());
    let retention = args.storage.audit_retention_days;
    spawn_retention(
        state.auth.audit.clone(),
        retention,
        state.auth.clock.clone(),
    );
    let app = crate::http::router_with(state, &args.http_options());
    crate::server::serve(listener, app, args.server_options(), shutdown).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
