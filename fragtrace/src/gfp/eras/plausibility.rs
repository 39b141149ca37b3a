//! Which era's reading of a mask is plausible, for masks from a kernel nobody named.
//!
//! Every era decodes every mask, but in the wrong era a real mask turns into combinations the
//! kernel never builds. Each reading starts at 100 and loses points per objection:
//!
//! - bits the era has no name for (−40): beyond its width, or unused;
//! - `__GFP_NOFAIL` with `__GFP_NORETRY` or `__GFP_RETRY_MAYFAIL` (−50): "must not fail" with
//!   "may fail early"; the allocator warns about it and callers never ask for it;
//! - `__GFP_MOVABLE` with `__GFP_RECLAIMABLE` (−40): both migratetype bits, which
//!   `gfp_migratetype()` treats as a bug (`GFP_MOVABLE_MASK`);
//! - more than one zone modifier among `__GFP_DMA`, `__GFP_HIGHMEM`, `__GFP_DMA32` (−40):
//!   `GFP_ZONE_BAD`;
//! - `__GFP_ATOMIC` with direct reclaim (−30): "cannot sleep" with "may sleep to reclaim";
//! - `__GFP_IO`/`__GFP_FS` without direct reclaim (`__GFP_WAIT` before 4.4) (−15): they only
//!   say what direct reclaim may do, so masks built from GFP_KERNEL keep them together; rare
//!   callers do strip reclaim alone, hence the small weight;
//! - a report header that printed only hex (−20 for the 4.10+ eras): kernels print the names
//!   next to the mask from 4.6 on, so a hex-only header comes from an older kernel.
//!
//! The best reading is a guess, and says so: `likely` when it is the only reading without
//! objections, `weak` otherwise.
//!
//! Readings are ranked by layout family (`2.6–4.3`, `4.4–4.9`, …), one reading per family:
//! eras of one family share bit values and differ in a name or the print order, which the mask
//! alone cannot tell apart, so ranking each era would print a dozen near-identical readings.
//! A family is represented by its best-scoring upstream era; on a tie, the one whose list
//! names more of the mask (a smaller hex remainder), then the oldest.

use serde::Serialize;

use super::{Era, decode_split, value_in};

/// One era's reading of a mask and what speaks against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EraReading {
    pub era: Era,
    pub flags: Vec<String>,
    pub unknown_bits: u64,
    pub score: i32,
    pub objections: Vec<String>,
}

/// The most plausible era for a mask from an unknown kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EraGuess {
    pub era: &'static str,
    /// The layout family the guess stands for (`4.10–4.14`).
    pub family: &'static str,
    pub flags: Vec<String>,
    pub score: i32,
    /// `likely`: the only reading without objections; `weak`: others are as plausible or it
    /// has objections itself.
    pub confidence: &'static str,
    pub reason: String,
    #[serde(skip)]
    pub era_value: Era,
}

fn has(era: Era, mask: u64, name: &str) -> bool {
    value_in(era, name).is_some_and(|v| v != 0 && mask & v == v)
}

/// Bits of `mask` that neither the era's list nor its unlisted names know.
fn unnamed_bits(era: Era, mask: u64) -> u64 {
    let spec = era.spec();
    let known = spec.names.iter().chain(spec.unlisted).fold(0u64, |acc, (v, _)| acc | v);
    mask & !known
}

fn objections(era: Era, mask: u64, unknown_bits: u64, hex_only: bool) -> Vec<(i32, String)> {
    let set = |name: &str| has(era, mask, name);
    let mut out = Vec::new();
    if unknown_bits != 0 {
        out.push((40, format!("bits {unknown_bits:#x} have no name in this era")));
    }
    if set("__GFP_NOFAIL") && (set("__GFP_NORETRY") || set("__GFP_RETRY_MAYFAIL")) {
        out.push((50, "__GFP_NOFAIL with __GFP_NORETRY/__GFP_RETRY_MAYFAIL cannot happen".into()));
    }
    if set("__GFP_MOVABLE") && set("__GFP_RECLAIMABLE") {
        out.push((40, "both migratetype bits (__GFP_MOVABLE and __GFP_RECLAIMABLE)".into()));
    }
    if ["__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32"].iter().filter(|z| set(z)).count() > 1 {
        out.push((40, "more than one zone modifier (GFP_ZONE_BAD)".into()));
    }
    let reclaim = if value_in(era, "__GFP_WAIT").is_some() { "__GFP_WAIT" } else { "__GFP_DIRECT_RECLAIM" };
    if set("__GFP_ATOMIC") && set(reclaim) {
        out.push((30, "__GFP_ATOMIC with direct reclaim".into()));
    }
    if (set("__GFP_IO") || set("__GFP_FS")) && !set(reclaim) {
        out.push((15, format!("__GFP_IO/__GFP_FS without {reclaim}")));
    }
    if hex_only && era.spec().first >= (4, 6, 0) {
        out.push((20, "kernels of this era print the flag names next to the mask".into()));
    }
    out
}

