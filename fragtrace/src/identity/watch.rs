//! Reads OCI bundles as they appear, so a container's pod is still known once its bundle is gone.
//!
//! [`BundleFinder::lookup`](super::BundleFinder::lookup) on its own reads a bundle when an
//! event is drained. A container whose start failed (an allocation failure in its init, a bad
//! mount, a missing entry point) is cleaned up by containerd within milliseconds, so by then
//! its bundle, and the pod's name with it, may be gone: the bundle must be read when it
//! appears, not when the failure is drained.
//!
//! Why inotify: it says the moment a container directory is created in a root and the moment
//! its config file is closed after writing. Polling the roots instead would either miss
//! short-lived containers or read every root many times a second. Why a thread: the maintained
//! `inotify` crate without its tokio stream, driven by a plain thread blocked in poll(2), needs
//! no runtime and reads files off the session's event loop, which only ever takes a mutex for
//! one map look-up.
//!
//! What the thread does:
//! - at start (before [`BundleWatcher::start`] returns) it watches each root that exists, then
//!   reads every container directory already there. Roots that do not exist yet (containerd
//!   started after fragtrace) are tried again every [`RETRY`];
//! - it reads a new directory in a root at once. If the directory's file is not there yet, the
//!   thread watches the directory (and CRI-O's `userdata/` below it) until the file is closed
//!   after writing or renamed into place, then drops the watch. At most [`MAX_PENDING`] such
//!   watches are kept, and the oldest goes first: a directory whose file never comes must not
//!   hold a watch forever;
//! - it stores what it reads in two maps shared with the lookup side: container id →
//!   [`PodInfo`], and pod UID → the pod's name, namespace, UID and runtime. The second map is
//!   filled from any container of the pod, the sandbox's included. The sandbox's bundle lives
//!   as long as the pod does, so it names the pod of an app container that failed too fast to
//!   be seen;
//! - if inotify's queue overflows, it reads every root again.
//!
//! Both maps evict their **oldest** entry when full (see [`Fifo`]). They are not cleared like
//! [`BundleFinder`](super::BundleFinder)'s cache: that cache can read a bundle again, but these
//! entries are often the only record left of a bundle that is gone. The oldest entries are the
//! containers most likely to be long dead.
//!
//! Dropping the [`BundleWatcher`] stops the thread. Drop sets a flag, wakes poll(2) through an
//! eventfd and joins the thread, which checks the flag between events and between the
//! directories it scans.

use std::{
    collections::{HashMap, VecDeque},
    ffi::OsStr,
    fmt,
    fs::File,
    io::{self, Write},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use super::oci::{CONFIG_FILE, CRIO_USERDATA, Entry, Layout, PodInfo, RUNC_STATE_FILE, Root, is_safe_id, read_entry};

/// Containers remembered, like the finder's cache.
pub(super) const MAX_CONTAINERS: usize = 16_384;
/// Pods remembered: far above a node's pod limit (110 by default), to allow for churn.
pub(super) const MAX_PODS: usize = 4_096;
/// Container directories watched while waiting for their config file. Each one uses an
/// inotify watch, which counts against `fs.inotify.max_user_watches`.
pub(super) const MAX_PENDING: usize = 1_024;
/// How often roots that do not exist are looked for again.
pub(super) const RETRY: Duration = Duration::from_secs(2);

/// Why the watcher could not start. Lookups then stay lazy.
#[derive(Debug, thiserror::Error)]
pub(super) enum WatchError {
    #[error("inotify_init1: {0}")]
    Inotify(io::Error),
    #[error("eventfd: {0}")]
    Eventfd(io::Error),
    #[error("spawning its thread: {0}")]
    Thread(io::Error),
}

/// Logs, once per process, that bundles are not watched and what that costs.
pub(super) fn warn_unavailable(e: &WatchError) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        log::debug!("not watching OCI bundles: {e}");
        return;
    }
    let hint = match e {
        WatchError::Inotify(io) if io.raw_os_error() == Some(libc::EMFILE) => {
            " (too many inotify instances: raise fs.inotify.max_user_instances, or open files: ulimit -n)"
        }
        _ => "",
    };
    log::warn!(
        "not watching OCI bundles: {e}{hint}; a container whose bundle is deleted before its \
         events are read (a failed start) will show without its pod's name"
    );
}

