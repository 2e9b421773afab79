//! How an exposition is written: which format, and which days carry timestamps. Shared by
//! the renderers and the test parser.

/// The exposition format of a whole output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`), ends in `# EOF`.
    OpenMetrics,
}

/// Which days of a site get a sample, and how they are timestamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampMode {
    /// Every day; all but the last carry their start in milliseconds. The last (newest) day
    /// is untimestamped so Prometheus stamps it with the scrape time and keeps it fresh.
    Prometheus,
    /// Only the last day, untimestamped: for node_exporter's textfile collector, which
    /// refuses timestamps.
    None,
    /// Every day, timestamped in seconds: for OpenMetrics backfilling.
    OpenMetricsSeconds,
}
