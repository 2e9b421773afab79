use crate::cli::{GlobalArgs, SitesArgs, SitesFormat};
use crate::discovery;
use crate::error::Exit;
use crate::model::AccountSite;
use crate::output::write_stdout;
use crate::render;

use super::context;

pub async fn run(global: &GlobalArgs, args: SitesArgs) -> anyhow::Result<Exit> {
    let ctx = context(global).await?;
    let found = discovery::discover(&ctx.client, &ctx.accounts, &ctx.discovery, None).await;
    let sites: Vec<AccountSite> = found.sites.iter().map(|f| f.site.clone()).collect();
    let text = match args.format {
        SitesFormat::Table => render::table::sites(&sites),
        SitesFormat::Json => render::json::sites(&sites),
    };
    write_stdout(text.as_bytes())?;
    Ok(if found.failed_accounts() == found.accounts.len() {
        Exit::Nothing
    } else if found.partial() {
        Exit::Partial
    } else {
        Exit::Success
    })
}
