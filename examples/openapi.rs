//! Prints the OpenAPI document: `cargo run --example openapi > openapi.json`.
use passflow::http::openapi::document;

fn main() {
    println!(
        "{}",
        document()
            .to_pretty_json()
            .expect("the document serializes")
    );
}
