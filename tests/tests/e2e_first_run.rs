//! The README's first command, `cargo xtask top`, run as a newcomer runs it: from the top of
//! the checkout, in a terminal. xtask builds the release binary first (minutes on a cold
//! checkout), then starts `fragtrace top` on that terminal: the full-screen view must come up
//! (not the plain-text reports `top` prints when its stdin or stdout is not a terminal), `q`
//! must end it with status 0, and the terminal must be back as the shell left it.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use fragtrace_tests::{pty::Pty, require_root, wait_for_value};

/// Building fragtrace in release mode (with its eBPF object) on a cold checkout, on a small
/// machine shared with other builds. Waited for as a condition (the view on screen), so a warm
/// build takes seconds.
const BUILD_AND_START: Duration = Duration::from_secs(30 * 60);

#[test]
fn cargo_xtask_top_opens_the_full_screen_view_and_q_quits() {
    let _serial = require_root();
    // Cargo tells the tests which cargo runs them.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(cargo);
    command.args(["xtask", "top"]).current_dir(&workspace);
    let started = Instant::now();
    let mut pty = Pty::spawn(command, 120, 40);
    // The same panes e2e_top.rs waits for when it starts the binary itself.
    let screen = wait_for_value("the full-screen view of `cargo xtask top`", BUILD_AND_START, || {
        if let Some(status) = pty.child.try_wait().expect("try_wait on our child") {
            panic!("`cargo xtask top` exited with {status} before showing the full-screen view; screen:\n{}", pty.contents());
        }
        let screen = pty.contents();
        // `top` without a terminal on stdin and stdout prints plain-text reports instead.
        assert!(!screen.contains("fragtrace — "), "`cargo xtask top` printed plain-text reports, not the full-screen view:\n{screen}");
        Some(screen).filter(|s| s.contains("Failures by process/order/flags"))
    });
    assert!(screen.contains("Zones"), "the zones pane shows live buddyinfo:\n{screen}");
    let shown_after = started.elapsed();
    pty.type_keys(b"q");
    let status = pty.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "`cargo xtask top` exited with {status}; screen:\n{}", pty.contents());
    assert!(pty.terminal_is_cooked(), "raw mode is undone on exit");
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    let entered = raw.rfind("\x1b[?1049h").expect("the full-screen view entered the alternate screen");
    let after = &raw[entered..];
    assert!(after.contains("\x1b[?1049l"), "the alternate screen is left on exit: {:?}", &after[after.len().saturating_sub(256)..]);
    assert!(after.contains("\x1b[?25h"), "the cursor is shown again: {:?}", &after[after.len().saturating_sub(256)..]);
    eprintln!("cargo xtask top: full screen after {:.1} s, done after {:.1} s", shown_after.as_secs_f64(), started.elapsed().as_secs_f64());
}
