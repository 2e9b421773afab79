//! `--web.config.file`: TLS and basic auth for the exporter's HTTP server, with the same YAML
//! keys as the Prometheus exporter-toolkit, so existing files work unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: ca.crt                         # optional
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hash
//! ```
//!
//! Relative paths are relative to the config file's folder, as in exporter-toolkit. Keys this
//! exporter does not use (`http_server_config`, cipher settings) are accepted and ignored.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// Why the web config cannot be used (a configuration error: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid web config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    min_version: Option<String>,
}

/// What the HTTP server enforces.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.is_some())
            .finish()
    }
}

impl WebConfig {
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| WebConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| invalid(e.to_string()))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match raw.tls_server_config {
            Some(t) => Some(tls_acceptor(&t, base).map_err(invalid)?),
            None => None,
        };
        let auth = if raw.basic_auth_users.is_empty() {
            None
        } else {
            for (user, hash) in &raw.basic_auth_users {
                if hash.parse::<bcrypt::HashParts>().is_err() {
                    return Err(invalid(format!(
                        "the password of user {user:?} is not a bcrypt hash"
                    )));
                }
            }
            Some(Arc::new(BasicAuth::new(raw.basic_auth_users)))
        };
        Ok(WebConfig { tls, auth })
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn tls_acceptor(t: &RawTls, base: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    let cert_file = t
        .cert_file
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or("tls_server_config needs cert_file")?;
    let key_file = t
        .key_file
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or("tls_server_config needs key_file")?;
    let cert_path = resolve(base, cert_file);
    let key_path = resolve(base, key_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| format!("cannot read cert_file {}: {e}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("cannot read key_file {}: {e}", key_path.display()))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match t.min_version.as_deref() {
        None | Some("") | Some("TLS12") => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(other) => {
            return Err(format!(
                "unsupported min_version {other:?} (use TLS12 or TLS13)"
            ));
        }
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?;
    let auth_type = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth_type {
        "" | "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let ca_file = t
                .client_ca_file
                .as_deref()
                .ok_or(format!("client_auth_type {auth_type} needs client_ca_file"))?;
            let ca_path = resolve(base, ca_file);
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca_path)
                .map_err(|e| format!("cannot read client_ca_file {}: {e}", ca_path.display()))?
            {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if auth_type == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "unsupported client_auth_type {other:?} (use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ));
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not match: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Basic auth against bcrypt hashes. Verified passwords are cached (by a SHA-256 of user and
/// password) so a scrape every 15 s does not pay bcrypt's deliberate slowness each time.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Mutex<Lru>,
    /// bcrypt is slow on purpose: it runs on the blocking pool, a few at a time, so a flood
    /// of wrong passwords queues here instead of stalling the runtime's workers.
    slots: Arc<Semaphore>,
    verify: Verifier,
}

/// `(password, hash) -> matches`; bcrypt outside tests.
type Verifier = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A valid hash that matches nothing we will be sent: unknown users cost as much as known
/// ones, so timing does not tell which user names exist.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// Verified credentials kept; past this the least recently used one is forgotten.
const CACHE_ENTRIES: NonZeroUsize = NonZeroUsize::new(1024).unwrap();

/// bcrypt verifications running at once; more wait for a slot.
const CONCURRENT_VERIFICATIONS: usize = 2;

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> BasicAuth {
        BasicAuth::with_verifier(
            users,
            Arc::new(|password, hash| bcrypt::verify(password, hash).unwrap_or(false)),
        )
    }

    fn with_verifier(users: BTreeMap<String, String>, verify: Verifier) -> BasicAuth {
        BasicAuth {
            users,
            verified: Mutex::new(Lru::new(CACHE_ENTRIES)),
            slots: Arc::new(Semaphore::new(CONCURRENT_VERIFICATIONS)),
            verify,
        }
    }

    /// Checks an `Authorization` header value. A credential not seen recently waits for a
    /// verification slot and is verified on the blocking pool.
    pub async fn check(&self, header: Option<&str>) -> bool {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if let Some(&ok) = self.cache().get(&key) {
            return ok;
        }
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.clone(), true),
            None => (DUMMY_HASH.to_string(), false),
        };
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return false; // never closed
        };
        let verify = self.verify.clone();
        // The permit moves into the blocking task: a client that hangs up mid-check does not
        // free a slot while its bcrypt is still running.
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify(&password, &hash)
        })
        .await;
        let ok = match matched {
            Ok(matched) => known && matched,
            Err(e) => {
                tracing::warn!(error = %e, "password verification failed");
                return false;
            }
        };
        self.cache().put(key, ok);
        ok
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Verified credentials by digest, least recently used forgotten first, so a flood of wrong
/// passwords cannot evict a scraper's credential all at once.
type Lru = lru::LruCache<[u8; 32], bool>;

fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[tokio::test]
    async fn basic_auth_accepts_only_the_right_password() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("prom".to_string(), hash)]));
        assert!(auth.check(Some(&basic("prom", "s3cret"))).await);
        assert!(
            auth.check(Some(&basic("prom", "s3cret"))).await,
            "cached answer is the same"
        );
        assert!(!auth.check(Some(&basic("prom", "wrong"))).await);
        assert!(!auth.check(Some(&basic("nobody", "s3cret"))).await);
        assert!(!auth.check(None).await);
        assert!(!auth.check(Some("Bearer abc")).await);
        assert!(!auth.check(Some("Basic !!!not-base64")).await);
    }

    fn key(n: u32) -> [u8; 32] {
        let mut k = [0; 32];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k
    }

    #[test]
    fn cache_forgets_the_least_recently_used_entry_first() {
        let mut lru = Lru::new(NonZeroUsize::new(3).unwrap());
        lru.put(key(1), true);
        lru.put(key(2), false);
        lru.put(key(3), false);
        assert_eq!(lru.get(&key(1)), Some(&true), "1 is now the most recent");
        lru.put(key(4), false);
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.get(&key(2)), None, "2 was the least recently used");
        assert_eq!(lru.get(&key(1)), Some(&true));
        assert_eq!(lru.get(&key(3)), Some(&false));
        assert_eq!(lru.get(&key(4)), Some(&false));
    }

    #[test]
    fn cache_stays_bounded_and_keeps_a_credential_in_use() {
        let mut lru = Lru::new(NonZeroUsize::new(16).unwrap());
        lru.put(key(0), true);
        for n in 1..10_000 {
            lru.put(key(n), false);
            if n % 8 == 0 {
                assert_eq!(lru.get(&key(0)), Some(&true), "evicted after {n} puts");
            }
            assert!(lru.len() <= 16);
        }
        assert_eq!(lru.len(), 16);
        assert_eq!(lru.get(&key(9_999)), Some(&false));
        assert_eq!(lru.get(&key(1)), None);
    }

    #[tokio::test]
    async fn a_flood_of_wrong_passwords_does_not_evict_the_scraper() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let auth = BasicAuth::with_verifier(
            BTreeMap::from([("prom".to_string(), "hash".to_string())]),
            Arc::new(move |password, _| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                password == "right"
            }),
        );
        let good = basic("prom", "right");
        assert!(auth.check(Some(&good)).await);
        for n in 0..3 * CACHE_ENTRIES.get() {
            assert!(!auth.check(Some(&basic("prom", &format!("wrong{n}")))).await);
            if n % 100 == 0 {
                assert!(auth.check(Some(&good)).await);
            }
        }
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            1 + 3 * CACHE_ENTRIES.get(),
            "the right password was verified once and then always served from the cache"
        );
        assert!(auth.cache().len() <= CACHE_ENTRIES.get());
    }

    /// Holds every verification until opened, recording what ran where.
    #[derive(Default)]
    struct Gate {
        state: Mutex<GateState>,
        opened: std::sync::Condvar,
        entered: tokio::sync::Notify,
    }

    #[derive(Default)]
    struct GateState {
        open: bool,
        active: usize,
        max_active: usize,
        hashes: Vec<String>,
        threads: Vec<std::thread::ThreadId>,
    }

    impl Gate {
        async fn wait_for_active(&self, n: usize) {
            while self.state.lock().unwrap().active < n {
                self.entered.notified().await;
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn verifications_run_off_the_runtime_a_bounded_number_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::Duration;

        let runtime_thread = std::thread::current().id();
        let gate = Arc::new(Gate::default());
        let g = gate.clone();
        let verifier: Verifier = Arc::new(move |password, hash| {
            let mut s = g.state.lock().unwrap();
            s.active += 1;
            s.max_active = s.max_active.max(s.active);
            s.hashes.push(hash.to_string());
            s.threads.push(std::thread::current().id());
            g.entered.notify_one();
            // Bounded, so a verification on the runtime's only thread fails the test below
            // instead of hanging it.
            let (mut s, _) = g
                .opened
                .wait_timeout_while(s, Duration::from_secs(2), |s| !s.open)
                .unwrap();
            s.active -= 1;
            password == "right"
        });
        let auth = Arc::new(BasicAuth::with_verifier(
            BTreeMap::from([("prom".to_string(), "prom-hash".to_string())]),
            verifier,
        ));
        let checks: Vec<_> = (0..8)
            .map(|i| {
                let auth = auth.clone();
                let user = if i == 7 { "nobody" } else { "prom" };
                let header = basic(user, &format!("wrong{i}"));
                tokio::spawn(async move { auth.check(Some(&header)).await })
            })
            .collect();
        let beats = Arc::new(AtomicUsize::new(0));
        let heartbeat = {
            let beats = beats.clone();
            tokio::spawn(async move {
                loop {
                    beats.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            })
        };

        tokio::time::timeout(Duration::from_secs(10), gate.wait_for_active(2))
            .await
            .expect("two verifications start");
        let before = beats.load(Ordering::SeqCst);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            beats.load(Ordering::SeqCst) > before,
            "the runtime keeps running other tasks while bcrypt runs"
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(200), gate.wait_for_active(3))
                .await
                .is_err(),
            "a third verification started while two were running"
        );

        gate.state.lock().unwrap().open = true;
        gate.opened.notify_all();
        for check in checks {
            assert!(!check.await.unwrap());
        }
        heartbeat.abort();

        let s = gate.state.lock().unwrap();
        assert_eq!(s.max_active, CONCURRENT_VERIFICATIONS);
        assert_eq!(
            s.hashes.len(),
            8,
            "every request was verified, none refused"
        );
        assert_eq!(
            s.hashes.iter().filter(|h| *h == DUMMY_HASH).count(),
            1,
            "the unknown user costs a verification against the dummy hash"
        );
        assert!(
            s.threads.iter().all(|t| *t != runtime_thread),
            "bcrypt ran on the runtime's thread"
        );
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        for (text, needle) in [
            (
                "basic_auth_users:\n  prom: plaintext\n",
                "not a bcrypt hash",
            ),
            ("tls_server_config:\n  key_file: k.pem\n", "cert_file"),
            (
                "tls_server_config:\n  cert_file: missing.pem\n  key_file: k.pem\n",
                "missing.pem",
            ),
            ("basic_auth_users: [1, 2\n", "invalid web config"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = WebConfig::load(&path).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        std::fs::write(&path, "http_server_config:\n  http2: false\n").unwrap();
        let ok = WebConfig::load(&path).unwrap();
        assert!(ok.tls.is_none() && ok.auth.is_none());
    }
}
