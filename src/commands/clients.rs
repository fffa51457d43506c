//! `passflow clients …`: the registered clients of the authorization-code flow, in the
//! database at `DATABASE_URL` or, with `--file`, in a `CLIENTS_FILE`.

use std::process::ExitCode;

use serde_json::json;

use super::{Failure, block_on, error_chain, open};
use crate::auth::oauth::registration::{
    NewClient, RegistrationError, register, remove, rotate_secret,
};
use crate::config::{ClientsArgs, ClientsCommand};
use crate::model::client::{Client, PkcePolicy};
use crate::model::event::RequestContext;
use crate::model::scopes::ScopeCatalog;
use crate::store::clients::{ClientRegistry, ClientsFile};

impl From<RegistrationError> for Failure {
    fn from(err: RegistrationError) -> Self {
        let code = match err {
            RegistrationError::Store(_) => ExitCode::FAILURE,
            RegistrationError::NoSuchClient(_) => ExitCode::from(3),
            _ => ExitCode::from(2),
        };
        Failure(code, error_chain(&err))
    }
}

/// `passflow clients …`.
pub fn run(args: &ClientsArgs) -> ExitCode {
    let offered = match args.scopes.catalog() {
        Ok(offered) => offered,
        Err(err) => return super::finish(Err(Failure(ExitCode::from(2), err.to_string()))),
    };
    block_on(async {
        match (&args.file, &args.database.database_url) {
            (Some(_), Some(_)) => Err(Failure(
                ExitCode::from(2),
                "--file and DATABASE_URL are both set: clients live in one place; unset \
                 DATABASE_URL to work on the file"
                    .into(),
            )),
            (Some(path), None) => {
                let file = ClientsFile::new(path);
                // A file that cannot be read is refused before anything is written to it.
                file.read()
                    .map_err(|err| Failure(ExitCode::from(2), error_chain(&err)))?;
                command(&file, &offered, args).await
            }
            (None, Some(_)) => {
                let database = open(&args.database).await?;
                let outcome = command(&database, &offered, args).await;
                database.close().await;
                outcome
            }
            (None, None) => Err(Failure(
                ExitCode::from(2),
                "DATABASE_URL is not set and no --file is given: clients live in a database \
                 (sqlite:PATH or postgres://…) or in a clients file"
                    .into(),
            )),
        }
    })
}

fn row(client: &Client) -> String {
    let uris: Vec<&str> = client
        .redirect_uris
        .iter()
        .map(|uri| uri.as_str())
        .collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\tpkce {}\t{}\t{}",
        client.id,
        client.name,
        if client.is_public() {
            "public"
        } else {
            "confidential"
        },
        if client.first_party {
            "first-party"
        } else {
            "third-party"
        },
        client
            .scopes
            .as_ref()
            .map_or_else(|| "any scope".to_owned(), ToString::to_string),
        if client.requires_pkce() {
            "required"
        } else {
            "optional"
        },
        if client.refresh { "refresh_token" } else { "-" },
        uris.join(" "),
    )
}

fn as_json(client: &Client) -> serde_json::Value {
    let mut grant_types = vec!["authorization_code"];
    if client.refresh {
        grant_types.push("refresh_token");
    }
    // RFC 7591 §2's names, where one exists.
    json!({
        "client_id": client.id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris.iter().map(|uri| uri.as_str()).collect::<Vec<_>>(),
        "post_logout_redirect_uris": client.post_logout_redirect_uris.iter().map(|uri| uri.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_method": if client.is_public() { "none" } else { "client_secret_basic" },
        "grant_types": grant_types,
        "scope": client.scopes.as_ref().map(ToString::to_string),
        "first_party": client.first_party,
        "pkce": if client.requires_pkce() { "required" } else { "optional" },
    })
}

async fn command(
    registry: &dyn ClientRegistry,
    offered: &ScopeCatalog,
    args: &ClientsArgs,
) -> Result<(), Failure> {
    let context = RequestContext::operator(args.reason.reason.clone());
    match &args.command {
        ClientsCommand::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            first_party,
            scopes,
            pkce,
            refresh_token,
        } => {
            let new = NewClient {
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                public: *public,
                first_party: *first_party,
                scopes: scopes.clone(),
                pkce: PkcePolicy::parse(pkce).unwrap_or_default(),
                refresh: *refresh_token,
            };
            let registered = register(registry, offered, new, &context).await?;
            say!("client_id: {}", registered.client.id);
            if let Some(secret) = registered.secret {
                say!("client_secret: {secret}");
                eprintln!("the secret is shown this once; passflow keeps only its digest");
            }
        }
        ClientsCommand::List { json } => {
            let clients = registry.list().await.map_err(RegistrationError::from)?;
            if *json {
                let clients: Vec<_> = clients.iter().map(as_json).collect();
                say!("{}", serde_json::Value::from(clients));
            } else {
                for client in &clients {
                    say!("{}", row(client));
                }
            }
        }
        ClientsCommand::Remove { client_id } => {
            let client = remove(registry, client_id, &context).await?;
            say!("removed {} ({})", client.id, client.name);
        }
        ClientsCommand::RotateSecret { client_id } => {
            let secret = rotate_secret(registry, client_id, &context).await?;
            say!("client_secret: {secret}");
            eprintln!("the old secret no longer works; the new one is shown this once");
        }
    }
    Ok(())
}
