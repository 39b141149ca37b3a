//! fragtrace: why the kernel could not hand out memory.
//!
//! Pipeline stages, each its own module:
//! - **probe** ([`probe`]): preflight checks, load and attach the eBPF programs (one row per
//!   program in [`probe::table`]);
//! - **decode** ([`decode`]): ring-buffer bytes → typed [`event::Event`]s, length-checked;
//! - **aggregate** ([`aggregate`]): counts and histograms → immutable snapshots;
//! - **views and sinks** ([`view`], [`record`]): text, JSON, trace files.
//!
//! [`session`] wires them together for a live run; [`record::Recording::replay`] does the same
//! from a file.
//!
//! Layers, top to bottom. A module imports from its own layer (without cycles) or from below,
//! never from above; nothing below `session` imports `probe` or `session`:
//!
//! | layer | modules |
//! |---|---|
//! | outputs | [`view`], [`tui`], [`capture`], [`metrics`], [`otlp`] (OTLP logs and metrics push), [`http`], [`record`], [`doctor`] (the binary's `commands` sits above them) |
//! | live wiring | [`session`], and [`probe`] beside it (loading eBPF) |
//! | pipeline | [`aggregate`], [`causes`] (the known-causes catalogue and its matcher), [`definitions`] (the stream's stack, cgroup and workload tables, shared with the sinks), [`filter`], [`identity`], [`decode`], [`kernel_log`], [`sink`] (the trait the outputs implement) |
//! | values | [`event`], [`census`] (pageblocks per migratetype over time), [`probe_status`] (the probe's facts without the loading), [`gfp`], [`timespec`] |
//! | host facts | [`host`] (clock, release, BTF, tracefs, procfs, kallsyms, cgroups), [`text`]; they import nothing above |

pub mod aggregate;
pub mod capture;
pub mod causes;
pub mod census;
pub mod decode;
pub mod definitions;
pub mod doctor;
pub mod event;
pub mod filter;
pub mod gfp;
pub mod host;
pub mod http;
pub mod identity;
pub mod kernel_log;
pub mod metrics;
pub mod otlp;
pub mod probe;
pub mod probe_status;
pub mod record;
pub mod session;
pub mod sink;
pub mod text;
pub mod timespec;
pub mod tui;
pub mod view;

/// The compiled eBPF object, embedded at build time by `build.rs`.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/fragtrace-probes"));
