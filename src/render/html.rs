//! HTML escaping for the summary page, where site labels are attacker-influenced text.

use std::borrow::Cow;

/// Escapes `& < > " '` so `s` is safe both as element text and inside a quoted attribute.
///
/// Borrows when nothing needs escaping, which is the common case for site names.
///
/// ```
/// use pantheon_metrics::render::html::escape;
/// assert_eq!(escape("<b>\"A&B's\"</b>"), "&lt;b&gt;&quot;A&amp;B&#39;s&quot;&lt;/b&gt;");
/// assert!(matches!(escape("acme-blog"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(['&', '<', '>', '"', '\'']) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character_and_keeps_unicode() {
        assert_eq!(
            escape("Zeta \"Shop\" <script>alert('x')</script> & Über ☃"),
            "Zeta &quot;Shop&quot; &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Über ☃"
        );
        assert_eq!(escape(""), "");
        assert!(matches!(escape("plain é"), Cow::Borrowed(_)));
    }
}
