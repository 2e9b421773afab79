//! One receiver: its queue, and the loop that sends the queue's batches in order.
//!
//! - `5xx`, `429` and connection failures are retried with capped exponential backoff
//!   (full jitter) or after the receiver's `Retry-After`, for as long as it takes; meanwhile the queue keeps its bound by
//!   dropping its oldest batches.
//! - Other `4xx` answers are not retried. A `400` refuses the whole request for the sake
//!   of one bad sample (Prometheus does that for a duplicate or too old sample), so the
//!   batch is halved and each half sent again until the refused samples are isolated; they
//!   are logged and counted, the rest is delivered.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use prometheus::{Gauge, IntCounter, IntGauge};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::proto::{SeriesSamples, encode};
use super::queue::{Batch, Queue};
use crate::config::ConfigError;
use crate::net::{self, Backoff};
use crate::pantheon::Secret;

/// How a receiver wants to be authenticated. Read from files, never from the command line.
#[derive(Clone)]
pub enum Auth {
    Basic { username: String, password: Secret },
    Bearer(Secret),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic({username}:[REDACTED])"),
            Auth::Bearer(_) => f.write_str("Bearer([REDACTED])"),
        }
    }
}

fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if line.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "the {what} file {} is empty",
            path.display()
        )));
    }
    Ok(line)
}

impl Auth {
    /// A file whose first line is `USERNAME:PASSWORD`.
    pub fn basic_from_file(path: &Path) -> Result<Auth, ConfigError> {
        let line = read_secret_file(path, "remote-write basic auth")?;
        let Some((username, password)) = line.split_once(':') else {
            return Err(ConfigError::Invalid(format!(
                "the remote-write basic auth file {} must hold USERNAME:PASSWORD",
                path.display()
            )));
        };
        Ok(Auth::Basic {
            username: username.to_string(),
            password: Secret::new(password),
        })
    }

    /// A file whose first line is the bearer token.
    pub fn bearer_from_file(path: &Path) -> Result<Auth, ConfigError> {
        Ok(Auth::Bearer(Secret::new(read_secret_file(
            path,
            "remote-write bearer token",
        )?)))
    }

    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Basic { username, password } => req.basic_auth(username, Some(password.expose())),
            Auth::Bearer(token) => req.bearer_auth(token.expose()),
        }
    }
}

/// Connecting to a receiver should take well under this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` obeyed: a receiver cannot stall the queue for longer at once.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// Tuning of every receiver.
#[derive(Clone, Debug)]
pub struct Options {
    /// Samples per request.
    pub max_samples: usize,
    /// Batches kept while the receiver is slow or down; beyond, the oldest is dropped.
    pub max_batches: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// How long a part-filled batch waits for more samples before it is sent.
    pub linger: Duration,
    /// Extra requests allowed per batch to isolate the samples of a `400`.
    pub split_budget: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_samples: 2000,
            max_batches: 500,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            linger: Duration::from_millis(250),
            split_budget: 64,
        }
    }
}

/// The self-metrics of one receiver (the `remote` label already applied).
#[derive(Clone, Debug)]
pub struct Metrics {
    pub sent: IntCounter,
    pub failed: IntCounter,
    pub dropped: IntCounter,
    pub queue_length: IntGauge,
    pub last_success: Gauge,
}

impl Metrics {
    /// Metrics registered nowhere (tests).
    pub fn detached() -> Metrics {
        Metrics {
            sent: IntCounter::new("sent", "sent").expect("valid"),
            failed: IntCounter::new("failed", "failed").expect("valid"),
            dropped: IntCounter::new("dropped", "dropped").expect("valid"),
            queue_length: IntGauge::new("queue", "queue").expect("valid"),
            last_success: Gauge::new("last", "last").expect("valid"),
        }
    }
}

/// The URL as logs may show it: no user info, no query (either may carry credentials).
///
/// ```
/// use pantheon_metrics::remote_write::display_url;
/// let u = reqwest::Url::parse("https://u:p@example.com:9/api/v1/write?key=s").unwrap();
/// assert_eq!(display_url(&u), "https://example.com:9/api/v1/write");
/// ```
pub fn display_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// One receiver.
pub struct Remote {
    /// 1-based, in command-line order: the `remote` label.
    pub index: usize,
    url: reqwest::Url,
    shown: String,
    http: reqwest::Client,
    auth: Option<Auth>,
    queue: Queue,
    metrics: Metrics,
    opts: Options,
    wake: Notify,
}

enum Outcome {
    Sent,
    Refused { status: u16, message: String },
    Cancelled,
}

