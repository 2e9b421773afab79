//! Load benchmark: the real `serve` (and `fetch`) binary against the in-process fake API,
//! driven over HTTP on 127.0.0.1 only. Prints a table; BENCHMARKS.md keeps the latest one.
//!
//! ```sh
//! cargo build --release && cargo run --release --example load            # ~8 minutes
//! cargo run --release --example load -- --quick                          # ~2 minutes
//! cargo run --release --example load -- --only backfill,scrape --runs 5
//! ```
//!
//! Flags: `--quick` (one run, fewer sizes), `--runs N` (repetitions; median quoted),
//! `--only LIST` (backfill, scrape, update, economy, cli), `--bin PATH` (default
//! `target/release/pantheon-metrics`), `--markdown PATH` (also write the table there).
//! `--static-server PLAIN GZIP` is internal: the static-file baseline runs as a child
//! process of this example, so it is measured like `serve`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pantheon_metrics::fake::{FakeConfig, FakeServer, RouteKind};
use pantheon_metrics::model::{DAY_SECONDS, Day, MAX_DAYS};
use pantheon_metrics::store::StoredDay;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const LATENCY: Duration = Duration::from_millis(50);
const BACKFILL_SITES: usize = 1_000;
const ACCOUNTS: usize = 2;
const SCRAPERS: usize = 4;
/// `--refresh-interval` of the scrape scenario; the fake's day moves on as often.
const REFRESH: Duration = Duration::from_secs(60);
/// Each scrape variant runs at least this long, so it spans several re-renders.
const SCRAPE_PHASE: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
struct Opts {
    quick: bool,
    runs: usize,
    bin: PathBuf,
    only: Option<Vec<String>>,
    markdown: Option<PathBuf>,
}

impl Opts {
    fn wants(&self, scenario: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|s| s == scenario))
    }
}

