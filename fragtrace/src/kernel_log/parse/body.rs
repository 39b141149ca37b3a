//! Recognisers for the lines of a report body: the task line, stack frames, zone watermark and
//! buddy lines, and the OOM killer's verdict lines. Each takes one trimmed, already-joined line.

use super::scan::{after, clip, kb, leading_u64, prefix_len, split, split_at_pat, token};
use super::{Frame, ZoneLine};

const MAX_NAME: usize = 256;
/// MAX_ORDER is 11–13 on real kernels; more "orders" on a line is corruption.
const MAX_ORDERS: usize = 32;
/// The summary has ~10 keys; a flood of `a=b` pairs is garbage.
const MAX_PAIRS: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub(super) struct TaskLine<'a> {
    pub pid: Option<u32>,
    pub comm: &'a str,
    pub release: Option<&'a str>,
}

/// `CPU: 27 PID: 70623 Comm: runc:[1:CHILD] Kdump: loaded Tainted: P … 3.10.0-957… #1`,
/// `CPU: 0 UID: 0 PID: 1 Comm: x …` (6.12+), `Pid: 1624, comm: iwlagn/1 Not tainted 2.6.28 …`.
pub(super) fn task_line(t: &str) -> Option<TaskLine<'_>> {
    let (pid_text, comm_text) = if let Some(rest) = t.strip_prefix("CPU: ") {
        split_at_pat(after(rest, "PID: ")?, "Comm: ")?
    } else {
        split_at_pat(t.strip_prefix("Pid: ")?, "comm: ")?
    };
    let pid = leading_u64(pid_text).and_then(|(n, _)| u32::try_from(n).ok());
    // The comm may contain spaces; what follows it is one of these markers.
    let end = [" Not tainted", " Tainted:", " Kdump:", " veid:"]
        .iter()
        .filter_map(|m| comm_text.find(m))
        .min()
        .unwrap_or_else(|| token(comm_text).0.len());
    let (comm, tail) = split(comm_text, end)?;
    // Taint flags (`P  W  OE`, `---------- H`) never start with a digit; the release does
    // (2.6 i386 register dumps put it in parentheses: `Not tainted (2.6.27 #1)`).
    let release = tail
        .split_ascii_whitespace()
        .map(|w| w.strip_prefix('(').unwrap_or(w))
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'));
    Some(TaskLine { pid, comm: comm.trim(), release })
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum TraceLine {
    Frame(Frame),
    /// `<IRQ>`, `</TASK>`, …: part of the trace, no frame.
    Marker,
    NotFrame,
}

