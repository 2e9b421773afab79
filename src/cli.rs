//! The command line: clap definitions, and their validation into the library's options.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;
use crate::model::TrafficDuration;
use crate::pantheon::DEFAULT_API_URL;
use crate::serve::{HistoryMode, Shard};

/// Traffic metrics of Pantheon sites: list sites, fetch daily metrics, or run a Prometheus exporter.
#[derive(Debug, Parser)]
#[command(
    name = "pantheon-metrics",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Machine tokens come from PANTHEON_MACHINE_TOKENS (whitespace separated) or \
    --tokens-file / PANTHEON_MACHINE_TOKENS_FILE (one per line), never from the command line.\n\
    Exit codes: 0 all good, 1 nothing could be fetched, 2 usage or configuration error, \
    3 partial (some accounts or sites failed), 4 `usage --fail-on` threshold reached."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Base URL of the Pantheon API.
    #[arg(long, global = true, env = "PANTHEON_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub api_url: String,
    /// File of machine tokens, one per line (blank lines and # comments ignored).
    #[arg(
        long,
        global = true,
        env = "PANTHEON_MACHINE_TOKENS_FILE",
        value_name = "PATH"
    )]
    pub tokens_file: Option<PathBuf>,
    /// Site environment whose traffic is read.
    #[arg(long = "env", global = true, env = "PANTHEON_ENV", default_value = "live", value_name = "ENV", value_parser = validate_environment)]
    pub environment: String,
    /// Only the sites of this organization (UUID).
    #[arg(long, global = true, env = "ORG_ID", value_name = "UUID")]
    pub org_id: Option<String>,
    /// At most this many sites in all (0 = no limit).
    #[arg(
        long,
        global = true,
        env = "SITE_LIMIT",
        default_value_t = 0,
        value_name = "N"
    )]
    pub site_limit: usize,
    /// API requests in flight at once, across all accounts.
    #[arg(long, global = true, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Cap on API request starts per second (0 = no cap).
    #[arg(long, global = true, default_value_t = 0.0, value_name = "RATE", value_parser = parse_rate)]
    pub max_rps: f64,
    /// Timeout of one whole API request (e.g. 30s, 2m).
    #[arg(long, global = true, default_value = "30s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Log every API request and response to stderr (secrets redacted).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Run against the built-in fake Pantheon API with demo accounts (no token needed).
    #[arg(long, global = true)]
    pub demo: bool,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter).
    #[arg(long, global = true, env = "LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// First retry backoff step (tests shorten it).
    #[arg(long, global = true, hide = true, default_value = "1s", value_parser = parse_positive_duration)]
    pub retry_base: Duration,
}

impl ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &LogFormat::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every site each machine token can see.
    Sites(SitesArgs),
    /// Fetch daily traffic metrics for some or all sites.
    Fetch(FetchArgs),
    /// Run the Prometheus exporter.
    Serve(ServeArgs),
    /// Month-to-date visits of each site against its plan's allowance, projected to the
    /// month's end; most at risk first.
    Usage(UsageArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages (one per command) into DIR.
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct SitesArgs {
    #[arg(long, value_enum, default_value_t = SitesFormat::Table)]
    pub format: SitesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SitesFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Site names or UUIDs; none means every visible site.
    #[arg(value_name = "SITE")]
    pub sites: Vec<String>,
    /// Days (Nd, 1-28), weeks (Nw, 1-12) or months (Nm, 1-12).
    #[arg(long, default_value = "28d", value_name = "DURATION")]
    pub duration: TrafficDuration,
    #[arg(long, value_enum, default_value_t = FetchFormat::Table)]
    pub format: FetchFormat,
    /// Only the newest day, no timestamps (for node_exporter's textfile collector); prom only.
    #[arg(long)]
    pub no_timestamps: bool,
    /// Write to this file atomically instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FetchFormat {
    Table,
    Json,
    Prom,
    #[value(name = "openmetrics")]
    OpenMetrics,
    /// RFC 4180, one row per site and day.
    Csv,
}

#[derive(Debug, Args)]
#[command(
    after_help = "projected = month-to-date + average of the last 7 complete days of \
    the month x days left (calendar month, UTC).\n\
    Exit codes: as every command, plus 4 when --fail-on is given and some site is at or past \
    that status (4 wins over 3)."
)]
pub struct UsageArgs {
    /// Site names or UUIDs; none means every visible site.
    #[arg(value_name = "SITE")]
    pub sites: Vec<String>,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[arg(long, value_enum, default_value_t = UsageFormat::Table)]
    pub format: UsageFormat,
    /// Exit with code 4 when any site is at or past this status.
    #[arg(long, value_enum, value_name = "STATUS")]
    pub fail_on: Option<FailOn>,
    /// Write to this file atomically instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The report's date (YYYY-MM-DD, UTC) instead of today (tests pin it).
    #[arg(long, hide = true, value_name = "DATE")]
    pub today: Option<chrono::NaiveDate>,
}

