//! Reading the running kernel's log from `/dev/kmsg`: one record per read, the whole buffer
//! then stop ([`Kmsg`]), or (`--follow`) waiting for new records on the tokio runtime
//! ([`KmsgFollower`]).

use std::{
    fs::{File, OpenOptions},
    io::{ErrorKind, Read},
    os::{
        fd::{AsRawFd, RawFd},
        unix::fs::OpenOptionsExt,
    },
    time::Duration,
};

use tokio::io::{Interest, unix::AsyncFd};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum KmsgError {
    #[error("cannot read the kernel log (/dev/kmsg): permission denied; kernel.dmesg_restrict is set, so run as root (or with CAP_SYSLOG), or pass a saved log file")]
    Permission,
    #[error("cannot read the kernel log (/dev/kmsg): {0}")]
    Io(#[from] std::io::Error),
}

pub struct Kmsg {
    file: File,
    buf: Vec<u8>,
}

/// Longest record the kernel hands out (`CONSOLE_EXT_LOG_MAX` is 8 KiB).
const RECORD_MAX: usize = 16 * 1024;

impl Kmsg {
    /// Opens `/dev/kmsg` at its oldest record. Reads never block: reading stops at the end
    /// of the buffer ([`KmsgFollower`] waits for new records).
    pub fn open() -> Result<Self, KmsgError> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg").map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied => KmsgError::Permission,
            _ => KmsgError::Io(e),
        })?;
        Ok(Self { file, buf: vec![0; RECORD_MAX] })
    }

    /// The next record's text (`prio,seq,usec,flags;message` plus ` KEY=value` lines), or
    /// `None` at the end of the buffer.
    pub fn next_record(&mut self) -> Result<Option<String>, KmsgError> {
        loop {
            match self.file.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => return Ok(Some(String::from_utf8_lossy(&self.buf[..n]).into_owned())),
                // Records were overwritten before we read them: go on with the next ones.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsRawFd for Kmsg {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// `/dev/kmsg` followed on the tokio runtime: waits for new records without a thread or a
/// blocking read, so the caller can wait for signals in the same `select!`.
pub struct KmsgFollower {
    kmsg: AsyncFd<Kmsg>,
}

impl KmsgFollower {
    /// Opens `/dev/kmsg` at its oldest record (the whole buffer is read first). Needs a
    /// tokio runtime with I/O enabled.
    pub fn open() -> Result<Self, KmsgError> {
        // SAFETY: the AsyncFd owns the Kmsg, whose File keeps the descriptor open (and the
        // same) until the AsyncFd is dropped.
        let kmsg = unsafe { AsyncFd::register_with_interest(Kmsg::open()?, Interest::READABLE) }.map_err(std::io::Error::from)?;
        Ok(Self { kmsg })
    }

    /// The next record, or `None` when `quiet` passed without one (or the log was readable
    /// and then had nothing to read: another reader, a race). Cancel-safe: a record is only
    /// taken from the kernel once it is returned.
    pub async fn next_record(&mut self, quiet: Duration) -> Result<Option<String>, KmsgError> {
        let Ok(ready) = tokio::time::timeout(quiet, self.kmsg.readable_mut()).await else {
            return Ok(None);
        };
        let mut guard = ready?;
        let record = guard.get_inner_mut().next_record()?;
        if record.is_none() {
            guard.clear_ready();
        }
        Ok(record)
    }
}
