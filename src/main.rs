use std::process::ExitCode;

use clap::Parser;
use pantheon_metrics::cli::{Cli, Command};
use pantheon_metrics::commands;
use pantheon_metrics::error::{Exit, exit_code_of};

fn main() -> ExitCode {
    pantheon_metrics::cli::drop_empty_env();
    let cli = Cli::parse_from(pantheon_metrics::cli::legacy_args(std::env::args_os()));
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let g = &cli.global;
    pantheon_metrics::logging::init(g.log_format, g.log_level.as_deref(), g.debug, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Nothing.into();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code_of(&e).into()
        }
    }
}
