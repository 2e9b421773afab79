//! Renderers: turn sites and their traffic into the bytes a command prints or the exporter
//! serves.
//!
//! - [`prom`]: the Prometheus text format and OpenMetrics, split into per-site
//!   [`SiteFragments`] and a memcpy-level [`assemble`] so the exporter only re-renders the
//!   sites that changed.
//! - [`json`] and [`table`]: the `fetch` and `sites` command outputs.
//! - [`html`]: escaping for the summary page.
//!
//! Every whole-output function takes sites in any order and sorts them by [`series_key`],
//! so output is deterministic whatever order discovery or fetching finished in.

use crate::model::Site;

pub mod html;
pub mod json;
pub mod prom;
pub mod table;
#[cfg(test)]
mod testutil;

pub use prom::{
    FAMILIES, Family, Format, SiteFragments, TimestampMode, assemble, assembled_len, openmetrics,
    prometheus,
};

/// The order of series in every output: account, then site name, then site id.
///
/// Exposed so the exporter can keep its fragments in the same order the whole-output
/// functions use (e.g. as a `BTreeMap` key) and stay byte-identical to them.
pub fn series_key<'a>(account: &'a str, site: &'a Site) -> (&'a str, &'a str, &'a str) {
    (account, &site.name, &site.id)
}
