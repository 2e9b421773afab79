//! The traffic fetch step: many sites at once, bounded, each failure kept apart.

use std::sync::Arc;

use futures::StreamExt;

use crate::discovery::Found;
use crate::model::{SiteTraffic, TrafficDuration};
use crate::pantheon::{Account, ApiError, Client};

/// One site's outcome.
pub type SiteResult = Result<SiteTraffic, (Found, ApiError)>;

/// Fetches `duration` of traffic for every target, at most `concurrency` at a time (the
/// client's own bound also holds), calling `progress` after each site. Results come back
/// in the targets' order.
pub async fn fetch_all(
    client: &Client,
    accounts: &[Arc<Account>],
    targets: Vec<Found>,
    environment: &Arc<str>,
    duration: TrafficDuration,
    concurrency: usize,
    progress: impl Fn(),
) -> Vec<SiteResult> {
    let jobs = targets.into_iter().enumerate().map(|(i, found)| {
        let account = accounts.iter().find(|a| a.index() == found.owner).cloned();
        async move {
            let result = match account {
                Some(account) => client
                    .traffic(&account, &found.site.site.id, environment, duration)
                    .await
                    .map(|t| SiteTraffic {
                        account: found.site.account.clone(),
                        site: found.site.site.clone(),
                        environment: environment.clone(),
                        days: t.days,
                    })
                    .map_err(|e| (found, e)),
                None => Err((found, ApiError::Config("no account for this site".into()))),
            };
            (i, result)
        }
    });
    let mut results: Vec<(usize, SiteResult)> = futures::stream::iter(jobs)
        .buffer_unordered(concurrency.max(1))
        .inspect(|_| progress())
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
