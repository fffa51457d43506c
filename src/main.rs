use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Parser;
use passflow::config::{Cli, Command, ServeArgs};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Variables already in the environment win over the file.
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        eprintln!("error: .env: {err}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::HashPassword) => hash_password(),
        Some(Command::GenSecret) => {
            println!("{}", passflow::token::random_hex(32));
            ExitCode::SUCCESS
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(passflow::config::DEFAULT_LOG_FILTER)),
        )
        .init();
    let state = match args.app_state() {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(args, state)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: ServeArgs, state: passflow::AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let app = passflow::router_with(state, &args.http_options());
    passflow::server::serve(listener, app, args.server_options(), shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish, then exit 0.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut sigterm) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            sigterm.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// `passflow hash-password`: the password comes from stdin, unechoed on a terminal.
fn hash_password() -> ExitCode {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
    } else {
        let mut line = String::new();
        std::io::stdin().read_to_string(&mut line).map(|_| line)
    };
    let password = match password {
        Ok(password) => password.trim_end_matches(['\r', '\n']).to_owned(),
        Err(err) => {
            eprintln!("error: reading the password: {err}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("error: empty password");
        return ExitCode::from(2);
    }
    println!("{}", passflow::password::hash_password(&password));
    ExitCode::SUCCESS
}
