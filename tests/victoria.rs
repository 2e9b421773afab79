//! VictoriaMetrics around the exporter: its own scraper and `vmagent` scrape `serve`,
//! `serve --remote-write` pushes into it (through an outage of the store), `fetch --format
//! prom` goes in through its import API, `vmalert` runs the shipped alert rules against it,
//! and the Grafana dashboard's queries run on it. Every past day must land at its 00:00 UTC
//! date with the fake API's value.
//!
//! Run with `cargo test --features e2e --test victoria`. A missing tool fails the test
//! (never skips it) with the command that installs it: `apt-get install victoria-metrics`
//! (the package brings `victoria-metrics`, `vmagent` and `vmalert`).
#![cfg(feature = "e2e")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeConfig, FakeServer, FakeSite, traffic_for};
use pantheon_metrics::model::{DAY_SECONDS, day_start};
use pantheon_metrics::render::DayValue;
use pantheon_metrics::render::families::family;
use serde_json::Value;
use support::*;

const INSTALL: &str = "apt-get install victoria-metrics";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The five traffic gauges of the exposition contract.
const METRICS: [&str; 5] = FAMILY_NAMES;

// ---------------------------------------------------------------------------------------
// The programs

/// One program of the VictoriaMetrics package on a free loopback port, its files (data,
/// log) in a temporary folder. It can be stopped and started again on the same port and
/// folder.
struct Daemon {
    program: PathBuf,
    args: Vec<String>,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    http: reqwest::Client,
}

