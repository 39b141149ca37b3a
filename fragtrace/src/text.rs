//! Names from outside (task names, cgroup directory names, pod names from container configs)
//! made safe to print: a name containing ESC, BEL or other control characters must not
//! drive the terminal of the engineer reading `top` or a report, so those characters are
//! shown escaped (`\u{1b}`), the same way everywhere.

use std::borrow::Cow;

/// `s` with every control character escaped; borrowed when there is none (the common case).
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`printable`], owned.
pub fn printable_owned(s: String) -> String {
    match printable(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_only() {
        assert!(matches!(printable("kubepods/burstable/pod-ü"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b[2J\x07b\nc"), "a\\u{1b}[2J\\u{7}b\\nc");
        assert_eq!(printable_owned("x\u{9b}y".into()), "x\\u{9b}y", "C1 controls too (CSI)");
    }
}