/// x86 `[<addr>] ? fn+0x1/0x2 [mod]` and `fn+0x1/0x2 [mod]`, arm64 ` fn+0x0/0x200`, MIPS
/// `[<8001ae08>] fn+0x6c/0x12c`, ARM `[<c0…>] (fn+0x10/0x20) from [<c0…>] (caller…)` (also
/// `(fn) from`), powerpc `[c0…] [c0…] fn+0x1/0x2 (unreliable)`, s390 `([<…>] fn+0x1/0x2)`,
/// with `<IRQ>`/`<EOI>` markers in front.
pub(super) fn trace_line(t: &str) -> TraceLine {
    let mut s = t.trim();
    while let Some(rest) = strip_marker(s) {
        s = rest.trim_start();
    }
    if s.is_empty() {
        return TraceLine::Marker;
    }
    s = s.strip_prefix('(').unwrap_or(s);
    // Up to two address columns (powerpc prints the stack pointer too).
    for _ in 0..2 {
        match strip_address(s) {
            Some(rest) => s = rest.trim_start(),
            None => break,
        }
    }
    let (mut reliable, s) = match s.strip_prefix('?') {
        Some(rest) => (false, rest.trim_start()),
        None => (true, s),
    };
    let (parenthesised, s) = match s.strip_prefix('(') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let name_len = prefix_len(s, |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$');
    let Some((name, rest)) = split(s, name_len) else { return TraceLine::NotFrame };
    // A symbol with an offset (or ARM's `(fn) from`), not a bare address (`0xffff…`, riscv,
    // nommu) or a number.
    let shaped = rest.starts_with("+0x") || (parenthesised && rest.starts_with(')'));
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || !shaped {
        return TraceLine::NotFrame;
    }
    let after_offset = token(rest).1.trim_start();
    reliable &= !after_offset.starts_with("(unreliable)");
    let module = after_offset
        .strip_prefix('[')
        .and_then(|m| split_at_pat(m, "]"))
        .map(|(m, _)| clip(m, MAX_NAME))
        .filter(|m| !m.is_empty());
    TraceLine::Frame(Frame { function: clip(name, MAX_NAME), module, reliable })
}

/// `[<ffffffff81234567>]` (also hashed: `[<(____ptrval____)>]`) or powerpc's
/// `[c000000000a2b5b4]`.
fn strip_address(s: &str) -> Option<&str> {
    if let Some(inner) = s.strip_prefix("[<") {
        let close = inner.bytes().take(40).position(|b| b == b'>')?;
        return inner.get(close + 1..)?.strip_prefix(']');
    }
    let inner = s.strip_prefix('[')?;
    let len = prefix_len(inner, |b| b.is_ascii_hexdigit());
    let rest = inner.get(len..)?.strip_prefix(']')?;
    (len > 0).then_some(rest)
}

/// `<IRQ>`, `</IRQ>`, `<EOI>`, `<NMI>`, `<TASK>`, `</TASK>`, `<#DF>`.
fn strip_marker(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('<')?;
    let len = prefix_len(inner, |b| b.is_ascii_uppercase() || b == b'/' || b == b'#');
    let rest = inner.get(len..)?.strip_prefix('>')?;
    (len > 0).then_some(rest)
}

/// `Node 3 ` → (Some(3), rest); no prefix → (None, s).
fn node_prefix(s: &str) -> (Option<u32>, &str) {
    let Some(rest) = s.strip_prefix("Node ") else { return (None, s) };
    match leading_u64(rest) {
        Some((n, r)) if r.starts_with(' ') => (u32::try_from(n).ok(), r.trim_start()),
        _ => (None, s),
    }
}

/// Zone names are capitalised words: DMA, DMA32, Normal, HighMem, Movable, Device.
fn is_zone_name(z: &str) -> bool {
    z.starts_with(|c: char| c.is_ascii_uppercase()) && z.bytes().all(|b| b.is_ascii_alphanumeric()) && z.len() <= 16
}

/// `[Node 0 ]Normal free:79912kB min:43728kB low:54660kB high:65592kB …`.
pub(super) fn zone_line(t: &str) -> Option<ZoneLine> {
    let (node, rest) = node_prefix(t);
    let (zone, rest) = token(rest);
    let fields = rest.strip_prefix(' ')?;
    if !is_zone_name(zone) || !fields.starts_with("free:") {
        return None;
    }
    let mut line = ZoneLine {
        node,
        zone: zone.to_string(),
        free_kb: None,
        min_kb: None,
        low_kb: None,
        high_kb: None,
        blocks: Vec::new(),
        buddy_total_kb: None,
    };
    for word in fields.split_ascii_whitespace() {
        let Some((key, val)) = split_at_pat(word, ":") else { continue };
        let slot = match key {
            "free" => &mut line.free_kb,
            "min" => &mut line.min_kb,
            "low" => &mut line.low_kb,
            "high" => &mut line.high_kb,
            _ => continue,
        };
        if slot.is_none() {
            *slot = kb(val);
        }
        if line.high_kb.is_some() {
            break;
        }
    }
    Some(line)
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Buddy<'a> {
    pub node: Option<u32>,
    pub zone: &'a str,
    pub blocks: Vec<u64>,
    pub total_kb: Option<u64>,
}

/// `[Node 0 ]Normal: 7662*4kB (UE) 4239*8kB (UEM) … 0*4096kB = 81296kB`. Markdown can turn
/// `*` into `_`, so both separate count and size.
pub(super) fn buddy_line(t: &str) -> Option<Buddy<'_>> {
    let (node, rest) = node_prefix(t);
    let (zone_tok, rest) = token(rest);
    let zone = zone_tok.strip_suffix(':')?;
    if !is_zone_name(zone) {
        return None;
    }
    let mut blocks = Vec::new();
    let mut total_kb = None;
    let mut words = rest.split_ascii_whitespace();
    while let Some(word) = words.next() {
        if word.starts_with('(') {
            continue; // migratetypes (UMEH)
        }
        if word == "=" {
            total_kb = words.next().and_then(kb);
            break;
        }
        let sep = prefix_len(word, |b| b.is_ascii_digit());
        let (count, size) = split(word, sep)?;
        let size = size.strip_prefix('*').or_else(|| size.strip_prefix('_'))?;
        kb(size)?;
        if blocks.len() == MAX_ORDERS {
            return None;
        }
        blocks.push(count.parse().ok()?);
    }
    (!blocks.is_empty()).then_some(Buddy { node, zone, blocks, total_kb })
}

