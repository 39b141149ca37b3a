//! Walking the probe table: which rows this kernel has, and loading and attaching them. The
//! policy for the failure hooks is in [`hooks`](super::hooks).

use aya::{
    Btf, Ebpf,
    programs::{BtfTracePoint, TracePoint},
};
use fragtrace_ebpf::StallLayout;

use super::{
    LoadError, program, program_error,
    table::{self, Probe},
};
use crate::{
    host::tracefs::{EventFormat, FormatError, Tracefs, layout},
    probe_status::ProbeMode,
};

const RECLAIM_BEGIN: &Probe = table::row("direct_reclaim_begin");
const RECLAIM_END: &Probe = table::row("direct_reclaim_end");
const MARK_VICTIM: &Probe = table::row("mark_victim");
const COMPACT_TRY: &Probe = table::row("compact_try");
const COMPACT_END: &Probe = table::row("compact_zone_end");

/// Format files of the stall tracepoints, read before loading: they give the stall layout and
/// say which stall groups this kernel has. Read whatever `--stalls` says, so a format the
/// layout cannot use is an error either way.
pub(super) struct StallFormats(Vec<(&'static Probe, Option<EventFormat>)>);

impl StallFormats {
    pub fn read(tracefs: &Tracefs) -> Self {
        let mut formats = StallFormats(Vec::new());
        for (_, rows) in table::stall_groups() {
            let mut group_present = true;
            for row in rows {
                let format = match row.same_fields_as() {
                    // Compared only while the rows before it in its group are there.
                    Some(_) if !group_present => None,
                    Some((category, event)) => {
                        let like = formats.get(category, event).map(|f| f.fields.clone());
                        read_optional(tracefs, row).filter(|f| like.as_ref() == Some(&f.fields))
                    }
                    None => read_optional(tracefs, row),
                };
                group_present &= format.is_some();
                formats.0.push((row, format));
            }
        }
        formats
    }

    fn get(&self, category: &str, event: &str) -> Option<&EventFormat> {
        self.0.iter().find(|(row, _)| row.event() == Some((category, event))).and_then(|(_, f)| f.as_ref())
    }

    fn of(&self, row: &Probe) -> Option<&EventFormat> {
        self.0.iter().find(|(r, _)| r.program == row.program).and_then(|(_, f)| f.as_ref())
    }

    /// Every row of a group has its tracepoint (with the fields it needs).
    pub fn has_all(&self, rows: &[&Probe]) -> bool {
        rows.iter().all(|row| self.of(row).is_some())
    }

    pub fn layout(&self) -> Result<StallLayout, FormatError> {
        layout::stall_layout(self.of(RECLAIM_BEGIN), self.of(RECLAIM_END), self.of(MARK_VICTIM), self.of(COMPACT_TRY), self.of(COMPACT_END))
    }
}

/// A row's tracepoint format, or `None` (logged) when this kernel has none.
fn read_optional(tracefs: &Tracefs, row: &Probe) -> Option<EventFormat> {
    let (category, event) = row.event()?;
    match tracefs.event_format(category, event) {
        Ok(f) => Some(f),
        Err(e) => {
            log::info!("{category}:{event} unavailable: {e}");
            None
        }
    }
}

/// Loads (and verifies) the `mm_page_alloc` program of `mode` without attaching it, so that
/// attaching later is one syscall.
pub(super) fn load_page_alloc(ebpf: &mut Ebpf, mode: ProbeMode, btf: Option<&Btf>) -> Result<(), LoadError> {
    let row = table::page_alloc(mode);
    let what = format!("loading {}", row.section());
    match mode {
        ProbeMode::TpBtf => {
            let btf = btf.ok_or(LoadError::NoBtf)?;
            let (_, event) = tracepoint_of(row)?;
            let program: &mut BtfTracePoint = program(ebpf, row.program)?;
            program.load(event, btf).map_err(|e| program_error(&what, e))
        }
        ProbeMode::Classic => {
            let program: &mut TracePoint = program(ebpf, row.program)?;
            program.load().map_err(|e| program_error(&what, e))
        }
    }
}

/// Loads and attaches a classic tracepoint row; the link lives as long as `ebpf`.
pub(super) fn attach_tracepoint(ebpf: &mut Ebpf, row: &Probe) -> Result<(), LoadError> {
    let (category, event) = tracepoint_of(row)?;
    let program: &mut TracePoint = program(ebpf, row.program)?;
    program.load().map_err(|e| program_error(&format!("loading {}", row.section()), e))?;
    program.attach(category, event).map_err(|e| program_error(&format!("attaching {}", row.section()), e))?;
    Ok(())
}

/// The slow-path sentinels this kernel has (`--alloc-probe on-pressure`), by name.
pub(super) fn attach_sentinels(ebpf: &mut Ebpf, tracefs: &Tracefs) -> Vec<&'static str> {
    let mut attached = Vec::new();
    for (name, row) in table::sentinels() {
        let Some((category, event)) = row.event() else { continue };
        if tracefs.event_format(category, event).is_err() {
            log::info!("{category}:{event} unavailable: {}", row.lost());
            continue;
        }
        match attach_tracepoint(ebpf, row) {
            Ok(()) => attached.push(name),
            Err(e) => log::warn!("slow-path sentinel {category}:{event}: {e}"),
        }
    }
    attached
}

/// The stall groups this kernel has, attached a group at a time (a group stops at its first
/// failing row), by name.
pub(super) fn attach_stalls(ebpf: &mut Ebpf, formats: &StallFormats) -> Vec<&'static str> {
    let mut attached = Vec::new();
    for (group, rows) in table::stall_groups() {
        if !formats.has_all(&rows) {
            continue;
        }
        match rows.iter().try_for_each(|row| attach_tracepoint(ebpf, row)) {
            Ok(()) => attached.push(group),
            Err(e) => log::warn!("{}: {e}", rows[0].lost()),
        }
    }
    attached
}

/// `(category, event)` of a tracepoint row.
pub(super) fn tracepoint_of(row: &Probe) -> Result<(&'static str, &'static str), LoadError> {
    row.event().ok_or_else(|| LoadError::Program {
        what: format!("program {} has no tracepoint", row.program),
        source: aya::programs::ProgramError::UnexpectedProgramType,
    })
}
