//! End-to-end tests with the real tools around the exporter: `promtool`, Prometheus and
//! node_exporter scrape, lint and backfill what `pantheon-metrics` produces, and the shipped
//! deploy files (dashboard, rules, configs, systemd units, compose file) are checked against
//! them.
//!
//! Run with `cargo test --features e2e`. A missing tool fails the test (never skips it) with
//! the command that installs it: `apt-get install prometheus prometheus-node-exporter`
//! (and `systemd` for `systemd-analyze`).
#![cfg(feature = "e2e")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeConfig, HOSTILE_LABEL, traffic_for};
use pantheon_metrics::model::{DAY_SECONDS, Day};
use pantheon_metrics::render::DayValue;
use pantheon_metrics::render::families::family;
use serde_json::Value;
use support::*;

const INSTALL: &str = "apt-get install prometheus prometheus-node-exporter";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The five traffic gauges of the exposition contract.
const METRICS: [&str; 5] = FAMILY_NAMES;

// ---------------------------------------------------------------------------------------
// Tools and processes

/// The path of a required tool; panics (fails the test) with how to install it.
fn promtool() -> PathBuf {
    require_tool(&["promtool"], INSTALL)
}

/// One finished run of an external tool.
struct Tool {
    ok: bool,
    code: Option<i32>,
    output: String,
}

