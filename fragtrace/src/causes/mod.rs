//! Known causes: a failure matched against the reviewed catalogue in `fragtrace/causes.toml`
//! (id, title, explanation, the kernel that fixed it, remedy, references).
//!
//! One matcher for every source: a kernel-log report (`kernel_log::analyze` builds the
//! [`CauseInput`]) and a live or recorded failure with its symbolised stack
//! ([`CauseInput::from_failure`]). The first entry in the file's order that matches wins; the
//! file is ordered from the most specific entry to the most general (its header says so).
//!
//! The catalogue is embedded in the binary and parsed once; `cargo test` checks it (every
//! field present, ids unique, patterns valid, flag names known). Should it still fail to parse
//! at run time, no cause is ever reported and the reason is logged once: a wrong catalogue
//! must not stop the tool.

mod catalogue;
mod glob;
mod input;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;

pub use catalogue::{Catalogue, CatalogueError, Cause, Hook, Match};
pub use input::{CauseInput, GfpFacts};
use serde_json::{Value, json};

/// The catalogue's text, as reviewed.
pub const CATALOGUE_TOML: &str = include_str!("../../causes.toml");

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::parse(CATALOGUE_TOML).unwrap_or_else(|e| {
        log::warn!("the known-causes catalogue is invalid, no causes will be named: {e}");
        Catalogue::default()
    })
});

/// The embedded catalogue.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

/// The first known cause that matches `input`, if any.
pub fn find(input: &CauseInput<'_>) -> Option<&'static Cause> {
    catalogue().find(input)
}

/// The `cause` field of the JSON outputs (docs/json.md): the cause's object, or `null`.
pub fn to_json(cause: Option<&Cause>) -> Value {
    match cause {
        Some(c) => json!({
            "id": c.id,
            "title": c.title,
            "explanation": c.explanation,
            "fixed_in": (!c.fixed_in.is_empty()).then_some(c.fixed_in.as_str()),
            "remedy": c.remedy,
            "references": c.references,
        }),
        None => Value::Null,
    }
}

/// The known cause of a live or recorded failure (with its symbolised stack, innermost
/// first), if any.
pub fn of_failure(failure: &crate::event::Failure, stack: Option<&[String]>, gfp: &crate::gfp::GfpTable) -> Option<&'static Cause> {
    find(&CauseInput::from_failure(failure, stack.unwrap_or(&[]), gfp))
}

/// [`of_failure`] as the `cause` JSON field.
pub fn failure_json(failure: &crate::event::Failure, stack: Option<&[String]>, gfp: &crate::gfp::GfpTable) -> Value {
    to_json(of_failure(failure, stack, gfp))
}

/// The known cause of a group of failures (one comm, order and mask) with its most frequent
/// stack, when what failed (memcg charge or allocator) is not known.
pub fn of_group(comm: &str, order: u32, gfp_mask: u64, stack: Option<&[String]>, gfp: &crate::gfp::GfpTable) -> Option<&'static Cause> {
    find(&CauseInput {
        frames: stack.unwrap_or(&[]),
        comm: Some(comm),
        order: Some(order),
        gfp: GfpFacts { mask: Some(gfp_mask), table: Some(gfp), names: &[] },
        hook: None,
        kernel: None,
    })
}
