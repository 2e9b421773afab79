//! The HTTP layer: one bounded, rate-capped, retrying, redacting way to call the API.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::error::ApiError;
use super::secret::{Scrubber, Secret, redact_json_text};
use super::wire;
use crate::clock;
use crate::net::{self, Backoff};

/// Debug logs show at most this much of a body.
const DEBUG_BODY_LIMIT: usize = 2048;

/// Sees every API attempt; `serve` uses it for its self-metrics.
pub trait RequestObserver: Send + Sync {
    /// `status` is `None` when no response arrived (connect error, timeout, reset).
    fn observe(&self, endpoint: Endpoint, status: Option<u16>, elapsed: Duration);

    /// A success status whose body was cut, not JSON, or not of the expected shape (the
    /// attempt is retried).
    fn broken(&self, _endpoint: Endpoint) {}
}

/// What a successful answer must look like. Anything else (a body cut mid-way, a proxy's
/// HTML page, JSON of another shape) is retried like a 5xx, within the same retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
    /// `{"timeseries": [...]}` as the traffic decoder reads it.
    Traffic,
    /// A login answer with a session and a user id.
    Login,
}

impl Shape {
    fn of(endpoint: Endpoint) -> Shape {
        match endpoint {
            Endpoint::Login => Shape::Login,
            Endpoint::UserSites | Endpoint::UserOrgs | Endpoint::OrgSites => Shape::Array,
            Endpoint::Traffic => Shape::Traffic,
            Endpoint::Whoami | Endpoint::SiteName | Endpoint::SiteInfo => Shape::Object,
        }
    }

    fn check(self, value: &Value) -> Result<(), String> {
        match self {
            Shape::Object if value.is_object() => Ok(()),
            Shape::Object => Err("the answer is not a JSON object".into()),
            Shape::Array if value.is_array() => Ok(()),
            Shape::Array => Err("the answer is not a JSON array".into()),
            Shape::Traffic => wire::traffic(value).map(|_| ()).map_err(|e| e.0),
            Shape::Login if wire::login(value).is_some() => Ok(()),
            Shape::Login => Err("the login answer has no session or user_id".into()),
        }
    }
}

/// How the client talks to the API.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://terminus.pantheon.io:443/api`.
    pub base_url: String,
    /// Whole-request timeout (connect, send, and read the body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Requests in flight at once, across all accounts.
    pub concurrency: usize,
    /// Request starts per second; 0 = no cap.
    pub max_rps: f64,
    pub max_retries: u32,
    /// First backoff step; each retry doubles it up to `backoff_cap`, with full jitter.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// The longest `Retry-After` we obey.
    pub retry_after_cap: Duration,
}

pub const DEFAULT_API_URL: &str = "https://terminus.pantheon.io:443/api";

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: DEFAULT_API_URL.to_string(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency: 4,
            max_rps: 0.0,
            max_retries: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

/// A request start limiter: a token bucket of one, refilled `rps` times per second.
///
/// Hand-written rather than taken from `governor` because it must run on tokio's clock, so
/// tests can drive it with a paused clock.
struct RateCap {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateCap {
    fn new(rps: f64) -> Option<RateCap> {
        (rps > 0.0 && rps.is_finite()).then(|| RateCap {
            interval: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(Instant::now()),
        })
    }

    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    opts: ClientOptions,
    in_flight: Semaphore,
    rate: Option<RateCap>,
    pub(crate) scrubber: Scrubber,
    observer: Option<Arc<dyn RequestObserver>>,
}

/// One request to make (possibly several times).
pub(crate) struct Call<'a> {
    pub endpoint: Endpoint,
    pub method: Method,
    pub segments: &'a [&'a str],
    pub query: &'a [(&'a str, &'a str)],
    /// The session to send as the bearer.
    pub bearer: Option<&'a Secret>,
    /// Unix seconds until which the bearer is worth sending, checked once this attempt
    /// holds its slot: a request queued behind `--concurrency` may wait longer than the
    /// session has left. `None`: send it whatever the time.
    pub fresh_until: Option<i64>,
    pub body: Option<Value>,
}

/// Why one attempt failed, and whether to try again.
enum Attempt {
    Done(Result<Value, ApiError>),
    Retry {
        error: ApiError,
        after: Option<Duration>,
    },
}

