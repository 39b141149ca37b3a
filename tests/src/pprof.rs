//! `go tool pprof` on what `fragtrace report --format pprof` wrote: the reader people use,
//! run offline. Go is installed by the bootstrap (`cargo xtask test` → golang-go); without it
//! these helpers fail loudly instead of skipping.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Command, Stdio},
};

use crate::cli::{TempPath, fragtrace};

/// A private HOME and Go cache for pprof, removed on drop.
pub struct GoPprof {
    home: TempPath,
}

impl GoPprof {
    pub fn new(tag: &str) -> Self {
        Self { home: TempPath::dir(&format!("go-home-{tag}")) }
    }

    /// `go tool pprof -symbolize=none ARGS PROFILE`'s stdout. Local only: no symbolization
    /// (the profile has function names; `-symbolize=none` keeps pprof from looking for
    /// binaries or a symbol server), no module downloads, no toolchain switch, no telemetry,
    /// no browser (no -http/-web).
    pub fn run(&self, profile: &Path, args: &[&str]) -> String {
        let home: &Path = &self.home;
        let out = Command::new("go")
            .args(["tool", "pprof", "-symbolize=none"])
            .args(args)
            .arg(profile)
            .env("HOME", home)
            .env("GOCACHE", home.join("gocache"))
            .env("GOPATH", home.join("gopath"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOTELEMETRY", "off")
            .env("PPROF_TMPDIR", home)
            .env("PPROF_BINARY_PATH", home)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "running `go tool pprof`: {e}. Go is a test dependency: `cargo xtask test` installs Debian's \
                     golang-go (xtask/src/setup.rs ensure_test_tools); or apt-get install golang-go"
                )
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "go tool pprof {args:?} {}: {}\n{stderr}", profile.display(), out.status);
        String::from_utf8(out.stdout).expect("pprof prints UTF-8")
    }
}

/// `fragtrace report --format pprof RECORDING EXTRA… -o OUTPUT`, checked.
pub fn report_pprof(recording: &Path, extra: &[&str], output: &Path) {
    let out = fragtrace().args(["report", "--format", "pprof"]).arg(recording).args(extra).arg("-o").arg(output).output().expect("fragtrace report --format pprof");
    assert!(out.status.success(), "report --format pprof {}: {}", recording.display(), String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(output).expect("the profile");
    assert_eq!(bytes.get(..2), Some(&[0x1f, 0x8b][..]), "gzip'd, as pprof files are");
}

/// The rows of `-top` output (`flat flat% sum% cum cum% NAME`): (flat, cum, name).
pub fn top_rows(top: &str) -> Vec<(u64, u64, String)> {
    top.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() < 6 || !cols[1].ends_with('%') || !cols[4].ends_with('%') {
                return None;
            }
            Some((cols[0].parse().ok()?, cols[3].parse().ok()?, cols[5..].join(" ")))
        })
        .collect()
}

/// `Total samples = N` of a pprof report header: every sample's value, summed (with
/// `-unit=bytes`, `NB`: the unit is dropped).
pub fn total_samples(report: &str) -> Option<u64> {
    let total = report.split("Total samples = ").nth(1)?.split_whitespace().next()?;
    total.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()
}

/// `-tags` output as label → value → count (`NAME: Total N` headers, then `COUNT (P%): VALUE`).
pub fn tags(text: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut key = None;
    for line in text.lines() {
        if let Some((name, _)) = line.split_once(": Total ") {
            key = Some(name.trim().to_string());
        } else if let (Some(k), Some((count, value))) = (&key, line.split_once("%): ")) {
            let count = count.split_whitespace().next().and_then(|c| c.parse::<f64>().ok()).unwrap_or(-1.0);
            out.entry(k.clone()).or_default().insert(value.to_string(), count as u64);
        }
    }
    out
}

/// `Showing nodes accounting for N, …`: what is left after the focus and ignore filters.
pub fn shown(report: &str) -> Option<u64> {
    report.split("Showing nodes accounting for ").nth(1)?.split(',').next()?.trim().parse().ok()
}
