//! `serve --remote-write` against a real Prometheus (2.42 or later) started with
//! `--web.enable-remote-write-receiver` and a 30-day out-of-order window.
//!
//! Run with `cargo test --features e2e --test remote_write_e2e`. A missing `prometheus`
//! fails the test (never skips it): `apt-get install prometheus`.
#![cfg(feature = "e2e")]

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeServer, FakeSite, traffic_for};
use pantheon_metrics::model::{DAY_SECONDS, day_start};
use serde_json::Value;
use support::*;

const CONFIG: &str = "global:\n  scrape_interval: 1m\n\
                      storage:\n  tsdb:\n    out_of_order_time_window: 30d\n\
                      scrape_configs: []\n";

fn prometheus_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .expect("prometheus not found in PATH; the e2e suite needs it: apt-get install prometheus")
}

/// A Prometheus that receives remote writes, on a fixed port and data folder so it can be
/// stopped and started again.
struct Receiver {
    child: Option<tokio::process::Child>,
    port: u16,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Receiver {
    async fn new() -> Receiver {
        let mut r = Receiver {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        };
        r.start().await;
        r
    }

    fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn start(&mut self) {
        let config = self.dir.path().join("prometheus.yml");
        std::fs::write(&config, CONFIG).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("prometheus.log"))
            .unwrap();
        let child = tokio::process::Command::new(prometheus_binary())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--web.enable-remote-write-receiver")
            .arg("--storage.tsdb.retention.time=1y")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus started");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            let ready = self
                .http
                .get(format!("http://127.0.0.1:{}/-/ready", self.port))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Prometheus was not ready within 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then waits for the exit (its data stays in the folder).
    async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("running").to_string();
        let _ = std::process::Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status();
        if tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// The value of `expr` at `time` (Unix seconds), or now; `None` when it has no sample.
    async fn value(&self, expr: &str, time: Option<i64>) -> Option<f64> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", t.to_string()));
        }
        let resp = self
            .http
            .get(format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .query(&params)
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        let result = body["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{expr}: more than one series: {body}");
        result
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse().ok())
    }

    /// Polls until every `(expr, time, accepted values)` holds, or panics after `limit`.
    async fn wait_values(&self, checks: &[Check], limit: Duration) {
        let start = Instant::now();
        loop {
            let mut wrong = Vec::new();
            for (expr, time, accepted) in checks {
                let got = self.value(expr, *time).await;
                if !got.is_some_and(|g| accepted.iter().any(|a| (g - a).abs() < 1e-9)) {
                    wrong.push(format!("{expr} @ {time:?}: got {got:?}, want {accepted:?}"));
                }
            }
            if wrong.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "not in Prometheus within {limit:?}:\n{}\nPrometheus log:\n{}",
                wrong.join("\n"),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// An expression, the time to evaluate it at (`None`: now) and the values accepted.
type Check = (String, Option<i64>, Vec<f64>);

/// 00:00 UTC `n` days before today.
fn days_back(n: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    day_start(now) - n * DAY_SECONDS
}

/// Checks of the visits 20 days back, and of the current value (yesterday's, the fake's
/// newest day; the day before's too, should midnight pass during the test) for each site.
fn visit_checks(sites: &[FakeSite]) -> Vec<Check> {
    let day = days_back(20);
    let visits = |id: &str, day: i64| traffic_for(id, "live", day).visits as f64;
    let mut checks = Vec::new();
    for s in sites {
        let expr = format!("pantheon_visits{{name=\"{}\"}}", s.name);
        checks.push((expr.clone(), Some(day), vec![visits(&s.id, day)]));
        checks.push((
            expr,
            None,
            vec![visits(&s.id, days_back(1)), visits(&s.id, days_back(2))],
        ));
    }
    checks
}

fn remote_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--remote-write", url];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn pushed_history_matches_the_api_day_by_day() {
    let config = single_account_world(4);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let prom = Receiver::new().await;
    let url = prom.write_url();
    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &remote_args(&url, &["--refresh-interval", "1h", "--tick", "5s"]),
    )
    .await;

    prom.wait_values(&visit_checks(&config.sites), Duration::from_secs(60))
        .await;

    // Every family of one site, every final day.
    let site = &config.sites[0];
    let mut checks = Vec::new();
    for back in 3..=28 {
        let day = days_back(back);
        let d = traffic_for(&site.id, "live", day);
        let sel = format!("{{name=\"{}\"}}", site.name);
        checks.push((
            format!("pantheon_pages_served{sel}"),
            Some(day),
            vec![d.pages_served as f64],
        ));
        checks.push((
            format!("pantheon_cache_hits{sel}"),
            Some(day),
            vec![d.cache_hits as f64],
        ));
        checks.push((
            format!("pantheon_cache_misses{sel}"),
            Some(day),
            vec![d.cache_misses as f64],
        ));
        if let Some(r) = d.cache_hit_ratio() {
            checks.push((format!("pantheon_cache_hit_ratio{sel}"), Some(day), vec![r]));
        }
    }
    prom.wait_values(&checks, Duration::from_secs(10)).await;
    // The labels are the exposition's.
    let labelled = format!(
        "pantheon_visits{{account=\"ops@example.com\",name=\"{}\",label=\"{}\",plan=\"{}\"}}",
        site.name,
        site.label.clone().unwrap_or_else(|| site.name.clone()),
        site.plan_name
            .clone()
            .unwrap_or_else(|| site.service_level.clone()),
    );
    assert!(
        prom.value(&labelled, Some(days_back(20))).await.is_some(),
        "{labelled}"
    );

    let text = serve.get("/metrics").await.text();
    assert!(
        remote_metric(&text, "pantheon_exporter_remote_write_samples_sent_total")
            .is_some_and(|n| n >= 4.0 * 26.0 * 4.0),
        "{text}"
    );
    assert_eq!(
        remote_metric(&text, "pantheon_exporter_remote_write_samples_failed_total"),
        Some(0.0),
        "{}",
        serve.log_text()
    );
    assert_eq!(
        remote_metric(
            &text,
            "pantheon_exporter_remote_write_samples_dropped_total"
        ),
        Some(0.0)
    );
    assert!(
        remote_metric(
            &text,
            "pantheon_exporter_remote_write_last_success_timestamp_seconds"
        )
        .is_some_and(|t| t > 1.0e9)
    );
    assert!(
        !prom.log().contains("Out of order sample"),
        "{}",
        prom.log()
    );
}

