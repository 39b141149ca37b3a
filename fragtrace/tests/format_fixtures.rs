//! Format-file parsing, classic-probe layouts and GFP decoding across kernel layouts.

use std::path::PathBuf;

use fragtrace::{
    gfp::{GfpTable, print_fmt::constant_argument},
    host::tracefs::{EventFormat, layout::{PageField, extfrag_layout, page_alloc_layout}},
};

fn fixture(name: &str) -> EventFormat {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/format").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    EventFormat::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn linux_6_18_layout_and_gfp_table() {
    let format = fixture("6.18-mm_page_alloc");
    assert_eq!((format.name.as_str(), format.id), ("mm_page_alloc", 653));
    let (layout, field) = page_alloc_layout(&format).unwrap();
    assert_eq!(field, PageField::Pfn);
    assert_eq!(
        (layout.failed_value, layout.page_offset, layout.order_offset, layout.gfp_offset, layout.gfp_size, layout.migratetype_offset),
        (u64::MAX, 8, 16, 24, 8, 32)
    );
    let gfp = GfpTable::from_page_alloc_format(&format).unwrap();
    assert_eq!(gfp.names.len(), 38, "13 composites, __GFP_RECLAIM and 24 single bits");
    assert_eq!(gfp.names[0].name, "GFP_TRANSHUGE");
    assert_eq!(gfp.value_of("GFP_KERNEL"), Some(0xcc0));
    assert_eq!(gfp.value_of("GFP_KERNEL_ACCOUNT"), Some(0x400cc0));
    assert_eq!(gfp.value_of("GFP_ATOMIC"), Some(0x820));
    assert_eq!(gfp.value_of("GFP_HIGHUSER_MOVABLE"), Some(0x100cca));
    assert_eq!(gfp.value_of("__GFP_NOWARN"), Some(0x2000));
    assert_eq!(gfp.value_of("__GFP_ACCOUNT"), Some(0x400000));
    // GFP_TRANSHUGE_LIGHT = GFP_HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN, minus RECLAIM.
    assert_eq!(gfp.value_of("GFP_TRANSHUGE_LIGHT"), Some((0x100cca | 0x40000 | 0x80000 | 0x2000) & !0xc00));
    // KERNEL-FACTS' worked example, in the kernel's table order.
    assert_eq!(gfp.decode(0x442dc0), ["GFP_KERNEL_ACCOUNT", "__GFP_ZERO", "__GFP_NOWARN", "__GFP_COMP"]);
    assert_eq!(gfp.decode_joined(0), "none");
    assert_eq!(gfp.decode(0x8000_0000_0000_0000 | 0xcc0), ["GFP_KERNEL", "0x8000000000000000"]);
}

#[test]
fn linux_6_18_extfrag_layout_and_pageblock_order() {
    let format = fixture("6.18-mm_page_alloc_extfrag");
    let layout = extfrag_layout(&format).unwrap();
    assert_eq!(
        (layout.alloc_order_offset, layout.fallback_order_offset, layout.alloc_migratetype_offset, layout.fallback_migratetype_offset, layout.change_ownership_offset),
        (16, 20, 24, 28, 32)
    );
    assert_eq!(constant_argument(&format.print_fmt, "pageblock_order").unwrap(), 9);
}

#[test]
fn linux_4_14_four_byte_gfp() {
    let format = fixture("4.14-mm_page_alloc");
    let (layout, field) = page_alloc_layout(&format).unwrap();
    assert_eq!(field, PageField::Pfn);
    assert_eq!((layout.failed_value, layout.gfp_offset, layout.gfp_size, layout.migratetype_offset), (u64::MAX, 20, 4, 24));
    let gfp = GfpTable::from_page_alloc_format(&format).unwrap();
    assert_eq!(gfp.value_of("GFP_KERNEL"), Some(0x14000c0));
    assert_eq!(gfp.value_of("GFP_ATOMIC"), Some(0x1080020));
    assert_eq!(gfp.decode(0x15000c0 | 0x200 | 0x4000), ["GFP_KERNEL_ACCOUNT", "__GFP_NOWARN", "__GFP_COMP"]);
}

#[test]
fn linux_3_10_page_pointer() {
    let format = fixture("3.10-mm_page_alloc");
    let (layout, field) = page_alloc_layout(&format).unwrap();
    assert_eq!(field, PageField::PagePointer);
    assert_eq!((layout.failed_value, layout.page_offset, layout.gfp_offset, layout.gfp_size), (0, 8, 20, 4));
    let gfp = GfpTable::from_page_alloc_format(&format).unwrap();
    assert_eq!(gfp.value_of("GFP_HIGHUSER_MOVABLE"), Some(0x200da));
    // The runbook's `mysqld: page allocation failure. order:4, mode:0x10c0d0`.
    assert_eq!(gfp.decode(0x10c0d0), ["GFP_KERNEL", "GFP_COMP", "GFP_ZERO", "GFP_KMEMCG"]);
}

#[test]
fn missing_fields_are_named() {
    let mut format = fixture("6.18-mm_page_alloc");
    format.fields.retain(|f| f.name != "migratetype");
    let err = page_alloc_layout(&format).unwrap_err().to_string();
    assert!(err.contains("migratetype") && err.contains("mm_page_alloc"), "{err}");
    format.fields.retain(|f| f.name != "pfn");
    assert!(page_alloc_layout(&format).unwrap_err().to_string().contains("page"));
}