impl Daemon {
    /// `name`, found in PATH, not started yet.
    fn new(name: &str) -> Daemon {
        Daemon {
            program: require_tool(&[name], INSTALL),
            args: Vec::new(),
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    /// Starts the program with its arguments and waits until `/health` answers.
    async fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("log"))
            .unwrap();
        let child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        self.child = Some(child);
        let start = Instant::now();
        loop {
            let healthy = self
                .http
                .get(self.url("/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none() && start.elapsed() < Duration::from_secs(30),
                "{} did not come up within 30 s ({exited:?}):\n{}",
                self.program.display(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits for the exit; the folder keeps its data.
    async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        signal_term(&child);
        if tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

fn signal_term(child: &tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s TERM {pid}");
}

/// Single-node VictoriaMetrics, set up so what arrives is queryable at once: no 30 s
/// latency offset for recent points, no response cache hiding backfilled past days, a
/// year's retention (the default month is close to the 28 days). No deduplication: two
/// different values stored for one day must stay visible to [`Victoria::conflicts`].
struct Victoria {
    daemon: Daemon,
    api: PromApi,
}

impl Victoria {
    /// Starts it, scraping with `scrape` (a `-promscrape.config` YAML) when given.
    async fn start(scrape: Option<&str>) -> Victoria {
        let mut daemon = Daemon::new("victoria-metrics");
        daemon.args = vec![
            format!("-storageDataPath={}", daemon.path("data").display()),
            "-retentionPeriod=1y".into(),
            "-search.latencyOffset=0".into(),
            "-search.disableCache".into(),
        ];
        if let Some(config) = scrape {
            std::fs::write(daemon.path("scrape.yml"), config).unwrap();
            daemon.args.push(format!(
                "-promscrape.config={}",
                daemon.path("scrape.yml").display()
            ));
        }
        daemon.run().await;
        let api = PromApi::new(&daemon.url(""));
        Victoria { daemon, api }
    }

    fn url(&self, path: &str) -> String {
        self.daemon.url(path)
    }

    fn log(&self) -> String {
        self.daemon.log()
    }

    /// Makes the samples buffered in memory searchable now (they are within a second).
    async fn flush(&self) {
        let _ = self
            .daemon
            .http
            .get(self.url("/internal/force_flush"))
            .send()
            .await;
    }

    /// An instant query's vector (at `time`, or now).
    async fn vector(&self, expr: &str, time: Option<i64>) -> Result<Vector, String> {
        let data = self.api.query(expr, time).await?;
        if data["resultType"] != "vector" {
            return Err(format!("{expr}: not a vector: {data}"));
        }
        Ok(data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (labels_of(&r["metric"]), number(&r["value"][1])))
            .collect())
    }

    /// A range query from `start` to `end` stepping `step` seconds: the vector at each step.
    async fn range(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<BTreeMap<i64, Vector>, String> {
        let data = self
            .api
            .api(
                "/api/v1/query_range",
                &[
                    ("query", expr.to_string()),
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                    ("step", step.to_string()),
                    ("nocache", "1".into()),
                ],
            )
            .await?;
        let mut at: BTreeMap<i64, Vector> = BTreeMap::new();
        for series in data["result"].as_array().unwrap() {
            let labels = labels_of(&series["metric"]);
            for point in series["values"].as_array().unwrap() {
                at.entry(point[0].as_f64().unwrap() as i64)
                    .or_default()
                    .push((labels.clone(), number(&point[1])));
            }
        }
        Ok(at)
    }

    /// The raw samples of every traffic series (`/api/v1/export`): labels, then (Unix ms,
    /// value) pairs as stored, duplicates included.
    async fn export(&self) -> Vec<(BTreeMap<String, String>, Vec<(i64, f64)>)> {
        let selector = format!("{{__name__=~\"{}\"}}", METRICS.join("|"));
        let resp = self
            .daemon
            .http
            .post(self.url("/api/v1/export"))
            .form(&[("match[]", selector)])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "export: HTTP {}", resp.status());
        let text = resp.text().await.unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let values = v["values"].as_array().unwrap();
                let times = v["timestamps"].as_array().unwrap();
                assert_eq!(values.len(), times.len(), "{l}");
                let points = times
                    .iter()
                    .zip(values)
                    // A staleness marker comes as null.
                    .map(|(t, v)| (t.as_i64().unwrap(), v.as_f64().unwrap_or(f64::NAN)))
                    .collect();
                (labels_of(&v["metric"]), points)
            })
            .collect()
    }

    /// Days (samples at 00:00 UTC) a series holds with two different values, read from the
    /// raw samples: VictoriaMetrics keeps whatever arrives, so a day pushed or scraped
    /// again with another value would show here.
    async fn conflicts(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (labels, points) in self.export().await {
            let mut by_time: BTreeMap<i64, BTreeSet<u64>> = BTreeMap::new();
            for (t, v) in points {
                if t.rem_euclid(DAY_SECONDS * 1000) == 0 {
                    by_time.entry(t).or_default().insert(v.to_bits());
                }
            }
            for (t, values) in by_time {
                if values.len() > 1 {
                    let values: Vec<f64> = values.into_iter().map(f64::from_bits).collect();
                    problems.push(format!(
                        "{labels:?} at {}: {values:?}",
                        date(t.div_euclid(1000))
                    ));
                }
            }
        }
        problems
    }

    /// POSTs `text` (the Prometheus text format) to `/api/v1/import/prometheus`.
    async fn import(&self, text: &str) {
        let resp = self
            .daemon
            .http
            .post(self.url("/api/v1/import/prometheus"))
            .body(text.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "import: HTTP {}", resp.status());
    }

    /// The value of an instant query that yields one series, now.
    async fn scalar_now(&self, expr: &str) -> Option<f64> {
        let v = self.vector(expr, None).await.ok()?;
        (v.len() == 1).then(|| v[0].1)
    }
}

/// `vmagent` scraping with `scrape` (a `-promscrape.config` YAML) and writing to `into`.
async fn vmagent(scrape: &str, into: &Victoria) -> Daemon {
    let mut agent = Daemon::new("vmagent");
    std::fs::write(agent.path("scrape.yml"), scrape).unwrap();
    agent.args = vec![
        format!("-promscrape.config={}", agent.path("scrape.yml").display()),
        format!("-remoteWrite.url={}", into.url("/api/v1/write")),
        format!("-remoteWrite.tmpDataPath={}", agent.path("queue").display()),
        "-remoteWrite.flushInterval=200ms".into(),
    ];
    agent.run().await;
    agent
}

/// A scrape config for job `pantheon` at `target`, every second. `honor_timestamps` is
/// spelled out: VictoriaMetrics 1.93 and later ignore a target's timestamps without it.
fn scrape_config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: pantheon\n    honor_timestamps: true\n    \
         static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

// ---------------------------------------------------------------------------------------
// The fake world and what it served

/// One series of an instant vector: its labels and value.
type Sample = (BTreeMap<String, String>, f64);
type Vector = Vec<Sample>;

fn labels_of(metric: &Value) -> BTreeMap<String, String> {
    metric
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn number(v: &Value) -> f64 {
    let s = v.as_str().expect("a sample value string");
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

/// One site as `sites --format json` lists it: the labels its series must carry.
#[derive(Clone, Debug)]
struct Site {
    account: String,
    id: String,
    name: String,
    label: String,
    plan: String,
}

/// The fake API, its tokens and the sites it serves.
struct World {
    fake: FakeServer,
    tokens: Vec<String>,
    sites: Vec<Site>,
}

impl World {
    /// A few dozen sites over three accounts.
    async fn start() -> World {
        let config = FakeConfig::generated(3, 12);
        let tokens = tokens_of(&config);
        let fake = FakeServer::start(config).await.unwrap();
        let mut world = World {
            fake,
            tokens,
            sites: Vec::new(),
        };
        world.reload().await;
        assert_eq!(world.sites.len(), 36);
        world
    }

    /// Reads the site list again (after sites were added to the fake).
    async fn reload(&mut self) {
        let out = run(&self.fake, &self.tokens, &["sites", "--format", "json"]).await;
        assert_eq!(out.code, 0, "sites: {}", out.stderr);
        let json: Value = serde_json::from_str(&out.stdout).expect("sites --format json");
        self.sites = json
            .as_array()
            .expect("an array of sites")
            .iter()
            .map(|s| Site {
                account: s["account"].as_str().unwrap().into(),
                id: s["id"].as_str().unwrap().into(),
                name: s["name"].as_str().unwrap().into(),
                label: s["label"].as_str().unwrap().into(),
                plan: s["plan"].as_str().unwrap().into(),
            })
            .collect();
    }
}

/// 00:00 UTC of the fake's newest day: yesterday.
fn newest_day() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    day_start(now) - DAY_SECONDS
}

/// The past days a scrape or an import carries with their dates: the 27 before the newest.
fn past_days() -> Vec<i64> {
    let newest = newest_day();
    (1..28)
        .rev()
        .map(|back| newest - back * DAY_SECONDS)
        .collect()
}

/// The days remote write pushes at their dates: final ones, older than `--refresh-duration`
/// (2d: the newest day and the one before may still change).
fn final_days() -> Vec<i64> {
    let newest = newest_day();
    (2..28)
        .rev()
        .map(|back| newest - back * DAY_SECONDS)
        .collect()
}

/// Days since the epoch, as a date, for messages.
fn date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// The value the fake serves for `metric` on `day`; `None` where the contract has no sample
/// (a hit ratio on a day with no pages served).
fn expected(site: &Site, metric: &str, day: i64) -> Option<f64> {
    family(metric)
        .unwrap_or_else(|| panic!("unknown metric {metric}"))
        .value(&traffic_for(&site.id, "live", day))
        .map(DayValue::as_f64)
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// One metric's vector against the fake's values for `day`: every site's value and labels,
/// and no series for anything else.
fn compare(world: &World, metric: &str, day: i64, got: &[Sample], what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for sample in got {
        let name = sample.0.get("name").map_or("", String::as_str);
        by_name.entry(name).or_default().push(sample);
    }
    for site in &world.sites {
        let want = expected(site, metric, day);
        let found = by_name.remove(site.name.as_str()).unwrap_or_default();
        match (want, found.as_slice()) {
            (Some(w), [(labels, v)]) => {
                if !same(w, *v) {
                    problems.push(format!(
                        "{what}: {metric}{{name={}}} on {} is {v}, the fake served {w}",
                        site.name,
                        date(day)
                    ));
                }
                for (key, value) in [
                    ("account", &site.account),
                    ("label", &site.label),
                    ("plan", &site.plan),
                ] {
                    if labels.get(key) != Some(value) {
                        problems.push(format!(
                            "{what}: {metric}{{name={}}}: label {key} is {:?}, expected {value:?}",
                            site.name,
                            labels.get(key)
                        ));
                    }
                }
            }
            (None, []) => {}
            (Some(w), []) => problems.push(format!(
                "{what}: {metric}{{name={}}} on {}: no sample (the fake served {w})",
                site.name,
                date(day)
            )),
            (_, found) => problems.push(format!(
                "{what}: {metric}{{name={}}} on {}: {found:?}, expected {want:?}",
                site.name,
                date(day)
            )),
        }
    }
    for (name, found) in by_name {
        problems.push(format!(
            "{what}: {metric} on {}: unexpected series for site {name:?}: {found:?}",
            date(day)
        ));
    }
    problems
}

/// What `vm` holds that differs from the fake: every family of every site at each of
/// `days`, read at the day's 00:00 UTC (a range query stepping a day, each point seeing the
/// minute up to it), and the newest day as the current value.
async fn history_problems(vm: &Victoria, world: &World, days: &[i64], what: &str) -> Vec<String> {
    let (first, last) = (days[0], days[days.len() - 1]);
    let mut problems = Vec::new();
    for metric in METRICS {
        // A plain selector would show a day without a sample (a hit ratio when nothing was
        // served) with the day before's value: VictoriaMetrics carries a value across gaps
        // up to the interval it detects between samples, here a day.
        let expr = format!("last_over_time({metric}[1m])");
        let mut at = match vm.range(&expr, first, last, DAY_SECONDS).await {
            Ok(at) => at,
            Err(e) => return vec![e],
        };
        for &day in days {
            let got = at.remove(&day).unwrap_or_default();
            problems.extend(compare(world, metric, day, &got, what));
        }
        if !at.is_empty() {
            problems.push(format!("{what}: {metric} at other times: {at:?}"));
        }
        match vm.vector(metric, None).await {
            Ok(now) => problems.extend(compare(world, metric, newest_day(), &now, what)),
            Err(e) => problems.push(e),
        }
    }
    problems
}

/// Polls until `vm` holds every family of every site at each of `days` and the newest day
/// now, or panics after `limit` with what is missing or wrong.
async fn wait_history(vm: &Victoria, world: &World, days: &[i64], what: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        vm.flush().await;
        let problems = history_problems(vm, world, days, what).await;
        if problems.is_empty() {
            return;
        }
        if start.elapsed() > limit {
            panic!(
                "{} problems after {limit:?}, e.g.:\n{}\nVictoriaMetrics log:\n{}",
                problems.len(),
                problems[..problems.len().min(20)].join("\n"),
                vm.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
}

fn assert_no_conflicts(problems: Vec<String>, what: &str) {
    assert!(
        problems.is_empty(),
        "{what}: {} days stored with two values:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
}

/// Sample lines in an exposition (comments and blank lines aside).
fn sample_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

// ---------------------------------------------------------------------------------------
// Scraping: VictoriaMetrics' own scraper, and vmagent writing into a second one

/// `serve ARGS` on the world, scraped every second by VictoriaMetrics (`direct`) and by
/// vmagent writing into a second VictoriaMetrics (`agent_vm`); returns once both hold every
/// past day of every site at its date.
struct Scraped {
    world: World,
    serve: Serve,
    direct: Victoria,
    agent_vm: Victoria,
    _agent: Daemon,
}

async fn scraped(args: &[&str]) -> Scraped {
    let world = World::start().await;
    // The demo's allowances cover the generated world's plans, so the plan-usage gauges
    // (and the dashboard's plan-usage row) have data.
    let allowances = Path::new(ROOT).join("src/usage/demo-allowances.yml");
    let mut args = args.to_vec();
    args.extend(["--allowances", allowances.to_str().unwrap()]);
    let serve = Serve::start(&world.fake.url(), &world.tokens, &args).await;
    let config = scrape_config(&format!("127.0.0.1:{}", serve.port));
    let (direct, agent_vm) = tokio::join!(Victoria::start(Some(&config)), Victoria::start(None));
    let agent = vmagent(&config, &agent_vm).await;
    let (limit, days) = (Duration::from_secs(60), past_days());
    tokio::join!(
        wait_history(&direct, &world, &days, "scraped", limit),
        wait_history(&agent_vm, &world, &days, "via vmagent", limit),
    );
    Scraped {
        world,
        serve,
        direct,
        agent_vm,
        _agent: agent,
    }
}

#[tokio::test]
async fn scraped_with_history_always_every_day_lands_and_the_dashboard_works() {
    // Refreshes keep going (a site or two a second), so the API rates and latencies the
    // dashboard draws have data: with no request in the rate window, VictoriaMetrics
    // answers histogram_quantile with nothing where Prometheus answers NaN.
    let s = scraped(&[
        "--history",
        "always",
        "--refresh-interval",
        "20s",
        "--tick",
        "1s",
    ])
    .await;
    // Every scrape repeats the past days at their dates: the same values, never others.
    for (vm, what) in [(&s.direct, "scraped"), (&s.agent_vm, "via vmagent")] {
        assert_no_conflicts(vm.conflicts().await, what);
        let up = vm.scalar_now("up{job=\"pantheon\"}").await;
        assert_eq!(up, Some(1.0), "{what}: up\n{}", vm.log());
    }
    // The README's way to read a day: last_over_time over a day, at 03:00 of that day.
    let day = newest_day() - 10 * DAY_SECONDS;
    let got = s
        .direct
        .vector("last_over_time(pantheon_visits[1d])", Some(day + 3 * 3600))
        .await
        .unwrap();
    assert_no_problems(compare(&s.world, "pantheon_visits", day, &got, "at 03:00"));

    // The Grafana dashboard's queries, variables substituted, as against Prometheus.
    let path = Path::new(ROOT).join("deploy/grafana/pantheon-overview.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("the dashboard is JSON");
    let exprs = dashboard_exprs(&dash);
    assert!(exprs.len() >= 10, "only {} queries", exprs.len());
    let failures = dashboard_failures(&s.direct.api, &dash, Duration::from_secs(20)).await;
    assert!(
        failures.is_empty(),
        "dashboard queries failing on VictoriaMetrics:\n{}\nlog:\n{}",
        failures.join("\n"),
        s.direct.log()
    );
}

#[tokio::test]
async fn scraped_with_history_bootstrap_keeps_every_day_and_then_one_sample_per_series() {
    let s = scraped(&["--history", "bootstrap", "--history-window", "15s"]).await;
    let series = s.world.sites.len();
    // After the window, the exporter serves each series' newest day only.
    let text = s
        .serve
        .wait_metrics(Duration::from_secs(60), |t| {
            METRICS.iter().all(|m| {
                let found = samples(t, m);
                found.iter().all(|(_, _, ts)| ts.is_none())
                    && found
                        .iter()
                        .map(|(l, _, _)| l)
                        .collect::<BTreeSet<_>>()
                        .len()
                        == found.len()
            }) && samples(t, "pantheon_visits").len() == series
        })
        .await;
    // One sample per site and family at most (the plan-usage gauges and the self-metrics
    // are other families).
    let daily: usize = METRICS.iter().map(|m| samples(&text, m).len()).sum();
    assert!(
        daily <= series * METRICS.len(),
        "{daily} daily samples:\n{text}"
    );
    // Both scrapers see the short scrapes: samples scraped equals the lines served.
    for (vm, what) in [(&s.direct, "scraped"), (&s.agent_vm, "via vmagent")] {
        let start = Instant::now();
        loop {
            vm.flush().await;
            let served = sample_count(&s.serve.get("/metrics").await.text());
            let scraped = vm
                .scalar_now("scrape_samples_scraped{job=\"pantheon\"}")
                .await;
            if scraped == Some(served as f64) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{what}: scrape_samples_scraped is {scraped:?}, /metrics has {served} samples"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    // Nothing stored during the window is lost, and nothing is stored twice differently.
    // (The scrape that first leaves the past days out makes VictoriaMetrics write
    // staleness markers at its time for the samples gone from it; the next scrape's value
    // follows a second later, hence a short wait for the current value.)
    for (vm, what) in [(&s.direct, "scraped"), (&s.agent_vm, "via vmagent")] {
        wait_history(vm, &s.world, &past_days(), what, Duration::from_secs(10)).await;
        assert_no_conflicts(vm.conflicts().await, what);
    }
}

// ---------------------------------------------------------------------------------------
// Remote write, through an outage of the store

#[tokio::test]
async fn remote_write_lands_every_final_day_through_an_outage() {
    let mut world = World::start().await;
    let mut vm = Victoria::start(None).await;
    let write = vm.url("/api/v1/write");
    // Short cycles: the site lists are read every 3 s, so sites added during the outage
    // are backfilled (and queued) while the store is down.
    let serve = Serve::start(
        &world.fake.url(),
        &world.tokens,
        &[
            "--remote-write",
            &write,
            "--refresh-interval",
            "3s",
            "--tick",
            "1s",
            "--remote-write-max-backoff",
            "1s",
        ],
    )
    .await;
    wait_history(
        &vm,
        &world,
        &final_days(),
        "remote write",
        Duration::from_secs(60),
    )
    .await;

    // The store goes down; sites appear meanwhile; their history waits in the queue.
    vm.daemon.stop().await;
    let late: Vec<FakeSite> = (0..3)
        .map(|i| FakeSite::new(&format!("late-{i:03}")))
        .collect();
    for site in &late {
        world.fake.add_site(0, site.clone());
    }
    serve
        .wait_metrics(Duration::from_secs(60), |t| {
            samples(t, "pantheon_visits")
                .iter()
                .filter(|(l, _, _)| l.contains("name=\"late-"))
                .count()
                == 3 * 28
                && remote_metric(t, "pantheon_exporter_remote_write_queue_length")
                    .is_some_and(|n| n >= 3.0 * 26.0 * 4.0)
        })
        .await;
    let start = Instant::now();
    while !serve.log_text().contains("remote write failed; retrying") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the outage was not noticed:\n{}",
            serve.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Back on the same data folder: what was stored before and what was queued are there.
    vm.daemon.run().await;
    world.reload().await;
    assert_eq!(world.sites.len(), 39);
    wait_history(
        &vm,
        &world,
        &final_days(),
        "after the outage",
        Duration::from_secs(60),
    )
    .await;
    assert_no_conflicts(vm.conflicts().await, "remote write");
    let text = serve.get("/metrics").await.text();
    for (metric, want) in [
        ("pantheon_exporter_remote_write_samples_dropped_total", 0.0),
        ("pantheon_exporter_remote_write_samples_failed_total", 0.0),
    ] {
        assert_eq!(
            remote_metric(&text, metric),
            Some(want),
            "{metric}\n{}",
            serve.log_text()
        );
    }
    let sent = remote_metric(&text, "pantheon_exporter_remote_write_samples_sent_total");
    assert!(
        sent.is_some_and(|n| n >= 39.0 * 26.0 * 4.0),
        "samples sent: {sent:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Import: fetch --format prom through the import API

#[tokio::test]
async fn fetch_prom_imports_into_victoriametrics() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.prom");
    // The README's commands: fetch to a file, then POST it to /api/v1/import/prometheus.
    let out = run(
        &world.fake,
        &world.tokens,
        &[
            "fetch",
            "--format",
            "prom",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "fetch: {}", out.stderr);
    let vm = Victoria::start(None).await;
    let text = std::fs::read_to_string(&file).unwrap();
    vm.import(&text).await;
    wait_history(
        &vm,
        &world,
        &past_days(),
        "imported",
        Duration::from_secs(30),
    )
    .await;
    // A second run's import stores the same values again: duplicates, not conflicts.
    vm.import(&text).await;
    vm.flush().await;
    assert_no_conflicts(vm.conflicts().await, "imported twice");

    // The conflict check sees a day stored with another value.
    let (series, time) = text
        .lines()
        .filter(|l| l.starts_with("pantheon_visits{"))
        .filter_map(|l| l.rsplit_once('}'))
        .find_map(|(series, rest)| Some((series, rest.split_whitespace().nth(1)?)))
        .expect("a timestamped sample");
    vm.import(&format!("{series}}} 123456789 {time}\n")).await;
    let start = Instant::now();
    loop {
        vm.flush().await;
        let conflicts = vm.conflicts().await;
        if !conflicts.is_empty() {
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert!(conflicts[0].contains("123456789"), "{conflicts:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a day with two values went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------
// The alert rules in vmalert

/// An Alertmanager stand-in: records the body of every request.
async fn alertmanager() -> (String, Arc<Mutex<Vec<String>>>) {
    use warp::Filter;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let route = warp::body::bytes().map(move |body: bytes::Bytes| {
        record
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&body).into_owned());
        warp::reply()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn vmalert_evaluates_every_rule_and_fires_exporter_down() {
    let rules_path = Path::new(ROOT).join("deploy/prometheus/alerts.yml");
    let rules = std::fs::read_to_string(&rules_path).unwrap();
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rules).unwrap();
    let alerts: BTreeSet<String> = parsed["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter_map(|r| r["alert"].as_str().map(String::from))
        .collect();
    assert!(alerts.contains("PantheonExporterDown"), "{alerts:?}");
    // Short intervals: the exporter-down alert waits 1 s instead of 5 minutes.
    assert_eq!(rules.matches("for: 5m").count(), 1, "one 5-minute alert");
    let down_rule = rules.find("alert: PantheonExporterDown").unwrap();
    assert!(rules[down_rule..].find("for: 5m") < rules[down_rule..].find("- alert:"));
    let short_rules = rules.replace("for: 5m", "for: 1s");

    let world = World::start().await;
    let mut serve = Serve::start(&world.fake.url(), &world.tokens, &[]).await;
    let vm = Victoria::start(Some(&scrape_config(&format!("127.0.0.1:{}", serve.port)))).await;
    let (notifier, notified) = alertmanager().await;
    let mut vmalert = Daemon::new("vmalert");
    std::fs::write(vmalert.path("alerts.yml"), short_rules).unwrap();
    vmalert.args = vec![
        format!("-rule={}", vmalert.path("alerts.yml").display()),
        format!("-datasource.url={}", vm.url("")),
        format!("-notifier.url={notifier}"),
        "-evaluationInterval=1s".into(),
    ];
    // The exporter is scraped before vmalert starts: every rule sees its data.
    let start = Instant::now();
    while vm.scalar_now("up{job=\"pantheon\"}").await != Some(1.0) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not scraped:\n{}",
            vm.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vmalert.run().await;
    let api = PromApi::new(&vmalert.url(""));

    // Every alert loads and evaluates without an error; the exporter-down one stays quiet.
    let start = Instant::now();
    loop {
        let data = api.api("/api/v1/rules", &[]).await.unwrap();
        let rules: Vec<&Value> = data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        let loaded: BTreeSet<String> = rules
            .iter()
            .filter(|r| r["type"] == "alerting")
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(loaded, alerts, "vmalert loaded other alerts");
        for rule in &rules {
            assert_eq!(rule["lastError"], "", "{rule}\n{}", vmalert.log());
            assert_ne!(rule["health"], "err", "{rule}");
            assert_ne!(
                (&rule["name"], &rule["state"]),
                (&"PantheonExporterDown".into(), &"firing".into())
            );
        }
        let evaluated = rules.iter().all(|r| {
            r["health"] == "ok"
                && r["lastEvaluation"]
                    .as_str()
                    .is_some_and(|t| !t.starts_with("0001-"))
        });
        if evaluated {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "not every rule evaluated: {data}\n{}",
            vmalert.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The exporter stops: the alert fires and reaches the notifier.
    signal_term(&serve.child);
    let _ = serve.child.wait().await;
    let start = Instant::now();
    loop {
        let data = api.api("/api/v1/alerts", &[]).await.unwrap();
        let firing = data["alerts"].as_array().into_iter().flatten().any(|a| {
            a["name"] == "PantheonExporterDown"
                && a["state"] == "firing"
                && a["labels"]["job"] == "pantheon"
        });
        let sent = notified
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains("PantheonExporterDown"));
        if firing && sent {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "PantheonExporterDown did not fire (firing {firing}, notified {sent}): {data}\n{}",
            vmalert.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
