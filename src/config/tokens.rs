//! The token settings, and why one cannot be used: each error names the setting it came
//! from, around what the domain says is wrong with the key. The key files themselves are read
//! at start-up (`startup::signing_keys`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::auth::tokens::keys::{Refusal, TokenAlgorithm};
use crate::auth::tokens::{SecretKey, SecretTooShort, TokenSettings};

/// How access tokens are signed and checked, and who may introspect them.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
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

    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(
        long,
        env = "TOKEN_LEEWAY_SECONDS",
        value_name = "TOKEN_LEEWAY_SECONDS",
        default_value_t = 0
    )]
    pub token_leeway_seconds: u64,

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

    /// The PEM RSA private key (at least 2048 bits) that signs OpenID Connect id_tokens
    /// (RS256), never access tokens. Unset: a key is made at each start when a client is
    /// registered; required with PostgreSQL (replicas must share it).
    #[arg(
        long,
        env = "ID_TOKEN_SIGNING_KEY_FILE",
        value_name = "ID_TOKEN_SIGNING_KEY_FILE"
    )]
    pub id_token_signing_key_file: Option<PathBuf>,

    /// Earlier ID_TOKEN_SIGNING_KEY_FILEs, comma-separated: still published in the JWKS so
    /// id_tokens they signed verify, never signing.
    #[arg(
        long,
        env = "PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES",
        value_name = "PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES",
        value_delimiter = ','
    )]
    pub previous_id_token_signing_key_files: Vec<PathBuf>,

    /// When set, tokens carry this `iss` and must carry it to be accepted.
    #[arg(long, env = "TOKEN_ISSUER", value_name = "TOKEN_ISSUER")]
    pub token_issuer: Option<String>,

    /// When set, tokens carry this `aud` and must carry it to be accepted.
    #[arg(long, env = "TOKEN_AUDIENCE", value_name = "TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,

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
}

/// A key setting that cannot be used; passflow refuses to start, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("SECRET_KEY is {0}. Make one with `openssl rand -hex 32` (or `passflow gen-secret`)")]
    Secret(#[from] SecretTooShort),
    #[error("PREVIOUS_SECRET_KEYS: key {position} is {short}")]
    Previous {
        position: usize,
        short: SecretTooShort,
    },
    #[error(
        "SIGNING_KEY_FILE is not set, and TOKEN_ALGORITHM is {0}: name a PEM private key \
         (`passflow keys generate --algorithm {0} > key.pem`)"
    )]
    SigningKeyMissing(TokenAlgorithm),
    #[error(
        "SIGNING_KEY_FILE is set, but TOKEN_ALGORITHM is HS256, which signs with SECRET_KEY: \
         set TOKEN_ALGORITHM to the key's algorithm (EdDSA, ES256 or RS256)"
    )]
    SigningKeyUnused,
    #[error(
        "PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES is set, but ID_TOKEN_SIGNING_KEY_FILE is not: \
         name the key that signs id_tokens now"
    )]
    IdTokenKeyMissing,
    #[error(
        "{setting}: {} is also an access-token key (SIGNING_KEY_FILE or \
         PREVIOUS_SIGNING_KEY_FILES): id_tokens need a key of their own, so that none is ever \
         accepted as an access token (`passflow keys generate --algorithm RS256`)",
        path.display()
    )]
    IdTokenKeyShared {
        setting: &'static str,
        path: PathBuf,
    },
    #[error("{setting}: cannot read {}: {source}", path.display())]
    Unreadable {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{setting}: {} {refusal}", path.display())]
    Refused {
        setting: &'static str,
        path: PathBuf,
        refusal: Refusal,
    },
}

impl TokenArgs {
    /// The token settings with `signing_keys` (read by start-up from the files named here),
    /// and whether the secret was made up because none was configured.
    pub fn settings(
        &self,
        signing_keys: Vec<crate::auth::tokens::keys::SigningKey>,
    ) -> Result<(TokenSettings, bool), KeyError> {
        let (secret, random) = match &self.secret_key {
            Some(key) => (SecretKey::new(key.as_bytes())?, false),
            None => (SecretKey::random(), true),
        };
        let previous = self
            .previous_secret_keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                SecretKey::new(key.trim().as_bytes()).map_err(|short| KeyError::Previous {
                    position: index + 1,
                    short,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
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

    /// The id_token key files to read, each with the setting that names it:
    /// `ID_TOKEN_SIGNING_KEY_FILE` then `PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES`.
    pub fn id_token_key_files(&self) -> Result<Vec<(&'static str, &PathBuf)>, KeyError> {
        match &self.id_token_signing_key_file {
            None if self.previous_id_token_signing_key_files.is_empty() => Ok(Vec::new()),
            None => Err(KeyError::IdTokenKeyMissing),
            Some(current) => {
                let previous = self.previous_id_token_signing_key_files.iter();
                Ok(std::iter::once(("ID_TOKEN_SIGNING_KEY_FILE", current))
                    .chain(previous.map(|path| ("PREVIOUS_ID_TOKEN_SIGNING_KEY_FILES", path)))
                    .collect())
            }
        }
    }

    /// The key files to read, each with the setting that names it: `SIGNING_KEY_FILE` then
    /// `PREVIOUS_SIGNING_KEY_FILES`, checked against `TOKEN_ALGORITHM`; none for HS256.
    pub fn signing_key_files(&self) -> Result<Vec<(&'static str, &PathBuf)>, KeyError> {
        let algorithm = self.token_algorithm;
        match (&self.signing_key_file, algorithm) {
            (None, TokenAlgorithm::Hs256) if self.previous_signing_key_files.is_empty() => {
                Ok(Vec::new())
            }
            (_, TokenAlgorithm::Hs256) => Err(KeyError::SigningKeyUnused),
            (None, _) => Err(KeyError::SigningKeyMissing(algorithm)),
            (Some(current), _) => {
                let previous = self.previous_signing_key_files.iter();
                Ok(std::iter::once(("SIGNING_KEY_FILE", current))
                    .chain(previous.map(|path| ("PREVIOUS_SIGNING_KEY_FILES", path)))
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused_naming_the_variable() {
        let err = KeyError::from(SecretKey::new("x".repeat(31)).unwrap_err());
        let message = err.to_string();
        assert!(message.contains("SECRET_KEY"), "{message}");
        assert!(message.contains("openssl rand -hex 32"), "{message}");
        assert_eq!(
            message,
            "SECRET_KEY is 31 bytes long; it must be at least 32. Make one with \
             `openssl rand -hex 32` (or `passflow gen-secret`)"
        );
    }
}
