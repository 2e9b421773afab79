//! Machine tokens and session strings: wrapped so they cannot be printed by accident, and
//! registered so that any text we log can be scrubbed of them.

use std::fmt;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

/// A secret string. `Debug` and `Display` never show it; only [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (a request header or body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `sha256:<first 8 hex>`: lets an operator tell tokens apart in logs without any of
    /// the token's own characters.
    ///
    /// ```
    /// use pantheon_metrics::pantheon::Secret;
    /// let s = Secret::new("abc");
    /// assert_eq!(s.fingerprint(), "sha256:ba7816bf");
    /// ```
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Every secret the process has seen (tokens and sessions), so that response bodies and
/// error texts can be scrubbed even when the API echoes a secret back in a form we did not
/// predict.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Arc<RwLock<Vec<Secret>>>,
}

/// Shorter strings are not scrubbed: they would mangle ordinary text and carry no secret.
const MIN_SCRUB_LEN: usize = 8;

impl Scrubber {
    pub fn register(&self, secret: &Secret) {
        if secret.expose().len() < MIN_SCRUB_LEN {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !secrets.contains(secret) {
            // Bounded: sessions are renewed over months; keep the most recent ones.
            if secrets.len() >= 4096 {
                secrets.remove(0);
            }
            secrets.push(secret.clone());
        }
    }

    /// Replaces every registered secret with `[REDACTED]`. Scrub before cutting a text
    /// short, so that no piece of a secret survives at the cut.
    pub fn scrub(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), "[REDACTED]");
            }
        }
        out
    }
}

/// Replaces the values of `machine_token` and `session` in a JSON text (and any registered
/// secret anywhere), for debug logs.
pub fn redact_json_text(text: &str, scrubber: &Scrubber) -> String {
    let scrubbed = scrubber.scrub(text);
    match serde_json::from_str::<serde_json::Value>(&scrubbed) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => scrubbed,
    }
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if matches!(
                    key.as_str(),
                    "machine_token" | "session" | "token" | "password"
                ) {
                    *v = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("super-secret-token-value");
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn scrubber_replaces_registered_secrets() {
        let scrubber = Scrubber::default();
        scrubber.register(&Secret::new("abcdefgh12345678"));
        assert_eq!(
            scrubber.scrub("x abcdefgh12345678 y"),
            "x [REDACTED] y".to_string()
        );
    }

    #[test]
    fn json_redaction_hides_session_and_token_fields() {
        let scrubber = Scrubber::default();
        let out = redact_json_text(
            r#"{"session":"s3cr3t-session","expires_at":1,"nested":{"machine_token":"tok"}}"#,
            &scrubber,
        );
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("tok\""), "{out}");
        assert!(out.contains("expires_at"));
    }
}
