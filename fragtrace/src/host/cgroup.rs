//! Cgroup id → path.
//!
//! With in-kernel attribution (the usual case: kernel BTF present) the probes record the id
//! of the task's *memory* cgroup: the kernfs node id of its directory in the hierarchy that
//! holds the memory controller: the v1 `memory` mount on v1 and hybrid machines, the cgroup2
//! mount on pure v2. [`CgroupResolver::for_memory`] walks that hierarchy. Failures also carry
//! the path as the kernel named it, so short-lived cgroups never need resolving.
//!
//! Without BTF the probes fall back to `bpf_get_current_cgroup_id()`, described next.
//!
//! The probe records `bpf_get_current_cgroup_id()`, the id of the task's cgroup in the unified
//! (v2) hierarchy. That id is the kernfs node id, which is also the inode number of the cgroup's
//! directory in the cgroup2 filesystem (the root cgroup is 1). So resolving an id means finding
//! the directory with that inode under the cgroup2 mount: pure-v2 machines mount it at
//! `/sys/fs/cgroup`, hybrid ones at `/sys/fs/cgroup/unified`, so the mount is looked up in
//! `/proc/self/mountinfo` rather than assumed.
//!
//! On a hybrid machine whose processes all sit in the v2 root (v1 controllers doing the real
//! work), every event carries id 1 and resolves to `/`.

use std::{
    collections::HashMap,
    ffi::OsString,
    os::unix::{ffi::OsStringExt, fs::MetadataExt},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// Cgroups remembered at most (see [`CgroupResolver::resolve`]).
const MAX_CACHED: usize = 65_536;

/// The default minimum time between two full walks triggered by cache misses.
pub const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Resolves cgroup ids to paths relative to the cgroup2 root, caching every id it has seen.
#[derive(Debug)]
pub struct CgroupResolver {
    root: Option<PathBuf>,
    /// Every id seen in any walk. Entries are never evicted: an id named that path when it was
    /// seen, and the kernel does not reuse cgroup ids (64-bit, monotonically allocated).
    cache: HashMap<u64, String>,
    last_walk: Option<Instant>,
    rescan_interval: Duration,
}

impl CgroupResolver {
    /// Finds the cgroup2 mount in `/proc/self/mountinfo`. Without one (or without a readable
    /// mountinfo) the resolver resolves nothing.
    pub fn discover() -> Self {
        let root = std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|text| cgroup2_mount(&text));
        Self::new(root)
    }

    /// Finds the hierarchy holding the memory controller: the v1 `memory` mount if there is
    /// one, else the cgroup2 mount. This is where the probes' memory-cgroup ids live.
    pub fn for_memory() -> Self {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Self::new(memory_v1_mount(&text).or_else(|| cgroup2_mount(&text)))
    }

    /// A resolver over the cgroup2 hierarchy mounted (or, in tests, mimicked) at `root`.
    pub fn with_root(root: PathBuf) -> Self {
        Self::new(Some(root))
    }

    fn new(root: Option<PathBuf>) -> Self {
        CgroupResolver {
            root,
            cache: HashMap::new(),
            last_walk: None,
            rescan_interval: DEFAULT_RESCAN_INTERVAL,
        }
    }

    /// Changes the minimum time between two walks caused by cache misses (tests use zero).
    pub fn set_rescan_interval(&mut self, interval: Duration) {
        self.rescan_interval = interval;
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The path of cgroup `id` relative to the cgroup2 root, starting with `/` (`/` for the root
    /// itself); `None` if unknown.
    ///
    /// A miss walks the whole tree, because cgroups are created all the time on busy nodes and
    /// the new one is probably there. Ids of cgroups already removed never appear, though, so
    /// misses may rewalk at most once per rescan interval.
    pub fn resolve(&mut self, id: u64) -> Option<String> {
        if let Some(path) = self.cache.get(&id) {
            return Some(path.clone());
        }
        let root = self.root.as_ref()?;
        let due = self.last_walk.is_none_or(|t| t.elapsed() >= self.rescan_interval);
        if !due {
            return None;
        }
        // Removed cgroups stay cached (their last events may still be in flight), so on a node
        // with churning pods the cache is started over now and then; the walk refills it with
        // every cgroup that exists.
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        walk(root, &mut self.cache);
        self.last_walk = Some(Instant::now());
        self.cache.get(&id).cloned()
    }
}

/// Records the inode of `root` and of every directory below it. Iterative, so a deep hierarchy
/// cannot overflow the stack; unreadable or vanished directories are skipped, since cgroups
/// come and go while we walk.
fn walk(root: &Path, cache: &mut HashMap<u64, String>) {
    let Ok(meta) = std::fs::symlink_metadata(root) else { return };
    if !meta.is_dir() {
        return;
    }
    cache.insert(meta.ino(), "/".to_string());
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            // `DirEntry::file_type` does not follow symlinks.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            // Directory names may hold ESC or BEL (not newlines): escaped before anyone prints them.
            let child = format!("{rel}/{}", crate::text::printable(&entry.file_name().to_string_lossy()));
            cache.insert(meta.ino(), child.clone());
            pending.push((entry.path(), child));
        }
    }
}

