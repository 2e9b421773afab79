//! Accounts → sites: every site each token can see, directly and through organizations,
//! de-duplicated by site id, optionally one organization's only, optionally capped.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;

use crate::model::{AccountSite, Site};
use crate::pantheon::{Account, ApiError, Client};

/// What to discover.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryOptions {
    /// Only this organization's sites (`--org-id`).
    pub org_id: Option<String>,
    /// Cap on the total number of sites; 0 = none.
    pub site_limit: usize,
}

/// One account's sites, in discovery order (user memberships, then organizations in order),
/// unique by id.
#[derive(Debug)]
pub struct AccountListing {
    /// [`Account::index`] of the token that listed these sites.
    pub owner: usize,
    pub label: Arc<str>,
    pub sites: Vec<Site>,
    /// Organizations whose list failed: their sites are missing from `sites`.
    pub failed_orgs: Vec<String>,
    /// List requests made.
    pub pages: usize,
}

/// Why an account could not be listed. The account is named by its token's fingerprint,
/// never by any of the token's characters.
#[derive(Debug, thiserror::Error)]
#[error("{account}: {source}")]
pub struct AccountError {
    pub account: String,
    #[source]
    pub source: ApiError,
}

/// Lists one account's sites. Organization lists that fail are logged and recorded in
/// `failed_orgs`; the account still gives what it could read.
pub async fn account_sites(
    client: &Client,
    account: &Account,
    options: &DiscoveryOptions,
) -> Result<AccountListing, AccountError> {
    let wrap = |source| AccountError {
        account: account.describe(),
        source,
    };
    let label = client.identify(account).await.map_err(wrap)?;
    let mut seen = HashSet::new();
    let mut listing = AccountListing {
        owner: account.index(),
        label: label.clone(),
        sites: Vec::new(),
        failed_orgs: Vec::new(),
        pages: 0,
    };
    let mut add = |listing: &mut AccountListing, list: crate::pantheon::SiteList| {
        listing.pages += list.pages;
        for site in list.sites {
            if seen.insert(site.id.clone()) {
                listing.sites.push(site);
            }
        }
    };
    if let Some(org) = &options.org_id {
        let list = client
            .organization_sites(account, org)
            .await
            .map_err(wrap)?;
        add(&mut listing, list);
        return Ok(listing);
    }
    let direct = client.user_sites(account).await.map_err(wrap)?;
    add(&mut listing, direct);
    let orgs = client.user_organizations(account).await.map_err(wrap)?;
    for org in orgs {
        // Terminus skips these too: an unprivileged member cannot list the org's sites.
        if org.role == "unprivileged" {
            tracing::debug!(account = %label, org = %org.id, "skipping organization with role unprivileged");
            continue;
        }
        match client.organization_sites(account, &org.id).await {
            Ok(list) => add(&mut listing, list),
            Err(e) => {
                tracing::warn!(account = %label, org = %org.id, error = %e, "could not list an organization's sites; skipping it");
                listing.failed_orgs.push(org.id.clone());
            }
        }
    }
    Ok(listing)
}

/// The result of discovering every account.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sites in token order, each site once (the first account that lists it owns it).
    pub sites: Vec<Found>,
    /// One entry per account, in token order.
    pub accounts: Vec<Result<AccountListing, AccountError>>,
}

impl Discovery {
    /// Accounts that failed, or listed only part of their organizations.
    pub fn failures(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.as_ref().map_or(true, |l| !l.failed_orgs.is_empty()))
            .count()
    }

    /// True when some account or organization failed (the exit code 3 case).
    pub fn partial(&self) -> bool {
        self.failures() > 0
    }

    pub fn failed_accounts(&self) -> usize {
        self.accounts.iter().filter(|a| a.is_err()).count()
    }
}

/// Lists all accounts concurrently, then merges them in token order.
pub async fn discover(
    client: &Client,
    accounts: &[Arc<Account>],
    options: &DiscoveryOptions,
) -> Discovery {
    let results = join_all(accounts.iter().map(|a| account_sites(client, a, options))).await;
    for result in &results {
        if let Err(e) = result {
            tracing::warn!(error = %e, "skipping an account whose sites could not be listed");
        }
    }
    let sites = merge(
        results.iter().filter_map(|r| r.as_ref().ok()),
        options.site_limit,
    );
    Discovery {
        sites,
        accounts: results,
    }
}

/// A discovered site and the token (its [`Account::index`]) to fetch it with.
#[derive(Clone, Debug)]
pub struct Found {
    pub owner: usize,
    pub site: AccountSite,
}

/// De-duplicates across accounts (a site shared by two accounts is fetched and exported
/// once, under the first account) and applies the site limit.
///
/// ```
/// use std::sync::Arc;
/// use pantheon_metrics::discovery::{merge, AccountListing};
/// use pantheon_metrics::model::Site;
/// let site = |id: &str| Site { id: id.into(), name: id.into(), ..Site::default() };
/// let a = AccountListing { owner: 1, label: Arc::from("a@x"), sites: vec![site("1"), site("2")], failed_orgs: vec![], pages: 1 };
/// let b = AccountListing { owner: 2, label: Arc::from("b@x"), sites: vec![site("2"), site("3")], failed_orgs: vec![], pages: 1 };
/// let merged = merge([&a, &b], 0);
/// let owners: Vec<_> = merged.iter().map(|f| (f.owner, &*f.site.account, f.site.site.id.as_str())).collect();
/// assert_eq!(owners, [(1, "a@x", "1"), (1, "a@x", "2"), (2, "b@x", "3")]);
/// assert_eq!(merge([&a, &b], 2).len(), 2);
/// ```
pub fn merge<'a>(
    listings: impl IntoIterator<Item = &'a AccountListing>,
    site_limit: usize,
) -> Vec<Found> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for listing in listings {
        for site in &listing.sites {
            if site_limit > 0 && out.len() >= site_limit {
                return out;
            }
            if seen.insert(site.id.clone()) {
                out.push(Found {
                    owner: listing.owner,
                    site: AccountSite {
                        account: listing.label.clone(),
                        site: Arc::new(site.clone()),
                    },
                });
            }
        }
    }
    out
}
