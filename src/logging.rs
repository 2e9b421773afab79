//! Logs go to stderr, as text or one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    pub const ALL: [LogFormat; 2] = [LogFormat::Text, LogFormat::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    /// ```
    /// use pantheon_metrics::logging::LogFormat;
    /// assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
    /// assert!("xml".parse::<LogFormat>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown log format {s:?}: use text or json"))
    }
}

/// Sets up the global subscriber. `default` is the level when neither `--log-level`,
/// `RUST_LOG` nor `--debug` says otherwise. `--debug` turns on this crate's debug events
/// (each API request) without the HTTP stack's own noise.
pub fn init(format: LogFormat, level: Option<&str>, debug: bool, default: &str) {
    let mut filter = match level {
        Some(l) => EnvFilter::try_new(l).unwrap_or_else(|e| {
            eprintln!("warning: ignoring invalid --log-level {l:?}: {e}");
            EnvFilter::new(default)
        }),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
    };
    // The fake API's server (demo, tests) logs dropped connections as errors at shutdown.
    if let Ok(directive) = "warp::server=off".parse() {
        filter = filter.add_directive(directive);
    }
    if debug {
        if let Ok(directive) = "pantheon_metrics=debug".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
