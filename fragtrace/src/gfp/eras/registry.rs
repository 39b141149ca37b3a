//! The eras, as data: one [`EraSpec`] per span of releases whose kernels print the same GFP
//! flag-name list, oldest first. Adding an era is adding a row (and its table in `tables/`).
//!
//! Upstream eras cover every release from 2.6.0 on without gaps (a test checks it); a
//! distribution row (RHEL 7 by build number) is chosen before the upstream rows when the
//! release names that distribution.

use super::tables::{self, Entries};

/// What selects an era besides its upstream version range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Any kernel whose version falls in the range (vendor kernels get a note).
    Upstream,
    /// RHEL 7 (`3.10.0-N.…el7`) with N in this inclusive range of build numbers.
    Rhel7(u32, u32),
}

pub struct EraSpec {
    /// Shown to people and in JSON: `4.14.0–4.14.x`, `RHEL 7.8+ (3.10.0-1127+)`.
    pub label: &'static str,
    /// Eras whose bit layout is the same, differing only in names or order: the plausibility
    /// guesser ranks families, not every era (see plausibility.rs).
    pub family: &'static str,
    /// Inclusive `(major, minor, patch)` range of upstream releases.
    pub first: (u32, u32, u32),
    pub last: (u32, u32, u32),
    pub build: Build,
    /// The kernel's own list, in its order and spelling, with the values a typical distribution
    /// config gives (0 for an entry whose config option is off: it never prints).
    pub names: Entries,
    /// Names the kernel defines but does not list (`__GFP_FS` before 4.6, `__GFP_ACCOUNT` on
    /// RHEL 7.8, config-dependent bits): never printed, but looked up by name and used to say
    /// what a hex remainder is.
    pub unlisted: Entries,
    /// What the kernel printed for a mask of 0.
    pub zero: &'static str,
    /// The release the table was transcribed from (its full citation is in the table's comment).
    pub source: &'static str,
}

const MAX: u32 = u32::MAX;

macro_rules! era {
    ($label:expr, $family:expr, $first:expr, $last:expr, $build:expr, $names:expr, $unlisted:expr, $zero:expr, $source:expr) => {
        EraSpec { label: $label, family: $family, first: $first, last: $last, build: $build, names: $names, unlisted: $unlisted, zero: $zero, source: $source }
    };
}

use Build::{Rhel7, Upstream};
use tables::{rhel7, unlisted as un, v2_6, v4_4, v4_10, v4_15, v5, v6};

const OLD: &str = "2.6–4.3";
const V4_4: &str = "4.4–4.9";
const V4_10: &str = "4.10–4.15";
const V4_16: &str = "4.16–5.0";
const V5_1: &str = "5.1+";

