//! The name table of each era: bit values from that era's `include/linux/gfp.h` (later
//! `gfp_types.h`), composites built the way gfp.h builds them, and the list order of its
//! `show_gfp_flags` (`include/trace/events/gfpflags.h`, from 4.6 `mmflags.h`).
//!
//! Sources checked (stored copies of kernel trees and of the mm patches that moved bits):
//! 3.10/3.14 gfp.h and gfpflags.h; the 4.4 "distinguish between being unable to sleep…" series
//! (Sept 2015) that moved WAIT/RECLAIMABLE and added ATOMIC/DIRECT/KSWAPD; 4.6 gfp.h and
//! mmflags.h; 4.9 and 4.15+ mmflags.h; the Jan 2019 "mm: shuffle GFP_* flags" patch (5.1);
//! "mm: discard __GFP_ATOMIC" (v3 posted Jan 2023, after the 6.2 merge window closed, so 6.3;
//! inferred from the dates, not read from a tagged tree); 6.6 mmflags.h; a 2018 gfp.h diff whose
//! context shows the 4.12–4.14 upper bits (DIRECT 0x400000, WRITE 0x800000, KSWAPD 0x1000000,
//! NOLOCKDEP 0x2000000); this machine's 6.18 format file (testdata/format/6.18-mm_page_alloc).
//!
//! From 4.4 the tables also carry `__GFP_DMA` and `__GFP_DMA32` right after GFP_DMA/GFP_DMA32 (as
//! 6.18's list does): same values, so they never print, but [`super::value_in`] knows them.
//!
//! Names: every single flag is spelled `__GFP_X`, as 4.6+ kernels print it. 2.6–4.5 kernels
//! printed `GFP_X` for singles (and left DMA, HIGHMEM, DMA32, FS and WRITE out of the list, so
//! those bits showed as hex); those eras' tables name them anyway, since a hex-only log line
//! gets its only names from here.

/// `(value, name)` in decode order.
pub(super) type Entries = &'static [(u64, &'static str)];

// Zone bits kept their values throughout.
const DMA: u64 = 0x01;
const HIGHMEM: u64 = 0x02;
const DMA32: u64 = 0x04;
const MOVABLE: u64 = 0x08;

