//! OCI bundle config.json annotations, and runc command lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fragtrace::identity::oci::pod_info_from_config(data);
    let _ = fragtrace::identity::oci::BundleFinder::from_runc_cmdline(data);
});
