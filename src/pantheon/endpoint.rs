//! The API's routes as names. Kept apart from the HTTP layer so that errors can name a
//! route without importing the layer that raises them.

/// The API's routes, named for metrics labels and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Login,
    Whoami,
    UserSites,
    UserOrgs,
    OrgSites,
    Traffic,
    SiteName,
    SiteInfo,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Whoami => "whoami",
            Endpoint::UserSites => "user_sites",
            Endpoint::UserOrgs => "user_organizations",
            Endpoint::OrgSites => "organization_sites",
            Endpoint::Traffic => "traffic",
            Endpoint::SiteName => "site_name",
            Endpoint::SiteInfo => "site_info",
        }
    }

    pub const ALL: [Endpoint; 8] = [
        Endpoint::Login,
        Endpoint::Whoami,
        Endpoint::UserSites,
        Endpoint::UserOrgs,
        Endpoint::OrgSites,
        Endpoint::Traffic,
        Endpoint::SiteName,
        Endpoint::SiteInfo,
    ];
}
