//! The streaming state machine. Each input line is normalised, split at rsyslog `#012`
//! escapes, and held back one line so a mail-wrapped continuation can be glued on; each
//! complete line then either starts a report (a header), extends the open one, or is noise.
//! Only one report is open at a time, so reports come out in header order.

use super::body::{self, OomLine, TraceLine};
use super::header;
use super::normalize::{Class, Stamp, normalize};
use super::scan::{clip, leading_u64, prefix_len};
use super::{Report, ReportKind, ZoneLine};
use rustc_hash::FxHashSet;

/// Longest line rebuilt from wrapped pieces; beyond this the pieces stay separate lines.
const JOIN_CAP: usize = 64 * 1024;
/// Body lines (task-table rows not counted) before a report is closed regardless: generous,
/// since ≤4.x per-cpu blocks print one line per CPU and zone.
const BODY_BUDGET: usize = 5_000;
/// All lines, task-table rows included (an OOM on a large host lists every process).
const HARD_BUDGET: usize = 200_000;
/// Lines after a header in which a `mode:`/`nodemask=` fragment still belongs to it.
const CONTINUATION_WINDOW: usize = 6;
/// Lines between an orphaned `comm: ` fragment and the comm-less header it belongs to.
const ORPHAN_WINDOW: usize = 8;
/// Lines between `warn_alloc: N callbacks suppressed` and the header it precedes.
const SUPPRESSED_WINDOW: usize = 3;
const MAX_FRAMES: usize = 512;
const MAX_ZONES: usize = 64;
const MAX_KILLED: usize = 4096;
const MAX_HEADER_KEY: usize = 512;
const MAX_NAME: usize = 256;

/// Streaming parser: feed lines as they arrive (`dmesg --follow`, `/dev/kmsg`, a 100 MB file);
/// a report is returned once a line shows it is complete, the rest by [`Parser::finish`].
#[derive(Clone, Default)]
pub struct Parser {
    line_no: usize,
    kmsg_mode: bool,
    held: Held,
    current: Option<Building>,
    orphan_comm: Option<(String, usize)>,
    suppressed: Option<(u64, usize)>,
}

/// The last complete-looking line, kept until the next shows whether it was wrapped. The
/// buffers are reused, so steady-state parsing does not allocate per line.
#[derive(Clone, Default)]
struct Held {
    active: bool,
    text: String,
    stamp: String,
    has_stamp: bool,
    prefixed: bool,
    line: usize,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// One input line (a trailing `\n`/`\r\n` is ignored; embedded newlines split it).
    pub fn push_line(&mut self, line: &str) -> Vec<Report> {
        let mut out = Vec::new();
        for raw in line.trim_end_matches(['\n', '\r']).split('\n') {
            self.line_no = self.line_no.saturating_add(1);
            let norm = match normalize(raw.trim_end_matches('\r'), self.kmsg_mode) {
                Class::Kernel(norm) => norm,
                Class::Foreign | Class::Metadata => continue,
            };
            self.kmsg_mode |= norm.kmsg;
            let kmsg = self.kmsg_mode;
            // rsyslog escapes the newlines of multi-line records as `#012`, kmsg as `\x0a`;
            // the pieces are lines of their own, with the record's timestamp.
            let pieces = norm.text.split("#012").flat_map(|p| p.split(if kmsg { "\\x0a" } else { "#012" }));
            for (i, piece) in pieces.enumerate() {
                self.feed(piece, norm.stamp, norm.prefixed || i > 0, &mut out);
            }
        }
        out
    }

    /// End of input: the held line and the open report. The parser stays usable, so a live
    /// reader (`/dev/kmsg`) can call this after a quiet spell to get the last report without
    /// waiting for the next line (a report still being printed would then come out split).
    pub fn finish(&mut self) -> Vec<Report> {
        let mut out = Vec::new();
        self.flush(&mut out);
        self.close(&mut out);
        out
    }

