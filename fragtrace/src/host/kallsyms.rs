//! Kernel stack symbolization from `/proc/kallsyms`.
//!
//! Hand-rolled rather than blazesym: blazesym 0.2's kallsyms source drops the `[module]`
//! column (its `module` is always `None`), and module names are what tells a driver's
//! allocation apart from the core kernel's. The parser is a sort and a binary search.

use std::{collections::HashMap, path::Path};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SymbolizeError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error(
        "{0} shows only zero addresses (kernel.kptr_restrict and kernel.perf_event_paranoid hide \
         them from processes without CAP_SYSLOG): run as root, or add CAP_SYSLOG, or set \
         kernel.kptr_restrict=0 and kernel.perf_event_paranoid=1"
    )]
    Hidden(String),
}

/// One text symbol: 16 bytes, its name a slice of [`Kallsyms::names`]. A kernel has ~120k
/// text symbols; one allocation per name would cost ~10 MB of a tool that must stay small.
#[derive(Clone, Copy, Debug)]
struct Symbol {
    addr: u64,
    name_at: u32,
    name_len: u16,
    /// Index in [`Kallsyms::modules`], or [`NO_MODULE`].
    module: u16,
}

const NO_MODULE: u16 = u16::MAX;

/// A symbol table for the running (or a recorded) kernel.
#[derive(Clone, Debug, Default)]
pub struct Kallsyms {
    symbols: Vec<Symbol>,
    names: String,
    modules: Vec<String>,
}

impl Kallsyms {
    pub fn load() -> Result<Self, SymbolizeError> {
        Self::load_from(Path::new("/proc/kallsyms"))
    }

    pub fn load_from(path: &Path) -> Result<Self, SymbolizeError> {
        use std::io::BufRead;
        let io = |e| SymbolizeError::Io(path.display().to_string(), e);
        let file = std::fs::File::open(path).map_err(io)?;
        // Streamed line by line: the file is ~6 MB and only the table is kept.
        let mut table = Self::default();
        let mut modules = HashMap::new();
        let mut line = String::new();
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(io)? == 0 {
                break;
            }
            table.add_line(&line, &mut modules);
        }
        table.finish();
        if table.symbols.is_empty() {
            return Err(SymbolizeError::Hidden(path.display().to_string()));
        }
        Ok(table)
    }

    /// Parses `addr type name [module]` lines; keeps text symbols only (a return address is
    /// always in text). Malformed lines are skipped.
    pub fn parse(text: &str) -> Self {
        let mut table = Self::default();
        let mut modules = HashMap::new();
        for line in text.lines() {
            table.add_line(line, &mut modules);
        }
        table.finish();
        table
    }

    fn add_line(&mut self, line: &str, modules: &mut HashMap<String, u16>) {
        let mut parts = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next()) else { return };
        let Ok(addr) = u64::from_str_radix(addr, 16) else { return };
        if addr == 0 || !matches!(kind, "t" | "T" | "w" | "W") || name.len() > usize::from(u16::MAX) {
            return;
        }
        let Ok(name_at) = u32::try_from(self.names.len()) else { return };
        let module = match parts.next().and_then(|m| m.strip_prefix('[')?.strip_suffix(']')) {
            None => NO_MODULE,
            Some(m) => match modules.get(m) {
                Some(index) => *index,
                None if self.modules.len() < usize::from(NO_MODULE) => {
                    let index = self.modules.len() as u16;
                    self.modules.push(m.to_string());
                    modules.insert(m.to_string(), index);
                    index
                }
                None => NO_MODULE,
            },
        };
        self.names.push_str(name);
        self.symbols.push(Symbol { addr, name_at, name_len: name.len() as u16, module });
    }

    fn finish(&mut self) {
        self.symbols.sort_by_key(|s| s.addr);
        self.symbols.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    fn name(&self, s: &Symbol) -> &str {
        let at = s.name_at as usize;
        self.names.get(at..at + usize::from(s.name_len)).unwrap_or("?")
    }

    /// `name` or `name [module]` for an address, or the address in hex when unknown.
    pub fn resolve(&self, addr: u64) -> String {
        let index = self.symbols.partition_point(|s| s.addr <= addr);
        match index.checked_sub(1).map(|i| &self.symbols[i]) {
            Some(s) if s.module != NO_MODULE => format!("{} [{}]", self.name(s), self.modules[usize::from(s.module)]),
            // Past the end of the kernel's text: a BPF program or module code that was not in
            // the table when it was read (a program loaded a moment later), not this marker.
            Some(s) if addr != s.addr && TEXT_END_MARKERS.contains(&self.name(s)) => format!("{addr:#x}"),
            Some(s) => self.name(s).to_string(),
            None => format!("{addr:#x}"),
        }
    }

    /// Symbolizes a stack (innermost first) and drops the tracing machinery frames at its top
    /// (BPF program, `bpf_trace_run*`, trampolines, `__traceiter_*`, `trace_event_raw_event_*`,
    /// `perf_trace_*`, and the bogus first frame at the end of the kernel's text that names
    /// `_einittext`): they say how we looked, not who allocated. The one place this happens,
    /// for failures and extfrag fallbacks alike.
    /// Without a table (kallsyms hidden) every frame is an address: all are kept, since
    /// there is no telling the tracing frames apart, and raw addresses still tell one call
    /// path from another.
    pub fn symbolize_stack(&self, ips: &[u64]) -> Vec<String> {
        if self.symbols.is_empty() {
            return ips.iter().map(|ip| format!("{ip:#x}")).collect();
        }
        let names: Vec<String> = ips.iter().map(|&ip| self.resolve(ip)).collect();
        let skip = names.iter().take_while(|n| is_tracing_frame(n)).count();
        names.into_iter().skip(skip).collect()
    }
}

