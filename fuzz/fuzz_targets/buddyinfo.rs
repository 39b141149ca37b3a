//! /proc/buddyinfo, and the fragmentation indices computed from it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for zone in fragtrace::host::buddyinfo::parse(&text) {
        for order in 0..=12 {
            let _ = zone.indices(order);
        }
        let _ = zone.free_pages();
    }
});
