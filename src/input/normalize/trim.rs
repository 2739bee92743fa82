//! Trimming and the small character helpers every normaliser shares: which characters are
//! invisible or trimmed at the ends of a value, lower-casing, and case-insensitive prefixes.

/// Invisible format characters: soft hyphen, zero-width space/non-joiner/joiner, direction marks,
/// embeddings/overrides/isolates, word joiner and invisible operators, byte-order mark.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

pub(super) fn is_trimmable(c: char) -> bool {
    c.is_whitespace() || c.is_control() || is_invisible(c)
}

pub(super) fn trim_value(s: &str) -> &str {
    // Most values start and end with a visible ASCII character, which is never trimmable
    // (every invisible character is outside ASCII): then there is nothing to scan.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim_matches(is_trimmable),
    }
}

/// Appends `c` lower-cased (full Unicode lower-case mapping, context-free).
pub(super) fn push_lower_char(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Appends `s` lower-cased: in place for ASCII, char by char otherwise.
pub(super) fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.reserve(s.len());
        for c in s.chars() {
            push_lower_char(out, c);
        }
    }
}

/// Strips a case-insensitive ASCII `prefix`.
pub(super) fn strip_prefix_ascii_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let n = prefix.len();
    if s.len() >= n && s.as_bytes()[..n].eq_ignore_ascii_case(prefix.as_bytes()) {
        // The first `n` bytes equal an ASCII string, so `n` is a char boundary.
        s.get(n..)
    } else {
        None
    }
}
