//! `passflow migrate` and `passflow users …`: the database's schema and its users, from the
//! command line. Each prints a one-line reason and exits non-zero when it cannot do its job;
//! a missing or unusable `DATABASE_URL` exits 2, like a refused start.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use super::{Failure, block_on, error_chain, finish, open, read_password};
use crate::auth::accounts::admin::Operator;
use crate::auth::accounts::policy::PasswordPolicy;
use crate::auth::accounts::users_file::read_users_file;
use crate::auth::credentials::password::hash_password;
use crate::clock::Clock;
use crate::config::{DatabaseArgs, UsersArgs, UsersCommand};
use crate::model::event::RequestContext;
use crate::model::scopes::{ScopeCatalog, ScopeSet};
use crate::model::user_id::UserId;
use crate::model::username::{canonical, look_alikes_warning};
use crate::store::admin::{AccountAdmin, AdminError};
use crate::store::sql::Database;
use crate::store::{User, UserRecord};

impl From<AdminError> for Failure {
    fn from(err: AdminError) -> Self {
        let code = match err {
            AdminError::Store(_) => ExitCode::FAILURE,
            // A name refused for what it is, like any other bad input.
            AdminError::LookAlike { .. } => ExitCode::from(2),
            AdminError::Exists(_) | AdminError::NoSuchUser(_) | AdminError::Ambiguous { .. } => {
                ExitCode::from(3)
            }
        };
        Failure(code, error_chain(&err))
    }
}

/// `passflow migrate`.
pub fn migrate(args: &DatabaseArgs) -> ExitCode {
    block_on(async {
        let database = open(args).await?;
        for names in database.confusable_names() {
            eprintln!("warning: {}", look_alikes_warning(names));
        }
        database.close().await;
        say!("the database schema is up to date");
        Ok(())
    })
}

/// `passflow users …`.
pub fn run(args: &UsersArgs) -> ExitCode {
    let policy = match args.password.policy() {
        Ok(policy) => policy,
        Err(err) => return finish(Err(Failure(ExitCode::from(2), err.to_string()))),
    };
    let offered = match args.scopes.catalog() {
        Ok(offered) => offered,
        Err(err) => return finish(Err(Failure(ExitCode::from(2), err.to_string()))),
    };
    if let UsersCommand::CheckPassword { username } = &args.command {
        return finish(new_password(&policy, username.as_deref().unwrap_or_default()).map(drop));
    }
    block_on(async {
        let database = open(&args.database).await?;
        let operator = Operator::new(
            &database,
            RequestContext::operator(args.reason.reason.clone()),
            Clock::system(),
        );
        let outcome = command(&database, &operator, &policy, &offered, &args.command).await;
        database.close().await;
        outcome
    })
}

fn scopes(offered: &ScopeCatalog, list: &str) -> Result<ScopeSet, Failure> {
    offered
        .parse(&list.replace(',', " "))
        .map_err(|err| Failure(ExitCode::from(2), format!("--scopes: {err}")))
}

/// A new password for `username` from stdin, checked against the policy (exit 2 naming the
/// rule it breaks).
fn new_password(policy: &PasswordPolicy, username: &str) -> Result<String, Failure> {
    let password = read_password().map_err(|(code, reason)| Failure(code, reason))?;
    policy
        .check(username, &password)
        .map_err(|weakness| Failure(ExitCode::from(2), weakness.to_string()))?;
    Ok(password)
}

fn password_hash(policy: &PasswordPolicy, username: &str) -> Result<String, Failure> {
    new_password(policy, username).map(|password| hash_password(&password))
}

/// For each user whose RFC 8265 key another user shares, the other names.
fn look_alikes(users: &[UserRecord]) -> HashMap<String, Vec<String>> {
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for user in users {
        let key = canonical(user.username()).into_owned();
        by_key
            .entry(key)
            .or_default()
            .push(user.username().to_string());
    }
    let mut others = HashMap::new();
    for names in by_key.into_values().filter(|names| names.len() > 1) {
        for name in &names {
            let rest = names.iter().filter(|other| *other != name).cloned();
            others.insert(name.clone(), rest.collect());
        }
    }
    others
}

