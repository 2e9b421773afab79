//! HTTP client plumbing shared by the Pantheon client and the remote-write sender: how a
//! client is built, how long to wait before a retry, and how a body is quoted in an error.
//!
//! Neither caller's policy lives here (which statuses to retry, how many times): only the
//! mechanics both would otherwise write twice and let drift apart.

use std::time::{Duration, SystemTime};

/// Every request says who sends it, so API operators can tell us apart.
pub const USER_AGENT: &str = concat!("pantheon-metrics/", env!("CARGO_PKG_VERSION"));

/// Idle keep-alive connections are closed after this long, before most servers and load
/// balancers would drop them under us.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Error messages quote at most this many bytes of a body.
pub const EXCERPT_LIMIT: usize = 300;

/// An HTTP client over rustls (no system OpenSSL to install or patch) with our user agent,
/// `connect_timeout` for the TCP and TLS handshake, and `timeout` for the whole request
/// (connect, send, and read the body).
pub fn http_client(
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
}

/// Capped exponential backoff with full jitter: the delay before retry `attempt` (0-based)
/// is drawn uniformly from zero to `base · 2^attempt`, at most `cap`. Full jitter spreads
/// the retries of many clients out instead of sending them back together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// The longest delay before retry `attempt`: `base · 2^attempt`, at most `cap`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pantheon_metrics::net::Backoff;
    /// let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    /// assert_eq!(b.ceiling(0), Duration::from_secs(1));
    /// assert_eq!(b.ceiling(3), Duration::from_secs(8));
    /// assert_eq!(b.ceiling(6), Duration::from_secs(60));
    /// assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    /// ```
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.cap)
    }

    /// A random delay before retry `attempt`, between zero and [`Backoff::ceiling`].
    pub fn delay(&self, attempt: u32) -> Duration {
        let nanos = self.ceiling(attempt).as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// A `Retry-After` value: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`) read against `now`; a date in the past means retry
/// at once. Capped at `cap`, so a server cannot park us for a day. `None` when the value is
/// neither form.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use pantheon_metrics::net::parse_retry_after;
/// let cap = Duration::from_secs(60);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_450);
/// assert_eq!(parse_retry_after("7", now, cap), Some(Duration::from_secs(7)));
/// assert_eq!(
///     parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, cap),
///     Some(Duration::from_secs(30))
/// );
/// assert_eq!(parse_retry_after("soon", now, cap), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(cap))
}

/// The `Retry-After` of a response, read against the system clock (see
/// [`parse_retry_after`]).
pub fn retry_after(headers: &http::HeaderMap, cap: Duration) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now(), cap)
}