    fn feed(&mut self, text: &str, stamp: Option<Stamp<'_>>, prefixed: bool, out: &mut Vec<Report>) {
        if self.held.active && self.joins(text, prefixed) {
            self.held.text.push_str(text.trim_start());
            return;
        }
        self.flush(out);
        let held = &mut self.held;
        held.active = true;
        held.text.clear();
        held.text.push_str(text);
        held.has_stamp = stamp.is_some();
        if let Some(stamp) = stamp {
            stamp.write_to(&mut held.stamp);
        }
        held.prefixed = prefixed;
        held.line = self.line_no;
    }

    /// Whether `text` is the rest of the held line, cut by a mail client or forum: it has no
    /// prefix of its own, and either the held line ends in the space the wrap replaced, or the
    /// log is prefixed and this unindented piece is a token cut in two (`BIOS 1904 0` /
    /// `8/15/2011`). Lines that start a known line of their own never continue another.
    fn joins(&self, text: &str, prefixed: bool) -> bool {
        let t = text.trim();
        if prefixed || t.is_empty() || self.held.text.len() + text.len() > JOIN_CAP || starts_own_line(t) {
            return false;
        }
        self.held.text.ends_with([' ', '\t']) || (self.held.prefixed && !text.starts_with(char::is_whitespace))
    }

    fn flush(&mut self, out: &mut Vec<Report>) {
        if !self.held.active {
            return;
        }
        self.held.active = false;
        let text = std::mem::take(&mut self.held.text);
        let stamp = std::mem::take(&mut self.held.stamp);
        let line = self.held.line;
        self.process(&text, self.held.has_stamp.then_some(stamp.as_str()), line, out);
        self.held.text = text;
        self.held.stamp = stamp;
    }

    fn close(&mut self, out: &mut Vec<Report>) {
        if let Some(building) = self.current.take() {
            out.push(building.finish());
        }
    }

    /// One complete logical line.
    fn process(&mut self, text: &str, stamp: Option<&str>, line: usize, out: &mut Vec<Report>) {
        let t = text.trim();
        // These belong to the *next* header, whatever is open now.
        if let Some(n) = suppressed_count(t) {
            self.suppressed = Some((n, line));
        }
        if let Some(comm) = orphan_comm(text) {
            self.orphan_comm = Some((clip(comm, MAX_NAME), line));
        }
        if let Some(h) = header::detect(t) {
            let duplicate =
                self.current.as_ref().is_some_and(|b| b.since_header == 0 && b.header_key == clip(t, MAX_HEADER_KEY));
            if !duplicate {
                self.close(out);
                self.start(h, t, stamp, line);
            }
            return;
        }
        if let Some(building) = self.current.as_mut() {
            match building.feed(t) {
                Step::Continue => return,
                Step::Close => self.close(out),
            }
        }
        // A kill with no open OOM report: the dump was rate-limited away, the kill was not.
        if let Some(kill @ (OomLine::Killed(_) | OomLine::Selected(_))) = body::oom_line(t) {
            let mut report = Report::new(ReportKind::Oom, line);
            report.timestamp = stamp.map(str::to_string);
            let mut building = Building::new(report, String::new());
            building.apply_oom(kill);
            self.current = Some(building);
        }
    }

    fn start(&mut self, h: header::Header<'_>, t: &str, stamp: Option<&str>, line: usize) {
        let mut report = Report::new(h.kind, line);
        // Interleaved printk pieces can leave the comm on a line of its own just before.
        let orphan = self.orphan_comm.take().filter(|(_, at)| line.saturating_sub(*at) <= ORPHAN_WINDOW);
        report.comm = h.comm.map(|c| clip(c, MAX_NAME)).or(orphan.map(|(c, _)| c));
        report.stall_ms = h.stall_ms;
        report.timestamp = stamp.map(str::to_string);
        let suppressed = self.suppressed.take().filter(|(_, at)| line.saturating_sub(*at) <= SUPPRESSED_WINDOW);
        report.callbacks_suppressed = suppressed.map(|(n, _)| n);
        header::apply_fields(&mut report, h.tail);
        self.current = Some(Building::new(report, clip(t, MAX_HEADER_KEY)));
    }
}

