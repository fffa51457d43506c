//! Logins for an unknown user, a wrong password and a disabled user do the same hash work,
//! so response times do not tell an attacker which usernames exist or are disabled.
//! (A property of the code path, checked with generous bounds; speed itself is measured by
//! the benchmarks, not here.)

use std::time::{Duration, Instant};

use crate::helpers::*;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_take_alike() {
    // 15 wrong passwords per user: past the default throttle, which is not what this measures.
    let app = passflow::router(
        state_with(settings(), passflow::store::InMemoryUserStore::demo()).with_throttle(
            passflow::auth::guard::local::ThrottleSettings {
                per_user: 1000,
                per_ip: 1000,
                ..Default::default()
            },
        ),
    );
    // The last three send a password NFKC changes (decomposed accents), which is verified in
    // its normal form and then as typed: two hashes, for an unknown user too. Each group is
    // compared within itself: what a client typed it knows already.
    let decomposed = "Cre\u{300}me-bru\u{302}le\u{301}e";
    let cases = [
        ("unknown user", "nobody", "secret"),
        ("wrong password", "johndoe", "not-it"),
        ("disabled user, wrong password", "alice", "not-it"),
        ("unknown user, decomposed", "nobody", decomposed),
        ("wrong password, decomposed", "johndoe", decomposed),
        (
            "disabled user, wrong password, decomposed",
            "alice",
            decomposed,
        ),
    ];
    let mut samples = vec![Vec::new(); cases.len()];
    // Interleaved, so background noise falls on every case alike; 15 rounds, so a burst of
    // the other tests' hashing (they run in parallel) cannot move a median.
    for _ in 0..15 {
        for (i, (_, username, password)) in cases.iter().enumerate() {
            let started = Instant::now();
            let reply = post_form(&app, &[("username", username), ("password", password)]).await;
            samples[i].push(started.elapsed());
            assert_eq!(reply.status, 401);
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    for group in [0..3, 3..6] {
        let medians = &medians[group.clone()];
        let fastest = medians.iter().min().unwrap().as_secs_f64();
        let slowest = medians.iter().max().unwrap().as_secs_f64();
        let report: Vec<_> = cases[group]
            .iter()
            .zip(medians)
            .map(|(c, m)| (c.0, *m))
            .collect();
        assert!(fastest > 0.010, "a hash must have run: {report:?}");
        assert!(
            slowest <= fastest * 1.3,
            "medians differ by over 30%: {report:?}"
        );
    }
}
