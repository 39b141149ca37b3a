//! tracefs `format` files: the field table and the print_fmt, then what is derived from them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(format) = fragtrace::host::tracefs::format::EventFormat::parse(text) {
        let _ = fragtrace::host::tracefs::layout::page_alloc_layout(&format);
        let _ = fragtrace::host::tracefs::layout::extfrag_layout(&format);
        let _ = fragtrace::gfp::GfpTable::from_page_alloc_format(&format);
    }
});
