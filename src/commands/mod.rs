//! The command-line tools beside `serve`: `hash-password`, `gen-secret`, `healthcheck`,
//! `migrate` and `users` in [`users`], `clients` in [`clients`], and `audit` in [`audit`]. Each prints a one-line
//! reason and exits non-zero when it cannot do its job; bad input exits 2.

/// `println!` for a command's output. A reader that stopped reading (`passflow clients add |
/// head -1`) is no error of the command's: it ends quietly, its work done, instead of the
/// panic `println!` raises on a closed pipe.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::commands::written(std::io::Write::write_fmt(
            &mut std::io::stdout().lock(),
            format_args!("{}\n", format_args!($($arg)*)),
        ))
    };
}

pub mod audit;
pub mod clients;
pub mod users;

/// What `say!` does with a failed write: a closed pipe ends the process with success (as
/// coreutils' readers expect of a writer); any other failure is reported.
pub(crate) fn written(result: std::io::Result<()>) {
    match result {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => {
            eprintln!("error: cannot write to standard output: {err}");
            std::process::exit(1);
        }
    }
}

use std::io::{IsTerminal, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;

use crate::auth::credentials::password::hash_password as argon2id_hash;
use crate::auth::tokens::keys::TokenAlgorithm;
use crate::auth::tokens::random_hex;
use crate::config::{DatabaseArgs, HealthcheckArgs};
use crate::store::sql::Database;

/// An error and its causes on one line, `outer: inner: root`, for a one-line refusal.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// A password from stdin: prompted for and unechoed on a terminal, else read whole (one
/// trailing newline dropped). The error is the exit code and a one-line reason.
pub(crate) fn read_password() -> Result<String, (ExitCode, String)> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
    } else {
        let mut line = String::new();
        std::io::stdin().read_to_string(&mut line).map(|_| line)
    };
    match password {
        Ok(password) if password.trim_end_matches(['\r', '\n']).is_empty() => {
            Err((ExitCode::from(2), "empty password".into()))
        }
        Ok(password) => Ok(password.trim_end_matches(['\r', '\n']).to_owned()),
        Err(err) => Err((ExitCode::FAILURE, format!("reading the password: {err}"))),
    }
}

/// `passflow hash-password`: the password comes from stdin, unechoed on a terminal.
pub fn hash_password() -> ExitCode {
    match read_password() {
        Ok(password) => {
            say!("{}", argon2id_hash(&password));
            ExitCode::SUCCESS
        }
        Err((code, reason)) => {
            eprintln!("error: {reason}");
            code
        }
    }
}

/// `passflow gen-secret`: 32 random bytes as hex, like `openssl rand -hex 32`.
/// `passflow keys generate --algorithm ALG`: a new private key, PKCS#8 PEM, on stdout.
pub fn generate_key(algorithm: &str) -> ExitCode {
    let key = algorithm
        .parse::<TokenAlgorithm>()
        .ok()
        .and_then(crate::auth::tokens::keys::generate);
    match key {
        Some(pem) => {
            written(std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                pem.as_bytes(),
            ));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("keys generate: cannot make an {algorithm} key");
            ExitCode::FAILURE
        }
    }
}

pub fn gen_secret() -> ExitCode {
    say!("{}", random_hex(32));
    ExitCode::SUCCESS
}

/// `passflow healthcheck`: `GET /health` on the local server, bounded to 5 seconds.
pub fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let host = match args.host.parse::<IpAddr>() {
        // A wildcard listener is reachable on loopback.
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => Ipv6Addr::LOCALHOST.to_string(),
        _ => args.host.clone(),
    };
    let probe =
        async { tokio::time::timeout(Duration::from_secs(5), get_health(&host, args.port)).await };
    match runtime.block_on(probe) {
        Ok(Ok(StatusCode::OK)) => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            eprintln!("unhealthy: /health answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("unhealthy: {err}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("unhealthy: no answer within 5 s");
            ExitCode::FAILURE
        }
    }
}

async fn get_health(host: &str, port: u16) -> Result<StatusCode, Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::get("/health")
        .header(header::HOST, format!("{host}:{port}"))
        .body(Body::empty())?;
    Ok(sender.send_request(request).await?.status())
}

/// A failed command: its exit code and one line for stderr.
pub(crate) struct Failure(pub(crate) ExitCode, pub(crate) String);

pub(crate) fn finish(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, reason)) => {
            eprintln!("error: {reason}");
            code
        }
    }
}

pub(crate) fn block_on<F: Future<Output = Result<(), Failure>>>(work: F) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return finish(Err(Failure(ExitCode::FAILURE, err.to_string()))),
    };
    finish(runtime.block_on(work))
}

pub(crate) async fn open(args: &DatabaseArgs) -> Result<Database, Failure> {
    let Some(url) = &args.database_url else {
        return Err(Failure(
            ExitCode::from(2),
            "DATABASE_URL is not set: this command works on a database (sqlite:PATH or \
             postgres://…)"
                .into(),
        ));
    };
    Database::open(url)
        .await
        .map_err(|err| Failure(ExitCode::from(2), error_chain(&err)))
}