#[tokio::test]
async fn a_receiver_outage_loses_nothing_within_the_queue_bound() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let mut prom = Receiver::new().await;
    let url = prom.write_url();
    // Short cycles: site lists are read every 3 s, so sites added during the outage are
    // backfilled (and queued) while the receiver is down.
    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &remote_args(
            &url,
            &[
                "--refresh-interval",
                "3s",
                "--tick",
                "1s",
                "--remote-write-max-backoff",
                "1s",
            ],
        ),
    )
    .await;
    prom.wait_values(&visit_checks(&config.sites), Duration::from_secs(60))
        .await;

    prom.stop().await;
    let late: Vec<FakeSite> = (0..3)
        .map(|i| FakeSite::new(&format!("late-{i:03}")))
        .collect();
    for s in &late {
        fake.add_site(0, s.clone());
    }
    // Held by the exporter, queued for the receiver.
    serve
        .wait_metrics(Duration::from_secs(30), |t| {
            samples(t, "pantheon_visits")
                .iter()
                .filter(|(l, _, _)| l.contains("name=\"late-"))
                .count()
                == 3 * 28
                && remote_metric(t, "pantheon_exporter_remote_write_queue_length")
                    .is_some_and(|n| n >= 3.0 * 26.0 * 4.0)
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    prom.start().await;
    let mut all = config.sites.clone();
    all.extend(late.iter().cloned());
    prom.wait_values(&visit_checks(&all), Duration::from_secs(60))
        .await;
    let text = serve.get("/metrics").await.text();
    assert_eq!(
        remote_metric(
            &text,
            "pantheon_exporter_remote_write_samples_dropped_total"
        ),
        Some(0.0)
    );
    assert_eq!(
        remote_metric(&text, "pantheon_exporter_remote_write_samples_failed_total"),
        Some(0.0),
        "{}",
        serve.log_text()
    );
    assert!(
        serve.log_text().contains("remote write failed; retrying"),
        "the outage was noticed"
    );
}
