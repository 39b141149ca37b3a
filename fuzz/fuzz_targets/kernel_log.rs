//! Kernel logs of any era: page allocation failure and OOM reports, then their verdicts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for report in fragtrace::kernel_log::parse::parse(&text) {
        let analysis = fragtrace::kernel_log::analyze::analyze(report, &fragtrace::kernel_log::analyze::EraChoice::Auto { fallback: None });
        let _ = analysis.to_json();
    }
});
