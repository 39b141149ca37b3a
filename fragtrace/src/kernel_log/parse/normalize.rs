//! One raw input line → the kernel's own text, with its timestamp. Strips, in any order they
//! stack up: email quotes (`> `, `>> `), indentation, `/dev/kmsg` record headers
//! (`6,1234,5678901,-;`), syslog prefixes (`Nov 27 10:00:01 host kernel: `, with or without
//! host, or an RFC 3339 date), `[ 1234.567890]` timestamps, `[T123]`/`[C1]` caller ids,
//! `dmesg -T` dates, `dmesg -x` facility columns and `kernel: ` tags (also after the timestamp,
//! as journalctl prints them).

use super::scan::{leading_u64, prefix_len, split, token};

/// Where a line's timestamp came from; turned into a string only for report headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stamp<'a> {
    /// As printed: `12345.678901`, `Fri Nov 27 10:00:01 2026`, `Oct  7 21:42:08`.
    Text(&'a str),
    /// `/dev/kmsg` microseconds since boot.
    Usec(u64),
}

impl Stamp<'_> {
    /// The `dmesg` rendering, so kmsg and text logs give comparable values.
    pub(super) fn write_to(self, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        match self {
            Stamp::Text(t) => out.push_str(t),
            Stamp::Usec(us) => {
                let _ = write!(out, "{}.{:06}", us / 1_000_000, us % 1_000_000);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Norm<'a> {
    /// The message text, leading whitespace kept (it tells wrapped pieces from indented ones).
    pub text: &'a str,
    pub stamp: Option<Stamp<'a>>,
    /// A timestamp, syslog or kmsg prefix was present: the line was emitted as a line of its
    /// own, not produced by a mail client wrapping the previous one.
    pub prefixed: bool,
    /// The line was a `/dev/kmsg` record.
    pub kmsg: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Class<'a> {
    Kernel(Norm<'a>),
    /// Syslog line from another program: ignored, and not the end of a kernel report (syslog
    /// interleaves daemons with the kernel).
    Foreign,
    /// `/dev/kmsg` dictionary continuation (` SUBSYSTEM=net`).
    Metadata,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Prefixes rarely stack deeper than syslog + timestamp + caller id + `kernel:`; the bound keeps
/// a line of a million `[1.0]` stamps linear.
const MAX_PREFIXES: usize = 6;

pub(super) fn normalize(raw: &str, kmsg_mode: bool) -> Class<'_> {
    if kmsg_mode && is_kmsg_metadata(raw) {
        return Class::Metadata;
    }
    let mut s = strip_quotes(raw);
    let mut norm = Norm { text: s, stamp: None, prefixed: false, kmsg: false };
    if let Some((usec, rest)) = kmsg_record(s) {
        norm.stamp = Some(Stamp::Usec(usec));
        norm.prefixed = true;
        norm.kmsg = true;
        s = rest;
    }
    let mut after_stamp = false;
    for _ in 0..MAX_PREFIXES {
        let t = s.trim_start();
        let was_stamp = std::mem::take(&mut after_stamp);
        if let Some((date, rest)) = syslog_prefix(t) {
            let Some(rest) = rest else { return Class::Foreign };
            // A `[ts]` after the date wins (it is the kernel's own clock), so only fill.
            norm.stamp.get_or_insert(Stamp::Text(date));
            s = rest;
        } else if let Some((ts, rest)) = bracket_stamp(t) {
            norm.stamp = Some(Stamp::Text(ts));
            s = rest;
            after_stamp = true;
        } else if let Some(rest) = caller_id(t).or_else(|| kernel_tag(t)).or_else(|| dmesg_facility(t)) {
            s = rest;
            after_stamp = was_stamp;
        } else if let Some(rest) = level_tag(t).or_else(|| was_stamp.then(|| host_kernel_tag(t)).flatten()) {
            s = rest;
        } else {
            break;
        }
        norm.prefixed = true;
    }
    // The single separator space the prefix printed is not indentation.
    norm.text = if norm.prefixed { s.strip_prefix(' ').unwrap_or(s) } else { s };
    Class::Kernel(norm)
}

/// `> `, `>> `, `> > `: mail quoting, any depth, possibly indented itself.
fn strip_quotes(s: &str) -> &str {
    let mut s = if s.trim_start().starts_with('>') { s.trim_start() } else { s };
    while let Some(rest) = s.strip_prefix('>') {
        s = rest.strip_prefix(' ').unwrap_or(rest);
    }
    s
}

/// ` KEY=value` after a kmsg record (only trusted once the input is known to be kmsg, because
/// indented kernel text is common elsewhere).
fn is_kmsg_metadata(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix(' ') else { return false };
    let key_len = prefix_len(rest, |b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    key_len > 0 && rest.as_bytes().get(key_len) == Some(&b'=')
}

/// `prio,seq,usec,flags[,more];message` → (usec, message).
fn kmsg_record(s: &str) -> Option<(u64, &str)> {
    let (_prio, rest) = leading_u64(s)?;
    let (_seq, rest) = leading_u64(rest.strip_prefix(',')?)?;
    let (usec, rest) = leading_u64(rest.strip_prefix(',')?)?;
    let rest = rest.strip_prefix(',')?;
    // Flags and optional fields (`caller=T1`): short, no spaces, end at `;`.
    let len = prefix_len(rest, |b| b != b';' && !b.is_ascii_whitespace());
    if len > 64 {
        return None;
    }
    let (_, msg) = split(rest, len)?;
    Some((usec, msg.strip_prefix(';')?))
}

/// Classic syslog (`Mon DD HH:MM:SS [host] tag: `) or RFC 3339 (`2026-11-27T10:00:01+00:00`,
/// journalctl `-o short-iso` or `dmesg --time-format iso`). Returns the date as printed and
/// `Some(text)` for kernel lines, `None` for other programs.
fn syslog_prefix(s: &str) -> Option<(&str, Option<&str>)> {
    let (date_len, iso) = match classic_date_len(s) {
        Some(len) => (len, false),
        None => (rfc3339_len(s)?, true),
    };
    let (date, rest) = split(s, date_len)?;
    let (first, after_first) = token(rest.trim_start());
    if let Some(text) = kernel_tag_token(first, after_first) {
        return Some((date, Some(text)));
    }
    let (second, after_second) = token(after_first.trim_start());
    // dmesg's ISO dates have no host or tag: the message follows the date directly.
    Some((date, kernel_tag_token(second, after_second).or(iso.then_some(rest))))
}

/// `kernel:` or `kernel[0]:` as the syslog tag.
fn kernel_tag_token<'a>(tag: &str, rest: &'a str) -> Option<&'a str> {
    let name = tag.strip_suffix(':')?;
    let is_kernel = name == "kernel" || name.strip_prefix("kernel[").is_some_and(|r| r.ends_with(']'));
    is_kernel.then_some(rest)
}

/// `Oct  7 21:42:08` (also with fractional seconds).
fn classic_date_len(s: &str) -> Option<usize> {
    let month = s.get(..3)?;
    if !MONTHS.contains(&month) {
        return None;
    }
    let rest = s.get(3..)?;
    let spaces = prefix_len(rest, |b| b == b' ');
    let rest = rest.get(spaces..)?;
    let day = prefix_len(rest, |b| b.is_ascii_digit());
    if spaces == 0 || !(1..=2).contains(&day) || rest.as_bytes().get(day) != Some(&b' ') {
        return None;
    }
    let time = rest.get(day + 1..)?;
    let time_len = prefix_len(time, |b| b.is_ascii_digit() || b == b':' || b == b'.');
    if time_len < 8 || time.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    Some(3 + spaces + day + 1 + time_len)
}

/// `2026-11-27T10:00:01.123456+00:00`: the whole first token.
fn rfc3339_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b.len() > 19
        && b.get(..4)?.iter().all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.get(10) == Some(&b'T');
    shape.then(|| token(s).0.len())
}

/// `[ 1234.567890]`, `dmesg -d`'s `[ 1234.567890 <    0.000123>]` and `[  +0.000123]`, or
/// `dmesg -T`/`-e` dates (`[Fri Nov 27 10:00:01 2026]`, `[Nov27 10:00]`). Task-table rows
/// (`[  442]`, no dot) and addresses (`[<ffff…>]`, `[<80012345>]`) do not match.
fn bracket_stamp(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    let close = inner.bytes().take(64).position(|b| b == b']')?;
    let (body, rest) = split(inner, close)?;
    let rest = rest.strip_prefix(']')?;
    let body = body.trim();
    let numeric = body.bytes().all(|b| b.is_ascii_digit() || b".+<> ".contains(&b))
        && body.contains('.')
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '+');
    let word = body.get(..3).unwrap_or_default();
    let dated = WEEKDAYS.contains(&word) || MONTHS.contains(&word);
    (numeric || dated).then_some((body, rest))
}

