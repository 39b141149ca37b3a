//! GFP name tables by kernel era, for hex masks pasted from logs of other kernels.
//!
//! A live event is decoded with the running kernel's own table (the format file's
//! `__print_flags`); a `mode:0x10c0d0` copied from a 3.10 or 4.9 report cannot be, because the
//! bit layout moved four times (4.4, 4.10, 4.15, 5.1). [`Era::for_release`] picks the table from
//! a `uname -r` string and [`decode_all`] shows every reading when the kernel is unknown.
//!
//! Each table lists composite names first, in the order that era's `show_gfp_flags` /
//! `__def_gfpflag_names` lists them, then the single `__GFP_` bits, so decoding with
//! [`GfpTable::decode`] consumes bits the way the kernel's `trace_print_flags_seq` does and the
//! result reads like the names the kernel prints next to the hex (from 4.6 on). Bits a table does
//! not name are not dropped: `GfpTable::decode` appends them as one hex remainder (`"0x200"`), and
//! [`decode_all`] returns them as a separate number.
//!
//! An era spans several releases whose layouts differ in details; the table follows one
//! representative release and `tables.rs` documents where the others differ.

mod plausibility;
mod tables;
#[cfg(test)]
mod tests;

pub use plausibility::{EraGuess, EraReading, best_guess, rank};

use serde::Serialize;

use super::{GfpName, GfpTable};

/// A range of kernel releases sharing one GFP bit layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Era {
    /// 2.6.x through 4.3: `__GFP_WAIT` = 0x10, GFP_KERNEL = 0xd0. Also RHEL7's 3.10, which kept
    /// this layout. The table follows 3.10 (`__GFP_KMEMCG` at 0x100000).
    #[serde(rename = "3.10")]
    V3_10,
    /// 4.4–4.9: reclaim split into DIRECT/KSWAPD bits, GFP_KERNEL = 0x24000c0.
    #[serde(rename = "4.4")]
    V4_4,
    /// 4.10–4.14: `__GFP_OTHER_NODE` gone, GFP_KERNEL = 0x14000c0.
    #[serde(rename = "4.10–4.14")]
    V4_10,
    /// 4.15–5.0: `__GFP_COLD` and `__GFP_NOTRACK` gone, GFP_KERNEL = 0x6000c0.
    #[serde(rename = "4.15–5.0")]
    V4_15,
    /// 5.1 onward: flags reshuffled so GFP_KERNEL = 0xcc0 fits an immediate.
    #[serde(rename = "5.1+")]
    V5_1,
}

impl Era {
    /// Oldest first.
    pub const ALL: [Era; 5] = [Era::V3_10, Era::V4_4, Era::V4_10, Era::V4_15, Era::V5_1];

    pub fn label(self) -> &'static str {
        match self {
            Era::V3_10 => "3.10",
            Era::V4_4 => "4.4",
            Era::V4_10 => "4.10–4.14",
            Era::V4_15 => "4.15–5.0",
            Era::V5_1 => "5.1+",
        }
    }

    /// The era of a kernel release string as `uname -r` or a log's banner prints it
    /// (`3.10.0-957.1.3.el7.x86_64`, `4.9.0-5-amd64`, `6.18.44-fc`). `None` when it does not start
    /// with `major.minor`, or names a kernel older than 2.6.
    ///
    /// Only the upstream version counts: vendor kernels keep their base's layout (RHEL7's
    /// 3.10.0-1160 still prints 0x10c0d0 for GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG).
    pub fn for_release(release: &str) -> Option<Era> {
        let release = release.trim();
        let release = release.strip_prefix('v').unwrap_or(release);
        let (major, rest) = leading_number(release)?;
        let (minor, _) = leading_number(rest.strip_prefix('.')?)?;
        let era = match (major, minor) {
            (0..=1, _) | (2, 0..=5) => return None,
            (2, _) | (3, _) | (4, 0..=3) => Era::V3_10,
            (4, 4..=9) => Era::V4_4,
            (4, 10..=14) => Era::V4_10,
            (4, _) | (5, 0) => Era::V4_15,
            _ => Era::V5_1,
        };
        Some(era)
    }

    /// This era's name table (a fresh copy; the entries are static data).
    pub fn table(self) -> GfpTable {
        let entries = match self {
            Era::V3_10 => tables::V3_10,
            Era::V4_4 => tables::V4_4,
            Era::V4_10 => tables::V4_10,
            Era::V4_15 => tables::V4_15,
            Era::V5_1 => tables::V5_1,
        };
        let names = entries.iter().map(|&(value, name)| GfpName { value, name: name.to_string() }).collect();
        GfpTable { names }
    }
}

/// The decimal number at the start of `s` and what follows it; `None` without a digit or when
/// it does not fit a `u32` (no release number is that long).
fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = s[..end].parse().ok()?;
    Some((number, &s[end..]))
}

/// `mask` decoded in every era, oldest first: the names, and the bits no name covered (0 when
/// every bit was named). For `fragtrace gfp --all-eras` and for masks from an unknown kernel.
pub fn decode_all(mask: u64) -> Vec<(Era, Vec<String>, u64)> {
    Era::ALL
        .iter()
        .map(|&era| {
            let (names, leftover) = decode_split(&era.table(), mask);
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

/// The value of a flag or composite name in `era` (`GFP_KERNEL` in 4.4 → 0x24000c0). Where a
/// composite changed value inside the era the table lists both and this returns the first,
/// the one with more bits (GFP_ATOMIC in 5.1+ → 0xa20, its value until 6.2).
///
/// 2.6–3.x kernels printed single flags without the leading `__` (`GFP_COMP`), so a name
/// that is not in the table is tried again with it.
pub fn value_in(era: Era, name: &str) -> Option<u64> {
    let table = era.table();
    table.value_of(name).or_else(|| {
        let single = format!("__{name}");
        if name.starts_with("GFP_") { table.value_of(&single) } else { None }
    })
}
