//! The kernel log: page-allocation failures, allocation stalls and OOM kills as the kernel
//! printed them, from any era and any log format.
//!
//! - [`parse`]: text (dmesg, /dev/kmsg, syslog, journalctl, mail-quoted…) → [`parse::Report`]s;
//! - [`source`]: where the text comes from (files, stdin, the live /dev/kmsg);
//! - [`analyze`](mod@analyze): a report turned into the same answers the live probes give: decoded GFP flags
//!   for the report's own kernel era and a verdict per failure from its own buddy lines;
//! - [`summary`]: many analyses summed up, as text or JSON (`fragtrace dmesg`).
//!
//! Works without eBPF and without privileges (except for reading the live log, which
//! `dmesg_restrict` may reserve to root).

pub mod analyze;
mod cause;
pub mod parse;
pub mod source;
pub mod summary;

pub use analyze::{Analysis, GfpDecode, Verdict, analyze};
