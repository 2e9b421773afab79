//! The Pantheon API client: login and session renewal per machine token, the paged
//! membership lists, traffic, and the site lookups, all through one bounded, retrying,
//! redacting HTTP layer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pantheon_metrics::pantheon::ApiError> {
//! use pantheon_metrics::pantheon::{Account, Client, ClientOptions, Secret};
//! let client = Client::new(ClientOptions::default())?;
//! let account = Account::new(1, Secret::new("machine-token"));
//! let who = client.identify(&account).await?;
//! let sites = client.user_sites(&account).await?;
//! println!("{who} sees {} sites", sites.sites.len());
//! # Ok(()) }
//! ```

mod endpoint;
mod error;
mod http;
pub mod paging;
mod secret;
mod session;
pub mod wire;

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

pub use endpoint::Endpoint;
pub use error::ApiError;
pub use http::{ClientOptions, DEFAULT_API_URL, RequestObserver};
pub use secret::{Scrubber, Secret, redact_json_text, redact_text};
pub use session::Account;

use crate::model::{Day, Site, TrafficDuration};
use http::{Call, Transport};

/// A cheap-to-clone handle on the API; all clones share the in-flight bound and rate cap.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
}

/// A membership list's sites, plus what went wrong on the way without losing the rest.
#[derive(Debug, Default)]
pub struct SiteList {
    pub sites: Vec<Site>,
    /// Wrappers skipped because their site was null or had no id.
    pub skipped: usize,
    /// Page count used (for the API-economy checks).
    pub pages: usize,
}