/// Starts of lines that are never the wrapped tail of another.
fn starts_own_line(t: &str) -> bool {
    const STARTS: [&str; 14] = [
        "CPU: ",
        "Pid: ",
        "Call Trace:",
        "Call trace:",
        "Hardware name:",
        "Mem-Info:",
        "Node ",
        "[<",
        "<IRQ>",
        "<TASK>",
        "<EOI>",
        "Workqueue:",
        "oom-kill:",
        "Killed process",
    ];
    STARTS.iter().any(|s| t.starts_with(s)) || header::detect(t).is_some()
}

/// `warn_alloc: 25 callbacks suppressed` / `warn_alloc_failed: 83 callbacks suppressed`.
fn suppressed_count(t: &str) -> Option<u64> {
    let rest = t.strip_suffix(" callbacks suppressed")?;
    let (who, n) = rest.split_once(": ")?;
    (who == "warn_alloc" || who == "warn_alloc_failed").then(|| leading_u64(n).map(|(n, _)| n)).flatten()
}

/// `swapper/12: ` alone on a line: the `"%s: "` piece of a header whose rest another CPU's
/// output displaced. The trailing space tells it from `Mem-Info:`-style lines.
fn orphan_comm(text: &str) -> Option<&str> {
    let comm = text.strip_suffix(' ')?.trim().strip_suffix(':')?;
    let plausible = !comm.is_empty() && comm.len() <= 64 && !comm.contains(char::is_whitespace);
    plausible.then_some(comm)
}

/// `[  442]     0   442 …`: a row of the OOM task table.
fn is_task_table_row(t: &str) -> bool {
    let Some(inner) = t.strip_prefix('[') else { return false };
    let inner = inner.trim_start_matches(' ');
    let digits = prefix_len(inner, |b| b.is_ascii_digit());
    digits > 0 && inner.as_bytes().get(digits) == Some(&b']')
}

fn fill(slot: &mut Option<String>, val: String) {
    if slot.is_none() {
        *slot = Some(val);
    }
}

enum Step {
    Continue,
    Close,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trace {
    NotYet,
    In,
    Done,
}

/// The open report and what has been seen of its body.
#[derive(Clone)]
struct Building {
    report: Report,
    /// The header line, to recognise an immediate duplicate.
    header_key: String,
    since_header: usize,
    body_lines: usize,
    total_lines: usize,
    saw_task_line: bool,
    trace: Trace,
    saw_mem_info: bool,
    /// The OOM verdict has begun; only kill lines may follow.
    killing: bool,
    selected: Option<(u32, String)>,
    summary_victim: (Option<u32>, Option<String>),
    /// Pids already in `killed`: a group kill re-announces the victim, and a set keeps a
    /// flood of kill lines linear.
    killed_pids: FxHashSet<u32>,
}

impl Building {
    fn new(report: Report, header_key: String) -> Self {
        Building {
            report,
            header_key,
            since_header: 0,
            body_lines: 0,
            total_lines: 0,
            saw_task_line: false,
            trace: Trace::NotYet,
            saw_mem_info: false,
            killing: false,
            selected: None,
            summary_victim: (None, None),
            killed_pids: FxHashSet::default(),
        }
    }

