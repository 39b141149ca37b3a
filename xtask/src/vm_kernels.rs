//! The kernels `cargo xtask vm-test` boots: Debian's packages of a series (5.10, 6.1, 6.12,
//! 7.x), of which only the `vmlinuz` is kept, in target/vm/kernels/<package>/vmlinuz.
//!
//! Each series has its own private apt state in target/vm/apt/<series> (sources.list, lists,
//! cache) passed to apt with `-o Dir::…`: the suites it needs (bullseye, trixie-backports,
//! sid) are not the machine's, and /etc/apt and the machine's lists are never touched. The
//! lists are refreshed only when the newest package they name is not cached yet, so a second
//! run needs no network; delete target/vm/apt/<series> to look for a newer kernel.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

use crate::{setup, shell};

/// One kernel to boot.
pub struct Kernel {
    pub label: String,
    pub vmlinuz: PathBuf,
}

/// The `--kernel` values that name a Debian series (`all` runs every one of them).
pub const SERIES: [&str; 4] = ["5.10", "6.1", "6.12", "7.x"];

const DEBIAN: &str = "http://deb.debian.org/debian";
const DEBIAN_SECURITY: &str = "http://deb.debian.org/debian-security";
/// From the debian-archive-keyring package: bookworm's version (2023.3) holds the bullseye,
/// bookworm and trixie keys. bullseye is signed with its own and the bookworm key, sid and
/// trixie-backports with the bookworm and trixie keys, so every suite below verifies.
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Where Debian publishes one series and how its image package is named.
struct Series {
    label: &'static str,
    /// (mirror, suite) pairs; the newest matching package of all of them wins.
    suites: &'static [(&'static str, &'static str)],
    /// `apt-cache search --names-only` regex of the image package (not -dbg, -rt, -cloud).
    pattern: &'static str,
}

fn series(spec: &str) -> Option<Series> {
    const BOOKWORM: &[(&str, &str)] = &[(DEBIAN, "bookworm"), (DEBIAN, "bookworm-updates"), (DEBIAN_SECURITY, "bookworm-security")];
    Some(match spec {
        // Bullseye's LTS kernels are in bullseye-security only: the main suite stopped at
        // its last point release.
        "5.10" => Series {
            label: "5.10",
            suites: &[(DEBIAN, "bullseye"), (DEBIAN_SECURITY, "bullseye-security")],
            pattern: r"^linux-image-5\.10\.0-[0-9]+-amd64$",
        },
        "6.1" => Series { label: "6.1", suites: BOOKWORM, pattern: r"^linux-image-6\.1\.0-[0-9]+-amd64$" },
        "6.12" => Series { label: "6.12", suites: BOOKWORM, pattern: r"^linux-image-6\.12\.[0-9]+\+deb12-amd64$" },
        // 7.x reaches trixie-backports after sid, but sid may lag behind a backport of a
        // newer release: both are searched.
        "7" | "7.x" => Series {
            label: "7.x",
            suites: &[(DEBIAN, "trixie-backports"), (DEBIAN, "sid")],
            pattern: r"^linux-image-7\.[0-9]+\.[0-9]+\+deb[0-9]+-amd64$",
        },
        _ => return None,
    })
}

/// `5.10`, `6.1`, `6.12`, `7`/`7.x`: the newest Debian package of that series; anything
/// else is a vmlinuz path.
pub fn resolve(spec: &str) -> anyhow::Result<Kernel> {
    let Some(series) = series(spec) else {
        let vmlinuz = PathBuf::from(spec);
        if !vmlinuz.is_file() {
            bail!("--kernel {spec}: not one of {}, all, or an existing vmlinuz file", SERIES.join(", "));
        }
        return Ok(Kernel { label: spec.to_string(), vmlinuz });
    };
    let apt = Apt::new(&series)?;
    // Offline first: the lists of an earlier run may name a kernel that is already here.
    if let Some(vmlinuz) = apt.newest(series.pattern)?.and_then(|p| cached(&p)) {
        return Ok(Kernel { label: series.label.to_string(), vmlinuz });
    }
    apt.update()?;
    let package = apt.newest(series.pattern)?.with_context(|| {
        format!("no Debian package matches {} in {} (lists in {})", series.pattern, apt.suites(), apt.dir.display())
    })?;
    let vmlinuz = match cached(&package) {
        Some(v) => v,
        None => download(&apt, &package)?,
    };
    Ok(Kernel { label: series.label.to_string(), vmlinuz })
}

fn kernel_dir(package: &str) -> PathBuf {
    PathBuf::from("target/vm/kernels").join(package)
}

fn cached(package: &str) -> Option<PathBuf> {
    Some(kernel_dir(package).join("vmlinuz")).filter(|v| v.is_file())
}

/// Keeps the vmlinuz of `package`: from the package itself (`boot/vmlinuz-*`, up to 6.x) or,
/// when it is only a metapackage (7.x), from the `linux-binary-*` package it depends on
/// (`usr/lib/modules/<version>/vmlinuz`).
fn download(apt: &Apt, package: &str) -> anyhow::Result<PathBuf> {
    let dir = kernel_dir(package);
    let work = dir.join("download");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let mut candidates = vec![package.to_string()];
    candidates.extend(apt.binary_depends(package)?);
    for candidate in &candidates {
        if let Some(vmlinuz) = unpack_vmlinuz(apt, candidate, &work)? {
            // Renamed last: a vmlinuz in place means a complete download.
            let keep = dir.join("vmlinuz");
            std::fs::rename(&vmlinuz, &keep).with_context(|| format!("moving {} to {}", vmlinuz.display(), keep.display()))?;
            std::fs::remove_dir_all(&work).ok();
            return Ok(keep);
        }
    }
    bail!("no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in {} (unpacked in {})", candidates.join(" nor "), work.display())
}

