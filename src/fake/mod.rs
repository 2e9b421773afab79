//! A fake Pantheon (Terminus) API on 127.0.0.1, for tests and the `--demo` mode.
//!
//! It serves the handful of endpoints the exporter calls (login, who-am-I, the three paged
//! membership lists, traffic, site lookup) with the JSON shapes of the real API, and can be
//! switched into every quirk the client must survive: odd paging, drifting types, hostile
//! labels, expiring or revoked sessions, rate limits, transient and permanent errors, slow,
//! truncated or reset responses. A request log lets tests assert call counts and concurrency.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use pantheon_metrics::fake::{FakeConfig, FakeServer};
//! let server = FakeServer::start(FakeConfig::demo()).await?;
//! println!("fake API at {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod json;
mod server;
mod traffic;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use config::{
    DEMO_PLANS, FakeAccount, FakeConfig, FakeOrg, FakeSite, HOSTILE_LABEL, PagingMode, demo_token,
    fake_uuid,
};
pub use server::FakeServer;
pub use traffic::{ENVIRONMENTS, STEADY_SITES, is_spotty, traffic_for};

/// Which endpoint a request addressed; used by fault rules and the request log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// Matches every route in a [`FaultRule`] and in [`RequestLog::count`].
    Any,
    /// `POST /authorize/machine-token`
    Login,
    /// `GET /users/{id}`
    Whoami,
    /// `GET /users/{id}/memberships/sites`
    UserSites,
    /// `GET /users/{id}/memberships/organizations`
    UserOrgs,
    /// `GET /organizations/{id}/memberships/sites`
    OrgSites,
    /// `GET /sites/{id}/environments/{env}/traffic` and `GET /sites/{id}/traffic`
    Traffic,
    /// `GET /site-names/{name}`
    SiteNames,
    /// `GET /sites/{id}`
    SiteInfo,
    /// Anything else (answered `404 page not found`).
    Unknown,
}

impl RouteKind {
    /// True when a rule or query for `self` covers a request of kind `actual`.
    pub fn matches(self, actual: RouteKind) -> bool {
        self == RouteKind::Any || self == actual
    }
}

/// What a fault does to a matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Answer this status instead. `body` is sent as is: `application/json` when it starts
    /// with `"`, `{` or `[`, otherwise `text/plain`.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Sleep, then answer normally (a slow server; counts as in flight).
    Hang(Duration),
    /// Send the headers and part of the body, then drop the connection.
    ResetMidBody,
    /// `200` with the normal JSON cut in the middle.
    Truncated,
    /// `200` with the normal JSON cut at an offset drawn from the seeded fault RNG (at least
    /// one byte, never the whole body), so a few seeds cover many cut points.
    TruncatedAnywhere,
    /// `200` with an HTML page instead of JSON.
    NotJson,
}

impl FaultAction {
    /// A status fault with a JSON-string body and no `Retry-After`.
    pub fn status(status: u16) -> FaultAction {
        FaultAction::Status {
            status,
            retry_after: None,
            body: format!("\"Fake fault: status {status}\""),
        }
    }
}

/// A fault injected into requests of one route.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    pub route: RouteKind,
    pub action: FaultAction,
    /// How many requests it hits; `None` = forever.
    pub count: Option<u32>,
    /// Chance per matching request (1.0 = always), drawn from a seeded RNG so runs repeat.
    pub probability: f64,
}

impl FaultRule {
    /// The next `count` requests of `route` (all of them with `None`) get `action`.
    pub fn new(route: RouteKind, action: FaultAction, count: Option<u32>) -> FaultRule {
        FaultRule {
            route,
            action,
            count,
            probability: 1.0,
        }
    }
}

/// A per-account token bucket; requests beyond it get `429`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
    /// `Retry-After` seconds on the 429, or no header.
    pub retry_after: Option<u64>,
}

/// One request the fake answered (or started to answer).
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub method: String,
    pub route: RouteKind,
    /// Raw path, e.g. `/api/sites/<id>/environments/live/traffic`.
    pub path: String,
    /// Raw query string, e.g. `duration=28d` or `limit=100&start=<id>`.
    pub query: String,
    /// The status sent; 0 when the client went away before the answer.
    pub status: u16,
    /// Index of the account whose token (login) or session made the request.
    pub account: Option<usize>,
    /// Arrival time, on tokio's clock (the same as `Instant::now()` unless the clock is
    /// paused).
    pub at: Instant,
    /// The site a traffic or site-info request addressed.
    pub site_id: Option<String>,
}

impl LogEntry {
    /// The value of one query parameter, undecoded.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// A snapshot of the requests since start (or [`FakeServer::reset_log`]), in arrival order.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    pub entries: Vec<LogEntry>,
    /// Most requests in flight at once (arrival to response, including sleeps).
    pub peak_in_flight: usize,
}

impl RequestLog {
    /// Requests of `route` (`RouteKind::Any` counts all).
    pub fn count(&self, route: RouteKind) -> usize {
        self.of(route).count()
    }

    /// Requests of `route` answered with `status`.
    pub fn count_status(&self, route: RouteKind, status: u16) -> usize {
        self.of(route).filter(|e| e.status == status).count()
    }

    /// Requests of `route` made by account `account`.
    pub fn count_account(&self, route: RouteKind, account: usize) -> usize {
        self.of(route)
            .filter(|e| e.account == Some(account))
            .count()
    }

    /// Requests of `route` that addressed `site_id`.
    pub fn count_site(&self, route: RouteKind, site_id: &str) -> usize {
        self.of(route)
            .filter(|e| e.site_id.as_deref() == Some(site_id))
            .count()
    }

    /// The entries of `route`.
    pub fn of(&self, route: RouteKind) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter().filter(move |e| route.matches(e.route))
    }
}