/// Every era, oldest first; distribution rows next to the upstream era they derive from.
/// Boundaries the transcriptions could not pin are in `resolve.rs` (`UNCERTAIN`).
pub static ERAS: [EraSpec; COUNT] = [
    era!("2.6.x–2.6.37", OLD, (2, 6, 0), (2, 6, 37), Upstream, v2_6::V2_6_32, un::V2_6_32, "GFP_NOWAIT", "2.6.32"),
    // No 2.6.38–3.7 tree was read: 3.18's list (a superset of 2.6.32's, same bit values) is
    // assumed, with 0x100000 unused as in 3.18.
    era!("2.6.38–3.7", OLD, (2, 6, 38), (3, 7, MAX), Upstream, v2_6::V3_18, un::PRE_4_4, "GFP_NOWAIT", "3.18.63"),
    era!("3.8–3.14", OLD, (3, 8, 0), (3, 14, MAX), Upstream, v2_6::V3_10, un::PRE_4_4_KMEMCG, "GFP_NOWAIT", "3.10.108"),
    era!("RHEL 7.0–7.7 (3.10.0-123…1062)", OLD, (3, 10, 0), (3, 10, 0), Rhel7(0, 1126), v2_6::V3_10, un::PRE_4_4_KMEMCG, "GFP_NOWAIT", "3.10.0-1062.el7"),
    era!("RHEL 7.8+ (3.10.0-1127+)", OLD, (3, 10, 0), (3, 10, 0), Rhel7(1127, MAX), rhel7::RHEL7_1160, un::RHEL7_ACCOUNT, "GFP_NOWAIT", "3.10.0-1160.el7"),
    era!("3.15–4.0", OLD, (3, 15, 0), (4, 0, MAX), Upstream, v2_6::V3_18, un::PRE_4_4, "GFP_NOWAIT", "3.18.63"),
    era!("4.1–4.3", OLD, (4, 1, 0), (4, 3, MAX), Upstream, v2_6::V3_18, un::PRE_4_4_NOACCOUNT, "GFP_NOWAIT", "4.1.5"),
    era!("4.4", V4_4, (4, 4, 0), (4, 4, MAX), Upstream, v4_4::V4_4, un::V4_4_NOACCOUNT, "GFP_NOWAIT", "4.4"),
    era!("4.5", V4_4, (4, 5, 0), (4, 5, MAX), Upstream, v4_4::V4_4, un::V4_5_ACCOUNT, "GFP_NOWAIT", "4.5"),
    era!("4.6–4.7", V4_4, (4, 6, 0), (4, 7, MAX), Upstream, v4_4::V4_6, un::V4_6, "none", "4.6.2"),
    era!("4.8–4.9", V4_4, (4, 8, 0), (4, 9, MAX), Upstream, v4_4::V4_8, un::V4_6, "none", "4.9"),
    era!("4.10–4.12", V4_10, (4, 10, 0), (4, 12, MAX), Upstream, v4_10::V4_10, un::V4_12, "none", "4.12.4"),
    era!("4.13", V4_10, (4, 13, 0), (4, 13, MAX), Upstream, v4_10::V4_13, un::V4_12, "none", "4.13.4"),
    era!("4.14.0–4.14.12", V4_10, (4, 14, 0), (4, 14, 12), Upstream, v4_10::V4_14, un::V4_12, "none", "4.14"),
    era!("4.14.13+ (no NOTRACK)", V4_10, (4, 14, 13), (4, 14, MAX), Upstream, v4_10::V4_14_67, un::V4_12, "none", "4.14.67"),
    era!("4.15", V4_10, (4, 15, 0), (4, 15, MAX), Upstream, v4_15::V4_15, un::V4_12, "none", "4.15"),
    era!("4.16–5.0", V4_16, (4, 16, 0), (5, 0, MAX), Upstream, v4_15::V4_19, un::V4_19, "none", "4.19"),
    era!("5.1–5.13", V5_1, (5, 1, 0), (5, 13, MAX), Upstream, v5::V5_10, un::V4_19, "none", "5.10"),
    era!("5.14–5.17", V5_1, (5, 14, 0), (5, 17, MAX), Upstream, v5::V5_15, un::V5_14, "none", "5.15"),
    era!("5.18–6.2", V5_1, (5, 18, 0), (6, 2, MAX), Upstream, v5::V6_1, un::V6_0, "none", "6.1"),
    era!("6.3–6.11", V5_1, (6, 3, 0), (6, 11, MAX), Upstream, v6::V6_6, un::V6_6, "none", "6.6"),
    era!("6.12–6.14", V5_1, (6, 12, 0), (6, 14, MAX), Upstream, v6::V6_12, un::V6_12, "none", "6.12"),
    era!("6.15–7.2 (bit order)", V5_1, (6, 15, 0), (7, 2, MAX), Upstream, v6::V6_18, un::NONE, "none", "6.18"),
    era!("7.3+", V5_1, (7, 3, 0), (MAX, MAX, MAX), Upstream, v6::V7_3, un::NONE, "none", "7.3.4"),
];

/// How many eras there are.
pub(super) const COUNT: usize = 24;

/// Indices of the eras other modules name directly (`Era::V3_10`, …); a test checks the labels.
pub(super) mod index {
    pub const V3_10: u8 = 2;
    pub const V4_4: u8 = 7;
    pub const V4_10: u8 = 11;
    pub const V4_15: u8 = 15;
    pub const V5_1: u8 = 17;
    pub const NEWEST: u8 = 23;
}
