//! A program on a pseudo-terminal, with a parsed copy of its screen (`vt100`): how the
//! end-to-end tests see `fragtrace top` full screen, and how `cargo xtask bench top` runs it
//! as a user does. The pty itself comes from the `pty-process` crate.
//!
//! A thread reads the terminal's output as it comes, like a terminal emulator would: a
//! program whose output is not read blocks once the pty's buffer is full.

use std::{
    io::{self, Read, Write},
    process::{Child, Command, ExitStatus},
    sync::{Arc, Mutex, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use pty_process::blocking::{Pts, Pty as Master};

/// How long the output may keep coming after the program exited (something it started
/// still holding the terminal open) before [`Pty::wait_exit`] gives up on it.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What the reader thread has seen.
struct Output {
    screen: vt100::Parser,
    /// Everything the program wrote, raw.
    raw: Vec<u8>,
}

pub struct Pty {
    pub child: Child,
    master: Arc<Master>,
    /// Kept open so the terminal's settings can be inspected while the child runs; closed
    /// once it exited (see [`Pty::wait_exit`]).
    slave: Option<Pts>,
    /// The terminal's mode when the child had exited.
    cooked_at_exit: Option<bool>,
    reader: Option<JoinHandle<()>>,
    output: Arc<Mutex<Output>>,
}

/// `command` as pty-process builds it: program, arguments, environment and directory.
fn on_pty(command: &Command) -> pty_process::blocking::Command {
    let mut on_pty = pty_process::blocking::Command::new(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        on_pty = match value {
            Some(value) => on_pty.env(key, value),
            None => on_pty.env_remove(key),
        };
    }
    match command.get_current_dir() {
        Some(dir) => on_pty.current_dir(dir),
        None => on_pty,
    }
}

fn read_until_closed(mut master: &Master, output: &Mutex<Output>) {
    let mut buf = [0u8; 65536];
    // EIO once the last descriptor of the child's end is closed: the end of the output.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut out = output.lock().unwrap_or_else(PoisonError::into_inner);
        out.screen.process(&buf[..n]);
        out.raw.extend_from_slice(&buf[..n]);
    }
}

impl Pty {
    /// Starts `command` (with `TERM=xterm-256color`) on a new `cols`×`rows` terminal, as the
    /// session leader with the terminal as its controlling terminal and its stdin, stdout
    /// and stderr.
    pub fn spawn(mut command: Command, cols: u16, rows: u16) -> io::Result<Self> {
        let (master, slave) = pty_process::blocking::open().map_err(io::Error::other)?;
        master.resize(pty_process::Size::new(rows, cols)).map_err(io::Error::other)?;
        command.env("TERM", "xterm-256color");
        let child = on_pty(&command).spawn_borrowed(&slave).map_err(io::Error::other)?;
        let master = Arc::new(master);
        let output = Arc::new(Mutex::new(Output { screen: vt100::Parser::new(rows, cols, 0), raw: Vec::new() }));
        let (m, o) = (master.clone(), output.clone());
        let reader = std::thread::Builder::new().name("pty-reader".into()).spawn(move || read_until_closed(&m, &o))?;
        Ok(Self { child, master, slave: Some(slave), cooked_at_exit: None, reader: Some(reader), output })
    }

    fn output(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The screen's text as the program drew it.
    pub fn contents(&self) -> String {
        self.output().screen.screen().contents()
    }

    /// Everything the program wrote so far, raw.
    pub fn raw(&self) -> Vec<u8> {
        self.output().raw.clone()
    }

    /// Types `keys` as a user would.
    pub fn type_keys(&mut self, keys: &[u8]) -> io::Result<()> {
        (&*self.master).write_all(keys)
    }

    /// Whether the terminal is in cooked mode (canonical input with echo), as a shell
    /// expects it: now, or when the program had exited.
    pub fn terminal_is_cooked(&self) -> bool {
        if let Some(cooked) = self.cooked_at_exit {
            return cooked;
        }
        let Some(slave) = &self.slave else { return false };
        use rustix::termios::LocalModes;
        rustix::termios::tcgetattr(slave).is_ok_and(|t| t.local_modes.contains(LocalModes::ICANON | LocalModes::ECHO))
    }

    /// Waits up to `timeout` for the program to exit; `None` if it still runs. Once it
    /// exited, everything it wrote has been read: [`Pty::raw`] and the screen hold its last
    /// bytes (the terminal restore sequences), with no race against the reader.
    pub fn wait_exit(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.drain_after_exit()?;
        Ok(Some(status))
    }

    /// With the child gone, its output is in the master's buffer or read already. With the
    /// last descriptor of the child's end closed, the reader gets the rest and then EIO.
    fn drain_after_exit(&mut self) -> io::Result<()> {
        if self.cooked_at_exit.is_none() {
            self.cooked_at_exit = Some(self.terminal_is_cooked());
        }
        drop(self.slave.take());
        let Some(reader) = self.reader.take() else { return Ok(()) };
        let deadline = Instant::now() + DRAIN_LIMIT;
        while !reader.is_finished() {
            if Instant::now() >= deadline {
                return Err(io::Error::other("the pty still has a writer after the program exited"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = reader.join();
        Ok(())
    }
}

/// Kills the program (our own child, by pid) if it still runs, so no full-screen program is
/// left behind on a failure.
impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
