//! Configuration and command line, as data. Every setting is a flag and an environment
//! variable (a `.env` file fills in unset variables); flags win over the environment.
//! `startup` turns these values into running parts.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;

use crate::auth::accounts::policy::{PasswordPolicy, PolicyError};
use crate::auth::guard::local::ThrottleSettings;
use crate::auth::sessions::SessionSettings;
use crate::auth::tokens::keys::{SigningKey, TokenAlgorithm};
use crate::auth::tokens::{KeyError, SecretKey, SecretTooShort, TokenSettings};
use crate::http::HttpOptions;
use crate::server::ServerOptions;
use crate::state::AdmissionSettings;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "passflow",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command, passflow serves.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve(Box<ServeArgs>),
    /// Read a password from stdin and print its argon2id hash (the tutorial's
    /// `get_password_hash`), for a users file or a database.
    HashPassword,
    /// Print a fresh 32-byte key as hex, for SECRET_KEY (like `openssl rand -hex 32`).
    GenSecret,
    /// Signing keys for TOKEN_ALGORITHM EdDSA, ES256 or RS256.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Exit 0 when the server at HOST:PORT answers `GET /health` with 200, else 1 (for a
    /// container's HEALTHCHECK; the slim image has no curl).
    Healthcheck(HealthcheckArgs),
    /// Bring the database at DATABASE_URL up to this version's schema (the server also
    /// does this at start).
    Migrate(DatabaseArgs),
    /// Manage the users in the database at DATABASE_URL.
    Users(UsersArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new private key as PKCS#8 PEM on stdout (RSA: 3072 bits), for
    /// SIGNING_KEY_FILE.
    Generate {
        #[arg(long, value_parser = ["EdDSA", "ES256", "RS256"])]
        algorithm: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: sqlite:PATH (created if missing) or postgres://USER@HOST/NAME.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password is read from stdin (unechoed on a terminal).
    Add {
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        full_name: Option<String>,
        /// Comma- or space-separated scopes the user may be granted.
        #[arg(long, default_value = "me,items")]
        scopes: String,
        /// Create the user disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List the users (never their hashes), and whether each has TOTP on.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user and end all their sessions.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a user's password (read from stdin) and end all their sessions.
    SetPassword { name: String },
    /// Set the scopes a user may be granted, comma- or space-separated.
    SetScopes { name: String, scopes: String },
    /// Delete a user and end all their sessions.
    Delete { name: String },
    /// Turn a user's TOTP second factor off (a lost authenticator), with its recovery
    /// codes; their sessions go on.
    TotpReset { name: String },
    /// Exit 0 when the password on stdin meets the policy, else 2 naming the rule it breaks
    /// (for scripts; needs no database).
    CheckPassword {
        /// The user it is meant for: a password containing the username is refused.
        #[arg(long)]
        username: Option<String>,
    },
    /// Import a users file (the USERS_FILE format), all or nothing.
    Import {
        file: PathBuf,
        /// Overwrite users that already exist (ending their sessions) instead of refusing.
        #[arg(long)]
        replace: bool,
    },
}

/// The password policy (ASVS V6.2), for the server and the `users` commands alike.
#[derive(Debug, Clone, Args)]
pub struct PasswordArgs {
    /// Fewest characters (Unicode code points) a new password may have; at least 8.
    #[arg(
        long,
        env = "PASSWORD_MIN_LENGTH",
        value_name = "PASSWORD_MIN_LENGTH",
        default_value_t = 8
    )]
    pub password_min_length: usize,

    /// Most characters a new password may have; at least 64.
    #[arg(
        long,
        env = "PASSWORD_MAX_LENGTH",
        value_name = "PASSWORD_MAX_LENGTH",
        default_value_t = 128
    )]
    pub password_max_length: usize,
}

impl PasswordArgs {
    pub fn policy(&self) -> Result<PasswordPolicy, PolicyError> {
        PasswordPolicy::new(self.password_min_length, self.password_max_length)
    }
}

