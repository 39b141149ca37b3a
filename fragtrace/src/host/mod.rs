//! Facts about the machine we run on, read from the kernel's own files: the clock, the kernel
//! release and hostname, BTF, tracefs, procfs (buddyinfo, zone state), kallsyms, cgroups and
//! memory cgroups' counters.
//!
//! The bottom layer: nothing here imports from the pipeline (`probe`, `session`, `aggregate`,
//! views, sinks, `record`); everything above may use it. Parsers take text so they can be fed
//! recorded files as well as live ones.

pub mod btf;
pub mod buddyinfo;
pub mod cgroup;
pub mod clock;
pub mod kallsyms;
pub mod memcg;
pub mod procfs;
pub mod system;
pub mod tracefs;
pub mod zones;
