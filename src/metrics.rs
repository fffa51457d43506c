//! Prometheus metrics, served on `METRICS_ADDR` by metrics-exporter-prometheus on a listener
//! of its own (never the public port). Without `METRICS_ADDR` no recorder is installed and
//! every call here is a no-op.

use std::net::SocketAddr;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

const LOGINS: &str = "passflow_logins_total";
const REFRESHES: &str = "passflow_refreshes_total";
const SESSIONS_ENDED: &str = "passflow_sessions_ended_total";
const HASH_QUEUE_DEPTH: &str = "passflow_hash_queue_depth";
const AUDIT_EVENTS: &str = "passflow_audit_events_total";
const AUDIT_WRITE_FAILURES: &str = "passflow_audit_write_failures_total";
const REQUEST_DURATION: &str = "passflow_http_request_duration_seconds";

/// Starts the exporter's listener at `addr`; needs a Tokio runtime.
pub fn install(addr: SocketAddr) -> Result<(), BuildError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(REQUEST_DURATION.into()),
            &[
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5,
            ],
        )?
        .install()?;
    describe_counter!(
        LOGINS,
        "Password logins (the password grant and the login page) by outcome"
    );
    describe_counter!(REFRESHES, "Refresh-token grants by outcome");
    describe_counter!(SESSIONS_ENDED, "Sessions ended, by reason");
    describe_counter!(AUDIT_EVENTS, "Security events recorded, by type");
    describe_counter!(
        AUDIT_WRITE_FAILURES,
        "Security events the audit store failed to keep (each is still logged)"
    );
    describe_gauge!(
        HASH_QUEUE_DEPTH,
        "Logins waiting for or running on a hashing thread"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request latency by route and status"
    );
    Ok(())
}

pub(crate) fn login(outcome: &'static str) {
    counter!(LOGINS, "outcome" => outcome).increment(1);
}

pub(crate) fn refresh(outcome: &'static str) {
    counter!(REFRESHES, "outcome" => outcome).increment(1);
}

pub(crate) fn session_ended(reason: &'static str) {
    counter!(SESSIONS_ENDED, "reason" => reason).increment(1);
}

pub(crate) fn audit_event(kind: &'static str) {
    counter!(AUDIT_EVENTS, "type" => kind).increment(1);
}

pub(crate) fn audit_write_failed(events: usize) {
    counter!(AUDIT_WRITE_FAILURES).increment(events as u64);
}

pub(crate) fn hash_queue_depth(jobs: usize) {
    gauge!(HASH_QUEUE_DEPTH).set(jobs as f64);
}

pub(crate) fn http_request(route: String, status: u16, seconds: f64) {
    histogram!(REQUEST_DURATION, "route" => route, "status" => status.to_string()).record(seconds);
}
