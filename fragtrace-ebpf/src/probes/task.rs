//! Following kernel pointers from the current task with offsets the loader read from the
//! running kernel's BTF: the memory cgroup's kernfs node (id and directory names) and the
//! task's ancestors. Every read goes through `bpf_probe_read_kernel`, so a wrong offset
//! yields an error, never a fault.

use aya_ebpf::{
    Global,
    helpers::{bpf_get_current_task, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes},
};
use fragtrace_ebpf::{ANCESTORS, ATTR_TRUNCATED, Ancestor, Attribution, CGROUP_LEVELS, COMM_LEN, TaskLayout};

/// Set by the loader from `/sys/kernel/btf/vmlinux`; `enabled == 0` without BTF.
#[unsafe(no_mangle)]
static TASK_LAYOUT: Global<TaskLayout> = Global::new(TaskLayout {
    enabled: 0,
    memory_cgrp_id: 0,
    task_cgroups: 0,
    task_real_parent: 0,
    task_tgid: 0,
    task_comm: 0,
    css_set_subsys: 0,
    css_cgroup: 0,
    cgroup_kn: 0,
    kn_parent: 0,
    kn_name: 0,
    kn_id: 0,
});

#[inline(always)]
pub fn layout() -> Option<TaskLayout> {
    let l = TASK_LAYOUT.load();
    (l.enabled != 0).then_some(l)
}

#[inline(always)]
fn read_ptr(base: u64, offset: u32) -> Option<u64> {
    if base == 0 {
        return None;
    }
    // SAFETY: bpf_probe_read_kernel validates the address.
    unsafe { bpf_probe_read_kernel((base + offset as u64) as *const u64) }.ok().filter(|p| *p != 0)
}

/// The kernfs node of the current task's memory cgroup.
#[inline(always)]
pub fn memcg_kn(l: &TaskLayout) -> Option<u64> {
    // SAFETY: helper without preconditions.
    let task = unsafe { bpf_get_current_task() };
    let css_set = read_ptr(task, l.task_cgroups)?;
    let css = read_ptr(css_set, l.css_set_subsys + 8 * l.memory_cgrp_id)?;
    let cgroup = read_ptr(css, l.css_cgroup)?;
    read_ptr(cgroup, l.cgroup_kn)
}

/// The kernfs id of a node (the cgroup's id; its directory's inode number).
#[inline(always)]
pub fn kn_id(l: &TaskLayout, kn: u64) -> Option<u64> {
    // SAFETY: as above.
    unsafe { bpf_probe_read_kernel((kn + l.kn_id as u64) as *const u64) }.ok()
}

/// Fills `attr` in place (it lives in ring-buffer memory: far too big for the BPF stack).
/// `memcg` is the memory cgroup's kernfs node ([`memcg_kn`]), already found by the caller.
#[inline(always)]
pub fn fill_attribution(l: &TaskLayout, memcg: Option<u64>, attr: &mut Attribution) {
    attr.levels = 0;
    attr.flags = 0;
    attr.ancestors_len = 0;
    if let Some(mut kn) = memcg {
        for i in 0..CGROUP_LEVELS {
            // The hierarchy's root has no parent and no useful name: stop there.
            let Some(parent) = read_ptr(kn, l.kn_parent) else { break };
            let Some(name) = read_ptr(kn, l.kn_name) else { break };
            // SAFETY: the helper bounds the copy by the destination's length.
            if unsafe { bpf_probe_read_kernel_str_bytes(name as *const u8, &mut attr.names[i]) }.is_err() {
                break;
            }
            attr.levels = i as u32 + 1;
            kn = parent;
        }
        if attr.levels as usize == CGROUP_LEVELS && read_ptr(kn, l.kn_parent).is_some() {
            attr.flags |= ATTR_TRUNCATED;
        }
    }
    // SAFETY: helper without preconditions.
    let mut task = unsafe { bpf_get_current_task() };
    for i in 0..ANCESTORS {
        let Some(parent) = read_ptr(task, l.task_real_parent) else { break };
        // SAFETY: bpf_probe_read_kernel validates the addresses.
        let tgid = unsafe { bpf_probe_read_kernel((parent + l.task_tgid as u64) as *const u32) }.unwrap_or(0);
        // SAFETY: as above.
        let comm = unsafe { bpf_probe_read_kernel((parent + l.task_comm as u64) as *const [u8; COMM_LEN]) }.unwrap_or([0; COMM_LEN]);
        attr.ancestors[i] = Ancestor { tgid, _pad: 0, comm };
        attr.ancestors_len = i as u32 + 1;
        // The idle task (pid 0) is everyone's last ancestor: nothing above it.
        if tgid == 0 {
            break;
        }
        task = parent;
    }
}
