//! The kernel/user ABI of fragtrace: the records the eBPF programs write into the ring buffer,
//! the per-CPU counter indices, and the layouts the loader passes to the programs as globals.
//!
//! Every type is `#[repr(C)]` with explicit padding and a compile-time size assertion: the same
//! bytes are produced by the BPF target and decoded (with length checks) on the host.
#![no_std]

pub mod abi;
pub mod layout;

pub use abi::*;
pub use layout::*;