#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Address the server listens on; 0.0.0.0 and :: are asked on loopback.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port the server listens on.
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "PORT", value_name = "PORT", default_value_t = 8000)]
    pub port: u16,

    /// Key that signs tokens (HS256), at least 32 bytes: `openssl rand -hex 32`. Unset: a
    /// random key per start, so tokens do not survive a restart.
    #[arg(
        long,
        env = "SECRET_KEY",
        value_name = "SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// Earlier SECRET_KEYs, comma-separated: tokens they signed are still accepted, new ones
    /// are signed with SECRET_KEY. Rotate by moving the old key here.
    #[arg(
        long,
        env = "PREVIOUS_SECRET_KEYS",
        value_name = "PREVIOUS_SECRET_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub previous_secret_keys: Vec<String>,

    /// Minutes a token stays valid.
    #[arg(
        long,
        env = "ACCESS_TOKEN_EXPIRE_MINUTES",
        value_name = "ACCESS_TOKEN_EXPIRE_MINUTES",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub access_token_expire_minutes: u32,

    /// Users as JSON, in the tutorial's `fake_users_db` shape; replaces the demo users.
    #[arg(long, env = "USERS_FILE", value_name = "USERS_FILE")]
    pub users_file: Option<PathBuf>,

    /// Where users and sessions live: sqlite:PATH (created if missing) or
    /// postgres://USER@HOST/NAME. Unset: in memory (the demo users, or USERS_FILE).
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Threads that hash passwords [default: one per CPU].
    #[arg(
        long,
        env = "HASH_WORKERS",
        value_name = "HASH_WORKERS",
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub hash_workers: Option<u16>,

    /// Logins allowed to wait for a hashing thread; more are answered 503.
    #[arg(
        long,
        env = "HASH_QUEUE",
        value_name = "HASH_QUEUE",
        default_value_t = 32
    )]
    pub hash_queue: u16,

    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(
        long,
        env = "TOKEN_LEEWAY_SECONDS",
        value_name = "TOKEN_LEEWAY_SECONDS",
        default_value_t = 0
    )]
    pub token_leeway_seconds: u64,

    #[command(flatten)]
    pub password: PasswordArgs,

    /// How access tokens are signed: HS256 (with SECRET_KEY), or EdDSA, ES256 or RS256 with
    /// the private key in SIGNING_KEY_FILE, whose public half `/.well-known/jwks.json`
    /// publishes.
    #[arg(
        long,
        env = "TOKEN_ALGORITHM",
        value_name = "TOKEN_ALGORITHM",
        default_value = "HS256"
    )]
    pub token_algorithm: TokenAlgorithm,

    /// The PEM private key (PKCS#8; for RSA also PKCS#1) that signs tokens when
    /// TOKEN_ALGORITHM is EdDSA, ES256 or RS256.
    #[arg(long, env = "SIGNING_KEY_FILE", value_name = "SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,

    /// Earlier SIGNING_KEY_FILEs, comma-separated: their public keys still verify and are
    /// still published, but never sign. Rotate by moving the old key here.
    #[arg(
        long,
        env = "PREVIOUS_SIGNING_KEY_FILES",
        value_name = "PREVIOUS_SIGNING_KEY_FILES",
        value_delimiter = ','
    )]
    pub previous_signing_key_files: Vec<PathBuf>,

    /// Who may introspect tokens at POST /introspect (RFC 7662): comma-separated
    /// `client_id:secret` pairs, each secret at least 32 characters, sent as HTTP Basic
    /// credentials. Unset: /introspect is not served.
    #[arg(
        long,
        env = "INTROSPECTION_CLIENTS",
        value_name = "INTROSPECTION_CLIENTS",
        hide_env_values = true
    )]
    pub introspection_clients: Option<String>,

    /// When set, tokens carry this `iss` and must carry it to be accepted.
    #[arg(long, env = "TOKEN_ISSUER", value_name = "TOKEN_ISSUER")]
    pub token_issuer: Option<String>,

    /// When set, tokens carry this `aud` and must carry it to be accepted.
    #[arg(long, env = "TOKEN_AUDIENCE", value_name = "TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,

    /// Failed logins allowed per client address and username per window; then 429.
    #[arg(long, env = "LOGIN_FAILURES_PER_USER", value_name = "LOGIN_FAILURES_PER_USER",
        default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_failures_per_user: u32,

    /// Failed logins allowed per client address per window; then 429.
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_IP", value_name = "LOGIN_ATTEMPTS_PER_IP",
        default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts_per_ip: u32,

    /// Wrong TOTP codes (after a right password) allowed per user per window, from all
    /// addresses together; then 429, even for a right code.
    #[arg(long, env = "TOTP_FAILURES_PER_USER", value_name = "TOTP_FAILURES_PER_USER",
        default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub totp_failures_per_user: u32,

    /// The `issuer` authenticator apps show beside a TOTP account.
    #[arg(
        long,
        env = "TOTP_ISSUER",
        value_name = "TOTP_ISSUER",
        default_value = crate::state::DEFAULT_TOTP_ISSUER
    )]
    pub totp_issuer: String,

    /// 32 bytes as 64 hex digits (`passflow gen-secret`) that seal TOTP secrets at rest
    /// (AES-256-GCM). Required once a database holds any; without it and a database, TOTP
    /// enrolment is off. In memory: a random key per start.
    #[arg(
        long,
        env = "TOTP_ENCRYPTION_KEY",
        value_name = "TOTP_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub totp_encryption_key: Option<String>,

    /// The login throttle's window, in seconds.
    #[arg(long, env = "LOGIN_WINDOW_SECONDS", value_name = "LOGIN_WINDOW_SECONDS",
        default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_window_seconds: u64,

    /// Password logins one client address may have in flight (waiting for or running a
    /// hash); more are answered 429. Refresh grants are not counted.
    #[arg(long, env = "LOGIN_CONCURRENCY_PER_IP", value_name = "LOGIN_CONCURRENCY_PER_IP",
        default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub login_concurrency_per_ip: u16,

    /// Connections one client address may hold open; more are closed at once. Trusted
    /// proxies are exempt.
    #[arg(long, env = "CONNECTIONS_PER_IP", value_name = "CONNECTIONS_PER_IP",
        default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections_per_ip: u32,

    /// Seconds a session's refresh token may go unused before the session is over.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT_SECONDS", value_name = "SESSION_IDLE_TIMEOUT_SECONDS",
        default_value_t = 1_209_600, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_timeout_seconds: u64,

    /// Seconds from login after which a session cannot be refreshed, however active.
    #[arg(long, env = "SESSION_MAX_LIFETIME_SECONDS", value_name = "SESSION_MAX_LIFETIME_SECONDS",
        default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_max_lifetime_seconds: u64,

    /// Seconds during which the refresh token a refresh replaced may be presented again
    /// (a retry after a lost response) without ending the session as reuse; 0: never.
    #[arg(
        long,
        env = "REFRESH_REUSE_GRACE_SECONDS",
        value_name = "REFRESH_REUSE_GRACE_SECONDS",
        default_value_t = 0
    )]
    pub refresh_reuse_grace_seconds: u64,

    /// Serve Prometheus metrics at http://METRICS_ADDR/metrics, on a listener of its own
    /// (keep it off the public network); unset: no metrics.
    #[arg(long, env = "METRICS_ADDR", value_name = "METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// `text`, or `json` for one JSON object per line (for log pipelines).
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_name = "LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_name = "TRUSTED_PROXIES",
        value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpNet>,

    /// Browser origins allowed to call the API (CORS), comma-separated; unset: CORS off.
    #[arg(long, env = "CORS_ORIGINS", value_name = "CORS_ORIGINS", value_delimiter = ',',
        value_parser = parse_origin)]
    pub cors_origins: Vec<HeaderValue>,

    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", value_name = "REQUEST_TIMEOUT_SECONDS",
        default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_seconds: u64,

    /// Seconds a client has to send a request's headers (and to start the next request on a
    /// kept-alive connection).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", value_name = "HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_seconds: u64,
}

