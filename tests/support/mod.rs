//! Shared helpers for the integration tests: build fake worlds, run the real binary.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use pantheon_metrics::fake::{FakeAccount, FakeConfig, FakeOrg, FakeServer, FakeSite, fake_uuid};
use pantheon_metrics::render::FAMILIES;
use pantheon_metrics::render::testutil::{Sample, Values, parse_sample, parse_sample_with};

pub const BIN: &str = env!("CARGO_BIN_EXE_pantheon-metrics");

/// The names of the five traffic gauges, in exposition order: the library's family table,
/// so tests cannot keep a list of their own that drifts from it.
pub const FAMILY_NAMES: [&str; FAMILIES.len()] = {
    let mut names = [""; FAMILIES.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = FAMILIES[i].name;
        i += 1;
    }
    names
};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A machine token that looks like a real one: long and random-looking.
pub fn token(name: &str) -> String {
    format!(
        "mt-{name}-{}",
        fake_uuid(&format!("token:{name}")).replace('-', "")
    )
}

/// An account with `n` direct sites named `{prefix}-000`...
pub fn account(name: &str, site_ids: Vec<String>) -> FakeAccount {
    FakeAccount {
        token: token(name),
        user_id: fake_uuid(&format!("user:{name}")),
        email: format!("{name}@example.com"),
        site_ids,
        orgs: Vec::new(),
    }
}

pub fn sites(prefix: &str, n: usize) -> Vec<FakeSite> {
    (0..n)
        .map(|i| FakeSite::new(&format!("{prefix}-{i:03}")))
        .collect()
}

/// One account that sees `n` sites directly.
pub fn single_account_world(n: usize) -> FakeConfig {
    let sites = sites("site", n);
    let acct = account("ops", sites.iter().map(|s| s.id.clone()).collect());
    FakeConfig {
        accounts: vec![acct],
        sites,
        ..FakeConfig::default()
    }
}

/// Two accounts and an organization, with sites shared between them.
pub fn shared_world() -> FakeConfig {
    let mut all = sites("alpha", 3);
    all.extend(sites("org", 3));
    all.extend(sites("beta", 2));
    let org = FakeOrg {
        id: fake_uuid("org:acme"),
        name: "Acme".into(),
        machine_name: "acme".into(),
        site_ids: all[3..6].iter().map(|s| s.id.clone()).collect(),
    };
    let mut a = account(
        "alpha",
        vec![
            all[0].id.clone(),
            all[1].id.clone(),
            all[2].id.clone(),
            all[3].id.clone(),
        ],
    );
    a.orgs.push((org.id.clone(), "admin".into()));
    let mut b = account(
        "beta",
        vec![all[6].id.clone(), all[7].id.clone(), all[0].id.clone()],
    );
    b.orgs.push((org.id.clone(), "team_member".into()));
    FakeConfig {
        accounts: vec![a, b],
        orgs: vec![org],
        sites: all,
        ..FakeConfig::default()
    }
}

pub fn tokens_of(config: &FakeConfig) -> Vec<String> {
    config.accounts.iter().map(|a| a.token.clone()).collect()
}

/// Runs the binary against `server` with `tokens` in the environment.
pub async fn run(server: &FakeServer, tokens: &[String], args: &[&str]) -> Run {
    run_env(&server.url(), tokens, args, &[]).await
}