/// Symbols that mark where the kernel image's text ends; nothing is code above them.
const TEXT_END_MARKERS: [&str; 4] = ["_einittext", "_etext", "__init_end", "_end"];

fn is_tracing_frame(name: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "bpf_",
        "__bpf_",
        "__traceiter_",
        "trace_event_raw_event_",
        "perf_trace_",
        "trace_call_bpf",
        "__probestub_",
        "0x",
    ];
    // A frame at the very end of the kernel's text names the marker; no code lives there.
    PREFIXES.iter().any(|p| name.starts_with(p)) || name.ends_with("[bpf]") || TEXT_END_MARKERS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ffffffff81000000 T _stext
ffffffff81100000 T __alloc_frozen_pages_noprof
ffffffff81100400 t pipe_resize_ring
ffffffff81100800 D some_data
ffffffff81200000 T bpf_trace_run4
ffffffffc0001000 t ixgbe_alloc_rx_buffers\t[ixgbe]
ffffffffc0002000 t bpf_prog_6deef7357e7b4530_mm_page_alloc_btf\t[bpf]
garbage line
0000000000000000 T hidden
";

    #[test]
    fn resolves_with_modules() {
        let k = Kallsyms::parse(SAMPLE);
        assert_eq!(k.resolve(0xffffffff81100410), "pipe_resize_ring");
        assert_eq!(k.resolve(0xffffffff81100900), "pipe_resize_ring", "data symbols are skipped");
        assert_eq!(k.resolve(0xffffffffc0001010), "ixgbe_alloc_rx_buffers [ixgbe]");
        assert_eq!(k.resolve(0x10), "0x10");
    }

    #[test]
    fn strips_tracing_frames_at_the_top_only() {
        let k = Kallsyms::parse(SAMPLE);
        let stack = k.symbolize_stack(&[0xffffffffc0002010, 0xffffffff81200010, 0xffffffff81100010, 0xffffffff81100410]);
        assert_eq!(stack, vec!["__alloc_frozen_pages_noprof", "pipe_resize_ring"]);
    }

    #[test]
    fn a_program_loaded_after_the_table_was_read_is_not_named_after_the_text_end() {
        // The program's address lies past the last core-kernel symbol, `_einittext`: without
        // its own line it must not read as `_einittext`, and is dropped as tracing machinery.
        let k = Kallsyms::parse("ffffffff81000000 T _stext\nffffffff81100400 t pipe_resize_ring\nffffffff83000000 T _einittext\n");
        assert_eq!(k.resolve(0xffffffffc0002010), "0xffffffffc0002010");
        assert_eq!(k.resolve(0xffffffff83000000), "_einittext");
        assert_eq!(k.symbolize_stack(&[0xffffffffc0002010, 0xffffffff81100410]), vec!["pipe_resize_ring"]);
    }

    #[test]
    fn drops_every_kind_of_leading_tracing_frame_and_the_text_end_marker() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _stext\n\
             ffffffff81010000 T bpf_trace_run2\n\
             ffffffff81020000 t __bpf_trace_mm_page_alloc_extfrag\n\
             ffffffff81030000 t trace_event_raw_event_mm_page_alloc_extfrag\n\
             ffffffff81040000 t perf_trace_mm_page_alloc_extfrag\n\
             ffffffff81050000 T __traceiter_mm_page_alloc_extfrag\n\
             ffffffff81100000 t steal_suitable_fallback\n\
             ffffffff81100400 t __rmqueue_pcplist\n\
             ffffffff81200000 t bpf_map_alloc_pages\n\
             ffffffff83000000 T _einittext\n",
        );
        let ips = [0xffffffff83000000, 0xffffffff81010010, 0xffffffff81020010, 0xffffffff81030010, 0xffffffff81040010, 0xffffffff81050010, 0xffffffff81100010, 0xffffffff81200010, 0xffffffff81100410];
        assert_eq!(
            k.symbolize_stack(&ips),
            vec!["steal_suitable_fallback", "bpf_map_alloc_pages", "__rmqueue_pcplist"],
            "only the leading machinery goes; a bpf_ frame deeper down is the caller's"
        );
        assert_eq!(k.symbolize_stack(&[0xffffffff83000010, 0xffffffff81100010]), vec!["steal_suitable_fallback"], "past _einittext");
    }

    #[test]
    fn without_a_table_every_frame_is_kept_as_an_address() {
        let stack = Kallsyms::default().symbolize_stack(&[0xffffffffc0002010, 0xffffffff81100410]);
        assert_eq!(stack, vec!["0xffffffffc0002010", "0xffffffff81100410"]);
    }

    #[test]
    fn hidden_addresses_are_an_error() {
        let dir = std::env::temp_dir().join(format!("fragtrace-kallsyms-{}", std::process::id()));
        std::fs::write(&dir, "0000000000000000 T a\n0000000000000000 t b\n").unwrap();
        let err = Kallsyms::load_from(&dir).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(err, SymbolizeError::Hidden(_)), "{err}");
    }
}

