//! Names each era's `gfp.h` defines but its print list leaves out, with their bits: looked up by
//! name ([`super::super::value_in`], the known-causes catalogue) and used to say what a hex
//! remainder is, never printed as part of a decode.
//!
//! Before 4.6 the lists spell singles `GFP_X` and leave out `__GFP_DMA`, `__GFP_HIGHMEM`,
//! `__GFP_DMA32`, `__GFP_FS` and `__GFP_WRITE` (4.4 also spells `__GFP_ATOMIC` as `GFP_ATOMIC`,
//! the composite's name), so those eras carry every single under its `__GFP_` name here. From
//! 4.6 the lists name almost everything; what remains are `__GFP_DMA`/`__GFP_DMA32` (listed as
//! `GFP_DMA`/`GFP_DMA32`) and config-dependent bits, given with their config-on value.

use super::Entries;

/// The singles of the 2.6.38–4.3 layout whose bits never changed meaning in it.
macro_rules! pre_4_4_singles {
    ($($extra:expr),* $(,)?) => {
        &[
            (0x1, "__GFP_DMA"),
            (0x2, "__GFP_HIGHMEM"),
            (0x4, "__GFP_DMA32"),
            (0x8, "__GFP_MOVABLE"),
            (0x10, "__GFP_WAIT"),
            (0x20, "__GFP_HIGH"),
            (0x40, "__GFP_IO"),
            (0x80, "__GFP_FS"),
            (0x100, "__GFP_COLD"),
            (0x200, "__GFP_NOWARN"),
            (0x400, "__GFP_REPEAT"),
            (0x800, "__GFP_NOFAIL"),
            (0x1000, "__GFP_NORETRY"),
            (0x2000, "__GFP_MEMALLOC"),
            (0x4000, "__GFP_COMP"),
            (0x8000, "__GFP_ZERO"),
            (0x10000, "__GFP_NOMEMALLOC"),
            (0x20000, "__GFP_HARDWALL"),
            (0x40000, "__GFP_THISNODE"),
            (0x80000, "__GFP_RECLAIMABLE"),
            (0x200000, "__GFP_NOTRACK"),
            (0x400000, "__GFP_NO_KSWAPD"),
            (0x800000, "__GFP_OTHER_NODE"),
            (0x1000000, "__GFP_WRITE"),
            $($extra,)*
        ]
    };
}

/// 2.6.x–2.6.37 (after 2.6.32's gfp.h): no MEMALLOC, NO_KSWAPD, OTHER_NODE or WRITE yet;
/// `__GFP_NOTRACK` only with CONFIG_KMEMCHECK.
pub(in crate::gfp::eras) const V2_6_32: Entries = &[
    (0x1, "__GFP_DMA"),
    (0x2, "__GFP_HIGHMEM"),
    (0x4, "__GFP_DMA32"),
    (0x8, "__GFP_MOVABLE"),
    (0x10, "__GFP_WAIT"),
    (0x20, "__GFP_HIGH"),
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
    (0x20000, "__GFP_HARDWALL"),
    (0x40000, "__GFP_THISNODE"),
    (0x80000, "__GFP_RECLAIMABLE"),
    (0x200000, "__GFP_NOTRACK"),
];

/// 2.6.38–3.7 and 3.15–4.0: 0x100000 unused.
pub(in crate::gfp::eras) const PRE_4_4: Entries = pre_4_4_singles!();

/// 4.1–4.3: 0x100000 is `__GFP_NOACCOUNT` (not listed).
pub(in crate::gfp::eras) const PRE_4_4_NOACCOUNT: Entries = pre_4_4_singles!((0x100000, "__GFP_NOACCOUNT"));

/// 3.8–3.14 and RHEL 7.0–7.7: 0x100000 is `__GFP_KMEMCG`.
pub(in crate::gfp::eras) const PRE_4_4_KMEMCG: Entries = pre_4_4_singles!((0x100000, "__GFP_KMEMCG"));

/// RHEL 7.8+ (3.10.0-1127+): 0x100000 is `__GFP_ACCOUNT`, with `GFP_KERNEL_ACCOUNT`; neither is
/// in the list (transcriptions of 3.10.0-1127 and -1160).
pub(in crate::gfp::eras) const RHEL7_ACCOUNT: Entries =
    pre_4_4_singles!((0x100000, "__GFP_ACCOUNT"), (0x1000d0, "GFP_KERNEL_ACCOUNT"));

