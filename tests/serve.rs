//! `pantheon-metrics serve` run as a real process against the fake API: what only the
//! binary shows (HTTP, the page, signals, the command line). The scheduler's timing is
//! tested in-process on a paused clock (`tests/scheduler.rs`).

mod support;

use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeServer, FaultAction, FaultRule, RouteKind};
use support::*;

const FAST: [&str; 4] = ["--refresh-interval", "6s", "--tick", "1s"];

fn full_history(text: &str, sites: usize) -> bool {
    samples(text, "pantheon_visits").len() == sites * 28
}

#[tokio::test]
async fn the_page_lists_every_site_and_a_failing_sites_error() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let failing = config.sites[0].id.clone();
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &["--refresh-interval", "3s", "--tick", "1s"],
    )
    .await;
    let before = serve
        .wait_metrics(Duration::from_secs(20), |t| full_history(t, 3))
        .await;
    fake.set_site_status(&failing, Some(403));
    let during = serve
        .wait_metrics(Duration::from_secs(15), |t| {
            scalar(t, "pantheon_exporter_site_refresh_errors_total").unwrap_or(0.0) >= 1.0
        })
        .await;
    assert_eq!(
        samples(&before, "pantheon_visits"),
        samples(&during, "pantheon_visits"),
        "a failing site changed held data"
    );
    let page = serve.get("/").await.text();
    assert!(page.contains("<h2>Sites (3)</h2>"), "{page}");
    assert!(
        page.contains("403"),
        "the page shows the site's error: {page}"
    );
}

#[tokio::test]
async fn page_escapes_hostile_labels() {
    let mut config = single_account_world(1);
    config.sites[0].label = Some("<script>alert(1)</script> \"q\" & \\ \nü".into());
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(&fake.url(), &tokens, &FAST).await;
    let metrics = serve
        .wait_metrics(Duration::from_secs(20), |t| full_history(t, 1))
        .await;
    assert!(
        metrics.contains(r#"label="<script>alert(1)</script> \"q\" & \\ \nü""#),
        "{metrics}"
    );
    let page = serve.get("/").await;
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp;"),
        "{html}"
    );
}

#[tokio::test]
async fn readyz_turns_ready_after_the_site_lists() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    fake.add_fault(FaultRule::new(
        RouteKind::Login,
        FaultAction::Hang(Duration::from_secs(2)),
        Some(1),
    ));
    let serve = Serve::start(&fake.url(), &tokens, &FAST).await;
    assert_eq!(serve.get("/readyz").await.status, 503);
    let start = Instant::now();
    while serve.get("/readyz").await.status != 200 {
        assert!(start.elapsed() < Duration::from_secs(15), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn keeps_running_when_every_account_fails() {
    let config = single_account_world(1);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(
        &fake.url(),
        &["mt-unknown-token-0000000000000000".to_string()],
        &FAST,
    )
    .await;
    let start = Instant::now();
    while serve.get("/readyz").await.status != 200 {
        assert!(start.elapsed() < Duration::from_secs(15), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = serve.get("/").await.text();
    assert!(page.contains("Every account failed"), "{page}");
    let metrics = serve.get("/metrics").await.text();
    assert!(
        metrics.contains("pantheon_exporter_account_up{account=\"token #1 (sha256:"),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_gzip_is_negotiated_and_content_type_is_text_format() {
    use std::io::Read;
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(&fake.url(), &tokens, &FAST).await;
    serve
        .wait_metrics(Duration::from_secs(20), |t| full_history(t, 3))
        .await;
    let plain = serve
        .request(
            reqwest::Method::GET,
            "/metrics",
            &[("accept-encoding", "identity")],
        )
        .await
        .unwrap();
    assert_eq!(
        plain.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(plain.headers.get("content-encoding").is_none());
    let gz = serve
        .request(
            reqwest::Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip")],
        )
        .await
        .unwrap();
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    let sites_part = |t: &str| {
        t.split("# HELP pantheon_exporter_")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(sites_part(&unzipped), sites_part(&plain.text()));
    assert!(unzipped.contains("pantheon_exporter_build_info{version="));
    let refused = serve
        .request(
            reqwest::Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip;q=0")],
        )
        .await
        .unwrap();
    assert!(refused.headers.get("content-encoding").is_none());
}

#[tokio::test]
async fn only_get_and_head_are_served() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(&fake.url(), &tokens, &FAST).await;
    let post = serve
        .request(reqwest::Method::POST, "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(post.status, 405);
    let head = serve
        .request(reqwest::Method::HEAD, "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let head_page = serve
        .request(reqwest::Method::HEAD, "/", &[])
        .await
        .unwrap();
    assert_eq!(head_page.status, 200);
    assert_eq!(serve.get("/nope").await.status, 404);
}

#[tokio::test]
async fn sigterm_exits_0_within_5_seconds() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    fake.set_latency(Duration::from_secs(30)); // API work in flight must be cancelled
    let mut serve = Serve::start(&fake.url(), &tokens, &FAST).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    serve.signal("TERM");
    let status = tokio::time::timeout(Duration::from_secs(6), serve.child.wait())
        .await
        .expect("exited")
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = run_env(
        "http://127.0.0.1:9/api",
        &["mt-x".into()],
        &["serve", "--listen", &addr],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("cannot listen on"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

#[tokio::test]
async fn reference_exporter_flags_run_serve() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::new(BIN)
        .env_clear()
        .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
        .env("PANTHEON_API_URL", fake.url())
        .args([
            "-env=live",
            &format!("-port={port}"),
            "-refreshInterval=1",
            "-siteLimit=10",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            let text = r.text().await.unwrap();
            if samples(&text, "pantheon_visits").len() == 28 {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "legacy command line did not serve metrics"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().await.unwrap();
}
