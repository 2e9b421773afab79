//! The glue between flags and the data path: one function per subcommand.

mod fetch;
mod sites;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, ConfigError};
use crate::discovery::DiscoveryOptions;
use crate::pantheon::{Account, Client, ClientOptions, RequestObserver, Secret};

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// Nothing could be fetched.
    Nothing = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Some accounts or sites failed; output was written for the rest.
    Partial = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A usage error found after clap's own parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Maps an error from [`run`] to its exit code.
pub fn exit_code_of(error: &anyhow::Error) -> Exit {
    if error
        .chain()
        .any(|e| e.is::<UsageError>() || e.is::<ConfigError>())
    {
        Exit::Usage
    } else {
        Exit::Nothing
    }
}

/// What every API-using command needs.
pub struct Context {
    pub client: Client,
    pub accounts: Vec<Arc<Account>>,
    pub environment: Arc<str>,
    pub discovery: DiscoveryOptions,
    pub concurrency: usize,
    /// Keeps the demo API alive as long as the command runs.
    _demo: Option<crate::fake::FakeServer>,
}

impl Context {
    pub async fn new(global: &GlobalArgs) -> anyhow::Result<Context> {
        Context::new_with_observer(global, None).await
    }

    /// As [`Context::new`], with every API attempt reported to `observer`.
    pub async fn new_with_observer(
        global: &GlobalArgs,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> anyhow::Result<Context> {
        let (tokens, api_url, demo) = if global.demo {
            let server = crate::fake::FakeServer::start(crate::fake::FakeConfig::demo())
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
            let tokens = config::load_tokens(env_tokens.as_deref(), global.tokens_file.as_deref())?;
            (tokens, global.api_url.clone(), None)
        };
        let options = ClientOptions {
            base_url: api_url,
            timeout: global.timeout,
            concurrency: global.concurrency as usize,
            max_rps: global.max_rps,
            backoff_base: global.retry_base,
            ..ClientOptions::default()
        };
        let client = match observer {
            Some(o) => Client::with_observer(options, o),
            None => Client::new(options),
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
            environment: Arc::from(global.environment.as_str()),
            discovery: DiscoveryOptions {
                org_id: global.org_id.clone(),
                site_limit: global.site_limit,
            },
            concurrency: global.concurrency as usize,
            _demo: demo,
        })
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "pantheon-metrics", &mut out);
            crate::output::write_stdout(&out)?;
            Ok(Exit::Success)
        }
        Command::Man { dir } => {
            write_man_pages(&dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
            Ok(Exit::Success)
        }
        Command::Sites(args) => sites::run(&cli.global, args).await,
        Command::Fetch(args) => fetch::run(&cli.global, args).await,
        Command::Serve(args) => crate::serve::run(&cli.global, args).await,
    }
}

/// One man page per command: `pantheon-metrics.1`, `pantheon-metrics-fetch.1`, ...
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
}
