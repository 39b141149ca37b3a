//! Kernel struct offsets for in-kernel attribution, from the running kernel's BTF.

use fragtrace_ebpf::TaskLayout;

use crate::host::btf::{Btf, BtfError};

/// Offsets for following task → css_set → memory cgroup → kernfs node and task → parent.
pub fn from_btf(btf: &Btf) -> Result<TaskLayout, BtfError> {
    let memory = btf.enum_value("memory_cgrp_id")?;
    Ok(TaskLayout {
        enabled: 1,
        memory_cgrp_id: u32::try_from(memory).map_err(|_| BtfError::Malformed("memory_cgrp_id out of range"))?,
        task_cgroups: btf.member_offset("task_struct", "cgroups")?,
        task_real_parent: btf.member_offset("task_struct", "real_parent")?,
        task_tgid: btf.member_offset("task_struct", "tgid")?,
        task_comm: btf.member_offset("task_struct", "comm")?,
        css_set_subsys: btf.member_offset("css_set", "subsys")?,
        css_cgroup: btf.member_offset("cgroup_subsys_state", "cgroup")?,
        cgroup_kn: btf.member_offset("cgroup", "kn")?,
        // Renamed to `__parent` in 6.15.
        kn_parent: btf.member_offset_any("kernfs_node", &["__parent", "parent"])?,
        kn_name: btf.member_offset("kernfs_node", "name")?,
        kn_id: btf.member_offset("kernfs_node", "id")?,
    })
}

/// The layout for this kernel, or a disabled one (with the reason logged) when the kernel
/// has no BTF or lacks a field: events then carry the cgroup v2 id and no path or ancestry.
pub fn discover() -> TaskLayout {
    match Btf::from_sys_fs().and_then(|btf| from_btf(&btf)) {
        Ok(layout) => layout,
        Err(e) => {
            log::warn!("no in-kernel attribution (cgroup path, ancestry): {e}");
            TaskLayout::default()
        }
    }
}
