//! pantheon-metrics: the Pantheon client, the metrics store and the renderers behind the
//! `pantheon-metrics` command-line tool and Prometheus exporter.
//!
//! The data path runs tokens → accounts → discovery → traffic fetch → store → render →
//! output; each step is one module here, and every subcommand calls the same steps.

pub mod allowances;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod discovery;
pub mod error;
pub mod fake;
pub mod hash;
pub mod logging;
pub mod model;
pub mod net;
pub mod output;
pub mod pantheon;
pub mod remote_write;
pub mod render;
pub mod serve;
pub mod store;
pub mod traffic;
pub mod usage;
