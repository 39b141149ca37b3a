//! `fragtrace top` as users run it: full screen on a terminal (driven through a pty and read
//! back as a screen), and batch text/JSON for scripts.

use std::{process::Stdio, time::Duration};

use fragtrace_tests::{
    built_binary,
    cli::{
        KillOnDrop, TempPath, fragtrace, json_lines, lines_of, provoke_failures, signal, start_recorder, wait_for, wait_until_recorded_failures,
        wait_until_recorded_ticks,
    },
    pty::Pty,
    require_root, wait_until,
};

#[test]
fn full_screen_shows_the_failures_and_q_restores_the_terminal() {
    let _serial = require_root();
    let mut command = std::process::Command::new(built_binary("fragtrace"));
    command.args(["top", "--interval", "500ms", "--alloc-probe", "always"]);
    let mut pty = Pty::spawn(command, 120, 40);
    pty.wait_for("the failures pane", Duration::from_secs(30), |s| s.contains("Failures by process/order/flags"));
    assert!(pty.contents().contains("Zones"), "the zones pane shows live buddyinfo");
    let trigger = provoke_failures("tui");
    // Pane borders touch the text: compare words with them blanked out.
    let words = |l: &str| l.replace(['│', '┐', '┌'], " ").split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let screen = pty.wait_for("the trigger's order-9 failure", Duration::from_secs(30), |s| {
        s.lines().any(|l| words(l).starts_with(&["alloc-trigger".to_string(), "9".to_string()]))
    });
    let row = screen.lines().find(|l| l.contains("alloc-trigger")).expect("row");
    assert!(row.contains("GFP_KERNEL_ACCOUNT"), "decoded flags in the row: {row}");
    assert!(screen.contains("o9"), "the failing-orders pane counts order 9:\n{screen}");
    // Enter opens the selected group's stacks.
    pty.type_keys(b"/alloc-trigger\r\r");
    pty.wait_for("the stacks overlay", Duration::from_secs(10), |s| s.contains("pipe_resize_ring") && s.contains("Stacks of"));
    // A lone Esc is told from an escape sequence by the pause after it: nothing else is typed
    // until the overlay has closed.
    pty.type_keys(b"\x1b");
    pty.wait_for("the overlay to close", Duration::from_secs(5), |s| !s.contains("Stacks of"));
    pty.type_keys(b"q");
    let status = pty.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "top exited with {status}; pid {}", trigger.pid);
    assert!(pty.terminal_is_cooked(), "raw mode is undone on exit");
    let raw = pty.raw();
    let tail = &raw[raw.len().saturating_sub(256)..];
    let s = String::from_utf8_lossy(tail);
    assert!(s.contains("\x1b[?1049l"), "the alternate screen is left on exit: {s:?}");
    assert!(s.contains("\x1b[?25h"), "the cursor is shown again: {s:?}");
}

/// The orders of the trigger's rows in the last report of `top --batch` (sorted; the rows of
/// the FAILURES table are indented by ten spaces).
fn text_orders(lines: &[String]) -> Vec<&str> {
    let Some(last) = lines.iter().rposition(|l| l.starts_with("fragtrace — ")) else { return Vec::new() };
    let mut orders: Vec<&str> =
        lines[last..].iter().filter(|l| l.starts_with("          alloc-trigger")).filter_map(|l| l.split_whitespace().nth(1)).collect();
    orders.sort_unstable();
    orders
}

/// The orders of the failure groups in one `top --json` document (sorted).
fn json_orders(line: &str) -> Vec<u64> {
    let doc: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"));
    let mut orders: Vec<u64> = doc["failures"]["groups"].as_array().into_iter().flatten().filter_map(|g| g["order"].as_u64()).collect();
    orders.sort_unstable();
    orders
}

