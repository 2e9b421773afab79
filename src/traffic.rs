//! One site's traffic, fetched with its account's session: the one way every command
//! (`fetch`, `serve`, and the usage report) reads traffic. Concurrency is bounded once,
//! by the client's `--concurrency` semaphore, so callers may start as many as they like.

use std::sync::Arc;

use crate::discovery::Found;
use crate::model::{SiteTraffic, TrafficDuration};
use crate::pantheon::{ApiError, Client};

/// Fetches `duration` of `found`'s traffic in `environment`, with retries, session renewal
/// and the request limits of the client.
pub async fn fetch_site(
    client: &Client,
    found: &Found,
    environment: &Arc<str>,
    duration: TrafficDuration,
) -> Result<SiteTraffic, ApiError> {
    let traffic = client
        .traffic(&found.account, &found.site.site.id, environment, duration)
        .await?;
    Ok(SiteTraffic {
        account: found.site.account.clone(),
        site: found.site.site.clone(),
        environment: environment.clone(),
        days: traffic.days,
    })
}
