//! `cargo xtask vm-test`: fragtrace end to end on other kernels, in QEMU. A Debian kernel
//! (only its `vmlinuz`, from the package) boots with 512 MiB and an initramfs holding
//! busybox, the static fragtrace from `cargo xtask dist` and the static `vm-fragment` driver.
//! The guest (`vm_guest.sh`) fragments its memory on purpose, provokes an order-4 keyring
//! failure, order-9 THP and hugetlb failures under `fragtrace record` for each probe mode,
//! and prints the JSON of `report`, `doctor` and `dmesg` on the serial console; this side
//! checks it. KVM is not usable here, so QEMU emulates (TCG).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::{
    setup,
    vm_kernels::{self, Kernel},
};

const GUEST_INIT: &str = include_str!("vm_guest.sh");
/// A whole run (boot, three probe modes, checks) on this machine takes well under this; the
/// miss-rate bench passes its own.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Static builds of fragtrace (dist) and the guest driver.
pub fn guest_binaries() -> anyhow::Result<(PathBuf, PathBuf)> {
    let fragtrace = crate::dist()?;
    let driver = crate::static_test_binary(&setup::ensure()?, "vm-fragment")?;
    Ok((fragtrace, driver))
}

/// `files`: (name, content) pairs put at the initramfs root for the guest script to read
/// (`modes`, and for the miss-rate bench `scenario`, `tries`, `loads`).
pub fn initramfs(fragtrace: &Path, driver: &Path, files: &[(&str, String)]) -> anyhow::Result<PathBuf> {
    let root = PathBuf::from("target/vm/initramfs-root");
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().find(|p| Path::new(p).exists()).context("busybox-static is not installed")?;
    std::fs::copy(busybox, root.join("bin/busybox"))?;
    std::fs::copy(fragtrace, root.join("fragtrace"))?;
    std::fs::copy(driver, root.join("vm-fragment"))?;
    std::fs::write(root.join("init"), GUEST_INIT)?;
    for (name, content) in files {
        std::fs::write(root.join(name), content)?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("init"), std::fs::Permissions::from_mode(0o755))?;
    let out = std::fs::canonicalize("target/vm")?.join("initramfs.cpio.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("find . | cpio -o -H newc --quiet | gzip -1 > {}", out.display()))
        .current_dir(&root)
        .status()
        .context("cpio")?;
    if !status.success() {
        bail!("building the initramfs failed");
    }
    Ok(out)
}

/// Boots the kernel and returns the console output (until the guest says it is done).
pub fn boot(kernel: &Kernel, initrd: &Path, timeout: Duration) -> anyhow::Result<String> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-m", "512M", "-smp", "1", "-nographic", "-no-reboot", "-accel", "tcg", "-cpu", "max"])
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 loglevel=4 transparent_hugepage=always"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting qemu-system-x86_64 (Debian package qemu-system-x86)")?;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().context("qemu stdout")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut console = String::new();
    let outcome = loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let done = line.contains("==DONE==");
                console.push_str(line.trim_end_matches('\r'));
                console.push('\n');
                if done {
                    break Ok(());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err("the guest stopped before finishing"),
        }
        if started.elapsed() > timeout {
            break Err("the guest did not finish in time");
        }
    };
    // Always torn down: poweroff -f normally ends it; otherwise kill our child by pid.
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::write(format!("target/vm/console-{}.log", kernel.label.replace('/', "_")), &console).ok();
    if let Err(why) = outcome {
        let tail: Vec<&str> = console.lines().rev().take(40).collect();
        bail!("{why} after {:.0} s; console tail:\n{}", started.elapsed().as_secs_f64(), tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    eprintln!("vm-test: {} finished in {:.0} s", kernel.label, started.elapsed().as_secs_f64());
    Ok(console)
}

/// The `==BEGIN name==` … `==END name==` blocks of the console.
pub fn blocks(console: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in console.lines() {
        if let Some(name) = line.strip_prefix("==BEGIN ").and_then(|l| l.strip_suffix("==")) {
            current = Some((name.to_string(), String::new()));
        } else if line.starts_with("==END ") {
            if let Some((name, body)) = current.take() {
                out.insert(name, body);
            }
        } else if let Some((_, body)) = &mut current {
            // Kernel messages ("[   12.345678] …") interleave with the console: skip them.
            if !is_kernel_message(line) {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    out
}

fn is_kernel_message(line: &str) -> bool {
    line.strip_prefix('[').and_then(|r| r.split_once(']')).is_some_and(|(ts, _)| {
        let ts = ts.trim();
        !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit() || c == '.') && ts.contains('.')
    })
}

pub fn json(blocks: &BTreeMap<String, String>, name: &str) -> anyhow::Result<Value> {
    let text = blocks.get(name).with_context(|| format!("the guest printed no {name} block"))?;
    let start = text.find(['{', '[']).with_context(|| format!("{name}: no JSON in {text:?}"))?;
    serde_json::from_str(&text[start..]).with_context(|| format!("{name}: not JSON: {text}"))
}

/// What one probe mode must show: checked from the guest's own outputs.
fn check_mode(blocks: &BTreeMap<String, String>, mode: &str, checks: &mut Vec<(String, bool, String)>) -> anyhow::Result<()> {
    let mut check = |what: String, ok: bool, detail: String| checks.push((what, ok, detail));
    let keyring = json(blocks, &format!("keyring-{mode}"))?;
    check(format!("{mode}: add_key fails with ENOMEM once order ≥ 4 is gone"), keyring["add_key_errno"] == 12, keyring.to_string());
    let hugepages: u64 = blocks.get(&format!("hugetlb-{mode}")).and_then(|t| t.trim().parse().ok()).unwrap_or(u64::MAX);
    check(format!("{mode}: hugetlb shortfall (nr_hugepages 16 requested)"), hugepages < 16, format!("got {hugepages}"));
    let report = json(blocks, &format!("report-{mode}"))?;
    let groups = report["failures"]["groups"].as_array().cloned().unwrap_or_default();
    let order4 = groups.iter().find(|g| g["order"] == 4 && g["comm"] == "vm-fragment");
    let flags: Vec<String> = order4.and_then(|g| g["gfp_flags"].as_array()).map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect()).unwrap_or_default();
    check(
        format!("{mode}: the order-4 keyring failure is recorded with GFP_KERNEL|__GFP_COMP"),
        order4.is_some() && flags.iter().any(|f| f == "GFP_KERNEL") && flags.iter().any(|f| f == "__GFP_COMP"),
        format!("{:?}", groups.iter().map(|g| (g["comm"].clone(), g["order"].clone(), g["gfp_flags"].clone())).collect::<Vec<_>>()),
    );
    let stack: Vec<String> = order4.and_then(|g| g["top_stack"].as_array()).map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect()).unwrap_or_default();
    check(
        format!("{mode}: its stack goes through add_key"),
        stack.iter().any(|f| f.contains("add_key") || f.contains("user_preparse") || f.contains("key_create")),
        stack.join(" < "),
    );
    let order9 = report["failures"]["by_order"]["9"].as_u64().unwrap_or(0);
    check(format!("{mode}: order-9 (THP/hugetlb) failures recorded"), order9 > 0, report["failures"]["by_order"].to_string());
    let stall_kinds: Vec<String> = report["stalls"].as_array().map(|a| a.iter().filter_map(|s| s["kind"].as_str().map(str::to_string)).collect()).unwrap_or_default();
    // Compaction only where the kernel compacted at all: after a failed compaction it defers
    // the next ones, and a later mode of the same boot may see none (6.12 and 7.x do).
    let direct_compactions: Option<u64> = blocks.get(&format!("direct-compactions-{mode}")).and_then(|t| t.trim().parse().ok());
    let compaction = stall_kinds.iter().any(|k| k == "compaction") || direct_compactions == Some(0);
    check(
        format!("{mode}: direct reclaim stalls recorded, and direct compaction stalls where the kernel compacted"),
        stall_kinds.iter().any(|k| k == "reclaim") && compaction,
        format!("{stall_kinds:?}; direct compactions in the kernel's trace: {direct_compactions:?}"),
    );
    let extfrag = report["extfrag"]["total"].as_u64().unwrap_or(0);
    check(format!("{mode}: extfrag fallbacks recorded"), extfrag > 0, format!("{extfrag}"));
    // The mask recorded by the probe is the one the kernel printed for the same failure.
    if let (Some(g), Ok(printed)) = (order4, json(blocks, "dmesg")) {
        let printed: Vec<String> = printed
            .as_array()
            .map(|a| a.iter().filter(|r| r["kind"] == "failure" && r["order"] == 4).filter_map(|r| r["gfp_mask"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let recorded = g["gfp_mask"].as_str().unwrap_or("?").to_string();
        check(format!("{mode}: the recorded order-4 mask is the one the kernel printed"), printed.contains(&recorded), format!("recorded {recorded}, printed {printed:?}"));
    }
    let doctor = json(blocks, &format!("doctor-{mode}"))?;
    let zones = doctor["diagnosis"]["zones"].as_array().cloned().unwrap_or_default();
    let biggest = zones.iter().max_by_key(|z| z["free_mib"].as_u64().unwrap_or(0));
    // "Unavailable": fragmented, and (almost) none of the free memory in blocks of order ≥ 4.
    let unusable4 = biggest.and_then(|z| z["unusable_index"][4].as_f64()).unwrap_or(0.0);
    check(
        format!("{mode}: doctor says order ≥ 4 is unavailable in the zone with the most free memory"),
        biggest.is_some_and(|z| z["state"] == "fragmented") && unusable4 >= 0.99,
        format!("{}", biggest.cloned().unwrap_or(Value::Null)),
    );
    // The pageblock census parses this kernel's /proc/pagetypeinfo by its header names, live
    // (doctor) and from the recording's zone records (report).
    let has_unmovable = |census: &Value| {
        census.as_array().is_some_and(|zones| !zones.is_empty() && zones.iter().any(|z| z["last"]["blocks"]["Unmovable"].as_u64().is_some_and(|n| n > 0)))
    };
    check(
        format!("{mode}: doctor and report have the pageblock census, with unmovable pageblocks"),
        doctor["pageblocks_error"].is_null() && has_unmovable(&doctor["pageblocks"]) && has_unmovable(&report["pageblocks"]),
        format!("doctor {} {}; report {}", doctor["pageblocks"], doctor["pageblocks_error"], report["pageblocks"]),
    );
    Ok(())
}

/// Every mode: the one memcg charge failure (order 7, pipe resize in a kubepods-shaped
/// cgroup) is recorded exactly once, and the kernel counted no failure that was not recorded.
fn check_memcg(blocks: &BTreeMap<String, String>, mode: &str, checks: &mut Vec<(String, bool, String)>) -> anyhow::Result<()> {
    let trigger = json(blocks, &format!("memcg-{mode}"))?;
    checks.push((format!("{mode}: the pipe resize fails its memcg charge (ENOMEM)"), trigger["pipe_resize_errno"] == 12, trigger.to_string()));
    let report = json(blocks, &format!("report-{mode}"))?;
    let groups = report["failures"]["groups"].as_array().cloned().unwrap_or_default();
    let order7: u64 = groups.iter().filter(|g| g["order"] == 7 && g["comm"] == "vm-fragment").filter_map(|g| g["count"].as_u64()).sum();
    checks.push((format!("{mode}: the memcg charge failure is recorded exactly once"), order7 == 1, format!("{order7} order-7 failures of vm-fragment")));
    let (kernel, recorded) = (report["counters"]["failures"].as_u64(), report["failures"]["total"].as_u64());
    checks.push((
        format!("{mode}: failures the kernel counted = failures recorded (nothing double-counted or lost)"),
        kernel.is_some() && kernel == recorded && report["counters"]["dropped"] == 0,
        format!("kernel {kernel:?}, recorded {recorded:?}, dropped {}", report["counters"]["dropped"]),
    ));
    Ok(())
}

/// `--alloc-probe fexit`: the memcg charge failure comes through the fexit program and is
/// labelled as such; where `__alloc_pages_slowpath` is in the BTF (7.x) the page-allocator
/// failures come through its fexit program and `mm_page_alloc` is not attached at all.
fn check_fexit(blocks: &BTreeMap<String, String>, checks: &mut Vec<(String, bool, String)>) -> anyhow::Result<()> {
    let report = json(blocks, "report-fexit")?;
    let probe = &report["alloc_probe"];
    let fexit: Vec<&str> = probe["fexit"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let by_hook = &report["failures"]["by_hook"];
    checks.push((
        "fexit: attached to __memcg_kmem_charge_page (BPF trampolines work)".into(),
        fexit.contains(&"__memcg_kmem_charge_page"),
        probe.to_string(),
    ));
    checks.push((
        "fexit: the memcg charge failure is labelled memcg-charge".into(),
        by_hook["memcg-charge"].as_u64().unwrap_or(0) >= 1,
        by_hook.to_string(),
    ));
    if fexit.contains(&"__alloc_pages_slowpath") {
        checks.push((
            "fexit: page-allocator failures come from fexit/__alloc_pages_slowpath, mm_page_alloc is not attached".into(),
            by_hook["page-allocator"].as_u64().unwrap_or(0) >= 1 && by_hook.get("tracepoint").is_none() && !probe["hooks"].as_str().unwrap_or("").contains("mm_page_alloc"),
            format!("{by_hook} hooks {}", probe["hooks"]),
        ));
    } else {
        checks.push((
            "fexit: __alloc_pages_slowpath not attachable here (inlined, or only a .constprop copy), and the loader says so; mm_page_alloc watches page-allocator failures".into(),
            probe["hooks"].as_str().unwrap_or("").contains("mm_page_alloc")
                && probe["complete"] == true
                && probe["fexit_unavailable"].as_str().is_some_and(|why| why.contains("__alloc_pages_slowpath")),
            probe.to_string(),
        ));
    }
    Ok(())
}

fn check_dmesg(blocks: &BTreeMap<String, String>, checks: &mut Vec<(String, bool, String)>) -> anyhow::Result<()> {
    let reports = json(blocks, "dmesg")?;
    let order4: Vec<&Value> = reports.as_array().map(|a| a.iter().filter(|r| r["kind"] == "failure" && r["order"] == 4).collect()).unwrap_or_default();
    let verdicts: Vec<String> = order4.iter().map(|r| r["verdict"]["verdict"].as_str().unwrap_or("?").to_string()).collect();
    checks.push(("dmesg: the printed order-4 failure is found".into(), !order4.is_empty(), format!("{} reports", order4.len())));
    checks.push((
        "dmesg: its verdict is fragmentation".into(),
        verdicts.iter().any(|v| v == "fragmentation"),
        format!("{verdicts:?} {}", order4.first().map(|r| r["verdict"]["reason"].to_string()).unwrap_or_default()),
    ));
    Ok(())
}

/// Runs the scenario on one kernel; returns (passed, failed) checks after printing them.
pub fn run_kernel(spec: &str) -> anyhow::Result<(u64, u64)> {
    setup::install_missing_packages(&["qemu-system-x86", "busybox-static", "cpio"])?;
    let kernel = vm_kernels::resolve(spec)?;
    let (fragtrace, driver) = guest_binaries()?;
    // Debian's kernels have BTF and trampolines: every probe mode runs; the classic one is
    // what kernels without BTF get, fexit what the default (auto) picks where it can.
    // without BTF get.
    let modes = "tp-btf classic fexit";
    let initrd = initramfs(&fragtrace, &driver, &[("modes", modes.to_string())])?;
    eprintln!("vm-test: booting {} ({})", kernel.label, kernel.vmlinuz.display());
    let console = boot(&kernel, &initrd, TIMEOUT)?;
    // The first line can carry the firmware's escape sequences before the marker.
    let release = console.lines().find_map(|l| l.split_once("==KERNEL ")?.1.strip_suffix("==")).unwrap_or("?").to_string();
    let blocks = blocks(&console);
    let mut checks = Vec::new();
    checks.push(("the guest kernel has BTF".to_string(), blocks.get("btf").is_some_and(|b| b.contains("/sys/kernel/btf/vmlinux")), String::new()));
    for mode in modes.split_whitespace() {
        if let Err(e) = check_mode(&blocks, mode, &mut checks) {
            checks.push((format!("{mode}: outputs present"), false, format!("{e:#}")));
        }
        if let Err(e) = check_memcg(&blocks, mode, &mut checks) {
            checks.push((format!("{mode}: memcg outputs present"), false, format!("{e:#}")));
        }
    }
    if let Err(e) = check_fexit(&blocks, &mut checks) {
        checks.push(("fexit: outputs present".into(), false, format!("{e:#}")));
    }
    if let Err(e) = check_dmesg(&blocks, &mut checks) {
        checks.push(("dmesg: output present".into(), false, format!("{e:#}")));
    }
    let (mut passed, mut failed) = (0, 0);
    println!("\nvm-test {} (kernel {release}):", kernel.label);
    for (what, ok, detail) in &checks {
        if *ok {
            passed += 1;
            println!("  ok    {what}");
        } else {
            failed += 1;
            println!("  FAIL  {what}: {detail}");
        }
    }
    if failed > 0 {
        println!("  console: target/vm/console-{}.log", kernel.label.replace('/', "_"));
    }
    Ok((passed, failed))
}

pub fn vm_test(spec: &str) -> anyhow::Result<()> {
    let specs: Vec<&str> = if spec == "all" { vm_kernels::SERIES.to_vec() } else { vec![spec] };
    let (mut passed, mut failed) = (0, 0);
    for s in specs {
        let (p, f) = run_kernel(s)?;
        passed += p;
        failed += f;
    }
    println!("\nvm-test: {passed} checks passed, {failed} failed");
    if failed > 0 {
        bail!("vm-test failed");
    }
    Ok(())
}
