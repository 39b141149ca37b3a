//! 4.15–5.0 lists (`include/trace/events/mmflags.h`): 4.15 drops `__GFP_COLD` but keeps the 4.14 bits; by 4.19 the bits are compacted (GFP_KERNEL 0x6000c0).

use super::Entries;

/// The list of 4.15, in its order (transcription: `testdata/gfp-names/4.15.txt`).
// list: Kent-Hu/linux-4.15.1 include/trace/events/mmflags.h @
// ecb8ce09d432dd56d240378fc18ab949513f9de9
// bits: Kent-Hu/linux-4.15.1 include/linux/gfp.h (and gfp_types.h if present) @
// ecb8ce09d432dd56d240378fc18ab949513f9de9
// version: Makefile 4.15.1; gfp files only in 'create a new repo for linux'
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V4_15: Entries = &[
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

/// The list of 4.19, in its order (transcription: `testdata/gfp-names/4.19.txt`).
// list: chens37/linux-4.19.1 include/trace/events/mmflags.h @
// 36e37757ab77cff62813b4c81acdc75a67a3c116
// bits: chens37/linux-4.19.1 include/linux/gfp.h (and gfp_types.h if present) @
// 36e37757ab77cff62813b4c81acdc75a67a3c116
// version: Makefile 4.19.1; gfp files only in commit 'add the base code,part1'
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V4_19: Entries = &[
    (0x2342ca, "GFP_TRANSHUGE"),
    (0x342ca, "GFP_TRANSHUGE_LIGHT"),
    (0x6200ca, "GFP_HIGHUSER_MOVABLE"),
    (0x6200c2, "GFP_HIGHUSER"),
    (0x6200c0, "GFP_USER"),
    (0x7000c0, "GFP_KERNEL_ACCOUNT"),
    (0x6000c0, "GFP_KERNEL"),
    (0x600040, "GFP_NOFS"),
    (0x480020, "GFP_ATOMIC"),
    (0x600000, "GFP_NOIO"),
    (0x400000, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x80000, "__GFP_ATOMIC"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
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
    (0x100, "__GFP_WRITE"),
    (0x600000, "__GFP_RECLAIM"),
    (0x200000, "__GFP_DIRECT_RECLAIM"),
    (0x400000, "__GFP_KSWAPD_RECLAIM"),
];
