//! `fragtrace doctor` on this machine: the verdict's numbers and a measured `--apply compact`.

use fragtrace_tests::{cli::fragtrace, require_root};
use serde_json::Value;

#[test]
fn doctor_reports_every_zone_and_measures_compaction() {
    let _serial = require_root();
    let out = fragtrace().args(["doctor", "--duration", "1s", "--apply", "compact", "--json"]).output().expect("doctor");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let zones = doc["diagnosis"]["zones"].as_array().expect("zones");
    let buddyinfo = std::fs::read_to_string("/proc/buddyinfo").expect("buddyinfo");
    assert_eq!(zones.len(), buddyinfo.lines().count(), "one entry per node and zone");
    for z in zones {
        assert!(z["node"].is_u64() && z["zone"].is_string(), "{z}");
        for key in ["free_blocks", "unusable_index", "fragmentation_index"] {
            assert_eq!(z[key].as_array().map(Vec::len), Some(11), "{key} per order 0..10: {z}");
        }
        for v in z["unusable_index"].as_array().expect("unusable") {
            let v = v.as_f64().expect("number");
            assert!((0.0..=1.0).contains(&v), "{z}");
        }
        for v in z["fragmentation_index"].as_array().expect("fragmentation") {
            let v = v.as_f64().expect("number");
            assert!(v == -1.0 || (-1.0..=1.0).contains(&v), "the debugfs scale: {z}");
        }
        assert!(["healthy", "fragmented", "low memory"].contains(&z["state"].as_str().expect("state")));
    }
    assert!(!doc["diagnosis"]["findings"].as_array().expect("findings").is_empty());
    assert!(doc["diagnosis"]["pressure"]["seconds"].as_f64().expect("seconds") >= 1.0);
    let applied = &doc["applied"];
    assert_eq!(applied["remedy"], "Compact");
    assert!(applied["seconds"].as_f64().expect("seconds") > 0.0, "compaction was timed");
    for o in applied["orders"].as_array().expect("orders") {
        assert!(o["blocks_at_or_above_before"].is_u64() && o["blocks_at_or_above_after"].is_u64(), "measured, not assumed: {o}");
    }
    for z in applied["zones"].as_array().expect("zones") {
        assert_eq!(z["free_blocks_before"].as_array().map(Vec::len), Some(11));
        assert_eq!(z["free_blocks_after"].as_array().map(Vec::len), Some(11));
    }
    // Without --apply nothing is applied.
    let out = fragtrace().args(["doctor", "--duration", "1s", "--json"]).output().expect("doctor");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(doc["applied"].is_null());
    census_matches_pagetypeinfo(&doc);
    // The text report shows the census too.
    let out = fragtrace().args(["doctor", "--duration", "1s"]).output().expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PAGEBLOCKS per migratetype") && text.contains("unmovable+reclaimable over "), "{text}");
}

/// Root reads /proc/pagetypeinfo: one census entry per zone of its "Number of blocks type"
/// table, sampled at the start and the end of the 1 s window.
fn census_matches_pagetypeinfo(doc: &Value) {
    assert!(doc["pageblocks_error"].is_null(), "{doc}");
    let pti = fragtrace::host::procfs::parse_pagetypeinfo(&std::fs::read_to_string("/proc/pagetypeinfo").expect("root reads pagetypeinfo"));
    let census = doc["pageblocks"].as_array().expect("pageblocks");
    assert_eq!(census.len(), pti.pageblocks.len(), "{census:?}");
    for (z, row) in census.iter().zip(&pti.pageblocks) {
        assert_eq!((z["node"].as_u64(), z["zone"].as_str()), (Some(u64::from(row.node)), Some(row.zone.as_str())));
        let window = z["window_s"].as_f64().expect("window_s");
        assert!((0.9..30.0).contains(&window), "first and last sample span the 1 s window: {z}");
        let total = |s: &str| z[s]["blocks"].as_object().expect("blocks").values().map(|v| v.as_u64().expect("count")).sum::<u64>();
        let now: u64 = row.counts.iter().map(|(_, n)| n).sum();
        assert_eq!((total("first"), total("last")), (now, now), "a zone's pageblocks change type, not number: {z}");
        for (t, _) in &row.counts {
            assert!(z["growth"][t].is_i64() && z["growth_per_hour"][t].is_f64(), "{t}: {z}");
        }
    }
}
