//! cgroup paths: runtime, QoS, pod UID and container id.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        let _ = fragtrace::identity::path::parse_cgroup_path(path);
    }
});
