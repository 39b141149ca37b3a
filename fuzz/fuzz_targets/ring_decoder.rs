//! Ring-buffer records as the probes write them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fragtrace::decode::decode_record(data);
});
