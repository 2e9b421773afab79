//! Renderers: turn sites and their traffic into the bytes a command prints or the exporter
//! serves.
//!
//! - [`families`]: the five metric families (name, help, JSON key, table column, value of a
//!   day), the one table every renderer and the remote-write planner read.
//! - [`prom`]: the Prometheus text format and OpenMetrics. A site renders to its
//!   [`SiteFragments`] (its sample lines per family), which [`assemble`] stitches together
//!   under the family headers; the exporter concatenates fragments into its own chunks.
//! - [`format`](mod@format): which exposition format, and which days carry timestamps.
//! - [`json`] and [`table`]: the `fetch` and `sites` command outputs.
//! - [`html`]: escaping for the summary page.
//!
//! Every whole-output function takes sites in any order and puts them in series order
//! ([`crate::model::sort_series`]), so output is deterministic whatever order discovery or
//! fetching finished in.

pub mod families;
pub mod format;
pub mod html;
pub mod json;
pub mod prom;
pub mod table;
#[doc(hidden)]
pub mod testutil;

pub use families::{DayValue, FAMILIES, Family};
pub use format::{Format, TimestampMode};
pub use prom::{SiteFragments, assemble, assembled_len, openmetrics, prometheus};
