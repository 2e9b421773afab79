//! Where machine tokens come from, and the parsing of durations given on the command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[error("cannot read the tokens file {path}: {source}")]
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

/// A duration such as `30s`, `10m`, `1h`, `1h30m`, `500ms`; a bare number is in `bare_unit`.
///
/// ```
/// use std::time::Duration;
/// use pantheon_metrics::config::parse_duration;
/// assert_eq!(parse_duration("90s", 60).unwrap(), Duration::from_secs(90));
/// assert_eq!(parse_duration("60", 60).unwrap(), Duration::from_secs(3600));
/// assert!(parse_duration("soon", 1).is_err());
/// ```
pub fn parse_duration(value: &str, bare_unit_secs: u64) -> Result<Duration, String> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{value:?} is too large"))?;
        return n
            .checked_mul(bare_unit_secs)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{value:?} is too large"));
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("invalid duration {value:?} ({e}); use e.g. 90s, 30m, 1h"))
}

/// Pantheon environment names: `live`, `test`, `dev` or a multidev name (lowercase letters,
/// digits, dashes). Anything else is refused before it reaches a URL.
pub fn validate_environment(env: &str) -> Result<String, String> {
    let ok = !env.is_empty()
        && env.len() <= 64
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(env.to_string())
    } else {
        Err(format!(
            "invalid environment {env:?}: use live, test, dev or a multidev name"
        ))
    }
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
    fn environment_names_are_checked() {
        assert!(validate_environment("live").is_ok());
        assert!(validate_environment("pr-12").is_ok());
        for bad in ["", "LIVE", "../x", "a b", "x\ny"] {
            assert!(validate_environment(bad).is_err(), "{bad:?}");
        }
    }
}