/// printk caller id: `[  T1234]` (task) or `[    C3]` (CPU).
fn caller_id(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?.trim_start_matches(' ');
    let inner = inner.strip_prefix('T').or_else(|| inner.strip_prefix('C'))?;
    let digits = prefix_len(inner, |b| b.is_ascii_digit());
    let rest = inner.get(digits..)?.strip_prefix(']')?;
    (digits > 0).then_some(rest)
}

/// `kernel: ` (journalctl, also after the timestamp) and the odd `kernel: : `.
fn kernel_tag(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("kernel:")?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    Some(rest.strip_prefix(": ").unwrap_or(rest))
}

/// Raw printk level, as in `/proc/kmsg` and `dmesg -r`: `<4>`.
fn level_tag(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('<')?;
    let digits = prefix_len(inner, |b| b.is_ascii_digit());
    let rest = inner.get(digits..)?.strip_prefix('>')?;
    (1..=3).contains(&digits).then_some(rest)
}

/// journalctl `-o short-monotonic`: `[ 1234.567890] host kernel: ` (only right after a stamp,
/// where a `word kernel:` cannot be message text).
fn host_kernel_tag(s: &str) -> Option<&str> {
    let (host, rest) = token(s);
    let (tag, rest) = token(rest.trim_start());
    if host.ends_with(':') {
        return None;
    }
    kernel_tag_token(tag, rest)
}

