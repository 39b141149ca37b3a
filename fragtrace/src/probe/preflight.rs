//! Checks made before loading anything, so a failure names what is missing instead of
//! surfacing as EPERM from the bpf() syscall.

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
         `setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(which fragtrace)`, adding \
         cap_syslog for symbol names in kernel stacks (kernels before 5.8 need cap_sys_admin \
         instead of cap_bpf/cap_perfmon; see 'Least privilege' in docs/reliability.md)"
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

/// Capabilities a live command keeps after its probes are attached: attaching the
/// per-allocation probe later (`--alloc-probe on-pressure`) needs `CAP_BPF` and
/// `CAP_PERFMON` (or `CAP_SYS_ADMIN` on kernels before 5.8), reading cgroup paths and
/// container runtime state needs `CAP_DAC_READ_SEARCH`; commands that write files
/// (`record`, `capture`) also keep `CAP_DAC_OVERRIDE` to create them where the user asked.
pub fn live_capabilities(writes_files: bool) -> Vec<u32> {
    let mut keep = vec![CAP_DAC_READ_SEARCH];
    if kernel_knows(CAP_BPF) {
        keep.extend([CAP_BPF, CAP_PERFMON]);
    } else {
        keep.push(CAP_SYS_ADMIN);
    }
    if writes_files {
        keep.push(CAP_DAC_OVERRIDE);
    }
    keep
}

const CAP_DAC_OVERRIDE: u32 = 1;

/// Whether the running kernel has capability `cap` (`/proc/sys/kernel/cap_last_cap`).
fn kernel_knows(cap: u32) -> bool {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|v| v.trim().parse::<u32>().ok()).is_some_and(|last| cap <= last)
}

/// Drops every capability but `keep` (effective, permitted and inheritable), for the rest of
/// the process's life: once the probes are attached, a bug in the parsers of outside data
/// must not be able to do what root can.
pub fn drop_capabilities_except(keep: &[u32]) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let mut current = [Data::default(); 2];
    // SAFETY: capget with a v3 header and room for its two data words.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut Header, current.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut wanted = [Data::default(); 2];
    for &cap in keep {
        let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
        // Only what the process has: capset refuses to add.
        if current[word].permitted & bit != 0 {
            wanted[word].permitted |= bit;
            wanted[word].effective |= bit;
        }
    }
    let mut header = Header { version: VERSION_3, pid: 0 };
    // SAFETY: capset with a v3 header and its two data words.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, wanted.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Makes this process an unlikely OOM victim: it runs when memory is short, and killing it
/// would end the investigation. Not -1000: a runaway fragtrace must stay killable.
pub fn protect_from_oom_killer() {
    if let Err(e) = std::fs::write("/proc/self/oom_score_adj", "-900") {
        log::info!("could not lower oom_score_adj: {e}");
    }
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
    fn live_capabilities_are_few() {
        let keep = live_capabilities(false);
        assert!(keep.contains(&CAP_DAC_READ_SEARCH) && !keep.contains(&CAP_DAC_OVERRIDE));
        assert!(keep.len() <= 3, "{keep:?}");
        assert!(live_capabilities(true).contains(&CAP_DAC_OVERRIDE));
    }

    #[test]
    fn names_missing_capabilities() {
        assert_eq!(missing_capabilities(0), vec!["CAP_BPF", "CAP_PERFMON", "CAP_DAC_READ_SEARCH"]);
        assert!(missing_capabilities(u64::MAX).is_empty());
        let split = (1 << CAP_BPF) | (1 << CAP_PERFMON) | (1 << CAP_DAC_READ_SEARCH);
        assert!(missing_capabilities(split).is_empty());
        assert_eq!(missing_capabilities(1 << CAP_SYS_ADMIN), vec!["CAP_DAC_READ_SEARCH"]);
    }
}
