use std::process::ExitCode;

use clap::Parser;
use passflow::commands;
use passflow::config::{Cli, Command, KeysCommand, ServeArgs};

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
        Some(Command::HashPassword) => commands::hash_password(),
        Some(Command::GenSecret) => commands::gen_secret(),
        Some(Command::Keys(KeysCommand::Generate { algorithm })) => {
            commands::generate_key(&algorithm)
        }
        Some(Command::Healthcheck(args)) => commands::healthcheck(&args),
        Some(Command::Migrate(args)) => commands::users::migrate(&args),
        Some(Command::Users(args)) => commands::users::run(&args),
        Some(Command::Clients(args)) => commands::clients::run(&args),
        Some(Command::Audit(args)) => commands::audit::run(&args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    passflow::telemetry::init(args.telemetry.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let started = runtime.block_on(async {
        passflow::startup::install_metrics(&args)?;
        passflow::startup::build_state(&args).await
    });
    let state = match started {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {}", commands::error_chain(&err));
            return ExitCode::from(2);
        }
    };
    let served = runtime.block_on(async {
        // Registered before the listener is bound, so a SIGTERM that follows the
        // "listening on" line is never missed.
        let shutdown = shutdown_signal();
        passflow::startup::run(&args, state, shutdown).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish, then exit 0. The
/// handlers are installed when this is called, not when the future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let terminate = async {
            match sigterm.as_mut() {
                Some(sigterm) => {
                    sigterm.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = terminate => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}