async fn command(
    database: &Database,
    operator: &Operator<'_>,
    policy: &PasswordPolicy,
    offered: &ScopeCatalog,
    command: &UsersCommand,
) -> Result<(), Failure> {
    match command {
        UsersCommand::Add {
            name,
            email,
            full_name,
            scopes: allowed,
            disabled,
        } => {
            let scopes = scopes(offered, allowed)?;
            let user = UserRecord {
                id: UserId::random(),
                profile: Arc::new(User {
                    username: name.clone().into(),
                    email: email.clone(),
                    full_name: full_name.clone(),
                    disabled: *disabled,
                }),
                hashed_password: password_hash(policy, name)?,
                scopes,
            };
            operator.add(&user).await?;
            say!("added {name}");
        }
        UsersCommand::List { json } => {
            let users = database.list_users().await.map_err(AdminError::from)?;
            let totp = database.totp_users().await.map_err(AdminError::from)?;
            let look_alikes = look_alikes(&users);
            if *json {
                let users: Vec<_> = users
                    .iter()
                    .map(|user| {
                        let mut entry = json!({
                            "username": user.username(),
                            "email": user.profile.email,
                            "full_name": user.profile.full_name,
                            "disabled": user.profile.disabled,
                            "scopes": user.scopes.to_string(),
                            "totp": totp.contains(user.username().as_str()),
                        });
                        if let Some(others) = look_alikes.get(user.username().as_str()) {
                            entry["look_alikes"] = json!(others);
                        }
                        entry
                    })
                    .collect();
                say!("{}", serde_json::Value::from(users));
            } else {
                for user in &users {
                    // A seventh column only for a user another name looks like.
                    let marked = look_alikes
                        .get(user.username().as_str())
                        .map(|others| format!("\tlooks like {}", others.join(",")))
                        .unwrap_or_default();
                    say!(
                        "{}\t{}\t{}\t{}\t{}\t{}{marked}",
                        user.username(),
                        user.profile.email.as_deref().unwrap_or("-"),
                        user.profile.full_name.as_deref().unwrap_or("-"),
                        if user.profile.disabled {
                            "disabled"
                        } else {
                            "enabled"
                        },
                        user.scopes,
                        if totp.contains(user.username().as_str()) {
                            "totp"
                        } else {
                            "-"
                        },
                    );
                }
            }
        }
        UsersCommand::Disable { name } => {
            let name = operator.disable(name).await?;
            say!("disabled {name}; their sessions have ended");
        }
        UsersCommand::Enable { name } => {
            let name = operator.enable(name).await?;
            say!("enabled {name}");
        }
        UsersCommand::SetPassword { name } => {
            let hash = password_hash(policy, name)?;
            let name = operator.set_password(name, &hash).await?;
            say!("new password set for {name}; their sessions have ended");
        }
        // Answered by `run` without opening the database.
        UsersCommand::CheckPassword { .. } => {}
        UsersCommand::SetScopes {
            name,
            scopes: allowed,
        } => {
            let name = operator
                .set_scopes(name, &scopes(offered, allowed)?)
                .await?;
            say!("scopes of {name} set");
        }
        UsersCommand::TotpReset { name } => {
            let (name, was_on) = operator.reset_totp(name).await?;
            if was_on {
                say!("TOTP turned off for {name}; they log in with their password alone");
            } else {
                say!("TOTP was not enabled for {name}; nothing to turn off");
            }
        }
        UsersCommand::Delete { name } => {
            let name = operator.delete(name).await?;
            say!("deleted {name}; their sessions have ended");
        }
        UsersCommand::Import { file, replace } => {
            let users = read_users_file(file, "users import", offered)
                .map_err(|err| Failure(ExitCode::from(2), err.to_string()))?;
            // On a database every account gets a random id, never one derived from its name.
            let users: Vec<UserRecord> = users
                .into_iter()
                .map(|user| UserRecord {
                    id: UserId::random(),
                    ..user
                })
                .collect();
            operator.import(&users, *replace).await?;
            say!("imported {} users", users.len());
        }
    }
    Ok(())
}
