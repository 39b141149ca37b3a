//! From format files to the layouts the classic-tracepoint probes are given as globals.

use fragtrace_ebpf::{ExtfragLayout, PageAllocLayout};
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
