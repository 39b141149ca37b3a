//! Allocation failures as a pprof profile (`report --format pprof`): google/pprof's
//! `profile.proto`, gzip'd, for `go tool pprof`, Pyroscope and anything else that reads
//! profiles. docs/pprof.md describes what is in it.
//!
//! One sample per distinct (stack, labels), with two values: `failures/count` (the default)
//! and `requested/bytes` (2^order pages of the recording kernel's page size). The leaf is the
//! innermost kernel frame, as the format wants. Labels: `order` (numeric), `gfp` (the class
//! `/metrics` uses), `gfp_flags`, `comm`, `hook`, and when known `cgroup`, `pod` and `cause`.
//! A failure without a stack still counts, under one placeholder frame ([`NO_STACK`]).
//!
//! Locations and functions are one per distinct frame text (`function` or
//! `function [module]`, as every other view prints it), all in one `[kernel]` mapping that
//! says it has functions, so pprof never tries to symbolise. Recordings keep the symbolised
//! frames, not the addresses, so a location's address is 0, except for a frame that could
//! not be symbolised, whose text is its address.
//!
//! The messages come from the schema itself (`proto/profile.proto`, unchanged from
//! google/pprof), compiled by prost-build in build.rs: no hand-written protobuf. The crates
//! that ship these types were no fit: `pprof` (tikv) exposes them with its `prost-codec`
//! feature but pins prost 0.12 (the workspace has 0.14) and always pulls its in-process
//! profiler (backtrace, nix, findshlibs, symbolic-demangle); `pprof_util` keeps them private.
//! protoc is already in the bootstrap (the test crate's CRI client needs it) and runs on the
//! build machine, so the static musl binary is unaffected. gzip is flate2's pure-Rust backend.

mod profile;

#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, io::Write, sync::Arc};

use crate::{
    definitions::Definitions,
    event::{Counters, Event, Failure},
    gfp::GfpTable,
    sink::{Sink, SinkError},
};

/// The `perftools.profiles` messages, generated from `proto/profile.proto` at build time.
#[allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/perftools.profiles.rs"));
}

/// The frame a failure without a stack is counted under (the kernel could not take it, or the
/// recording predates stacks).
pub const NO_STACK: &str = "[no stack]";
/// The frame of a failure whose stack id has no definition in the recording (a damaged or
/// cut recording).
pub const UNKNOWN_STACK: &str = "[stack not in recording]";

/// What one sample stands for: a stack and every label. Ordered, so the output does not
/// depend on hashing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SampleKey {
    frames: Arc<[String]>,
    order: u32,
    gfp_mask: u64,
    comm: String,
    hook: &'static str,
    cgroup: Option<Arc<str>>,
    pod: Option<String>,
    cause: Option<&'static str>,
}

/// A [`Sink`] that counts failures by stack and labels; [`FailureProfile::write_gzip`]
/// writes the profile. Memory grows with the distinct (stack, labels), not with the failures.
pub struct FailureProfile {
    gfp: GfpTable,
    page_size: u64,
    start_wall_ns: u64,
    start_monotonic_ns: u64,
    last_ts_ns: Option<u64>,
    comments: Vec<String>,
    definitions: Definitions,
    samples: BTreeMap<SampleKey, u64>,
}

impl FailureProfile {
    /// `start_wall_ns` and `start_monotonic_ns` are the same moment (the recording's start, or
    /// `--since`), on the two clocks: the profile's time and duration. `page_size` is the
    /// recording kernel's, for the bytes value.
    pub fn new(gfp: GfpTable, page_size: u64, start_wall_ns: u64, start_monotonic_ns: u64) -> Self {
        Self {
            gfp,
            page_size,
            start_wall_ns,
            start_monotonic_ns,
            last_ts_ns: None,
            comments: Vec::new(),
            definitions: Definitions::new(),
            samples: BTreeMap::new(),
        }
    }

    /// Free text kept in the profile (`go tool pprof -comments`): where it came from.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comments.push(comment.into());
        self
    }

    /// Failures counted so far.
    pub fn failures(&self) -> u64 {
        self.samples.values().sum()
    }

    /// The profile as it stands.
    pub fn to_profile(&self) -> proto::Profile {
        profile::build(self)
    }

    /// The profile, serialised and gzip'd (the on-disk form pprof and Pyroscope read).
    pub fn write_gzip<W: Write>(&self, out: W) -> std::io::Result<W> {
        use prost::Message as _;
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        gz.write_all(&self.to_profile().encode_to_vec())?;
        gz.finish()
    }

    fn frames_of(&self, f: &Failure) -> Arc<[String]> {
        let placeholder = |frame: &str| Arc::from(vec![frame.to_string()]);
        match f.stack_id.map(|id| self.definitions.stack(id)) {
            Some(Some(frames)) if !frames.is_empty() => frames,
            Some(Some(_)) | None => placeholder(NO_STACK),
            Some(None) => placeholder(UNKNOWN_STACK),
        }
    }

    fn count(&mut self, f: &Failure) {
        let frames = self.frames_of(f);
        let stack = (frames[0] != NO_STACK && frames[0] != UNKNOWN_STACK).then_some(&frames[..]);
        let cause = crate::causes::of_failure(f, stack, &self.gfp).map(|c| c.id.as_str());
        let key = SampleKey {
            order: f.order,
            gfp_mask: f.gfp_mask,
            comm: f.task.comm.clone(),
            hook: f.hook.name(),
            cgroup: self.definitions.cgroup_path(f.task.cgroup_id),
            pod: self.definitions.workload(f.task.cgroup_id).and_then(|w| w.pod_label()),
            cause,
            frames,
        };
        *self.samples.entry(key).or_default() += 1;
    }

    fn saw(&mut self, ts_ns: u64) {
        self.last_ts_ns = Some(self.last_ts_ns.map_or(ts_ns, |t| t.max(ts_ns)));
    }
}

impl Sink for FailureProfile {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        if let Event::Failure(f) = event {
            self.count(f);
        }
        if let Some(ts) = event_ts(event) {
            self.saw(ts);
        }
        Ok(())
    }

    fn tick(&mut self, ts_ns: u64, _: &Counters) -> Result<(), SinkError> {
        self.saw(ts_ns);
        Ok(())
    }
}

fn event_ts(event: &Event) -> Option<u64> {
    Some(match event {
        Event::Failure(f) => f.task.ts_ns,
        Event::Extfrag(e) => e.task.ts_ns,
        Event::Stall(s) => s.task.ts_ns,
        Event::Oom(o) => o.task.ts_ns,
        Event::Lost(l) => l.ts_ns,
    })
}
