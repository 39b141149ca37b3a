//! Stalls (direct reclaim, memory-cgroup reclaim, direct compaction: latency per order) and
//! OOM kills. A probe this kernel lacks is named as not collected, never shown as zeros.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Modifier, Style},
    text::Line,
    widgets::{Paragraph, Widget},
};

use super::{DIM, WARN, block, compact};
use crate::tui::screen::Screen;

fn kind_name(kind: crate::event::StallKind) -> &'static str {
    match kind {
        crate::event::StallKind::Reclaim => "reclaim",
        crate::event::StallKind::MemcgReclaim => "memcg",
        crate::event::StallKind::Compaction => "compact",
    }
}

/// Milliseconds for long stalls, microseconds for short ones.
fn dur(us: u64) -> String {
    if us >= 10_000 { format!("{}ms", us / 1000) } else { format!("{us}µs") }
}

fn stall_lines(screen: &Screen, height: usize) -> Vec<Line<'static>> {
    let s = &screen.snapshot;
    let missing: Vec<&str> = match &screen.collected {
        Some(c) => ["reclaim", "memcg-reclaim", "compaction"].into_iter().filter(|k| !c.iter().any(|x| x == k)).collect(),
        None => Vec::new(),
    };
    let mut lines = Vec::new();
    if s.stalls.is_empty() {
        let text = match &screen.collected {
            Some(c) if !c.iter().any(|x| x != "oom") => "not yet collected (no stall probes on this kernel)".to_string(),
            Some(_) => "no task stalled in reclaim or compaction".to_string(),
            None => "no stalls in this recording".to_string(),
        };
        lines.push(Line::styled(text, DIM));
    } else {
        lines.push(Line::styled(format!("{:<7}{:>3}{:>6}{:>7}{:>7}{:>7}", "", "ord", "count", "p50", "p99", "max"), Style::new().add_modifier(Modifier::BOLD)));
        for st in s.stalls.iter().take(height.saturating_sub(2).max(1)) {
            let text = format!("{:<7}{:>3}{:>6}{:>7}{:>7}{:>7}", kind_name(st.kind), st.order, compact(st.count), dur(st.p50_us), dur(st.p99_us), dur(st.max_us));
            lines.push(if st.max_us >= 100_000 { Line::styled(text, WARN) } else { Line::raw(text) });
        }
    }
    if !missing.is_empty() {
        lines.push(Line::styled(format!("not collected: {}", missing.join(", ")), DIM));
    }
    lines
}

fn oom_lines(screen: &Screen) -> Vec<Line<'static>> {
    let s = &screen.snapshot;
    if s.oom_total == 0 {
        let text = match &screen.collected {
            Some(c) if !c.iter().any(|x| x == "oom") => "not yet collected (no oom:mark_victim)",
            _ => "none",
        };
        return vec![Line::styled(text, DIM)];
    }
    let mut lines = vec![Line::styled(format!("{} kills", s.oom_total), WARN)];
    for o in s.ooms.iter().rev() {
        lines.push(Line::raw(format!("{} {} {}M {}", o.victim_comm, o.victim_pid, o.anon_rss_kb / 1024, screen.ago(o.ts_ns))));
    }
    lines
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    if area.height < 3 {
        let s = &screen.snapshot;
        let stalls: u64 = s.stalls.iter().map(|x| x.count).sum();
        let worst = s.stalls.iter().map(|x| x.max_us).max().unwrap_or(0);
        let text = match &screen.collected {
            Some(c) if c.is_empty() => "Stalls: not yet collected · OOM kills: not yet collected".to_string(),
            _ => format!("Stalls: {} (max {}) · OOM kills: {}", compact(stalls), dur(worst), s.oom_total),
        };
        Paragraph::new(Line::styled(text, if s.oom_total > 0 { WARN } else { DIM })).render(area, buf);
        return;
    }
    let [stalls, oom] = Layout::horizontal([Constraint::Max(40), Constraint::Fill(1)]).areas(area);
    Paragraph::new(stall_lines(screen, stalls.height as usize)).block(block("Stalls")).render(stalls, buf);
    Paragraph::new(oom_lines(screen)).block(block("OOM kills")).render(oom, buf);
}
