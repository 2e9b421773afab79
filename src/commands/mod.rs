//! The glue between flags and the data path: one file per subcommand, each turning its
//! clap arguments into the library's options and calling the library. The only place that
//! knows both clap and the library.

mod fetch;
mod serve;
mod sites;
mod usage;

use std::sync::Arc;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::context::{Context, ContextOptions};
use crate::discovery::DiscoveryOptions;
use crate::error::Exit;

/// The API options the global flags ask for.
pub fn context_options(global: &GlobalArgs) -> ContextOptions {
    ContextOptions {
        api_url: global.api_url.clone(),
        tokens_file: global.tokens_file.clone(),
        demo: global.demo,
        environment: Arc::from(global.environment.as_str()),
        discovery: DiscoveryOptions {
            org_id: global.org_id.clone(),
            site_limit: global.site_limit,
        },
        concurrency: usize::from(global.concurrency),
        max_rps: global.max_rps,
        timeout: global.timeout,
        retry_base: global.retry_base,
    }
}

/// The client and accounts the global flags ask for.
async fn context(global: &GlobalArgs) -> anyhow::Result<Context> {
    Context::new(&context_options(global), None).await
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
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::Usage(args) => usage::run(&cli.global, args).await,
    }
}

/// One man page per command: `pantheon-metrics.1`, `pantheon-metrics-fetch.1`, ...
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
}
