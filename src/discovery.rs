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
    /// The token that listed these sites, and fetches them.
    pub account: Arc<Account>,
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
    account: &Arc<Account>,
    options: &DiscoveryOptions,
) -> Result<AccountListing, AccountError> {
    let wrap = |source| AccountError {
        account: account.describe(),
        source,
    };
    let label = client.identify(account).await.map_err(wrap)?;
    let mut seen = HashSet::new();
    let mut listing = AccountListing {
        account: account.clone(),
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

/// One account's part of a discovery.
#[derive(Debug)]
pub struct AccountOutcome {
    pub account: Arc<Account>,
    /// What this round listed; when this round failed, the last good listing (if the
    /// previous discovery had one), so a failing account keeps its sites.
    pub listing: Option<AccountListing>,
    /// Why this round's listing failed.
    pub error: Option<AccountError>,
}

impl AccountOutcome {
    /// Listed completely this round: no error, no organization list missing.
    pub fn complete(&self) -> bool {
        self.error.is_none()
            && self
                .listing
                .as_ref()
                .is_some_and(|l| l.failed_orgs.is_empty())
    }
}

/// The result of discovering every account.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sites in token order, each site once (the first account that lists it owns it).
    pub sites: Vec<Found>,
    /// One entry per account, in token order.
    pub accounts: Vec<AccountOutcome>,
}

impl Discovery {
    /// Accounts that failed, or listed only part of their organizations.
    pub fn failures(&self) -> usize {
        self.accounts.iter().filter(|a| !a.complete()).count()
    }

    /// True when some account or organization failed (the exit code 3 case).
    pub fn partial(&self) -> bool {
        self.failures() > 0
    }

    pub fn failed_accounts(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }
}

/// Lists all accounts concurrently, then merges them in token order: the one way every
/// command discovers sites.
///
/// `previous` is the last discovery of a long-running caller (`serve`): an account whose
/// list fails keeps its previous listing, and an organization whose list fails keeps its
/// previous sites under the same account, until a complete listing shows they are gone
/// (else they would hop to another account, or vanish, for one interval).
pub async fn discover(
    client: &Client,
    accounts: &[Arc<Account>],
    options: &DiscoveryOptions,
    previous: Option<Discovery>,
) -> Discovery {
    let results = join_all(accounts.iter().map(|a| account_sites(client, a, options))).await;
    let mut previous: Vec<AccountOutcome> = previous.map(|d| d.accounts).unwrap_or_default();
    let mut take_previous = |account: &Arc<Account>| {
        let i = previous
            .iter()
            .position(|o| Arc::ptr_eq(&o.account, account))?;
        previous.swap_remove(i).listing
    };
    let outcomes: Vec<AccountOutcome> = accounts
        .iter()
        .zip(results)
        .map(|(account, result)| match result {
            Ok(mut listing) => {
                if !listing.failed_orgs.is_empty() {
                    if let Some(old) = take_previous(account) {
                        let present: HashSet<&str> =
                            listing.sites.iter().map(|s| s.id.as_str()).collect();
                        let kept: Vec<Site> = old
                            .sites
                            .into_iter()
                            .filter(|s| !present.contains(s.id.as_str()))
                            .collect();
                        listing.sites.extend(kept);
                    }
                }
                AccountOutcome {
                    account: account.clone(),
                    listing: Some(listing),
                    error: None,
                }
            }
            Err(e) => {
                let message = client.scrub(&e.to_string());
                tracing::warn!(error = %message, "an account's sites could not be listed; keeping the sites already held, if any");
                AccountOutcome {
                    account: account.clone(),
                    listing: take_previous(account),
                    error: Some(e),
                }
            }
        })
        .collect();
    let sites = merge(
        outcomes.iter().filter_map(|o| o.listing.as_ref()),
        options.site_limit,
    );
    Discovery {
        sites,
        accounts: outcomes,
    }
}

/// A discovered site and the account that fetches it.
#[derive(Clone, Debug)]
pub struct Found {
    pub account: Arc<Account>,
    pub site: AccountSite,
}

/// De-duplicates across accounts (a site shared by two accounts is fetched and exported
/// once, under the first account) and applies the site limit.
///
/// ```
/// use std::sync::Arc;
/// use pantheon_metrics::discovery::{merge, AccountListing};
/// use pantheon_metrics::model::Site;
/// use pantheon_metrics::pantheon::{Account, Secret};
/// let site = |id: &str| Site { id: id.into(), name: id.into(), ..Site::default() };
/// let account = |i: usize| Arc::new(Account::new(i, Secret::new(format!("token-{i}"))));
/// let a = AccountListing { account: account(1), label: Arc::from("a@x"), sites: vec![site("1"), site("2")], failed_orgs: vec![], pages: 1 };
/// let b = AccountListing { account: account(2), label: Arc::from("b@x"), sites: vec![site("2"), site("3")], failed_orgs: vec![], pages: 1 };
/// let merged = merge([&a, &b], 0);
/// let owners: Vec<_> = merged.iter().map(|f| (f.account.index(), &*f.site.account, f.site.site.id.as_str())).collect();
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
                    account: listing.account.clone(),
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
