//! `fragtrace dmesg`: kernel log reports ([`crate::kmsg`]) turned into the same answers the
//! live probes give: decoded GFP flags for the report's own kernel era, a verdict per failure
//! from its own buddy lines, and summaries. Works without eBPF and without privileges
//! (except for reading the live log, which `dmesg_restrict` may reserve to root).

pub mod analyze;
pub mod source;
pub mod summary;

pub use analyze::{Analysis, GfpDecode, Verdict, analyze};
