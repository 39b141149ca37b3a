//! Whole trace files: header, blocks (with resync after damage), replay into the aggregator.
#![no_main]
use fragtrace::{aggregate::Aggregator, record::{ReplayOptions, open_all, replay}};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader works on files; tmpfs keeps this cheap.
    let dir = std::env::temp_dir();
    let path = dir.join(format!("fragtrace-fuzz-{}.ftr", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(recording) = open_all(&[path.clone()]) {
        let mut aggregator = Aggregator::new(9, 0x2000, false);
        let _ = replay(&recording, &ReplayOptions::default(), &mut [&mut aggregator]);
        let _ = aggregator.snapshot();
    }
    let _ = std::fs::remove_file(&path);
});
