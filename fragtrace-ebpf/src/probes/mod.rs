//! Entry points are thin and call `try_*`/`emit_*` helpers; state lives in `maps`.

mod diag;
mod emit;
mod extfrag;
mod fexit;
mod gate;
mod maps;
mod page_alloc;
mod stalls;
mod task;

/// GPL-compatible: `bpf_get_stackid` and BTF tracepoints are GPL-only helpers/attach types.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
