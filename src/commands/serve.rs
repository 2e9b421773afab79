use crate::cli::{GlobalArgs, ServeArgs};
use crate::error::Exit;
use crate::serve::{self, PlanUsage, RemoteWriteSettings, Settings};

use super::context_options;

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<Exit> {
    // Checked whole before anything listens or asks the API.
    let allowances = super::usage::load_allowances(&args.plan, global.demo)?;
    let settings = Settings {
        listen: args.listen_addr(),
        web_config_file: args.web_config_file,
        environment: global.environment.as_str().into(),
        history: args.history,
        history_window: args.history_window,
        refresh_interval: args.refresh_interval,
        tick: args.tick.min(args.refresh_interval),
        refresh_duration: args.refresh_duration,
        shard: args.shard.unwrap_or_default(),
        state_file: args.state_file,
        remote_write: RemoteWriteSettings {
            urls: args.remote_write,
            basic_auth_file: args.remote_write_basic_auth_file,
            bearer_token_file: args.remote_write_bearer_token_file,
            queue_batches: args.remote_write_queue_batches as usize,
            batch_samples: args.remote_write_batch_samples as usize,
            max_backoff: args.remote_write_max_backoff,
        },
        usage: Some(PlanUsage {
            allowances: std::sync::Arc::new(allowances),
            watch: args.plan.watch_threshold,
        }),
    };
    serve::run(&context_options(global), settings).await
}
