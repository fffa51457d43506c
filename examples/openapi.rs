//! Prints the OpenAPI document the server would serve with the settings in the environment
//! (and `.env`), as `/openapi.json` does: `cargo run --example openapi > openapi.json`.
//! Optional routes appear only where their settings turn them on (`INTROSPECTION_CLIENTS`,
//! an `http(s)` `TOKEN_ISSUER`).
use clap::Parser as _;
use passflow::config::Cli;
use passflow::http::openapi::document;

fn main() {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let state = match runtime.block_on(passflow::startup::build_state(&cli.serve)) {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {}", passflow::commands::error_chain(&err));
            std::process::exit(2);
        }
    };
    let json = document(&state).to_pretty_json();
    println!("{}", json.expect("the document serializes"));
}
