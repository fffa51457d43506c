//! `passflow audit list`: the security events in the database, newest first, as a table or
//! as JSON lines in the trail's stable schema.

use std::process::ExitCode;

use super::{Failure, block_on, error_chain, open};
use crate::config::{AuditArgs, AuditCommand};
use crate::model::event::{Event, rfc3339};
use crate::store::audit::{AuditStore, EventQuery};

/// `passflow audit …`.
pub fn run(args: &AuditArgs) -> ExitCode {
    block_on(async {
        let database = open(&args.database).await?;
        let outcome = command(&database, &args.command).await;
        database.close().await;
        outcome
    })
}

async fn command(store: &dyn AuditStore, command: &AuditCommand) -> Result<(), Failure> {
    let AuditCommand::List {
        user,
        types,
        since,
        until,
        limit,
        json,
    } = command;
    let query = EventQuery {
        user: user.clone(),
        sub: None,
        types: types.clone(),
        since: *since,
        until: *until,
        before_id: None,
        limit: *limit as usize,
    };
    let events = store
        .events(&query)
        .await
        .map_err(|err| Failure(ExitCode::FAILURE, error_chain(&err)))?;
    for event in &events {
        if *json {
            say!("{}", event.to_json_line());
        } else {
            say!("{}", row(event));
        }
    }
    Ok(())
}

/// One tab-separated line. Every text a user or client could have chosen is escaped (a
/// newline, a tab, an ANSI escape): it cannot forge a row or drive the terminal.
fn row(event: &Event) -> String {
    let text = |value: &Option<String>| value.as_deref().map_or_else(|| "-".to_owned(), cell);
    let kind = event.actor.kind();
    let actor = event
        .actor
        .name()
        .map_or_else(|| kind.to_owned(), |name| format!("{kind}:{}", cell(name)));
    format!(
        "{}\t{}\t{}\t{}\t{actor}\t{}\t{}\t{}\t{}",
        rfc3339(event.time),
        event.kind,
        event.outcome.as_str(),
        text(&event.user),
        event
            .address
            .map_or_else(|| "-".to_owned(), |address| address.to_string()),
        text(&event.client_id),
        text(&event.session_id),
        text(&event.reason),
    )
}

/// `text` with control characters, backslashes and quotes escaped as Rust writes them
/// (`\n`, `\t`, `\u{1b}`), so what is shown is exactly what was stored.
fn cell(text: &str) -> String {
    text.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_cannot_break_a_row_or_reach_the_terminal() {
        assert_eq!(
            cell("zoe\n2026\tlogin.succeeded"),
            r"zoe\n2026\tlogin.succeeded"
        );
        assert_eq!(cell("\u{1b}[31mred"), r"\u{1b}[31mred");
        // Right-to-left override: shown as an escape, not obeyed.
        assert_eq!(cell("a\u{202e}b"), r"a\u{202e}b");
        assert_eq!(cell("Zoë"), "Zoë");
    }
}