/// The plan-usage flags `usage` and `serve` share: the same file means the same numbers in
/// the report, the exposition and the alerts.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml).
    /// With --demo and no file, the demo's own.
    #[arg(long, env = "PANTHEON_ALLOWANCES_FILE", value_name = "PATH")]
    pub allowances: Option<PathBuf>,
    /// A site whose projection reaches this share of its allowance is on watch (percent).
    #[arg(long, default_value = "80", value_name = "PERCENT", value_parser = parse_percent)]
    pub watch_threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageFormat {
    Table,
    Json,
    Prom,
    /// RFC 4180, one row per site.
    Csv,
}

/// The statuses `--fail-on` takes, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Month-to-date visits above the allowance.
    Over,
    /// The projection above the allowance (or worse).
    ProjectedOver,
    /// The projection at or above the watch threshold (or worse).
    Watch,
}

/// A percentage such as `80`, `87.5` or `80%`, above 0 and at most 1000, as a share.
fn parse_percent(value: &str) -> Result<f64, String> {
    let number = value.trim().trim_end_matches('%');
    let p: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a percentage"))?;
    if !p.is_finite() || p <= 0.0 || p > 1000.0 {
        return Err("must be above 0 and at most 1000 (percent)".into());
    }
    Ok(p / 100.0)
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "0.0.0.0:8080",
        value_name = "ADDR",
        conflicts_with = "port"
    )]
    pub listen: SocketAddr,
    /// Shorthand for --listen 0.0.0.0:N.
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// How often site lists are re-read and each site refreshed (90s, 30m, 1h; a bare number is minutes).
    #[arg(long, env = "REFRESH_INTERVAL", default_value = "60", value_name = "DURATION", value_parser = parse_interval)]
    pub refresh_interval: Duration,
    /// Which days /metrics carries.
    #[arg(long, value_enum, default_value_t = HistoryMode::Always)]
    pub history: HistoryMode,
    /// With --history bootstrap: how long a learned or changed day is served with its timestamp.
    #[arg(long, default_value = "2h", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub history_window: Duration,
    /// Traffic fetched on each refresh (daily, 1-28).
    #[arg(long, default_value = "2d", value_name = "DURATION", value_parser = parse_daily)]
    pub refresh_duration: TrafficDuration,
    /// TLS and basic-auth settings, in the Prometheus exporter-toolkit format.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
    /// Scheduler tick (tests shorten it).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub tick: Duration,
    /// Run as shard K of N replicas: fetch and export only the sites whose id hashes
    /// (FNV-1a 64) to K-1 modulo N.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Keep what is held in this file (JSON), so a restart serves it at once and fetches
    /// only what is missing or stale.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    /// Push every day learned to this Prometheus remote-write URL (repeatable).
    #[arg(long, value_name = "URL", value_parser = parse_remote_url)]
    pub remote_write: Vec<reqwest::Url>,
    /// File whose first line is USERNAME:PASSWORD for every remote-write URL.
    #[arg(long, value_name = "PATH", requires = "remote_write")]
    pub remote_write_basic_auth_file: Option<PathBuf>,
    /// File whose first line is a bearer token for every remote-write URL.
    #[arg(
        long,
        value_name = "PATH",
        requires = "remote_write",
        conflicts_with = "remote_write_basic_auth_file"
    )]
    pub remote_write_bearer_token_file: Option<PathBuf>,
    /// Remote-write batches kept per URL while it is slow or down (2000 samples each);
    /// beyond, the oldest batch is dropped.
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub remote_write_queue_batches: u32,
    /// Samples per remote-write request.
    #[arg(long, hide = true, default_value_t = 2000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub remote_write_batch_samples: u32,
    /// Longest wait between remote-write retries.
    #[arg(long, hide = true, default_value = "5s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub remote_write_max_backoff: Duration,
    /// Plan usage: each site's monthly series is fetched once a day for the usage gauges.
    #[command(flatten)]
    pub plan: PlanArgs,
}

impl ServeArgs {
    pub fn listen_addr(&self) -> SocketAddr {
        match self.port {
            Some(port) => SocketAddr::from(([0, 0, 0, 0], port)),
            None => self.listen,
        }
    }
}

impl ValueEnum for HistoryMode {
    fn value_variants<'a>() -> &'a [Self] {
        &HistoryMode::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            HistoryMode::Always => "Every day held, on every scrape",
            HistoryMode::Bootstrap => {
                "Timestamped days only for a while after they are learned or change"
            }
            HistoryMode::Off => "Only the newest day",
        };
        Some(PossibleValue::new(self.as_str()).help(help))
    }
}

