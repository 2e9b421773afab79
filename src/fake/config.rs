//! What the fake serves: accounts, organizations, sites and the switches for API quirks.
//!
//! Everything here is plain data so a test can build a world with struct literals (or start
//! from [`FakeConfig::demo`] / [`FakeConfig::generated`]) and change it at run time through
//! [`super::FakeServer::with_config`].

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::traffic::is_spotty;

/// A site as the fake's membership lists and `GET /sites/{id}` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeSite {
    pub id: String,
    pub name: String,
    /// Top-level `label`; `None` leaves only `attributes.label` (as in 2016 recordings).
    pub label: Option<String>,
    /// `attributes.label`; `None` omits the key.
    pub attributes_label: Option<String>,
    /// `plan_name`; `None` leaves only `service_level`.
    pub plan_name: Option<String>,
    pub service_level: String,
    pub framework: String,
    /// `preferred_zone`.
    pub region: String,
    /// Owning organization UUID, `""` for user-held sites.
    pub organization: String,
    pub frozen: bool,
    pub created: i64,
    /// Drifting types: `php_version` as a number, `upstream` as an object, extra unknown
    /// fields, so clients prove they decode leniently.
    pub drift: bool,
}

impl FakeSite {
    /// A plain, well-formed site whose id is derived from `name` (stable across runs).
    pub fn new(name: &str) -> FakeSite {
        FakeSite {
            id: fake_uuid(&format!("site:{name}")),
            name: name.to_string(),
            label: Some(title_case(name)),
            attributes_label: Some(title_case(name)),
            plan_name: Some("Basic".to_string()),
            service_level: "basic".to_string(),
            framework: "wordpress".to_string(),
            region: "us-central1".to_string(),
            organization: String::new(),
            frozen: false,
            created: 1_600_000_000,
            drift: false,
        }
    }
}

/// An organization; its members see `site_ids` through `GET /organizations/{id}/memberships/sites`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeOrg {
    pub id: String,
    /// `organization.profile.name` (the human label).
    pub name: String,
    /// `organization.profile.machine_name`.
    pub machine_name: String,
    pub site_ids: Vec<String>,
}

/// One machine token and the user behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeAccount {
    /// The machine token (a secret: the fake never logs it).
    pub token: String,
    pub user_id: String,
    pub email: String,
    /// Direct site memberships (`GET /users/{id}/memberships/sites`).
    pub site_ids: Vec<String>,
    /// Organization memberships: (org id, role). Role `"unprivileged"` makes the org's site
    /// list answer 403 and hides its sites from this account.
    pub orgs: Vec<(String, String)>,
}

/// How the membership lists treat the `start` cursor (section 3 and 10 of the API notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PagingMode {
    /// Correct: the page starts after the `start` item.
    #[default]
    Exclusive,
    /// The page starts with the `start` item (one repeat per page).
    Inclusive,
    /// `start` is ignored: every call answers page one.
    IgnoreStart,
    /// Exclusive, but every third page (index 2, 5, 8, ...) holds only `limit / 2` items,
    /// so a client that stops at the first short page loses sites.
    ShortPages,
}

/// The whole fake world plus the switches for behaviours the real API may or may not show.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub accounts: Vec<FakeAccount>,
    pub orgs: Vec<FakeOrg>,
    pub sites: Vec<FakeSite>,
    /// Session lifetime after login (the real API: about 24 h, maybe 15 min soon).
    pub session_ttl: Duration,
    pub paging: PagingMode,
    /// Added to every response (counts as in flight).
    pub latency: Duration,
    /// 00:00 UTC of the newest traffic day; `None` means yesterday by the fake's clock.
    pub today: Option<i64>,
    /// With `today == None`: end at today's partial day (counters scaled by the elapsed
    /// fraction of the day) instead of yesterday.
    pub partial_today: bool,
    /// Add one wrapper with `"site": null` to every user's site list.
    pub null_site_wrappers: bool,
    /// Send an `X-Pantheon-Notices` header on every response.
    pub notices: bool,
    /// Add `"summary": null` beside `timeseries` (as the 2018 API did).
    pub traffic_summary: bool,
    /// Sites whose traffic answers `{"timeseries": []}` (no data yet).
    pub empty_traffic: Vec<String>,
    /// Answer an unknown machine token with the legacy `500` instead of `401`.
    pub login_legacy_500: bool,
    /// Seed of the RNG that decides probabilistic faults.
    pub seed: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            accounts: Vec::new(),
            orgs: Vec::new(),
            sites: Vec::new(),
            session_ttl: Duration::from_secs(24 * 3600),
            paging: PagingMode::Exclusive,
            latency: Duration::ZERO,
            today: None,
            partial_today: false,
            null_site_wrappers: false,
            notices: false,
            traffic_summary: false,
            empty_traffic: Vec::new(),
            login_legacy_500: false,
            seed: 0x5EED,
        }
    }
}

