//! The exporter's web server: TLS and basic auth from an exporter-toolkit web config, only
//! GET/HEAD, bounded headers, slow clients dropped, connection floods survived, and hostile
//! labels rendered safely in every format.

mod support;

use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeServer, HOSTILE_LABEL};
use pantheon_metrics::render::Format;
use pantheon_metrics::render::testutil::parse_exposition;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Tls {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    ca_pem: String,
}

/// A self-signed certificate for 127.0.0.1 and a web config with TLS and one user.
fn tls_config(password: &str) -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
    let hash = bcrypt::hash(password, 4).unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: {hash}\n"),
    )
    .unwrap();
    Tls {
        ca_pem: cert.pem(),
        config,
        _dir: dir,
    }
}

#[tokio::test]
async fn tls_and_basic_auth_guard_every_route_but_healthz() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let tls = tls_config("correct horse");
    let port = free_port();
    let _child = tokio::process::Command::new(BIN)
        .env_clear()
        .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
        .args([
            "--api-url",
            &fake.url(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--web.config.file",
            tls.config.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let url = |p: &str| format!("https://127.0.0.1:{port}{p}");
    let start = Instant::now();
    loop {
        match client.get(url("/healthz")).send().await {
            Ok(r) if r.status() == 200 => break,
            _ if start.elapsed() > Duration::from_secs(15) => panic!("TLS server never answered"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    for path in ["/metrics", "/", "/readyz"] {
        let none = client.get(url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path} without credentials");
        assert!(
            none.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let wrong = client
            .get(url(path))
            .basic_auth("prometheus", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong password");
        let stranger = client
            .get(url(path))
            .basic_auth("mallory", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), 401, "{path} with an unknown user");
    }
    for path in ["/metrics", "/"] {
        let ok = client
            .get(url(path))
            .basic_auth("prometheus", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{path} with the right credentials");
    }
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

#[tokio::test]
async fn a_bad_web_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(&path, "basic_auth_users:\n  prometheus: not-a-hash\n").unwrap();
    let run = run_env(
        "http://127.0.0.1:9/api",
        &["mt-x".into()],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web.config.file",
            path.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("bcrypt"), "{}", run.stderr);
}

#[tokio::test]
async fn slow_clients_and_huge_headers_are_cut_off() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(&fake.url(), &tokens, &[]).await;

    // A client that never finishes its request head is dropped after the header timeout.
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", serve.port))
        .await
        .unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(20), slow.read(&mut buf))
        .await
        .expect("dropped in time")
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "dropped too early: {:?}",
        started.elapsed()
    );

    // A 64 KiB header is refused, not buffered.
    let mut big = tokio::net::TcpStream::connect(("127.0.0.1", serve.port))
        .await
        .unwrap();
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = big.write_all(huge.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), big.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(serve.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn a_flood_of_idle_connections_does_not_stop_scrapes() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let serve = Serve::start(&fake.url(), &tokens, &[]).await;
    serve
        .wait_metrics(Duration::from_secs(20), |t| {
            samples(t, "pantheon_visits").len() == 84
        })
        .await;
    // This process holds the client ends.
    pantheon_metrics::serve::raise_fd_limit();
    let mut idle = Vec::new();
    for _ in 0..2000 {
        match tokio::net::TcpStream::connect(("127.0.0.1", serve.port)).await {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {} refused: {e}", idle.len()),
        }
    }
    let started = Instant::now();
    let scrape = serve.get("/metrics").await;
    assert_eq!(scrape.status, 200);
    assert_eq!(samples(&scrape.text(), "pantheon_visits").len(), 84);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "scrape took {:?}",
        started.elapsed()
    );
    let pid = serve.child.id().unwrap();
    let rss_kib: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        rss_kib < 200 * 1024,
        "RSS {rss_kib} KiB with 2,000 idle connections"
    );
    drop(idle);
}

#[tokio::test]
async fn hostile_labels_are_safe_in_every_format() {
    let mut config = single_account_world(1);
    config.sites[0].label = Some(HOSTILE_LABEL.to_string());
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();

    let json = run(
        &fake,
        &tokens,
        &["fetch", "--format", "json", "--duration", "2d"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v[0]["site"]["label"], HOSTILE_LABEL,
        "JSON keeps the label exactly"
    );

    let escaped = HOSTILE_LABEL
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    for (format, syntax) in [
        ("prom", Format::Prometheus),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let out = run(
            &fake,
            &tokens,
            &["fetch", "--format", format, "--duration", "2d"],
        )
        .await;
        assert_eq!(out.code, 0, "{out:?}");
        // Every line through the strict reader, and the label read back exactly.
        let samples = parse_exposition(&out.stdout, syntax)
            .unwrap_or_else(|e| panic!("{format}: {e} in:\n{}", out.stdout));
        assert!(samples.len() >= 2 * 4, "{format}: {}", out.stdout);
        for s in &samples {
            assert_eq!(s.label("label"), HOSTILE_LABEL, "{format}: {s:?}");
        }
        assert!(
            out.stdout.contains(&format!("label=\"{escaped}\"")),
            "{format}: {}",
            out.stdout
        );
        for line in out.stdout.lines() {
            assert!(
                line.starts_with('#') || line.starts_with("pantheon_"),
                "{format}: a label broke a line: {line:?}"
            );
        }
    }
    let table = run(&fake, &tokens, &["fetch", "--duration", "2d"]).await;
    assert!(
        !table.stdout.contains("blog\nCafé"),
        "a raw newline in the table"
    );
    assert!(table.stdout.contains("blog\\nCafé"), "{}", table.stdout);
    let sites = run(&fake, &tokens, &["sites"]).await;
    assert!(!sites.stdout.contains("blog\nCafé"));
}
