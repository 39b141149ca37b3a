//! From format files to the layouts the classic-tracepoint probes are given as globals.

use fragtrace_ebpf::{ExtfragLayout, PageAllocLayout, StallLayout};
use serde::{Deserialize, Serialize};

use super::{EventFormat, FormatError};

/// How a kernel's `mm_page_alloc` says "no page".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageField {
    /// `unsigned long pfn`, `-1UL` on failure (4.1+).
    Pfn,
    /// `struct page *page`, NULL on failure (before 4.1).
    PagePointer,
}

pub fn page_alloc_layout(format: &EventFormat) -> Result<(PageAllocLayout, PageField), FormatError> {
    let (page, kind, failed_value) = match format.field("pfn") {
        Some(pfn) => (pfn, PageField::Pfn, u64::MAX),
        None => (format.require("page")?, PageField::PagePointer, 0),
    };
    expect_size(format, &page.name, page.size, &[8])?;
    let order = format.require("order")?;
    expect_size(format, "order", order.size, &[4])?;
    let gfp = format.require("gfp_flags")?;
    expect_size(format, "gfp_flags", gfp.size, &[4, 8])?;
    let migratetype = format.require("migratetype")?;
    expect_size(format, "migratetype", migratetype.size, &[4])?;
    Ok((
        PageAllocLayout {
            failed_value,
            page_offset: page.offset,
            order_offset: order.offset,
            gfp_offset: gfp.offset,
            gfp_size: gfp.size,
            migratetype_offset: migratetype.offset,
            _pad: 0,
        },
        kind,
    ))
}

pub fn extfrag_layout(format: &EventFormat) -> Result<ExtfragLayout, FormatError> {
    let int_field = |name: &str| -> Result<u32, FormatError> {
        let field = format.require(name)?;
        expect_size(format, name, field.size, &[4])?;
        Ok(field.offset)
    };
    let change_ownership_offset = match format.field("change_ownership") {
        Some(_) => int_field("change_ownership")?,
        None => ExtfragLayout::ABSENT,
    };
    Ok(ExtfragLayout {
        alloc_order_offset: int_field("alloc_order")?,
        fallback_order_offset: int_field("fallback_order")?,
        alloc_migratetype_offset: int_field("alloc_migratetype")?,
        fallback_migratetype_offset: int_field("fallback_migratetype")?,
        change_ownership_offset,
        _pad: 0,
    })
}

fn expect_size(format: &EventFormat, field: &str, size: u32, allowed: &[u32]) -> Result<(), FormatError> {
    if allowed.contains(&size) {
        Ok(())
    } else {
        Err(FormatError::UnsupportedSize {
            event: format.name.clone(),
            field: field.to_string(),
            size,
        })
    }
}

/// Offsets for the stall and OOM tracepoints; each part from its own format file (`None` when
/// that tracepoint does not exist on this kernel: the caller then does not attach it).
pub fn stall_layout(
    reclaim_begin: Option<&EventFormat>,
    reclaim_end: Option<&EventFormat>,
    mark_victim: Option<&EventFormat>,
    compact_try: Option<&EventFormat>,
    compact_end: Option<&EventFormat>,
) -> Result<StallLayout, FormatError> {
    let mut l = StallLayout { oom_comm_loc_offset: StallLayout::ABSENT, oom_anon_rss_offset: StallLayout::ABSENT, ..StallLayout::default() };
    if let Some(f) = reclaim_begin {
        let order = f.require("order")?;
        expect_size(f, "order", order.size, &[4])?;
        let gfp = f.require("gfp_flags")?;
        expect_size(f, "gfp_flags", gfp.size, &[4, 8])?;
        (l.reclaim_order_offset, l.reclaim_gfp_offset, l.reclaim_gfp_size) = (order.offset, gfp.offset, gfp.size);
    }
    if let Some(f) = reclaim_end {
        let nr = f.require("nr_reclaimed")?;
        expect_size(f, "nr_reclaimed", nr.size, &[8])?;
        l.reclaim_nr_offset = nr.offset;
    }
    if let Some(f) = compact_try {
        let order = f.require("order")?;
        expect_size(f, "order", order.size, &[4])?;
        let gfp = f.require("gfp_mask")?;
        expect_size(f, "gfp_mask", gfp.size, &[4, 8])?;
        (l.compact_order_offset, l.compact_gfp_offset, l.compact_gfp_size) = (order.offset, gfp.offset, gfp.size);
    }
    if let Some(f) = compact_end {
        let status = f.require("status")?;
        expect_size(f, "status", status.size, &[4])?;
        l.compact_status_offset = status.offset;
    }
    if let Some(f) = mark_victim {
        let pid = f.require("pid")?;
        expect_size(f, "pid", pid.size, &[4])?;
        l.oom_pid_offset = pid.offset;
        // Newer kernels (≥ ~6.1) add the victim's comm and memory; older ones only the pid.
        if let Some(comm) = f.field("comm").filter(|c| c.c_type.contains("__data_loc") && c.size == 4) {
            l.oom_comm_loc_offset = comm.offset;
        }
        if let Some(rss) = f.field("anon_rss").filter(|r| r.size == 8) {
            l.oom_anon_rss_offset = rss.offset;
        }
    }
    Ok(l)
}