/// The plan names (`plan_name`) of the demo's sites, with the `service_level` each goes
/// with (what a site without `plan_name` reports instead).
pub const DEMO_PLANS: [(&str, &str); 5] = [
    ("Sandbox", "free"),
    ("Basic", "basic"),
    ("Performance Small", "pro"),
    ("Performance Medium", "business"),
    ("Elite", "elite"),
];

/// The hostile label of the demo site `ada-best-blog`: quotes, a backslash, markup, a
/// newline and non-ASCII, to prove every renderer escapes labels.
pub const HOSTILE_LABEL: &str = "Ada's \"Best\" <script>alert(1)</script> \\ blog\nCafé ☕";

impl FakeConfig {
    /// The world `--demo` shows: 3 accounts, 42 sites, shared through organizations and
    /// between accounts, with every quirk the client must survive.
    pub fn demo() -> FakeConfig {
        let acme = org("acme-digital", "Acme Digital Agency");
        let globex = org("globex", "Globex Corporation");
        let initech = org("initech", "Initech");

        let mut sites = Vec::new();
        let mut add = |site: FakeSite| -> String {
            let id = site.id.clone();
            sites.push(site);
            id
        };
        let frameworks = ["wordpress", "drupal8", "drupal", "wordpress_network"];
        let plans = DEMO_PLANS;
        let regions = [
            "us-central1",
            "europe-west4",
            "australia-southeast1",
            "northamerica-northeast1",
        ];
        let mut variant = 0usize;
        let mut plain = |name: &str, organization: &str| -> FakeSite {
            variant += 1;
            let mut site = FakeSite::new(name);
            site.framework = frameworks[variant % frameworks.len()].to_string();
            let (plan, level) = plans[variant % plans.len()];
            site.plan_name = Some(plan.to_string());
            site.service_level = level.to_string();
            site.region = regions[variant % regions.len()].to_string();
            site.organization = organization.to_string();
            site.created = 1_500_000_000 + variant as i64 * 3_000_000;
            site
        };

        // Alpha's own sites, with most of the quirks.
        let alpha_names = [
            "alpha-corporate",
            "alpha-shop",
            "ada-best-blog",
            "legacy-intranet",
            "drifting-types",
            "frozen-archive",
            "spotty-traffic",
            "brand-new-site",
            "alpha-docs",
            "alpha-careers",
            "alpha-events",
            "alpha-press",
        ];
        let mut alpha_sites = Vec::new();
        for name in alpha_names {
            let mut site = plain(name, "");
            match name {
                "ada-best-blog" => {
                    site.label = Some(HOSTILE_LABEL.to_string());
                    site.attributes_label = Some(HOSTILE_LABEL.to_string());
                }
                "legacy-intranet" => {
                    site.label = None;
                    site.attributes_label = Some("Legacy Intranet (attributes only)".into());
                    site.plan_name = None;
                    site.service_level = "pro".into();
                    site.framework = "drupal".into();
                }
                "drifting-types" => site.drift = true,
                "frozen-archive" => {
                    site.frozen = true;
                    site.plan_name = Some("Sandbox".into());
                    site.service_level = "free".into();
                }
                "spotty-traffic" => site.id = spotty_uuid("spotty-traffic"),
                "brand-new-site" => site.created = 1_760_000_000,
                _ => {}
            }
            alpha_sites.push(add(site));
        }

        let mut beta_sites = Vec::new();
        for i in 0..8 {
            beta_sites.push(add(plain(&format!("beta-site-{i}"), "")));
        }
        // Shared between accounts through a direct membership of both.
        beta_sites.push(alpha_sites[0].clone());

        let mut gamma_sites = Vec::new();
        for i in 0..7 {
            gamma_sites.push(add(plain(&format!("gamma-site-{i}"), "")));
        }

        let mut acme_sites = Vec::new();
        for i in 0..8 {
            let mut site = plain(&format!("acme-client-{i}"), &acme.id);
            if i == 3 {
                // No label anywhere and no plan name: clients fall back to name / service_level.
                site.label = None;
                site.attributes_label = None;
                site.plan_name = None;
            }
            acme_sites.push(add(site));
        }
        // Alpha sees this one directly and through Acme (de-duplicate within an account).
        acme_sites.push(alpha_sites[1].clone());

        let mut globex_sites = Vec::new();
        for i in 0..3 {
            globex_sites.push(add(plain(&format!("globex-site-{i}"), &globex.id)));
        }

        let mut initech_sites = Vec::new();
        for i in 0..4 {
            let mut site = plain(&format!("initech-app-{i}"), &initech.id);
            site.drift = i == 1;
            initech_sites.push(add(site));
        }
        initech_sites.push(gamma_sites[0].clone());

        let acme = FakeOrg {
            site_ids: acme_sites,
            ..acme
        };
        let globex = FakeOrg {
            site_ids: globex_sites,
            ..globex
        };
        let initech = FakeOrg {
            site_ids: initech_sites,
            ..initech
        };

        let accounts = vec![
            FakeAccount {
                token: demo_token("alpha"),
                user_id: fake_uuid("user:alpha"),
                email: "alpha-ops@example.com".into(),
                site_ids: alpha_sites.clone(),
                orgs: vec![
                    (acme.id.clone(), "admin".into()),
                    (globex.id.clone(), "unprivileged".into()),
                ],
            },
            FakeAccount {
                token: demo_token("beta"),
                user_id: fake_uuid("user:beta"),
                email: "beta-team@example.org".into(),
                site_ids: beta_sites,
                orgs: vec![(acme.id.clone(), "team_member".into())],
            },
            FakeAccount {
                token: demo_token("gamma"),
                user_id: fake_uuid("user:gamma"),
                email: "gamma@example.net".into(),
                site_ids: gamma_sites,
                orgs: vec![(initech.id.clone(), "developer".into())],
            },
        ];

        FakeConfig {
            accounts,
            orgs: vec![acme, globex, initech],
            sites,
            null_site_wrappers: true,
            notices: true,
            empty_traffic: vec![alpha_sites[7].clone()],
            ..FakeConfig::default()
        }
    }