/// `Killed process 7788 (bash) total-vm:…` (any prefix), `Kill process 13985 (dnf) score 54`,
/// `Killed process 1234, UID 48, (httpd) total-vm:…`.
pub(super) fn process_ref(s: &str) -> Option<(u32, String)> {
    let (pid, rest) = leading_u64(s)?;
    // RHEL6 puts `, UID 48,` between pid and comm.
    let open = rest.bytes().take(32).position(|b| b == b'(')?;
    let rest = rest.get(open + 1..)?;
    // The comm may itself contain parentheses (`(sd-pam)` prints as `((sd-pam))`); 2.6.18
    // ends the line with `(java).`.
    let end = [") ", "),", ")."]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .or_else(|| rest.strip_suffix(')').map(str::len))?;
    let (comm, _) = split(rest, end)?;
    Some((u32::try_from(pid).ok()?, clip(comm, MAX_NAME)))
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum OomLine {
    /// `Killed process N (comm)`.
    Killed((u32, String)),
    /// `Out of memory: Kill process N (comm) score S or sacrifice child`: chosen, not yet killed.
    Selected((u32, String)),
    /// `oom-kill:constraint=…` key/value pairs.
    Summary(Vec<(String, String)>),
    /// `Task in /a killed as a result of limit of /b` (pre-5.x memcg).
    TaskIn { task_memcg: String, oom_memcg: String },
    /// `oom_reaper: reaped process …`, `Tasks in … are going to be killed …`: part of the kill.
    Epilogue,
}

pub(super) fn oom_line(t: &str) -> Option<OomLine> {
    if let Some(rest) = after(t, "Killed process ") {
        return process_ref(rest).map(OomLine::Killed);
    }
    if t.contains("out of memory: Kill process ") || t.contains("Out of memory: Kill process ") {
        return after(t, "Kill process ").and_then(process_ref).map(OomLine::Selected);
    }
    if let Some(rest) = t.strip_prefix("oom-kill:") {
        return Some(OomLine::Summary(summary_pairs(rest)));
    }
    if let Some(rest) = t.strip_prefix("Task in ") {
        let (task, oom) = split_at_pat(rest, " killed as a result of limit of ")?;
        return Some(OomLine::TaskIn { task_memcg: clip(task, 4096), oom_memcg: clip(oom.trim(), 4096) });
    }
    let epilogue = t.starts_with("oom_reaper:") || (t.starts_with("Tasks in ") && t.contains("are going to be killed"));
    epilogue.then_some(OomLine::Epilogue)
}

/// `constraint=X,nodemask=0,2,cpuset=/,…,global_oom,…`: a comma starts a new pair only when
/// `key=` follows, so node lists with commas stay whole.
fn summary_pairs(s: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in s.split(',') {
        if let Some((key, val)) = split_at_pat(piece, "=").filter(|(key, _)| is_key(key)) {
            if pairs.len() < MAX_PAIRS {
                pairs.push((key.to_string(), clip(val.trim_end(), 4096)));
            }
        } else if piece.starts_with(|c: char| c.is_ascii_digit()) {
            // `0,2` in a node list continues the value; flags like `global_oom` do not.
            if let Some((_, val)) = pairs.last_mut().filter(|(_, v)| v.len() < 4096) {
                val.push(',');
                val.push_str(&clip(piece, 4096));
            }
        }
    }
    pairs
}

fn is_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, module: Option<&str>, reliable: bool) -> TraceLine {
        TraceLine::Frame(Frame { function: function.into(), module: module.map(Into::into), reliable })
    }

    #[test]
    fn task_lines() {
        let t = task_line(
            "CPU: 27 PID: 70623 Comm: runc:[1:CHILD] Kdump: loaded Tainted: P        W  OE  ------------   3.10.0-957.1.3.el7.x86_64 #1",
        );
        assert_eq!(
            t,
            Some(TaskLine { pid: Some(70623), comm: "runc:[1:CHILD]", release: Some("3.10.0-957.1.3.el7.x86_64") })
        );
        let t = task_line(
            "Pid: 11115, comm: squid-analyzer Tainted: G           --------------- H  2.6.32-279.9.1.el6.x86_64 #1",
        );
        assert_eq!(
            t,
            Some(TaskLine { pid: Some(11115), comm: "squid-analyzer", release: Some("2.6.32-279.9.1.el6.x86_64") })
        );
        let t = task_line("CPU: 0 UID: 0 PID: 1 Comm: Web Content Not tainted 6.12.0 #1 PREEMPT(voluntary)");
        assert_eq!(t, Some(TaskLine { pid: Some(1), comm: "Web Content", release: Some("6.12.0") }));
        assert_eq!(
            task_line("CPU: 18 PID: 166017 Comm: kworker/u65:2 Not tainted 6.7.0").and_then(|t| t.release),
            Some("6.7.0")
        );
        assert_eq!(task_line("CPU    0: hi:    0, btch:   1 usd:   0"), None);
    }

    #[test]
    fn trace_lines() {
        assert_eq!(
            trace_line("[<ffffffffc05099a1>] nf_conntrack_init_net+0xf1/0x260 [nf_conntrack]"),
            frame("nf_conntrack_init_net", Some("nf_conntrack"), true)
        );
        assert_eq!(trace_line(" ? srso_alias_return_thunk+0x5/0xfbef5"), frame("srso_alias_return_thunk", None, false));
        assert_eq!(
            trace_line("<IRQ>  [<ffffffff810fad0e>] __alloc_pages_slowpath+0x56e/0x580"),
            frame("__alloc_pages_slowpath", None, true)
        );
        assert_eq!(
            trace_line("<EOI>  [<ffffffff8130f7cb>] ? acpi_idle_enter_c1+0xa3/0xc1"),
            frame("acpi_idle_enter_c1", None, false)
        );
        assert_eq!(
            trace_line("[<c0012345>] (dump_backtrace+0x0/0x110) from [<c0385538>] (dump_stack+0x18/0x1c)"),
            frame("dump_backtrace", None, true)
        );
        assert_eq!(
            trace_line("__alloc_pages_slowpath.constprop.0+0xb14/0xb38"),
            frame("__alloc_pages_slowpath.constprop.0", None, true)
        );
        assert_eq!(
            trace_line("[<c010e0b8>] (unwind_backtrace) from [<c010a3a4>] (show_stack+0x10/0x14)"),
            frame("unwind_backtrace", None, true)
        );
        assert_eq!(
            trace_line("[c0000000f7e1f7d0] [c000000000a2b5b4] dump_stack+0xb0/0xf4 (unreliable)"),
            frame("dump_stack", None, false)
        );
        assert_eq!(trace_line("([<000000000012d9b4>] show_trace+0x12c/0x150)"), frame("show_trace", None, true));
        assert_eq!(trace_line("[<(____ptrval____)>] ? kfree+0x1/0x2"), frame("kfree", None, false));
        assert_eq!(trace_line("  <TASK>"), TraceLine::Marker);
        assert_eq!(trace_line("RIP: 0033:0x7f554047fc90"), TraceLine::NotFrame);
        assert_eq!(trace_line("[<ffffffff80001234>] 0xffffffff80001234"), TraceLine::NotFrame);
        assert_eq!(trace_line("Mem-Info:"), TraceLine::NotFrame);
    }

    #[test]
    fn zone_and_buddy_lines() {
        let z = zone_line("Node 1 Normal free:117572kB min:45176kB low:56468kB high:67764kB active_anon:1201072kB")
            .expect("zone");
        assert_eq!(
            (z.node, z.zone.as_str(), z.free_kb, z.min_kb, z.low_kb, z.high_kb),
            (Some(1), "Normal", Some(117572), Some(45176), Some(56468), Some(67764))
        );
        let z = zone_line("DMA32 free:12536kB min:4004kB low:5004kB high:6004kB").expect("zone");
        assert_eq!((z.node, z.high_kb), (None, Some(6004)));
        assert_eq!(zone_line("Node 0 active_anon:2644kB inactive_anon:3768kB"), None);
        assert_eq!(zone_line("Node 0 DMA per-cpu:"), None);
        let b = buddy_line("Node 0 DMA: 1*4kB (U) 0*8kB 1*16kB (U) 3*4096kB (M) = 15188kB").expect("buddy");
        assert_eq!(b, Buddy { node: Some(0), zone: "DMA", blocks: vec![1, 0, 1, 3], total_kb: Some(15188) });
        let b = buddy_line("Normal: 11*4kB (U) 59_8kB (UE) = 1812kB").expect("buddy");
        assert_eq!((b.node, b.blocks, b.total_kb), (None, vec![11, 59], Some(1812)));
        assert_eq!(buddy_line("Hardware name: x"), None);
        assert_eq!(buddy_line("Mem-Info:"), None);
    }

    #[test]
    fn oom_lines() {
        assert_eq!(
            oom_line("Memory cgroup out of memory: Killed process 7788 (bash) total-vm:7169492kB"),
            Some(OomLine::Killed((7788, "bash".into())))
        );
        assert_eq!(oom_line("Killed process 1 ((sd-pam)) total-vm:1kB"), Some(OomLine::Killed((1, "(sd-pam)".into()))));
        assert_eq!(
            oom_line("Killed process 1234, UID 48, (httpd) total-vm:1kB"),
            Some(OomLine::Killed((1234, "httpd".into())))
        );
        assert_eq!(oom_line("Out of memory: Killed process 9 (java)."), Some(OomLine::Killed((9, "java".into()))));
        assert_eq!(
            oom_line("Out of memory: Kill process 13985 (dnf) score 54 or sacrifice child"),
            Some(OomLine::Selected((13985, "dnf".into())))
        );
        let s = oom_line(
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=0,2,cpuset=/,mems_allowed=0-1,global_oom,task=x,pid=5,uid=0",
        );
        let Some(OomLine::Summary(pairs)) = s else { panic!("{s:?}") };
        assert_eq!(pairs[1], ("nodemask".to_string(), "0,2".to_string()));
        assert_eq!(pairs[3], ("mems_allowed".to_string(), "0-1".to_string()));
        assert_eq!(
            oom_line("Task in /a/b killed as a result of limit of /a"),
            Some(OomLine::TaskIn { task_memcg: "/a/b".into(), oom_memcg: "/a".into() })
        );
        assert_eq!(oom_line("oom_reaper: reaped process 13985 (dnf), now anon-rss:0kB"), Some(OomLine::Epilogue));
    }
}
