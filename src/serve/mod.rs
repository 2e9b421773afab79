//! `serve`: the long-running exporter. The scheduler feeds the store, the renderer turns the
//! store into a ready `/metrics` body, and the HTTP server only hands out bytes.

mod exposition;
mod http;
mod page;
mod scheduler;
mod settings;
mod shard;
pub mod state_file;
mod telemetry;
pub mod usage;
pub mod webconfig;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use exposition::{DeflatedTail, Exposition, Renderer};
pub use http::{PROM_CONTENT_TYPE, accepts_gzip};
pub use scheduler::{REBUILD_RETRY, Scheduler, batch_size, fetch_span, spread};
pub use settings::{HistoryMode, PlanUsage, RemoteWriteSettings, Settings};
pub use shard::{Shard, site_hash};
pub use telemetry::Telemetry;

pub use crate::clock::Clock;

use crate::context::{Context, ContextOptions};
use crate::error::{Exit, UsageError};
use crate::store::Store;

/// How long SIGTERM may take, end to end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// How long one encoding of the self-metrics is served.
const SELF_METRICS_MAX_AGE: Duration = Duration::from_secs(1);

/// One encoding of the self-metrics, plain and (when a scraper asks for gzip) compressed.
pub struct SelfMetrics {
    at: std::time::Instant,
    pub plain: bytes::Bytes,
    deflated: std::sync::OnceLock<exposition::DeflatedTail>,
}

impl SelfMetrics {
    pub fn deflated(&self) -> &exposition::DeflatedTail {
        self.deflated
            .get_or_init(|| exposition::DeflatedTail::new(&self.plain))
    }
}

/// What the page and the self-metrics say about one account.
#[derive(Clone, Debug)]
pub struct AccountState {
    pub index: usize,
    /// The e-mail (or user id); the token's fingerprint until the first login succeeds.
    pub name: String,
    /// `None` until its site list was tried once.
    pub up: Option<bool>,
    pub sites: usize,
    pub last_error: Option<String>,
}

/// State shared by the scheduler, the renderer and the HTTP server.
pub struct Shared {
    pub settings: Settings,
    pub store: Mutex<Store>,
    pub accounts: Mutex<Vec<AccountState>>,
    pub telemetry: Arc<Telemetry>,
    pub clock: Clock,
    exposition: RwLock<Arc<Exposition>>,
    /// The self-metrics as last encoded, shared by the scrapes of one second.
    self_metrics: Mutex<Option<Arc<SelfMetrics>>>,
    /// Wakes the renderer after a change.
    pub changed: Notify,
    /// Bumped on every change worth saving (fetches, list cycles); the state file writer
    /// compares it with what it wrote last.
    pub state_changes: AtomicU64,
    /// Where learned days are pushed (`--remote-write`).
    pub remote: Option<crate::remote_write::RemoteWrite>,
}

/// Poison only means a panic elsewhere; the data is still the best we have.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(
        settings: Settings,
        telemetry: Arc<Telemetry>,
        accounts: Vec<AccountState>,
    ) -> Shared {
        Shared {
            settings,
            store: Mutex::new(Store::new()),
            accounts: Mutex::new(accounts),
            telemetry,
            clock: Clock::new(),
            exposition: RwLock::new(Arc::new(Exposition::empty())),
            self_metrics: Mutex::new(None),
            changed: Notify::new(),
            state_changes: AtomicU64::new(0),
            remote: None,
        }
    }

    /// Marks the held data as changed for the state file.
    pub fn touch(&self) {
        self.state_changes.fetch_add(1, Ordering::SeqCst);
    }

    /// The self-metrics, encoded at most once a second: at a scrape every few seconds they
    /// are always fresh, and many scrapers at once share one encoding and compression.
    pub fn self_metrics(&self) -> Arc<SelfMetrics> {
        let mut cached = lock(&self.self_metrics);
        match cached.as_ref() {
            Some(m) if m.at.elapsed() < SELF_METRICS_MAX_AGE => m.clone(),
            _ => {
                let fresh = Arc::new(SelfMetrics {
                    at: std::time::Instant::now(),
                    plain: bytes::Bytes::from(self.telemetry.encode()),
                    deflated: std::sync::OnceLock::new(),
                });
                *cached = Some(fresh.clone());
                fresh
            }
        }
    }

    pub fn exposition(&self) -> Arc<Exposition> {
        self.exposition
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_exposition(&self, e: Exposition) {
        *self.exposition.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(e);
    }

    /// Ready once every account's site list has loaded or failed at least once.
    pub fn ready(&self) -> bool {
        lock(&self.accounts).iter().all(|a| a.up.is_some())
    }
}

/// Keeps `/metrics` current: re-renders after changes, from a snapshot of the store and off
/// the runtime (the loop lives in `exposition.rs`).
pub async fn render_loop(shared: Arc<Shared>, cancel: CancellationToken) {
    exposition::render_loop(shared, cancel).await
}

