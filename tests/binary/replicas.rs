//! Several replicas of the real binary on one fresh PostgreSQL database (issue 13): one view
//! of sessions, one throttle, and failing closed through an outage that a proxy of the
//! test's own makes (the machine's PostgreSQL is never touched).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::fixtures::{PostgresDb, TUTORIAL_KEY, postgres_server};
use crate::harness::*;

/// johndoe's password in the replicas' database: one the password policy accepts.
const PASSWORD: &str = "replica-tutorial-secret";

/// A TCP proxy to PostgreSQL that the test can cut (every connection dropped, new ones
/// refused) and restore. It runs on a runtime of its own.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
}

async fn serve(listener: TcpListener, upstream: SocketAddr, flag: Arc<AtomicBool>) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        if flag.load(Ordering::SeqCst) {
            continue; // dropped at once: as good as refused
        }
        let flag = Arc::clone(&flag);
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
            let watch = async {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::select! {
                _ = copy => {}
                () = watch => {}
            }
        });
    }
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cut);
        // A thread and runtime of its own, left running until the test process exits.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                serve(TcpListener::from_std(listener).unwrap(), upstream, flag).await;
            });
        });
        Self { port, cut }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

fn upstream() -> SocketAddr {
    let server = postgres_server();
    let host = server.rsplit('@').next().unwrap();
    std::net::ToSocketAddrs::to_socket_addrs(host)
        .unwrap()
        .next()
        .unwrap()
}

async fn status_of(client: &reqwest::Client, url: String, token: Option<&str>) -> u16 {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Polls until `url` answers `want`, and returns how long that took; panics after `limit`.
async fn until(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    want: u16,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let status = status_of(client, url.clone(), token).await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{url} still {status} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL (PASSFLOW_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432)"
)]
async fn replicas_act_as_one_and_fail_closed_through_an_outage() {
    let database = PostgresDb::create().await;
    let direct = database.url();
    let dir = tempfile::tempdir().unwrap();
    let added = passflow(dir.path())
        .env("DATABASE_URL", &direct)
        .args(["users", "add", "johndoe"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(added.success());

    let proxy = Proxy::start(upstream());
    let proxied = format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        proxy.port, database.name
    );
    let replicas: Vec<Server> = (0..2)
        .map(|_| {
            Server::start(
                passflow(dir.path())
                    .env("SECRET_KEY", TUTORIAL_KEY)
                    .env("DATABASE_URL", &proxied)
                    .env("LOGIN_FAILURES_PER_USER", "3"),
            )
        })
        .collect();
    let (a, b) = (&replicas[0], &replicas[1]);
    let client = reqwest::Client::new();
    for replica in &replicas {
        assert_eq!(status_of(&client, replica.url("/ready"), None).await, 200);
    }

    // A logout through one replica is enforced by the other, well within a second.
    let token = token_for(&client, a, "johndoe", PASSWORD).await;
    assert_eq!(
        status_of(&client, b.url("/users/me/"), Some(&token)).await,
        200
    );
    let logout = client
        .post(a.url("/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let delay = until(
        &client,
        b.url("/users/me/"),
        Some(&token),
        401,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("logout reached the other replica in {delay:?}");

    // Concurrent refreshes of one token, one per replica: exactly one succeeds.
    for _ in 0..3 {
        let pair: Value = login(&client, a, "johndoe", PASSWORD)
            .await
            .json()
            .await
            .unwrap();
        let refresh_token = pair["refresh_token"].as_str().unwrap().to_owned();
        let (one, other) = tokio::join!(
            refresh(&client, &a.base, &refresh_token),
            refresh(&client, &b.base, &refresh_token)
        );
        let mut statuses = [one.status().as_u16(), other.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
    }

    // A session that stays open through the rest, for after the outage.
    let survivor = token_for(&client, b, "johndoe", PASSWORD).await;

    // Guesses spread over the replicas share one budget of 3.
    for replica in [a, b, a] {
        assert_eq!(
            login(&client, replica, "johndoe", "wrong").await.status(),
            401
        );
    }
    for replica in [b, a] {
        let refused = login(&client, replica, "johndoe", PASSWORD).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
    }

    // The database goes away: /ready says so within a second (the next poll fails), before
    // the token checks fail closed; while it is 503, so are the logins.
    proxy.cut();
    let cut_at = Instant::now();
    for replica in &replicas {
        let left = Duration::from_secs(1).saturating_sub(cut_at.elapsed());
        until(&client, replica.url("/ready"), None, 503, left).await;
    }
    eprintln!(
        "every replica's /ready answered 503 {:?} after the cut",
        cut_at.elapsed()
    );
    for replica in &replicas {
        let reply = client.get(replica.url("/ready")).send().await.unwrap();
        assert_eq!(reply.status(), 503);
        assert_eq!(reply.headers()["retry-after"], "5");
        assert_eq!(
            reply.text().await.unwrap(),
            r#"{"detail":"Service temporarily unavailable"}"#
        );
        let login = login(&client, replica, "janedoe", "secret").await;
        assert_eq!(login.status(), 503);
        assert_eq!(login.headers()["retry-after"], "5");
    }
    // Past the 5 s a view may age, token checks fail closed too, and /ready stays 503.
    for replica in &replicas {
        until(
            &client,
            replica.url("/users/me/"),
            Some(&survivor),
            503,
            Duration::from_secs(8),
        )
        .await;
        assert_eq!(status_of(&client, replica.url("/ready"), None).await, 503);
    }
    proxy.restore();
    let restored_at = Instant::now();
    for replica in &replicas {
        let left = Duration::from_secs(2).saturating_sub(restored_at.elapsed());
        until(&client, replica.url("/ready"), None, 200, left).await;
    }
    eprintln!(
        "every replica's /ready answered 200 {:?} after the restore",
        restored_at.elapsed()
    );
    assert_eq!(
        status_of(&client, a.url("/users/me/"), Some(&survivor)).await,
        200
    );
}