fn parse_args() -> Result<Opts, String> {
    let mut opts = Opts {
        quick: false,
        runs: 0,
        bin: PathBuf::from("target/release/pantheon-metrics"),
        only: None,
        markdown: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--runs" => opts.runs = args.next().and_then(|v| v.parse().ok()).ok_or("--runs N")?,
            "--bin" => opts.bin = args.next().ok_or("--bin PATH")?.into(),
            "--only" => {
                opts.only = Some(
                    args.next()
                        .ok_or("--only LIST")?
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            "--markdown" => opts.markdown = Some(args.next().ok_or("--markdown PATH")?.into()),
            "--static-server" => {
                let plain = args.next().ok_or("--static-server PLAIN GZIP")?;
                let gz = args.next().ok_or("--static-server PLAIN GZIP")?;
                static_server(Path::new(&plain), Path::new(&gz));
            }
            "--bench" => {} // passed by `cargo bench --all-targets`; ignored
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if opts.runs == 0 {
        opts.runs = if opts.quick { 1 } else { 3 };
    }
    Ok(opts)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    if !opts.bin.exists() {
        eprintln!(
            "load: {} not found; run `cargo build --release` first",
            opts.bin.display()
        );
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = rt.block_on(run(&opts));
    println!("\n{report}");
    if let Some(path) = &opts.markdown {
        std::fs::write(path, &report).expect("write the markdown table");
        eprintln!("table written to {}", path.display());
    }
}

/// One row of the table.
struct Row {
    scenario: String,
    metric: String,
    runs: Vec<f64>,
    unit: &'static str,
    target: String,
    ok: Option<bool>,
}

impl Row {
    fn new(scenario: &str, metric: &str, runs: Vec<f64>, unit: &'static str) -> Row {
        Row {
            scenario: scenario.into(),
            metric: metric.into(),
            runs,
            unit,
            target: String::new(),
            ok: None,
        }
    }

    fn target(mut self, target: impl Into<String>, ok: bool) -> Row {
        self.target = target.into();
        self.ok = Some(ok);
        self
    }

    fn median(&self) -> f64 {
        median(&self.runs)
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

async fn run(opts: &Opts) -> String {
    let machine = machine();
    eprintln!("{machine}");
    eprintln!(
        "binary: {}  runs: {}  quick: {}",
        opts.bin.display(),
        opts.runs,
        opts.quick
    );
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if opts.wants("backfill") {
        rows.extend(scenario_backfill(opts).await);
    }
    if opts.wants("scrape") {
        let (r, n) = scenario_scrape(opts).await;
        rows.extend(r);
        notes.extend(n);
    }
    if opts.wants("update") {
        rows.extend(scenario_update(opts).await);
    }
    if opts.wants("economy") {
        rows.extend(scenario_economy(opts).await);
    }
    if opts.wants("cli") {
        rows.extend(scenario_cli(opts).await);
    }
    if opts
        .only
        .as_ref()
        .is_some_and(|o| o.iter().any(|s| s == "probe"))
    {
        probe(opts).await;
    }
    let mut out = String::new();
    out.push_str(&format!("{machine}\n"));
    out.push_str(&format!(
        "Release build, {} run(s) per row unless noted (median shown), total {:.0} s.\n\n",
        opts.runs,
        started.elapsed().as_secs_f64()
    ));
    out.push_str("| scenario | metric | median | unit | runs | target | ok |\n");
    out.push_str("|---|---|---:|---|---|---|---|\n");
    for r in &rows {
        let runs: Vec<String> = r.runs.iter().map(|v| fmt_num(*v)).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.metric,
            fmt_num(r.median()),
            r.unit,
            runs.join(", "),
            r.target,
            match r.ok {
                Some(true) => "yes",
                Some(false) => "**NO**",
                None => "",
            }
        ));
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The machine

fn machine() -> String {
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {nproc} CPU(s) (nproc), {model}, {:.1} GiB RAM, Linux {}",
        mem_kb / 1024.0 / 1024.0,
        kernel.trim()
    )
}

// ---------------------------------------------------------------------------------------
// Processes

/// A running `serve` child.
struct ServeProc {
    child: tokio::process::Child,
    port: u16,
    pid: u32,
    http: reqwest::Client,
    _log: tempfile::NamedTempFile,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn tokens(config: &FakeConfig) -> String {
    config
        .accounts
        .iter()
        .map(|a| a.token.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn command(opts: &Opts, fake: &FakeServer, config: &FakeConfig) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&opts.bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PANTHEON_MACHINE_TOKENS", tokens(config))
        .env("NO_COLOR", "1")
        .args(["--api-url", &fake.url(), "--retry-base", "10ms"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

impl ServeProc {
    async fn start(
        opts: &Opts,
        fake: &FakeServer,
        config: &FakeConfig,
        global: &[&str],
        args: &[&str],
    ) -> ServeProc {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("temp file");
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = command(opts, fake, config);
        cmd.args(global)
            .args(["serve", "--listen", &listen])
            .args(args)
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"));
        let child = cmd.spawn().expect("serve started");
        let pid = child.id().expect("pid");
        let serve = ServeProc {
            child,
            port,
            pid,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            _log: log,
        };
        for _ in 0..400 {
            if serve.get("/healthz", false).await.is_ok() {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "serve did not come up: {}",
            std::fs::read_to_string(serve._log.path()).unwrap_or_default()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn get(&self, path: &str, gzip: bool) -> Result<Bytes, BoxError> {
        let mut req = self
            .http
            .get(self.url(path))
            .timeout(Duration::from_secs(300));
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        let resp = req.send().await?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()).into());
        }
        Ok(resp.bytes().await?)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `VmHWM` and `VmRSS` of a process, in bytes.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb * 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn count_prefix(body: &[u8], prefix: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(prefix))
        .count()
}

fn mib(bytes: f64) -> f64 {
    bytes / 1024.0 / 1024.0
}

/// Starts a fake of `accounts` accounts with `sites` sites in all.
async fn fake_world(accounts: usize, sites: usize, latency: Duration) -> (FakeServer, FakeConfig) {
    let config = FakeConfig::generated(accounts, sites / accounts);
    let fake = FakeServer::start(config.clone()).await.expect("fake API");
    fake.set_latency(latency);
    (fake, config)
}

/// Waits until the fake answered `n` traffic requests with 200 (polling its log).
async fn wait_traffic(fake: &FakeServer, n: usize, poll: Duration, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if fake.log().count_status(RouteKind::Traffic, 200) >= n {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "the fake saw fewer than {n} traffic answers within {limit:?}"
        );
        tokio::time::sleep(poll).await;
    }
}

/// Waits until `/metrics` holds `samples` `pantheon_visits` samples.
async fn wait_samples(serve: &ServeProc, samples: usize, poll: Duration, limit: Duration) {
    let start = Instant::now();
    loop {
        if let Ok(body) = serve.get("/metrics", false).await
            && count_prefix(&body, b"pantheon_visits{") >= samples
        {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "/metrics did not reach {samples} samples within {limit:?}"
        );
        tokio::time::sleep(poll).await;
    }
}

/// The sequential list time the fake's log implies: each account's non-traffic requests
/// one after another, all accounts sharing `concurrency` slots.
fn list_time(
    fake: &FakeServer,
    accounts: usize,
    concurrency: usize,
    latency: Duration,
) -> (f64, usize) {
    let log = fake.log();
    let mut per_account = vec![0usize; accounts];
    let mut total = 0;
    for e in log.of(RouteKind::Any) {
        if e.route != RouteKind::Traffic {
            total += 1;
            if let Some(a) = e.account
                && a < accounts
            {
                per_account[a] += 1;
            }
        }
    }
    let max = per_account.iter().copied().max().unwrap_or(0);
    let lat = latency.as_secs_f64();
    let t = (total as f64 * lat / concurrency as f64).max(max as f64 * lat);
    (t, total)
}

// ---------------------------------------------------------------------------------------
// Scenario 1: backfill

async fn scenario_backfill(opts: &Opts) -> Vec<Row> {
    let concurrencies: &[usize] = if opts.quick { &[4, 16] } else { &[1, 4, 16] };
    let mut rows = Vec::new();
    for &c in concurrencies {
        let mut times = Vec::new();
        let mut ratios = Vec::new();
        let mut peaks = Vec::new();
        for run in 0..opts.runs {
            let (fake, config) = fake_world(ACCOUNTS, BACKFILL_SITES, LATENCY).await;
            let ideal_fetch = BACKFILL_SITES as f64 * LATENCY.as_secs_f64() / c as f64;
            let t0 = Instant::now();
            let serve = ServeProc::start(
                opts,
                &fake,
                &config,
                &["--concurrency", &c.to_string()],
                &[],
            )
            .await;
            let limit = Duration::from_secs_f64(ideal_fetch * 3.0 + 30.0);
            wait_traffic(&fake, BACKFILL_SITES, Duration::from_millis(20), limit).await;
            wait_samples(
                &serve,
                BACKFILL_SITES * MAX_DAYS as usize,
                Duration::from_millis(20),
                limit,
            )
            .await;
            let t = t0.elapsed().as_secs_f64();
            let (lists, list_requests) = list_time(&fake, ACCOUNTS, c, LATENCY);
            let log = fake.log();
            let ideal = ideal_fetch + lists;
            let first = log.entries.first().map(|e| e.at).unwrap_or(t0);
            let traffic: Vec<Instant> = log.of(RouteKind::Traffic).map(|e| e.at).collect();
            let (tf, tl) = (traffic[0], traffic[traffic.len() - 1]);
            eprintln!(
                "  phases: start→first request {:.3} s, lists {:.3} s, traffic {:.3} s (first to last arrival), last arrival→visible {:.3} s",
                first.duration_since(t0).as_secs_f64(),
                tf.duration_since(first).as_secs_f64(),
                tl.duration_since(tf).as_secs_f64(),
                t - tl.duration_since(t0).as_secs_f64()
            );
            eprintln!(
                "backfill c={c} run {run}: {t:.2} s (ideal {ideal:.2} s = {ideal_fetch:.2} fetch + {lists:.2} for {list_requests} list/login requests), peak in flight {}",
                log.peak_in_flight
            );
            times.push(t);
            ratios.push(t / ideal);
            peaks.push(log.peak_in_flight as f64);
            serve.stop().await;
            fake.shutdown().await;
        }
        let scenario = format!("1 backfill 1000 sites, 50 ms, c={c}");
        let ratio_ok = ratios.iter().all(|r| *r <= 1.25);
        rows.push(Row::new(&scenario, "time to 28 days for all", times, "s"));
        rows.push(
            Row::new(
                &scenario,
                "time / ideal (sites×50ms/c + lists)",
                ratios,
                "×",
            )
            .target("≤ 1.25", ratio_ok),
        );
        let peak_ok = peaks.iter().all(|p| *p <= c as f64);
        rows.push(
            Row::new(&scenario, "fake's peak in-flight", peaks, "req")
                .target(format!("≤ {c}"), peak_ok),
        );
    }
    rows
}

// ---------------------------------------------------------------------------------------
// Scenario 2: scrape

async fn scenario_scrape(opts: &Opts) -> (Vec<Row>, Vec<String>) {
    let sizes: &[(usize, usize)] = if opts.quick {
        &[(1_000, 2)]
    } else {
        // The fake's per-request cost grows with sites per account; many small accounts
        // keep the 10,000-site build quick. The store is what is measured, not the build.
        &[(1_000, 2), (10_000, 100)]
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut rss_points: Vec<(usize, f64)> = Vec::new();
    for &(sites, accounts) in sizes {
        let requests = if sites >= 10_000 {
            opts.runs.max(3)
        } else {
            (opts.runs * 4).max(8)
        };
        let (fake, config) = fake_world(accounts, sites, Duration::ZERO).await;
        let build = Instant::now();
        let serve = ServeProc::start(
            opts,
            &fake,
            &config,
            &["--concurrency", "16"],
            // Every site is refreshed once a minute, a few each second, so the scrapes below
            // run while the body keeps changing.
            &[
                "--history",
                "always",
                "--refresh-interval",
                &format!("{}s", REFRESH.as_secs()),
                "--tick",
                "1s",
            ],
        )
        .await;
        wait_traffic(
            &fake,
            sites,
            Duration::from_millis(200),
            Duration::from_secs(600),
        )
        .await;
        wait_samples(
            &serve,
            sites * MAX_DAYS as usize,
            Duration::from_millis(300),
            Duration::from_secs(120),
        )
        .await;
        eprintln!(
            "scrape: {sites} sites loaded in {:.1} s",
            build.elapsed().as_secs_f64()
        );
        // Let the last render settle, then read memory before any scrape.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (hwm_loaded, rss_loaded) = memory(serve.pid);
        rss_points.push((sites, rss_loaded));
        let plain = serve.get("/metrics", false).await.expect("plain body");
        let gz = serve.get("/metrics", true).await.expect("gzip body");
        let text = plain.len() as f64;
        eprintln!(
            "scrape: body {:.1} MiB plain, {:.1} MiB gzip; RSS {:.1} MiB (peak {:.1}) before scraping",
            mib(text),
            mib(gz.len() as f64),
            mib(rss_loaded),
            mib(hwm_loaded)
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let plain_path = dir.path().join("metrics.txt");
        let gz_path = dir.path().join("metrics.txt.gz");
        std::fs::write(&plain_path, &plain).expect("write");
        std::fs::write(&gz_path, &gz).expect("write");
        drop((plain, gz));
        let baseline = StaticProc::start(&plain_path, &gz_path).await;

        let scenario = format!("2 scrape {sites} sites ({:.0} MB text)", text / 1e6);
        // From now on every refresh finds a new day (the fake's "yesterday" moves on once
        // per refresh interval), so the serve scrapes race real re-renders.
        let mut moved: Option<Instant> = None;
        let refreshed_before = fake.log().count_status(RouteKind::Traffic, 200);
        let mut measured: BTreeMap<&str, (f64, f64, f64, usize, usize)> = BTreeMap::new();
        for (name, url, pid, gzip) in [
            ("serve plain", serve.url("/metrics"), serve.pid, false),
            ("serve gzip", serve.url("/metrics"), serve.pid, true),
            ("static plain", baseline.url("/plain"), baseline.pid, false),
            ("static gzip", baseline.url("/gzip"), baseline.pid, true),
        ] {
            if moved.is_none_or(|t| t.elapsed() >= REFRESH) {
                fake.advance_clock(Duration::from_secs(DAY_SECONDS as u64));
                moved = Some(Instant::now());
            }
            let cpu0 = cpu_seconds(pid);
            let (latencies, failures) = scrape_parallel(&url, gzip, SCRAPERS, requests).await;
            let cpu = (cpu_seconds(pid) - cpu0) / (latencies.len() + failures).max(1) as f64;
            let p50 = percentile(&latencies, 50.0);
            let p99 = percentile(&latencies, 99.0);
            eprintln!(
                "scrape {sites} {name}: p50 {:.1} ms p99 {:.1} ms, {:.1} ms CPU per scrape, {failures} failed",
                p50 * 1e3,
                p99 * 1e3,
                cpu * 1e3
            );
            measured.insert(name, (p50, p99, cpu, failures, latencies.len() + failures));
            if name == "serve gzip" {
                let refreshed = fake.log().count_status(RouteKind::Traffic, 200) - refreshed_before;
                eprintln!("scrape {sites}: {refreshed} site refreshes during the serve scrapes");
                rows.push(
                    Row::new(
                        &scenario,
                        "site refreshes (each a new day) during the serve scrapes",
                        vec![refreshed as f64],
                        "",
                    )
                    .target("> 0", refreshed > 0),
                );
            }
        }
        let (hwm, _) = memory(serve.pid);
        for kind in ["plain", "gzip"] {
            let (p50, p99, cpu, failures, made) = measured[format!("serve {kind}").as_str()];
            let (sp50, sp99, scpu, _, _) = measured[format!("static {kind}").as_str()];
            for (what, v, sv) in [("p50", p50, sp50), ("p99", p99, sp99)] {
                rows.push(Row::new(
                    &scenario,
                    &format!(
                        "{kind} {what}, {SCRAPERS} parallel scrapers (static file: {:.1} ms)",
                        sv * 1e3
                    ),
                    vec![v * 1e3],
                    "ms",
                ));
            }
            for (what, ratio) in [("p50", p50 / sp50), ("p99", p99 / sp99)] {
                rows.push(
                    Row::new(
                        &scenario,
                        &format!("{kind} {what} / static-file {what}"),
                        vec![ratio],
                        "×",
                    )
                    .target("≤ 2", ratio <= 2.0),
                );
            }
            rows.push(Row::new(
                &scenario,
                &format!(
                    "{kind} CPU per scrape, serve (static file: {:.1} ms)",
                    scpu * 1e3
                ),
                vec![cpu * 1e3],
                "ms",
            ));
            rows.push(
                Row::new(
                    &scenario,
                    &format!("{kind} scrapes failed of {made}"),
                    vec![failures as f64],
                    "",
                )
                .target("0", failures == 0),
            );
        }
        let limit = 3.0 * text + 30.0 * 1024.0 * 1024.0;
        rows.push(
            Row::new(
                &scenario,
                "serve peak RSS (VmHWM, whole life)",
                vec![mib(hwm)],
                "MiB",
            )
            .target(format!("< {:.0} (3×text+30)", mib(limit)), hwm < limit),
        );
        rows.push(Row::new(
            &scenario,
            "serve RSS after backfill, before scrapes",
            vec![mib(rss_loaded)],
            "MiB",
        ));
        notes.push(format!(
            "{sites} sites: {SCRAPERS} scrapers per variant, each making at least {requests} requests and scraping for at least {} s; the percentiles are over all requests of a variant.",
            SCRAPE_PHASE.as_secs()
        ));
        baseline.stop().await;
        serve.stop().await;
        fake.shutdown().await;
    }
    if rss_points.len() >= 2 {
        let (n0, r0) = rss_points[0];
        let (n1, r1) = rss_points[rss_points.len() - 1];
        let per_site = (r1 - r0) / (n1 - n0) as f64;
        rows.push(Row::new(
            "memory per site",
            &format!("RSS slope between {n0} and {n1} sites"),
            vec![per_site],
            "bytes",
        ));
    }
    let estimate = per_site_estimate();
    rows.push(Row::new(
        "memory per site",
        "estimate: store entry + 28 stored days + labels + rendered text",
        vec![estimate as f64],
        "bytes",
    ));
    (rows, notes)
}

/// What one site with 28 days costs, from the types' sizes and a rendered site.
fn per_site_estimate() -> usize {
    use pantheon_metrics::model::Site;
    use pantheon_metrics::render::{SiteFragments, TimestampMode};
    use pantheon_metrics::store::{SiteEntry, SiteKey};
    let site = Site {
        id: pantheon_metrics::fake::fake_uuid("site:gen-0-0"),
        name: "gen-0-0".into(),
        label: "Gen 0 0".into(),
        plan: "Basic".into(),
        framework: "wordpress".into(),
        region: "us-central1".into(),
        ..Site::default()
    };
    let days: Vec<Day> = (0..MAX_DAYS as i64)
        .map(|d| Day {
            timestamp: 1_762_732_800 + d * DAY_SECONDS,
            visits: 1234,
            pages_served: 4321,
            cache_hits: 1000,
            cache_misses: 3321,
        })
        .collect();
    let text =
        SiteFragments::render("gen0@example.com", &site, &days, TimestampMode::Prometheus).len();
    let strings = site.id.len() * 3
        + site.name.len() * 2
        + site.label.len()
        + site.plan.len()
        + site.framework.len()
        + site.region.len();
    std::mem::size_of::<SiteEntry>()
        + std::mem::size_of::<SiteKey>()
        + std::mem::size_of::<Site>()
        + MAX_DAYS as usize * std::mem::size_of::<StoredDay>()
        + strings
        + text
}

/// `n` scrapers in parallel, each making requests one after another: at least `requests`,
/// and for at least [`SCRAPE_PHASE`]. Returns the latency of every request that completed
/// (seconds) and the number that failed.
async fn scrape_parallel(url: &str, gzip: bool, n: usize, requests: usize) -> (Vec<f64>, usize) {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client");
            let mut latencies = Vec::new();
            let mut failures = 0;
            let phase = Instant::now();
            let mut made = 0;
            while made < requests || phase.elapsed() < SCRAPE_PHASE {
                made += 1;
                let start = Instant::now();
                match fetch_len(&client, &url, gzip).await {
                    Ok(len) if len > 0 => latencies.push(start.elapsed().as_secs_f64()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.expect("scraper");
        all.extend(l);
        failures += f;
    }
    (all, failures)
}

/// Reads a whole response, counting bytes without keeping them.
async fn fetch_len(client: &reqwest::Client, url: &str, gzip: bool) -> Result<usize, BoxError> {
    let mut req = client.get(url).timeout(Duration::from_secs(300));
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let mut resp = req.send().await?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()).into());
    }
    let mut len = 0;
    while let Some(chunk) = resp.chunk().await? {
        len += chunk.len();
    }
    Ok(len)
}

/// The static-file baseline: this example re-run as a child with `--static-server`.
struct StaticProc {
    child: tokio::process::Child,
    port: u16,
    pid: u32,
}

impl StaticProc {
    async fn start(plain: &Path, gz: &Path) -> StaticProc {
        use tokio::io::AsyncBufReadExt;
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .arg("--static-server")
            .arg(plain)
            .arg(gz)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("static server");
        let pid = child.id().expect("pid");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("port line");
        let port = line.trim().parse().expect("a port number");
        StaticProc { child, port, pid }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Serves two files from memory with the same hyper stack as `serve`: `/plain` and `/gzip`.
fn static_server(plain: &Path, gz: &Path) -> ! {
    use http_body_util::Full;
    use hyper::{Response, header};
    use hyper_util::rt::TokioIo;
    let plain = Bytes::from(std::fs::read(plain).expect("plain file"));
    let gz = Bytes::from(std::fs::read(gz).expect("gzip file"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (plain, gz) = (plain.clone(), gz.clone());
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (body, gzip) = if req.uri().path() == "/gzip" {
                        (gz.clone(), true)
                    } else {
                        (plain.clone(), false)
                    };
                    async move {
                        let mut resp = Response::new(Full::new(body));
                        resp.headers_mut().insert(
                            header::CONTENT_TYPE,
                            header::HeaderValue::from_static(
                                "text/plain; version=0.0.4; charset=utf-8",
                            ),
                        );
                        if gzip {
                            resp.headers_mut().insert(
                                header::CONTENT_ENCODING,
                                header::HeaderValue::from_static("gzip"),
                            );
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

// ---------------------------------------------------------------------------------------
// Scenario 3: update

async fn scenario_update(opts: &Opts) -> Vec<Row> {
    let updates = if opts.quick { 3 } else { 5 * opts.runs.min(2) };
    let (fake, config) = fake_world(ACCOUNTS, BACKFILL_SITES, Duration::ZERO).await;
    let serve = ServeProc::start(
        opts,
        &fake,
        &config,
        &["--concurrency", "16"],
        // One site per second, every site once in 1000 s.
        &["--refresh-interval", "1000s", "--tick", "1s"],
    )
    .await;
    wait_traffic(
        &fake,
        BACKFILL_SITES,
        Duration::from_millis(50),
        Duration::from_secs(120),
    )
    .await;
    wait_samples(
        &serve,
        BACKFILL_SITES * MAX_DAYS as usize,
        Duration::from_millis(100),
        Duration::from_secs(60),
    )
    .await;
    // From now on every refresh finds a new day (the fake's "yesterday" moves on).
    fake.advance_clock(Duration::from_secs(DAY_SECONDS as u64));
    let names: BTreeMap<String, String> = config
        .sites
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    let mut seen = fake.log().count_status(RouteKind::Traffic, 200);
    let mut latencies = Vec::new();
    while latencies.len() < updates {
        // The next refresh answered by the fake.
        let (site, fetched_at) = loop {
            let log = fake.log();
            let done: Vec<_> = log
                .of(RouteKind::Traffic)
                .filter(|e| e.status == 200)
                .collect();
            if done.len() > seen {
                seen = done.len();
                break (done[done.len() - 1].site_id.clone(), Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let Some(name) = site.and_then(|id| names.get(&id).cloned()) else {
            continue;
        };
        let needle = format!("name=\"{name}\"");
        loop {
            let body = serve.get("/metrics", false).await.expect("metrics");
            let n = body
                .split(|&b| b == b'\n')
                .filter(|l| {
                    l.starts_with(b"pantheon_visits{")
                        && l.windows(needle.len()).any(|w| w == needle.as_bytes())
                })
                .count();
            if n > MAX_DAYS as usize {
                break;
            }
            assert!(
                fetched_at.elapsed() < Duration::from_secs(30),
                "site {name} did not update"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let latency = fetched_at.elapsed().as_secs_f64();
        eprintln!(
            "update: {name} visible {:.0} ms after its refresh",
            latency * 1e3
        );
        latencies.push(latency * 1e3);
        // Skip refreshes that finished while we polled.
        seen = fake.log().count_status(RouteKind::Traffic, 200);
    }
    serve.stop().await;
    fake.shutdown().await;
    vec![Row::new(
        "3 update, 1000 sites",
        "refresh answered → visible in /metrics (200 ms gather by design)",
        latencies,
        "ms",
    )]
}

// ---------------------------------------------------------------------------------------
// Scenario 4: API economy

async fn scenario_economy(opts: &Opts) -> Vec<Row> {
    let _ = opts;
    let interval = 5.0;
    let (fake, config) = fake_world(ACCOUNTS, BACKFILL_SITES, Duration::ZERO).await;
    let serve = ServeProc::start(
        opts,
        &fake,
        &config,
        &["--concurrency", "16"],
        &["--refresh-interval", "5s", "--tick", "500ms"],
    )
    .await;
    // The initial list cycle plus four periodic ones bound three whole cycles.
    let first_pages = |log: &pantheon_metrics::fake::RequestLog| -> Vec<Instant> {
        log.of(RouteKind::UserSites)
            .filter(|e| e.account == Some(0) && e.query_param("start").is_none())
            .map(|e| e.at)
            .collect()
    };
    let start = Instant::now();
    loop {
        let log = fake.log();
        if first_pages(&log).len() >= 5 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "list cycles did not come"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = fake.log();
    serve.stop().await;
    fake.shutdown().await;
    let cycles = first_pages(&log);
    let offset = Duration::from_millis(250);
    let pages_per_list = BACKFILL_SITES / ACCOUNTS / 100 + 1;
    let minimal_lists = ACCOUNTS * (pages_per_list + 1); // site list + (empty) org list
    let mut traffic = Vec::new();
    let mut monthly = Vec::new();
    let mut lists = Vec::new();
    let mut logins = Vec::new();
    let mut whoami = Vec::new();
    for w in cycles[1..].windows(2) {
        let (from, to) = (w[0] + offset, w[1] + offset);
        let within =
            |route: RouteKind| log.of(route).filter(|e| e.at >= from && e.at < to).count() as f64;
        traffic.push(within(RouteKind::Traffic));
        monthly.push(
            log.of(RouteKind::Traffic)
                .filter(|e| e.at >= from && e.at < to && e.query_param("duration") == Some("12m"))
                .count() as f64,
        );
        lists.push(
            within(RouteKind::UserSites)
                + within(RouteKind::UserOrgs)
                + within(RouteKind::OrgSites),
        );
        logins.push(within(RouteKind::Login));
        whoami.push(within(RouteKind::Whoami));
    }
    let total_logins = log.count(RouteKind::Login);
    // Plan usage: each site's monthly series with its backfill, then once per UTC day.
    let total_monthly = log
        .of(RouteKind::Traffic)
        .filter(|e| e.query_param("duration") == Some("12m"))
        .count();
    let days_seen = {
        let first = log.of(RouteKind::Traffic).map(|e| e.at).min();
        let last = log.of(RouteKind::Traffic).map(|e| e.at).max();
        // Whole UTC days the run touched (1, or 2 when it crossed midnight).
        match (first, last) {
            (Some(a), Some(b)) => {
                let now = pantheon_metrics::clock::unix_now().as_secs() as i64;
                let at =
                    |t: Instant| now - Instant::now().saturating_duration_since(t).as_secs() as i64;
                (at(b).div_euclid(86_400) - at(a).div_euclid(86_400) + 1) as usize
            }
            _ => 1,
        }
    };
    eprintln!(
        "economy: monthly requests per cycle {monthly:?}, over the run {total_monthly} ({days_seen} UTC day(s))"
    );
    eprintln!(
        "economy: per cycle traffic {traffic:?}, lists {lists:?}, logins {logins:?}, whoami {whoami:?}; logins over the run {total_logins}"
    );
    let sc = format!("4 API economy, 1000 sites, 3 cycles of {interval:.0} s");
    let all = |v: &[f64], want: f64| v.iter().all(|x| *x == want);
    // Windows are cut by wall clock, so a tick's batch (100 requests taking a few ms) can
    // straddle a window edge; the mean over the three cycles is the economy figure.
    let mean = traffic.iter().sum::<f64>() / traffic.len().max(1) as f64;
    let mean_ok = (mean - BACKFILL_SITES as f64).abs() <= BACKFILL_SITES as f64 * 0.01;
    vec![
        Row::new(
            &sc,
            "traffic requests per cycle (each window)",
            traffic.clone(),
            "req",
        ),
        Row::new(
            &sc,
            "traffic requests per cycle (mean of 3)",
            vec![mean],
            "req",
        )
        .target(format!("= {BACKFILL_SITES} (±1%)"), mean_ok),
        Row::new(
            &sc,
            "monthly (12m) requests per cycle, same UTC day",
            monthly.clone(),
            "req",
        )
        .target("= 0", all(&monthly, 0.0)),
        Row::new(
            &sc,
            "monthly (12m) requests over the run (backfill included)",
            vec![total_monthly as f64],
            "req",
        )
        .target(
            format!("≤ {BACKFILL_SITES} × UTC days ({days_seen})"),
            total_monthly <= BACKFILL_SITES * days_seen && total_monthly >= BACKFILL_SITES,
        ),
        Row::new(&sc, "list requests per cycle", lists.clone(), "req").target(
            format!("= {minimal_lists} ({ACCOUNTS} × ({pages_per_list} site pages + 1 org page))"),
            all(&lists, minimal_lists as f64),
        ),
        Row::new(
            &sc,
            "logins + whoami per cycle",
            logins.iter().zip(&whoami).map(|(a, b)| a + b).collect(),
            "req",
        )
        .target("= 0", all(&logins, 0.0) && all(&whoami, 0.0)),
        Row::new(
            &sc,
            "logins over the whole run",
            vec![total_logins as f64],
            "req",
        )
        .target(format!("= {ACCOUNTS}"), total_logins == ACCOUNTS),
    ]
}

// ---------------------------------------------------------------------------------------
// Scenario 5: CLI fetch

async fn scenario_cli(opts: &Opts) -> Vec<Row> {
    let concurrencies: &[usize] = if opts.quick { &[16] } else { &[1, 4, 16] };
    let mut rows = Vec::new();
    for &c in concurrencies {
        // Concurrency 1 takes 50 s a run: once is enough.
        let runs = if c == 1 { 1 } else { opts.runs };
        let mut times = Vec::new();
        let mut ratios = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..runs {
            let (fake, config) = fake_world(ACCOUNTS, BACKFILL_SITES, LATENCY).await;
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("traffic.prom");
            let mut cmd = command(opts, &fake, &config);
            cmd.args([
                "--concurrency",
                &c.to_string(),
                "fetch",
                "--format",
                "prom",
                "--output",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
            let t0 = Instant::now();
            let result = cmd.output().await.expect("fetch ran");
            let t = t0.elapsed().as_secs_f64();
            assert!(
                result.status.success(),
                "fetch failed: {}",
                String::from_utf8_lossy(&result.stderr)
            );
            let body = std::fs::read(&out).expect("output file");
            assert_eq!(
                count_prefix(&body, b"pantheon_visits{"),
                BACKFILL_SITES * MAX_DAYS as usize
            );
            let (lists, _) = list_time(&fake, ACCOUNTS, c, LATENCY);
            let ideal = BACKFILL_SITES as f64 * LATENCY.as_secs_f64() / c as f64 + lists;
            eprintln!("cli fetch c={c}: {t:.2} s (ideal {ideal:.2} s)");
            times.push(t);
            ratios.push(t / ideal);
            peaks.push(fake.log().peak_in_flight as f64);
            fake.shutdown().await;
        }
        let sc = format!("5 CLI fetch --format prom, 1000 sites, 50 ms, c={c}");
        let ok = ratios.iter().all(|r| *r <= 1.25);
        let peak_ok = peaks.iter().all(|p| *p <= c as f64);
        rows.push(Row::new(&sc, "wall time", times, "s"));
        rows.push(
            Row::new(&sc, "time / ideal (sites×50ms/c + lists)", ratios, "×").target("≤ 1.25", ok),
        );
        rows.push(
            Row::new(&sc, "fake's peak in-flight", peaks, "req").target(format!("≤ {c}"), peak_ok),
        );
    }
    rows
}

/// Diagnostics (`--only probe`): per-request time of the CLI fetch at concurrency 1 and 4.
async fn probe(opts: &Opts) {
    for (c, lat, accounts, sites) in [
        (1usize, LATENCY, 1, 200),
        (4, LATENCY, 1, 200),
        (1, Duration::ZERO, 1, 200),
        (1, Duration::ZERO, ACCOUNTS, BACKFILL_SITES),
    ] {
        let (fake, config) = fake_world(accounts, sites, lat).await;
        let mut cmd = command(opts, &fake, &config);
        cmd.args(["--concurrency", &c.to_string(), "fetch", "--format", "prom"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t0 = Instant::now();
        cmd.status().await.expect("fetch");
        let t = t0.elapsed().as_secs_f64();
        let log = fake.log();
        let at: Vec<Instant> = log.of(RouteKind::Traffic).map(|e| e.at).collect();
        let span = at[at.len() - 1].duration_since(at[0]).as_secs_f64();
        eprintln!(
            "probe {sites} sites over {accounts} account(s), c={c} latency {lat:?}: {t:.2} s total, traffic span {span:.2} s, {:.2} ms per request per slot",
            span / (at.len() - 1) as f64 * c as f64 * 1e3
        );
        fake.shutdown().await;
    }
}
