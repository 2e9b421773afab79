//! What every API-using command needs: the client, one [`Account`] per token, and what to
//! discover. Built from plain options, so `serve` and the tests need no command line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{self, ConfigError};
use crate::discovery::DiscoveryOptions;
use crate::fake::{FakeConfig, FakeServer};
use crate::pantheon::{Account, Client, ClientOptions, DEFAULT_API_URL, RequestObserver, Secret};

/// How to reach the API and with which tokens.
#[derive(Clone, Debug)]
pub struct ContextOptions {
    pub api_url: String,
    /// A file of tokens, one per line; without it they come from `PANTHEON_MACHINE_TOKENS`.
    pub tokens_file: Option<PathBuf>,
    /// Start the built-in fake API with demo accounts instead.
    pub demo: bool,
    pub environment: Arc<str>,
    pub discovery: DiscoveryOptions,
    /// API requests in flight at once, across all accounts: the one concurrency bound.
    pub concurrency: usize,
    /// Cap on request starts per second (0 = none).
    pub max_rps: f64,
    pub timeout: Duration,
    /// First retry backoff step.
    pub retry_base: Duration,
}

impl Default for ContextOptions {
    fn default() -> ContextOptions {
        ContextOptions {
            api_url: DEFAULT_API_URL.to_string(),
            tokens_file: None,
            demo: false,
            environment: Arc::from("live"),
            discovery: DiscoveryOptions::default(),
            concurrency: 4,
            max_rps: 0.0,
            timeout: Duration::from_secs(30),
            retry_base: Duration::from_secs(1),
        }
    }
}

/// The client and the accounts, ready to discover and fetch.
pub struct Context {
    pub client: Client,
    pub accounts: Vec<Arc<Account>>,
    pub environment: Arc<str>,
    pub discovery: DiscoveryOptions,
    /// Keeps the demo API alive as long as the command runs.
    _demo: Option<FakeServer>,
}

impl Context {
    /// Loads the tokens (or starts the demo API) and builds the client, with every API
    /// attempt reported to `observer` when one is given.
    pub async fn new(
        options: &ContextOptions,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> anyhow::Result<Context> {
        let (tokens, api_url, demo) = if options.demo {
            let server = FakeServer::start(FakeConfig::demo())
                .await
                .context("cannot start the demo API")?;
            let tokens = server
                .config()
                .accounts
                .iter()
                .map(|a| Secret::new(a.token.as_str()))
                .collect();
            tracing::info!(url = %server.url(), "demo: using the built-in fake Pantheon API");
            (tokens, server.url(), Some(server))
        } else {
            let env_tokens = std::env::var(config::TOKENS_ENV).ok();
            let tokens =
                config::load_tokens(env_tokens.as_deref(), options.tokens_file.as_deref())?;
            (tokens, options.api_url.clone(), None)
        };
        let client_options = ClientOptions {
            base_url: api_url,
            timeout: options.timeout,
            concurrency: options.concurrency,
            max_rps: options.max_rps,
            backoff_base: options.retry_base,
            ..ClientOptions::default()
        };
        let client = match observer {
            Some(o) => Client::with_observer(client_options, o),
            None => Client::new(client_options),
        }
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let accounts = tokens
            .into_iter()
            .enumerate()
            .map(|(i, token)| {
                client.register_secret(&token);
                Arc::new(Account::new(i + 1, token))
            })
            .collect();
        Ok(Context {
            client,
            accounts,
            environment: options.environment.clone(),
            discovery: options.discovery.clone(),
            _demo: demo,
        })
    }
}
