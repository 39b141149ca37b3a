//! fragtrace's eBPF programs. Built for `bpfel-unknown-none` by `fragtrace/build.rs`
//! (aya-build); on the host this binary is an empty stub.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod probes;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // The verifier proves there is no reachable panic; this only satisfies the compiler.
    loop {}
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}
