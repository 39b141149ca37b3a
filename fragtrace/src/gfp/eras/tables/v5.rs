//! 5.1–6.2 lists (`include/trace/events/mmflags.h`), after the 5.1 reshuffle (GFP_KERNEL 0xcc0).

use super::Entries;

/// The list of 5.10, in its order (transcription: `testdata/gfp-names/5.10.txt`).
// list: Debian package linux-headers-5.10.0-46-common 5.10.262-1 (bullseye-security)
// include/trace/events/mmflags.h
// bits: same package include/linux/gfp.h
// version: Debian package version 5.10.262-1
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V5_10: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0xa20, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x200, "__GFP_ATOMIC"),
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
];

/// The list of 5.15, in its order (transcription: `testdata/gfp-names/5.15.txt`).
// list: Tptogiar/linux-5.15.85 include/trace/events/mmflags.h @
// b44f813e92bb1454038ccc397e4d0bdf18cd45f2 (gfp files only touched by 'first commit &
// linux-5.15.85')
// bits: Tptogiar/linux-5.15.85 include/linux/gfp.h @ same
// version: Makefile VERSION=5 PATCHLEVEL=15 SUBLEVEL=85
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V5_15: Entries = &[
    (0x11c24ca, "GFP_TRANSHUGE"),
    (0x11c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x1100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0xa20, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x200, "__GFP_ATOMIC"),
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
    (0x1000000, "__GFP_SKIP_KASAN_POISON"),
];

/// The list of 6.1, in its order (transcription: `testdata/gfp-names/6.1.txt`).
// list: Debian package linux-headers-6.1.0-57-common 6.1.192-3 (bookworm-security)
// include/trace/events/mmflags.h
// bits: same package include/linux/gfp_types.h
// version: Debian package version 6.1.192-3
// zero mask: none (tracepoint show_gfp_flags prints "none" for 0; %pGg in page-allocation-failure
// reports prints an empty name list for 0)
pub(in crate::gfp::eras) const V6_1: Entries = &[
    (0x1c24ca, "GFP_TRANSHUGE"),
    (0x1c20ca, "GFP_TRANSHUGE_LIGHT"),
    (0x100cca, "GFP_HIGHUSER_MOVABLE"),
    (0x100cc2, "GFP_HIGHUSER"),
    (0x100cc0, "GFP_USER"),
    (0x400cc0, "GFP_KERNEL_ACCOUNT"),
    (0xcc0, "GFP_KERNEL"),
    (0xc40, "GFP_NOFS"),
    (0xa20, "GFP_ATOMIC"),
    (0xc00, "GFP_NOIO"),
    (0x800, "GFP_NOWAIT"),
    (0x1, "GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "GFP_DMA32"),
    (0x20, "__GFP_HIGH"),
    (0x200, "__GFP_ATOMIC"),
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
