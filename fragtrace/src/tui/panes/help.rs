//! The `?` overlay: every key, and how to read the panes.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::Line,
    widgets::{Clear, Paragraph, Widget, Wrap},
};

use super::block;
use crate::tui::screen::Screen;

const HELP: &[&str] = &[
    "q Ctrl-C  quit                  p  pause (counting goes on)",
    "r         reset the counts      ?  this help (Esc closes)",
    "g         group failures: process/order/flags, cgroup, stack",
    "s         sort: count, rate, last seen, order",
    "/         filter rows by text (Enter applies, Esc clears)",
    "↑↓ j k    select a row          Enter  its kernel stacks",
    "o / O     zone indices: next order / automatic",
    "",
    "Failures: allocations the page allocator could not satisfy",
    "  (kmem:mm_page_alloc). silent = __GFP_NOWARN: never in dmesg.",
    "Extfrag: allocations that took a block of another migratetype;",
    "  fragmenting: the block was smaller than a pageblock;",
    "  severe: its order was 3 or less.",
    "Zones: free blocks per order: · none ▂ <10 ▄ <100 ▆ <1000 █ more",
    "  UNUSABLE: share of free memory in blocks too small for the",
    "  order (1.000 = none usable).",
    "  FRAG: fragmentation index when no block is big enough:",
    "  near 0 = out of memory, near 1 = fragmented (the kernel",
    "  compacts above vm.extfrag_threshold, default 500).",
];

pub fn render(_screen: &Screen, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let lines: Vec<Line<'_>> = HELP.iter().map(|l| Line::raw(*l)).collect();
    Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Help — Esc closes")).render(area, buf);
}
