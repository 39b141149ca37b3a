//! What fragtrace learns about the running kernel before loading: tracepoint layouts, the GFP
//! name table, pageblock order. A recording stores all of it so another machine can interpret
//! the events.

use serde::{Deserialize, Serialize};

use crate::{
    gfp::{GfpTable, print_fmt::constant_argument},
    host::{
        system,
        tracefs::{EventFormat, Tracefs, TracefsError, layout::{PageField, page_alloc_layout}},
    },
};

/// pageblock_order on x86_64 with 4 KiB pages: min(HPAGE_PMD_ORDER, MAX_ORDER - 1).
pub const DEFAULT_PAGEBLOCK_ORDER: u32 = 9;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInfo {
    pub release: String,
    pub page_alloc_format: EventFormat,
    pub extfrag_format: Option<EventFormat>,
    pub page_field: PageField,
    pub gfp: GfpTable,
    pub pageblock_order: u32,
    pub page_size: u64,
}

impl KernelInfo {
    pub fn discover(tracefs: &Tracefs) -> Result<Self, TracefsError> {
        let page_alloc_format = tracefs.event_format("kmem", "mm_page_alloc")?;
        let path = tracefs.event_dir("kmem", "mm_page_alloc").join("format");
        let (_, page_field) = page_alloc_layout(&page_alloc_format)
            .map_err(|e| TracefsError::Format(path.clone(), e))?;
        let gfp = GfpTable::from_page_alloc_format(&page_alloc_format)
            .map_err(|e| TracefsError::Format(path, e))?;
        let extfrag_format = match tracefs.event_format("kmem", "mm_page_alloc_extfrag") {
            Ok(f) => Some(f),
            Err(TracefsError::NoSuchEvent(..)) => None,
            Err(e) => return Err(e),
        };
        let pageblock_order = extfrag_format
            .as_ref()
            .and_then(|f| constant_argument(&f.print_fmt, "pageblock_order").ok())
            .map(|v| v as u32)
            .unwrap_or(DEFAULT_PAGEBLOCK_ORDER);
        Ok(Self {
            release: system::kernel_release(),
            page_alloc_format,
            extfrag_format,
            page_field,
            gfp,
            pageblock_order,
            page_size: system::page_size(),
        })
    }
}
