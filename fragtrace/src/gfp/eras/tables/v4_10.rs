//! 4.10–4.14 lists (`include/trace/events/mmflags.h`).

use super::Entries;

/// The list of 4.10.17, in its order (transcription: `testdata/gfp-names/4.10.17.txt`).
// list: pengdonglin137/linux-4.10.17 include/trace/events/mmflags.h @ 6962d94c ("init version",
// only commit)
// bits: pengdonglin137/linux-4.10.17 include/linux/gfp.h @ 6962d94c
// version: Makefile: VERSION=4 PATCHLEVEL=10 SUBLEVEL=17 NAME="Fearless Coyote". diff against
// 4.9.0: ___GFP_OTHER_NODE and its list entry removed; ___GFP_WRITE 0x1000000 -> 0x800000;
// ___GFP_KSWAPD_RECLAIM 0x2000000 -> 0x1000000; __GFP_BITS_SHIFT 26 -> 25. Everything else (incl.
// GFP_TEMPORARY, __GFP_REPEAT 0x400, __GFP_NOTRACK 0x200000) unchanged.
// zero mask: none
pub(in crate::gfp::eras) const V4_10: Entries = &[
    (0x4342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x14200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x14200c2, "GFP_HIGHUSER"),
    (0x14200c0, "GFP_USER"),
    (0x14000d0, "GFP_TEMPORARY"),
    (0x15000c0, "GFP_KERNEL_ACCOUNT"),
    (0x14000c0, "GFP_KERNEL"),
    (0x1400040, "GFP_NOFS"),
    (0x1080020, "GFP_ATOMIC"),
    (0x1400000, "GFP_NOIO"),
    (0x1000000, "GFP_NOWAIT"),
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
    (0x800000, "__GFP_WRITE"),
    (0x1400000, "__GFP_RECLAIM"),
    (0x400000, "__GFP_DIRECT_RECLAIM"),
    (0x1000000, "__GFP_KSWAPD_RECLAIM"),
];