/// Size and timing limits; [`Default`] is what a live session uses, tests shrink them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) containers: usize,
    pub(super) pods: usize,
    pub(super) pending: usize,
    pub(super) retry: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { containers: MAX_CONTAINERS, pods: MAX_PODS, pending: MAX_PENDING, retry: RETRY }
    }
}

/// A map that forgets its oldest insertion once it holds `cap` entries. Updating a key keeps
/// its place.
#[derive(Debug)]
pub(super) struct Fifo<V> {
    map: HashMap<String, V>,
    /// The keys of `map`, oldest first: entries leave only by eviction, so the two agree.
    order: VecDeque<String>,
    cap: usize,
}

impl<V> Fifo<V> {
    pub(super) fn new(cap: usize) -> Self {
        Fifo { map: HashMap::new(), order: VecDeque::new(), cap }
    }

    pub(super) fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn insert(&mut self, key: String, value: V) {
        if self.cap == 0 {
            return;
        }
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        while self.map.len() >= self.cap {
            let Some(oldest) = self.order.pop_front() else { break };
            self.map.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }
}

/// What the thread found, read by the lookup side.
#[derive(Debug)]
pub(super) struct Known {
    pub(super) containers: Fifo<PodInfo>,
    /// Keyed by the lowercase UID.
    pub(super) pods: Fifo<PodInfo>,
    /// Container directories watched for their file, as of the thread's last batch of events.
    pub(super) pending: usize,
    /// Container directories read or watched since the start, scanned ones included; a
    /// directory seen again (by a scan and by its event) counts once.
    pub(super) dirs_seen: u64,
    /// The roots that existed at the start have been read.
    pub(super) scanned: bool,
}

struct Shared {
    stop: AtomicBool,
    /// An eventfd: written to wake the thread's poll(2).
    wake: File,
    known: Mutex<Known>,
}

impl Shared {
    /// The maps. A panic elsewhere while they were held leaves them usable, not poisoned.
    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Watches the bundle roots from a background thread. Dropping it stops and joins the thread.
pub(super) struct BundleWatcher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for BundleWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = self.shared.known();
        f.debug_struct("BundleWatcher")
            .field("containers", &known.containers.len())
            .field("pods", &known.pods.len())
            .field("pending", &known.pending)
            .finish_non_exhaustive()
    }
}

impl BundleWatcher {
    /// Watches `roots` with the default limits.
    pub(super) fn start(roots: &[Root]) -> Result<Self, WatchError> {
        Self::start_with(roots, Limits::default())
    }

    /// Every root that exists is watched before this returns. A directory created in one of
    /// them afterwards is therefore always seen, though not always read in time.
    pub(super) fn start_with(roots: &[Root], limits: Limits) -> Result<Self, WatchError> {
        let inotify = Inotify::init().map_err(WatchError::Inotify)?;
        let wake = eventfd().map_err(WatchError::Eventfd)?;
        let known = Known {
            containers: Fifo::new(limits.containers),
            pods: Fifo::new(limits.pods),
            pending: 0,
            dirs_seen: 0,
            scanned: false,
        };
        let shared = Arc::new(Shared { stop: AtomicBool::new(false), wake, known: Mutex::new(known) });
        let mut worker = Worker::new(inotify, roots, limits, Arc::clone(&shared));
        worker.watch_roots();
        let thread = std::thread::Builder::new()
            .name("fragtrace-bundles".into())
            .spawn(move || worker.run())
            .map_err(WatchError::Thread)?;
        Ok(BundleWatcher { shared, thread: Some(thread) })
    }

    /// The pod of container `id`, if its bundle was seen.
    pub(super) fn container(&self, id: &str) -> Option<PodInfo> {
        self.shared.known().containers.get(id).cloned()
    }

    /// The pod whose UID is `uid` (any case), without a container name.
    pub(super) fn pod(&self, uid: &str) -> Option<PodInfo> {
        self.shared.known().pods.get(&uid.to_ascii_lowercase()).cloned()
    }
}