    /// One trimmed body line. `Close` means the line belongs elsewhere (the caller closes the
    /// report and looks at the line again).
    fn feed(&mut self, t: &str) -> Step {
        if self.over_budget(t) {
            return Step::Close;
        }
        if t.is_empty() {
            return Step::Continue;
        }
        // A WARN or oops starting, or ending, is not part of this dump.
        if t.starts_with("------------[ cut here ]") || t.starts_with("---[ end trace") {
            return Step::Close;
        }
        let since = self.since_header;
        self.since_header += 1;
        if self.killing {
            return self.killing_line(t);
        }
        if since < CONTINUATION_WINDOW && header::is_continuation(t) {
            header::apply_fields(&mut self.report, t);
            return Step::Continue;
        }
        if let Some(task) = body::task_line(t) {
            return self.task_line(task);
        }
        if let Some(hw) = t.strip_prefix("Hardware name:") {
            self.report.hardware.get_or_insert_with(|| clip(hw.trim(), MAX_HEADER_KEY));
            return Step::Continue;
        }
        if let Some(step) = self.call_trace(t) {
            return step;
        }
        self.memory_line(t)
    }

    /// Counts the line; whether the report has now taken more lines than any real dump.
    fn over_budget(&mut self, t: &str) -> bool {
        self.total_lines += 1;
        if !is_task_table_row(t) {
            self.body_lines += 1;
        }
        self.body_lines > BODY_BUDGET || self.total_lines > HARD_BUDGET
    }

    /// After the OOM killer's `Killed process` line only its own lines belong here.
    fn killing_line(&mut self, t: &str) -> Step {
        match body::oom_line(t) {
            Some(line) => {
                self.apply_oom(line);
                Step::Continue
            }
            None => Step::Close,
        }
    }

    /// `Call Trace:` and its frames; `None` when the line is not part of the trace.
    fn call_trace(&mut self, t: &str) -> Option<Step> {
        if t.starts_with("Call Trace:") || t.starts_with("Call trace:") || t.starts_with("Backtrace:") {
            if self.trace != Trace::NotYet {
                return Some(Step::Close); // a second dump_stack (e.g. nf_conntrack's kmem_cache_create)
            }
            self.trace = Trace::In;
            return Some(Step::Continue);
        }
        if self.trace == Trace::In {
            match body::trace_line(t) {
                TraceLine::Frame(frame) => {
                    if self.report.frames.len() < MAX_FRAMES {
                        self.report.frames.push(frame);
                    }
                    return Some(Step::Continue);
                }
                TraceLine::Marker => return Some(Step::Continue),
                TraceLine::NotFrame => self.trace = Trace::Done,
            }
        }
        None
    }

    /// The memory state (`Mem-Info:`, zone and buddy lines) and OOM lines; anything else
    /// is noise inside the report.
    fn memory_line(&mut self, t: &str) -> Step {
        if t.starts_with("Mem-Info:") {
            if self.saw_mem_info {
                return Step::Close;
            }
            self.saw_mem_info = true;
            return Step::Continue;
        }
        if let Some(zone) = body::zone_line(t) {
            if self.report.zones.len() < MAX_ZONES {
                self.report.zones.push(zone);
            }
            return Step::Continue;
        }
        if let Some(buddy) = body::buddy_line(t) {
            self.merge_buddy(buddy);
            return Step::Continue;
        }
        if let Some(line) = body::oom_line(t) {
            if self.report.kind != ReportKind::Oom {
                // An OOM kill whose header was rate-limited: its own report.
                return match line {
                    OomLine::Killed(_) | OomLine::Selected(_) | OomLine::Summary(_) => Step::Close,
                    _ => Step::Continue,
                };
            }
            self.apply_oom(line);
            return Step::Continue;
        }
        // `c.out cpuset=/ mems_allowed=0` (4.10–4.17, and OOM headers up to 4.18).
        if t.contains("cpuset=") && t.contains("mems_allowed=") {
            header::apply_fields(&mut self.report, t);
        }
        Step::Continue
    }

