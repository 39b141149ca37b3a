//! RHEL 7's 3.10 lists (`include/trace/events/gfpflags.h` of the RHEL source). 3.10.0-514 (7.3) lists the same as upstream 3.10.108; from 3.10.0-1127 (7.8) 0x100000 is `__GFP_ACCOUNT`, which the list leaves out.

use super::Entries;

/// The list of 3.10.0-1160.el7 (RHEL/CentOS 7.9 GA kernel), in its order (transcription:
/// `testdata/gfp-names/3.10.0-1160.el7.txt`).
// list: tremb1e/linux-3.10.0-1160.el7 include/trace/events/gfpflags.h @ de8b6b6f (commit
// "linux-3.10.0-1160.el7 Source Code 未修改" = unmodified import; file unchanged at HEAD 877199b5)
// bits: tremb1e/linux-3.10.0-1160.el7 include/linux/gfp.h @ de8b6b6f (unchanged at HEAD 877199b5)
// version: Makefile in that repo: VERSION=3 PATCHLEVEL=10 SUBLEVEL=0, RHEL_MAJOR=7 RHEL_MINOR=9
// RHEL_RELEASE=1160. Later commits in the repo only touch fs/ecryptfs, fs/tse, crypto/sm4, keys
// (git log -- include/linux/gfp.h include/trace/events/gfpflags.h shows only the import commit).
// zero mask: GFP_NOWAIT (list is `(flags) ? __print_flags(flags, "|", ...) : "GFP_NOWAIT"`)
pub(in crate::gfp::eras) const RHEL7_1160: Entries = &[
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
