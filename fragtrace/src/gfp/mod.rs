//! GFP masks, decoded with the running kernel's own name table.
//!
//! The table is the `__print_flags(REC->gfp_flags, "|", {value, "NAME"}, …)` list in
//! `events/kmem/mm_page_alloc/format`. Decoding follows the kernel's `trace_print_flags_seq`:
//! entries are tried in order, an entry matches when all its bits are set, and its bits are
//! then consumed, so composite names (`GFP_KERNEL_ACCOUNT`) win over the bits they contain.

pub mod eras;
pub mod expr;
pub mod print_fmt;

use serde::{Deserialize, Serialize};

use crate::host::tracefs::{EventFormat, FormatError};

/// One `{value, "NAME"}` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GfpName {
    pub value: u64,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GfpTable {
    pub names: Vec<GfpName>,
}

impl GfpTable {
    /// The table of the kernel that produced `format` (an `mm_page_alloc` format file).
    pub fn from_page_alloc_format(format: &EventFormat) -> Result<Self, FormatError> {
        let names = print_fmt::print_flags_table(&format.print_fmt, "gfp_flags")?;
        Ok(Self { names })
    }

    /// Names for `mask`, composite names first, unknown leftover bits as one hex value.
    pub fn decode(&self, mask: u64) -> Vec<String> {
        let mut rest = mask;
        let mut out = Vec::new();
        for entry in &self.names {
            if entry.value != 0 && rest & entry.value == entry.value {
                rest &= !entry.value;
                out.push(entry.name.clone());
            }
        }
        if rest != 0 {
            out.push(format!("{rest:#x}"));
        }
        out
    }

    /// `A|B|C`, as the kernel prints it; `none` for 0.
    pub fn decode_joined(&self, mask: u64) -> String {
        if mask == 0 {
            return "none".to_string();
        }
        self.decode(mask).join("|")
    }

    /// The value of a single name, e.g. `__GFP_ACCOUNT`.
    pub fn value_of(&self, name: &str) -> Option<u64> {
        self.names.iter().find(|e| e.name == name).map(|e| e.value)
    }
}
