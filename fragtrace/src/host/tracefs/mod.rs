//! tracefs: where it is mounted, and the event format files under it.

pub mod format;
pub mod layout;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use format::{EventFormat, Field};

#[derive(Debug, Error)]
pub enum FormatError {
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("no `{0}` line")]
    Missing(&'static str),
    #[error("event {event} has no field `{field}` on this kernel")]
    MissingField { event: String, field: String },
    #[error("field `{field}` of {event} has unsupported size {size}")]
    UnsupportedSize { event: String, field: String, size: u32 },
    #[error("print fmt: {0}")]
    PrintFmt(String),
}

#[derive(Debug, Error)]
pub enum TracefsError {
    #[error(
        "tracefs is not mounted (looked in /sys/kernel/tracing and /sys/kernel/debug/tracing); \
         mount it with `mount -t tracefs nodev /sys/kernel/tracing`"
    )]
    NotMounted,
    #[error("mounting tracefs at /sys/kernel/tracing failed: {0}")]
    MountFailed(std::io::Error),
    #[error(
        "tracepoint {0} does not exist on this kernel (no {1}); \
         is CONFIG_TRACEPOINTS set and the kmem subsystem built in?"
    )]
    NoSuchEvent(String, PathBuf),
    #[error("reading {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("parsing {0}: {1}")]
    Format(PathBuf, FormatError),
}

const CANDIDATES: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// A mounted tracefs.
#[derive(Clone, Debug)]
pub struct Tracefs {
    root: PathBuf,
}

impl Tracefs {
    /// A tracefs rooted at `root` (tests point this at fixtures).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Finds the mounted tracefs; when none is and `mount_if_missing` is set, mounts one at
    /// /sys/kernel/tracing (needs CAP_SYS_ADMIN).
    pub fn locate(mount_if_missing: bool) -> Result<Self, TracefsError> {
        if let Some(found) = CANDIDATES.iter().map(Path::new).find(|p| p.join("events").is_dir()) {
            return Ok(Self::at(found));
        }
        if !mount_if_missing {
            return Err(TracefsError::NotMounted);
        }
        mount_tracefs(Path::new(CANDIDATES[0]))?;
        log::info!("mounted tracefs at {}", CANDIDATES[0]);
        Ok(Self::at(CANDIDATES[0]))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn event_dir(&self, system: &str, event: &str) -> PathBuf {
        self.root.join("events").join(system).join(event)
    }

    /// Reads and parses `events/<system>/<event>/format`.
    pub fn event_format(&self, system: &str, event: &str) -> Result<EventFormat, TracefsError> {
        let path = self.event_dir(system, event).join("format");
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                TracefsError::NoSuchEvent(format!("{system}:{event}"), path.clone())
            }
            _ => TracefsError::Io(path.clone(), e),
        })?;
        EventFormat::parse(&text).map_err(|e| TracefsError::Format(path, e))
    }
}

fn mount_tracefs(target: &Path) -> Result<(), TracefsError> {
    use std::ffi::CString;
    let c = |s: &str| CString::new(s).expect("static string without NUL");
    let target_c = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|e| TracefsError::MountFailed(std::io::Error::other(e)))?;
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            c("nodev").as_ptr(),
            target_c.as_ptr(),
            c("tracefs").as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(TracefsError::MountFailed(std::io::Error::last_os_error()));
    }
    Ok(())
}
