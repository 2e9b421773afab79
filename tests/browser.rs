//! The summary page in a real browser: Debian's headless Chromium, driven over the DevTools
//! protocol, loads `/` of `serve` running on the demo world of the fake API (with its hostile
//! label, one site failing and one waiting out a rebuild) at a desktop and a phone width,
//! and writes a screenshot of each to `target/browser/` (`page-desktop.png`, `page-phone.png`).
//!
//! Run with `cargo test --features e2e --test browser`. A missing browser fails the test
//! (never skips it) with the command that installs it: `apt-get install chromium`.
#![cfg(feature = "e2e")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDeviceMetricsOverrideParams, SetScriptExecutionDisabledParams,
};
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::network::{
    self, EventRequestWillBeSent, EventResponseReceived, ResourceType,
};
use chromiumoxide::cdp::browser_protocol::page::EventJavascriptDialogOpening;
use chromiumoxide::cdp::js_protocol::debugger::EventScriptParsed;
use chromiumoxide::cdp::js_protocol::runtime::{EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::{FutureExt, Stream, StreamExt};
use pantheon_metrics::allowances::DEMO_ALLOWANCES;
use pantheon_metrics::fake::{FakeConfig, FakeServer, FakeSite, HOSTILE_LABEL};
use serde_json::Value;
use support::*;

const INSTALL: &str = "apt-get install chromium";
/// The page's budget: one small document, whatever the browser adds.
const MAX_PAGE_BYTES: usize = 96 * 1024;

/// Debian's Chromium: on PATH or at `/usr/bin/chromium`; panics (fails the test) with how to
/// install it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium not found; the e2e suite needs it (it fails rather than skips): {INSTALL}"
            )
        })
}

/// Where the screenshots go: `target/browser/` (of `CARGO_TARGET_DIR` when set).
fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless Chromium with a fresh profile that never reaches out on its own (no sync,
/// component updates, QUIC or first-run work): the only requests it makes are the page's.
struct Chromium {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn launch() -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(chromium())
            .no_sandbox()
            .user_data_dir(profile.path())
            .viewport(None)
            .args([
                "disable-gpu",
                "disable-quic",
                "no-first-run",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
            ])
            .launch_timeout(Duration::from_secs(60))
            .request_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let (browser, mut handler) = Browser::launch(config)
            .await
            .unwrap_or_else(|e| panic!("chromium did not start ({e}); is it installed? {INSTALL}"));
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    break;
                }
            }
        });
        Chromium {
            browser,
            handler,
            _profile: profile,
        }
    }

    async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// Everything an event stream delivered so far, without waiting for more.
fn drain<T>(stream: &mut (impl Stream<Item = Arc<T>> + Unpin)) -> Vec<Arc<T>> {
    let mut out = Vec::new();
    while let Some(Some(event)) = stream.next().now_or_never() {
        out.push(event);
    }
    out
}

/// One width the page is looked at.
struct View {
    name: &'static str,
    width: i64,
    height: i64,
    mobile: bool,
    javascript: bool,
}

/// What the browser saw of the page at one width.
#[derive(Debug)]
struct Seen {
    /// Requests the page made: URL and resource type.
    requests: Vec<(String, String)>,
    /// Console messages, uncaught exceptions and error log entries.
    problems: Vec<String>,
    /// Scripts parsed for the page and dialogs opened while it loaded (JavaScript on).
    scripts: usize,
    dialogs: usize,
    /// The DOM, read through the DevTools protocol after the load.
    dom: Value,
    screenshot: PathBuf,
}

/// Reads the page from the DevTools side (a DevTools evaluation runs even where the page's
/// own scripts are off): the tables cell by cell, the rendered text and the widths.
const READ_DOM: &str = r#"(() => {
  const rows = id => Array.from(document.querySelectorAll('#' + id + ' tbody tr'))
    .map(r => Array.from(r.cells).map(c => c.textContent));
  const de = document.documentElement;
  return {
    scripts: document.querySelectorAll('script').length,
    handlers: Array.from(document.querySelectorAll('*')).filter(e =>
      Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
    scrollWidth: Math.max(de.scrollWidth, document.body.scrollWidth),
    clientWidth: de.clientWidth,
    text: document.body.innerText,
    html: de.outerHTML,
    accounts: rows('accounts'),
    sites: rows('sites'),
    attention: rows('attention'),
    usage: rows('usage').length,
    overview: Array.from(document.querySelectorAll('.cards .card')).map(c => c.innerText),
  };
})()"#;

