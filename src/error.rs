//! The exit codes the binary documents, and the usage error every layer may raise.
//!
//! This module sits at the bottom of the stack: the command line, the commands and the
//! library all use it, and it uses nothing of theirs but the configuration error it maps.

use std::process::ExitCode;

use crate::config::ConfigError;

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// Nothing could be fetched.
    Nothing = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Some accounts or sites failed; output was written for the rest.
    Partial = 3,
    /// `usage --fail-on`: some site is at or past the given status (wins over `Partial`).
    Threshold = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A usage error found after clap's own parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Maps an error that ended a command to its exit code: usage and configuration errors
/// anywhere in the chain are 2, anything else 1.
///
/// ```
/// use pantheon_metrics::error::{exit_code_of, Exit, UsageError};
/// let usage = anyhow::Error::new(UsageError("bad flag".into())).context("serve");
/// assert_eq!(exit_code_of(&usage), Exit::Usage);
/// assert_eq!(exit_code_of(&anyhow::anyhow!("API down")), Exit::Nothing);
/// ```
pub fn exit_code_of(error: &anyhow::Error) -> Exit {
    if error
        .chain()
        .any(|e| e.is::<UsageError>() || e.is::<ConfigError>())
    {
        Exit::Usage
    } else {
        Exit::Nothing
    }
}
