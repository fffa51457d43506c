//! Registered clients and where they live: a database's `clients` table, or `CLIENTS_FILE`
//! (JSON, held in memory by the server, rewritten whole by `passflow clients --file`).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::admin::EndSessions;
use crate::model::client::{Client, PkcePolicy, RedirectUri};
use crate::model::event::Event;
use crate::model::scopes::ScopeSet;

/// Where the server looks clients up.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError>;

    /// Whether any client is registered: without one, the sign-in endpoints are not served.
    async fn any(&self) -> Result<bool, StoreError>;
}

/// What the operator's `passflow clients` commands change.
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    /// Adds a client; its id is fresh (random), so it never replaces one. `event` is kept
    /// with it.
    async fn add(&self, client: Client, event: &Event) -> Result<(), StoreError>;
    /// Every client, by name then id.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
    /// The client removed, if it was registered: its codes go and its sessions end with
    /// `end`; `event` is kept only if there was one to remove.
    async fn remove(
        &self,
        id: &str,
        end: &EndSessions,
        event: &Event,
    ) -> Result<Option<Client>, StoreError>;
    /// Replaces a confidential client's secret digest; `false` if no such client (and
    /// `event` is not kept).
    async fn set_secret(
        &self,
        id: &str,
        secret_sha256: [u8; 32],
        event: &Event,
    ) -> Result<bool, StoreError>;
}

/// Clients held in a map: those of `CLIENTS_FILE`, read at start.
#[derive(Debug, Default)]
pub struct InMemoryClientStore {
    clients: HashMap<String, Arc<Client>>,
}

impl InMemoryClientStore {
    pub fn new(clients: impl IntoIterator<Item = Client>) -> Self {
        Self {
            clients: clients
                .into_iter()
                .map(|client| (client.id.clone(), Arc::new(client)))
                .collect(),
        }
    }
}

#[async_trait]
impl ClientStore for InMemoryClientStore {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.clients.get(id).cloned())
    }

    async fn any(&self) -> Result<bool, StoreError> {
        Ok(!self.clients.is_empty())
    }
}

/// One client as `CLIENTS_FILE` holds it. The secret is there only as its SHA-256, in hex:
/// the file can be read by anyone who may read the configuration without giving away a
/// secret.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_sha256: Option<String>,
    #[serde(default)]
    first_party: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<ScopeSet>,
    #[serde(default = "required")]
    pkce: String,
    #[serde(default)]
    refresh_token: bool,
}

fn required() -> String {
    PkcePolicy::Required.as_str().to_owned()
}

impl From<&Client> for FileEntry {
    fn from(client: &Client) -> Self {
        Self {
            client_id: client.id.clone(),
            name: client.name.clone(),
            redirect_uris: client
                .redirect_uris
                .iter()
                .map(|uri| uri.as_str().to_owned())
                .collect(),
            post_logout_redirect_uris: client
                .post_logout_redirect_uris
                .iter()
                .map(|uri| uri.as_str().to_owned())
                .collect(),
            secret_sha256: client.secret_sha256.map(hex::encode),
            first_party: client.first_party,
            scopes: client.scopes.clone(),
            pkce: client.pkce.as_str().to_owned(),
            refresh_token: client.refresh,
        }
    }
}

impl FileEntry {
    fn into_client(self) -> Result<Client, String> {
        let redirect_uris = self
            .redirect_uris
            .iter()
            .map(|uri| RedirectUri::parse(uri).map_err(|err| err.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        if redirect_uris.is_empty() {
            return Err("no redirect_uris".into());
        }
        let post_logout_redirect_uris = self
            .post_logout_redirect_uris
            .iter()
            .map(|uri| RedirectUri::parse(uri).map_err(|err| err.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        // Ids are what `passflow clients add` makes: base64url. Anything else could collide
        // with the login page's own sessions (`passflow:login-page`).
        let base64url = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_');
        if self.client_id.is_empty() || !self.client_id.bytes().all(base64url) {
            return Err("client_id must be base64url (letters, digits, - and _)".into());
        }
        let secret_sha256 = match &self.secret_sha256 {
            None => None,
            Some(digest) => Some(
                hex::decode(digest)
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or("secret_sha256 is not 64 hex digits")?,
            ),
        };
        let pkce = PkcePolicy::parse(&self.pkce).ok_or_else(|| {
            format!(
                "pkce is {:?}; it must be \"required\" or \"optional\"",
                self.pkce
            )
        })?;
        if secret_sha256.is_none() && pkce == PkcePolicy::Optional {
            return Err("a public client (no secret_sha256) must use PKCE".into());
        }
        Ok(Client {
            id: self.client_id,
            name: self.name,
            redirect_uris,
            post_logout_redirect_uris,
            secret_sha256,
            first_party: self.first_party,
            scopes: self.scopes,
            pkce,
            refresh: self.refresh_token,
        })
    }
}

/// Why `CLIENTS_FILE` (or `--file`) cannot be used. Names the file and, where it can, the
/// client.
#[derive(Debug, thiserror::Error)]
pub enum ClientsFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a JSON array of clients: {source}")]
    Shape {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: client {client:?}: {problem}")]
    Client {
        path: PathBuf,
        client: String,
        problem: String,
    },
}

/// `CLIENTS_FILE`: a JSON array of clients.
#[derive(Debug, Clone)]
pub struct ClientsFile {
    path: PathBuf,
}

impl ClientsFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every client in the file, refused whole if one is malformed or an id repeats. A file
    /// that does not exist holds no clients (the commands create it).
    pub fn read(&self) -> Result<Vec<Client>, ClientsFileError> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.io(source)),
        };
        let entries: Vec<FileEntry> =
            serde_json::from_slice(&text).map_err(|source| ClientsFileError::Shape {
                path: self.path.clone(),
                source,
            })?;
        let mut clients: Vec<Client> = Vec::with_capacity(entries.len());
        for entry in entries {
            let client = entry.client_id.clone();
            let refuse = |problem: String| ClientsFileError::Client {
                path: self.path.clone(),
                client: client.clone(),
                problem,
            };
            if clients.iter().any(|known| known.id == client) {
                return Err(refuse("listed twice".into()));
            }
            clients.push(entry.into_client().map_err(refuse)?);
        }
        Ok(clients)
    }