/// Runs the binary with a clean environment (no host PANTHEON_* variables).
pub async fn run_env(api_url: &str, tokens: &[String], args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
        .env("NO_COLOR", "1")
        .args(["--api-url", api_url, "--retry-base", "10ms"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the binary finished within 120 s")
        .expect("the binary ran");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses `sites --format json` output into (account, name) pairs.
pub fn site_pairs(json: &str) -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON ({e}): {json}"));
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| {
            (
                s["account"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A free loopback port (bound and released; a tiny race, fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `serve` process.
pub struct Serve {
    pub child: tokio::process::Child,
    pub port: u16,
    pub logs: tempfile::NamedTempFile,
    http: reqwest::Client,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Serve {
    /// Starts `serve ARGS` on a free port and waits until `/healthz` answers.
    pub async fn start(api_url: &str, tokens: &[String], args: &[&str]) -> Serve {
        Serve::start_with(api_url, tokens, &[], args).await
    }

    /// Starts `pantheon-metrics GLOBAL serve ARGS`.
    pub async fn start_with(
        api_url: &str,
        tokens: &[String],
        global: &[&str],
        args: &[&str],
    ) -> Serve {
        let port = free_port();
        let logs = tempfile::NamedTempFile::new().unwrap();
        let listen = format!("127.0.0.1:{port}");
        let mut all: Vec<&str> = vec!["--api-url", api_url, "--retry-base", "10ms"];
        all.extend_from_slice(global);
        all.extend_from_slice(&["serve", "--listen", &listen]);
        all.extend_from_slice(args);
        let child = tokio::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
            .args(&all)
            .stdin(Stdio::null())
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("serve started");
        let serve = Serve {
            child,
            port,
            logs,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        for _ in 0..200 {
            if serve
                .try_get("/healthz")
                .await
                .is_some_and(|a| a.status == 200)
            {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not come up: {}", serve.log_text());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.logs.path()).unwrap_or_default()
    }

    pub async fn try_get(&self, path: &str) -> Option<Answer> {
        self.request(reqwest::Method::GET, path, &[]).await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Option<Answer> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .timeout(Duration::from_secs(20));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.ok()?.to_vec();
        Some(Answer {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.try_get(path)
            .await
            .unwrap_or_else(|| panic!("GET {path} failed; logs:\n{}", self.log_text()))
    }

    /// Polls `/metrics` until `ok` holds, or panics after `limit`.
    pub async fn wait_metrics(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = std::time::Instant::now();
        loop {
            let text = self.get("/metrics").await.text();
            if ok(&text) {
                return text;
            }
            if start.elapsed() > limit {
                panic!(
                    "condition not met within {limit:?}; last /metrics:\n{}\nlogs:\n{}",
                    cut(&text),
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn cut(text: &str) -> &str {
    let mut end = text.len().min(4000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The lines of `text` that are samples of `metric` (the name, then its label set).
fn sample_lines<'a>(text: &'a str, metric: &str) -> impl Iterator<Item = &'a str> {
    let prefix = format!("{metric}{{");
    text.lines().filter(move |l| l.starts_with(&prefix))
}

/// Samples of one metric family: (labels text, value, timestamp), as written.
///
/// Every line is first read with the crate's strict exposition reader (a malformed line,
/// e.g. a label value that broke out of its quotes, fails the test).
pub fn samples<'a>(text: &'a str, metric: &str) -> Vec<(&'a str, &'a str, Option<&'a str>)> {
    sample_lines(text, metric)
        .map(|l| {
            let parsed =
                parse_sample(l).unwrap_or_else(|e| panic!("malformed sample line {l:?}: {e}"));
            // Value and timestamp follow the label set's closing `}`, the line's last one.
            let (labels, rest) = l.rsplit_once('}').unwrap();
            let mut parts = rest.split_whitespace();
            let (value, ts) = (parts.next().unwrap(), parts.next());
            assert_eq!(value, parsed.value, "{l:?}");
            assert_eq!(ts.map(|t| t.parse().unwrap()), parsed.timestamp, "{l:?}");
            (&labels[metric.len() + 1..], value, ts)
        })
        .collect()
}

/// Samples of one metric family, parsed (label values unescaped), from text that another
/// tool may have re-encoded: values in any float form of the text format.
pub fn parsed_samples(text: &str, metric: &str) -> Vec<Sample> {
    sample_lines(text, metric)
        .map(|l| {
            parse_sample_with(l, Values::TextFormat)
                .unwrap_or_else(|e| panic!("malformed sample line {l:?}: {e}"))
        })
        .collect()
}

/// The value of an unlabelled self-metric, e.g. `pantheon_exporter_site_refresh_errors_total`.
pub fn scalar(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(metric) && l[metric.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The value of a remote-write self-metric of the first `--remote-write` URL.
pub fn remote_metric(text: &str, name: &str) -> Option<f64> {
    scalar(text, &format!("{name}{{remote=\"1\"}}"))
}

/// The exporter's scheduler and renderer in this process, against a fake API in the same
/// runtime: with `#[tokio::test(start_paused = true)]` a refresh interval passes in
/// microseconds and sessions, days and retries age on tokio's clock.
pub struct InProcess {
    pub fake: FakeServer,
    pub shared: std::sync::Arc<pantheon_metrics::serve::Shared>,
    pub config: FakeConfig,
    cancel: tokio_util::sync::CancellationToken,
    tasks: tokio_util::task::TaskTracker,
    scheduler: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// Starts the fake with `config`, then the scheduler and the renderer with `settings`,
    /// every token of `config` and `client` (its `base_url` is the fake's).
    pub async fn start(
        config: FakeConfig,
        settings: pantheon_metrics::serve::Settings,
        client: pantheon_metrics::pantheon::ClientOptions,
    ) -> InProcess {
        InProcess::start_restored(config, settings, client, None).await
    }

    /// As [`Self::start`], with the store first restored from a state file, as `serve
    /// --state-file` does before its scheduler starts.
    pub async fn start_restored(
        config: FakeConfig,
        settings: pantheon_metrics::serve::Settings,
        client: pantheon_metrics::pantheon::ClientOptions,
        state_file: Option<&std::path::Path>,
    ) -> InProcess {
        use pantheon_metrics::pantheon::{Account, Client, ClientOptions, Secret};
        use pantheon_metrics::serve::{AccountState, Scheduler, Shared, Telemetry, render_loop};
        use std::sync::Arc;
        let fake = FakeServer::start(config.clone()).await.unwrap();
        let telemetry = Arc::new(Telemetry::new());
        let client = Client::with_observer(
            ClientOptions {
                base_url: fake.url(),
                ..client
            },
            telemetry.clone(),
        )
        .unwrap();
        let accounts: Vec<Arc<Account>> = tokens_of(&config)
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let token = Secret::new(t);
                client.register_secret(&token);
                Arc::new(Account::new(i + 1, token))
            })
            .collect();
        let states = accounts
            .iter()
            .map(|a| AccountState {
                index: a.index(),
                name: a.describe(),
                up: None,
                sites: 0,
                last_error: None,
            })
            .collect();
        let shared = Arc::new(Shared::new(settings, telemetry, states));
        if let Some(path) = state_file {
            pantheon_metrics::serve::state_file::restore(&shared, path).await;
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let tasks = tokio_util::task::TaskTracker::new();
        tasks.spawn(render_loop(shared.clone(), cancel.clone()));
        let scheduler = Scheduler::new(shared.clone(), client, accounts, Default::default());
        let scheduler = tokio::spawn(scheduler.run(cancel.clone()));
        InProcess {
            fake,
            shared,
            config,
            cancel,
            tasks,
            scheduler,
        }
    }

    /// Settings for a fast cycle: `interval` between site lists, `tick` between batches.
    pub fn settings(interval: Duration, tick: Duration) -> pantheon_metrics::serve::Settings {
        pantheon_metrics::serve::Settings {
            refresh_interval: interval,
            tick,
            ..Default::default()
        }
    }

    /// A client as the tests' binaries get it: `--retry-base 10ms`, otherwise the defaults.
    pub fn client() -> pantheon_metrics::pantheon::ClientOptions {
        pantheon_metrics::pantheon::ClientOptions {
            backoff_base: Duration::from_millis(10),
            ..Default::default()
        }
    }

    /// What `/metrics` would answer now: the rendered sites, then the self-metrics.
    pub fn metrics(&self) -> String {
        let mut text = String::from_utf8(self.shared.exposition().to_vec()).unwrap();
        text.push_str(&String::from_utf8(self.shared.telemetry.encode()).unwrap());
        text
    }

    /// True while the scheduler runs (it only ends when cancelled, or by a panic).
    pub fn alive(&self) -> bool {
        !self.scheduler.is_finished()
    }

    /// Polls [`Self::metrics`] until `ok` holds, or panics after `limit` of tokio time. It
    /// polls every 100 ms, or every 1/600 of `limit` when that is longer (an hour's wait
    /// need not render 36,000 times).
    pub async fn wait_metrics(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = tokio::time::Instant::now();
        let step = (limit / 600).max(Duration::from_millis(100));
        loop {
            let text = self.metrics();
            if ok(&text) {
                return text;
            }
            assert!(self.alive(), "the scheduler ended");
            if start.elapsed() > limit {
                panic!(
                    "condition not met within {limit:?}; last /metrics:\n{}",
                    cut(&text)
                );
            }
            tokio::time::sleep(step).await;
        }
    }

    /// The error held for a site (what the page shows), if any.
    pub fn site_error(&self, id: &str) -> Option<String> {
        let store = self.shared.store.lock().unwrap();
        store.get(id).and_then(|e| e.last_error.clone())
    }

    /// True when the page shows the site as stale: its last fetch failed and nothing
    /// succeeded for longer than the refresh interval.
    pub fn site_stale(&self, id: &str) -> bool {
        let now = self.shared.clock.now();
        let max_age = self.shared.settings.refresh_interval.as_secs() as i64;
        let store = self.shared.store.lock().unwrap();
        store.get(id).is_some_and(|e| e.is_stale(now, max_age))
    }

    /// Sites held (the page's `Sites (N)`).
    pub fn sites_held(&self) -> usize {
        self.shared.store.lock().unwrap().len()
    }

    /// Every account's `(name, up, last error)`, as the page shows them.
    pub fn account_states(&self) -> Vec<(String, Option<bool>, Option<String>)> {
        self.shared
            .accounts
            .lock()
            .unwrap()
            .iter()
            .map(|a| (a.name.clone(), a.up, a.last_error.clone()))
            .collect()
    }

    /// Cancels the scheduler and the renderer and waits for them.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.scheduler.await.unwrap();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

// ---------------------------------------------------------------------------------------
// External tools and the Prometheus HTTP API (Prometheus, VictoriaMetrics)

/// The path of a required tool; panics (fails the test, never skips it) with the command
/// that installs it.
pub fn require_tool(names: &[&str], install: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found in PATH; the e2e suite needs it (it fails rather than skips): {install}",
        names.join(" or ")
    );
}

/// A client of the Prometheus query API at `base` (`http://127.0.0.1:PORT`): Prometheus and
/// VictoriaMetrics answer the same requests, so one helper checks both.
#[derive(Clone)]
pub struct PromApi {
    pub base: String,
    pub http: reqwest::Client,
}

impl PromApi {
    pub fn new(base: &str) -> PromApi {
        PromApi {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    /// GET `path` with `params`; the answer's `data`, which must come with `status: success`.
    pub async fn api(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
        if status != 200 || body["status"] != "success" {
            return Err(format!("GET {path} {params:?}: HTTP {status}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// An instant query (at `time`, Unix seconds, or now).
    pub async fn query(&self, expr: &str, time: Option<i64>) -> Result<serde_json::Value, String> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", t.to_string()));
        }
        self.api("/api/v1/query", &params).await
    }
}

/// Every PromQL expression of a Grafana dashboard, named by panel title and refId (rows'
/// nested panels included).
pub fn dashboard_exprs(dash: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("").to_string();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((format!("{title} ({})", target["refId"]), expr.to_string()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dash["panels"], &mut out);
    out
}

/// Replaces Grafana's variables in `expr`: `$var`, `${var}`, `${var:format}`, `[[var]]`.
pub fn substitute(expr: &str, vars: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (name, len) = if let Some(body) = tail.strip_prefix("${") {
            let end = body.find('}').expect("closing brace");
            (body[..end].split(':').next().unwrap(), end + 3)
        } else if let Some(body) = tail.strip_prefix("[[") {
            match body.find("]]") {
                Some(end) => (body[..end].split(':').next().unwrap(), end + 4),
                None => ("", 0),
            }
        } else if let Some(body) = tail.strip_prefix('$') {
            let end = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            (&body[..end], end + 1)
        } else {
            ("", 0)
        };
        match vars.get(name) {
            Some(value) if len > 0 => {
                out.push_str(value);
                rest = &tail[len..];
            }
            _ if len > 0 && !name.is_empty() => panic!("unknown variable {name:?} in {expr}"),
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `label_values(SELECTOR, LABEL)` → (SELECTOR, LABEL).
pub fn label_values_query(query: &str) -> (String, String) {
    let body = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not label_values(...): {query}"));
    let (selector, label) = body
        .rsplit_once(',')
        .expect("label_values(selector, label)");
    (selector.trim().to_string(), label.trim().to_string())
}

/// The dashboard's variables as Grafana would set them against `api`: Grafana's own, then
/// the dashboard's; multi-value ones select all (`.*`), single-value query variables take
/// the first value the server has.
pub async fn dashboard_variables(
    api: &PromApi,
    dash: &serde_json::Value,
) -> std::collections::BTreeMap<String, String> {
    let mut vars: std::collections::BTreeMap<String, String> = [
        ("__rate_interval", "1m"),
        ("__interval", "1m"),
        ("__interval_ms", "60000"),
        ("__range", "1h"),
        ("__range_s", "3600"),
        ("__range_ms", "3600000"),
        ("datasource", "prometheus"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let variables = dash["templating"]["list"].as_array().expect("templating");
    for var in variables {
        let name = var["name"].as_str().unwrap().to_string();
        match var["type"].as_str().unwrap() {
            "datasource" => {}
            "query" => {
                let query = var["query"]["query"]
                    .as_str()
                    .or(var["query"].as_str())
                    .or(var["definition"].as_str())
                    .unwrap_or_else(|| panic!("variable {name} has no query"));
                let (selector, label) = label_values_query(query);
                let selector = substitute(&selector, &vars);
                let data = api
                    .query(&selector, None)
                    .await
                    .unwrap_or_else(|e| panic!("variable {name}: {e}"));
                let mut values: Vec<String> = data["result"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["metric"][&label].as_str().map(String::from))
                    .collect();
                values.sort_unstable();
                assert!(
                    !values.is_empty(),
                    "variable {name}: {query} finds no values (selector {selector})"
                );
                let value = if var["multi"] == true || var["includeAll"] == true {
                    var["allValue"].as_str().unwrap_or(".*").to_string()
                } else {
                    values[0].clone()
                };
                vars.insert(name, value);
            }
            "custom" | "constant" | "interval" | "textbox" => {
                let value = var["current"]["value"]
                    .as_str()
                    .or(var["query"].as_str())
                    .unwrap_or("")
                    .to_string();
                vars.insert(name, value);
            }
            other => panic!("variable {name}: type {other} not handled by this test"),
        }
    }
    vars
}

/// Runs every query of the dashboard (variables substituted) against `api`: each must
/// parse and return data within `limit` (rates need a few scrapes). Returns the failures.
pub async fn dashboard_failures(
    api: &PromApi,
    dash: &serde_json::Value,
    limit: Duration,
) -> Vec<String> {
    let vars = dashboard_variables(api, dash).await;
    let mut failures = Vec::new();
    for (title, expr) in dashboard_exprs(dash) {
        let query = substitute(&expr, &vars);
        let start = std::time::Instant::now();
        let outcome = loop {
            match api.query(&query, None).await {
                Err(e) => break Some(e),
                Ok(data) if data["result"].as_array().is_some_and(|r| !r.is_empty()) => {
                    break None;
                }
                Ok(data) if start.elapsed() > limit => break Some(format!("no data: {data}")),
                Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        if let Some(e) = outcome {
            failures.push(format!("{title}: {query}\n  {e}"));
        }
    }
    failures
}