/// The list of 4.13.4, in its order (transcription: `testdata/gfp-names/4.13.4.txt`).
// list: shizukanaskytree/linux-4.13.4 include/trace/events/mmflags.h @ 0a6251a4 (the tree's import
// commit, which also adds the owner's syscall under info/; mm headers untouched)
// bits: shizukanaskytree/linux-4.13.4 include/linux/gfp.h @ 0a6251a4
// version: Makefile: VERSION=4 PATCHLEVEL=13 SUBLEVEL=4 NAME="Fearless Coyote". diff against 4.14.0
// (hxxful/linux-4.14.0-friendlyarm): the only differences are the SPDX header lines and
// GFP_TEMPORARY (gfp.h `#define GFP_TEMPORARY (__GFP_RECLAIM | __GFP_IO | __GFP_FS |
// __GFP_RECLAIMABLE)` and the list entry right after GFP_USER). So 4.13 = 4.14.0 + GFP_TEMPORARY;
// 4.14 removed GFP_TEMPORARY.
// zero mask: none
pub(in crate::gfp::eras) const V4_13: Entries = &[
    (0x4342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x14200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x14200c2, "GFP_HIGHUSER"),
    (0x14200c0, "GFP_USER"),
    (0x14000d0, "GFP_TEMPORARY"),
    (0x15000c0, "GFP_KERNEL_ACCOUNT"),
    (0x14000c0, "GFP_KERNEL"),
    (0x1400040, "GFP_NOFS"),
    (0x1080020, "GFP_ATOMIC"),
    (0x1400000, "GFP_NOIO"),
    (0x1000000, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x80000, "__GFP_ATOMIC"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_COLD"),
    (0x200, "__GFP_NOWARN"),
    (0x400, "__GFP_RETRY_MAYFAIL"),
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
    (0x800000, "__GFP_WRITE"),
    (0x1400000, "__GFP_RECLAIM"),
    (0x400000, "__GFP_DIRECT_RECLAIM"),
    (0x1000000, "__GFP_KSWAPD_RECLAIM"),
];

/// The list of 4.14 (4.14.0; same files through 4.14.8, see how-verified), in its order
/// (transcription: `testdata/gfp-names/4.14.txt`).
// list: hxxful/linux-4.14.0-friendlyarm include/trace/events/mmflags.h @ d126cfb95 ("initial
// commit"; blob 648cbf603736)
// bits: hxxful/linux-4.14.0-friendlyarm include/linux/gfp.h @ d126cfb95 (blob 710143741eb5)
// version: Makefile: VERSION=4 PATCHLEVEL=14 SUBLEVEL=0 NAME="Fearless Coyote". That is a
// FriendlyARM vendor tree, so cross-checked: monkeygq/linux-4.14.5 @ 67c81f98 (Makefile 4.14.5) and
// liuzq71/linux-4.14.8-rt9-nanopi-m3 @ b3a29876b (Makefile 4.14.8; its history applies
// patch-4.14.3->4.14.4 ... ->4.14.8 one by one without touching gfp.h/mmflags.h) have
// byte-identical gfp.h and mmflags.h (same blob ids). So the vendor did not add flags, and
// 4.14.0-4.14.8 share this list.
// zero mask: none (`(flags) ? __print_flags(flags, "|", __def_gfpflag_names) : "none"`;
// page-allocation-failure line uses %pGg with the same __def_gfpflag_names, mm/debug.c)
pub(in crate::gfp::eras) const V4_14: Entries = &[
    (0x4342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x14200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x14200c2, "GFP_HIGHUSER"),
    (0x14200c0, "GFP_USER"),
    (0x15000c0, "GFP_KERNEL_ACCOUNT"),
    (0x14000c0, "GFP_KERNEL"),
    (0x1400040, "GFP_NOFS"),
    (0x1080020, "GFP_ATOMIC"),
    (0x1400000, "GFP_NOIO"),
    (0x1000000, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x80000, "__GFP_ATOMIC"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_COLD"),
    (0x200, "__GFP_NOWARN"),
    (0x400, "__GFP_RETRY_MAYFAIL"),
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
    (0x800000, "__GFP_WRITE"),
    (0x1400000, "__GFP_RECLAIM"),
    (0x400000, "__GFP_DIRECT_RECLAIM"),
    (0x1000000, "__GFP_KSWAPD_RECLAIM"),
];

/// The list of 4.14.67, in its order (transcription: `testdata/gfp-names/4.14.67.txt`).
// list: YimengZhao/linux-4.14.67 include/trace/events/mmflags.h @ c685f05b ("first commit", the
// repo's only commit; blob 72162f3a03fa)
// bits: YimengZhao/linux-4.14.67 include/linux/gfp.h @ c685f05b (blob b041f94678de)
// version: Makefile: VERSION=4 PATCHLEVEL=14 SUBLEVEL=67 NAME="Petit Gorille". Personal import of
// the tarball (single commit). Diff against the 4.14.0/4.14.5/4.14.8 files: the only change is the
// removal of ___GFP_NOTRACK / __GFP_NOTRACK / __GFP_NOTRACK_FALSE_POSITIVE from gfp.h and of the
// __GFP_NOTRACK entry from mmflags.h (bit 0x200000 left unused, other bits unchanged).
// zero mask: none
pub(in crate::gfp::eras) const V4_14_67: Entries = &[
    (0x4342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x14200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x14200c2, "GFP_HIGHUSER"),
    (0x14200c0, "GFP_USER"),
    (0x15000c0, "GFP_KERNEL_ACCOUNT"),
    (0x14000c0, "GFP_KERNEL"),
    (0x1400040, "GFP_NOFS"),
    (0x1080020, "GFP_ATOMIC"),
    (0x1400000, "GFP_NOIO"),
    (0x1000000, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x80000, "__GFP_ATOMIC"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_COLD"),
    (0x200, "__GFP_NOWARN"),
    (0x400, "__GFP_RETRY_MAYFAIL"),
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
    (0x800000, "__GFP_WRITE"),
    (0x1400000, "__GFP_RECLAIM"),
    (0x400000, "__GFP_DIRECT_RECLAIM"),
    (0x1000000, "__GFP_KSWAPD_RECLAIM"),
];
