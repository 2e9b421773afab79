//! The exporter's own metrics, from the `prometheus` crate's registry.

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::pantheon::{Endpoint, RequestObserver};

pub struct Telemetry {
    registry: Registry,
    pub account_up: IntGaugeVec,
    pub sites: IntGaugeVec,
    pub api_requests: IntCounterVec,
    pub api_duration: HistogramVec,
    pub api_broken_answers: IntCounterVec,
    pub refresh_errors: IntCounter,
    pub rebuild_ignored: IntCounter,
    pub last_list_refresh: Gauge,
    pub backfill_pending: IntGauge,
    /// `{shard, of}`: this replica's share of the sites (`serve --shard K/N`; 1/1 without).
    pub shard: IntGaugeVec,
    /// Remote write, by `remote` (the 1-based position of its `--remote-write` flag).
    pub remote_write_sent: IntCounterVec,
    pub remote_write_failed: IntCounterVec,
    pub remote_write_dropped: IntCounterVec,
    pub remote_write_queue: IntGaugeVec,
    pub remote_write_last_success: GaugeVec,
}

/// Registers `metric` and hands it back, so each metric's name, help, labels and
/// registration sit in one expression and cannot drift apart.
fn register<M>(registry: &Registry, metric: prometheus::Result<M>) -> M
where
    M: Collector + Clone + 'static,
{
    let metric = metric.expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let r = Registry::new();
        register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "pantheon_exporter_build_info",
                    "Build information of the exporter; always 1",
                ),
                &["version"],
            ),
        )
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
        Telemetry {
            account_up: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "pantheon_exporter_account_up",
                        "1 when the account's last site listing succeeded",
                    ),
                    &["account"],
                ),
            ),
            sites: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("pantheon_exporter_sites", "Sites exported per account"),
                    &["account"],
                ),
            ),
            api_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pantheon_exporter_api_requests_total",
                        "Pantheon API requests by endpoint and HTTP status (error = no response)",
                    ),
                    &["endpoint", "code"],
                ),
            ),
            api_duration: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "pantheon_exporter_api_request_duration_seconds",
                        "Duration of Pantheon API requests",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                    &["endpoint"],
                ),
            ),
            api_broken_answers: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pantheon_exporter_api_broken_answers_total",
                        "Pantheon API answers with a success status whose body was cut, not JSON \
                         or not of the expected shape (each is retried)",
                    ),
                    &["endpoint"],
                ),
            ),
            refresh_errors: register(
                &r,
                IntCounter::new(
                    "pantheon_exporter_site_refresh_errors_total",
                    "Site traffic fetches that failed",
                ),
            ),
            rebuild_ignored: register(
                &r,
                IntCounter::new(
                    "pantheon_exporter_rebuild_responses_ignored_total",
                    "All-zero traffic answers ignored as Pantheon's daily rebuild",
                ),
            ),
            last_list_refresh: register(
                &r,
                Gauge::new(
                    "pantheon_exporter_last_site_list_refresh_timestamp_seconds",
                    "When the site lists were last read, Unix seconds",
                ),
            ),
            backfill_pending: register(
                &r,
                IntGauge::new(
                    "pantheon_exporter_backfill_pending_sites",
                    "Sites still waiting for their history",
                ),
            ),
            shard: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "pantheon_exporter_shard",
                        "This replica's shard of the sites (serve --shard K/N); always 1",
                    ),
                    &["shard", "of"],
                ),
            ),
            remote_write_sent: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pantheon_exporter_remote_write_samples_sent_total",
                        "Samples the remote-write receiver accepted",
                    ),
                    &["remote"],
                ),
            ),
            remote_write_failed: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pantheon_exporter_remote_write_samples_failed_total",
                        "Samples the remote-write receiver refused (4xx); not retried",
                    ),
                    &["remote"],
                ),
            ),
            remote_write_dropped: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pantheon_exporter_remote_write_samples_dropped_total",
                        "Samples dropped from a full remote-write queue (oldest first)",
                    ),
                    &["remote"],
                ),
            ),
            remote_write_queue: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "pantheon_exporter_remote_write_queue_length",
                        "Samples waiting to be sent to the remote-write receiver",
                    ),
                    &["remote"],
                ),
            ),
            remote_write_last_success: register(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "pantheon_exporter_remote_write_last_success_timestamp_seconds",
                        "When the remote-write receiver last accepted a request, Unix seconds",
                    ),
                    &["remote"],
                ),
            ),
            registry: r,
        }
    }

    /// The self-metrics of remote-write receiver `remote` (1-based).
    pub fn remote_write(&self, remote: usize) -> crate::remote_write::Metrics {
        let mut buf = itoa::Buffer::new();
        let label = [buf.format(remote)];
        let m = crate::remote_write::Metrics {
            sent: self.remote_write_sent.with_label_values(&label),
            failed: self.remote_write_failed.with_label_values(&label),
            dropped: self.remote_write_dropped.with_label_values(&label),
            queue_length: self.remote_write_queue.with_label_values(&label),
            last_success: self.remote_write_last_success.with_label_values(&label),
        };
        m.queue_length.set(0);
        m
    }

    /// The self-metrics in the text format.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode the exporter's own metrics");
        }
        out
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl RequestObserver for Telemetry {
    fn observe(&self, endpoint: Endpoint, status: Option<u16>, elapsed: Duration) {
        let mut code_buf = itoa::Buffer::new();
        let code = match status {
            Some(s) => code_buf.format(s),
            None => "error",
        };
        self.api_requests
            .with_label_values(&[endpoint.as_str(), code])
            .inc();
        self.api_duration
            .with_label_values(&[endpoint.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    fn broken(&self, endpoint: Endpoint) {
        self.api_broken_answers
            .with_label_values(&[endpoint.as_str()])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `/metrics` self-metrics are a contract (README): names, HELP, TYPE and labels.
    const EXPECTED: &str = r#"# HELP pantheon_exporter_account_up 1 when the account's last site listing succeeded
# TYPE pantheon_exporter_account_up gauge
pantheon_exporter_account_up{account="a"} 1
# HELP pantheon_exporter_api_request_duration_seconds Duration of Pantheon API requests
# TYPE pantheon_exporter_api_request_duration_seconds histogram
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="0.05"} 0
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="0.1"} 0
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="0.25"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="0.5"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="1"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="2.5"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="5"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="10"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="30"} 1
pantheon_exporter_api_request_duration_seconds_bucket{endpoint="traffic",le="+Inf"} 1
pantheon_exporter_api_request_duration_seconds_sum{endpoint="traffic"} 0.12
pantheon_exporter_api_request_duration_seconds_count{endpoint="traffic"} 1
# HELP pantheon_exporter_api_requests_total Pantheon API requests by endpoint and HTTP status (error = no response)
# TYPE pantheon_exporter_api_requests_total counter
pantheon_exporter_api_requests_total{code="200",endpoint="traffic"} 1
# HELP pantheon_exporter_backfill_pending_sites Sites still waiting for their history
# TYPE pantheon_exporter_backfill_pending_sites gauge
pantheon_exporter_backfill_pending_sites 0
# HELP pantheon_exporter_build_info Build information of the exporter; always 1
# TYPE pantheon_exporter_build_info gauge
pantheon_exporter_build_info{version="{version}"} 1
# HELP pantheon_exporter_last_site_list_refresh_timestamp_seconds When the site lists were last read, Unix seconds
# TYPE pantheon_exporter_last_site_list_refresh_timestamp_seconds gauge
pantheon_exporter_last_site_list_refresh_timestamp_seconds 0
# HELP pantheon_exporter_rebuild_responses_ignored_total All-zero traffic answers ignored as Pantheon's daily rebuild
# TYPE pantheon_exporter_rebuild_responses_ignored_total counter
pantheon_exporter_rebuild_responses_ignored_total 0
# HELP pantheon_exporter_remote_write_last_success_timestamp_seconds When the remote-write receiver last accepted a request, Unix seconds
# TYPE pantheon_exporter_remote_write_last_success_timestamp_seconds gauge
pantheon_exporter_remote_write_last_success_timestamp_seconds{remote="1"} 0
# HELP pantheon_exporter_remote_write_queue_length Samples waiting to be sent to the remote-write receiver
# TYPE pantheon_exporter_remote_write_queue_length gauge
pantheon_exporter_remote_write_queue_length{remote="1"} 0
# HELP pantheon_exporter_remote_write_samples_dropped_total Samples dropped from a full remote-write queue (oldest first)
# TYPE pantheon_exporter_remote_write_samples_dropped_total counter
pantheon_exporter_remote_write_samples_dropped_total{remote="1"} 0
# HELP pantheon_exporter_remote_write_samples_failed_total Samples the remote-write receiver refused (4xx); not retried
# TYPE pantheon_exporter_remote_write_samples_failed_total counter
pantheon_exporter_remote_write_samples_failed_total{remote="1"} 0
# HELP pantheon_exporter_remote_write_samples_sent_total Samples the remote-write receiver accepted
# TYPE pantheon_exporter_remote_write_samples_sent_total counter
pantheon_exporter_remote_write_samples_sent_total{remote="1"} 0
# HELP pantheon_exporter_shard This replica's shard of the sites (serve --shard K/N); always 1
# TYPE pantheon_exporter_shard gauge
pantheon_exporter_shard{of="2",shard="1"} 1
# HELP pantheon_exporter_site_refresh_errors_total Site traffic fetches that failed
# TYPE pantheon_exporter_site_refresh_errors_total counter
pantheon_exporter_site_refresh_errors_total 1
# HELP pantheon_exporter_sites Sites exported per account
# TYPE pantheon_exporter_sites gauge
pantheon_exporter_sites{account="a"} 3
"#;

    #[test]
    fn self_metrics_exposition_is_unchanged() {
        let t = Telemetry::new();
        t.account_up.with_label_values(&["a"]).set(1);
        t.sites.with_label_values(&["a"]).set(3);
        t.shard.with_label_values(&["1", "2"]).set(1);
        t.refresh_errors.inc();
        let _ = t.remote_write(1);
        t.observe(Endpoint::Traffic, Some(200), Duration::from_millis(120));
        let got = String::from_utf8(t.encode()).unwrap();
        assert_eq!(
            got,
            EXPECTED.replace("{version}", env!("CARGO_PKG_VERSION"))
        );
    }
}