impl Transport {
    pub(crate) fn new(
        opts: ClientOptions,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Transport, ApiError> {
        let base = Url::parse(&opts.base_url)
            .map_err(|e| ApiError::Config(format!("invalid API URL {:?}: {e}", opts.base_url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ApiError::Config(format!(
                "invalid API URL {:?}: expected http:// or https://",
                opts.base_url
            )));
        }
        let http = net::http_client(opts.connect_timeout, opts.timeout)
            .map_err(|e| ApiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            base,
            in_flight: Semaphore::new(opts.concurrency.max(1)),
            rate: RateCap::new(opts.max_rps),
            opts,
            scrubber: Scrubber::default(),
            observer,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends `call`, retrying what is worth retrying, and returns the decoded JSON body.
    /// A 401 is returned as [`ApiError::Unauthorized`] at once: the session layer decides.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Value, ApiError> {
        let url = self.url(call.segments, call.query);
        let mut attempt = 0u32;
        loop {
            match self.attempt(&call, &url).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { error, after } => {
                    if attempt >= self.opts.max_retries {
                        return Err(ApiError::RetriesExhausted {
                            endpoint: call.endpoint,
                            attempts: attempt + 1,
                            last: Box::new(error),
                        });
                    }
                    let delay = after.unwrap_or_else(|| self.backoff().delay(attempt));
                    tracing::debug!(
                        endpoint = call.endpoint.as_str(),
                        attempt = attempt + 1,
                        delay_ms = delay.as_millis() as u64,
                        error = %error,
                        "retrying API request"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.opts.backoff_base, self.opts.backoff_cap)
    }

    async fn attempt(&self, call: &Call<'_>, url: &Url) -> Attempt {
        if let Some(rate) = &self.rate {
            rate.wait().await;
        }
        let _permit = match self.in_flight.acquire().await {
            Ok(p) => p,
            Err(_) => return Attempt::Done(Err(ApiError::Config("client is shut down".into()))),
        };
        if call
            .fresh_until
            .is_some_and(|t| clock::unix_now().as_secs() as i64 >= t)
        {
            return Attempt::Done(Err(ApiError::SessionExpired {
                endpoint: call.endpoint,
            }));
        }
        let started = Instant::now();
        let mut req = self
            .http
            .request(call.method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(bearer) = call.bearer {
            req = req.bearer_auth(bearer.expose());
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let result = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = net::retry_after(resp.headers(), self.opts.retry_after_cap);
                resp.bytes().await.map(|b| (status, retry_after, b))
            }
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        drop(_permit);
        match result {
            Ok((status, retry_after, body)) => {
                if let Some(observer) = &self.observer {
                    observer.observe(call.endpoint, Some(status.as_u16()), elapsed);
                }
                let text = String::from_utf8_lossy(&body);
                self.debug_log(call, url, Some(status), elapsed, &text);
                let attempt = self.classify(call, status, retry_after, &text);
                if let (
                    Attempt::Retry {
                        error: ApiError::Decode { .. },
                        ..
                    },
                    Some(observer),
                ) = (&attempt, &self.observer)
                {
                    observer.broken(call.endpoint);
                }
                attempt
            }
            Err(e) => {
                if let Some(observer) = &self.observer {
                    observer.observe(call.endpoint, None, elapsed);
                }
                let message = self.scrubber.scrub(&transport_message(&e));
                self.debug_log(call, url, None, elapsed, &message);
                Attempt::Retry {
                    error: ApiError::Transport {
                        endpoint: call.endpoint,
                        message,
                    },
                    after: None,
                }
            }
        }
    }

    fn classify(
        &self,
        call: &Call<'_>,
        status: StatusCode,
        retry_after: Option<Duration>,
        text: &str,
    ) -> Attempt {
        let endpoint = call.endpoint;
        if status.is_success() {
            let decoded = serde_json::from_str::<Value>(text)
                .map_err(|e| format!("the answer is not valid JSON ({e})"))
                .and_then(|v| Shape::of(endpoint).check(&v).map(|()| v));
            return match decoded {
                Ok(value) => Attempt::Done(Ok(value)),
                // A cut or broken answer: one more request usually gets a whole one.
                Err(message) => Attempt::Retry {
                    error: ApiError::Decode { endpoint, message },
                    after: None,
                },
            };
        }
        let body = net::excerpt(text, |t| super::secret::redact_text(t, &self.scrubber));
        let error = ApiError::Status {
            endpoint,
            status: status.as_u16(),
            body,
        };
        match status.as_u16() {
            401 => Attempt::Done(Err(ApiError::Unauthorized { endpoint })),
            408 | 429 | 500 | 502 | 503 | 504 => Attempt::Retry {
                error,
                after: retry_after,
            },
            _ => Attempt::Done(Err(error)),
        }
    }

    fn debug_log(
        &self,
        call: &Call<'_>,
        url: &Url,
        status: Option<StatusCode>,
        elapsed: Duration,
        body: &str,
    ) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let request_body = call
            .body
            .as_ref()
            .map(|b| redact_json_text(&b.to_string(), &self.scrubber))
            .unwrap_or_default();
        let response_body = net::cut(&redact_json_text(body, &self.scrubber), DEBUG_BODY_LIMIT);
        tracing::debug!(
            method = %call.method,
            url = %url,
            authorization = if call.bearer.is_some() { "Bearer [REDACTED]" } else { "" },
            request_body = %request_body,
            status = status.map(|s| s.as_u16()).unwrap_or(0),
            duration_ms = elapsed.as_millis() as u64,
            body = %response_body,
            "API request"
        );
    }
}

fn transport_message(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the answer"
    } else {
        "request failed"
    };
    // The source chain says why (refused, reset, DNS); the URL carries no secret.
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_comes_from_the_options() {
        let t = Transport::new(
            ClientOptions {
                backoff_base: Duration::from_secs(1),
                backoff_cap: Duration::from_secs(8),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let b = t.backoff();
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(40), Duration::from_secs(8));
    }

    #[test]
    fn url_segments_are_encoded() {
        let t = Transport::new(
            ClientOptions {
                base_url: "http://127.0.0.1:1/api".into(),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let url = t.url(&["site-names", "a/b?c d"], &[("limit", "100")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/api/site-names/a%2Fb%3Fc%20d?limit=100"
        );
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        for bad in ["not a url", "ftp://x/api", "mailto:x"] {
            let opts = ClientOptions {
                base_url: bad.into(),
                ..Default::default()
            };
            assert!(
                matches!(Transport::new(opts, None), Err(ApiError::Config(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rate_cap_spaces_request_starts() {
        let cap = RateCap::new(4.0).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            cap.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1000));
    }
}