/// The traffic of one site.
#[derive(Debug, Default)]
pub struct Traffic {
    pub days: Vec<Day>,
    /// Points skipped because they could not be read.
    pub skipped: usize,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        Ok(Client {
            transport: Arc::new(Transport::new(options, None)?),
        })
    }

    /// A client whose every attempt is reported to `observer` (self-metrics).
    pub fn with_observer(
        options: ClientOptions,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Client, ApiError> {
        Ok(Client {
            transport: Arc::new(Transport::new(options, Some(observer))?),
        })
    }

    /// Scrubs every token and session this client has seen from `text`.
    pub fn scrub(&self, text: &str) -> String {
        self.transport.scrubber.scrub(text)
    }

    /// Registers a token as a secret before it is ever sent, so even an early failure that
    /// echoes it cannot leak it.
    pub fn register_secret(&self, secret: &Secret) {
        self.transport.scrubber.register(secret);
    }

    /// Logs in (if needed) and learns the account label: the e-mail, or the user id when
    /// `GET /users/{id}` fails.
    pub async fn identify(&self, account: &Account) -> Result<Arc<str>, ApiError> {
        if let Some(label) = account.label() {
            return Ok(label);
        }
        let session = account.session(&self.transport).await?;
        let user_id = session.user_id.clone();
        let label = match self
            .get(account, Endpoint::Whoami, &["users", &user_id], &[])
            .await
        {
            Ok(v) => wire::email(&v).unwrap_or_else(|| user_id.clone()),
            Err(e) => {
                tracing::warn!(account = %account.describe(), error = %e, "whoami failed; using the user id as the account label");
                user_id.clone()
            }
        };
        account.set_label(&label);
        Ok(account.label().unwrap_or_else(|| Arc::from(label.as_str())))
    }

    async fn user_id(&self, account: &Account) -> Result<String, ApiError> {
        Ok(account.session(&self.transport).await?.user_id)
    }

    /// Sites the user is a direct member of.
    pub async fn user_sites(&self, account: &Account) -> Result<SiteList, ApiError> {
        let user_id = self.user_id(account).await?;
        self.site_list(
            account,
            Endpoint::UserSites,
            &["users", &user_id, "memberships", "sites"],
        )
        .await
    }

    /// The user's organizations.
    pub async fn user_organizations(
        &self,
        account: &Account,
    ) -> Result<Vec<wire::OrgMembership>, ApiError> {
        let user_id = self.user_id(account).await?;
        let walk = self
            .walk(
                account,
                Endpoint::UserOrgs,
                &["users", &user_id, "memberships", "organizations"],
            )
            .await?;
        Ok(walk.items.iter().filter_map(wire::org_membership).collect())
    }

    /// An organization's sites.
    pub async fn organization_sites(
        &self,
        account: &Account,
        org_id: &str,
    ) -> Result<SiteList, ApiError> {
        self.site_list(
            account,
            Endpoint::OrgSites,
            &["organizations", org_id, "memberships", "sites"],
        )
        .await
    }

    async fn site_list(
        &self,
        account: &Account,
        endpoint: Endpoint,
        segments: &[&str],
    ) -> Result<SiteList, ApiError> {
        let walk = self.walk(account, endpoint, segments).await?;
        let mut list = SiteList {
            pages: walk.pages,
            ..SiteList::default()
        };
        for item in &walk.items {
            match wire::membership_site(item) {
                Some(site) => list.sites.push(site),
                None => list.skipped += 1,
            }
        }
        Ok(list)
    }

    async fn walk(
        &self,
        account: &Account,
        endpoint: Endpoint,
        segments: &[&str],
    ) -> Result<paging::Walk, ApiError> {
        let limit = paging::PAGE_LIMIT.to_string();
        paging::walk(|cursor: Option<String>| {
            let limit = limit.clone();
            async move {
                let mut query = vec![("limit", limit.as_str())];
                if let Some(c) = cursor.as_deref() {
                    query.push(("start", c));
                }
                match self.get(account, endpoint, segments, &query).await? {
                    Value::Array(items) => Ok(items),
                    _ => Err(ApiError::Decode {
                        endpoint,
                        message: "a membership page is not a JSON array".into(),
                    }),
                }
            }
        })
        .await
    }

    /// Daily (or weekly, monthly) traffic of one environment of a site, oldest first.
    pub async fn traffic(
        &self,
        account: &Account,
        site_id: &str,
        environment: &str,
        duration: TrafficDuration,
    ) -> Result<Traffic, ApiError> {
        let duration = duration.to_string();
        let value = self
            .get(
                account,
                Endpoint::Traffic,
                &["sites", site_id, "environments", environment, "traffic"],
                &[("duration", duration.as_str())],
            )
            .await?;
        let (days, skipped) = wire::traffic(&value).map_err(|e| ApiError::Decode {
            endpoint: Endpoint::Traffic,
            message: e.0,
        })?;
        if skipped > 0 {
            tracing::warn!(
                site = site_id,
                skipped,
                "traffic answer had points that could not be read"
            );
        }
        Ok(Traffic { days, skipped })
    }

    /// Resolves a site name to its id; `None` when this account cannot see it.
    pub async fn site_id_by_name(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<Option<String>, ApiError> {
        match self
            .get(account, Endpoint::SiteName, &["site-names", name], &[])
            .await
        {
            Ok(v) => Ok(wire::site_name_id(&v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One site's object; `None` when this account cannot see it.
    pub async fn site(&self, account: &Account, site_id: &str) -> Result<Option<Site>, ApiError> {
        match self
            .get(account, Endpoint::SiteInfo, &["sites", site_id], &[])
            .await
        {
            Ok(v) => Ok(wire::site(&v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// An authenticated GET: on a 401 the session is renewed once and the call repeated.
    /// A session that went stale while the call queued is renewed before anything is sent
    /// (twice at most: after that the API decides).
    async fn get(
        &self,
        account: &Account,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        let mut renewed = false;
        let mut expired = 0;
        loop {
            let session = account.session(&self.transport).await?;
            let call = Call {
                endpoint,
                method: Method::GET,
                segments,
                query,
                bearer: Some(&session.secret),
                fresh_until: (expired < 2).then(|| session.fresh_until()),
                body: None,
            };
            match self.transport.send(call).await {
                Err(ApiError::SessionExpired { .. }) => expired += 1,
                Err(ApiError::Unauthorized { .. }) if !renewed => {
                    tracing::debug!(account = %account.describe(), endpoint = endpoint.as_str(), "session refused; logging in again");
                    account.invalidate(&session).await;
                    renewed = true;
                }
                other => return other,
            }
        }
    }
}
