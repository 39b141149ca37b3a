//! The records inside one (decompressed) block of a trace file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for record in fragtrace::record::records::BlockDecoder::new(data) {
        if record.is_err() {
            break;
        }
    }
});
