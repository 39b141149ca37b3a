//! GFP name tables by kernel era, for hex masks pasted from logs of other kernels.
//!
//! A live event is decoded with the running kernel's own table (the format file's
//! `__print_flags`); a `mode:0x10c0d0` copied from a 3.10 or 4.9 report cannot be: bits moved
//! (4.4, 4.10, 4.15, 5.1), changed meaning (0x100000 was `__GFP_KMEMCG`, unused,
//! `__GFP_NOACCOUNT`, then `__GFP_ACCOUNT`), composites changed, and the print order changed.
//! [`Era::for_release`] picks the table from a `uname -r` string ([`Era::resolve`] also says
//! when a distribution build was decoded with an upstream table), [`decode_all`] shows every
//! reading when the kernel is unknown.
//!
//! Each era's table is that kernel's own flag-name list (`show_gfp_flags` in
//! `include/trace/events/gfpflags.h`, from 4.6 `__def_gfpflag_names` in `mmflags.h`), in its
//! order and spelling (2.6–4.5 print singles as `GFP_COMP`), transcribed from the kernel
//! sources cited in `tables/`; the transcriptions are kept in `testdata/gfp-names/` and the
//! tests decode against them. Decoding walks the list the way `trace_print_flags_seq` does:
//! an entry matches when all its bits are still set, and consumes them; bits no entry names
//! stay one hex remainder (`GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000` on RHEL 7.9, exactly what
//! that kernel prints). [`Era::unlisted`] says what such a remainder is when the kernel
//! defines the bit without listing it.
//!
//! Config-dependent bits (`__GFP_NOTRACK` before 4.15 on some kernels, `__GFP_NOLOCKDEP`,
//! `__GFP_SKIP_KASAN_*`, `__GFP_NO_OBJ_EXT`): the tables follow a typical distribution config,
//! where those entries are 0 and never print; their config-on bits are in the era's unlisted
//! names, so a remainder is still explained.

mod plausibility;
mod registry;
mod release;
mod resolve;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transcription_tests;

pub use plausibility::{EraGuess, EraReading, best_guess, rank, rank_all};
pub use registry::{Build, EraSpec};
pub use release::{Release, Vendor};

use serde::{Serialize, Serializer};

use super::{GfpName, GfpTable};
use registry::{ERAS, index};

/// One era: a row of the registry (`registry.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Era(u8);

/// An era chosen for a release, and why when the choice is not certain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EraMatch {
    pub era: Era,
    /// Set when the release is a distribution build decoded with an upstream table, an unknown
    /// RHEL 7 build, a version without the sublevel an era boundary needs, or newer than the
    /// newest table: `"RHEL 8 kernel 4.18.0-553.el8_10: decoded with upstream 4.18's table
    /// (4.18–5.0); RHEL backports may differ"`.
    pub note: Option<String>,
}

const fn all_eras() -> [Era; ERA_COUNT] {
    let mut out = [Era(0); ERA_COUNT];
    let mut i = 0;
    while i < ERA_COUNT {
        out[i] = Era(i as u8);
        i += 1;
    }
    out
}

const ERA_COUNT: usize = registry::COUNT;
const ALL_ERAS: [Era; ERA_COUNT] = all_eras();

impl Era {
    /// Oldest first.
    pub const ALL: &'static [Era] = &ALL_ERAS;
    /// Upstream 3.8–3.14 (`__GFP_KMEMCG`), the table RHEL 7 up to 7.7 also uses.
    pub const V3_10: Era = Era(index::V3_10);
    pub const V4_4: Era = Era(index::V4_4);
    pub const V4_10: Era = Era(index::V4_10);
    pub const V4_15: Era = Era(index::V4_15);
    /// 5.1–5.13.
    pub const V5_1: Era = Era(index::V5_1);
    /// The newest list fragtrace has.
    pub const NEWEST: Era = Era(index::NEWEST);

    pub fn spec(self) -> &'static EraSpec {
        &ERAS[usize::from(self.0)]
    }

    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// The layout family (`4.10–4.14`): eras of one family share bit values.
    pub fn family(self) -> &'static str {
        self.spec().family
    }

    /// This era's print list as a name table (a fresh copy; the entries are static data).
    pub fn table(self) -> GfpTable {
        to_table(self.spec().names.iter())
    }

    /// The print list followed by the names the kernel defines but does not list: for testing
    /// a flag by its bits (the known-causes catalogue), never for printing.
    pub fn lookup_table(self) -> GfpTable {
        let spec = self.spec();
        to_table(spec.names.iter().chain(spec.unlisted))
    }

    /// `mask` as this era's kernel printed it: the list walk, the hex remainder last, and the
    /// era's zero name (`GFP_NOWAIT` up to 4.5) for 0.
    pub fn decode(self, mask: u64) -> Vec<String> {
        if mask == 0 {
            return self.zero_name().map(str::to_string).into_iter().collect();
        }
        self.table().decode(mask)
    }

    /// What a mask of 0 printed, when it was a name (`GFP_NOWAIT`); `None` when it was `none`.
    pub fn zero_name(self) -> Option<&'static str> {
        Some(self.spec().zero).filter(|z| *z != "none")
    }

    /// Names the kernel defines but does not list, for the bits in `rest` (a decode's hex
    /// remainder): `[(0x100000, "__GFP_ACCOUNT")]` on RHEL 7.9.
    pub fn unlisted(self, rest: u64) -> Vec<(u64, &'static str)> {
        self.spec().unlisted.iter().filter(|(v, _)| *v != 0 && rest & v == *v).copied().collect()
    }

    /// The era of a kernel release string (`3.10.0-957.1.3.el7.x86_64`, `4.9.0-5-amd64`,
    /// `6.18.44-fc`); `None` when it does not start with `major.minor` or names a kernel older
    /// than 2.6.
    pub fn for_release(release: &str) -> Option<Era> {
        Self::resolve(release).map(|m| m.era)
    }

    /// [`Era::for_release`] with the note that says how sure the choice is (`resolve.rs`).
    pub fn resolve(release: &str) -> Option<EraMatch> {
        resolve::resolve(release)
    }

    /// The era with this label.
    pub fn by_label(label: &str) -> Option<Era> {
        Era::ALL.iter().copied().find(|e| e.label() == label)
    }
}

