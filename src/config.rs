//! Where machine tokens come from.

use std::path::{Path, PathBuf};

use crate::pantheon::Secret;

/// The environment variable holding whitespace-separated machine tokens.
pub const TOKENS_ENV: &str = "PANTHEON_MACHINE_TOKENS";
/// The environment variable naming a file of tokens, one per line.
pub const TOKENS_FILE_ENV: &str = "PANTHEON_MACHINE_TOKENS_FILE";

/// A configuration problem: exit code 2, and a message that says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no machine token configured: set {TOKENS_ENV} (whitespace-separated tokens) or pass \
         --tokens-file PATH / set {TOKENS_FILE_ENV} (one token per line); create a token at \
         https://docs.pantheon.io/machine-tokens. Or try the built-in demo with --demo"
    )]
    NoTokens,
    // The cause is the source, printed once by whoever prints the chain.
    #[error("cannot read the tokens file {path}")]
    TokensFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Loads tokens: from the file when one is named, else from `PANTHEON_MACHINE_TOKENS`.
/// Duplicates are dropped (two copies of one token are one account).
pub fn load_tokens(
    env_value: Option<&str>,
    file: Option<&Path>,
) -> Result<Vec<Secret>, ConfigError> {
    let raw: Vec<String> = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TokensFile {
                path: path.to_path_buf(),
                source,
            })?;
            parse_tokens_file(&text)
        }
        None => env_value
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    };
    let mut tokens: Vec<Secret> = Vec::new();
    for t in raw {
        let secret = Secret::new(t);
        if !tokens.contains(&secret) {
            tokens.push(secret);
        }
    }
    if tokens.is_empty() {
        return Err(ConfigError::NoTokens);
    }
    Ok(tokens)
}

/// One token per line; blank lines and `#` comments ignored.
fn parse_tokens_file(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once('#').map_or(l, |(before, _)| before).trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_skips_blanks_and_comments() {
        let got = parse_tokens_file("# ops\n\n  tok-a  \ntok-b # second\n#tok-c\n");
        assert_eq!(got, ["tok-a", "tok-b"]);
    }

    #[test]
    fn env_tokens_split_on_whitespace_and_dedupe() {
        let t = load_tokens(Some(" a\tb\n a "), None).unwrap();
        assert_eq!(t.len(), 2);
        assert!(matches!(
            load_tokens(Some("  "), None),
            Err(ConfigError::NoTokens)
        ));
        assert!(matches!(
            load_tokens(None, None),
            Err(ConfigError::NoTokens)
        ));
    }

    #[test]
    fn missing_tokens_file_is_a_clear_error() {
        let e = load_tokens(Some("x"), Some(Path::new("/nonexistent/tokens"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/tokens"), "{e}");
    }

    #[test]
    fn regression_config_error_prints_its_cause_twice() {
        let e = load_tokens(Some("x"), Some(Path::new("/nonexistent/tokens"))).unwrap_err();
        // As `main` prints it: the whole chain.
        let shown = format!("{:#}", anyhow::Error::new(e));
        assert_eq!(shown.matches("No such file").count(), 1, "{shown}");
    }
}
