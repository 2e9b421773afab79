//! The warp server, its shared state and the request handler.
//!
//! One catch-all filter hands every request to [`handle`], which routes by hand: that way
//! every request (unknown routes and faulted ones included) passes the same logging,
//! latency, rate-limit and fault steps, and no request input can make the fake panic.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::Filter;
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::config::{FakeConfig, FakeSite, PagingMode, format_uuid};
use super::traffic::{ENVIRONMENTS, SeriesSpec, series};
use super::{FaultAction, FaultRule, LogEntry, RateLimit, RequestLog, RouteKind, json};
use crate::clock::Clock;
use crate::model::{DAY_SECONDS, TrafficDuration, day_start};

/// The answer to an invalid or revoked machine token (2021 wording).
const LOGIN_FAILED: &str = "Authorization failed. Please check that your machine token is valid.";
const PAGE_LIMIT: usize = 100;

/// A running fake API. Dropping it stops the server; [`FakeServer::shutdown`] also waits.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(config: FakeConfig) -> io::Result<FakeServer> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts on `addr`; used to restart a fake on the port a client already knows.
    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let filter_state = state.clone();
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .and_then(
                move |method: Method,
                      path: warp::path::FullPath,
                      query: String,
                      headers: HeaderMap,
                      body: Bytes| {
                    let state = filter_state.clone();
                    async move {
                        let req = Request {
                            method,
                            path: path.as_str().to_string(),
                            query,
                            headers,
                            body,
                        };
                        Ok::<_, Infallible>(handle(state, req).await)
                    }
                },
            );
        let (stop, stopped) = oneshot::channel::<()>();
        let server = warp::serve(route).incoming(listener).graceful(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(server.run());
        Ok(FakeServer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL to give a client, e.g. `http://127.0.0.1:41234/api`.
    pub fn url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A snapshot of the request log.
    pub fn log(&self) -> RequestLog {
        let inner = self.state.lock();
        let mut entries = inner.log.clone();
        entries.sort_by_key(|e| e.at);
        RequestLog {
            entries,
            peak_in_flight: self.state.peak.load(Ordering::SeqCst),
        }
    }

    /// Empties the log and restarts the peak in-flight count from the current one.
    pub fn reset_log(&self) {
        let mut inner = self.state.lock();
        inner.log.clear();
        self.state.peak.store(
            self.state.in_flight.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.state.lock().faults.push(rule);
    }

    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// The daily rebuild window: traffic answers all zeros with the usual timestamps.
    pub fn set_rebuild(&self, on: bool) {
        self.state.lock().rebuild = on;
    }

    /// Per-account token bucket (`None` removes it); buckets start full.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut inner = self.state.lock();
        inner.rate_limit = limit;
        inner.buckets.clear();
    }

    /// Every current session answers 401 from now on, before its `expires_at`.
    pub fn revoke_sessions(&self) {
        self.state.lock().sessions.clear();
    }

    /// Every session string handed out since start (secrets: for leak tests only).
    pub fn issued_sessions(&self) -> Vec<String> {
        self.state.lock().issued.clone()
    }

    /// Disables (or re-enables) a machine token: login answers 401 and its sessions die.
    pub fn set_token_enabled(&self, token: &str, enabled: bool) {
        let mut inner = self.state.lock();
        if enabled {
            inner.disabled_tokens.remove(token);
            return;
        }
        inner.disabled_tokens.insert(token.to_string());
        if let Some(account) = inner.config.account_by_token(token) {
            inner.sessions.retain(|_, s| s.account != account);
        }
    }

    /// Makes traffic of one site answer `status` (e.g. 403, 404); `None` restores it.
    pub fn set_site_status(&self, site_id: &str, status: Option<u16>) {
        let mut inner = self.state.lock();
        match status {
            Some(s) => inner.site_status.insert(site_id.to_string(), s),
            None => inner.site_status.remove(site_id),
        };
    }

    /// Adds (or replaces) a site and makes it a direct membership of account `account_index`.
    pub fn add_site(&self, account_index: usize, site: FakeSite) {
        let mut inner = self.state.lock();
        let config = &mut inner.config;
        let id = site.id.clone();
        config.sites.retain(|s| s.id != id);
        config.sites.push(site);
        if let Some(account) = config.accounts.get_mut(account_index)
            && !account.site_ids.contains(&id)
        {
            account.site_ids.push(id);
        }
    }

    /// Removes a site and every membership of it.
    pub fn remove_site(&self, site_id: &str) {
        let mut inner = self.state.lock();
        let config = &mut inner.config;
        config.sites.retain(|s| s.id != site_id);
        for account in &mut config.accounts {
            account.site_ids.retain(|id| id != site_id);
        }
        for org in &mut config.orgs {
            org.site_ids.retain(|id| id != site_id);
        }
    }

    pub fn set_latency(&self, d: Duration) {
        self.state.lock().config.latency = d;
    }

    /// Moves the fake's clock (session expiry, "today") forward, so expiry tests run fast.
    pub fn advance_clock(&self, d: Duration) {
        let mut inner = self.state.lock();
        inner.clock_offset += d;
    }

    /// The fake's current time, Unix seconds (real time plus [`Self::advance_clock`]).
    pub fn now(&self) -> i64 {
        self.state.lock().now_ms() / 1000
    }

    /// A snapshot of the configuration (including run-time changes).
    pub fn config(&self) -> FakeConfig {
        self.state.lock().config.clone()
    }

    /// Changes the configuration in place, e.g. `|c| c.paging = PagingMode::Inclusive`.
    pub fn with_config<R>(&self, f: impl FnOnce(&mut FakeConfig) -> R) -> R {
        f(&mut self.state.lock().config)
    }

    /// Live sessions (not yet expired or revoked).
    pub fn session_count(&self) -> usize {
        let inner = self.state.lock();
        let now = inner.now_ms();
        inner
            .sessions
            .values()
            .filter(|s| s.expires_ms > now)
            .count()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops the graceful-shutdown sender, which tells every open
        // connection to close once its current request is done.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct Session {
    account: usize,
    expires_ms: i64,
}

struct Bucket {
    tokens: f64,
    last: tokio::time::Instant,
}

struct Inner {
    config: FakeConfig,
    sessions: HashMap<String, Session>,
    /// Every session ever issued, for tests that prove none leaks.
    issued: Vec<String>,
    disabled_tokens: HashSet<String>,
    faults: Vec<FaultRule>,
    fault_rng: StdRng,
    rate_limit: Option<RateLimit>,
    buckets: HashMap<Option<usize>, Bucket>,
    rebuild: bool,
    site_status: HashMap<String, u16>,
    log: Vec<LogEntry>,
    /// The fake's "now" (session expiry, today): follows tokio's clock, so a paused clock
    /// moves sessions and days too.
    clock: Clock,
    clock_offset: Duration,
}

struct State {
    inner: Mutex<Inner>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl State {
    fn new(config: FakeConfig) -> State {
        let seed = config.seed;
        State {
            inner: Mutex::new(Inner {
                config,
                sessions: HashMap::new(),
                issued: Vec::new(),
                disabled_tokens: HashSet::new(),
                faults: Vec::new(),
                fault_rng: StdRng::seed_from_u64(seed),
                rate_limit: None,
                buckets: HashMap::new(),
                rebuild: false,
                site_status: HashMap::new(),
                log: Vec::new(),
                clock: Clock::new(),
                clock_offset: Duration::ZERO,
            }),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Never held across an await; a panic elsewhere must not wedge the fake.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a request in flight until dropped.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Request {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    fn param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| percent_decode(k, true) == name)
            .map(|(_, v)| percent_decode(v, true))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Login,
    Whoami(String),
    UserSites(String),
    UserOrgs(String),
    OrgSites(String),
    EnvTraffic(String, String),
    SiteTraffic(String),
    SiteName(String),
    SiteInfo(String),
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let Some(rest) = path.strip_prefix("/api/") else {
            return Route::Unknown;
        };
        let seg: Vec<String> = rest.split('/').map(|s| percent_decode(s, false)).collect();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let get = method == Method::GET;
        match seg.as_slice() {
            ["authorize", "machine-token"] if method == Method::POST => Route::Login,
            ["users", id] if get => Route::Whoami(id.to_string()),
            ["users", id, "memberships", "sites"] if get => Route::UserSites(id.to_string()),
            ["users", id, "memberships", "organizations"] if get => Route::UserOrgs(id.to_string()),
            ["organizations", id, "memberships", "sites"] if get => Route::OrgSites(id.to_string()),
            ["sites", id, "environments", env, "traffic"] if get => {
                Route::EnvTraffic(id.to_string(), env.to_string())
            }
            ["sites", id, "traffic"] if get => Route::SiteTraffic(id.to_string()),
            ["site-names", name] if get => Route::SiteName(name.to_string()),
            ["sites", id] if get => Route::SiteInfo(id.to_string()),
            _ => Route::Unknown,
        }
    }

    fn kind(&self) -> RouteKind {
        match self {
            Route::Login => RouteKind::Login,
            Route::Whoami(_) => RouteKind::Whoami,
            Route::UserSites(_) => RouteKind::UserSites,
            Route::UserOrgs(_) => RouteKind::UserOrgs,
            Route::OrgSites(_) => RouteKind::OrgSites,
            Route::EnvTraffic(..) | Route::SiteTraffic(_) => RouteKind::Traffic,
            Route::SiteName(_) => RouteKind::SiteNames,
            Route::SiteInfo(_) => RouteKind::SiteInfo,
            Route::Unknown => RouteKind::Unknown,
        }
    }

    fn site_id(&self) -> Option<String> {
        match self {
            Route::EnvTraffic(id, _) | Route::SiteTraffic(id) | Route::SiteInfo(id) => {
                Some(id.clone())
            }
            _ => None,
        }
    }
}

/// A response before the common headers and fault transforms are applied.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<String>,
}

impl Answer {
    fn json(status: u16, value: &Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
            retry_after: None,
        }
    }

    /// The API's usual error body: a bare JSON string.
    fn error(status: u16, message: &str) -> Answer {
        Answer::json(status, &Value::String(message.to_string()))
    }

    fn route_not_found() -> Answer {
        Answer {
            status: 404,
            content_type: "text/plain; charset=utf-8",
            body: b"404 page not found\n".to_vec(),
            retry_after: None,
        }
    }

    fn raw(status: u16, body: &str, retry_after: Option<String>) -> Answer {
        let content_type = match body.trim_start().chars().next() {
            Some('"' | '{' | '[') => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        Answer {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
            retry_after,
        }
    }
}

/// What the pre-checks decided before the route itself runs.
enum Pre {
    Answer(Answer),
    Fault(FaultAction),
    Normal,
}

/// Logs a request when its handling ends, also when the client went away mid-way (the
/// handler is then dropped, and the entry keeps status 0).
struct LogOnDrop {
    state: Arc<State>,
    entry: LogEntry,
}

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        let entry = self.entry.clone();
        self.state.lock().log.push(entry);
    }
}

async fn handle(state: Arc<State>, req: Request) -> warp::reply::Response {
    // tokio's clock, so a test on a paused clock sees the spacing the scheduler meant.
    let arrived = tokio::time::Instant::now().into_std();
    let _in_flight = InFlight::enter(&state);
    let route = Route::parse(&req.method, &req.path);
    let mut logged = LogOnDrop {
        state: state.clone(),
        entry: LogEntry {
            method: req.method.as_str().to_string(),
            route: route.kind(),
            path: req.path.clone(),
            query: req.query.clone(),
            status: 0,
            account: None,
            at: arrived,
            site_id: route.site_id(),
        },
    };

    let (latency, notices) = {
        let inner = state.lock();
        (inner.config.latency, inner.config.notices)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let (account, pre) = {
        let mut inner = state.lock();
        let account = inner.identify(&route, &req);
        let pre = inner.pre_checks(route.kind(), account);
        (account, pre)
    };
    logged.entry.account = account;

    let mut fault = None;
    let answer = match pre {
        Pre::Answer(a) => a,
        Pre::Fault(FaultAction::Status {
            status,
            retry_after,
            body,
        }) => Answer::raw(status, &body, retry_after),
        Pre::Fault(FaultAction::Hang(d)) => {
            tokio::time::sleep(d).await;
            state.lock().answer(&route, &req)
        }
        Pre::Fault(action) => {
            fault = Some(action);
            state.lock().answer(&route, &req)
        }
        Pre::Normal => state.lock().answer(&route, &req),
    };

    let mut answer = answer;
    if StatusCode::from_u16(answer.status).is_err() {
        // A fault with an impossible status code; log what is really sent.
        answer.status = 500;
    }
    let mut reset = false;
    match fault {
        Some(FaultAction::Truncated) => {
            answer.status = 200;
            let cut = (answer.body.len() / 2).max(1);
            // Cutting before the closing bracket or quote keeps every JSON body invalid.
            answer.body.truncate(cut);
            answer.content_type = "application/json";
        }
        Some(FaultAction::TruncatedAnywhere) => {
            answer.status = 200;
            let len = answer.body.len();
            let cut = if len > 1 {
                state.lock().fault_rng.random_range(1..len)
            } else {
                len
            };
            answer.body.truncate(cut);
            answer.content_type = "application/json";
        }
        Some(FaultAction::NotJson) => {
            answer.status = 200;
            answer.content_type = "text/html; charset=utf-8";
            answer.body = b"<!DOCTYPE html>\n<html><head><title>Service maintenance</title></head>\
<body><h1>We'll be back soon</h1><p>The dashboard is being updated.</p></body></html>\n"
                .to_vec();
        }
        Some(FaultAction::ResetMidBody) => reset = true,
        _ => {}
    }

    logged.entry.status = answer.status;
    drop(logged);

    build_response(answer, route == Route::Login, notices, reset)
}

fn build_response(
    answer: Answer,
    login: bool,
    notices: bool,
    reset: bool,
) -> warp::reply::Response {
    let mut response = if reset {
        let half = answer.body.len() / 2;
        let first = Bytes::copy_from_slice(answer.body.get(..half.max(1)).unwrap_or_default());
        // One chunk, a short pause so it reaches the client, then an error: hyper aborts
        // the connection instead of finishing the chunked body.
        let stream = futures::stream::unfold(0u8, move |step| {
            let first = first.clone();
            async move {
                match step {
                    0 => Some((Ok(first), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Some((
                            Err(io::Error::new(
                                io::ErrorKind::ConnectionReset,
                                "fake connection reset",
                            )),
                            2,
                        ))
                    }
                    _ => None,
                }
            }
        });
        warp::reply::stream(stream).into_response()
    } else {
        warp::reply::Response::new(Bytes::from(answer.body).into())
    };
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    let content_type = if login && answer.content_type == "application/json" {
        "application/json; charset=utf-8"
    } else {
        answer.content_type
    };
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert(
        "cache-control",
        HeaderValue::from_static("private, max-age=0, no-cache, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&random_uuid()) {
        headers.insert("x-pantheon-trace-id", v);
    }
    if let Some(v) = answer
        .retry_after
        .and_then(|r| HeaderValue::from_str(&r).ok())
    {
        headers.insert("retry-after", v);
    }
    if notices {
        headers.insert(
            "x-pantheon-notices",
            HeaderValue::from_static(
                r#"[{"message":"This is the fake Pantheon API; data is made up.","level":"info"}]"#,
            ),
        );
    }
    response
}

impl Inner {
    fn now_ms(&self) -> i64 {
        let offset = i64::try_from(self.clock_offset.as_millis()).unwrap_or(i64::MAX);
        self.clock.now_ms().saturating_add(offset)
    }

    /// The account behind a request, for the log and the rate limiter: the machine token's
    /// account on login, the session's account (live or not) elsewhere.
    fn identify(&self, route: &Route, req: &Request) -> Option<usize> {
        if *route == Route::Login {
            let token = login_token(&req.body)?;
            return self.config.account_by_token(&token);
        }
        let session = bearer(&req.headers)?;
        self.sessions.get(session).map(|s| s.account)
    }

    fn pre_checks(&mut self, kind: RouteKind, account: Option<usize>) -> Pre {
        if let Some(limit) = self.rate_limit {
            let now = tokio::time::Instant::now();
            let burst = f64::from(limit.burst.max(1));
            let bucket = self.buckets.entry(account).or_insert(Bucket {
                tokens: burst,
                last: now,
            });
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * limit.per_second.max(0.0)).min(burst);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
            } else {
                let mut a = Answer::error(429, "Too many requests. Please slow down.");
                a.retry_after = limit.retry_after.map(|s| s.to_string());
                return Pre::Answer(a);
            }
        }
        for i in 0..self.faults.len() {
            let rule = &self.faults[i];
            if !rule.route.matches(kind) || rule.count == Some(0) {
                continue;
            }
            let p = rule.probability;
            let hit = p >= 1.0 || (p > 0.0 && self.fault_rng.random::<f64>() < p);
            if !hit {
                continue;
            }
            let rule = &mut self.faults[i];
            if let Some(n) = rule.count.as_mut() {
                *n -= 1;
            }
            return Pre::Fault(rule.action.clone());
        }
        Pre::Normal
    }

    /// The caller's account, or the 401 for a missing, unknown, expired or revoked session.
    fn authenticate(&mut self, req: &Request) -> Result<usize, Answer> {
        let unauthorized = || Answer::error(401, "Unauthorized: invalid or expired session.");
        let Some(session) = bearer(&req.headers) else {
            return Err(unauthorized());
        };
        let now = self.now_ms();
        let Some(s) = self.sessions.get(session) else {
            return Err(unauthorized());
        };
        if s.expires_ms <= now {
            self.sessions.remove(session);
            return Err(unauthorized());
        }
        Ok(s.account)
    }

    fn answer(&mut self, route: &Route, req: &Request) -> Answer {
        match route {
            Route::Unknown => Answer::route_not_found(),
            Route::Login => self.login(req),
            _ => match self.authenticate(req) {
                Ok(account) => self.authorized(route, req, account),
                Err(a) => a,
            },
        }
    }

    fn login(&mut self, req: &Request) -> Answer {
        let Some(token) = login_token(&req.body) else {
            return Answer::error(
                400,
                "Invalid request: expected {\"machine_token\": \"...\"}.",
            );
        };
        let account = self
            .config
            .account_by_token(&token)
            .filter(|_| !self.disabled_tokens.contains(&token));
        let Some(account) = account else {
            let status = if self.config.login_legacy_500 {
                500
            } else {
                401
            };
            return Answer::error(status, LOGIN_FAILED);
        };
        let Some(user_id) = self.config.accounts.get(account).map(|a| a.user_id.clone()) else {
            return Answer::error(401, LOGIN_FAILED);
        };
        let session = format!("{user_id}:{}:{}", random_uuid(), random_alnum(21));
        let ttl_ms = i64::try_from(self.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = self.now_ms().saturating_add(ttl_ms);
        self.issued.push(session.clone());
        self.sessions.insert(
            session.clone(),
            Session {
                account,
                expires_ms,
            },
        );
        Answer::json(
            200,
            &serde_json::json!({
                "session": session,
                "expires_at": expires_ms / 1000,
                "user_id": user_id,
            }),
        )
    }

    fn authorized(&mut self, route: &Route, req: &Request, account: usize) -> Answer {
        let config = &self.config;
        let Some(acc) = config.accounts.get(account) else {
            return Answer::error(401, "Unauthorized: invalid or expired session.");
        };
        let own = |user: &str| user == acc.user_id;
        match route {
            Route::Whoami(user) => {
                if !own(user) {
                    return Answer::error(403, "You do not have permission to view this user.");
                }
                Answer::json(200, &json::user(acc, config, account))
            }
            Route::UserSites(user) => {
                if !own(user) {
                    return Answer::error(403, "You do not have permission to view this user.");
                }
                let mut items: Vec<(String, Value)> = acc
                    .site_ids
                    .iter()
                    .filter_map(|id| config.site(id))
                    .map(|s| (s.id.clone(), json::user_site_wrapper(&s.id, acc, Some(s))))
                    .collect();
                if config.null_site_wrappers {
                    let id = super::fake_uuid(&format!("deleted-site:{}", acc.user_id));
                    items.push((id.clone(), json::user_site_wrapper(&id, acc, None)));
                }
                self.page(items, req)
            }
            Route::UserOrgs(user) => {
                if !own(user) {
                    return Answer::error(403, "You do not have permission to view this user.");
                }
                let items = acc
                    .orgs
                    .iter()
                    .filter_map(|(org_id, role)| {
                        let pos = config.orgs.iter().position(|o| &o.id == org_id)?;
                        let org = &config.orgs[pos];
                        Some((org.id.clone(), json::org_wrapper(org, pos, acc, role)))
                    })
                    .collect();
                self.page(items, req)
            }
            Route::OrgSites(org_id) => {
                let Some(org) = config.orgs.iter().find(|o| &o.id == org_id) else {
                    return Answer::error(404, &format!("Organization {org_id} was not found."));
                };
                let role = acc.orgs.iter().find(|(id, _)| id == org_id).map(|(_, r)| r);
                match role {
                    Some(r) if r != "unprivileged" => {}
                    _ => {
                        return Answer::error(
                            403,
                            "You do not have permission to list the sites of this organization.",
                        );
                    }
                }
                let items = org
                    .site_ids
                    .iter()
                    .filter_map(|id| config.site(id))
                    .map(|s| (s.id.clone(), json::org_site_wrapper(org, acc, s)))
                    .collect();
                self.page(items, req)
            }
            Route::EnvTraffic(site, env) => self.traffic(req, account, site, Some(env)),
            Route::SiteTraffic(site) => self.traffic(req, account, site, None),
            Route::SiteName(name) => match config.site_by_name(name) {
                Some(s) => Answer::json(200, &serde_json::json!({"id": s.id, "name": s.name})),
                None => Answer::error(404, &format!("A site named {name} was not found.")),
            },
            Route::SiteInfo(site) => {
                let Some(s) = config.site(site) else {
                    return Answer::error(404, &format!("Site {site} was not found."));
                };
                if !config.can_see(account, &s.id) {
                    return Answer::error(403, "You do not have permission to access this site.");
                }
                Answer::json(200, &json::site_info(s))
            }
            Route::Login | Route::Unknown => Answer::route_not_found(),
        }
    }

    /// One page of a membership list: sorted by id, `limit` (default and cap 100), `start`
    /// cursor treated per [`PagingMode`].
    fn page(&self, mut items: Vec<(String, Value)>, req: &Request) -> Answer {
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.dedup_by(|a, b| a.0 == b.0);
        let limit = req
            .param("limit")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .filter(|&l| l > 0)
            .map_or(PAGE_LIMIT, |l| l.min(PAGE_LIMIT));
        let start = req.param("start").filter(|s| !s.is_empty());
        let mode = self.config.paging;
        let pos = match (&start, mode) {
            (None, _) | (Some(_), PagingMode::IgnoreStart) => 0,
            (Some(s), PagingMode::Inclusive) => items.partition_point(|(id, _)| id < s),
            (Some(s), _) => items.partition_point(|(id, _)| id <= s),
        };
        let size = if mode == PagingMode::ShortPages {
            short_page_size(pos, limit)
        } else {
            limit
        };
        let end = pos.saturating_add(size).min(items.len());
        let page: Vec<Value> = items
            .into_iter()
            .skip(pos)
            .take(end.saturating_sub(pos))
            .map(|(_, v)| v)
            .collect();
        Answer::json(200, &Value::Array(page))
    }

    fn traffic(&self, req: &Request, account: usize, site: &str, env: Option<&str>) -> Answer {
        let config = &self.config;
        let Some(s) = config.site(site) else {
            return Answer::error(404, &format!("Site {site} was not found."));
        };
        if !config.can_see(account, &s.id) {
            return Answer::error(403, "You do not have permission to access this site.");
        }
        if let Some(&status) = self.site_status.get(site) {
            let message = match status {
                403 => "You do not have permission to access this site.".to_string(),
                404 => format!("Site {site} was not found."),
                _ => format!("Traffic for site {site} is unavailable."),
            };
            return Answer::error(status, &message);
        }
        if let Some(env) = env
            && !ENVIRONMENTS.contains(&env)
        {
            return Answer::error(404, &format!("Environment {env} was not found."));
        }
        let raw = req.param("duration").unwrap_or_default();
        let duration = match raw.parse::<TrafficDuration>() {
            Ok(d) if raw == raw.trim() && raw.chars().all(|c| c.is_ascii_alphanumeric()) => d,
            _ => {
                return Answer::error(
                    400,
                    &format!(
                        "Invalid duration {raw:?}. Use a number followed by d, w or m; \
                         maximum acceptable durations: 28d, 12w, 12m."
                    ),
                );
            }
        };
        if config.empty_traffic.iter().any(|id| id == site) {
            return Answer::json(200, &json::timeseries(&[], config.traffic_summary));
        }
        let now_ms = self.now_ms();
        let now = now_ms.div_euclid(1000);
        let today = day_start(now);
        let (newest, partial) = match config.today {
            Some(t) => (day_start(t), None),
            None if config.partial_today => {
                let elapsed = (now_ms - today * 1000) as f64 / (DAY_SECONDS * 1000) as f64;
                (today, Some(elapsed.clamp(0.0, 1.0)))
            }
            None => (today - DAY_SECONDS, None),
        };
        let days = series(
            site,
            &SeriesSpec {
                env,
                duration,
                newest,
                partial,
                zero: self.rebuild,
            },
        );
        Answer::json(200, &json::timeseries(&days, config.traffic_summary))
    }
}

/// Page sizes in short-pages mode: limit, limit, limit/2, limit, limit, limit/2, ... A
/// cursor that is not a page boundary gets a full page.
fn short_page_size(pos: usize, limit: usize) -> usize {
    let size = |k: usize| {
        if k % 3 == 2 {
            (limit / 2).max(1)
        } else {
            limit
        }
    };
    let (mut offset, mut k) = (0usize, 0usize);
    while offset < pos {
        offset += size(k);
        k += 1;
    }
    if offset == pos { size(k) } else { limit }
}

/// The session of an `Authorization: Bearer <session>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, session) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| session.trim())
        .filter(|s| !s.is_empty())
}

/// `machine_token` of a login body, if it is JSON with a string there.
fn login_token(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("machine_token")?.as_str().map(str::to_string)
}

fn random_uuid() -> String {
    format_uuid(rand::rng().random())
}

fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Percent-decodes (lossily: invalid UTF-8 becomes U+FFFD, bad escapes stay as typed);
/// `plus` also turns `+` into a space, as in query strings.
fn percent_decode(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn short_pages_follow_the_pattern() {
        assert_eq!(short_page_size(0, 100), 100);
        assert_eq!(short_page_size(100, 100), 100);
        assert_eq!(short_page_size(200, 100), 50);
        assert_eq!(short_page_size(250, 100), 100);
        assert_eq!(short_page_size(17, 100), 100);
    }

    #[test]
    fn percent_decoding_survives_garbage() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
    }

    #[test]
    fn routes_parse() {
        let get = Method::GET;
        assert_eq!(
            Route::parse(&get, "/api/sites/x/environments/live/traffic"),
            Route::EnvTraffic("x".into(), "live".into())
        );
        assert_eq!(
            Route::parse(&get, "/api/authorize/machine-token"),
            Route::Unknown
        );
        assert_eq!(
            Route::parse(&Method::POST, "/api/authorize/machine-token"),
            Route::Login
        );
        assert_eq!(Route::parse(&get, "/sites/x"), Route::Unknown);
        assert_eq!(
            Route::parse(&get, "/api/site-names/a%20b"),
            Route::SiteName("a b".into())
        );
    }
}
