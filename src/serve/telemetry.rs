//! The exporter's own metrics, from the `prometheus` crate's registry.

use std::time::Duration;

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

impl Telemetry {
    pub fn new() -> Telemetry {
        let registry = Registry::new();
        let build_info = IntGaugeVec::new(
            Opts::new(
                "pantheon_exporter_build_info",
                "Build information of the exporter; always 1",
            ),
            &["version"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let t = Telemetry {
            account_up: IntGaugeVec::new(
                Opts::new(
                    "pantheon_exporter_account_up",
                    "1 when the account's last site listing succeeded",
                ),
                &["account"],
            )
            .expect("valid metric"),
            sites: IntGaugeVec::new(
                Opts::new("pantheon_exporter_sites", "Sites exported per account"),
                &["account"],
            )
            .expect("valid metric"),
            api_requests: IntCounterVec::new(
                Opts::new(
                    "pantheon_exporter_api_requests_total",
                    "Pantheon API requests by endpoint and HTTP status (error = no response)",
                ),
                &["endpoint", "code"],
            )
            .expect("valid metric"),
            api_duration: HistogramVec::new(
                HistogramOpts::new(
                    "pantheon_exporter_api_request_duration_seconds",
                    "Duration of Pantheon API requests",
                )
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                &["endpoint"],
            )
            .expect("valid metric"),
            refresh_errors: IntCounter::new(
                "pantheon_exporter_site_refresh_errors_total",
                "Site traffic fetches that failed",
            )
            .expect("valid metric"),
            rebuild_ignored: IntCounter::new(
                "pantheon_exporter_rebuild_responses_ignored_total",
                "All-zero traffic answers ignored as Pantheon's daily rebuild",
            )
            .expect("valid metric"),
            last_list_refresh: Gauge::new(
                "pantheon_exporter_last_site_list_refresh_timestamp_seconds",
                "When the site lists were last read, Unix seconds",
            )
            .expect("valid metric"),
            backfill_pending: IntGauge::new(
                "pantheon_exporter_backfill_pending_sites",
                "Sites still waiting for their history",
            )
            .expect("valid metric"),
            shard: IntGaugeVec::new(
                Opts::new(
                    "pantheon_exporter_shard",
                    "This replica's shard of the sites (serve --shard K/N); always 1",
                ),
                &["shard", "of"],
            )
            .expect("valid metric"),
            remote_write_sent: IntCounterVec::new(
                Opts::new(
                    "pantheon_exporter_remote_write_samples_sent_total",
                    "Samples the remote-write receiver accepted",
                ),
                &["remote"],
            )
            .expect("valid metric"),
            remote_write_failed: IntCounterVec::new(
                Opts::new(
                    "pantheon_exporter_remote_write_samples_failed_total",
                    "Samples the remote-write receiver refused (4xx); not retried",
                ),
                &["remote"],
            )
            .expect("valid metric"),
            remote_write_dropped: IntCounterVec::new(
                Opts::new(
                    "pantheon_exporter_remote_write_samples_dropped_total",
                    "Samples dropped from a full remote-write queue (oldest first)",
                ),
                &["remote"],
            )
            .expect("valid metric"),
            remote_write_queue: IntGaugeVec::new(
                Opts::new(
                    "pantheon_exporter_remote_write_queue_length",
                    "Samples waiting to be sent to the remote-write receiver",
                ),
                &["remote"],
            )
            .expect("valid metric"),
            remote_write_last_success: GaugeVec::new(
                Opts::new(
                    "pantheon_exporter_remote_write_last_success_timestamp_seconds",
                    "When the remote-write receiver last accepted a request, Unix seconds",
                ),
                &["remote"],
            )
            .expect("valid metric"),
            registry,
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(build_info),
            Box::new(t.account_up.clone()),
            Box::new(t.sites.clone()),
            Box::new(t.api_requests.clone()),
            Box::new(t.api_duration.clone()),
            Box::new(t.refresh_errors.clone()),
            Box::new(t.rebuild_ignored.clone()),
            Box::new(t.last_list_refresh.clone()),
            Box::new(t.backfill_pending.clone()),
            Box::new(t.shard.clone()),
            Box::new(t.remote_write_sent.clone()),
            Box::new(t.remote_write_failed.clone()),
            Box::new(t.remote_write_dropped.clone()),
            Box::new(t.remote_write_queue.clone()),
            Box::new(t.remote_write_last_success.clone()),
        ];
        for c in collectors {
            t.registry.register(c).expect("metric names are unique");
        }
        t
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
}
