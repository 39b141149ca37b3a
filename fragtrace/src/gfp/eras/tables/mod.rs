//! The flag-name list of each era, generated from the transcriptions in
//! `testdata/gfp-names/` (each table's comment cites the kernel tree, file and commit it was
//! read from), and the names each era defines without listing them (`unlisted.rs`, by hand
//! from the same `gfp.h` files).
//!
//! Neighbouring tables repeat most of each other's lines on purpose: each is one kernel's list
//! exactly as that kernel prints it, checked entry by entry against its transcription
//! (`transcription_tests`). Building them from shared pieces would hide the one-entry
//! differences (a moved bit, a renamed flag, a new print order) that the eras exist for.

pub(super) mod rhel7;
pub(super) mod unlisted;
pub(super) mod v2_6;
pub(super) mod v4_10;
pub(super) mod v4_15;
pub(super) mod v4_4;
pub(super) mod v5;
pub(super) mod v6;

/// `(value, name)` in the kernel's list order.
pub(super) type Entries = &'static [(u64, &'static str)];