#[test]
fn batch_text_and_json_show_the_same_failures() {
    let _serial = require_root();
    let mut text = KillOnDrop(
        fragtrace().args(["top", "--batch", "--interval", "500ms", "--comm", "alloc-trigger", "--alloc-probe", "always"]).stdout(Stdio::piped()).spawn().expect("top --batch"),
    );
    let mut json = KillOnDrop(
        fragtrace().args(["top", "--json", "--interval", "500ms", "--comm", "alloc-trigger", "--alloc-probe", "always"]).stdout(Stdio::piped()).spawn().expect("top --json"),
    );
    let text_out = lines_of(text.stdout.take().expect("stdout"));
    let json_out = lines_of(json.stdout.take().expect("stdout"));
    let (mut text_seen, mut json_seen) = (Vec::new(), Vec::new());
    wait_for(&text_out, "fragtrace — ", &mut text_seen);
    wait_for(&json_out, "\"kind\":\"top\"", &mut json_seen);
    provoke_failures("batch");
    // Both show the four groups at their next refreshes.
    wait_until("top --batch to show the four failures", Duration::from_secs(30), || {
        text_seen.extend(text_out.try_iter());
        text_orders(&text_seen) == ["6", "7", "8", "9"]
    });
    wait_until("top --json to show the four failures", Duration::from_secs(30), || {
        json_seen.extend(json_out.try_iter());
        json_seen.last().is_some_and(|l| json_orders(l) == [6, 7, 8, 9])
    });
    for child in [&text, &json] {
        signal(child, libc::SIGINT);
    }
    assert!(text.wait().expect("exit").success() && json.wait().expect("exit").success());
    text_seen.extend(text_out.iter());
    json_seen.extend(json_out.iter());
    // Text: the last report has the four groups.
    let last = text_seen.iter().rposition(|l| l.starts_with("fragtrace — ")).expect("a report");
    assert_eq!(text_orders(&text_seen), ["6", "7", "8", "9"], "{:?}", &text_seen[last..]);
    // JSON: the last object has the same groups.
    let objects = json_lines(json_seen.join("\n").as_bytes());
    let doc = objects.last().expect("a JSON report");
    assert_eq!(doc["kind"], "top");
    assert_eq!(doc["filters"], "comm=alloc-trigger");
    assert_eq!(json_orders(json_seen.last().expect("a JSON report")), [6, 7, 8, 9]);
    assert!(doc["failures"]["groups"].as_array().expect("groups").iter().all(|g| g["comm"] == "alloc-trigger"));
    assert!(doc["rates"]["allocs_per_s"].as_f64().is_some(), "rates over the interval: {}", doc["rates"]);
}

#[test]
fn a_full_screen_replay_at_80x24_pauses_resets_and_restores_the_terminal_on_sigterm() {
    let _serial = require_root();
    let file = TempPath::new("replay-tui.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &[]);
    // Ticks on disk before the failures and after them, so the replay has some to play.
    wait_until_recorded_ticks(&file);
    let trigger = provoke_failures("replay-tui");
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());

    let mut command = std::process::Command::new(built_binary("fragtrace"));
    command.args(["top", "--replay"]).arg(&file);
    let mut pty = Pty::spawn(command, 80, 24);
    let words = |l: &str| l.replace(['│', '┐', '┌'], " ").split_whitespace().map(str::to_string).collect::<Vec<_>>();
    pty.wait_for("the replayed failures", Duration::from_secs(30), |s| {
        s.contains("replay") && s.lines().any(|l| words(l).starts_with(&["alloc-trigger".to_string(), "9".to_string()]))
    });
    pty.type_keys(b"p");
    pty.wait_for("the pause marker", Duration::from_secs(5), |s| s.starts_with("PAUSED"));
    pty.type_keys(b"pr");
    pty.wait_for("the reset", Duration::from_secs(5), |s| !s.starts_with("PAUSED") && s.contains("no allocation failures"));
    signal(&pty.child, libc::SIGTERM);
    let status = pty.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "SIGTERM ends the replay: {status}");
    assert!(pty.terminal_is_cooked(), "raw mode is undone on SIGTERM");
    let raw = pty.raw();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(256)..]).into_owned();
    assert!(tail.contains("\x1b[?1049l"), "the alternate screen is left: {tail:?}");
}
