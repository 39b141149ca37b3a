//! The constant-expression evaluator behind `__print_flags` tables.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fragtrace::gfp::expr::evaluate(text);
    }
});