/// A duration such as `30s`, `10m`, `1h`, `1h30m`, `500ms`; a bare number is in `bare_unit`.
///
/// ```
/// use std::time::Duration;
/// use pantheon_metrics::cli::parse_duration;
/// assert_eq!(parse_duration("90s", 60).unwrap(), Duration::from_secs(90));
/// assert_eq!(parse_duration("60", 60).unwrap(), Duration::from_secs(3600));
/// assert!(parse_duration("soon", 1).is_err());
/// ```
pub fn parse_duration(value: &str, bare_unit_secs: u64) -> Result<Duration, String> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{value:?} is too large"))?;
        return n
            .checked_mul(bare_unit_secs)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{value:?} is too large"));
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("invalid duration {value:?} ({e}); use e.g. 90s, 30m, 1h"))
}

/// Pantheon environment names: `live`, `test`, `dev` or a multidev name (lowercase letters,
/// digits, dashes). Anything else is refused before it reaches a URL.
pub fn validate_environment(env: &str) -> Result<String, String> {
    let ok = !env.is_empty()
        && env.len() <= 64
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(env.to_string())
    } else {
        Err(format!(
            "invalid environment {env:?}: use live, test, dev or a multidev name"
        ))
    }
}

/// A duration greater than zero; a bare number is seconds (timeouts, backoffs, ticks,
/// windows).
fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value, 1)?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

/// The refresh interval: at least a second; a bare number is minutes, as in the reference
/// exporter's `-refreshInterval`.
fn parse_interval(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value, 60)?;
    if d < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(d)
}

fn parse_daily(value: &str) -> Result<TrafficDuration, String> {
    let d: TrafficDuration = value.parse().map_err(|e| format!("{e}"))?;
    if !d.is_daily() {
        return Err("must be a number of days (Nd)".into());
    }
    Ok(d)
}

fn parse_shard(value: &str) -> Result<Shard, String> {
    value.parse()
}

fn parse_remote_url(value: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The command line is visible to every user of the machine.
        return Err("credentials do not belong on the command line: use \
             --remote-write-basic-auth-file or --remote-write-bearer-token-file"
            .into());
    }
    Ok(url)
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let r: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if !r.is_finite() || r < 0.0 {
        return Err("must be 0 (no cap) or a positive number".into());
    }
    Ok(r)
}

impl FetchArgs {
    /// Checks that clap cannot express: format and duration together.
    pub fn validate(&self) -> Result<(), String> {
        let exposition = matches!(self.format, FetchFormat::Prom | FetchFormat::OpenMetrics);
        if exposition && !self.duration.is_daily() {
            return Err(format!(
                "--format {} takes daily durations only (Nd), not {}",
                self.format
                    .to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default(),
                self.duration
            ));
        }
        if self.no_timestamps && self.format != FetchFormat::Prom {
            return Err("--no-timestamps works with --format prom only".into());
        }
        Ok(())
    }
}

/// The environment variables the command line reads.
pub const ENV_VARS: [&str; 8] = [
    "PANTHEON_API_URL",
    "PANTHEON_MACHINE_TOKENS_FILE",
    "PANTHEON_ENV",
    "ORG_ID",
    "SITE_LIMIT",
    "REFRESH_INTERVAL",
    "LOG_LEVEL",
    "PANTHEON_ALLOWANCES_FILE",
];

/// Treats our environment variables set to an empty value as unset, as the reference
/// exporter does: compose files and Kubernetes manifests often pass `ORG_ID=`.
/// Call it first thing in `main`, before any thread exists.
pub fn drop_empty_env() {
    for name in ENV_VARS {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            // SAFETY: called at the start of main, before the runtime or any other thread
            // starts, so nothing reads the environment concurrently.
            unsafe { std::env::remove_var(name) };
        }
    }
}

/// Flags of the reference Go exporter (`pantheon-metrics-exporter -env=live -port=8080
/// -refreshInterval=60 -debug -siteLimit=10 -orgID=X`) and ours.
const LEGACY_FLAGS: [(&str, &str, bool); 6] = [
    ("env", "--env", false),
    ("port", "--port", false),
    ("refreshInterval", "--refresh-interval", false),
    ("debug", "--debug", true),
    ("siteLimit", "--site-limit", false),
    ("orgID", "--org-id", false),
];

