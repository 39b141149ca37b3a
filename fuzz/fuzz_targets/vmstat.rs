//! /proc/vmstat, and the debugfs extfrag index files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = fragtrace::host::procfs::vmstat::parse_vmstat(&text);
    let _ = fragtrace::host::procfs::vmstat::vmstat_rates(&parsed, &parsed, 1.0);
    let _ = fragtrace::probe::gate::pressure_sum(&parsed);
    let _ = fragtrace::host::procfs::debugfs::parse_index_file(&text);
});
