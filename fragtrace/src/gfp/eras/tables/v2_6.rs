//! 2.6.32–4.3 lists: `show_gfp_flags` in `include/trace/events/kmem.h` (2.6.32), then `gfpflags.h`; singles spelled `GFP_X`, a zero mask printed `GFP_NOWAIT`.

use super::Entries;

/// The list of 2.6.32 (2.6.32.2 and 2.6.32.63 read; same list), in its order (transcription:
/// `testdata/gfp-names/2.6.32.txt`).
// list: zybsyzlz/linux-2.6.32 include/trace/events/kmem.h @ ec78931d ("linux kernel code 2.6.32") -
// in 2.6.32 show_gfp_flags lives in kmem.h; there is no include/trace/events/gfpflags.h in this
// tree
// bits: zybsyzlz/linux-2.6.32 include/linux/gfp.h @ ec78931d (has Chinese annotation comments added
// by the repo owner; the #defines are unchanged)
// version: Makefile: VERSION=2 PATCHLEVEL=6 SUBLEVEL=32 EXTRAVERSION=.2. Cross-check:
// mikuhatsune001/linux2.6.32 @ 4866fa67 (Makefile 2.6.32.63, annotated tree) has the same
// show_gfp_flags block in include/trace/events/kmem.h and the same gfp.h bit/composite definitions.
// (That repo ALSO carries a later-kernel include/trace/events/gfpflags.h with
// GFP_TRANSHUGE/MEMALLOC/NO_KSWAPD/OTHER_NODE, which its own 2.6.32 gfp.h cannot compile - ignored
// as foreign.)
// zero mask: GFP_NOWAIT (`(flags) ? __print_flags(flags, "|", ...) : "GFP_NOWAIT"`)
pub(in crate::gfp::eras) const V2_6_32: Entries = &[
    (0x200da, "GFP_HIGHUSER_MOVABLE"),
    (0x200d2, "GFP_HIGHUSER"),
    (0x200d0, "GFP_USER"),
    (0x800d0, "GFP_TEMPORARY"),
    (0xd0, "GFP_KERNEL"),
    (0x50, "GFP_NOFS"),
    (0x20, "GFP_ATOMIC"),
    (0x10, "GFP_NOIO"),
    (0x20, "GFP_HIGH"),
    (0x10, "GFP_WAIT"),
    (0x40, "GFP_IO"),
    (0x100, "GFP_COLD"),
    (0x200, "GFP_NOWARN"),
    (0x400, "GFP_REPEAT"),
    (0x800, "GFP_NOFAIL"),
    (0x1000, "GFP_NORETRY"),
    (0x4000, "GFP_COMP"),
    (0x8000, "GFP_ZERO"),
    (0x10000, "GFP_NOMEMALLOC"),
    (0x20000, "GFP_HARDWALL"),
    (0x40000, "GFP_THISNODE"),
    (0x80000, "GFP_RECLAIMABLE"),
    (0x8, "GFP_MOVABLE"),
];

