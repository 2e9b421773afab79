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

    /// Replaces every registered secret, and the secret part of anything shaped like a
    /// session, with `[REDACTED]`. Scrub before cutting a text short, so that no piece of a
    /// secret survives at the cut.
    pub fn scrub(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), REDACTED);
            }
        }
        drop(secrets);
        redact_session_shapes(&out)
    }
}

const REDACTED: &str = "[REDACTED]";

/// JSON keys whose values are secrets.
const SECRET_KEYS: [&str; 4] = ["machine_token", "session", "token", "password"];

/// Redacts a body for a debug log: the values of the `session`, `machine_token`, `token` and
/// `password` keys, every registered secret and every session-shaped string.
///
/// Valid JSON is redacted by its structure and printed compact. Anything else (an answer cut
/// mid-body, an HTML page) is redacted by its text with [`redact_text`]: its session was
/// never parsed, so it was never registered, and only its shape and its key give it away.
pub fn redact_json_text(text: &str, scrubber: &Scrubber) -> String {
    let scrubbed = scrubber.scrub(text);
    match serde_json::from_str::<serde_json::Value>(&scrubbed) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => redact_keys(&scrubbed),
    }
}

/// Redacts any text (JSON or not, whole or cut) without reformatting it: scrubs it, then
/// replaces the value after every `"session"`, `"machine_token"`, `"token"` or `"password"`
/// key up to its end, or to the end of the text when the text was cut inside it.
///
/// ```
/// use pantheon_metrics::pantheon::{Scrubber, redact_text};
/// let cut = r#"{"session":"5b0c6d2e-8f3a-4c1e-9d7b-2a4f6e8c0b1d:0c1d2e"#;
/// assert_eq!(redact_text(cut, &Scrubber::default()), r#"{"session":"[REDACTED]"#);
/// ```
pub fn redact_text(text: &str, scrubber: &Scrubber) -> String {
    redact_keys(&scrubber.scrub(text))
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) {
                    *v = serde_json::Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// The text-level half of [`redact_text`]. Also finds keys written with escaped quotes
/// (`\"session\":\"…\"`), as in a JSON text quoted inside a JSON string.
fn redact_keys(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let Some((value_start, quote)) = secret_key_at(bytes, i) else {
            i += 1;
            continue;
        };
        let (value_end, complete) = value_end(bytes, value_start, quote);
        if value_end == value_start {
            // Cut right after the key: no value to hide.
            i += 1;
            continue;
        }
        // Keys and quotes are ASCII, so both ends are on character boundaries.
        out.push_str(&text[copied..value_start]);
        out.push_str(quote);
        out.push_str(REDACTED);
        if complete {
            out.push_str(quote);
        }
        copied = value_end;
        i = value_end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// If a secret key starts at `at` (its opening quote), the offset of its value and the
/// quote style (`"` or `\"`).
fn secret_key_at(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    let quote = if at > 0 && bytes[at - 1] == b'\\' {
        "\\\""
    } else {
        "\""
    };
    let name_start = at + 1;
    let key = SECRET_KEYS
        .iter()
        .find(|k| bytes[name_start..].starts_with(k.as_bytes()))?;
    let mut i = name_start + key.len();
    if !bytes[i..].starts_with(quote.as_bytes()) {
        return None;
    }
    i += quote.len();
    i = skip_space(bytes, i);
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    Some((skip_space(bytes, i + 1), quote))
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Where the JSON value starting at `start` ends, and whether it ends before the text does.
/// A string ends at its closing quote; an object or array at its matching bracket; anything
/// else at the next delimiter.
fn value_end(bytes: &[u8], start: usize, quote: &str) -> (usize, bool) {
    let quote = quote.as_bytes();
    let Some(&first) = bytes.get(start) else {
        return (start, false);
    };
    if bytes[start..].starts_with(quote) {
        let mut i = start + quote.len();
        while i < bytes.len() {
            if bytes[i..].starts_with(quote) {
                return (i + quote.len(), true);
            }
            // An escaped character never closes a plain string.
            i += if quote.len() == 1 && bytes[i] == b'\\' {
                2
            } else {
                1
            };
        }
        return (bytes.len(), false);
    }
    if first == b'{' || first == b'[' {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut i = start;
        while i < bytes.len() {
            match (in_string, bytes[i]) {
                (true, b'\\') => i += 1,
                (true, b'"') => in_string = false,
                (false, b'"') => in_string = true,
                (false, b'{' | b'[') => depth += 1,
                (false, b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        return (bytes.len(), false);
    }
    match bytes[start..]
        .iter()
        .position(|b| matches!(b, b',' | b'}' | b']' | b'\\') || b.is_ascii_whitespace())
    {
        Some(n) => (start + n, true),
        None => (bytes.len(), false),
    }
}

/// Replaces the secret part of every `<uuid>:<secret>` (a Pantheon session is
/// `<user uuid>:<uuid>:<21 alphanumerics>`) with `[REDACTED]`, keeping the user id, which is
/// not secret (it is in every URL). Any non-empty secret part counts, so a session cut short
/// is caught too.
fn redact_session_shapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + UUID_LEN + 1 < bytes.len() {
        let secret_start = i + UUID_LEN + 1;
        if bytes[i + UUID_LEN] == b':'
            && is_session_char(bytes[secret_start])
            && is_uuid(&bytes[i..i + UUID_LEN])
        {
            let secret_end = bytes[secret_start..]
                .iter()
                .position(|b| !is_session_char(*b))
                .map_or(bytes.len(), |n| secret_start + n);
            // Everything matched is ASCII, so both ends are on character boundaries.
            out.push_str(&text[copied..secret_start]);
            out.push_str(REDACTED);
            copied = secret_end;
            i = secret_end;
        } else {
            i += 1;
        }
    }
    if copied == 0 {
        return text.to_string();
    }
    out.push_str(&text[copied..]);
    out
}

const UUID_LEN: usize = 36;

fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == UUID_LEN
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Characters a session's secret part is made of (alphanumerics and the separators a
/// token format might use), but no quote, space or sentence punctuation.
fn is_session_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'+' | b'/' | b'=' | b'~')
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

    const SESSION: &str = "5b0c6d2e-8f3a-4c1e-9d7b-2a4f6e8c0b1d:0c1d2e3f-4a5b-41ef-9c8d-42010a800102:Xk4pQ9sLm2Vt7RbN3cJwe";

    #[test]
    fn text_redaction_covers_every_value_form() {
        let s = Scrubber::default();
        let cases = [
            // A string, closed or cut.
            (
                r#"{"session":"abc","user_id":"u"}"#,
                r#"{"session":"[REDACTED]","user_id":"u"}"#,
            ),
            (r#"{"session" : "abc"#, r#"{"session" : "[REDACTED]"#),
            // Escaped quotes inside the value do not end it.
            (
                r#"{"password":"a\"b","x":1"#,
                r#"{"password":"[REDACTED]","x":1"#,
            ),
            // Numbers, objects and arrays, closed or cut.
            (r#"{"token":12345,"x":1"#, r#"{"token":"[REDACTED]","x":1"#),
            (
                r#"{"token":{"a":"}"},"x":1"#,
                r#"{"token":"[REDACTED]","x":1"#,
            ),
            (r#"{"token":["a","b"#, r#"{"token":"[REDACTED]"#),
            // A JSON text quoted inside a JSON string.
            (
                r#"msg: "{\"machine_token\":\"mt-abc\",\"x\":1}""#,
                r#"msg: "{\"machine_token\":\"[REDACTED]\",\"x\":1}""#,
            ),
            // Cut inside or right after the key: there is no value yet.
            (r#"{"sess"#, r#"{"sess"#),
            (r#"{"session":"#, r#"{"session":"#),
            // Not a key: the word as a value, or inside another key.
            (
                r#"{"kind":"token","my_session":"x"}"#,
                r#"{"kind":"token","my_session":"x"}"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_text(input, &s), want, "{input}");
        }
    }

    #[test]
    fn text_redaction_keeps_other_text_byte_for_byte() {
        let s = Scrubber::default();
        let text = "{ \"message\" : \"Café ☕ not found\",\n  \"id\": \"5b0c6d2e-8f3a-4c1e-9d7b-2a4f6e8c0b1d\" }";
        assert_eq!(redact_text(text, &s), text);
        assert_eq!(s.scrub(text), text);
    }

    #[test]
    fn session_shapes_are_scrubbed_unregistered_keeping_the_user_id() {
        let s = Scrubber::default();
        let user = &SESSION[..36];
        assert_eq!(
            s.scrub(&format!("Bearer {SESSION}, then")),
            format!("Bearer {user}:[REDACTED], then")
        );
        // Cut after one character of the secret part.
        assert_eq!(s.scrub(&SESSION[..38]), format!("{user}:[REDACTED]"));
        // A user id followed by a colon and a space is ordinary text.
        let plain = format!("site of {user}: not found");
        assert_eq!(s.scrub(&plain), plain);
        // Upper-case hex too.
        let upper = SESSION.to_ascii_uppercase();
        assert!(!s.scrub(&upper).contains("XK4PQ9SL"), "{}", s.scrub(&upper));
    }

    #[test]
    fn json_and_cut_login_answers_hide_the_session() {
        let s = Scrubber::default();
        let body = format!(r#"{{"session":"{SESSION}","expires_at":1,"user_id":"u"}}"#);
        for cut in 0..=body.len() {
            let out = redact_json_text(&body[..cut], &s);
            assert!(!out.contains("0c1d2e3f"), "cut at {cut}: {out}");
            assert!(!out.contains("Xk4pQ9"), "cut at {cut}: {out}");
        }
        assert_eq!(
            redact_json_text(&body, &s),
            r#"{"expires_at":1,"session":"[REDACTED]","user_id":"u"}"#
        );
    }
}
