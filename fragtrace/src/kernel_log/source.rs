//! Reading the running kernel's log from `/dev/kmsg`: one record per read, the whole buffer
//! then stop, or (`--follow`) waiting for new records.

use std::{
    fs::{File, OpenOptions},
    io::{ErrorKind, Read},
    os::unix::fs::OpenOptionsExt,
};

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
    /// Opens `/dev/kmsg` at its oldest record. `follow`: reads block for new records;
    /// otherwise reading stops at the end of the buffer.
    pub fn open(follow: bool) -> Result<Self, KmsgError> {
        let mut options = OpenOptions::new();
        options.read(true);
        if !follow {
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options.open("/dev/kmsg").map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied => KmsgError::Permission,
            _ => KmsgError::Io(e),
        })?;
        Ok(Self { file, buf: vec![0; RECORD_MAX] })
    }

    /// Waits up to `timeout` for a record to be readable; false on timeout.
    pub fn wait(&self, timeout: std::time::Duration) -> Result<bool, KmsgError> {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for our own descriptor.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == ErrorKind::Interrupted { Ok(false) } else { Err(e.into()) };
        }
        Ok(rc > 0)
    }

    /// The next record's text (`prio,seq,usec,flags;message` plus ` KEY=value` lines), or
    /// `None` at the end of the buffer when not following.
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