/// Rewrites the reference exporter's command line (Go-style single-dash flags, no
/// subcommand) into `serve` with our flags, so an existing container command keeps working.
/// Any other command line is returned unchanged.
///
/// ```
/// use pantheon_metrics::cli::legacy_args;
/// let args = ["pantheon-metrics", "-env=test", "-port", "9000", "-debug", "-siteLimit=10"];
/// let out: Vec<String> = legacy_args(args.iter().map(|s| s.into()))
///     .into_iter().map(|s| s.into_string().unwrap()).collect();
/// assert_eq!(out, ["pantheon-metrics", "serve", "--env=test", "--port", "9000", "--debug", "--site-limit=10"]);
/// ```
pub fn legacy_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    // Go's flag package takes `-name`, `--name`, `-name=value` and `-name value`.
    let legacy = |arg: &str| -> Option<(&'static str, bool, Option<String>)> {
        let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let (_, ours, is_bool) = LEGACY_FLAGS.iter().find(|(go, _, _)| *go == name)?;
        Some((*ours, *is_bool, value))
    };
    let first = args.get(1).and_then(|a| a.to_str());
    let is_legacy = first.is_some_and(|a| a.starts_with('-') && !a.starts_with("--"))
        && args
            .iter()
            .skip(1)
            .filter_map(|a| a.to_str())
            .any(|a| legacy(a).is_some());
    if !is_legacy {
        return args;
    }
    let mut out: Vec<std::ffi::OsString> = vec![args[0].clone(), "serve".into()];
    for arg in &args[1..] {
        match arg.to_str().and_then(legacy) {
            Some((ours, true, Some(v))) => {
                if matches!(v.as_str(), "true" | "1" | "t" | "T" | "TRUE" | "True") {
                    out.push(ours.into());
                }
            }
            Some((ours, _, Some(v))) => out.push(format!("{ours}={v}").into()),
            Some((ours, _, None)) => out.push(ours.into()),
            None => out.push(arg.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fetch_rejects_weekly_exposition() {
        let cli = Cli::try_parse_from([
            "pantheon-metrics",
            "fetch",
            "--format",
            "prom",
            "--duration",
            "4w",
        ])
        .unwrap();
        let Command::Fetch(args) = cli.command else {
            panic!("not fetch")
        };
        assert!(args.validate().is_err());
    }

    #[test]
    fn bad_duration_is_a_usage_error() {
        let err =
            Cli::try_parse_from(["pantheon-metrics", "fetch", "--duration", "29d"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn shard_must_be_k_of_n() {
        for bad in ["0/3", "4/3", "3", "x/y", "1/0", ""] {
            let err =
                Cli::try_parse_from(["pantheon-metrics", "serve", "--shard", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let cli = Cli::try_parse_from(["pantheon-metrics", "serve", "--shard", "3/3"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.shard.unwrap().to_string(), "3/3");
    }

    #[test]
    fn remote_write_urls_carry_no_credentials() {
        for bad in [
            "ftp://x/y",
            "not a url",
            "http://u:p@host/api/v1/write",
            "http://u@host/",
        ] {
            let err = Cli::try_parse_from(["pantheon-metrics", "serve", "--remote-write", bad])
                .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let err = Cli::try_parse_from([
            "pantheon-metrics",
            "serve",
            "--remote-write-bearer-token-file",
            "/x",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2, "auth without a URL");
        let cli = Cli::try_parse_from([
            "pantheon-metrics",
            "serve",
            "--remote-write",
            "http://127.0.0.1:9090/api/v1/write",
            "--remote-write",
            "https://mimir.example.com/api/v1/push",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.remote_write.len(), 2);
    }

    #[test]
    fn environment_names_are_checked() {
        assert!(validate_environment("live").is_ok());
        assert!(validate_environment("pr-12").is_ok());
        for bad in ["", "LIVE", "../x", "a b", "x\ny"] {
            assert!(validate_environment(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usage_and_serve_share_the_plan_flags() {
        let cli = Cli::try_parse_from([
            "pantheon-metrics",
            "serve",
            "--allowances",
            "a.yml",
            "--watch-threshold",
            "90%",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.plan.allowances, Some(PathBuf::from("a.yml")));
        assert!((args.plan.watch_threshold - 0.9).abs() < 1e-9);
        let cli =
            Cli::try_parse_from(["pantheon-metrics", "usage", "--allowances", "b.yml"]).unwrap();
        let Command::Usage(args) = cli.command else {
            panic!("not usage")
        };
        assert_eq!(args.plan.allowances, Some(PathBuf::from("b.yml")));
        assert!((args.plan.watch_threshold - 0.8).abs() < 1e-9);
        let err = Cli::try_parse_from(["pantheon-metrics", "serve", "--watch-threshold", "0"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn refresh_interval_bare_number_is_minutes() {
        let cli =
            Cli::try_parse_from(["pantheon-metrics", "serve", "--refresh-interval", "5"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.refresh_interval, Duration::from_secs(300));
    }
}