    /// A large world for scale tests: `accounts` accounts with `sites_per_account` direct
    /// sites each (no organizations, no quirks).
    pub fn generated(accounts: usize, sites_per_account: usize) -> FakeConfig {
        let frameworks = ["wordpress", "drupal8", "drupal"];
        let mut config = FakeConfig::default();
        for a in 0..accounts {
            let mut site_ids = Vec::with_capacity(sites_per_account);
            for s in 0..sites_per_account {
                let mut site = FakeSite::new(&format!("gen-{a}-{s}"));
                site.framework = frameworks[s % frameworks.len()].to_string();
                site.created = 1_500_000_000 + s as i64 * 86_400;
                site_ids.push(site.id.clone());
                config.sites.push(site);
            }
            config.accounts.push(FakeAccount {
                token: demo_token(&format!("gen-{a}")),
                user_id: fake_uuid(&format!("user:gen-{a}")),
                email: format!("gen{a}@example.com"),
                site_ids,
                orgs: Vec::new(),
            });
        }
        config
    }

    /// The site with this id, if configured.
    pub fn site(&self, id: &str) -> Option<&FakeSite> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// The site with this machine name, if configured.
    pub fn site_by_name(&self, name: &str) -> Option<&FakeSite> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// Index of the account holding this machine token.
    pub fn account_by_token(&self, token: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.token == token)
    }

    /// Site ids an account may read traffic for: direct memberships plus the sites of every
    /// organization where its role is not `"unprivileged"`, sorted and de-duplicated.
    /// Whether `account` sees `site_id` (directly or through an organization it may list).
    /// Linear in the memberships but allocation-free: it runs on every traffic request.
    pub fn can_see(&self, account: usize, site_id: &str) -> bool {
        let Some(acc) = self.accounts.get(account) else {
            return false;
        };
        let member = acc.site_ids.iter().any(|id| id == site_id)
            || acc
                .orgs
                .iter()
                .filter(|(_, role)| role != "unprivileged")
                .any(|(org_id, _)| {
                    self.orgs
                        .iter()
                        .any(|o| &o.id == org_id && o.site_ids.iter().any(|id| id == site_id))
                });
        member && self.site(site_id).is_some()
    }

    pub fn visible_site_ids(&self, account: usize) -> Vec<String> {
        let Some(acc) = self.accounts.get(account) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = acc.site_ids.clone();
        for (org_id, role) in &acc.orgs {
            if role == "unprivileged" {
                continue;
            }
            if let Some(org) = self.orgs.iter().find(|o| &o.id == org_id) {
                ids.extend(org.site_ids.iter().cloned());
            }
        }
        ids.retain(|id| self.site(id).is_some());
        ids.sort();
        ids.dedup();
        ids
    }
}

fn org(machine_name: &str, name: &str) -> FakeOrg {
    FakeOrg {
        id: fake_uuid(&format!("org:{machine_name}")),
        name: name.to_string(),
        machine_name: machine_name.to_string(),
        site_ids: Vec::new(),
    }
}

/// A long, random-looking but stable machine token, e.g. `demo-token-alpha-3f9c…`.
pub fn demo_token(name: &str) -> String {
    let digest = Sha256::digest(format!("pantheon-metrics demo token {name}").as_bytes());
    format!("demo-token-{name}-{}", hex(&digest[..20]))
}

/// A lowercase version-4-shaped UUID derived from `seed`, so fake ids are stable across
/// runs without a uuid dependency.
pub fn fake_uuid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format_uuid(bytes)
}

/// Formats 16 bytes as a version-4 UUID string.
pub(crate) fn format_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// First derived UUID (from `seed`, `seed#1`, ...) whose traffic has zero days.
fn spotty_uuid(seed: &str) -> String {
    let mut i = 0u32;
    loop {
        let id = fake_uuid(&format!("site:{seed}#{i}"));
        if is_spotty(&id) {
            return id;
        }
        i += 1;
    }
}

fn title_case(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
