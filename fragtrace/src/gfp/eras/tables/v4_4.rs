//! 4.4–4.9 lists: 4.4/4.5's `include/trace/events/gfpflags.h` (the same list; 0x100000 is `__GFP_NOACCOUNT` in 4.4, `__GFP_ACCOUNT` in 4.5, listed in neither) and, from 4.6, `mmflags.h`.

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

/// The list of 4.6.2, in its order (transcription: `testdata/gfp-names/4.6.2.txt`).
// list: xing393939/linux-4.6.2 include/trace/events/mmflags.h @ 6bcd5b16 ("init"; only commit
// touching it)
// bits: xing393939/linux-4.6.2 include/linux/gfp.h @ 6bcd5b16
// version: Makefile: VERSION=4 PATCHLEVEL=6 SUBLEVEL=2 NAME="Charred Weasel". diff against 4.9.0:
// the list lacks GFP_TRANSHUGE_LIGHT, and gfp.h has GFP_TRANSHUGE = ((GFP_HIGHUSER_MOVABLE |
// __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN) & ~__GFP_RECLAIM) (no LIGHT); every
// bit value is the same as 4.9 (0x100000 = ___GFP_ACCOUNT, GFP_KERNEL_ACCOUNT present).
// zero mask: none (mmflags.h: `(flags) ? __print_flags(flags, "|", __def_gfpflag_names) : "none"`);
// first release with mmflags.h / __def_gfpflag_names / %pGg in the failure message
pub(in crate::gfp::eras) const V4_6: Entries = &[
    (0x352ca, "GFP_TRANSHUGE"),
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

/// The list of 4.8.15, in its order (transcription: `testdata/gfp-names/4.8.15.txt`).
// list: squirrel20/linux-4.8.15 include/trace/events/mmflags.h @ 4fdc4ec5 ("linux 4.8.15")
// bits: squirrel20/linux-4.8.15 include/linux/gfp.h @ 4fdc4ec5
// version: Makefile: VERSION=4 PATCHLEVEL=8 SUBLEVEL=15 NAME="Psychotic Stoned Sheep". Tarball
// import. Both gfp.h and the __def_gfpflag_names block of mmflags.h are byte-identical to 4.9.0
// (pengdonglin137/linux-4.9) - `diff` empty. So 4.8 already has __GFP_ACCOUNT at 0x100000,
// GFP_KERNEL_ACCOUNT, GFP_TRANSHUGE_LIGHT and GFP_TRANSHUGE = LIGHT|DIRECT_RECLAIM exactly like
// 4.9.
// zero mask: none
pub(in crate::gfp::eras) const V4_8: Entries = &[
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
