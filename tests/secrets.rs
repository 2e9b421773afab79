//! No machine token or session string, nor any 8+ character piece of one, may reach any
//! output: stdout, stderr (with --debug), written files, /metrics or the page.

mod support;

use std::time::Duration;

use pantheon_metrics::fake::{FakeServer, FaultAction, FaultRule, HOSTILE_LABEL, RouteKind};
use support::*;

/// Every 8-character window of every secret. Sessions start with the user id, which is not
/// secret (it is in every URL): only the part after it counts.
fn secret_pieces(tokens: &[String], sessions: &[String]) -> Vec<String> {
    let mut pieces = Vec::new();
    let secret_parts =
        tokens
            .iter()
            .cloned()
            .chain(sessions.iter().map(|s| match s.split_once(':') {
                Some((_user, rest)) => rest.to_string(),
                None => s.clone(),
            }));
    for secret in secret_parts {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(8) {
            let piece: String = w.iter().collect();
            // Shared boilerplate such as the "mt-" prefix is not secret material.
            if piece.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 6 {
                pieces.push(piece);
            }
        }
    }
    pieces
}

fn assert_clean(what: &str, text: &str, pieces: &[String]) {
    for p in pieces {
        assert!(
            !text.contains(p.as_str()),
            "{what} contains a piece of a secret ({p:?})"
        );
    }
}

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let mut config = shared_world();
    config.sites[0].label = Some(HOSTILE_LABEL.to_string());
    config.session_ttl = Duration::from_secs(2);
    let mut tokens = tokens_of(&config);
    tokens.push("mt-bad-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0".to_string());
    let fake = FakeServer::start(config.clone()).await.unwrap();
    // Faults so that error paths (status bodies, retries, re-logins) are exercised too.
    fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(503),
        Some(2),
    ));
    fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(401),
        Some(1),
    ));

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pantheon.prom");
    let mut outputs: Vec<(String, String)> = Vec::new();
    for args in [
        vec!["--debug", "sites"],
        vec!["--debug", "sites", "--format", "json"],
        vec!["--debug", "fetch", "--duration", "3d"],
        vec!["--debug", "fetch", "--format", "json"],
        vec!["--debug", "fetch", "--format", "prom"],
        vec!["--debug", "fetch", "--format", "openmetrics"],
        vec![
            "--debug",
            "fetch",
            "alpha-000",
            "--format",
            "prom",
            "--no-timestamps",
            "--output",
            out_file.to_str().unwrap(),
        ],
        vec![
            "--debug",
            "--log-format",
            "json",
            "fetch",
            "org-001",
            &config.sites[7].id,
        ],
    ] {
        let run = run(&fake, &tokens, &args).await;
        assert!(run.code == 0 || run.code == 3, "{args:?}: {run:?}");
        outputs.push((format!("{args:?}"), run.all_output()));
    }
    outputs.push((
        "written file".into(),
        std::fs::read_to_string(&out_file).unwrap(),
    ));

    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &["--refresh-interval", "3s", "--tick", "1s"],
    )
    .await;
    // Run --debug too: the serve helper passes global flags before `serve`; use RUST_LOG-free
    // --debug through a second process started by hand.
    serve
        .wait_metrics(Duration::from_secs(20), |t| {
            samples(t, "pantheon_visits").len() == 8 * 28
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // sessions expire and renew
    outputs.push(("/metrics".into(), serve.get("/metrics").await.text()));
    outputs.push(("/".into(), serve.get("/").await.text()));
    outputs.push(("serve logs".into(), serve.log_text()));

    let debug_serve = {
        let port = free_port();
        let logs = tempfile::NamedTempFile::new().unwrap();
        let mut child = tokio::process::Command::new(BIN)
            .env_clear()
            .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
            .args([
                "--api-url",
                &fake.url(),
                "--debug",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--refresh-interval",
                "2s",
                "--tick",
                "1s",
            ])
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let page = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        child.kill().await.unwrap();
        let text = std::fs::read_to_string(logs.path()).unwrap();
        assert!(
            text.contains("API request"),
            "--debug logged no request: {text}"
        );
        format!("{text}\n{page}")
    };
    outputs.push(("serve --debug".into(), debug_serve));

    let sessions = fake.issued_sessions();
    assert!(
        sessions.len() >= 4,
        "sessions were issued and renewed: {}",
        sessions.len()
    );
    let pieces = secret_pieces(&tokens, &sessions);
    for (what, text) in &outputs {
        assert_clean(what, text, &pieces);
    }
    // The debug logs do show the redaction markers, so the check above is not vacuous.
    assert!(outputs.iter().any(|(_, t)| t.contains("[REDACTED]")));
}
