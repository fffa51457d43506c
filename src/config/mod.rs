//! Configuration and command line, as data. Every setting is a flag and an environment
//! variable (a `.env` file fills in unset variables); flags win over the environment.
//! The server's settings are grouped by concern ([`ServeArgs`]); `startup` turns them into
//! running parts, reading any file they name.

mod serve;
mod tokens;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::accounts::policy::{PasswordPolicy, PolicyError};
use crate::model::event::{EventType, UnknownEventType};
use crate::model::scopes::{CatalogError, ScopeCatalog};

pub use serve::{
    HashingArgs, HttpArgs, ServeArgs, SessionArgs, StorageArgs, TelemetryArgs, ThrottleArgs,
    TotpArgs,
};
pub use tokens::{KeyError, TokenArgs};

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
    /// Register the apps that sign their users in with passflow (the authorization-code
    /// flow), in the database at DATABASE_URL or, with --file, in a CLIENTS_FILE.
    Clients(ClientsArgs),
    /// Read the security events (the audit trail) in the database at DATABASE_URL.
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first.
    List {
        /// Only this account's events (its name as stored, or as it was typed at a failed
        /// login).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Only events of this type (`login.failed` …); repeat for several.
        #[arg(long = "type", value_name = "TYPE", value_parser = parse_event_type)]
        types: Vec<EventType>,
        /// From this time (RFC 3339, `2026-12-08T09:00:00Z`) or this long ago (`24h`, `7d`).
        #[arg(long, value_name = "TIME|DURATION", value_parser = parse_time)]
        since: Option<i64>,
        /// Before this time, or before this long ago.
        #[arg(long, value_name = "TIME|DURATION", value_parser = parse_time)]
        until: Option<i64>,
        /// At most this many events.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// One JSON object per line, in the stable schema of the README's Audit section.
        #[arg(long)]
        json: bool,
    },
}

fn parse_event_type(name: &str) -> Result<EventType, String> {
    name.parse().map_err(|err: UnknownEventType| {
        let names: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
        format!("{err}; one of {}", names.join(", "))
    })
}

/// A time in milliseconds since the epoch: RFC 3339 (`Z` or no zone: UTC), or a duration
/// before now.
fn parse_time(text: &str) -> Result<i64, String> {
    let at = match humantime::parse_rfc3339_weak(text) {
        Ok(at) => at,
        Err(_) => {
            let ago = humantime::parse_duration(text).map_err(|_| {
                format!("{text:?} is neither an RFC 3339 time nor a duration like 24h")
            })?;
            std::time::SystemTime::now()
                .checked_sub(ago)
                .ok_or_else(|| format!("{text:?} reaches back before the epoch"))?
        }
    };
    let since = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("{text:?} is before 1970"))?;
    i64::try_from(since.as_millis()).map_err(|_| format!("{text:?} is too far ahead"))
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
    /// Where users and sessions live: sqlite:PATH (created if missing) or
    /// postgres://USER@HOST/NAME. Unset: in memory (the demo users, or USERS_FILE); the
    /// `users` and `migrate` commands need it.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

/// Why an operator makes a change: kept with its audit event (ASVS V16.3.3).
#[derive(Debug, Clone, Args)]
pub struct ReasonArg {
    /// Why: recorded with the change in the audit trail, beside your OS user name.
    #[arg(long, global = true, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub scopes: ScopeArgs,
    #[command(flatten)]
    pub reason: ReasonArg,
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

#[derive(Debug, Clone, Args)]
pub struct ClientsArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Work on this clients file (the CLIENTS_FILE format, created if missing) instead of
    /// the database.
    #[arg(long, global = true)]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub scopes: ScopeArgs,
    #[command(flatten)]
    pub reason: ReasonArg,
    #[command(subcommand)]
    pub command: ClientsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its client_id and, for a confidential client, its secret,
    /// which is shown this once.
    Add {
        /// Shown to users on the consent page.
        name: String,
        /// Where users may be sent back: https, or http on 127.0.0.1, [::1] or localhost;
        /// no fragment. Repeat for several.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Where users may be sent after they sign out (OpenID Connect RP-Initiated Logout),
        /// matched exactly; the same rules. Repeat for several.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A client that cannot keep a secret (a single-page or native app): no secret, and
        /// PKCE always.
        #[arg(long)]
        public: bool,
        /// An app of this deployment's own: its users are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// Comma- or space-separated scopes it may ask for (default: any offered).
        #[arg(long)]
        scopes: Option<String>,
        /// Whether its authorization requests must carry a PKCE challenge; `optional` only
        /// for confidential clients.
        #[arg(long, value_parser = ["required", "optional"], default_value = "required")]
        pkce: String,
        /// Registered for the refresh grant: its code exchanges return a refresh token.
        #[arg(long)]
        refresh_token: bool,
    },
    /// List the clients (never a secret).
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a client: its codes and sessions stop working.
    Remove {
        // Ids registered by earlier versions may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

/// The scopes this deployment offers beside the tutorial's, for the server and the `users`
/// commands alike.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Scopes offered beside the tutorial's `me` and `items`, each with the description
    /// Swagger UI shows: `name=description` pairs separated by `;`
    /// (`openid=Sign you in;email=Read your email address`).
    #[arg(long, env = "OFFERED_SCOPES", value_name = "OFFERED_SCOPES")]
    pub offered_scopes: Option<String>,
}

/// An `OFFERED_SCOPES` value that cannot be used; the start (or command) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    #[error("OFFERED_SCOPES: entry {0} is not `name=description`")]
    Shape(usize),
    #[error("OFFERED_SCOPES: {0}")]
    Catalog(#[from] CatalogError),
}

impl ScopeArgs {
    pub fn catalog(&self) -> Result<ScopeCatalog, ScopesError> {
        let Some(value) = &self.offered_scopes else {
            return Ok(ScopeCatalog::default());
        };
        let entries = value
            .split(';')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .enumerate()
            .map(|(index, entry)| {
                let (name, description) =
                    entry.split_once('=').ok_or(ScopesError::Shape(index + 1))?;
                Ok((name.trim(), description))
            })
            .collect::<Result<Vec<_>, ScopesError>>()?;
        Ok(ScopeCatalog::with(entries)?)
    }
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