/// Whether a frame is page/slab allocator machinery or the failure report's own printing
/// (`warn_alloc`, `dump_stack`), across kernel versions.
pub fn is_allocator_frame(f: &str) -> bool {
    const PREFIXES: [&str; 28] = [
        "__alloc_", "alloc_pages", "__folio_alloc", "folio_alloc", "___kmalloc", "__kmalloc", "kmalloc",
        "__kvmalloc", "kvmalloc", "___slab_alloc", "__slab_alloc", "allocate_slab", "new_slab", "kmem_cache_alloc",
        "alloc_slab", "__get_free_pages", "get_zeroed_page", "cache_grow", "kmem_getpages", "fallback_alloc",
        "____cache_alloc", "cache_alloc_refill", "warn_alloc", "dump_stack", "__dump_stack", "show_stack",
        "dump_backtrace", "__warn",
    ];
    PREFIXES.iter().any(|p| f.starts_with(p)) || f.ends_with("_noprof")
}

/// The first frame of a stack that is not page/slab allocator machinery: the caller that asked
/// for memory (e.g. `pipe_resize_ring` above `__kmalloc_large_node_noprof`).
pub fn caller_frame(frames: &[String]) -> Option<&str> {
    frames.iter().map(String::as_str).find(|f| !is_allocator_frame(f)).or_else(|| frames.first().map(String::as_str))
}

#[cfg(test)]
mod caller_tests {
    use super::caller_frame;

    #[test]
    fn skips_allocator_frames() {
        let frames: Vec<String> = ["__alloc_frozen_pages_noprof", "__alloc_pages_noprof", "___kmalloc_large_node", "__kmalloc_large_node_noprof", "pipe_resize_ring", "pipe_fcntl"]
            .into_iter().map(String::from).collect();
        assert_eq!(caller_frame(&frames), Some("pipe_resize_ring"));
        assert_eq!(caller_frame(&frames[..2]), Some("__alloc_frozen_pages_noprof"));
        assert_eq!(caller_frame(&[]), None);
    }
}

/// Symbol names of `/proc/kallsyms` text (`address type name [module]`), in file order.
fn names(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|l| l.split_whitespace().nth(2))
}

/// `function.constprop.0`, `function.isra.0`…: the name kallsyms has when the compiler only
/// emitted a specialised copy of `function` (the kernel then cannot find `function` to attach
/// to). `None` when `function` itself is there, or no copy is, or kallsyms is unreadable.
pub fn specialised_copy(function: &str) -> Option<String> {
    specialised_copy_in(&std::fs::read_to_string("/proc/kallsyms").ok()?, function)
}

fn specialised_copy_in(text: &str, function: &str) -> Option<String> {
    let prefix = format!("{function}.");
    let mut copy = None;
    for name in names(text) {
        if name == function {
            return None;
        }
        if copy.is_none() && name.starts_with(&prefix) {
            copy = Some(name.to_string());
        }
    }
    copy
}

/// The first of `functions` (in the order given) that kallsyms lists, if any.
pub fn first_present<'a>(functions: &[&'a str]) -> Option<&'a str> {
    first_present_in(&std::fs::read_to_string("/proc/kallsyms").ok()?, functions)
}

fn first_present_in<'a>(text: &str, functions: &[&'a str]) -> Option<&'a str> {
    functions.iter().copied().find(|f| names(text).any(|name| name == *f))
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    const TEXT: &str = "ffffffff81001000 T __alloc_pages_slowpath.constprop.0\nffffffff81002000 t try_alloc_pages_noprof\nffffffffc0001000 t nf_init\t[nf_conntrack]\n";

    #[test]
    fn finds_a_specialised_copy_only_without_the_function() {
        assert_eq!(specialised_copy_in(TEXT, "__alloc_pages_slowpath").as_deref(), Some("__alloc_pages_slowpath.constprop.0"));
        let both = format!("{TEXT}ffffffff81003000 T __alloc_pages_slowpath\n");
        assert_eq!(specialised_copy_in(&both, "__alloc_pages_slowpath"), None);
        assert_eq!(specialised_copy_in(TEXT, "nf_init"), None);
    }

    #[test]
    fn first_present_follows_the_given_order() {
        assert_eq!(first_present_in(TEXT, &["alloc_pages_nolock_noprof", "try_alloc_pages_noprof"]), Some("try_alloc_pages_noprof"));
        assert_eq!(first_present_in(TEXT, &["nf_init", "try_alloc_pages_noprof"]), Some("nf_init"));
        assert_eq!(first_present_in(TEXT, &["missing"]), None);
    }
}