fn parse_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is not an IP address or CIDR range"))
}

fn parse_origin(value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value.trim()).map_err(|err| format!("{value:?}: {err}"))
}

impl ServeArgs {
    /// The signing settings, and whether the key was made up because none was configured.
    pub fn token_settings(&self) -> Result<(TokenSettings, bool), KeyError> {
        let (secret, random) = match &self.secret_key {
            Some(key) => (SecretKey::new(key.as_bytes())?, false),
            None => (SecretKey::random(), true),
        };
        let previous = self
            .previous_secret_keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                SecretKey::new(key.trim().as_bytes()).map_err(|SecretTooShort(len)| {
                    KeyError::Previous {
                        position: index + 1,
                        len,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signing_keys = self.signing_keys()?;
        let lifetime = Duration::from_secs(u64::from(self.access_token_expire_minutes) * 60);
        let settings = TokenSettings {
            leeway: self.token_leeway_seconds,
            issuer: self.token_issuer.clone(),
            audience: self.token_audience.clone(),
            previous,
            // After a switch from HS256, the old tokens verify only while SECRET_KEY is set.
            accept_hs256: !random,
            signing_keys,
            ..TokenSettings::new(secret, lifetime)
        };
        Ok((settings, random))
    }

    /// `SIGNING_KEY_FILE` then `PREVIOUS_SIGNING_KEY_FILES`, read and checked against
    /// `TOKEN_ALGORITHM`; empty for HS256.
    fn signing_keys(&self) -> Result<Vec<SigningKey>, KeyError> {
        let algorithm = self.token_algorithm;
        match (&self.signing_key_file, algorithm) {
            (None, TokenAlgorithm::Hs256) if self.previous_signing_key_files.is_empty() => {
                Ok(Vec::new())
            }
            (_, TokenAlgorithm::Hs256) => Err(KeyError::SigningKeyUnused),
            (None, _) => Err(KeyError::SigningKeyMissing(algorithm)),
            (Some(current), _) => {
                let mut keys = vec![SigningKey::from_file(
                    algorithm,
                    current,
                    "SIGNING_KEY_FILE",
                )?];
                for path in &self.previous_signing_key_files {
                    keys.push(SigningKey::from_file(
                        algorithm,
                        path,
                        "PREVIOUS_SIGNING_KEY_FILES",
                    )?);
                }
                Ok(keys)
            }
        }
    }

    /// Threads for the hash pool: `HASH_WORKERS`, or one per CPU.
    pub fn hash_workers(&self) -> usize {
        self.hash_workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        )
    }

    pub fn throttle_settings(&self) -> ThrottleSettings {
        ThrottleSettings {
            per_user: self.login_failures_per_user,
            per_ip: self.login_attempts_per_ip,
            codes_per_user: self.totp_failures_per_user,
            window: Duration::from_secs(self.login_window_seconds),
        }
    }

    pub fn session_settings(&self) -> SessionSettings {
        SessionSettings {
            idle_timeout: self.session_idle_timeout_seconds,
            max_lifetime: self.session_max_lifetime_seconds,
            reuse_grace: self.refresh_reuse_grace_seconds,
            ..SessionSettings::default()
        }
    }

    pub fn admission_settings(&self) -> AdmissionSettings {
        AdmissionSettings {
            per_address: usize::from(self.login_concurrency_per_ip),
            ..AdmissionSettings::default()
        }
    }

    pub fn http_options(&self) -> HttpOptions {
        HttpOptions {
            cors_origins: self.cors_origins.clone(),
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
            metrics: self.metrics_addr.is_some(),
        }
    }

    pub fn server_options(&self) -> ServerOptions {
        ServerOptions {
            connections_per_ip: usize::try_from(self.connections_per_ip).unwrap_or(usize::MAX),
            uncapped: self.trusted_proxies.clone(),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            ..ServerOptions::default()
        }
    }
}