/// Runs `program args`, with `stdin` fed when given, within 120 s.
async fn run_tool(program: &Path, args: &[&str], stdin: Option<&[u8]>) -> Tool {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} {args:?} did not finish in 120 s", program.display()))
        .unwrap();
    Tool {
        ok: out.status.success(),
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `promtool ARGS`, which must succeed.
async fn promtool_ok(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run_tool(&promtool(), args, stdin).await;
    assert!(
        out.ok,
        "promtool {args:?} failed (exit {:?}):\n{}",
        out.code, out.output
    );
    out.output
}

/// `promtool check metrics` on `text`: must pass with no complaint at all.
async fn check_metrics(what: &str, text: &str) {
    let out = run_tool(&promtool(), &["check", "metrics"], Some(text.as_bytes())).await;
    assert!(
        out.ok && out.output.trim().is_empty(),
        "promtool check metrics complained about {what} (exit {:?}):\n{}",
        out.code,
        out.output
    );
}

/// Runs the binary in demo mode (`--demo ARGS`); must exit 0.
async fn demo(args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .arg("--demo")
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("pantheon-metrics finished within 120 s")
    .expect("pantheon-metrics ran");
    assert!(
        out.status.success(),
        "pantheon-metrics --demo {args:?} exited {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `serve --demo` on a free port, once every demo site's 28 days are in `/metrics`.
async fn serve_demo(world: &DemoWorld) -> Serve {
    let serve = Serve::start("http://127.0.0.1:9/unused", &[], &["--demo"]).await;
    let expected = world.with_data().count() * 28;
    let with_data = world.with_data().count();
    serve
        .wait_metrics(Duration::from_secs(60), |t| {
            samples(t, "pantheon_visits").len() == expected
                // Plan usage: each site's monthly series follows its backfill.
                && samples(t, pantheon_metrics::usage::report::GAUGES[0].0).len() == with_data
        })
        .await;
    serve
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A Prometheus server with its own data folder and a free loopback port.
struct Prometheus {
    _child: tokio::process::Child,
    port: u16,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML) and `data` as its TSDB (a fresh folder when
    /// `None`), and waits until it is ready.
    async fn start(config: &str, data: Option<&Path>) -> Prometheus {
        let binary = require_tool(&["prometheus"], INSTALL);
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let data = data.map_or_else(|| dir.path().join("data"), Path::to_path_buf);
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = tokio::process::Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Past days must survive: the default is 15 days.
            .arg("--storage.tsdb.retention.time=1y")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus started");
        let prom = Prometheus {
            _child: child,
            port,
            dir,
            http: http(),
        };
        let start = Instant::now();
        loop {
            let ready = prom
                .http
                .get(prom.url("/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prom;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Prometheus was not ready within 30 s:\n{}",
                prom.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path` with `params`; the JSON answer, which must be `status: success`.
    async fn api(&self, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
        let resp = self
            .http
            .get(self.url(path))
            .query(params)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
        if status != 200 || body["status"] != "success" {
            return Err(format!("GET {path} {params:?}: HTTP {status}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// An instant query (at `time`, or now).
    async fn query(&self, expr: &str, time: Option<i64>) -> Result<Value, String> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", t.to_string()));
        }
        self.api("/api/v1/query", &params).await
    }

    /// An instant query whose result is a vector: (labels, value) per series.
    async fn vector(&self, expr: &str, time: Option<i64>) -> Vector {
        let data = self
            .query(expr, time)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
        assert_eq!(data["resultType"], "vector", "{expr}: {data}");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (labels_of(&r["metric"]), number(&r["value"][1])))
            .collect()
    }

    /// Polls `expr` until `ok` holds for its vector, or panics after `limit`.
    async fn wait_vector(
        &self,
        expr: &str,
        limit: Duration,
        ok: impl Fn(&[Sample]) -> bool,
    ) -> Vector {
        let start = Instant::now();
        loop {
            let v = self.vector(expr, None).await;
            if ok(&v) {
                return v;
            }
            assert!(
                start.elapsed() < limit,
                "{expr}: condition not met within {limit:?}; last result: {v:?}\nPrometheus log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

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

/// A Prometheus config that scrapes `target` every second as job `pantheon`.
fn scrape_config(target: &str, out_of_order: bool) -> String {
    let storage = if out_of_order {
        "storage:\n  tsdb:\n    out_of_order_time_window: 30d\n"
    } else {
        ""
    };
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{storage}\
         scrape_configs:\n  - job_name: pantheon\n    scrape_timeout: 1s\n    \
         static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

/// A config with nothing to scrape (for querying backfilled blocks).
const NO_SCRAPES: &str = "global:\n  scrape_interval: 1m\nscrape_configs: []\n";

// ---------------------------------------------------------------------------------------
// What the demo world holds

/// One demo site as `sites --format json` lists it.
#[derive(Clone, Debug)]
struct DemoSite {
    account: String,
    id: String,
    name: String,
    label: String,
    plan: String,
}

struct DemoWorld {
    sites: Vec<DemoSite>,
    /// Site ids whose traffic answer is empty (no samples at all).
    empty: BTreeSet<String>,
}

impl DemoWorld {
    async fn load() -> DemoWorld {
        let json: Value = serde_json::from_str(&demo(&["sites", "--format", "json"]).await)
            .expect("sites --format json is JSON");
        let sites = json
            .as_array()
            .expect("an array of sites")
            .iter()
            .map(|s| DemoSite {
                account: s["account"].as_str().unwrap().into(),
                id: s["id"].as_str().unwrap().into(),
                name: s["name"].as_str().unwrap().into(),
                label: s["label"].as_str().unwrap().into(),
                plan: s["plan"].as_str().unwrap().into(),
            })
            .collect::<Vec<_>>();
        assert!(
            sites.len() > 30,
            "the demo world lists {} sites",
            sites.len()
        );
        DemoWorld {
            sites,
            empty: FakeConfig::demo().empty_traffic.into_iter().collect(),
        }
    }

    /// The sites that have traffic (every site but the "no data yet" ones).
    fn with_data(&self) -> impl Iterator<Item = &DemoSite> {
        self.sites.iter().filter(|s| !self.empty.contains(&s.id))
    }
}

/// 00:00 UTC of the fake's newest day: yesterday.
fn newest_day() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now - now.rem_euclid(DAY_SECONDS) - DAY_SECONDS
}

/// The value the fake serves for `metric` on `day`; `None` where the contract has no sample
/// (a hit ratio on a day with no pages served).
fn expected(day: &Day, metric: &str) -> Option<f64> {
    family(metric)
        .unwrap_or_else(|| panic!("unknown metric {metric}"))
        .value(day)
        .map(DayValue::as_f64)
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// Days since the epoch, as a date, for messages.
fn date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Checks one metric's vector (from Prometheus) against the fake for `day`, for every demo
/// site with data; returns the mismatches.
fn compare_day(world: &DemoWorld, metric: &str, day: i64, got: &[Sample]) -> Vec<String> {
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, (&BTreeMap<String, String>, f64)> = got
        .iter()
        .map(|(l, v)| (l.get("name").map(String::as_str).unwrap_or(""), (l, *v)))
        .collect();
    for site in world.with_data() {
        let want = expected(&traffic_for(&site.id, "live", day), metric);
        match (want, by_name.get(site.name.as_str())) {
            (Some(w), Some((labels, v))) => {
                if !same(w, *v) {
                    problems.push(format!(
                        "{metric}{{name={}}} on {}: Prometheus has {v}, the fake served {w}",
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
                            "{metric}{{name={}}}: label {key} is {:?}, expected {value:?}",
                            site.name,
                            labels.get(key)
                        ));
                    }
                }
            }
            (Some(w), None) => problems.push(format!(
                "{metric}{{name={}}} on {}: no sample (the fake served {w})",
                site.name,
                date(day)
            )),
            (None, Some((_, v))) => problems.push(format!(
                "{metric}{{name={}}} on {}: has {v}, but no pages were served",
                site.name,
                date(day)
            )),
            (None, None) => {}
        }
    }
    let known: BTreeSet<&str> = world.with_data().map(|s| s.name.as_str()).collect();
    for name in by_name.keys() {
        if !known.contains(name) {
            problems.push(format!("{metric}: unexpected series for site {name:?}"));
        }
    }
    problems
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Lint: promtool on every format it reads

#[tokio::test]
async fn promtool_accepts_fetch_prom_and_no_timestamps_output() {
    let prom = demo(&["fetch", "--format", "prom"]).await;
    assert!(
        prom.contains("name=\"ada-best-blog\""),
        "the demo's hostile label is in the output"
    );
    check_metrics("fetch --format prom", &prom).await;

    let textfile = demo(&["fetch", "--format", "prom", "--no-timestamps"]).await;
    check_metrics("fetch --format prom --no-timestamps", &textfile).await;
}

#[tokio::test]
async fn promtool_accepts_a_scrape_of_serve() {
    let world = DemoWorld::load().await;
    let serve = serve_demo(&world).await;
    let scrape = serve.get("/metrics").await;
    assert_eq!(scrape.status, 200);
    let text = scrape.text();
    assert!(text.contains("pantheon_exporter_build_info"));
    check_metrics("serve's /metrics", &text).await;
}

// ---------------------------------------------------------------------------------------
// Prometheus scraping serve

#[tokio::test]
async fn prometheus_scrapes_serve_with_every_site_and_the_history() {
    let world = DemoWorld::load().await;
    let serve = serve_demo(&world).await;
    let target = format!("127.0.0.1:{}", serve.port);
    // One Prometheus as it comes, one with the out-of-order window history needs.
    let (plain_config, ooo_config) = (scrape_config(&target, false), scrape_config(&target, true));
    let (plain, ooo) = tokio::join!(
        Prometheus::start(&plain_config, None),
        Prometheus::start(&ooo_config, None)
    );
    let sites = world.with_data().count();
    let newest = newest_day();

    for prom in [&plain, &ooo] {
        // Scraped, up, no error.
        let start = Instant::now();
        loop {
            let targets = prom.api("/api/v1/targets", &[]).await.unwrap();
            let active = targets["activeTargets"].as_array().unwrap();
            assert!(active.len() <= 1, "{targets}");
            let t = active.first().unwrap_or(&Value::Null);
            if t["health"] == "up" {
                assert_eq!(t["labels"]["job"], "pantheon");
                assert_eq!(t["lastError"], "", "scrape error: {t}");
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "target not up within 30 s: {t}\n{}",
                prom.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        prom.wait_vector("up{job=\"pantheon\"}", Duration::from_secs(10), |v| {
            v.len() == 1 && v[0].1 == 1.0
        })
        .await;

        // Every metric for every site, with the newest day's values.
        prom.wait_vector("count(pantheon_visits)", Duration::from_secs(30), |v| {
            v.len() == 1 && v[0].1 == sites as f64
        })
        .await;
        let mut problems = Vec::new();
        for metric in METRICS {
            let got = prom.vector(metric, None).await;
            problems.extend(compare_day(&world, metric, newest, &got));
        }
        assert_no_problems(problems);

        // The hostile label arrives intact.
        let ada = prom
            .vector("pantheon_visits{name=\"ada-best-blog\"}", None)
            .await;
        assert_eq!(ada.len(), 1);
        assert_eq!(ada[0].0["label"], HOSTILE_LABEL);

        // The target stayed healthy after several scrapes carrying old timestamps.
        let targets = prom.api("/api/v1/targets", &[]).await.unwrap();
        let t = &targets["activeTargets"][0];
        assert_eq!(t["health"], "up", "{t}");
        assert_eq!(t["lastError"], "", "{t}");
    }

    // Without out_of_order_time_window, Prometheus drops the past days (out of bounds) of
    // every scrape once its head has moved on (only a first scrape into an empty TSDB gets
    // through), yet the scrape succeeds (checked above): the README's warning.
    let start = Instant::now();
    loop {
        let own = plain.http.get(plain.url("/metrics")).send().await.unwrap();
        let own = own.text().await.unwrap();
        let dropped: f64 = [
            "prometheus_target_scrapes_sample_out_of_bounds_total",
            "prometheus_target_scrapes_sample_out_of_order_total",
        ]
        .iter()
        .filter_map(|m| scalar(&own, m))
        .sum();
        if dropped > 0.0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Prometheus without the window dropped no past-day sample in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let t = &plain.api("/api/v1/targets", &[]).await.unwrap()["activeTargets"][0];
    assert_eq!(
        (&t["health"], &t["lastError"]),
        (&"up".into(), &"".into()),
        "{t}"
    );

    // With out_of_order_time_window, every past day is stored at its date. Each day's
    // sample sits at 00:00 UTC; last_over_time over a day, evaluated a few hours later,
    // picks exactly that day's sample.
    let oldest = newest - 27 * DAY_SECONDS;
    let mut problems = Vec::new();
    for metric in METRICS {
        let data = ooo
            .api(
                "/api/v1/query_range",
                &[
                    ("query", format!("last_over_time({metric}[1d])")),
                    ("start", (oldest + 3 * 3600).to_string()),
                    ("end", (newest - DAY_SECONDS + 3 * 3600).to_string()),
                    ("step", DAY_SECONDS.to_string()),
                ],
            )
            .await
            .unwrap();
        let mut per_day: BTreeMap<i64, Vector> = BTreeMap::new();
        for series in data["result"].as_array().unwrap() {
            let labels = labels_of(&series["metric"]);
            for point in series["values"].as_array().unwrap() {
                let t = point[0].as_f64().unwrap() as i64 - 3 * 3600;
                per_day
                    .entry(t)
                    .or_default()
                    .push((labels.clone(), number(&point[1])));
            }
        }
        let mut day = oldest;
        while day < newest {
            let got = per_day.remove(&day).unwrap_or_default();
            problems.extend(compare_day(&world, metric, day, &got));
            day += DAY_SECONDS;
        }
    }
    // And with plain instant queries at a past day.
    let ten_days_ago = newest - 10 * DAY_SECONDS;
    let got = ooo
        .vector(
            "last_over_time(pantheon_visits[1d])",
            Some(ten_days_ago + 3 * 3600),
        )
        .await;
    problems.extend(compare_day(&world, "pantheon_visits", ten_days_ago, &got));
    assert_no_problems(problems);
}

// ---------------------------------------------------------------------------------------
// Backfill with promtool

#[tokio::test]
async fn openmetrics_output_backfills_prometheus() {
    let world = DemoWorld::load().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.om");
    let data = dir.path().join("data");
    demo(&[
        "fetch",
        "--format",
        "openmetrics",
        "--output",
        file.to_str().unwrap(),
    ])
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    promtool_ok(
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            file.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        None,
    )
    .await;

    let prom = Prometheus::start(NO_SCRAPES, Some(&data)).await;
    let newest = newest_day();
    let mut problems = Vec::new();
    for back in [0, 10, 27] {
        let day = newest - back * DAY_SECONDS;
        for metric in METRICS {
            let got = prom
                .vector(
                    &format!("last_over_time({metric}[1d])"),
                    Some(day + 3 * 3600),
                )
                .await;
            problems.extend(compare_day(&world, metric, day, &got));
        }
    }
    assert_no_problems(problems);
    let ada = prom
        .vector(
            "last_over_time(pantheon_visits{name=\"ada-best-blog\"}[1d])",
            Some(newest - 10 * DAY_SECONDS + 3 * 3600),
        )
        .await;
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0].0["label"], HOSTILE_LABEL);
}

// ---------------------------------------------------------------------------------------
// node_exporter's textfile collector

#[tokio::test]
async fn node_exporter_textfile_collector_reads_fetch_output() {
    let binary = require_tool(&["prometheus-node-exporter", "node_exporter"], INSTALL);
    let world = DemoWorld::load().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.prom");
    demo(&[
        "fetch",
        "--format",
        "prom",
        "--no-timestamps",
        "--output",
        file.to_str().unwrap(),
    ])
    .await;
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "pantheon.prom")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let _exporter = tokio::process::Command::new(binary)
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            dir.path().display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("node_exporter started");
    let client = http();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let start = Instant::now();
    let text = loop {
        if let Ok(resp) = client.get(&url).send().await {
            if resp.status().is_success() {
                break resp.text().await.unwrap();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "node_exporter did not answer within 20 s:\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(
        scalar(&text, "node_textfile_scrape_error"),
        Some(0.0),
        "node_textfile_scrape_error:\n{}\nlog:\n{}",
        text.lines()
            .filter(|l| l.starts_with("node_textfile"))
            .collect::<Vec<_>>()
            .join("\n"),
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    let newest = newest_day();
    let mut problems = Vec::new();
    for metric in METRICS {
        // node_exporter re-encodes the file: its values may take any float form.
        let got: Vector = parsed_samples(&text, metric)
            .into_iter()
            .map(|s| {
                assert!(s.timestamp.is_none(), "a timestamp in the textfile: {s:?}");
                let value = s.number();
                (s.labels.into_iter().collect(), value)
            })
            .collect();
        problems.extend(compare_day(&world, metric, newest, &got));
    }
    assert_no_problems(problems);
    check_metrics("node_exporter's /metrics with the textfile", &text).await;
}

// ---------------------------------------------------------------------------------------
// The Grafana dashboard against a real Prometheus

#[tokio::test]
async fn grafana_dashboard_queries_all_return_data() {
    let path = Path::new(ROOT).join("deploy/grafana/pantheon-overview.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("the dashboard is JSON");

    let world = DemoWorld::load().await;
    let serve = serve_demo(&world).await;
    let prom = Prometheus::start(
        &scrape_config(&format!("127.0.0.1:{}", serve.port), true),
        None,
    )
    .await;
    prom.wait_vector("count(pantheon_visits)", Duration::from_secs(30), |v| {
        v.len() == 1 && v[0].1 == world.with_data().count() as f64
    })
    .await;

    let api = PromApi::new(&format!("http://127.0.0.1:{}", prom.port));
    let names: BTreeSet<&str> = dash["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for required in ["account", "plan"] {
        assert!(names.contains(required), "no template variable {required}");
    }

    let exprs = dashboard_exprs(&dash);
    assert!(exprs.len() >= 10, "only {} queries", exprs.len());
    let used: String = exprs.iter().map(|(_, e)| e.as_str()).collect();
    for metric in METRICS.iter().chain(&[
        "pantheon_exporter_account_up",
        "pantheon_exporter_site_refresh_errors_total",
        "pantheon_exporter_backfill_pending_sites",
        "up{",
    ]) {
        assert!(used.contains(metric), "the dashboard does not use {metric}");
    }
    for (metric, _, _) in pantheon_metrics::usage::report::GAUGES {
        assert!(used.contains(metric), "the dashboard does not use {metric}");
    }

    // Each must parse and return data (variables substituted); rates need a few scrapes.
    let failures = dashboard_failures(&api, &dash, Duration::from_secs(20)).await;
    assert!(
        failures.is_empty(),
        "dashboard queries failing:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Deploy files

fn deploy(path: &str) -> PathBuf {
    Path::new(ROOT).join(path)
}

#[tokio::test]
async fn prometheus_rules_and_configs_pass_promtool() {
    promtool_ok(
        &[
            "check",
            "rules",
            deploy("deploy/prometheus/alerts.yml").to_str().unwrap(),
        ],
        None,
    )
    .await;
    let out = promtool_ok(
        &[
            "test",
            "rules",
            deploy("deploy/prometheus/alerts_test.yml")
                .to_str()
                .unwrap(),
        ],
        None,
    )
    .await;
    assert!(out.contains("SUCCESS"), "{out}");
    for config in [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/prometheus.compose.yml",
    ] {
        let out = promtool_ok(&["check", "config", deploy(config).to_str().unwrap()], None).await;
        assert!(out.contains("1 rule files found"), "{config}: {out}");
        let text = std::fs::read_to_string(deploy(config)).unwrap();
        assert!(
            text.contains("out_of_order_time_window"),
            "{config} keeps history"
        );
    }
}

fn yaml(path: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

#[test]
fn compose_file_and_grafana_provisioning_are_consistent() {
    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_mapping().expect("compose services");
    for name in ["pantheon-metrics", "prometheus", "grafana"] {
        assert!(
            services.contains_key(name),
            "docker-compose.yml has no service {name}"
        );
    }
    // Every bind mount's source exists in the repository.
    for (name, service) in services {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let spec = volume.as_str().expect("short volume syntax");
            let source = spec.split(':').next().unwrap();
            if let Some(rel) = source.strip_prefix("./") {
                assert!(
                    deploy(rel).exists(),
                    "service {name:?} mounts {source}, which does not exist"
                );
            }
        }
    }
    // The compose Prometheus runs the config checked by promtool.
    let command: Vec<&str> = services["prometheus"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        command.contains(&"--config.file=/etc/prometheus/pantheon/prometheus.compose.yml"),
        "{command:?}"
    );
    // Compose reads the variables from .env, documented in .env.example.
    let env_example = std::fs::read_to_string(deploy(".env.example")).unwrap();
    let compose_text = std::fs::read_to_string(deploy("docker-compose.yml")).unwrap();
    for var in compose_text.split("${").skip(1) {
        let name: String = var
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            env_example.contains(&format!("{name}=")),
            ".env.example does not document {name}"
        );
    }
    // Every environment variable the CLI reads is documented in .env.example.
    let cli = std::fs::read_to_string(deploy("src/cli.rs")).unwrap();
    for var in cli.split("env = \"").skip(1) {
        let name = var.split('"').next().unwrap();
        assert!(
            env_example.contains(&format!("{name}=")),
            ".env.example does not document {name}"
        );
    }

    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let ds = &datasources["datasources"][0];
    assert_eq!(ds["type"].as_str(), Some("prometheus"));
    assert_eq!(ds["url"].as_str(), Some("http://prometheus:9090"));
    let dashboards = yaml("deploy/grafana/provisioning/dashboards/pantheon.yml");
    let folder = dashboards["providers"][0]["options"]["path"]
        .as_str()
        .expect("provider path");
    let grafana_volumes: Vec<&str> = services["grafana"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        grafana_volumes.iter().any(|v| v
            == &format!(
                "./deploy/grafana/pantheon-overview.json:{folder}/pantheon-overview.json:ro"
            )),
        "the dashboard is mounted where the provider reads ({folder}): {grafana_volumes:?}"
    );

    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("deploy/grafana/pantheon-overview.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(dash["uid"], "pantheon-overview");
}

#[tokio::test]
async fn systemd_units_verify() {
    let analyze = require_tool(&["systemd-analyze"], "apt-get install systemd");
    // `verify` wants ExecStart's binary to exist: check copies pointing at the built one.
    let dir = tempfile::tempdir().unwrap();
    let units = [
        "pantheon-metrics.service",
        "pantheon-metrics-textfile.service",
        "pantheon-metrics-textfile.timer",
    ];
    for unit in units {
        let text = std::fs::read_to_string(deploy(&format!("deploy/systemd/{unit}"))).unwrap();
        std::fs::write(
            dir.path().join(unit),
            text.replace("/usr/local/bin/pantheon-metrics", BIN),
        )
        .unwrap();
    }
    let service =
        std::fs::read_to_string(deploy("deploy/systemd/pantheon-metrics.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/pantheon-metrics serve",
        "EnvironmentFile=/etc/pantheon-metrics/pantheon-metrics.env",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "DynamicUser=yes",
    ] {
        assert!(service.contains(line), "the service lacks {line}");
    }
    let paths: Vec<String> = units
        .iter()
        .map(|u| dir.path().join(u).display().to_string())
        .collect();
    let mut args = vec!["verify", "--man=no"];
    args.extend(paths.iter().map(String::as_str));
    let out = run_tool(&analyze, &args, None).await;
    assert!(
        out.ok && out.output.trim().is_empty(),
        "systemd-analyze verify (exit {:?}):\n{}",
        out.code,
        out.output
    );
    // The hardening keeps the exposure score low ("OK" is below 2.0... keep a margin).
    let out = run_tool(
        &analyze,
        &["security", "--offline=true", "--threshold=25", &paths[0]],
        None,
    )
    .await;
    assert!(
        out.ok,
        "systemd-analyze security (exit {:?}):\n{}",
        out.code, out.output
    );
}