/// Raises the soft limit on open files to the hard limit, as Go programs do by default: an
/// exporter facing many scrapers and slow clients should not run out at 1,024.
/// Returns the limit now in force.
// `rlim_t` is not u64 on every platform.
#[allow(clippy::unnecessary_cast)]
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    return Some(raised.rlim_cur as u64);
                }
            }
        }
        Some(lim.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Runs the exporter until SIGINT or SIGTERM. Configuration problems (the web config, the
/// state file's folder, a busy port, the tokens) are [`UsageError`]s, found before any API
/// request.
pub async fn run(connect: &ContextOptions, settings: Settings) -> anyhow::Result<Exit> {
    raise_fd_limit();
    let web = match &settings.web_config_file {
        Some(path) => webconfig::WebConfig::load(path).map_err(|e| UsageError(e.to_string()))?,
        None => webconfig::WebConfig::default(),
    };
    if let Some(path) = &settings.state_file {
        check_state_path(path)?;
    }
    let addr: SocketAddr = settings.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| UsageError(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);

    let telemetry = Arc::new(Telemetry::new());
    let ctx = Context::new(connect, Some(telemetry.clone())).await?;
    telemetry
        .shard
        .with_label_values(&[
            &settings.shard.index().to_string(),
            &settings.shard.count().to_string(),
        ])
        .set(1);
    let accounts = ctx
        .accounts
        .iter()
        .map(|a| AccountState {
            index: a.index(),
            name: a.describe(),
            up: None,
            sites: 0,
            last_error: None,
        })
        .collect();
    let cancel = CancellationToken::new();
    let tracker = tokio_util::task::TaskTracker::new();
    let remotes = remote_writers(&settings.remote_write, &telemetry)?;
    let state_file = settings.state_file.clone();
    let mut shared = Shared::new(settings, telemetry, accounts);
    if !remotes.is_empty() {
        shared.remote = Some(crate::remote_write::RemoteWrite::start(
            remotes,
            shared.settings.refresh_duration.count(),
            &tracker,
            &cancel,
        ));
    }
    let shared = Arc::new(shared);
    if shared.settings.shard.count() > 1 {
        tracing::info!(shard = %shared.settings.shard, "serving one shard of the sites");
    }
    if let Some(path) = &state_file {
        if state_file::restore(&shared, path).await > 0 {
            // Serve the restored data from the very first scrape (rendered off the runtime,
            // from a snapshot, like every later render).
            let snapshot = lock(&shared.store).snapshot();
            let mut renderer = Renderer::new(
                shared.settings.history,
                shared.settings.history_window.as_secs() as i64,
            )
            .with_usage(shared.settings.usage.clone());
            let now = shared.clock.now();
            let rendered =
                tokio::task::spawn_blocking(move || renderer.render_snapshot(&snapshot, now)).await;
            if let Ok((exposition, _)) = rendered {
                shared.set_exposition(exposition);
            }
        }
        tracker.spawn(state_file::persist_loop(
            shared.clone(),
            path.clone(),
            shared.settings.tick,
            cancel.clone(),
        ));
    }
    let scheme = if web.tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, url = %format!("{scheme}://{}/", display_addr(local)), "serving /metrics");

    tracker.spawn(render_loop(shared.clone(), cancel.clone()));
    let scheduler = scheduler::Scheduler::new(
        shared.clone(),
        ctx.client.clone(),
        ctx.accounts.clone(),
        ctx.discovery.clone(),
    );
    tracker.spawn(scheduler.run(cancel.clone()));
    tracker.close();

    let server = http::serve(listener, shared.clone(), web, cancel.clone());
    tokio::pin!(server);
    tokio::select! {
        _ = &mut server => {}
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            cancel.cancel();
        }
    }
    cancel.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        server.await;
        tracker.wait().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("some work did not stop in time; exiting anyway");
    }
    drop(ctx);
    Ok(Exit::Success)
}

/// The state file's folder must exist (the file itself is created on the first write).
fn check_state_path(path: &std::path::Path) -> Result<(), UsageError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if path.is_dir() {
        return Err(UsageError(format!(
            "--state-file {} is a directory; name a file in it",
            path.display()
        )));
    }
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "--state-file {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// One sender per `--remote-write` URL, with the credentials read from their files.
fn remote_writers(
    args: &RemoteWriteSettings,
    telemetry: &Telemetry,
) -> anyhow::Result<Vec<Arc<crate::remote_write::Remote>>> {
    use crate::remote_write::{Auth, Options, Remote};
    if args.urls.is_empty() {
        return Ok(Vec::new());
    }
    let auth = match (&args.basic_auth_file, &args.bearer_token_file) {
        (Some(path), _) => Some(Auth::basic_from_file(path)?),
        (None, Some(path)) => Some(Auth::bearer_from_file(path)?),
        (None, None) => None,
    };
    let opts = Options {
        max_samples: args.batch_samples,
        max_batches: args.queue_batches,
        max_backoff: args.max_backoff,
        ..Options::default()
    };
    let mut remotes = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        let index = i + 1;
        let remote = Remote::new(
            index,
            url.clone(),
            auth.clone(),
            opts.clone(),
            telemetry.remote_write(index),
        )?;
        tracing::info!(remote = index, url = %crate::remote_write::display_url(url), "pushing learned days with remote write");
        remotes.push(Arc::new(remote));
    }
    Ok(remotes)
}

fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