/// 2.6.x–4.3, after 3.10's gfp.h.
///
/// Differences inside the era, by bit:
/// - 0x100000: `__GFP_MOVABLE` before 2.6.31 (it moved to 0x08 then), unused 2.6.31–3.7,
///   `__GFP_KMEMCG` 3.8–3.14 (and RHEL7's 3.10), unused 3.15–4.0, `__GFP_NOACCOUNT` ~4.1–4.3.
/// - 0x2000 `__GFP_MEMALLOC` from 3.6; 0x400000 `__GFP_NO_KSWAPD` and 0x800000
///   `__GFP_OTHER_NODE` from ~2.6.38; 0x1000000 `__GFP_WRITE` from 3.2.
/// - 0x200000 `__GFP_NOTRACK` is 0 unless CONFIG_KMEMCHECK.
/// - GFP_TRANSHUGE (2.6.38+) includes `__GFP_NO_KSWAPD`.
/// - GFP_NOWAIT is 0 in this era and so has no entry; GFP_ATOMIC is `__GFP_HIGH` alone.
pub(super) const V3_10: Entries = {
    const WAIT: u64 = 0x10;
    const HIGH: u64 = 0x20;
    const IO: u64 = 0x40;
    const FS: u64 = 0x80;
    const COLD: u64 = 0x100;
    const NOWARN: u64 = 0x200;
    const REPEAT: u64 = 0x400;
    const NOFAIL: u64 = 0x800;
    const NORETRY: u64 = 0x1000;
    const MEMALLOC: u64 = 0x2000;
    const COMP: u64 = 0x4000;
    const ZERO: u64 = 0x8000;
    const NOMEMALLOC: u64 = 0x10000;
    const HARDWALL: u64 = 0x20000;
    const THISNODE: u64 = 0x40000;
    const RECLAIMABLE: u64 = 0x80000;
    const KMEMCG: u64 = 0x100000;
    const NOTRACK: u64 = 0x200000;
    const NO_KSWAPD: u64 = 0x400000;
    const OTHER_NODE: u64 = 0x800000;
    const WRITE: u64 = 0x1000000;
    const KERNEL: u64 = WAIT | IO | FS;
    const USER: u64 = KERNEL | HARDWALL;
    const HIGHUSER_MOVABLE: u64 = USER | HIGHMEM | MOVABLE;
    &[
        (HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NORETRY | NOWARN | NO_KSWAPD, "GFP_TRANSHUGE"),
        (HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
        (USER | HIGHMEM, "GFP_HIGHUSER"),
        (USER, "GFP_USER"),
        (KERNEL | RECLAIMABLE, "GFP_TEMPORARY"),
        (KERNEL, "GFP_KERNEL"),
        (WAIT | IO, "GFP_NOFS"),
        (HIGH, "GFP_ATOMIC"),
        (WAIT, "GFP_NOIO"),
        (DMA, "__GFP_DMA"),
        (HIGHMEM, "__GFP_HIGHMEM"),
        (DMA32, "__GFP_DMA32"),
        (HIGH, "__GFP_HIGH"),
        (WAIT, "__GFP_WAIT"),
        (IO, "__GFP_IO"),
        (FS, "__GFP_FS"),
        (COLD, "__GFP_COLD"),
        (NOWARN, "__GFP_NOWARN"),
        (REPEAT, "__GFP_REPEAT"),
        (NOFAIL, "__GFP_NOFAIL"),
        (NORETRY, "__GFP_NORETRY"),
        (COMP, "__GFP_COMP"),
        (ZERO, "__GFP_ZERO"),
        (NOMEMALLOC, "__GFP_NOMEMALLOC"),
        (MEMALLOC, "__GFP_MEMALLOC"),
        (HARDWALL, "__GFP_HARDWALL"),
        (THISNODE, "__GFP_THISNODE"),
        (RECLAIMABLE, "__GFP_RECLAIMABLE"),
        (KMEMCG, "__GFP_KMEMCG"),
        (MOVABLE, "__GFP_MOVABLE"),
        (NOTRACK, "__GFP_NOTRACK"),
        (NO_KSWAPD, "__GFP_NO_KSWAPD"),
        (OTHER_NODE, "__GFP_OTHER_NODE"),
        (WRITE, "__GFP_WRITE"),
    ]
};

/// 4.4–4.9, after 4.9's gfp.h and mmflags.h.
///
/// Differences inside the era: 0x100000 is `__GFP_NOACCOUNT` in 4.4 and `__GFP_ACCOUNT` from
/// 4.5 (GFP_KERNEL_ACCOUNT exists from 4.5); GFP_TRANSHUGE before 4.8 was
/// (GFP_HIGHUSER_MOVABLE|COMP|NOMEMALLOC|NORETRY|NOWARN) without the reclaim bits, and
/// GFP_TRANSHUGE_LIGHT appeared in 4.8.
pub(super) const V4_4: Entries = {
    const RECLAIMABLE: u64 = 0x10;
    const HIGH: u64 = 0x20;
    const IO: u64 = 0x40;
    const FS: u64 = 0x80;
    const COLD: u64 = 0x100;
    const NOWARN: u64 = 0x200;
    const REPEAT: u64 = 0x400;
    const NOFAIL: u64 = 0x800;
    const NORETRY: u64 = 0x1000;
    const MEMALLOC: u64 = 0x2000;
    const COMP: u64 = 0x4000;
    const ZERO: u64 = 0x8000;
    const NOMEMALLOC: u64 = 0x10000;
    const HARDWALL: u64 = 0x20000;
    const THISNODE: u64 = 0x40000;
    const ATOMIC: u64 = 0x80000;
    const ACCOUNT: u64 = 0x100000;
    const NOTRACK: u64 = 0x200000;
    const DIRECT_RECLAIM: u64 = 0x400000;
    const OTHER_NODE: u64 = 0x800000;
    const WRITE: u64 = 0x1000000;
    const KSWAPD_RECLAIM: u64 = 0x2000000;
    const RECLAIM: u64 = DIRECT_RECLAIM | KSWAPD_RECLAIM;
    const KERNEL: u64 = RECLAIM | IO | FS;
    const USER: u64 = KERNEL | HARDWALL;
    const HIGHUSER_MOVABLE: u64 = USER | HIGHMEM | MOVABLE;
    const TRANSHUGE_LIGHT: u64 = (HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN) & !RECLAIM;
    &[
        (TRANSHUGE_LIGHT | DIRECT_RECLAIM, "GFP_TRANSHUGE"),
        (TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"),
        (HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
        (USER | HIGHMEM, "GFP_HIGHUSER"),
        (USER, "GFP_USER"),
        (KERNEL | RECLAIMABLE, "GFP_TEMPORARY"),
        (KERNEL | ACCOUNT, "GFP_KERNEL_ACCOUNT"),
        (KERNEL, "GFP_KERNEL"),
        (RECLAIM | IO, "GFP_NOFS"),
        (HIGH | ATOMIC | KSWAPD_RECLAIM, "GFP_ATOMIC"),
        (RECLAIM, "GFP_NOIO"),
        (KSWAPD_RECLAIM, "GFP_NOWAIT"),
        (DMA, "GFP_DMA"),
        (HIGHMEM, "__GFP_HIGHMEM"),
        (DMA32, "GFP_DMA32"),
        (DMA, "__GFP_DMA"),
        (DMA32, "__GFP_DMA32"),
        (HIGH, "__GFP_HIGH"),
        (ATOMIC, "__GFP_ATOMIC"),
        (IO, "__GFP_IO"),
        (FS, "__GFP_FS"),
        (COLD, "__GFP_COLD"),
        (NOWARN, "__GFP_NOWARN"),
        (REPEAT, "__GFP_REPEAT"),
        (NOFAIL, "__GFP_NOFAIL"),
        (NORETRY, "__GFP_NORETRY"),
        (COMP, "__GFP_COMP"),
        (ZERO, "__GFP_ZERO"),
        (NOMEMALLOC, "__GFP_NOMEMALLOC"),
        (MEMALLOC, "__GFP_MEMALLOC"),
        (HARDWALL, "__GFP_HARDWALL"),
        (THISNODE, "__GFP_THISNODE"),
        (RECLAIMABLE, "__GFP_RECLAIMABLE"),
        (MOVABLE, "__GFP_MOVABLE"),
        (ACCOUNT, "__GFP_ACCOUNT"),
        (NOTRACK, "__GFP_NOTRACK"),
        (WRITE, "__GFP_WRITE"),
        (RECLAIM, "__GFP_RECLAIM"),
        (DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
        (KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
        (OTHER_NODE, "__GFP_OTHER_NODE"),
    ]
};

/// 4.10–4.14: `__GFP_OTHER_NODE` removed (4.10), so WRITE and KSWAPD_RECLAIM moved down.
///
/// Differences inside the era: 0x400 is `__GFP_REPEAT` until 4.12 and `__GFP_RETRY_MAYFAIL`
/// from 4.13 (named the latter here); GFP_TEMPORARY was removed in 4.14 (kept here for
/// 4.10–4.13; its bits then read GFP_KERNEL|__GFP_RECLAIMABLE). `__GFP_NOLOCKDEP` (4.12+) is
/// 0 unless CONFIG_LOCKDEP and is not in the kernel's list; it is named here because 0x2000000
/// has no other meaning in this era.
pub(super) const V4_10: Entries = {
    const RECLAIMABLE: u64 = 0x10;
    const HIGH: u64 = 0x20;
    const IO: u64 = 0x40;
    const FS: u64 = 0x80;
    const COLD: u64 = 0x100;
    const NOWARN: u64 = 0x200;
    const RETRY_MAYFAIL: u64 = 0x400;
    const NOFAIL: u64 = 0x800;
    const NORETRY: u64 = 0x1000;
    const MEMALLOC: u64 = 0x2000;
    const COMP: u64 = 0x4000;
    const ZERO: u64 = 0x8000;
    const NOMEMALLOC: u64 = 0x10000;
    const HARDWALL: u64 = 0x20000;
    const THISNODE: u64 = 0x40000;
    const ATOMIC: u64 = 0x80000;
    const ACCOUNT: u64 = 0x100000;
    const NOTRACK: u64 = 0x200000;
    const DIRECT_RECLAIM: u64 = 0x400000;
    const WRITE: u64 = 0x800000;
    const KSWAPD_RECLAIM: u64 = 0x1000000;
    const NOLOCKDEP: u64 = 0x2000000;
    const RECLAIM: u64 = DIRECT_RECLAIM | KSWAPD_RECLAIM;
    const KERNEL: u64 = RECLAIM | IO | FS;
    const USER: u64 = KERNEL | HARDWALL;
    const HIGHUSER_MOVABLE: u64 = USER | HIGHMEM | MOVABLE;
    const TRANSHUGE_LIGHT: u64 = (HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN) & !RECLAIM;
    &[
        (TRANSHUGE_LIGHT | DIRECT_RECLAIM, "GFP_TRANSHUGE"),
        (TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"),
        (HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
        (USER | HIGHMEM, "GFP_HIGHUSER"),
        (USER, "GFP_USER"),
        (KERNEL | RECLAIMABLE, "GFP_TEMPORARY"),
        (KERNEL | ACCOUNT, "GFP_KERNEL_ACCOUNT"),
        (KERNEL, "GFP_KERNEL"),
        (RECLAIM | IO, "GFP_NOFS"),
        (HIGH | ATOMIC | KSWAPD_RECLAIM, "GFP_ATOMIC"),
        (RECLAIM, "GFP_NOIO"),
        (KSWAPD_RECLAIM, "GFP_NOWAIT"),
        (DMA, "GFP_DMA"),
        (HIGHMEM, "__GFP_HIGHMEM"),
        (DMA32, "GFP_DMA32"),
        (DMA, "__GFP_DMA"),
        (DMA32, "__GFP_DMA32"),
        (HIGH, "__GFP_HIGH"),
        (ATOMIC, "__GFP_ATOMIC"),
        (IO, "__GFP_IO"),
        (FS, "__GFP_FS"),
        (COLD, "__GFP_COLD"),
        (NOWARN, "__GFP_NOWARN"),
        (RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
        (NOFAIL, "__GFP_NOFAIL"),
        (NORETRY, "__GFP_NORETRY"),
        (COMP, "__GFP_COMP"),
        (ZERO, "__GFP_ZERO"),
        (NOMEMALLOC, "__GFP_NOMEMALLOC"),
        (MEMALLOC, "__GFP_MEMALLOC"),
        (HARDWALL, "__GFP_HARDWALL"),
        (THISNODE, "__GFP_THISNODE"),
        (RECLAIMABLE, "__GFP_RECLAIMABLE"),
        (MOVABLE, "__GFP_MOVABLE"),
        (ACCOUNT, "__GFP_ACCOUNT"),
        (NOTRACK, "__GFP_NOTRACK"),
        (WRITE, "__GFP_WRITE"),
        (RECLAIM, "__GFP_RECLAIM"),
        (DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
        (KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
        (NOLOCKDEP, "__GFP_NOLOCKDEP"),
    ]
};

/// 4.15–5.0: `__GFP_COLD` and `__GFP_NOTRACK` removed (4.15), WRITE took 0x100 and the
/// bits above THISNODE moved down. `__GFP_NOLOCKDEP` as in 4.10–4.14, now 0x800000.
pub(super) const V4_15: Entries = {
    const RECLAIMABLE: u64 = 0x10;
    const HIGH: u64 = 0x20;
    const IO: u64 = 0x40;
    const FS: u64 = 0x80;
    const WRITE: u64 = 0x100;
    const NOWARN: u64 = 0x200;
    const RETRY_MAYFAIL: u64 = 0x400;
    const NOFAIL: u64 = 0x800;
    const NORETRY: u64 = 0x1000;
    const MEMALLOC: u64 = 0x2000;
    const COMP: u64 = 0x4000;
    const ZERO: u64 = 0x8000;
    const NOMEMALLOC: u64 = 0x10000;
    const HARDWALL: u64 = 0x20000;
    const THISNODE: u64 = 0x40000;
    const ATOMIC: u64 = 0x80000;
    const ACCOUNT: u64 = 0x100000;
    const DIRECT_RECLAIM: u64 = 0x200000;
    const KSWAPD_RECLAIM: u64 = 0x400000;
    const NOLOCKDEP: u64 = 0x800000;
    const RECLAIM: u64 = DIRECT_RECLAIM | KSWAPD_RECLAIM;
    const KERNEL: u64 = RECLAIM | IO | FS;
    const USER: u64 = KERNEL | HARDWALL;
    const HIGHUSER_MOVABLE: u64 = USER | HIGHMEM | MOVABLE;
    const TRANSHUGE_LIGHT: u64 = (HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN) & !RECLAIM;
    &[
        (TRANSHUGE_LIGHT | DIRECT_RECLAIM, "GFP_TRANSHUGE"),
        (TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"),
        (HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
        (USER | HIGHMEM, "GFP_HIGHUSER"),
        (USER, "GFP_USER"),
        (KERNEL | ACCOUNT, "GFP_KERNEL_ACCOUNT"),
        (KERNEL, "GFP_KERNEL"),
        (RECLAIM | IO, "GFP_NOFS"),
        (HIGH | ATOMIC | KSWAPD_RECLAIM, "GFP_ATOMIC"),
        (RECLAIM, "GFP_NOIO"),
        (KSWAPD_RECLAIM, "GFP_NOWAIT"),
        (DMA, "GFP_DMA"),
        (HIGHMEM, "__GFP_HIGHMEM"),
        (DMA32, "GFP_DMA32"),
        (DMA, "__GFP_DMA"),
        (DMA32, "__GFP_DMA32"),
        (HIGH, "__GFP_HIGH"),
        (ATOMIC, "__GFP_ATOMIC"),
        (IO, "__GFP_IO"),
        (FS, "__GFP_FS"),
        (NOWARN, "__GFP_NOWARN"),
        (RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
        (NOFAIL, "__GFP_NOFAIL"),
        (NORETRY, "__GFP_NORETRY"),
        (COMP, "__GFP_COMP"),
        (ZERO, "__GFP_ZERO"),
        (NOMEMALLOC, "__GFP_NOMEMALLOC"),
        (MEMALLOC, "__GFP_MEMALLOC"),
        (HARDWALL, "__GFP_HARDWALL"),
        (THISNODE, "__GFP_THISNODE"),
        (RECLAIMABLE, "__GFP_RECLAIMABLE"),
        (MOVABLE, "__GFP_MOVABLE"),
        (ACCOUNT, "__GFP_ACCOUNT"),
        (WRITE, "__GFP_WRITE"),
        (RECLAIM, "__GFP_RECLAIM"),
        (DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
        (KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
        (NOLOCKDEP, "__GFP_NOLOCKDEP"),
    ]
};

/// 5.1 onward ("mm: shuffle GFP_* flags"), in the 5.x–6.x list order (6.18 sorts the singles
/// by bit instead, which changes only the order names are printed in).
///
/// Differences inside the era, handled by listing both values (larger first, so each matches
/// its own kernels' masks):
/// - `__GFP_ATOMIC` (0x200) was removed in 6.3, so GFP_ATOMIC is 0xa20 before and 0x820 after.
///   A 5.1–6.2 mask of exactly GFP_NOWAIT|__GFP_HIGH (0x820) therefore reads GFP_ATOMIC.
/// - GFP_NOWAIT gained `__GFP_NOWARN` (patch posted Nov 2023; merge release unverified, present
///   in 6.18): 0x2800, earlier 0x800. An older kernel's GFP_NOWAIT|__GFP_NOWARN reads GFP_NOWAIT.
///
/// Not named: bits from 0x1000000 up (SKIP_ZERO, SKIP_KASAN*, NOLOCKDEP, NO_OBJ_EXT) move with
/// CONFIG_KASAN_HW_TAGS / CONFIG_LOCKDEP / CONFIG_SLAB_OBJ_EXT; they stay a hex remainder. 0x800000
/// is `__GFP_ZEROTAGS` (added ~5.14, unverified); before that it was `__GFP_NOLOCKDEP` on
/// CONFIG_LOCKDEP kernels.
pub(super) const V5_1: Entries = {
    const RECLAIMABLE: u64 = 0x10;
    const HIGH: u64 = 0x20;
    const IO: u64 = 0x40;
    const FS: u64 = 0x80;
    const ZERO: u64 = 0x100;
    const ATOMIC: u64 = 0x200;
    const DIRECT_RECLAIM: u64 = 0x400;
    const KSWAPD_RECLAIM: u64 = 0x800;
    const WRITE: u64 = 0x1000;
    const NOWARN: u64 = 0x2000;
    const RETRY_MAYFAIL: u64 = 0x4000;
    const NOFAIL: u64 = 0x8000;
    const NORETRY: u64 = 0x10000;
    const MEMALLOC: u64 = 0x20000;
    const COMP: u64 = 0x40000;
    const NOMEMALLOC: u64 = 0x80000;
    const HARDWALL: u64 = 0x100000;
    const THISNODE: u64 = 0x200000;
    const ACCOUNT: u64 = 0x400000;
    const ZEROTAGS: u64 = 0x800000;
    const RECLAIM: u64 = DIRECT_RECLAIM | KSWAPD_RECLAIM;
    const KERNEL: u64 = RECLAIM | IO | FS;
    const USER: u64 = KERNEL | HARDWALL;
    const HIGHUSER_MOVABLE: u64 = USER | HIGHMEM | MOVABLE;
    const TRANSHUGE_LIGHT: u64 = (HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN) & !RECLAIM;
    &[
        (TRANSHUGE_LIGHT | DIRECT_RECLAIM, "GFP_TRANSHUGE"),
        (TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"),
        (HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
        (USER | HIGHMEM, "GFP_HIGHUSER"),
        (USER, "GFP_USER"),
        (KERNEL | ACCOUNT, "GFP_KERNEL_ACCOUNT"),
        (KERNEL, "GFP_KERNEL"),
        (RECLAIM | IO, "GFP_NOFS"),
        (HIGH | ATOMIC | KSWAPD_RECLAIM, "GFP_ATOMIC"),
        (HIGH | KSWAPD_RECLAIM, "GFP_ATOMIC"),
        (RECLAIM, "GFP_NOIO"),
        (KSWAPD_RECLAIM | NOWARN, "GFP_NOWAIT"),
        (KSWAPD_RECLAIM, "GFP_NOWAIT"),
        (DMA, "GFP_DMA"),
        (HIGHMEM, "__GFP_HIGHMEM"),
        (DMA32, "GFP_DMA32"),
        (DMA, "__GFP_DMA"),
        (DMA32, "__GFP_DMA32"),
        (HIGH, "__GFP_HIGH"),
        (ATOMIC, "__GFP_ATOMIC"),
        (IO, "__GFP_IO"),
        (FS, "__GFP_FS"),
        (NOWARN, "__GFP_NOWARN"),
        (RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
        (NOFAIL, "__GFP_NOFAIL"),
        (NORETRY, "__GFP_NORETRY"),
        (COMP, "__GFP_COMP"),
        (ZERO, "__GFP_ZERO"),
        (NOMEMALLOC, "__GFP_NOMEMALLOC"),
        (MEMALLOC, "__GFP_MEMALLOC"),
        (HARDWALL, "__GFP_HARDWALL"),
        (THISNODE, "__GFP_THISNODE"),
        (RECLAIMABLE, "__GFP_RECLAIMABLE"),
        (MOVABLE, "__GFP_MOVABLE"),
        (ACCOUNT, "__GFP_ACCOUNT"),
        (WRITE, "__GFP_WRITE"),
        (RECLAIM, "__GFP_RECLAIM"),
        (DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
        (KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
        (ZEROTAGS, "__GFP_ZEROTAGS"),
    ]
};
