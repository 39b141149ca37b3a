//! /proc/pagetypeinfo.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fragtrace::host::procfs::pagetypeinfo::parse_pagetypeinfo(&String::from_utf8_lossy(data));
});
