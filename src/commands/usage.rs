//! `pantheon-metrics usage`: each site's month-to-date visits against its allowance,
//! projected to the end of the month, most at risk first.

use anyhow::Context as _;
use futures::FutureExt as _;
use futures::future::join_all;

use crate::allowances::Allowances;
use crate::cli::{FailOn, GlobalArgs, PlanArgs, UsageArgs, UsageFormat};
use crate::error::{Exit, UsageError};
use crate::output::{write_atomic, write_stdout};
use crate::render;
use crate::traffic;
use crate::usage::{self, SiteUsage, Status, report};

use super::context;
use super::fetch::{progress_bar, select_sites};

impl From<FailOn> for Status {
    fn from(f: FailOn) -> Status {
        match f {
            FailOn::Over => Status::Over,
            FailOn::ProjectedOver => Status::ProjectedOver,
            FailOn::Watch => Status::Watch,
        }
    }
}

/// The allowances `usage` and `serve` work with: the file when one is given (checked whole,
/// a usage error before any API request), the demo's own with `--demo`, else none (every
/// allowance unknown, said once in the log).
pub(super) fn load_allowances(plan: &PlanArgs, demo: bool) -> Result<Allowances, UsageError> {
    Ok(match (&plan.allowances, demo) {
        (Some(path), _) => Allowances::load(path).map_err(|e| UsageError(e.to_string()))?,
        (None, true) => Allowances::demo(),
        (None, false) => {
            tracing::warn!(
                "no allowances file (--allowances or {}): every site's allowance is unknown; \
                 see deploy/allowances.example.yml",
                crate::allowances::ALLOWANCES_ENV
            );
            Allowances::default()
        }
    })
}

pub async fn run(global: &GlobalArgs, args: UsageArgs) -> anyhow::Result<Exit> {
    let allowances = load_allowances(&args.plan, global.demo)?;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let ctx = context(global).await?;

    let (targets, mut failed) = select_sites(&ctx, &args.sites).await;

    // Both series of every site at once: the client's --concurrency is the only bound.
    let (monthly, daily) = usage::durations();
    let bar = progress_bar(targets.len());
    let results = join_all(targets.iter().map(|found| {
        let env = &ctx.environment;
        futures::future::try_join(
            traffic::fetch_site(&ctx.client, found, env, monthly),
            traffic::fetch_site(&ctx.client, found, env, daily),
        )
        .inspect(|_| bar.inc(1))
    }))
    .await;
    bar.finish_and_clear();

    let mut rows: Vec<SiteUsage> = Vec::with_capacity(results.len());
    for (found, result) in targets.iter().zip(results) {
        match result {
            Ok((months, days)) => rows.push(SiteUsage {
                account: found.site.account.clone(),
                site: found.site.site.clone(),
                usage: usage::compute(
                    &months.days,
                    &days.days,
                    allowances.for_site(&found.site.site),
                    today,
                    args.plan.watch_threshold,
                ),
            }),
            Err(e) => {
                failed += 1;
                tracing::warn!(account = %found.site.account, site = %found.site.site.name, error = %e, "could not fetch a site's traffic");
            }
        }
    }
    if rows.is_empty() && failed > 0 {
        anyhow::bail!("nothing could be fetched ({failed} failures; see the warnings above)");
    }
    usage::sort_by_risk(&mut rows);

    let info = report::ReportInfo {
        today,
        watch: args.plan.watch_threshold,
    };
    let bytes: Vec<u8> = match args.format {
        UsageFormat::Table => report::table(&rows, &info).into_bytes(),
        UsageFormat::Json => report::json(&rows, &info).into_bytes(),
        UsageFormat::Prom => report::prometheus(&rows),
        UsageFormat::Csv => render::csv::usage(&rows),
    };
    match &args.output {
        Some(path) => write_atomic(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            write_stdout(&bytes)?;
        }
    }
    let reached = args
        .fail_on
        .is_some_and(|level| usage::worst(&rows).at_or_past(level.into()));
    Ok(if reached {
        Exit::Threshold
    } else if failed > 0 {
        Exit::Partial
    } else {
        Exit::Success
    })
}