async fn look(browser: &Browser, url: &str, view: &View) -> Seen {
    let page: Page = browser.new_page("about:blank").await.unwrap();
    page.execute(network::EnableParams::default())
        .await
        .unwrap();
    page.enable_log().await.unwrap();
    page.enable_runtime().await.unwrap();
    if view.javascript {
        page.enable_debugger().await.unwrap();
    }
    let mut requests = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .unwrap();
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let mut exceptions = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let mut log = page.event_listener::<EventEntryAdded>().await.unwrap();
    let mut dialogs = page
        .event_listener::<EventJavascriptDialogOpening>()
        .await
        .unwrap();
    let mut scripts = page.event_listener::<EventScriptParsed>().await.unwrap();
    page.execute(SetDeviceMetricsOverrideParams::new(
        view.width,
        view.height,
        1.0,
        view.mobile,
    ))
    .await
    .unwrap();
    page.execute(SetScriptExecutionDisabledParams::new(!view.javascript))
        .await
        .unwrap();
    let _ = drain(&mut scripts);
    page.goto(url).await.unwrap();
    // Scripts of the page's own world, counted before our own evaluation adds one (the
    // driver's helpers run in an isolated world).
    let page_scripts = drain(&mut scripts)
        .iter()
        .filter(|s| {
            s.execution_context_aux_data
                .as_ref()
                .is_none_or(|d| d["isDefault"] != Value::Bool(false))
        })
        .count();

    let dom: Value = page.evaluate(READ_DOM).await.unwrap().into_value().unwrap();
    let shot = page
        .screenshot(ScreenshotParams::builder().full_page(true).build())
        .await
        .unwrap();
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    let screenshot = shots_dir().join(format!("page-{}.png", view.name));
    std::fs::write(&screenshot, &shot).unwrap();

    let mut problems: Vec<String> = drain(&mut console)
        .iter()
        .map(|c| format!("console.{:?}: {:?}", c.r#type, c.args))
        .collect();
    problems.extend(
        drain(&mut exceptions)
            .iter()
            .map(|e| format!("exception: {}", e.exception_details.text)),
    );
    problems.extend(
        drain(&mut log)
            .iter()
            .filter(|e| e.entry.level == LogEntryLevel::Error)
            .map(|e| format!("log error: {} ({:?})", e.entry.text, e.entry.url)),
    );
    let requests = drain(&mut requests)
        .iter()
        .map(|r| {
            (
                r.request.url.clone(),
                r.r#type
                    .as_ref()
                    .map_or_else(String::new, |t| format!("{t:?}")),
            )
        })
        .collect();
    let dialogs = drain(&mut dialogs).len();
    page.close().await.unwrap();
    Seen {
        requests,
        problems,
        scripts: page_scripts,
        dialogs,
        dom,
        screenshot,
    }
}

fn strings(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .unwrap_or_else(|| panic!("an array of rows: {v}"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// Polls the page's HTML until `ok` holds, or panics after `limit`.
async fn wait_page(serve: &Serve, limit: Duration, what: &str, ok: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        let page = serve.get("/").await.text();
        if ok(&page) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{what} not shown within {limit:?}:\n{page}\nlogs:\n{}",
            serve.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `<tr>` of site `name` in the sites table of `page`'s HTML.
fn site_row<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let table = &page[page.find("<table id=\"sites\"")?..];
    let row = &table[table.find(&format!("<td class=\"t\">{name}</td>"))?..];
    Some(&row[..row.find("</tr>")?])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_page_in_headless_chromium_at_desktop_and_phone_width() {
    let started = Instant::now();
    let config = FakeConfig::demo();
    let tokens = tokens_of(&config);
    let failing = config
        .sites
        .iter()
        .find(|s| s.name == "beta-site-3")
        .unwrap()
        .id
        .clone();
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let allowances = dir.path().join("allowances.yml");
    std::fs::write(&allowances, DEMO_ALLOWANCES).unwrap();
    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &[
            "--refresh-interval",
            "3s",
            "--tick",
            "1s",
            "--allowances",
            allowances.to_str().unwrap(),
        ],
    )
    .await;
    let metrics = serve
        .wait_metrics(Duration::from_secs(60), |t| {
            scalar(t, "pantheon_exporter_backfill_pending_sites") == Some(0.0)
                && !samples(t, "pantheon_visits").is_empty()
                && t.lines()
                    .filter(|l| l.starts_with("pantheon_exporter_account_up{"))
                    .filter(|l| l.ends_with(" 1"))
                    .count()
                    == config.accounts.len()
        })
        .await;
    // The sites as the CLI discovers them: what `serve` must hold, under the same accounts.
    let listed = run(&fake, &tokens, &["sites", "--format", "json"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let held: BTreeSet<(String, String)> = site_pairs(&listed.stdout).into_iter().collect();
    assert!(
        held.iter().any(|(_, n)| n == "ada-best-blog"),
        "the hostile label's site is listed"
    );
    let exported: BTreeSet<String> = parsed_samples(&metrics, "pantheon_visits")
        .iter()
        .map(|s| s.label("name").to_string())
        .collect();
    assert!(
        exported.contains("ada-best-blog"),
        "its traffic is exported"
    );

    // One site fails until it is stale; one new site waits out a rebuild.
    fake.set_site_status(&failing, Some(403));
    fake.set_rebuild(true);
    fake.add_site(2, FakeSite::new("gamma-late-site"));
    wait_page(
        &serve,
        Duration::from_secs(30),
        "a stale and a waiting site",
        |p| {
            site_row(p, "beta-site-3").is_some_and(|r| r.contains(">stale</td>"))
                && site_row(p, "gamma-late-site").is_some_and(|r| r.contains(">waiting</td>"))
        },
    )
    .await;
    let mut expected: BTreeMap<String, &str> =
        held.iter().map(|(_, name)| (name.clone(), "ok")).collect();
    expected.insert("beta-site-3".into(), "stale");
    expected.insert("gamma-late-site".into(), "waiting");
    let accounts: BTreeSet<String> = config.accounts.iter().map(|a| a.email.clone()).collect();

    let browser_started = Instant::now();
    let chromium = Chromium::launch().await;
    let url = serve.url("/");
    let views = [
        View {
            name: "desktop",
            width: 1280,
            height: 900,
            mobile: false,
            javascript: true,
        },
        View {
            name: "phone",
            width: 390,
            height: 844,
            mobile: true,
            javascript: false,
        },
    ];
    for view in &views {
        let seen = look(&chromium.browser, &url, view).await;
        let name = view.name;
        let dom = &seen.dom;

        // One self-contained document: the only request is the page itself.
        assert!(!seen.requests.is_empty(), "{name}: the page was requested");
        for (req, kind) in &seen.requests {
            assert!(
                req == &url || req.starts_with("data:"),
                "{name}: the page loaded {req} ({kind}); it must need nothing but itself"
            );
        }
        let html = dom["html"].as_str().unwrap();
        assert!(html.len() < MAX_PAGE_BYTES, "{name}: {} bytes", html.len());
        // No script: none in the document, no handler attribute, none parsed, no dialog.
        assert_eq!(dom["scripts"], 0, "{name}: a <script> element");
        assert_eq!(dom["handlers"], 0, "{name}: an on* handler attribute");
        assert_eq!(seen.scripts, 0, "{name}: a script ran");
        assert_eq!(seen.dialogs, 0, "{name}: a dialog opened");
        assert!(seen.problems.is_empty(), "{name}: {:?}", seen.problems);

        // No sideways scrolling.
        let (scroll, client) = (
            dom["scrollWidth"].as_i64().unwrap(),
            dom["clientWidth"].as_i64().unwrap(),
        );
        assert_eq!(
            client, view.width,
            "{name}: the viewport is the device's width"
        );
        assert!(
            scroll <= client,
            "{name}: the page scrolls sideways ({scroll} > {client})"
        );

        // The hostile label is text, shown as written.
        let text = dom["text"].as_str().unwrap();
        assert!(
            text.contains("<script>alert(1)</script>"),
            "{name}: the label's markup is shown as text"
        );
        let sites = strings(&dom["sites"]);
        let ada = sites.iter().find(|r| r[0] == "ada-best-blog").unwrap();
        assert_eq!(
            ada[1], HOSTILE_LABEL,
            "{name}: the label, character for character"
        );

        // Every account and every site, named with its state.
        let rows = strings(&dom["accounts"]);
        let shown: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(shown, accounts, "{name}: the accounts");
        for r in &rows {
            assert_eq!(r[1], "up", "{name}: account {r:?}");
            assert!(text.contains(&r[0]), "{name}: {} is visible", r[0]);
        }
        let shown: BTreeMap<String, &str> = sites
            .iter()
            .map(|r| (r[0].clone(), r[3].as_str()))
            .collect();
        assert_eq!(shown, expected, "{name}: every site with its state");
        for r in &sites {
            assert!(text.contains(&r[0]), "{name}: {} is visible", r[0]);
            assert!(
                held.contains(&(r[2].clone(), r[0].clone())) || r[0] == "gamma-late-site",
                "{name}: {r:?} under the account that fetches it"
            );
        }

        // What an operator checks first, before the tables.
        let overview: Vec<&str> = dom["overview"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(overview.len(), 4, "{name}: {overview:?}");
        assert!(overview[0].contains("3 of 3 up"), "{name}: {overview:?}");
        let total = expected.len();
        assert!(
            overview[1].contains(&format!("{} of {total} ok", total - 2))
                && overview[1].contains("1 stale")
                && overview[1].contains("1 waiting"),
            "{name}: {overview:?}"
        );
        assert!(
            overview[2].contains(&format!("{} of {total} sites", total - 1)),
            "{name}: backfill {overview:?}"
        );
        assert!(overview[3].contains("ago"), "{name}: {overview:?}");
        let attention = strings(&dom["attention"]);
        let trouble: Vec<(&str, &str)> = attention
            .iter()
            .map(|r| (r[0].as_str(), r[2].as_str()))
            .collect();
        assert_eq!(
            trouble,
            [("beta-site-3", "stale"), ("gamma-late-site", "waiting")],
            "{name}: needs attention, worst first"
        );
        assert!(attention[0][4].contains("403"), "{name}: {attention:?}");
        let usage = dom["usage"].as_u64().unwrap() as usize;
        assert!(
            (1..total).contains(&usage),
            "{name}: the plan-usage table has {usage} rows"
        );
        let png = std::fs::metadata(&seen.screenshot).unwrap().len();
        assert!(png > 10_000, "{name}: a real screenshot ({png} bytes)");
    }
    chromium.close().await;
    eprintln!(
        "browser part: {:?}; whole test: {:?}",
        browser_started.elapsed(),
        started.elapsed()
    );
}

/// With basic auth configured, a browser without credentials gets the 401 and nothing of the
/// page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_basic_auth_the_browser_gets_401_without_credentials() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    std::fs::write(&web, format!("basic_auth_users:\n  operator: {hash}\n")).unwrap();
    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &["--web.config.file", web.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        serve.get("/").await.status,
        401,
        "a plain client is refused"
    );

    let chromium = Chromium::launch().await;
    let page = chromium.browser.new_page("about:blank").await.unwrap();
    page.execute(network::EnableParams::default())
        .await
        .unwrap();
    let mut responses = page
        .event_listener::<EventResponseReceived>()
        .await
        .unwrap();
    let url = serve.url("/");
    let _ = page.goto(url.as_str()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let document = drain(&mut responses)
            .into_iter()
            .find(|r| r.r#type == ResourceType::Document && r.response.url == url);
        if let Some(r) = document {
            break r.response.status;
        }
        assert!(Instant::now() < deadline, "no answer for the page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 401);
    let text: String = page
        .evaluate("document.documentElement.outerHTML")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    for site in &config.sites {
        assert!(
            !text.contains(&site.name),
            "{} leaked past the 401",
            site.name
        );
    }
    assert!(!text.contains("<h1>pantheon-metrics"), "{text}");
    page.close().await.unwrap();
    chromium.close().await;
}
