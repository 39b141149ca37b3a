//! Runs a program on a pseudo-terminal and keeps a parsed copy of its screen, for testing the
//! full-screen view as a user sees it.

use std::{
    io::{Read, Write},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{poll, wait_exit};

pub struct Pty {
    pub child: Child,
    master: std::fs::File,
    /// Kept open so the terminal's settings can be inspected while the child runs; closed
    /// once it exited (see [`Pty::wait_exit`]).
    slave: Option<OwnedFd>,
    /// The terminal's mode when the child had exited.
    cooked_at_exit: Option<bool>,
    reader: Option<std::thread::JoinHandle<()>>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Everything the program wrote, raw.
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    pub fn spawn(mut command: Command, cols: u16, rows: u16) -> Self {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: valid out-pointers; no name buffer; a valid winsize.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two fresh descriptors we now own.
        let (master, slave) = unsafe { (std::fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let stdio = || Stdio::from(slave.try_clone().expect("dup slave"));
        command.stdin(stdio()).stdout(stdio()).stderr(stdio()).env("TERM", "xterm-256color");
        // SAFETY: setsid and the controlling-terminal ioctl are async-signal-safe.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = command.spawn().expect("spawning on the pty");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup master");
        let (s, r) = (screen.clone(), raw.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().expect("screen").process(&buf[..n]);
                r.lock().expect("raw").extend_from_slice(&buf[..n]);
            }
        });
        Self { child, master, slave: Some(slave), cooked_at_exit: None, reader: Some(reader), screen, raw }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().expect("screen").screen().contents()
    }

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw").clone()
    }

    /// Waits until `pred` holds for the screen's text; panics with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        poll(timeout, || Some(self.contents()).filter(|text| pred(text)))
            .unwrap_or_else(|| panic!("{what} not on screen within {timeout:?}; screen:\n{}", self.contents()))
    }

    pub fn type_keys(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("writing to the pty");
    }

    /// Whether the terminal is back in cooked mode (canonical input with echo), as a shell
    /// expects it.
    pub fn terminal_is_cooked(&self) -> bool {
        if let Some(cooked) = self.cooked_at_exit {
            return cooked;
        }
        let Some(slave) = &self.slave else { return false };
        // SAFETY: a zeroed termios is a valid out-buffer for tcgetattr on our own fd.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and pointer.
        let rc = unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut t) };
        rc == 0 && t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// After the child exited, everything it wrote is in the master's buffer or read
    /// already. With the last slave descriptor closed, the reader gets the rest and then EIO:
    /// once it has ended, `raw` and the screen hold the child's last bytes (the terminal
    /// restore sequences the tests look for), with no race against the reader thread.
    fn drain_after_exit(&mut self) {
        self.cooked_at_exit = Some(self.terminal_is_cooked());
        drop(self.slave.take());
        let Some(reader) = self.reader.take() else { return };
        // Bounded, in case something the child started still holds the terminal open.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !reader.is_finished() {
            assert!(Instant::now() < deadline, "the pty still has a writer after the program exited");
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = reader.join();
    }

    /// Waits for the child to exit, killing it (our own child, by pid) after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = wait_exit(&mut self.child, timeout).unwrap_or_else(|| {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("the program did not exit within {timeout:?}; screen:\n{}", self.contents())
        });
        self.drain_after_exit();
        status
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
