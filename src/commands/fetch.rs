use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context as _;
use futures::FutureExt as _;
use futures::future::join_all;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{FetchArgs, FetchFormat, GlobalArgs};
use crate::context::Context;
use crate::discovery::{self, Found};
use crate::error::{Exit, UsageError};
use crate::model::{AccountSite, Day, SiteTraffic};
use crate::output::{write_atomic, write_stdout};
use crate::pantheon::{Account, Client};
use crate::render;
use crate::traffic;

use super::context;

pub async fn run(global: &GlobalArgs, args: FetchArgs) -> anyhow::Result<Exit> {
    args.validate().map_err(UsageError)?;
    let ctx = context(global).await?;

    let (targets, mut failed) = select_sites(&ctx, &args.sites).await;

    // Every site at once: the client's --concurrency bound is the only limit.
    let bar = progress_bar(targets.len());
    let results = join_all(targets.iter().map(|found| {
        traffic::fetch_site(&ctx.client, found, &ctx.environment, args.duration)
            .inspect(|_| bar.inc(1))
    }))
    .await;
    bar.finish_and_clear();

    let mut fetched: Vec<SiteTraffic> = Vec::with_capacity(results.len());
    for (found, result) in targets.iter().zip(results) {
        match result {
            Ok(t) => fetched.push(t),
            Err(e) => {
                failed += 1;
                tracing::warn!(account = %found.site.account, site = %found.site.site.name, error = %e, "could not fetch a site's traffic");
            }
        }
    }
    crate::model::sort_series(&mut fetched);

    // Pantheon answers all zeros while it rebuilds its daily numbers (20-40 minutes a day).
    let zeros: Vec<&str> = fetched
        .iter()
        .filter(|t| !t.days.is_empty() && t.days.iter().all(Day::is_zero))
        .map(|t| t.site.name.as_str())
        .collect();
    if !zeros.is_empty() {
        tracing::warn!(
            sites = ?zeros,
            "all-zero answers: Pantheon may be rebuilding its daily metrics; try again in 30-40 minutes"
        );
    }
    if let Some(path) = &args.output {
        if !fetched.is_empty() && zeros.len() == fetched.len() {
            // Better the last good file than a file of zeros.
            tracing::warn!(path = %path.display(), "every site's answer was all zeros; kept the previous file");
            return Ok(Exit::Partial);
        }
    }

    let bytes: Vec<u8> = match args.format {
        FetchFormat::Table => render::table::traffic(&fetched).into_bytes(),
        FetchFormat::Json => render::json::traffic(&fetched).into_bytes(),
        FetchFormat::Prom => render::prometheus(&fetched, args.no_timestamps),
        FetchFormat::OpenMetrics => render::openmetrics(&fetched),
        FetchFormat::Csv => render::csv::traffic(&fetched),
    };
    if fetched.is_empty() && failed > 0 {
        // Keep an existing output file: an empty one would hide every metric.
        anyhow::bail!("nothing could be fetched ({failed} failures; see the warnings above)");
    }
    match &args.output {
        Some(path) => write_atomic(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            write_stdout(&bytes)?;
        }
    }
    Ok(if failed > 0 {
        Exit::Partial
    } else {
        Exit::Success
    })
}

/// The sites a command works on: the named ones (resolved without walking any list), or
/// every site discovered when none is named; and how many accounts, organizations or names
/// failed on the way.
pub(super) async fn select_sites(ctx: &Context, names: &[String]) -> (Vec<Found>, usize) {
    if names.is_empty() {
        let found = discovery::discover(&ctx.client, &ctx.accounts, &ctx.discovery, None).await;
        let failed = found.failures();
        (found.sites, failed)
    } else {
        resolve_named(&ctx.client, &ctx.accounts, names).await
    }
}

pub(super) fn progress_bar(len: usize) -> ProgressBar {
    if len <= 1 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} fetching {pos}/{len} sites {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// True for a Pantheon site UUID (which needs no lookup).
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Resolves named sites without walking any list: a UUID as is, a name through
/// `/site-names/{name}`, then the site object from `/sites/{id}`, trying each account in
/// turn. Returns the targets and the number of names that failed.
async fn resolve_named(
    client: &Client,
    accounts: &[Arc<Account>],
    names: &[String],
) -> (Vec<Found>, usize) {
    // Log every account in first (concurrently); accounts that fail are skipped.
    let labels = join_all(accounts.iter().map(|a| client.identify(a))).await;
    let usable: Vec<(&Arc<Account>, Arc<str>)> = accounts
        .iter()
        .zip(labels)
        .filter_map(|(a, l)| match l {
            Ok(label) => Some((a, label)),
            Err(e) => {
                tracing::warn!(error = %e, "skipping an account that cannot log in");
                None
            }
        })
        .collect();
    let mut failed = accounts.len() - usable.len();
    let mut targets: Vec<Found> = Vec::new();
    for name in names {
        match resolve_one(client, &usable, name).await {
            Ok(Some(found)) => {
                if !targets.iter().any(|t| t.site.site.id == found.site.site.id) {
                    targets.push(found);
                }
            }
            Ok(None) => {
                failed += 1;
                tracing::warn!(site = %name, "no configured account can see this site");
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(site = %name, error = %e, "could not look the site up");
            }
        }
    }
    (targets, failed)
}

async fn resolve_one(
    client: &Client,
    accounts: &[(&Arc<Account>, Arc<str>)],
    name: &str,
) -> Result<Option<Found>, crate::pantheon::ApiError> {
    let mut last_error = None;
    let mut id = is_uuid(name).then(|| name.to_ascii_lowercase());
    if id.is_none() {
        for (account, _) in accounts {
            match client.site_id_by_name(account, name).await {
                Ok(Some(found)) => {
                    id = Some(found);
                    break;
                }
                Ok(None) => {}
                Err(e) => last_error = Some(e),
            }
        }
    }
    let Some(id) = id else {
        return last_error.map_or(Ok(None), Err);
    };
    for (account, label) in accounts {
        match client.site(account, &id).await {
            Ok(Some(site)) => {
                return Ok(Some(Found {
                    account: Arc::clone(account),
                    site: AccountSite {
                        account: label.clone(),
                        site: Arc::new(site),
                    },
                }));
            }
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
    }
    last_error.map_or(Ok(None), Err)
}

#[cfg(test)]
mod tests {
    use super::is_uuid;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c"));
        assert!(!is_uuid("acme-blog"));
        assert!(!is_uuid("3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6"));
        assert!(!is_uuid("3f2a9c1e-7b4d-4e8a-9c0f+1d2e3f4a5b6c"));
    }
}