/// The singles of the 4.4–4.9 layout (the reclaim split), before 0x100000's meaning.
macro_rules! v4_4_singles {
    ($($extra:expr),* $(,)?) => {
        &[
            (0x1, "__GFP_DMA"),
            (0x2, "__GFP_HIGHMEM"),
            (0x4, "__GFP_DMA32"),
            (0x8, "__GFP_MOVABLE"),
            (0x10, "__GFP_RECLAIMABLE"),
            (0x20, "__GFP_HIGH"),
            (0x40, "__GFP_IO"),
            (0x80, "__GFP_FS"),
            (0x100, "__GFP_COLD"),
            (0x200, "__GFP_NOWARN"),
            (0x400, "__GFP_REPEAT"),
            (0x800, "__GFP_NOFAIL"),
            (0x1000, "__GFP_NORETRY"),
            (0x2000, "__GFP_MEMALLOC"),
            (0x4000, "__GFP_COMP"),
            (0x8000, "__GFP_ZERO"),
            (0x10000, "__GFP_NOMEMALLOC"),
            (0x20000, "__GFP_HARDWALL"),
            (0x40000, "__GFP_THISNODE"),
            (0x80000, "__GFP_ATOMIC"),
            (0x200000, "__GFP_NOTRACK"),
            (0x400000, "__GFP_DIRECT_RECLAIM"),
            (0x800000, "__GFP_OTHER_NODE"),
            (0x1000000, "__GFP_WRITE"),
            (0x2000000, "__GFP_KSWAPD_RECLAIM"),
            (0x2400000, "__GFP_RECLAIM"),
            $($extra,)*
        ]
    };
}

/// 4.4: 0x100000 is `__GFP_NOACCOUNT`; GFP_NOWAIT (0x2000000) is defined but not listed.
pub(in crate::gfp::eras) const V4_4_NOACCOUNT: Entries =
    v4_4_singles!((0x100000, "__GFP_NOACCOUNT"), (0x2000000, "GFP_NOWAIT"));

/// 4.5: 0x100000 is `__GFP_ACCOUNT`, with GFP_KERNEL_ACCOUNT; neither is listed before 4.6.
pub(in crate::gfp::eras) const V4_5_ACCOUNT: Entries =
    v4_4_singles!((0x100000, "__GFP_ACCOUNT"), (0x25000c0, "GFP_KERNEL_ACCOUNT"), (0x2000000, "GFP_NOWAIT"));

/// 4.6–4.9: everything is listed but `__GFP_DMA`/`__GFP_DMA32` (listed as GFP_DMA/GFP_DMA32).
pub(in crate::gfp::eras) const V4_6: Entries = &[(0x1, "__GFP_DMA"), (0x4, "__GFP_DMA32")];

/// 4.10–4.14: as 4.6, and `__GFP_NOLOCKDEP` (from 4.12; 0x2000000 only with CONFIG_LOCKDEP, not
/// listed; 4.10–4.11 carry it too, as the bit had no other meaning there).
pub(in crate::gfp::eras) const V4_12: Entries = &[(0x1, "__GFP_DMA"), (0x4, "__GFP_DMA32"), (0x2000000, "__GFP_NOLOCKDEP")];

/// 6.x with enum-numbered bits, for a typical x86 config: `__GFP_DMA`/`__GFP_DMA32` are listed,
/// so only the config-dependent flags remain, and they take bit positions only when enabled
/// (`__GFP_NOLOCKDEP` after `__GFP_NO_OBJ_EXT` on a CONFIG_LOCKDEP kernel): not named here.
pub(in crate::gfp::eras) const NONE: Entries = &[];

/// 4.16–5.0 (compacted bits) and 5.1–5.13: `__GFP_NOLOCKDEP` is 0x800000 with CONFIG_LOCKDEP.
pub(in crate::gfp::eras) const V4_19: Entries = &[(0x1, "__GFP_DMA"), (0x4, "__GFP_DMA32"), (0x800000, "__GFP_NOLOCKDEP")];

/// 5.14–5.17: `__GFP_NOLOCKDEP` moved to 0x2000000 (ZEROTAGS and SKIP_KASAN_POISON took 0x800000
/// and 0x1000000, both listed).
pub(in crate::gfp::eras) const V5_14: Entries = &[(0x1, "__GFP_DMA"), (0x4, "__GFP_DMA32"), (0x2000000, "__GFP_NOLOCKDEP")];

/// 5.18–6.2: the KASAN bits exist only with CONFIG_KASAN_HW_TAGS (arm64 MTE) and are listed only
/// there (`__def_gfpflag_names_kasan`, which `%pGg` does not use).
pub(in crate::gfp::eras) const V6_0: Entries = &[
    (0x1, "__GFP_DMA"),
    (0x4, "__GFP_DMA32"),
    (0x1000000, "__GFP_SKIP_ZERO"),
    (0x2000000, "__GFP_SKIP_KASAN_UNPOISON"),
    (0x4000000, "__GFP_SKIP_KASAN_POISON"),
    (0x8000000, "__GFP_NOLOCKDEP"),
];

/// 6.3–6.11, after 6.6: SKIP_KASAN_UNPOISON and _POISON merged into `__GFP_SKIP_KASAN`.
pub(in crate::gfp::eras) const V6_6: Entries = &[
    (0x1, "__GFP_DMA"),
    (0x4, "__GFP_DMA32"),
    (0x1000000, "__GFP_SKIP_ZERO"),
    (0x2000000, "__GFP_SKIP_KASAN"),
    (0x4000000, "__GFP_NOLOCKDEP"),
];

/// 6.12–6.14: enum-numbered bits; `__GFP_NO_OBJ_EXT` (CONFIG_SLAB_OBJ_EXT, on with memcg) is bit 24
/// on x86 and not listed before 6.15.
pub(in crate::gfp::eras) const V6_12: Entries = &[(0x1, "__GFP_DMA"), (0x4, "__GFP_DMA32"), (0x1000000, "__GFP_NO_OBJ_EXT")];