impl Remote {
    pub fn new(
        index: usize,
        url: reqwest::Url,
        auth: Option<Auth>,
        opts: Options,
        metrics: Metrics,
    ) -> Result<Remote, ConfigError> {
        let http = net::http_client(CONNECT_TIMEOUT, opts.timeout).map_err(|e| {
            ConfigError::Invalid(format!("cannot build the remote-write client: {e}"))
        })?;
        Ok(Remote {
            index,
            shown: display_url(&url),
            url,
            http,
            auth,
            queue: Queue::new(opts.max_samples, opts.max_batches),
            metrics,
            opts,
            wake: Notify::new(),
        })
    }

    /// Queues samples for sending; never blocks (a full queue drops its oldest batch).
    pub fn enqueue(&self, series: Vec<SeriesSamples>) {
        if series.is_empty() {
            return;
        }
        let pushed = self.queue.push(series);
        if pushed.dropped > 0 {
            self.metrics.dropped.inc_by(pushed.dropped as u64);
            tracing::warn!(remote = self.index, url = %self.shown, samples = pushed.dropped, "remote-write queue full; dropped the oldest batch");
        }
        self.metrics.queue_length.set(pushed.waiting as i64);
        self.wake.notify_one();
    }

    /// Samples waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Sends batches until `cancel`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            while self.queue.is_empty() {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.wake.notified() => {}
                }
            }
            if !self.queue.ready() {
                // Let a part-filled batch gather the samples of a few more sites.
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(self.opts.linger) => {}
                }
            }
            let Some(batch) = self.queue.pop() else {
                continue;
            };
            self.metrics.queue_length.set(self.queue.len() as i64);
            if !self.send_batch(batch, &cancel).await {
                return;
            }
        }
    }

    /// Sends one batch, halving it on `400`s. False when cancelled.
    async fn send_batch(&self, batch: Batch, cancel: &CancellationToken) -> bool {
        let mut budget = self.opts.split_budget;
        let mut work = vec![batch];
        while let Some(b) = work.pop() {
            if b.samples == 0 {
                continue;
            }
            match self.post(&b, cancel).await {
                Outcome::Sent => {
                    self.metrics.sent.inc_by(b.samples as u64);
                    self.metrics
                        .last_success
                        .set(crate::clock::unix_now().as_secs_f64());
                }
                Outcome::Refused { status: 400, .. } if b.samples > 1 && budget >= 2 => {
                    budget -= 2;
                    let (first, second) = b.split();
                    work.push(second);
                    work.push(first);
                }
                Outcome::Refused { status, message } => {
                    self.metrics.failed.inc_by(b.samples as u64);
                    tracing::warn!(remote = self.index, url = %self.shown, status, samples = b.samples, error = %message, "remote-write receiver refused samples; skipped them");
                }
                Outcome::Cancelled => return false,
            }
        }
        true
    }

    /// Posts one body until it gets an answer that is not worth retrying.
    async fn post(&self, batch: &Batch, cancel: &CancellationToken) -> Outcome {
        let body = bytes::Bytes::from(encode(&batch.series));
        let mut attempt: u32 = 0;
        let mut failing_since: Option<tokio::time::Instant> = None;
        let mut last_logged: Option<tokio::time::Instant> = None;
        loop {
            let mut req = self
                .http
                .post(self.url.clone())
                .header(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"))
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                )
                .header(
                    "X-Prometheus-Remote-Write-Version",
                    HeaderValue::from_static("0.1.0"),
                )
                .body(body.clone());
            if let Some(auth) = &self.auth {
                req = auth.apply(req);
            }
            let result = tokio::select! {
                _ = cancel.cancelled() => return Outcome::Cancelled,
                r = req.send() => r,
            };
            let (retry_after, problem) = match result {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        if failing_since.is_some() {
                            tracing::info!(remote = self.index, url = %self.shown, "remote-write receiver reachable again");
                        }
                        return Outcome::Sent;
                    }
                    let retry_after = net::retry_after(resp.headers(), RETRY_AFTER_CAP);
                    let text = tokio::select! {
                        _ = cancel.cancelled() => return Outcome::Cancelled,
                        t = resp.text() => t.unwrap_or_default(),
                    };
                    let message = format!(
                        "HTTP {}: {}",
                        status.as_u16(),
                        net::excerpt(&text, str::to_owned)
                    );
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Outcome::Refused {
                            status: status.as_u16(),
                            message,
                        };
                    }
                    (retry_after, message)
                }
                // Without the URL: it is logged separately, without its credentials.
                Err(e) => (None, e.without_url().to_string()),
            };
            let now = tokio::time::Instant::now();
            failing_since.get_or_insert(now);
            if last_logged.is_none_or(|t| now - t >= Duration::from_secs(60)) {
                last_logged = Some(now);
                tracing::warn!(remote = self.index, url = %self.shown, error = %problem, waiting = self.queue.len(), "remote write failed; retrying");
            }
            let wait = retry_after.unwrap_or_else(|| self.backoff().delay(attempt));
            attempt = attempt.saturating_add(1);
            tokio::select! {
                _ = cancel.cancelled() => return Outcome::Cancelled,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.opts.min_backoff, self.opts.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::super::proto::{Sample, SeriesSamples, labels};
    use super::*;
    use std::sync::Mutex;
    use std::time::SystemTime;
    use tokio::time::Instant;
    use warp::Filter;

    /// A receiver that answers the first request `503` with `retry_after(now)` as its
    /// `Retry-After` and accepts the rest; it records when each request arrived.
    async fn receiver(
        retry_after: impl Fn(SystemTime) -> String + Clone + Send + Sync + 'static,
    ) -> (reqwest::Url, Arc<Mutex<Vec<Instant>>>) {
        use warp::Reply;
        let hits: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let seen = hits.clone();
        let route = warp::post()
            .and(warp::body::bytes())
            .map(move |_: bytes::Bytes| {
                let mut seen = seen.lock().unwrap();
                seen.push(Instant::now());
                if seen.len() == 1 {
                    let value = retry_after(SystemTime::now());
                    warp::reply::with_header(
                        warp::reply::with_status("busy", http::StatusCode::SERVICE_UNAVAILABLE),
                        "retry-after",
                        value,
                    )
                    .into_response()
                } else {
                    warp::reply::with_status("", http::StatusCode::NO_CONTENT).into_response()
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        (format!("http://{addr}/write").parse().unwrap(), hits)
    }

    fn one_series() -> Vec<SeriesSamples> {
        vec![SeriesSamples {
            labels: Arc::new(labels(&[("__name__", "pantheon_visits"), ("name", "s")])),
            samples: vec![Sample {
                value: 1.0,
                timestamp: 1000,
            }],
        }]
    }

    /// Sends one sample to a receiver that first answers `503` with `retry_after`, and
    /// returns how long the sender waited before its retry (on tokio's clock).
    async fn wait_before_retry(
        retry_after: impl Fn(SystemTime) -> String + Clone + Send + Sync + 'static,
    ) -> Duration {
        let (url, hits) = receiver(retry_after).await;
        let metrics = Metrics::detached();
        let opts = Options {
            // Tiny backoff: a wait of seconds can only come from the `Retry-After`.
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            linger: Duration::ZERO,
            timeout: Duration::from_secs(3600),
            ..Options::default()
        };
        let remote = Arc::new(Remote::new(1, url, None, opts, metrics.clone()).unwrap());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(remote.clone().run(cancel.clone()));
        remote.enqueue(one_series());
        for _ in 0..600 {
            if metrics.sent.get() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(metrics.sent.get(), 1, "the sample was never delivered");
        cancel.cancel();
        task.await.unwrap();
        let hits = hits.lock().unwrap();
        assert_eq!(hits.len(), 2, "one refusal, one delivery");
        hits[1] - hits[0]
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_in_seconds_is_obeyed() {
        let waited = wait_before_retry(|_| "20".to_string()).await;
        assert!(
            waited >= Duration::from_secs(20) && waited < Duration::from_secs(21),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_http_date_is_obeyed() {
        let waited =
            wait_before_retry(|now| httpdate::fmt_http_date(now + Duration::from_secs(20))).await;
        // The date has one-second resolution.
        assert!(
            waited >= Duration::from_secs(18) && waited < Duration::from_secs(21),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_is_capped() {
        let waited = wait_before_retry(|_| "86400".to_string()).await;
        assert!(
            waited >= RETRY_AFTER_CAP && waited < RETRY_AFTER_CAP + Duration::from_secs(1),
            "{waited:?}"
        );
    }

    #[test]
    fn backoff_comes_from_the_options() {
        let opts = Options {
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            ..Options::default()
        };
        let remote = Remote::new(
            1,
            "http://127.0.0.1:1/write".parse().unwrap(),
            None,
            opts,
            Metrics::detached(),
        )
        .unwrap();
        assert_eq!(remote.backoff().ceiling(0), Duration::from_millis(250));
        assert_eq!(remote.backoff().ceiling(10), Duration::from_secs(5));
    }
}