/// Every era's reading of `mask`, oldest era first. `hex_only`: the mask comes from a report
/// header that printed no flag names.
pub fn rank_all(mask: u64, hex_only: bool) -> Vec<EraReading> {
    Era::ALL
        .iter()
        .map(|&era| {
            let (flags, rest) = decode_split(&era.table(), mask);
            let found = objections(era, mask, unnamed_bits(era, mask), hex_only);
            let score = 100 - found.iter().map(|(w, _)| w).sum::<i32>();
            EraReading { era, flags, unknown_bits: rest, score, objections: found.into_iter().map(|(_, o)| o).collect() }
        })
        .collect()
}

/// `a` represents its family better than `b` (`a` is the newer era).
fn better(a: &EraReading, b: &EraReading) -> bool {
    let upstream = a.era.spec().build == super::Build::Upstream;
    let remainder = |r: &EraReading| r.unknown_bits.count_ones();
    upstream && (a.score > b.score || (a.score == b.score && remainder(a) < remainder(b)))
}

/// One reading per layout family, most plausible first (ties: oldest family first).
pub fn rank(mask: u64, hex_only: bool) -> Vec<EraReading> {
    let mut best: Vec<EraReading> = Vec::new();
    for reading in rank_all(mask, hex_only) {
        match best.iter_mut().find(|b| b.era.family() == reading.era.family()) {
            Some(b) if better(&reading, b) => *b = reading,
            Some(_) => {}
            None => best.push(reading),
        }
    }
    best.sort_by_key(|r| std::cmp::Reverse(r.score));
    best
}

/// The best reading of `mask` as a guess; `None` for 0 (nothing to read).
pub fn best_guess(mask: u64, hex_only: bool) -> Option<EraGuess> {
    if mask == 0 {
        return None;
    }
    let ranked = rank(mask, hex_only);
    let best = ranked.first()?;
    let clean = |r: &EraReading| r.objections.is_empty();
    let alone = clean(best) && ranked.iter().skip(1).all(|r| !clean(r));
    let rivals: Vec<&str> = ranked.iter().skip(1).filter(|r| r.score == best.score).map(|r| r.era.label()).collect();
    let reason = if alone {
        let others: Vec<String> = ranked.iter().skip(1).map(|r| format!("{}: {}", r.era.label(), r.objections.join("; "))).collect();
        format!("the only era without contradictions ({})", others.join(" · "))
    } else if !rivals.is_empty() {
        format!("as plausible as {} (score {})", rivals.join(", "), best.score)
    } else {
        format!("highest score {} of 100: {}", best.score, best.objections.join("; "))
    };
    Some(EraGuess {
        era: best.era.label(),
        family: best.era.family(),
        flags: best.flags.iter().cloned().chain((best.unknown_bits != 0).then(|| format!("{:#x}", best.unknown_bits))).collect(),
        score: best.score,
        confidence: if alone { "likely" } else { "weak" },
        reason,
        era_value: best.era,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tke_runc_mask_is_most_plausibly_3_10() {
        // mode:0x10c0d0 from the TKE doc's one-liners (fixture 39), which name no kernel.
        let guess = best_guess(0x10c0d0, true).expect("guess");
        assert_eq!((guess.era, guess.family, guess.confidence), ("3.8–3.14", "2.6–4.3", "likely"), "{guess:?}");
        assert_eq!(guess.flags, ["GFP_KERNEL", "GFP_COMP", "GFP_ZERO", "GFP_KMEMCG"]);
        let five = rank(0x10c0d0, false).into_iter().find(|r| r.era.family() == "5.1+").expect("5.1+");
        assert!(five.objections.iter().any(|o| o.contains("__GFP_NOFAIL")), "{five:?}");
    }

    #[test]
    fn modern_masks_are_read_in_the_modern_era() {
        // 0x40cc0 (GFP_KERNEL|__GFP_COMP, fixture 29) and 0xcc0 (GFP_KERNEL, fixture 17).
        for mask in [0x40cc0, 0xcc0, 0x40dc0] {
            let guess = best_guess(mask, false).expect("guess");
            assert_eq!(guess.family, "5.1+", "{mask:#x}: {guess:?}");
        }
        // 4.4–4.9's GFP_ATOMIC (fixture 23): the 4.4 family reads it best.
        assert_eq!(best_guess(0x2080020, false).map(|g| g.family), Some("4.4–4.9"));
    }

    #[test]
    fn an_ambiguous_mask_is_a_weak_guess() {
        // 0x20: GFP_ATOMIC before 4.4, __GFP_HIGH alone after: nothing contradicts either.
        let guess = best_guess(0x20, true).expect("guess");
        assert_eq!(guess.confidence, "weak", "{guess:?}");
        assert_eq!(best_guess(0, false), None);
    }
}
