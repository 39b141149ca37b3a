//! Small matchers over kernel-log text. Every one is a single left-to-right pass (no
//! backtracking), slices only through `str::get`, and returns `None` rather than panicking, so
//! arbitrary input (random bytes, 1 MB lines) is safe and parsing stays O(line length).

/// The text after the first occurrence of `pat`.
pub(super) fn after<'a>(s: &'a str, pat: &str) -> Option<&'a str> {
    let at = s.find(pat)?;
    s.get(at + pat.len()..)
}

/// The text before the first occurrence of `pat`, and the text after it.
pub(super) fn split_at_pat<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let at = s.find(pat)?;
    Some((s.get(..at)?, s.get(at + pat.len()..)?))
}

/// Length of the longest prefix of `s` whose bytes all satisfy `keep`.
pub(super) fn prefix_len(s: &str, keep: impl Fn(u8) -> bool) -> usize {
    s.bytes().position(|b| !keep(b)).unwrap_or(s.len())
}

/// Splits `s` after its first `len` bytes; `None` if that is not a character boundary.
pub(super) fn split(s: &str, len: usize) -> Option<(&str, &str)> {
    Some((s.get(..len)?, s.get(len..)?))
}

/// Leading decimal digits as a number (overflow → `None`), and the rest.
pub(super) fn leading_u64(s: &str) -> Option<(u64, &str)> {
    let (digits, rest) = split(s, prefix_len(s, |b| b.is_ascii_digit()))?;
    Some((digits.parse().ok()?, rest))
}

/// Like [`leading_u64`] with an optional `-` sign.
pub(super) fn leading_i64(s: &str) -> Option<(i64, &str)> {
    match s.strip_prefix('-') {
        Some(rest) => leading_u64(rest).and_then(|(n, r)| Some((0i64.checked_sub_unsigned(n)?, r))),
        None => leading_u64(s).and_then(|(n, r)| Some((i64::try_from(n).ok()?, r))),
    }
}

/// `0x…` hex digits exactly as printed, and the rest.
pub(super) fn leading_hex(s: &str) -> Option<(&str, &str)> {
    let digits = s.strip_prefix("0x")?;
    let len = prefix_len(digits, |b| b.is_ascii_hexdigit());
    if len == 0 {
        return None;
    }
    split(s, 2 + len)
}

/// The first whitespace-delimited token and the rest (which starts at the delimiter).
pub(super) fn token(s: &str) -> (&str, &str) {
    split(s, prefix_len(s, |b| !b.is_ascii_whitespace())).unwrap_or((s, ""))
}

/// A value running up to a comma, whitespace or the end (`cpuset=/,mems_allowed=0`).
pub(super) fn value(s: &str) -> &str {
    split(s, prefix_len(s, |b| b != b',' && !b.is_ascii_whitespace())).map_or(s, |(v, _)| v)
}

/// `123kB` / `0KB` → 123 (both spellings occur: `reserved_highatomic:0KB`).
pub(super) fn kb(s: &str) -> Option<u64> {
    let digits = s.strip_suffix("kB").or_else(|| s.strip_suffix("KB"))?;
    digits.parse().ok()
}

/// An owned copy of at most `max` bytes, cut at a character boundary, so one absurd input
/// line cannot make a report hold megabytes.
pub(super) fn clip(s: &str, max: usize) -> String {
    let mut cut = s.len().min(max);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.get(..cut).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_tokens() {
        assert_eq!(leading_u64("123kB"), Some((123, "kB")));
        assert_eq!(leading_u64("x"), None);
        assert_eq!(leading_u64("99999999999999999999999"), None);
        assert_eq!(leading_i64("-1, x"), Some((-1, ", x")));
        assert_eq!(leading_i64("-9223372036854775808"), Some((i64::MIN, "")));
        assert_eq!(leading_hex("0x10c0d0(GFP)"), Some(("0x10c0d0", "(GFP)")));
        assert_eq!(leading_hex("0x"), None);
        assert_eq!(token("ab cd"), ("ab", " cd"));
        assert_eq!(value("lxc.payload.openwrt,mems_allowed=0"), "lxc.payload.openwrt");
        assert_eq!(kb("15188kB"), Some(15188));
        assert_eq!(kb("0KB"), Some(0));
        assert_eq!(kb("12"), None);
        assert_eq!(clip("aé", 2), "a");
        assert_eq!(after("a: b", ": "), Some("b"));
        assert_eq!(split_at_pat("a=b", "="), Some(("a", "b")));
    }
}
