//! Shell-style patterns for frame and task names: `*` is any run of characters, `?` one
//! character, everything else stands for itself. Linear in practice (one star backtrack
//! point), so catalogue patterns cannot be made slow by a name from a log.

/// Whether `name` matches `pattern` as a whole.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and where in `name` it started to match.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == n[ni])) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            // Let the last star swallow one more character and retry.
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A catalogue pattern is valid when it is non-empty and made of characters that occur in
/// kernel symbol and task names, plus the two wildcards.
pub fn is_valid(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.chars().all(|c| !c.is_control() && c != '\u{7f}') && pattern.trim() == pattern
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("runc:*", "runc:[1:CHILD]"));
        assert!(!matches("runc:*", "runc"));
        assert!(matches("*_ring_alloc", "aq_ring_alloc"));
        assert!(!matches("*_ring_alloc", "aq_ring_alloc_x"));
        assert!(matches("page_frag_alloc*", "page_frag_alloc_align"));
        assert!(matches("kswapd?", "kswapd0"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(matches("exact", "exact") && !matches("exact", "exactly"));
        assert!(matches("*", "") && !matches("?", ""));
    }
}
