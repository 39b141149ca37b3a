//! Runs a program on a pseudo-terminal and keeps a parsed copy of its screen, for testing the
//! full-screen view as a user sees it: the shared `fragtrace-pty` helper (also used by
//! `cargo xtask bench top`), with test-style failures that show the screen.

use std::{
    ops::{Deref, DerefMut},
    process::{Command, ExitStatus},
    time::Duration,
};

use crate::poll;

/// A [`fragtrace_pty::Pty`] whose failures panic with the screen; `child`, `contents`, `raw`
/// and `terminal_is_cooked` are the inner ones.
pub struct Pty(fragtrace_pty::Pty);

impl Deref for Pty {
    type Target = fragtrace_pty::Pty;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Pty {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Pty {
    pub fn spawn(command: Command, cols: u16, rows: u16) -> Self {
        Self(fragtrace_pty::Pty::spawn(command, cols, rows).expect("spawning on a pty"))
    }

    /// Waits until `pred` holds for the screen's text; panics with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        poll(timeout, || Some(self.contents()).filter(|text| pred(text)))
            .unwrap_or_else(|| panic!("{what} not on screen within {timeout:?}; screen:\n{}", self.contents()))
    }

    pub fn type_keys(&mut self, keys: &[u8]) {
        self.0.type_keys(keys).expect("writing to the pty");
    }

    /// Waits for the child to exit and for its last output; panics with the screen after
    /// `timeout` (the child is killed when the `Pty` drops).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.0.wait_exit(timeout) {
            Ok(Some(status)) => status,
            Ok(None) => panic!("the program did not exit within {timeout:?}; screen:\n{}", self.contents()),
            Err(e) => panic!("waiting for the program on the pty: {e}; screen:\n{}", self.contents()),
        }
    }
}