/// A short single-line quote of a response body for an error message: a body that is a
/// JSON string is unquoted, control characters (newlines included) become spaces, and the
/// result is cut to [`EXCERPT_LIMIT`] bytes. `scrub` removes secrets before the cut, so that
/// no piece of a secret survives at the cut; pass `str::to_owned` when there is none.
///
/// ```
/// use pantheon_metrics::net::excerpt;
/// assert_eq!(excerpt(" \"no\\nway\" ", str::to_owned), "no way");
/// assert_eq!(excerpt("key abc", |s| s.replace("abc", "[REDACTED]")), "key [REDACTED]");
/// ```
pub fn excerpt(body: &str, scrub: impl FnOnce(&str) -> String) -> String {
    let body = body.trim();
    let text = serde_json::from_str::<String>(body).unwrap_or_else(|_| body.to_string());
    let one_line: String = scrub(&text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cut(&one_line, EXCERPT_LIMIT)
}

/// `text` cut to at most `limit` bytes on a character boundary, with `…` when cut.
///
/// ```
/// use pantheon_metrics::net::cut;
/// assert_eq!(cut("short", 10), "short");
/// assert_eq!(cut("héllo", 2), "h…");
/// ```
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let b = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
        let ceilings: Vec<u128> = (0..8).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        // No overflow however long a receiver stays down.
        assert_eq!(b.ceiling(31), Duration::from_secs(5));
        assert_eq!(b.ceiling(1000), Duration::from_secs(5));
    }

    #[test]
    fn backoff_delay_is_full_jitter_under_the_ceiling() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        for attempt in 0..40 {
            assert!(b.delay(attempt) <= b.ceiling(attempt), "{attempt}");
        }
        // Full jitter: delays land in the lower half too, not only in [ceiling/2, ceiling]
        // (the chance that 200 uniform draws all miss either half is 2^-199).
        let draws: Vec<Duration> = (0..200).map(|_| b.delay(3)).collect();
        let half = Duration::from_secs(4);
        assert!(draws.iter().any(|d| *d < half), "{draws:?}");
        assert!(draws.iter().any(|d| *d > half), "{draws:?}");
    }

    #[test]
    fn backoff_of_zero_is_zero() {
        let b = Backoff::new(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(b.delay(5), Duration::ZERO);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates_and_caps_both() {
        let cap = Duration::from_secs(60);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let p = |v: &str| parse_retry_after(v, now, cap);
        assert_eq!(p("7"), Some(Duration::from_secs(7)));
        assert_eq!(p(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(p("0"), Some(Duration::ZERO));
        assert_eq!(p("3600"), Some(cap));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(p(&later), Some(Duration::from_secs(30)));
        let much_later = httpdate::fmt_http_date(now + Duration::from_secs(86_400));
        assert_eq!(p(&much_later), Some(cap));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(p(&earlier), Some(Duration::ZERO));
        for bad in ["", "soon", "-5", "1.5", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_reads_the_header() {
        let cap = Duration::from_secs(60);
        let mut headers = http::HeaderMap::new();
        assert_eq!(retry_after(&headers, cap), None);
        headers.insert(http::header::RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(retry_after(&headers, cap), Some(Duration::from_secs(12)));
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        headers.insert(http::header::RETRY_AFTER, date.parse().unwrap());
        let wait = retry_after(&headers, cap).expect("an HTTP date is understood");
        // The date has one-second resolution.
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }

    #[test]
    fn excerpt_is_one_short_scrubbed_line() {
        assert_eq!(excerpt("  plain text\n", str::to_owned), "plain text");
        assert_eq!(excerpt("a\nb\r\tc", str::to_owned), "a b  c");
        assert_eq!(
            excerpt(r#""quoted \"json\"""#, str::to_owned),
            r#"quoted "json""#
        );
        // A JSON object is quoted as it is.
        assert_eq!(excerpt(r#"{"a":1}"#, str::to_owned), r#"{"a":1}"#);
        let long = "é".repeat(400);
        let e = excerpt(&long, str::to_owned);
        assert_eq!(e, format!("{}…", "é".repeat(EXCERPT_LIMIT / 2)));
    }

    #[test]
    fn excerpt_scrubs_before_the_cut() {
        let secret = "s3cr3t-session-value";
        let body = format!("{}{secret}", "x".repeat(EXCERPT_LIMIT - 5));
        let e = excerpt(&body, |s| s.replace(secret, "[REDACTED]"));
        assert!(!e.contains("s3cr3"), "{e}");
        assert!(e.ends_with('…'), "{e}");
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("", 0), "");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc…");
        assert_eq!(cut("aé", 2), "a…");
    }

    #[tokio::test]
    async fn http_client_sends_our_user_agent() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client hung up before its headers ended");
                got.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&got).to_lowercase()
        });
        let client = http_client(Duration::from_secs(5), Duration::from_secs(5)).unwrap();
        let resp = client.get(format!("http://{addr}/")).send().await.unwrap();
        assert_eq!(resp.status(), 204);
        let request = server.await.unwrap();
        assert!(
            request.contains(&format!("user-agent: {}", USER_AGENT.to_lowercase())),
            "{request}"
        );
    }
}
