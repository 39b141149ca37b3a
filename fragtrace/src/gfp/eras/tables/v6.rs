//! 6.3+ lists (`include/trace/events/mmflags.h`, bits from `include/linux/gfp_types.h`). From 6.15 the singles are generated in bit order (`TRACE_GFP_FLAGS`).

use super::Entries;

/// The list of 6.6, in its order (transcription: `testdata/gfp-names/6.6.txt`).
// list: Yunbaby8/linux-6.6.87-lab include/trace/events/mmflags.h @
// 7fe0c4ed50354d257622045edbaf6a2962e3b6b0
// bits: Yunbaby8/linux-6.6.87-lab include/linux/gfp.h (and gfp_types.h if present) @
// 7fe0c4ed50354d257622045edbaf6a2962e3b6b0
// version: Makefile 6.6.87; gfp files only in 'initial import of linux 6.6.87 source'
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V6_6: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0x820, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x2000, "__GFP_NOWARN"),
    (0x4000, "__GFP_RETRY_MAYFAIL"),
    (0x8000, "__GFP_NOFAIL"),
    (0x10000, "__GFP_NORETRY"),
    (0x40000, "__GFP_COMP"),
    (0x100, "__GFP_ZERO"),
    (0x80000, "__GFP_NOMEMALLOC"),
    (0x20000, "__GFP_MEMALLOC"),
    (0x100000, "__GFP_HARDWALL"),
    (0x200000, "__GFP_THISNODE"),
    (0x10, "__GFP_RECLAIMABLE"),
    (0x8, "__GFP_MOVABLE"),
    (0x400000, "__GFP_ACCOUNT"),
    (0x1000, "__GFP_WRITE"),
    (0xc00, "__GFP_RECLAIM"),
    (0x400, "__GFP_DIRECT_RECLAIM"),
    (0x800, "__GFP_KSWAPD_RECLAIM"),
    (0x800000, "__GFP_ZEROTAGS"),
];

/// The list of 6.12, in its order (transcription: `testdata/gfp-names/6.12.txt`).
// list: Debian package linux-headers-6.12.117+deb13-common 6.12.117-1 (trixie)
// include/trace/events/mmflags.h
// bits: same package include/linux/gfp_types.h (enum ___GFP_*_BIT + BIT())
// version: Debian package version 6.12.117-1 (upstream 6.12.117); 6.12.0 pristine NOT read --
// GFP_NOWAIT has __GFP_NOWARN here (see NOTES)
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V6_12: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0x820, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x2800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x2000, "__GFP_NOWARN"),
    (0x4000, "__GFP_RETRY_MAYFAIL"),
    (0x8000, "__GFP_NOFAIL"),
    (0x10000, "__GFP_NORETRY"),
    (0x40000, "__GFP_COMP"),
    (0x100, "__GFP_ZERO"),
    (0x80000, "__GFP_NOMEMALLOC"),
    (0x20000, "__GFP_MEMALLOC"),
    (0x100000, "__GFP_HARDWALL"),
    (0x200000, "__GFP_THISNODE"),
    (0x10, "__GFP_RECLAIMABLE"),
    (0x8, "__GFP_MOVABLE"),
    (0x400000, "__GFP_ACCOUNT"),
    (0x1000, "__GFP_WRITE"),
    (0xc00, "__GFP_RECLAIM"),
    (0x400, "__GFP_DIRECT_RECLAIM"),
    (0x800, "__GFP_KSWAPD_RECLAIM"),
    (0x800000, "__GFP_ZEROTAGS"),
];

/// The list of 6.18, in its order (transcription: `testdata/gfp-names/6.18.txt`).
// list: gfunkmonk/linux-6.18.2 include/trace/events/mmflags.h @
// 062668f4d006cf5f04ae3039b73ef7ecb4b62f49 (gfp files only in commit 'initial'); identical
// (values+order) to this machine's /sys/kernel/tracing/events/kmem/mm_page_alloc/format
// (6.18.44-fc-v1252)
// bits: gfunkmonk/linux-6.18.2 include/linux/gfp_types.h @ same
// version: Makefile VERSION=6 PATCHLEVEL=18 SUBLEVEL=2; live format file of 6.18.44 matches entry
// for entry
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V6_18: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0x820, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x2800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x4, "GFP_DMA32"),
    (0xc00, "__GFP_RECLAIM"),
    (0x1, "__GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "__GFP_DMA32"),
    (0x8, "__GFP_MOVABLE"),
    (0x10, "__GFP_RECLAIMABLE"),
    (0x20, "__GFP_HIGH"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_ZERO"),
    (0x400, "__GFP_DIRECT_RECLAIM"),
    (0x800, "__GFP_KSWAPD_RECLAIM"),
    (0x1000, "__GFP_WRITE"),
    (0x2000, "__GFP_NOWARN"),
    (0x4000, "__GFP_RETRY_MAYFAIL"),
    (0x8000, "__GFP_NOFAIL"),
    (0x10000, "__GFP_NORETRY"),
    (0x20000, "__GFP_MEMALLOC"),
    (0x40000, "__GFP_COMP"),
    (0x80000, "__GFP_NOMEMALLOC"),
    (0x100000, "__GFP_HARDWALL"),
    (0x200000, "__GFP_THISNODE"),
    (0x400000, "__GFP_ACCOUNT"),
    (0x800000, "__GFP_ZEROTAGS"),
    (0x1000000, "__GFP_NO_OBJ_EXT"),
];

/// The list of 7.3, in its order (transcription: `testdata/gfp-names/7.3.4.txt`).
// list: linux-headers-7.3.4+deb13-common include/trace/events/mmflags.h
// bits: same package include/linux/gfp_types.h
// version: Debian package version 7.3.4+deb13
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V7_3: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0x820, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x2800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x4, "GFP_DMA32"),
    (0xc00, "__GFP_RECLAIM"),
    (0x1, "__GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "__GFP_DMA32"),
    (0x8, "__GFP_MOVABLE"),
    (0x10, "__GFP_RECLAIMABLE"),
    (0x20, "__GFP_HIGH"),
    (0x40, "__GFP_IO"),
    (0x80, "__GFP_FS"),
    (0x100, "__GFP_ZERO"),
    (0x400, "__GFP_DIRECT_RECLAIM"),
    (0x800, "__GFP_KSWAPD_RECLAIM"),
    (0x1000, "__GFP_WRITE"),
    (0x2000, "__GFP_NOWARN"),
    (0x4000, "__GFP_RETRY_MAYFAIL"),
    (0x8000, "__GFP_NOFAIL"),
    (0x10000, "__GFP_NORETRY"),
    (0x20000, "__GFP_MEMALLOC"),
    (0x40000, "__GFP_COMP"),
    (0x80000, "__GFP_NOMEMALLOC"),
    (0x100000, "__GFP_HARDWALL"),
    (0x200000, "__GFP_THISNODE"),
    (0x400000, "__GFP_ACCOUNT"),
    (0x800000, "__GFP_ZEROTAGS"),
];
