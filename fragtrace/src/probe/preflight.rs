//! Checks made before loading anything, so a failure names what is missing instead of
//! surfacing as EPERM from the bpf() syscall.

use std::path::Path;

use thiserror::Error;

/// Capabilities fragtrace needs, with their bit numbers (include/uapi/linux/capability.h).
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

#[derive(Debug, Error)]
pub enum PreflightError {
    #[error(
        "missing capabilities: {0}. Run as root (`sudo fragtrace …`), or grant them: \
         `setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(which fragtrace)` \
         (kernels before 5.8 need cap_sys_admin instead of cap_bpf/cap_perfmon)"
    )]
    MissingCapabilities(String),
    #[error("cannot read /proc/self/status: {0}")]
    Status(std::io::Error),
}

/// Effective capability mask of this process.
fn effective_caps() -> Result<u64, PreflightError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(PreflightError::Status)?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0))
}

/// Names of the capabilities that `caps` lacks for loading and attaching the probes.
pub fn missing_capabilities(caps: u64) -> Vec<&'static str> {
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    let mut missing = Vec::new();
    // CAP_SYS_ADMIN covers BPF and perfmon on every kernel; the split caps exist since 5.8.
    if !has(CAP_SYS_ADMIN) {
        if !has(CAP_BPF) {
            missing.push("CAP_BPF");
        }
        if !has(CAP_PERFMON) {
            missing.push("CAP_PERFMON");
        }
    }
    if !has(CAP_DAC_READ_SEARCH) {
        missing.push("CAP_DAC_READ_SEARCH");
    }
    missing
}

pub fn check_capabilities() -> Result<(), PreflightError> {
    let missing = missing_capabilities(effective_caps()?);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::MissingCapabilities(missing.join(", ")))
    }
}

/// Whether the kernel exposes its BTF (needed for `tp_btf`).
pub fn kernel_has_btf() -> bool {
    Path::new("/sys/kernel/btf/vmlinux").exists()
}

/// Locked-memory limit: kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK.
pub fn raise_memlock_limit() {
    let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: valid pointer to a fully initialised rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        log::debug!("could not raise RLIMIT_MEMLOCK: {}", std::io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_missing_capabilities() {
        assert_eq!(missing_capabilities(0), vec!["CAP_BPF", "CAP_PERFMON", "CAP_DAC_READ_SEARCH"]);
        assert!(missing_capabilities(u64::MAX).is_empty());
        let split = (1 << CAP_BPF) | (1 << CAP_PERFMON) | (1 << CAP_DAC_READ_SEARCH);
        assert!(missing_capabilities(split).is_empty());
        assert_eq!(missing_capabilities(1 << CAP_SYS_ADMIN), vec!["CAP_DAC_READ_SEARCH"]);
    }
}