/// The list of 3.10.108 (last 3.10.y, upstream stable), in its order (transcription:
/// `testdata/gfp-names/3.10.108.txt`).
// list: DmytriyGrytsay/linux-3.10.108 include/trace/events/gfpflags.h @ 3f165a1d ("Add GNU/Linux
// sources"; only commit touching it; blob 1eddbf1557f2 - byte-identical to RHEL 3.10.0-514.el7's
// file)
// bits: DmytriyGrytsay/linux-3.10.108 include/linux/gfp.h @ 3f165a1d (only commit touching it)
// version: Makefile: VERSION=3 PATCHLEVEL=10 SUBLEVEL=108 NAME="END-OF-LIFE". Repo = tarball import
// plus a defconfig and an AC97 Kconfig fix (other commits don't touch gfp.h / gfpflags.h). 3.10.0
// itself not read; inferred: same list (3.10.y stable did not change GFP bits; RHEL -514 built on
// 3.10.0 has the identical list).
// zero mask: GFP_NOWAIT (`(flags) ? __print_flags(flags, "|", ...) : "GFP_NOWAIT"`)
pub(in crate::gfp::eras) const V3_10: Entries = &[
    (0x4352da, "GFP_TRANSHUGE"),
    (0x200da, "GFP_HIGHUSER_MOVABLE"),
    (0x200d2, "GFP_HIGHUSER"),
    (0x200d0, "GFP_USER"),
    (0x800d0, "GFP_TEMPORARY"),
    (0xd0, "GFP_KERNEL"),
    (0x50, "GFP_NOFS"),
    (0x20, "GFP_ATOMIC"),
    (0x10, "GFP_NOIO"),
    (0x20, "GFP_HIGH"),
    (0x10, "GFP_WAIT"),
    (0x40, "GFP_IO"),
    (0x100, "GFP_COLD"),
    (0x200, "GFP_NOWARN"),
    (0x400, "GFP_REPEAT"),
    (0x800, "GFP_NOFAIL"),
    (0x1000, "GFP_NORETRY"),
    (0x4000, "GFP_COMP"),
    (0x8000, "GFP_ZERO"),
    (0x10000, "GFP_NOMEMALLOC"),
    (0x2000, "GFP_MEMALLOC"),
    (0x20000, "GFP_HARDWALL"),
    (0x40000, "GFP_THISNODE"),
    (0x80000, "GFP_RECLAIMABLE"),
    (0x100000, "GFP_KMEMCG"),
    (0x8, "GFP_MOVABLE"),
    (0x200000, "GFP_NOTRACK"),
    (0x400000, "GFP_NO_KSWAPD"),
    (0x800000, "GFP_OTHER_NODE"),
];

/// The list of 3.18.63, in its order (transcription: `testdata/gfp-names/3.18.63.txt`).
// list: artynet/linux-3.18.63 include/trace/events/gfpflags.h @ b08a7a57 ("first commit"; only
// commit touching it; blob d6fd8e5b14b7 - byte-identical to the RHEL 3.10.0-1127/-1160 and upstream
// 4.1.5 files)
// bits: artynet/linux-3.18.63 include/linux/gfp.h @ b08a7a57
// version: Makefile: VERSION=3 PATCHLEVEL=18 SUBLEVEL=63 NAME="Diseased Newt";
// Makefile/gfp.h/gfpflags.h touched only by the import commit.
// zero mask: GFP_NOWAIT
pub(in crate::gfp::eras) const V3_18: Entries = &[
    (0x4352da, "GFP_TRANSHUGE"),
    (0x200da, "GFP_HIGHUSER_MOVABLE"),
    (0x200d2, "GFP_HIGHUSER"),
    (0x200d0, "GFP_USER"),
    (0x800d0, "GFP_TEMPORARY"),
    (0xd0, "GFP_KERNEL"),
    (0x50, "GFP_NOFS"),
    (0x20, "GFP_ATOMIC"),
    (0x10, "GFP_NOIO"),
    (0x20, "GFP_HIGH"),
    (0x10, "GFP_WAIT"),
    (0x40, "GFP_IO"),
    (0x100, "GFP_COLD"),
    (0x200, "GFP_NOWARN"),
    (0x400, "GFP_REPEAT"),
    (0x800, "GFP_NOFAIL"),
    (0x1000, "GFP_NORETRY"),
    (0x4000, "GFP_COMP"),
    (0x8000, "GFP_ZERO"),
    (0x10000, "GFP_NOMEMALLOC"),
    (0x2000, "GFP_MEMALLOC"),
    (0x20000, "GFP_HARDWALL"),
    (0x40000, "GFP_THISNODE"),
    (0x80000, "GFP_RECLAIMABLE"),
    (0x8, "GFP_MOVABLE"),
    (0x200000, "GFP_NOTRACK"),
    (0x400000, "GFP_NO_KSWAPD"),
    (0x800000, "GFP_OTHER_NODE"),
];