impl Drop for BundleWatcher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Cannot fail short of the counter overflowing, which one write per drop cannot reach.
        let _ = (&self.shared.wake).write_all(&1u64.to_ne_bytes());
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has already been reported by the panic hook; lookups have
            // kept working from the maps and the lazy reads.
            let _ = thread.join();
        }
    }
}

fn eventfd() -> io::Result<File> {
    // SAFETY: no pointers; the flags are valid for eventfd(2).
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd(2) and nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// What a root directory is watched for: container directories appearing in it.
const ROOT_MASK: WatchMask = WatchMask::CREATE.union(WatchMask::MOVED_TO).union(WatchMask::ONLYDIR);
/// What a container directory is watched for while its file is missing: the file closed after
/// writing (containerd, CRI-O) or renamed into place (runc's state.json), or CRI-O's
/// `userdata/` directory created.
const PENDING_MASK: WatchMask =
    WatchMask::CREATE.union(WatchMask::CLOSE_WRITE).union(WatchMask::MOVED_TO).union(WatchMask::ONLYDIR);

/// One root directory, with every layout it is searched with (an `--oci-root` has two).
struct WatchedRoot {
    dir: PathBuf,
    entries: Vec<Root>,
    wd: Option<WatchDescriptor>,
}

impl WatchedRoot {
    fn has(&self, layout: Layout) -> bool {
        self.entries.iter().any(|r| r.layout == layout)
    }
}

/// A container directory watched until its file appears.
struct Pending {
    id: String,
    root: usize,
    /// Order of arrival, for dropping the oldest.
    seq: u64,
}

/// The thread's state: everything but the maps is its alone.
struct Worker {
    inotify: Inotify,
    roots: Vec<WatchedRoot>,
    root_wds: HashMap<WatchDescriptor, usize>,
    pending: HashMap<WatchDescriptor, Pending>,
    next_seq: u64,
    dirs_seen: u64,
    scanned: bool,
    limits: Limits,
    shared: Arc<Shared>,
    warned: bool,
}

impl Worker {
    fn new(inotify: Inotify, roots: &[Root], limits: Limits, shared: Arc<Shared>) -> Self {
        let mut grouped: Vec<WatchedRoot> = Vec::new();
        for root in roots {
            match grouped.iter_mut().find(|g| g.dir == root.dir) {
                Some(g) if !g.entries.contains(root) => g.entries.push(root.clone()),
                Some(_) => {}
                None => grouped.push(WatchedRoot { dir: root.dir.clone(), entries: vec![root.clone()], wd: None }),
            }
        }
        Worker {
            inotify,
            roots: grouped,
            root_wds: HashMap::new(),
            pending: HashMap::new(),
            next_seq: 0,
            dirs_seen: 0,
            scanned: false,
            limits,
            shared,
            warned: false,
        }
    }

    fn run(mut self) {
        let watched: Vec<usize> = (0..self.roots.len()).filter(|&i| self.roots[i].wd.is_some()).collect();
        for root in watched {
            self.scan_root(root);
        }
        self.scanned = true;
        self.publish();
        // Room for dozens of events (each at most 16 bytes plus a 256-byte name).
        let mut buffer = vec![0u8; 16 * 1024];
        let mut next_retry = Instant::now() + self.limits.retry;
        while !self.shared.stopped() {
            match self.wait(next_retry.saturating_duration_since(Instant::now())) {
                Ok(true) => self.drain(&mut buffer),
                Ok(false) => {}
                Err(e) => {
                    log::warn!("OCI bundle watcher stopped, lookups stay lazy: poll: {e}");
                    return;
                }
            }
            if Instant::now() >= next_retry {
                for root in self.watch_roots() {
                    self.scan_root(root);
                }
                next_retry = Instant::now() + self.limits.retry;
            }
            self.publish();
        }
    }

    /// Blocks until inotify has events (`true`), `timeout` passes or the watcher is dropped.
    fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let millis = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut fds = [
            libc::pollfd { fd: self.inotify.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: self.shared.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: `fds` is an array of `fds.len()` pollfds, alive for the whole call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
        }
        if fds[0].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            return Err(io::Error::other("the inotify descriptor failed"));
        }
        Ok(fds[0].revents & libc::POLLIN != 0)
    }

    /// Handles every queued event.
    fn drain(&mut self, buffer: &mut [u8]) {
        while !self.shared.stopped() {
            let events = match self.inotify.read_events(buffer) {
                Ok(events) => events,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("reading inotify events: {e}");
                    return;
                }
            };
            for event in events {
                self.handle(&event.wd, event.mask, event.name);
            }
        }
    }

    fn handle(&mut self, wd: &WatchDescriptor, mask: EventMask, name: Option<&OsStr>) {
        if mask.contains(EventMask::Q_OVERFLOW) {
            log::debug!("inotify queue overflowed: reading the OCI bundle roots again");
            // Directories waited on may have had their file written meanwhile…
            let waiting: Vec<(usize, String)> = self.pending.values().map(|p| (p.root, p.id.clone())).collect();
            for (root, id) in waiting {
                self.settle(root, &id);
            }
            // …and new ones may have come.
            for root in 0..self.roots.len() {
                if self.roots[root].wd.is_some() {
                    self.scan_root(root);
                }
            }
            return;
        }
        let name = name.and_then(OsStr::to_str);
        if let Some(&root) = self.root_wds.get(wd) {
            if mask.contains(EventMask::IGNORED) {
                // The root itself went away (deleted or unmounted): look for it again later.
                self.root_wds.remove(wd);
                self.roots[root].wd = None;
            } else if mask.contains(EventMask::ISDIR)
                && let Some(id) = name
            {
                self.discover(root, id);
            }
            return;
        }
        let Some((root, id)) = self.pending.get(wd).map(|p| (p.root, p.id.clone())) else { return };
        if mask.contains(EventMask::IGNORED) {
            // The directory is gone, and the kernel has dropped its watch.
            self.pending.remove(wd);
            return;
        }
        let Some(name) = name else { return };
        if mask.contains(EventMask::ISDIR) {
            if name == CRIO_USERDATA && self.roots[root].has(Layout::CrioUserdata) {
                self.watch_pending(root, &id);
            }
        } else if mask.intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO)
            && (name == CONFIG_FILE || name == RUNC_STATE_FILE)
        {
            self.settle(root, &id);
        }
    }

    /// Watches every root not watched yet that exists now; returns the ones it added.
    fn watch_roots(&mut self) -> Vec<usize> {
        let mut added = Vec::new();
        for root in 0..self.roots.len() {
            if self.roots[root].wd.is_some() {
                continue;
            }
            match self.inotify.watches().add(&self.roots[root].dir, ROOT_MASK) {
                // The same directory as another root, through a link: already covered.
                Ok(wd) if self.root_wds.contains_key(&wd) => {}
                Ok(wd) => {
                    self.root_wds.insert(wd.clone(), root);
                    self.roots[root].wd = Some(wd);
                    added.push(root);
                }
                Err(e) if is_gone(&e) => {}
                Err(e) => {
                    let dir = self.roots[root].dir.display().to_string();
                    self.warn_once(&dir, &e);
                }
            }
        }
        added
    }

    /// Reads every container directory in a root that is not known yet.
    fn scan_root(&mut self, root: usize) {
        let Ok(dir) = std::fs::read_dir(&self.roots[root].dir) else { return };
        for entry in dir.flatten() {
            if self.shared.stopped() {
                return;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir())
                && let Some(id) = entry.file_name().to_str()
            {
                self.discover(root, id);
            }
        }
    }

    /// A container directory `id` appeared in `root` (or was there at a scan).
    fn discover(&mut self, root: usize, id: &str) {
        // Directory names are whatever the runtime (or anyone who can write the root) chose.
        if !is_safe_id(id) || self.pending.values().any(|p| p.root == root && p.id == id) {
            return;
        }
        if self.shared.known().containers.get(id).is_some() {
            return;
        }
        self.dirs_seen += 1;
        if !self.settle(root, id) {
            self.watch_pending(root, id);
        }
    }

    /// Reads container `id` in `root`. Returns `false` while its file is missing. Otherwise
    /// it records what the file says and stops watching the container's directories.
    fn settle(&mut self, root: usize, id: &str) -> bool {
        let mut entry = Entry::Missing;
        for layout in &self.roots[root].entries {
            match read_entry(layout, id) {
                found @ Entry::Pod(_) => {
                    entry = found;
                    break;
                }
                Entry::NotPod => entry = Entry::NotPod,
                Entry::Missing => {}
            }
        }
        match entry {
            Entry::Missing => return false,
            Entry::Pod(info) => self.record(id, info),
            Entry::NotPod => {}
        }
        self.unwatch(id);
        true
    }

    fn record(&self, id: &str, info: PodInfo) {
        let mut known = self.shared.known();
        if let Some(uid) = info.pod_uid.as_deref() {
            let key = uid.to_ascii_lowercase();
            // Never trade a named pod for a nameless one.
            if info.pod_name.is_some() || known.pods.get(&key).is_none_or(|p| p.pod_name.is_none()) {
                known.pods.insert(key, PodInfo { container_name: None, ..info.clone() });
            }
        }
        known.containers.insert(id.to_string(), info);
    }

    /// Watches container `id`'s directory, and CRI-O's `userdata/` in it if there, until its
    /// file appears; then reads once more, for a file written before the watch was added.
    fn watch_pending(&mut self, root: usize, id: &str) {
        let dir = self.roots[root].dir.join(id);
        self.add_pending(root, id, &dir);
        let userdata = dir.join(CRIO_USERDATA);
        if self.roots[root].has(Layout::CrioUserdata) && userdata.is_dir() {
            self.add_pending(root, id, &userdata);
        }
        self.settle(root, id);
    }

    fn add_pending(&mut self, root: usize, id: &str, dir: &Path) {
        if self.limits.pending == 0 {
            return;
        }
        match self.inotify.watches().add(dir, PENDING_MASK) {
            Ok(wd) => {
                if !self.pending.contains_key(&wd) {
                    while self.pending.len() >= self.limits.pending && self.drop_oldest_pending() {}
                }
                self.next_seq += 1;
                self.pending.insert(wd, Pending { id: id.to_string(), root, seq: self.next_seq });
            }
            Err(e) if is_gone(&e) => {}
            Err(e) => self.warn_once(&dir.display().to_string(), &e),
        }
    }

    fn drop_oldest_pending(&mut self) -> bool {
        let Some(oldest) = self.pending.iter().min_by_key(|(_, p)| p.seq).map(|(wd, _)| wd.clone()) else {
            return false;
        };
        self.pending.remove(&oldest);
        let _ = self.inotify.watches().remove(oldest);
        true
    }

    /// Stops watching container `id`'s directories.
    fn unwatch(&mut self, id: &str) {
        if self.pending.is_empty() {
            return;
        }
        let wds: Vec<WatchDescriptor> =
            self.pending.iter().filter(|(_, p)| p.id == id).map(|(wd, _)| wd.clone()).collect();
        for wd in wds {
            self.pending.remove(&wd);
            // Fails only if the directory went away meanwhile, which dropped the watch anyway.
            let _ = self.inotify.watches().remove(wd);
        }
    }

    fn publish(&self) {
        let mut known = self.shared.known();
        known.pending = self.pending.len();
        known.dirs_seen = self.dirs_seen;
        known.scanned = self.scanned;
    }

    /// The first failure to add a watch is worth a warning (a limit is hit, most likely);
    /// the rest go to the debug log.
    fn warn_once(&mut self, dir: &str, e: &io::Error) {
        if std::mem::replace(&mut self.warned, true) {
            log::debug!("cannot watch {dir}: {e}");
            return;
        }
        let hint = if e.raw_os_error() == Some(libc::ENOSPC) { " (raise fs.inotify.max_user_watches)" } else { "" };
        log::warn!("cannot watch {dir}: {e}{hint}; containers there are read when their events are");
    }
}

/// The path went away, or never was: a normal race, not worth a word.
fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
