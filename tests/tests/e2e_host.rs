//! The library's readers of host state against this machine's kernel, where looking needs
//! root: the kernel's own fragmentation indices in debugfs, a cgroup made for the test, and
//! /proc/pagetypeinfo (mode 0400). They were library unit tests; here they run as root with
//! the other end-to-end tests, and `cargo test -p fragtrace --lib` passes as any user.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::Duration,
};

use fragtrace::host::{
    buddyinfo::{self, ZoneFree},
    cgroup::CgroupResolver,
    procfs::{ZoneIndexRow, debugfs::DEBUGFS, parse_index_file, read_kernel_indices},
};
use fragtrace_tests::{UnmountIfNew, poll, require_root};

/// The kernel prints thousandths; ours are thousandths too, so this only absorbs f64 noise.
const TOLERANCE: f64 = 0.001;

/// Every zone and order of `zones` against the kernel's rows; the list of mismatches.
fn mismatches(zones: &[ZoneFree], unusable: &[ZoneIndexRow], extfrag: &[ZoneIndexRow]) -> Vec<String> {
    let mut out = Vec::new();
    let row = |rows: &[ZoneIndexRow], z: &ZoneFree| rows.iter().find(|(n, name, _)| *n == z.node && *name == z.zone).map(|r| r.2.clone());
    for (file, rows) in [("unusable_index", unusable), ("extfrag_index", extfrag)] {
        if rows.len() != zones.len() {
            out.push(format!("{file} has {} zones, buddyinfo {}", rows.len(), zones.len()));
        }
    }
    for z in zones {
        let (Some(u), Some(e)) = (row(unusable, z), row(extfrag, z)) else {
            out.push(format!("node {} zone {} missing from the kernel's index files", z.node, z.zone));
            continue;
        };
        if u.len() != z.free_blocks.len() || e.len() != z.free_blocks.len() {
            out.push(format!("node {} zone {}: {} orders in buddyinfo, {}/{} in debugfs", z.node, z.zone, z.free_blocks.len(), u.len(), e.len()));
            continue;
        }
        for order in 0..z.free_blocks.len() {
            let ours = z.indices(order as u32);
            if (ours.unusable - u[order]).abs() > TOLERANCE {
                out.push(format!("node {} zone {} order {order}: unusable {} vs kernel {}", z.node, z.zone, ours.unusable, u[order]));
            }
            // The kernel's −1000 is our None.
            let ours_frag = ours.fragmentation.unwrap_or(-1.0);
            if (ours_frag - e[order]).abs() > TOLERANCE {
                out.push(format!("node {} zone {} order {order}: extfrag {ours_frag} vs kernel {}", z.node, z.zone, e[order]));
            }
        }
    }
    out
}

/// The comparison itself, on a captured pair of buddyinfo and debugfs files (needs no root):
/// if this fails, the live test below would blame the kernel for a bug of the comparison.
#[test]
fn procfs_indices_match_the_captured_6_18_kernel_output() {
    let testdata = |name: &str| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fragtrace/testdata/procfs").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let zones = buddyinfo::parse(&testdata("buddyinfo-6.18-live.txt"));
    let unusable = parse_index_file(&testdata("extfrag-unusable_index-6.18-live.txt"));
    let extfrag = parse_index_file(&testdata("extfrag-extfrag_index-6.18-live.txt"));
    assert_eq!(zones.len(), 3);
    assert_eq!(mismatches(&zones, &unusable, &extfrag), Vec::<String>::new());
}

/// Fails, not skips, when the kernel cannot show its indices: then this tool's central
/// arithmetic is unchecked on this machine, which someone must see. Mounts debugfs when it is
/// not mounted (the library does) and unmounts it again, pass or fail.
#[test]
fn procfs_indices_from_live_buddyinfo_equal_the_kernels_debugfs_indices() {
    let _serial = require_root();
    let _debugfs = UnmountIfNew::watch(DEBUGFS, "debugfs");
    // The free lists change under us; compare only when buddyinfo read the same before and
    // after the debugfs files, so both sides describe one state.
    let mut attempts = 0;
    let consistent = poll(Duration::from_secs(10), || {
        attempts += 1;
        let before = buddyinfo::read().expect("read /proc/buddyinfo");
        let indices = read_kernel_indices().unwrap_or_else(|e| panic!("cannot compare with the kernel's own fragmentation indices: {e}"));
        let after = buddyinfo::read().expect("read /proc/buddyinfo");
        (before == after).then_some((before, indices))
    });
    let Some((zones, (unusable, extfrag))) = consistent else {
        panic!("/proc/buddyinfo changed across the debugfs reads in all {attempts} attempts over 10 s: no fair comparison");
    };
    assert!(!zones.is_empty(), "/proc/buddyinfo lists no zone");
    assert_eq!(mismatches(&zones, &unusable, &extfrag), Vec::<String>::new(), "buddyinfo: {zones:?}");
}

/// Root reads /proc/pagetypeinfo (mode 0400 since Linux 5.4), and its tables parse.
#[test]
fn root_reads_pagetypeinfo() {
    let _serial = require_root();
    let state = fragtrace::host::procfs::read_all();
    let pti = state.pagetypeinfo.expect("root reads /proc/pagetypeinfo");
    assert!(pti.pageblock_order.is_some(), "{pti:?}");
    assert!(!pti.free.is_empty(), "{pti:?}");
}

/// A cgroup directory removed on drop.
struct Rmdir(PathBuf);

impl Drop for Rmdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn ino(path: &Path) -> u64 {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).ino()
}

/// The cgroup id as the kernel exports it to user space: cgroup2's file handle is the
/// 64-bit kernfs id (what `bpf_get_current_cgroup_id` returns), independent of stat.
fn kernfs_id(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    #[repr(C)]
    struct Handle {
        bytes: u32,
        kind: i32,
        id: u64,
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut handle = Handle { bytes: 8, kind: 0, id: 0 };
    let mut mount_id = 0;
    // SAFETY: `handle` is a `struct file_handle` with room for 8 bytes of f_handle.
    let rc = unsafe { libc::name_to_handle_at(libc::AT_FDCWD, c_path.as_ptr(), (&raw mut handle).cast(), &mut mount_id, 0) };
    (rc == 0 && handle.bytes == 8).then_some(handle.id)
}

/// A real cgroup on this machine's cgroup2 hierarchy, made for the test, is resolved from its
/// id to its path.
#[test]
fn resolves_a_real_cgroup() {
    let _serial = require_root();
    let mut r = CgroupResolver::discover();
    let root = r.root().map(Path::to_path_buf).expect("a cgroup2 mount in /proc/self/mountinfo");
    assert_eq!(ino(&root), 1, "the cgroup2 root directory's inode is the root cgroup id");
    assert_eq!(r.resolve(1).as_deref(), Some("/"));
    let name = format!("fragtrace-e2e-resolve-{}", std::process::id());
    let dir = Rmdir(root.join(&name));
    std::fs::create_dir(&dir.0).unwrap_or_else(|e| panic!("creating {}: {e}", dir.0.display()));
    let id = ino(&dir.0);
    assert_eq!(Some(id), kernfs_id(&dir.0), "inode == kernfs (cgroup) id");
    r.set_rescan_interval(Duration::ZERO);
    assert_eq!(r.resolve(id), Some(format!("/{name}")));
}
