//! Tells the tests whether a PostgreSQL server is reachable: without one, the tests that
//! need it are compiled as `#[ignore]`d, with the reason, so `cargo test` lists them
//! instead of passing them silently. CI sets `PASSFLOW_REQUIRE_POSTGRES=1`, which turns a
//! missing server into a build failure.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_postgres)");
    println!("cargo::rerun-if-env-changed=PASSFLOW_TEST_POSTGRES");
    println!("cargo::rerun-if-env-changed=PASSFLOW_REQUIRE_POSTGRES");
    println!("cargo::rerun-if-changed=build.rs");
    let url = std::env::var("PASSFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let reachable = address_of(&url).is_some_and(|address| {
        TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
    });
    if reachable {
        return;
    }
    if std::env::var_os("PASSFLOW_REQUIRE_POSTGRES").is_some() {
        panic!("PASSFLOW_REQUIRE_POSTGRES is set, but no PostgreSQL answers at {url}");
    }
    println!("cargo::warning=no PostgreSQL at {url}: its tests are ignored");
    println!("cargo::rustc-cfg=no_postgres");
}

/// `host:port` of a `postgres://user@host:port[/db]` URL.
fn address_of(url: &str) -> Option<SocketAddr> {
    let rest = url.split("://").nth(1)?;
    let host = rest.rsplit('@').next()?.split('/').next()?;
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    host.to_socket_addrs().ok()?.next()
}
