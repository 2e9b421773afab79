//! What `serve` is asked to do, in the library's own types: `commands/serve.rs` builds a
//! [`Settings`] from the command line, and tests build one directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::allowances::Allowances;
use crate::model::TrafficDuration;
use crate::serve::shard::Shard;

/// Which days `/metrics` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryMode {
    /// Every day held, on every scrape.
    Always,
    /// Timestamped days only for a while after they are learned or change.
    Bootstrap,
    /// Only the newest day.
    Off,
}

impl HistoryMode {
    pub const ALL: [HistoryMode; 3] = [
        HistoryMode::Always,
        HistoryMode::Bootstrap,
        HistoryMode::Off,
    ];

    /// The name used on the command line and the summary page.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryMode::Always => "always",
            HistoryMode::Bootstrap => "bootstrap",
            HistoryMode::Off => "off",
        }
    }
}

impl fmt::Display for HistoryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HistoryMode {
    type Err = String;

    /// ```
    /// use pantheon_metrics::serve::HistoryMode;
    /// assert_eq!("bootstrap".parse::<HistoryMode>(), Ok(HistoryMode::Bootstrap));
    /// assert!("sometimes".parse::<HistoryMode>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HistoryMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown history mode {s:?}: use always, bootstrap or off"))
    }
}

/// Where learned days are pushed, and how.
#[derive(Clone, Debug, Default)]
pub struct RemoteWriteSettings {
    pub urls: Vec<reqwest::Url>,
    /// File whose first line is `USERNAME:PASSWORD`.
    pub basic_auth_file: Option<PathBuf>,
    /// File whose first line is a bearer token.
    pub bearer_token_file: Option<PathBuf>,
    /// Batches kept per URL while it is slow or down.
    pub queue_batches: usize,
    /// Samples per request.
    pub batch_samples: usize,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

/// Plan usage in `serve`: each site's monthly series fetched once a UTC day, and the usage
/// gauges, page table and remote-write samples computed from it.
#[derive(Clone, Debug)]
pub struct PlanUsage {
    /// Monthly visits per plan and per site (empty: every allowance unknown).
    pub allowances: Arc<Allowances>,
    /// The watch threshold as a share of the allowance (0.8 = 80%), for the page's status.
    pub watch: f64,
}

impl Default for PlanUsage {
    fn default() -> PlanUsage {
        PlanUsage {
            allowances: Arc::new(Allowances::default()),
            watch: crate::usage::DEFAULT_WATCH,
        }
    }
}

/// What `serve` was asked to do.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// TLS and basic auth, in the exporter-toolkit format.
    pub web_config_file: Option<PathBuf>,
    pub environment: Arc<str>,
    pub history: HistoryMode,
    pub history_window: Duration,
    pub refresh_interval: Duration,
    /// How often the scheduler wakes; never longer than the refresh interval.
    pub tick: Duration,
    pub refresh_duration: TrafficDuration,
    /// This replica's share of the sites.
    pub shard: Shard,
    pub state_file: Option<PathBuf>,
    pub remote_write: RemoteWriteSettings,
    /// Plan usage; the command line always turns it on. `None` (the default here) fetches
    /// no monthly series, so tests of other features count only their own requests.
    pub usage: Option<PlanUsage>,
}

impl Default for Settings {
    /// The command line's defaults, except plan usage (off); tests change what they need.
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            web_config_file: None,
            environment: Arc::from("live"),
            history: HistoryMode::Always,
            history_window: Duration::from_secs(2 * 3600),
            refresh_interval: Duration::from_secs(3600),
            tick: Duration::from_secs(60),
            refresh_duration: TrafficDuration::days(2).expect("2d is a valid duration"),
            shard: Shard::default(),
            state_file: None,
            remote_write: RemoteWriteSettings {
                queue_batches: 500,
                batch_samples: 2000,
                max_backoff: Duration::from_secs(5),
                ..RemoteWriteSettings::default()
            },
            usage: None,
        }
    }
}
