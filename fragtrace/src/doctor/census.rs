//! The doctor's pageblock census: `/proc/pagetypeinfo` read when sampling starts and when it
//! ends, so the report shows the census now and how it moved over the sampling window.

use std::fmt::Write;

use serde_json::Value;

use crate::{census::PageblockCensus, host::clock::monotonic_ns};

const PAGETYPEINFO: &str = "/proc/pagetypeinfo";

/// The census over the sampling window, or why there is none.
#[derive(Debug, Default)]
pub struct CensusWindow {
    pub census: PageblockCensus,
    /// Why the file could not be read (not root and no CAP_DAC_READ_SEARCH).
    pub error: Option<String>,
}

impl CensusWindow {
    /// Reads the first sample now.
    pub fn start() -> Self {
        let mut w = Self::default();
        w.sample();
        w
    }

    /// Reads another sample (the last one, when sampling ends).
    pub fn sample(&mut self) {
        match std::fs::read_to_string(PAGETYPEINFO) {
            Ok(text) => self.observe(monotonic_ns(), &text),
            Err(e) => self.error = Some(unreadable(&e)),
        }
    }

    pub fn observe(&mut self, ts_ns: u64, text: &str) {
        self.census.observe_text(ts_ns, Some(text));
    }

    /// The text section: the census, its growth over the window, and a warning per zone
    /// whose unmovable or reclaimable pageblocks grew.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.error {
            let _ = writeln!(out, "\nPAGEBLOCKS  {e}");
            return out;
        }
        crate::view::census::render(&mut out, &self.census.zones);
        for z in &self.census.zones {
            let total: u64 = z.last.counts.iter().map(|(_, n)| n).sum();
            let pinned = z.last.pinned();
            if total > 0 && pinned > 0 {
                let _ = writeln!(out, "  node {} {}: {pinned} of {total} pageblocks ({:.1}%) are unmovable or reclaimable", z.node, z.zone, pinned as f64 * 100.0 / total as f64);
            }
            let growth = z.pinned_growth();
            if growth > 0 {
                let _ = writeln!(
                    out,
                    "  ! node {} {}: {growth} more unmovable/reclaimable pageblocks within {:.0} s: allocations are falling back into movable pageblocks and keeping them (extfrag in `fragtrace top`); compaction cannot undo that",
                    z.node,
                    z.zone,
                    z.window_s()
                );
            }
        }
        out
    }

    /// `pageblocks` (the `report --json` shape) and `pageblocks_error` for `doctor --json`.
    pub fn to_json(&self) -> (Value, Value) {
        (self.census.to_json(), self.error.as_deref().map_or(Value::Null, |e| Value::String(e.to_string())))
    }
}

fn unreadable(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        format!("cannot read {PAGETYPEINFO}: {e} (mode 0400 since Linux 5.4: needs root or CAP_DAC_READ_SEARCH)")
    } else {
        format!("cannot read {PAGETYPEINFO}: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(u: u64, m: u64, r: u64) -> String {
        format!("Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \nNode 0, zone   Normal {u:>12} {m:>12} {r:>12}            0            0 \n")
    }

    #[test]
    fn says_how_much_is_pinned_and_warns_on_growth() {
        let mut w = CensusWindow::default();
        w.observe(0, &table(200, 7700, 100));
        w.observe(10_000_000_000, &table(204, 7694, 102));
        let text = w.render();
        assert!(text.contains("node 0 Normal: 306 of 8000 pageblocks (3.8%) are unmovable or reclaimable"), "{text}");
        assert!(text.contains("! node 0 Normal: 6 more unmovable/reclaimable pageblocks within 10 s"), "{text}");
        assert!(text.contains("+6 unmovable+reclaimable over 10 s, +2160.0/h"), "{text}");
        let (zones, error) = w.to_json();
        assert_eq!((zones[0]["unmovable_reclaimable"]["growth"].as_i64(), error), (Some(6), Value::Null));
    }

    #[test]
    fn no_growth_no_warning_and_unreadable_says_what_is_needed() {
        let mut w = CensusWindow::default();
        w.observe(0, &table(200, 7700, 100));
        w.observe(1, &table(200, 7700, 100));
        assert!(!w.render().contains('!'));
        let e = unreadable(&std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(e.ends_with("(mode 0400 since Linux 5.4: needs root or CAP_DAC_READ_SEARCH)"), "{e}");
        let w = CensusWindow { error: Some(e.clone()), ..Default::default() };
        assert_eq!(w.render(), format!("\nPAGEBLOCKS  {e}\n"));
    }
}