/// The mount point of the first cgroup2 filesystem in `/proc/<pid>/mountinfo` text.
///
/// A line is `id parent major:minor root mountpoint options [optional…] - fstype source
/// superoptions`; the optional fields vary in number, so the filesystem type is the field after
/// the lone `-`. Mount points escape space, tab, newline and backslash as `\ooo` octal.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let mount_point = fields.get(4)?;
        // The separator comes after the six fixed fields.
        let sep = fields.iter().skip(6).position(|f| *f == "-")? + 6;
        (fields.get(sep + 1)? == &"cgroup2").then(|| unescape_octal(mount_point))
    })
}

/// The mount point of the cgroup v1 hierarchy with the `memory` controller, if any (its
/// super options list the controllers: `rw,memory`).
pub fn memory_v1_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let mount_point = fields.get(4)?;
        let sep = fields.iter().skip(6).position(|f| *f == "-")? + 6;
        let is_memory = fields.get(sep + 1)? == &"cgroup" && fields.get(sep + 3)?.split(',').any(|o| o == "memory");
        is_memory.then(|| unescape_octal(mount_point))
    })
}

/// Undoes the kernel's `\ooo` escaping; anything that is not a valid escape stays as it is.
fn unescape_octal(s: &str) -> PathBuf {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes.get(i + 1..i + 4);
        if bytes[i] == b'\\'
            && let Some(d) = digits.filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)))
        {
            let value = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    // Bytes, not a String: a mount point need not be UTF-8.
    PathBuf::from(OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine: v1 controllers under a tmpfs, cgroup2 beside them.
    const HYBRID: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// systemd on a pure-v2 machine: optional fields (`shared:N`) before the separator.
    const PURE_V2: &str = "\
25 1 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    /// A temporary directory removed on drop, so a failing assertion does not leave it behind.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("fragtrace-cg-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ino(path: &Path) -> u64 {
        std::fs::symlink_metadata(path).unwrap().ino()
    }

    #[test]
    fn mountinfo_hybrid_finds_unified() {
        assert_eq!(cgroup2_mount(HYBRID), Some(PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn the_memory_hierarchy_is_v1_memory_when_mounted() {
        assert_eq!(memory_v1_mount(HYBRID), Some(PathBuf::from("/sys/fs/cgroup/memory")));
        assert_eq!(memory_v1_mount(PURE_V2), None, "pure v2: the resolver falls back to the cgroup2 mount");
    }

    #[test]
    fn mountinfo_pure_v2_skips_optional_fields() {
        assert_eq!(cgroup2_mount(PURE_V2), Some(PathBuf::from("/sys/fs/cgroup")));
    }

    #[test]
    fn mountinfo_without_cgroup2() {
        let v1_only: String = HYBRID.lines().filter(|l| !l.contains("cgroup2")).map(|l| format!("{l}\n")).collect();
        assert_eq!(cgroup2_mount(&v1_only), None);
        assert_eq!(cgroup2_mount(""), None);
        // A truncated line and a source named "cgroup2" on another fs type are not mounts of it.
        assert_eq!(cgroup2_mount("41 31 0:38 / /x rw - \n42 1 0:1 / /y rw - tmpfs cgroup2 rw\n"), None);
    }

    #[test]
    fn mountinfo_first_cgroup2_wins() {
        let text = format!("{PURE_V2}50 30 0:40 / /mnt/other rw - cgroup2 cgroup2 rw\n");
        assert_eq!(cgroup2_mount(&text), Some(PathBuf::from("/sys/fs/cgroup")));
    }

    #[test]
    fn mountinfo_unescapes_mount_point() {
        let text = r"41 31 0:38 / /mnt/my\040cgroups\011x\134y rw,relatime - cgroup2 cgroup2 rw";
        assert_eq!(cgroup2_mount(text), Some(PathBuf::from("/mnt/my cgroups\tx\\y")));
        // Not an escape (too few digits, not octal, out of range): kept verbatim.
        assert_eq!(unescape_octal(r"/a\04"), PathBuf::from(r"/a\04"));
        assert_eq!(unescape_octal(r"/a\089"), PathBuf::from(r"/a\089"));
        assert_eq!(unescape_octal(r"/a\777"), PathBuf::from(r"/a\777"));
    }

    #[test]
    fn resolves_tree_paths() {
        let tmp = TempDir::new("tree");
        std::fs::create_dir_all(tmp.0.join("a")).unwrap();
        std::fs::create_dir_all(tmp.0.join("b/c")).unwrap();
        std::fs::write(tmp.0.join("b/file"), b"").unwrap();
        let mut r = CgroupResolver::with_root(tmp.0.clone());
        assert_eq!(r.root(), Some(tmp.0.as_path()));
        assert_eq!(r.resolve(ino(&tmp.0)).as_deref(), Some("/"));
        assert_eq!(r.resolve(ino(&tmp.0.join("b/c"))).as_deref(), Some("/b/c"));
        assert_eq!(r.resolve(ino(&tmp.0.join("a"))).as_deref(), Some("/a"));
        // Files are not cgroups.
        assert_eq!(r.resolve(ino(&tmp.0.join("b/file"))), None);
    }

    #[test]
    fn does_not_follow_symlinks() {
        let tmp = TempDir::new("symlink");
        let outside = TempDir::new("symlink-target");
        std::fs::create_dir(outside.0.join("inner")).unwrap();
        std::os::unix::fs::symlink(&outside.0, tmp.0.join("link")).unwrap();
        let mut r = CgroupResolver::with_root(tmp.0.clone());
        r.set_rescan_interval(Duration::ZERO);
        assert_eq!(r.resolve(ino(&outside.0)), None);
        assert_eq!(r.resolve(ino(&outside.0.join("inner"))), None);
    }

    #[test]
    fn unknown_id_and_unknown_root() {
        let tmp = TempDir::new("unknown");
        let mut r = CgroupResolver::with_root(tmp.0.clone());
        assert_eq!(r.resolve(u64::MAX), None);
        let mut nothing = CgroupResolver::new(None);
        assert_eq!(nothing.root(), None);
        assert_eq!(nothing.resolve(1), None);
        let mut gone = CgroupResolver::with_root(tmp.0.join("does-not-exist"));
        assert_eq!(gone.resolve(1), None);
    }

    #[test]
    fn miss_rescans_but_rate_limited() {
        let tmp = TempDir::new("rescan");
        let mut r = CgroupResolver::with_root(tmp.0.clone());
        r.set_rescan_interval(Duration::from_secs(3600));
        assert_eq!(r.resolve(u64::MAX), None); // first walk
        std::fs::create_dir(tmp.0.join("new")).unwrap();
        let new = ino(&tmp.0.join("new"));
        // Within the interval a miss does not walk again…
        assert_eq!(r.resolve(new), None);
        // …once it has passed, it does.
        r.set_rescan_interval(Duration::ZERO);
        assert_eq!(r.resolve(new).as_deref(), Some("/new"));
    }

    #[test]
    fn removed_cgroup_stays_cached() {
        let tmp = TempDir::new("removed");
        std::fs::create_dir(tmp.0.join("x")).unwrap();
        let x = ino(&tmp.0.join("x"));
        let mut r = CgroupResolver::with_root(tmp.0.clone());
        assert_eq!(r.resolve(x).as_deref(), Some("/x"));
        std::fs::remove_dir(tmp.0.join("x")).unwrap();
        r.set_rescan_interval(Duration::ZERO);
        assert_eq!(r.resolve(u64::MAX), None); // forces a walk that no longer sees x
        assert_eq!(r.resolve(x).as_deref(), Some("/x"));
    }

    // A real cgroup made on this machine (needs root): tests/tests/e2e_host.rs.
}
