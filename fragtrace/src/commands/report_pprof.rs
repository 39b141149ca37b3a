//! `fragtrace report --format pprof`: the failures of a recording as a gzip'd pprof profile
//! (fragtrace::view::pprof), to `--output FILE` or to stdout when that is not a terminal.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::bail;
use fragtrace::{
    record::{ReadError, Recording, ReplayOptions, ReplayReport, replay},
    sink::SinkError,
    view::pprof::FailureProfile,
};

/// Refuses what would fail only after the replay: binary output on a terminal, `--output`
/// with a text format, `--output` naming one of the recordings (it would be overwritten).
pub fn check_output(pprof: bool, output: Option<&Path>, recordings: &[PathBuf]) -> anyhow::Result<()> {
    match (pprof, output) {
        (false, Some(_)) => bail!("--output is for --format pprof; the other formats go to stdout (redirect them)"),
        (true, None) if std::io::stdout().is_terminal() => bail!(
            "refusing to write a binary (gzip'd) profile to a terminal: give --output FILE, or redirect stdout \
             (fragtrace report --format pprof rec.ftr > failures.pb.gz)"
        ),
        (true, Some(out)) => {
            let same = |a: &Path, b: &Path| a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(a, b)| a == b);
            if let Some(input) = recordings.iter().find(|r| same(r, out)) {
                bail!("--output {} is one of the recordings being read; give another path", input.display());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Replays `recording` into a profile, then writes it whole (no half-written file when the
/// replay fails).
pub fn write(recording: &Recording, options: &ReplayOptions, output: Option<&PathBuf>) -> Result<ReplayReport, ReadError> {
    let first = recording.header();
    let kernel = &first.kernel;
    // The profile starts where the report does: the recording's start, or --since.
    let start_wall_ns = options.since_wall_ns.map_or(first.start_wall_ns, |w| w.max(first.start_wall_ns));
    let start_monotonic_ns = first.monotonic_ns(start_wall_ns).max(first.start_monotonic_ns);
    let files: Vec<String> = recording.files.iter().map(|f| f.path.display().to_string()).collect();
    let mut profile = FailureProfile::new(kernel.gfp.clone(), kernel.page_size, start_wall_ns, start_monotonic_ns)
        .with_comment(format!("fragtrace allocation failures on {} (kernel {})", first.hostname, kernel.release))
        .with_comment(format!("recording: {}", files.join(" ")));
    if !first.filter.is_empty() {
        profile = profile.with_comment(format!("recorded with filter {}", first.filter));
    }
    let report = replay(recording, options, &mut [&mut profile])?;
    let io = |e: std::io::Error| ReadError::Sink(SinkError::Io(e));
    match output {
        Some(path) => {
            write_file(path, &profile).map_err(io)?;
            eprintln!("fragtrace: {} failure(s) in {path} (go tool pprof -top {path})", profile.failures(), path = path.display());
        }
        None => profile.write_gzip(std::io::stdout().lock()).and_then(|mut out| out.flush()).map_err(io)?,
    }
    Ok(report)
}

fn write_file(path: &Path, profile: &FailureProfile) -> std::io::Result<()> {
    let with_path = |e: std::io::Error| std::io::Error::new(e.kind(), format!("writing {}: {e}", path.display()));
    let bytes = profile.write_gzip(Vec::new())?;
    std::fs::write(path, bytes).map_err(with_path)
}