/// Downloads and unpacks one package into `work/<name>`; returns its vmlinuz, if it has one.
fn unpack_vmlinuz(apt: &Apt, package: &str, work: &Path) -> anyhow::Result<Option<PathBuf>> {
    let name = package.split('=').next().unwrap_or(package);
    eprintln!("vm-test: downloading {package}");
    apt.download(package, work)?;
    let deb = std::fs::read_dir(work)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb") && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{name}_"))))
        .with_context(|| format!("apt-get download {package} left no {name}_*.deb in {}", work.display()))?;
    let root = work.join(name);
    shell::run("dpkg", &["-x", &deb.display().to_string(), &root.display().to_string()])?;
    Ok(find_vmlinuz(&root))
}

/// The kernel image in an unpacked package, in either of Debian's layouts. Only vmlinuz is
/// needed: the guest loads no modules.
fn find_vmlinuz(root: &Path) -> Option<PathBuf> {
    let entries = |dir: PathBuf| std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok).map(|e| e.path());
    let boot = entries(root.join("boot")).find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("vmlinuz-")));
    boot.or_else(|| entries(root.join("usr/lib/modules")).map(|d| d.join("vmlinuz")).find(|v| v.is_file()))
}

/// apt with a private state directory: its own sources.list, lists and cache.
struct Apt {
    dir: PathBuf,
    suites: Vec<(&'static str, &'static str)>,
}

impl Apt {
    fn new(series: &Series) -> anyhow::Result<Apt> {
        let dir = PathBuf::from("target/vm/apt").join(series.label);
        for sub in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        // Absolute: apt resolves a relative Dir::State::Lists against Dir::State (/var/lib/apt).
        let dir = std::fs::canonicalize(&dir)?;
        let apt = Apt { dir, suites: series.suites.to_vec() };
        std::fs::write(apt.dir.join("sources.list"), apt.sources_list()).context("writing the private sources.list")?;
        Ok(apt)
    }

    /// amd64 whatever the host is; only the Packages index (no DEP-11, no translations).
    fn sources_list(&self) -> String {
        self.suites
            .iter()
            .map(|(mirror, suite)| format!("deb [arch=amd64 lang=none target=Packages signed-by={KEYRING}] {mirror} {suite} main\n"))
            .collect()
    }

    fn suites(&self) -> String {
        self.suites.iter().map(|(_, s)| *s).collect::<Vec<_>>().join(", ")
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("Dir::Etc::sourcelist={d}/sources.list"),
            // "-": no sources.list.d, so none of the machine's own sources mix in.
            "Dir::Etc::sourceparts=-".into(),
            format!("Dir::State::Lists={d}/lists"),
            format!("Dir::Cache={d}/cache"),
            // The machine's installed packages are irrelevant to a download.
            "Dir::State::status=/dev/null".into(),
            // As root apt drops to _apt for downloads, which may not enter the user's
            // target directory; the packages are verified by signature either way.
            "APT::Sandbox::User=root".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(self.options()).args(args).stdin(Stdio::null());
        command
    }

    fn update(&self) -> anyhow::Result<()> {
        setup::install_missing_packages(&["debian-archive-keyring"])?;
        eprintln!("vm-test: apt-get update of {} in {}", self.suites(), self.dir.display());
        let status = self.command("apt-get", &["update", "-qq"]).status().context("running apt-get update")?;
        if !status.success() {
            bail!("apt-get update of {} ({}) failed: {status}", self.suites(), self.dir.join("sources.list").display());
        }
        Ok(())
    }

    /// stdout of an apt-cache query, which must succeed.
    fn query(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command("apt-cache", args).stderr(Stdio::inherit()).output().context("running apt-cache")?;
        if !out.status.success() {
            bail!("apt-cache {} failed ({}): {}", args.join(" "), self.dir.display(), out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The newest package whose name matches, by the numbers in its name; None when the lists
    /// (possibly not fetched yet) have none.
    fn newest(&self, pattern: &str) -> anyhow::Result<Option<String>> {
        let list = self.query(&["search", "--names-only", pattern])?;
        let numbers = |p: &str| p.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).collect::<Vec<_>>();
        Ok(list.lines().filter_map(|l| l.split_whitespace().next()).max_by_key(|p| numbers(p)).map(str::to_string))
    }

    /// The `linux-binary-*` packages (as `name=version`) the candidate version of `package`
    /// depends on: where 7.x keeps the image.
    fn binary_depends(&self, package: &str) -> anyhow::Result<Vec<String>> {
        let show = self.query(&["show", "--no-all-versions", package])?;
        let depends = show.lines().find_map(|l| l.strip_prefix("Depends:")).unwrap_or("");
        Ok(depends
            .split([',', '|'])
            .filter_map(|dep| {
                let (name, version) = dep.trim().split_once(' ').unwrap_or((dep.trim(), ""));
                let version = version.trim().strip_prefix("(=").and_then(|v| v.strip_suffix(')')).map(str::trim);
                name.starts_with("linux-binary-").then(|| version.map_or(name.to_string(), |v| format!("{name}={v}")))
            })
            .collect())
    }

    fn download(&self, package: &str, into: &Path) -> anyhow::Result<()> {
        let status = self.command("apt-get", &["download", "-qq", package]).current_dir(into).status().context("running apt-get download")?;
        if !status.success() {
            bail!("apt-get download {package} failed: {status}");
        }
        Ok(())
    }
}
