//! 4.4–4.9 lists: 4.4's `include/trace/events/gfpflags.h` and, from 4.6, `mmflags.h`.

use super::Entries;

/// The list of 4.4 (4.4.1; 4.4.0 identical, see how-verified), in its order (transcription:
/// `testdata/gfp-names/4.4.txt`).
// list: zanpocc/linux-4.4.1 include/trace/events/gfpflags.h @ d4321c96 ("init project", the repo's
// only commit)
// bits: zanpocc/linux-4.4.1 include/linux/gfp.h @ d4321c96
// version: Makefile: VERSION=4 PATCHLEVEL=4 SUBLEVEL=1 NAME="Blurry Fish Butt". Cross-check:
// xiaojimmychen/linux-4.4 @ e452f985 (Android common.git copy, Makefile 4.4.0) has byte-identical
// gfp.h and gfpflags.h (diff empty), so 4.4.0 = 4.4.1 here. (Both gfp.h copies define __GFP_MOVABLE
// twice, identically - upstream quirk, harmless.)
// zero mask: GFP_NOWAIT (`(flags) ? __print_flags(flags, "|", ...) : "GFP_NOWAIT"`) - NB:
// GFP_NOWAIT is 0x2000000 in 4.4, but it is not a list entry; a 0x2000000 mask prints
// "GFP_KSWAPD_RECLAIM"
pub(in crate::gfp::eras) const V4_4: Entries = &[
    (0x4352ca, "GFP_TRANSHUGE"),
    (0x24200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x24200c2, "GFP_HIGHUSER"),
    (0x24200c0, "GFP_USER"),
    (0x24000d0, "GFP_TEMPORARY"),
    (0x24000c0, "GFP_KERNEL"),
    (0x2400040, "GFP_NOFS"),
    (0x2080020, "GFP_ATOMIC"),
    (0x2400000, "GFP_NOIO"),
    (0x20, "GFP_HIGH"),
    (0x80000, "GFP_ATOMIC"),
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
    (0x10, "GFP_RECLAIMABLE"),
    (0x8, "GFP_MOVABLE"),
    (0x200000, "GFP_NOTRACK"),
    (0x400000, "GFP_DIRECT_RECLAIM"),
    (0x2000000, "GFP_KSWAPD_RECLAIM"),
    (0x800000, "GFP_OTHER_NODE"),
];

/// The list of 4.9 (4.9.0), in its order (transcription: `testdata/gfp-names/4.9.txt`).
// list: pengdonglin137/linux-4.9 include/trace/events/mmflags.h @ 6edaf675 ("init version"; only
// commit touching it; same at HEAD 7c353208)
// bits: pengdonglin137/linux-4.9 include/linux/gfp.h @ 6edaf675 (only commit touching it)
// version: Makefile: VERSION=4 PATCHLEVEL=9 SUBLEVEL=0 EXTRAVERSION= NAME="Roaring Lionus".
// Personal import of the 4.9 tarball; the only later commit (7c353208) changes ARCH/CROSS_COMPILE
// defaults in Makefile and adds build scripts, no mm/gfp files.
// zero mask: none (show_gfp_flags: `(flags) ? __print_flags(flags, "|", __def_gfpflag_names) :
// "none"`; the page-allocation-failure line uses %pGg = same __def_gfpflag_names via mm/debug.c
// gfpflag_names)
pub(in crate::gfp::eras) const V4_9: Entries = &[
    (0x4342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x24200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x24200c2, "GFP_HIGHUSER"),
    (0x24200c0, "GFP_USER"),
    (0x24000d0, "GFP_TEMPORARY"),
    (0x25000c0, "GFP_KERNEL_ACCOUNT"),
    (0x24000c0, "GFP_KERNEL"),
    (0x2400040, "GFP_NOFS"),
    (0x2080020, "GFP_ATOMIC"),
    (0x2400000, "GFP_NOIO"),
    (0x2000000, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x80000, "__GFP_ATOMIC"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_COLD"),
    (0x200, "__GFP_NOWARN"),
    (0x400, "__GFP_REPEAT"),
    (0x800, "__GFP_NOFAIL"),
    (0x1000, "__GFP_NORETRY"),
    (0x4000, "__GFP_COMP"),
    (0x8000, "__GFP_ZERO"),
    (0x10000, "__GFP_NOMEMALLOC"),
    (0x2000, "__GFP_MEMALLOC"),
    (0x20000, "__GFP_HARDWALL"),
    (0x40000, "__GFP_THISNODE"),
    (0x10, "__GFP_RECLAIMABLE"),
    (0x8, "__GFP_MOVABLE"),
    (0x100000, "__GFP_ACCOUNT"),
    (0x200000, "__GFP_NOTRACK"),
    (0x1000000, "__GFP_WRITE"),
    (0x2400000, "__GFP_RECLAIM"),
    (0x400000, "__GFP_DIRECT_RECLAIM"),
    (0x2000000, "__GFP_KSWAPD_RECLAIM"),
    (0x800000, "__GFP_OTHER_NODE"),
];