impl std::fmt::Debug for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Era({})", self.label())
    }
}

impl Serialize for Era {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

fn to_table<'a>(entries: impl Iterator<Item = &'a (u64, &'static str)>) -> GfpTable {
    GfpTable { names: entries.map(|&(value, name)| GfpName { value, name: name.to_string() }).collect() }
}

/// `mask` decoded in every era, oldest first: the names, and the bits no name covered (0 when
/// every bit was named). For `fragtrace gfp --all-eras` and for masks from an unknown kernel.
pub fn decode_all(mask: u64) -> Vec<(Era, Vec<String>, u64)> {
    Era::ALL
        .iter()
        .map(|&era| {
            let (names, leftover) = decode_split(&era.table(), mask);
            let names = if mask == 0 { era.decode(0) } else { names };
            (era, names, leftover)
        })
        .collect()
}

/// [`GfpTable::decode`] with the unknown remainder kept as a number instead of a hex string.
/// Same walk: entries in order, an entry matches when all its bits are still set, and then
/// consumes them.
fn decode_split(table: &GfpTable, mask: u64) -> (Vec<String>, u64) {
    let mut rest = mask;
    let mut names = Vec::new();
    for entry in &table.names {
        if entry.value != 0 && rest & entry.value == entry.value {
            rest &= !entry.value;
            names.push(entry.name.clone());
        }
    }
    (names, rest)
}

/// The config option a flag's bit depends on, for flags that have a bit only when it is on
/// (`__GFP_NOLOCKDEP` → `CONFIG_LOCKDEP`). `__GFP_NOTRACK` depended on CONFIG_KMEMCHECK only
/// before 3.x (2.6.32's gfp.h); later lists give it an unconditional bit.
pub fn config_of(era: Era, name: &str) -> Option<&'static str> {
    let name = name.trim_start_matches('_');
    match name {
        "GFP_NOLOCKDEP" => Some("CONFIG_LOCKDEP"),
        "GFP_SKIP_ZERO" | "GFP_SKIP_KASAN" | "GFP_SKIP_KASAN_POISON" | "GFP_SKIP_KASAN_UNPOISON" if era.spec().first >= (5, 18, 0) => Some("CONFIG_KASAN_HW_TAGS"),
        "GFP_NO_OBJ_EXT" => Some("CONFIG_SLAB_OBJ_EXT"),
        "GFP_NOTRACK" if era.spec().first < (2, 6, 38) => Some("CONFIG_KMEMCHECK"),
        _ => None,
    }
}

/// Composite names: never spelled with a leading `__`, so `__GFP_ATOMIC` must not fall back to
/// the composite `GFP_ATOMIC` in an era whose singles are spelled `GFP_X`.
const COMPOSITES: [&str; 14] = [
    "GFP_TRANSHUGE",
    "GFP_TRANSHUGE_LIGHT",
    "GFP_HIGHUSER_MOVABLE",
    "GFP_HIGHUSER",
    "GFP_USER",
    "GFP_TEMPORARY",
    "GFP_KERNEL_ACCOUNT",
    "GFP_KERNEL",
    "GFP_NOFS",
    "GFP_ATOMIC",
    "GFP_NOIO",
    "GFP_NOWAIT",
    "GFP_DMA",
    "GFP_DMA32",
];

/// The value of a flag or composite name in `era` (`GFP_KERNEL` in 4.9 → 0x24000c0), from its
/// list or the names it defines without listing. Both spellings of a single flag are accepted
/// (`GFP_COMP`, as 2.6–4.5 printed it, and `__GFP_COMP`).
pub fn value_in(era: Era, name: &str) -> Option<u64> {
    let spec = era.spec();
    let find = |n: &str| spec.names.iter().chain(spec.unlisted).find(|(v, e)| *e == n && *v != 0).map(|(v, _)| *v);
    if let Some(v) = find(name) {
        return Some(v);
    }
    let other = match name.strip_prefix("__") {
        Some(bare) => bare.to_string(),
        None => format!("__{name}"),
    };
    let is_composite = |n: &str| COMPOSITES.contains(&n.trim_start_matches('_'));
    if !name.starts_with("__") && !name.starts_with("GFP_") || is_composite(&other) {
        return None;
    }
    find(&other)
}