/// `dmesg -x`: `kern  :warn  : `.
fn dmesg_facility(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("kern")?.trim_start().strip_prefix(':')?;
    let level = prefix_len(rest, |b| b.is_ascii_lowercase());
    let rest = rest.get(level..)?.trim_start().strip_prefix(':')?;
    (level > 0).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(raw: &str) -> (String, Option<Stamp<'_>>, bool) {
        match normalize(raw, false) {
            Class::Kernel(n) => (n.text.to_string(), n.stamp, n.prefixed),
            other => panic!("{raw:?} → {other:?}"),
        }
    }

    #[test]
    fn strips_every_prefix_style() {
        let cases = [
            (
                "Oct  7 21:42:08 dexter kernel: [93075.317795] iwlagn/1: x",
                "iwlagn/1: x",
                Some(Stamp::Text("93075.317795")),
            ),
            ("Jul  1 00:45:31 prod-k8s-node kernel: Mem-Info:", "Mem-Info:", Some(Stamp::Text("Jul  1 00:45:31"))),
            ("Nov 27 10:00:01 kernel: x", "x", Some(Stamp::Text("Nov 27 10:00:01"))),
            ("[21161.092868] kernel:  dump_stack+0x8b/0xb8", "dump_stack+0x8b/0xb8", Some(Stamp::Text("21161.092868"))),
            ("[Fri Nov 27 10:00:01 2026] x", "x", Some(Stamp::Text("Fri Nov 27 10:00:01 2026"))),
            ("[  12.000001][  T123] x", "x", Some(Stamp::Text("12.000001"))),
            ("6,1234,5678901,-;cat: page", "cat: page", Some(Stamp::Usec(5_678_901))),
            ("4,77,10,c,caller=T9;x", "x", Some(Stamp::Usec(10))),
            ("2026-11-27T10:00:01.5+00:00 host kernel: x", "x", Some(Stamp::Text("2026-11-27T10:00:01.5+00:00"))),
            ("kern  :warn  : [ 1.5] x", "x", Some(Stamp::Text("1.5"))),
            ("kernel: : x", "x", None),
            ("<4>[    5.250000] x", "x", Some(Stamp::Text("5.250000"))),
            ("[ 1234.567890] myhost kernel: x", "x", Some(Stamp::Text("1234.567890"))),
            ("2026-11-27T10:00:01,123456+00:00 x: y", "x: y", Some(Stamp::Text("2026-11-27T10:00:01,123456+00:00"))),
            ("[ 1234.567890 <    0.000123>] x", "x", Some(Stamp::Text("1234.567890 <    0.000123>"))),
            ("[  +0.000123] x", "x", Some(Stamp::Text("+0.000123"))),
            ("[Nov27 10:00] x", "x", Some(Stamp::Text("Nov27 10:00"))),
        ];
        for (raw, text, stamp) in cases {
            let (t, s, prefixed) = kernel(raw);
            assert_eq!((t.as_str(), s, prefixed), (text, stamp, true), "{raw}");
        }
    }

    #[test]
    fn quotes_and_unprefixed_lines() {
        assert_eq!(kernel(">> [ 4694.290776] warn_alloc: x").0, "warn_alloc: x");
        assert_eq!(kernel(">> mode:0x40cc0").0, "mode:0x40cc0");
        assert_eq!(kernel("    > [ 1.5] x").0, "x");
        assert_eq!(kernel("[ 1.5] Freeing unused kernel memory: 1kB").0, "Freeing unused kernel memory: 1kB");
        let (text, stamp, prefixed) = kernel(">                 active_file:263");
        assert_eq!((text.as_str(), stamp, prefixed), ("                active_file:263", None, false));
        // Not timestamps: task-table row, stack address.
        assert_eq!(kernel("[  442]     0   442").0, "[  442]     0   442");
        assert!(!kernel("[<8001ae08>] show_stack+0x6c/0x12c").2);
    }

    #[test]
    fn foreign_and_metadata() {
        assert_eq!(normalize("Nov 27 10:00:01 host systemd[1]: Started x", false), Class::Foreign);
        assert_eq!(normalize(" SUBSYSTEM=net", true), Class::Metadata);
        assert!(matches!(normalize(" SUBSYSTEM=net", false), Class::Kernel(_)));
        assert!(matches!(normalize("   active_file:1", true), Class::Kernel(_)));
    }

    #[test]
    fn usec_rendering() {
        let mut s = String::new();
        Stamp::Usec(5_678_901).write_to(&mut s);
        assert_eq!(s, "5.678901");
    }
}