    fn task_line(&mut self, task: body::TaskLine<'_>) -> Step {
        if self.saw_task_line {
            return Step::Close; // a second dump from the same or another task
        }
        // Under interleaving another CPU's task line can land here: take its pid only when
        // the comm agrees (or fills the gap), but the kernel release is the same for all.
        let ours = self.report.comm.as_deref().is_none_or(|c| c == task.comm);
        if ours {
            self.saw_task_line = true;
            self.report.comm.get_or_insert_with(|| clip(task.comm, MAX_NAME));
            self.report.pid = task.pid;
        }
        if self.report.kernel_release.is_none() {
            self.report.kernel_release = task.release.map(|r| clip(r, MAX_NAME));
        }
        Step::Continue
    }

    /// A buddy line completes the zone line of the same node and zone printed before it.
    fn merge_buddy(&mut self, buddy: body::Buddy<'_>) {
        let same_node = |a: Option<u32>, b: Option<u32>| a == b || a.is_none() || b.is_none();
        let zones = &mut self.report.zones;
        let waiting = zones.iter_mut().find(|z| {
            z.zone == buddy.zone && same_node(z.node, buddy.node) && z.blocks.is_empty() && z.buddy_total_kb.is_none()
        });
        if let Some(zone) = waiting {
            zone.blocks = buddy.blocks;
            zone.buddy_total_kb = buddy.total_kb;
            zone.node = zone.node.or(buddy.node);
        } else if zones.len() < MAX_ZONES {
            zones.push(ZoneLine {
                node: buddy.node,
                zone: buddy.zone.to_string(),
                free_kb: None,
                min_kb: None,
                low_kb: None,
                high_kb: None,
                blocks: buddy.blocks,
                buddy_total_kb: buddy.total_kb,
            });
        }
    }

    fn apply_oom(&mut self, line: OomLine) {
        let oom = self.report.oom.get_or_insert_with(Default::default);
        match line {
            OomLine::Killed(process) => {
                self.killing = true;
                if oom.killed.len() < MAX_KILLED && self.killed_pids.insert(process.0) {
                    oom.killed.push(process);
                }
            }
            OomLine::Selected(process) => {
                self.killing = true;
                self.selected.get_or_insert(process);
            }
            OomLine::Summary(pairs) => {
                for (key, val) in pairs {
                    match key.as_str() {
                        "constraint" => oom.constraint = Some(val),
                        "oom_memcg" => oom.oom_memcg = Some(val),
                        "task_memcg" => oom.task_memcg = Some(val),
                        "task" => self.summary_victim.1 = Some(val),
                        "pid" => self.summary_victim.0 = val.parse().ok(),
                        // The summary's cpuset is the invoking task's, like the header's.
                        "cpuset" => fill(&mut self.report.cpuset, val),
                        "mems_allowed" => fill(&mut self.report.mems_allowed, val),
                        "nodemask" => fill(&mut self.report.nodemask, val),
                        _ => {}
                    }
                }
            }
            OomLine::TaskIn { task_memcg, oom_memcg } => {
                oom.task_memcg.get_or_insert(task_memcg);
                oom.oom_memcg.get_or_insert(oom_memcg);
            }
            OomLine::Epilogue => {}
        }
    }

    fn finish(self) -> Report {
        let mut report = self.report;
        let reliable: Vec<String> = report.frames.iter().filter(|f| f.reliable).map(|f| f.function.clone()).collect();
        report.call_trace = if reliable.is_empty() {
            // Every frame `?` (no frame pointers): that is the only path there is.
            report.frames.iter().map(|f| f.function.clone()).collect()
        } else {
            reliable
        };
        if let Some(oom) = report.oom.as_mut() {
            let victim = match self.summary_victim {
                (None, None) => {
                    oom.killed.first().cloned().or(self.selected).map(|(pid, comm)| (Some(pid), Some(comm)))
                }
                summary => Some(summary),
            };
            if let Some((pid, comm)) = victim {
                oom.victim_pid = pid;
                oom.victim_comm = comm;
            }
        }
        report
    }
}