    /// Replaces the file by a complete new one (written beside it, then renamed), so a
    /// server reading it never sees half a file.
    fn write(&self, clients: &[Client]) -> Result<(), ClientsFileError> {
        let entries: Vec<FileEntry> = clients.iter().map(FileEntry::from).collect();
        let mut text =
            serde_json::to_vec_pretty(&entries).map_err(|source| ClientsFileError::Shape {
                path: self.path.clone(),
                source,
            })?;
        text.push(b'\n');
        let mut partial = self.path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut file = std::fs::File::create(&partial).map_err(|err| self.io(err))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|err| self.io(err))?;
        std::fs::rename(&partial, &self.path).map_err(|err| self.io(err))
    }

    fn io(&self, source: std::io::Error) -> ClientsFileError {
        ClientsFileError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn change<T>(&self, edit: impl FnOnce(&mut Vec<Client>) -> T) -> Result<T, ClientsFileError> {
        let mut clients = self.read()?;
        let outcome = edit(&mut clients);
        self.write(&clients)?;
        Ok(outcome)
    }
}

fn unavailable(err: ClientsFileError) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

#[async_trait]
impl ClientRegistry for ClientsFile {
    // A clients file is configuration: it keeps no trail (no events) and holds no sessions.
    // Its history is the version control it is kept in.
    async fn add(&self, client: Client, _: &Event) -> Result<(), StoreError> {
        self.change(|clients| clients.push(client))
            .map_err(unavailable)
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut clients = self.read().map_err(unavailable)?;
        clients.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(clients)
    }

    async fn remove(
        &self,
        id: &str,
        _: &EndSessions,
        _: &Event,
    ) -> Result<Option<Client>, StoreError> {
        self.change(|clients| {
            let index = clients.iter().position(|client| client.id == id)?;
            Some(clients.remove(index))
        })
        .map_err(unavailable)
    }

    async fn set_secret(
        &self,
        id: &str,
        secret_sha256: [u8; 32],
        _: &Event,
    ) -> Result<bool, StoreError> {
        self.change(|clients| match clients.iter_mut().find(|c| c.id == id) {
            Some(client) => {
                client.secret_sha256 = Some(secret_sha256);
                true
            }
            None => false,
        })
        .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, public: bool) -> Client {
        Client {
            id: id.into(),
            name: format!("App {id}"),
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            post_logout_redirect_uris: Vec::new(),
            secret_sha256: (!public).then_some([7; 32]),
            first_party: false,
            scopes: Some(ScopeSet::tutorial()),
            pkce: PkcePolicy::Required,
            refresh: true,
        }
    }

    #[tokio::test]
    async fn the_file_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = ClientsFile::new(dir.path().join("clients.json"));
        let context = crate::model::event::RequestContext::operator(None);
        let event = |kind| context.event(kind, crate::model::event::Outcome::Success, 0);
        use crate::model::event::EventType::{ClientCreated, ClientRemoved, SessionEnded};
        let end = EndSessions {
            at: 0,
            ended: event(SessionEnded),
        };
        assert_eq!(file.list().await.unwrap(), Vec::new());
        file.add(client("a", false), &event(ClientCreated))
            .await
            .unwrap();
        file.add(client("b", true), &event(ClientCreated))
            .await
            .unwrap();
        assert_eq!(
            file.list().await.unwrap(),
            vec![client("a", false), client("b", true)]
        );
        let rotated = event(crate::model::event::EventType::ClientSecretRotated);
        assert!(file.set_secret("b", [9; 32], &rotated).await.unwrap());
        assert!(!file.set_secret("zz", [9; 32], &rotated).await.unwrap());
        let removed = event(ClientRemoved);
        assert_eq!(
            file.remove("a", &end, &removed).await.unwrap(),
            Some(client("a", false))
        );
        assert_eq!(file.remove("a", &end, &removed).await.unwrap(), None);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains(&hex::encode([9u8; 32])), "{text}");
    }

    #[test]
    fn a_bad_entry_refuses_the_file_naming_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clients.json");
        for (json, problem) in [
            (
                r#"[{"client_id":"x","name":"X","redirect_uris":["http://app.example/cb"]}]"#,
                "client \"x\": redirect URI \"http://app.example/cb\" is neither https",
            ),
            (
                r#"[{"client_id":"x","name":"X","redirect_uris":[]}]"#,
                "client \"x\": no redirect_uris",
            ),
            (
                r#"[{"client_id":"x","name":"X","redirect_uris":["https://a.example/"],"pkce":"optional"}]"#,
                "client \"x\": a public client (no secret_sha256) must use PKCE",
            ),
            (
                r#"[{"client_id":"x","name":"X","redirect_uris":["https://a.example/"],"secret_sha256":"abc"}]"#,
                "client \"x\": secret_sha256 is not 64 hex digits",
            ),
        ] {
            std::fs::write(&path, json).unwrap();
            let err = ClientsFile::new(&path).read().unwrap_err().to_string();
            assert!(err.contains(problem), "{err}");
        }
    }
}
