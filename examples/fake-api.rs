//! Runs the fake Pantheon API on its own, optionally with faults switched on, for manual
//! runs and the soak script:
//!
//! ```sh
//! cargo run --release --example fake-api -- --port 18080 --tokens-file /tmp/tokens --faults
//! PANTHEON_MACHINE_TOKENS_FILE=/tmp/tokens pantheon-metrics --api-url http://127.0.0.1:18080/api serve
//! ```
//!
//! Two switches reproduce what corrupted history in the past (see `scripts/heal.sh`):
//!
//! - `--rebuild-at-start 15s` opens Pantheon's daily rebuild window (every traffic answer
//!   all zeros) from the start for that long, then closes it, so an exporter started
//!   inside a rebuild can be checked for the zeros it kept.
//! - `--cut-traffic 0.25` cuts a quarter of the traffic answers in the middle (a `200`
//!   whose JSON is truncated), drawn from the fake's seeded RNG.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pantheon_metrics::fake::{FakeConfig, FakeServer, FaultAction, FaultRule, RouteKind};
use tokio::time::Instant;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Generated world: this many sites per account (default: the demo world).
    #[arg(long)]
    sites: Option<usize>,
    #[arg(long, default_value_t = 2)]
    accounts: usize,
    /// Write the machine tokens here, one per line.
    #[arg(long)]
    tokens_file: Option<std::path::PathBuf>,
    /// Switch faults on: 10% 5xx, 429s with and without Retry-After, hangs, resets,
    /// truncated and non-JSON bodies, short sessions, revocations and rebuild windows.
    #[arg(long)]
    faults: bool,
    /// Added to every answer.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Open the rebuild window (all-zero traffic answers) from the start for this long.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    rebuild_at_start: Option<Duration>,
    /// Probability (0-1) that a traffic answer is cut in the middle.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    cut_traffic: f64,
}

fn parse_probability(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{value:?} is not a probability between 0 and 1")),
    }
}

fn rule(route: RouteKind, action: FaultAction, probability: f64) -> FaultRule {
    FaultRule {
        probability,
        ..FaultRule::new(route, action, None)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut config = match args.sites {
        Some(n) => FakeConfig::generated(args.accounts, n),
        None => FakeConfig::demo(),
    };
    config.latency = args.latency;
    if args.faults {
        config.session_ttl = Duration::from_secs(120);
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let server = FakeServer::start_on(addr, config.clone()).await?;
    // Opened before the tokens are written, so a client that waits for them (as the
    // scripts do) never sees an answer from outside the window.
    let started = Instant::now();
    let start_window_end = args.rebuild_at_start.map(|d| started + d);
    if start_window_end.is_some() {
        server.set_rebuild(true);
    }
    if let Some(path) = &args.tokens_file {
        let tokens: Vec<String> = config.accounts.iter().map(|a| a.token.clone()).collect();
        std::fs::write(path, tokens.join("\n") + "\n")?;
    }
    println!(
        "fake Pantheon API at {} ({} sites)",
        server.url(),
        config.sites.len()
    );
    if args.faults {
        for status in [500, 502, 503, 504] {
            server.add_fault(rule(RouteKind::Any, FaultAction::status(status), 0.025));
        }
        let too_many = |retry_after: Option<&str>| FaultAction::Status {
            status: 429,
            retry_after: retry_after.map(str::to_string),
            body: "\"Too many requests\"".into(),
        };
        server.add_fault(rule(RouteKind::Traffic, too_many(Some("2")), 0.02));
        server.add_fault(rule(RouteKind::Traffic, too_many(None), 0.01));
        server.add_fault(rule(
            RouteKind::Traffic,
            FaultAction::Hang(Duration::from_secs(40)),
            0.005,
        ));
        server.add_fault(rule(RouteKind::Any, FaultAction::ResetMidBody, 0.01));
        server.add_fault(rule(RouteKind::Traffic, FaultAction::Truncated, 0.01));
        server.add_fault(rule(RouteKind::UserSites, FaultAction::NotJson, 0.02));
        server.add_fault(rule(RouteKind::Login, FaultAction::Truncated, 0.02));
        println!("faults on: 10% 5xx, 429s, hangs, resets, broken bodies, 2-minute sessions");
    }
    if args.cut_traffic > 0.0 {
        server.add_fault(rule(
            RouteKind::Traffic,
            FaultAction::Truncated,
            args.cut_traffic,
        ));
        println!("cut traffic answers: {:.0}%", args.cut_traffic * 100.0);
    }
    if let Some(d) = args.rebuild_at_start {
        println!("rebuild window open for {}", humantime::format_duration(d));
    }
    // The start-up window closes at its own instant; the report stays on the minute.
    let mut start_window_open = start_window_end.is_some();
    let mut periodic_window = false;
    let mut minute = 0u64;
    loop {
        let next_minute = started + Duration::from_secs(60 * (minute + 1));
        match start_window_end {
            Some(end) if start_window_open && end < next_minute => {
                tokio::time::sleep_until(end).await;
                start_window_open = false;
                server.set_rebuild(periodic_window);
                println!(
                    "rebuild window closed after {:.1}s",
                    started.elapsed().as_secs_f64()
                );
                continue;
            }
            _ => tokio::time::sleep_until(next_minute).await,
        }
        minute += 1;
        if args.faults {
            // A rebuild window of 2 minutes every 10, and early revocations every 7.
            periodic_window = minute % 10 == 5 || minute % 10 == 6;
            server.set_rebuild(periodic_window || start_window_open);
            if minute % 7 == 0 {
                server.revoke_sessions();
            }
        }
        let log = server.log();
        let errors = log
            .entries
            .iter()
            .filter(|e| e.status >= 400 || e.status == 0)
            .count();
        println!(
            "minute {minute}: {} requests, {errors} faulted or failed, peak in flight {}",
            log.entries.len(),
            log.peak_in_flight
        );
        server.reset_log();
    }
}
