//! `passflow serve`'s settings, one group per concern, each a flag and an environment
//! variable; `--help` lists them under the group's heading. Each group turns itself into the
//! settings of the part it configures; nothing here reads a file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::Args;
use ipnet::IpNet;

use super::{DatabaseArgs, PasswordArgs, ScopeArgs, TokenArgs};
use crate::auth::guard::local::ThrottleSettings;
use crate::auth::oauth::code::MAX_CODE_LIFETIME;
use crate::auth::sessions::SessionSettings;
use crate::http::HttpOptions;
use crate::server::ServerOptions;
use crate::state::AdmissionSettings;
use crate::telemetry::LogFormat;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "PORT", value_name = "PORT", default_value_t = 8000)]
    pub port: u16,

    #[command(flatten, next_help_heading = "Storage")]
    pub storage: StorageArgs,

    #[command(flatten, next_help_heading = "Tokens")]
    pub tokens: TokenArgs,

    #[command(flatten, next_help_heading = "Scopes")]
    pub scopes: ScopeArgs,

    #[command(flatten, next_help_heading = "Sessions")]
    pub sessions: SessionArgs,

    #[command(flatten, next_help_heading = "Passwords")]
    pub password: PasswordArgs,

    #[command(flatten, next_help_heading = "Password hashing")]
    pub hashing: HashingArgs,

    #[command(flatten, next_help_heading = "Throttle")]
    pub throttle: ThrottleArgs,

    #[command(flatten, next_help_heading = "TOTP")]
    pub totp: TotpArgs,

    #[command(flatten, next_help_heading = "Sign-in (authorization-code flow)")]
    pub sign_in: SignInArgs,

    #[command(flatten, next_help_heading = "HTTP")]
    pub http: HttpArgs,

    #[command(flatten, next_help_heading = "Telemetry")]
    pub telemetry: TelemetryArgs,
}

/// Where users and sessions live.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Users as JSON, in the tutorial's `fake_users_db` shape; replaces the demo users.
    #[arg(long, env = "USERS_FILE", value_name = "USERS_FILE")]
    pub users_file: Option<PathBuf>,

    /// Registered clients of the authorization-code flow as JSON (written by `passflow
    /// clients --file`), when there is no database. Needs an http(s) TOKEN_ISSUER.
    #[arg(long, env = "CLIENTS_FILE", value_name = "CLIENTS_FILE")]
    pub clients_file: Option<PathBuf>,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Without a database: how many security events the audit trail keeps in memory (the
    /// oldest go first). With one, every event is kept in it.
    #[arg(
        long,
        env = "AUDIT_MEMORY_EVENTS",
        value_name = "AUDIT_MEMORY_EVENTS",
        default_value_t = crate::store::audit::MEMORY_EVENTS as u64,
        value_parser = clap::value_parser!(u64).range(1..=10_000_000)
    )]
    pub audit_memory_events: u64,

    /// Days security events are kept; older ones are deleted (hourly, in batches). 0 keeps
    /// them forever.
    #[arg(
        long,
        env = "AUDIT_RETENTION_DAYS",
        value_name = "AUDIT_RETENTION_DAYS",
        default_value_t = 180,
        value_parser = clap::value_parser!(u32).range(0..=36_500)
    )]
    pub audit_retention_days: u32,
}

/// The threads that hash passwords, and the queue in front of them.
#[derive(Debug, Clone, Args)]
pub struct HashingArgs {
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
}

/// Abuse control: failed-login budgets and what one address may hold.
#[derive(Debug, Clone, Args)]
pub struct ThrottleArgs {
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
}

/// How long sessions live.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
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
}

/// The authorization-code flow's settings.
#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// Seconds an authorization code lives before it must be exchanged (RFC 6749 §4.1.2:
    /// short; at most 600).
    #[arg(long, env = "AUTHORIZATION_CODE_LIFETIME_SECONDS",
        value_name = "AUTHORIZATION_CODE_LIFETIME_SECONDS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=MAX_CODE_LIFETIME))]
    pub authorization_code_lifetime_seconds: u64,
}

/// The TOTP second factor.
#[derive(Debug, Clone, Args)]
pub struct TotpArgs {
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
}

/// HTTP behaviour: proxies, browsers, timeouts.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
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

/// Logs and metrics.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
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

impl HashingArgs {
    /// Threads for the hash pool: `HASH_WORKERS`, or one per CPU.
    pub fn workers(&self) -> usize {
        self.hash_workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        )
    }
}

impl ThrottleArgs {
    pub fn settings(&self) -> ThrottleSettings {
        ThrottleSettings {
            per_user: self.login_failures_per_user,
            per_ip: self.login_attempts_per_ip,
            codes_per_user: self.totp_failures_per_user,
            window: Duration::from_secs(self.login_window_seconds),
        }
    }

    pub fn admission(&self) -> AdmissionSettings {
        AdmissionSettings {
            per_address: usize::from(self.login_concurrency_per_ip),
            ..AdmissionSettings::default()
        }
    }
}

impl SessionArgs {
    pub fn settings(&self) -> SessionSettings {
        SessionSettings {
            idle_timeout: self.session_idle_timeout_seconds,
            max_lifetime: self.session_max_lifetime_seconds,
            reuse_grace: self.refresh_reuse_grace_seconds,
            ..SessionSettings::default()
        }
    }
}

impl ServeArgs {
    pub fn http_options(&self) -> HttpOptions {
        HttpOptions {
            cors_origins: self.http.cors_origins.clone(),
            request_timeout: Duration::from_secs(self.http.request_timeout_seconds),
            metrics: self.telemetry.metrics_addr.is_some(),
        }
    }

    pub fn server_options(&self) -> ServerOptions {
        let connections = self.throttle.connections_per_ip;
        ServerOptions {
            connections_per_ip: usize::try_from(connections).unwrap_or(usize::MAX),
            uncapped: self.http.trusted_proxies.clone(),
            header_read_timeout: Duration::from_secs(self.http.header_read_timeout_seconds),
            ..ServerOptions::default()
        }
    }
}
