//! Release string → era, with a note whenever the choice rests on an assumption.
//!
//! RHEL 7 is chosen by build number (its 3.10 gained `__GFP_ACCOUNT` in 3.10.0-1127, RHEL 7.8);
//! every other kernel by its upstream version. A distribution build decoded with an upstream
//! table says so, since backports may have changed its flags; so does a version without the
//! sublevel an era boundary needs (`4.14`), and one newer than the newest table.

use super::{
    Era, EraMatch,
    registry::{Build, ERAS},
    release::{self, Release, Vendor},
};

/// RHEL 7 builds whose lists were transcribed (tables/rhel7.rs): no note for these.
const RHEL7_CHECKED: [u32; 4] = [514, 1062, 1127, 1160];

const MAX: u32 = u32::MAX;

/// Release ranges between two transcribed kernels where the list changed at a release nobody
/// read: the era boundary there is a choice, and a release inside says so.
type Version = (u32, u32, u32);

const UNCERTAIN: [(Version, Version, &str); 6] = [
    ((2, 6, 33), (3, 7, MAX), "no list between 2.6.32 and 3.10 was read; 3.18's list (same bit values) is assumed"),
    ((4, 14, 13), (4, 14, 23), "4.14.y dropped __GFP_NOTRACK between 4.14.13 and 4.14.24; read without it"),
    ((4, 16, 0), (4, 18, MAX), "the bits were compacted between 4.15 and 4.19; read with 4.19's layout (GFP_KERNEL 0x6000c0)"),
    ((5, 1, 0), (5, 3, MAX), "the 5.1 reshuffle is assumed from the patch; the first list read is 5.4's"),
    ((5, 18, 0), (5, 19, MAX), "__GFP_SKIP_KASAN_POISON became config-only between 5.17 and 6.0; read with 6.0's list"),
    ((6, 7, 0), (6, 11, MAX), "GFP_NOWAIT gained __GFP_NOWARN between 6.6 and 6.12; read with 6.6's list"),
];

pub(super) fn resolve(text: &str) -> Option<EraMatch> {
    let r = release::parse(text)?;
    if r.major < 2 || (r.major == 2 && r.minor < 6) {
        return None;
    }
    let text = text.trim();
    if let (Some(Vendor::Rhel { major: 7, build: Some(build) }), (3, 10)) = (r.vendor(), (r.major, r.minor)) {
        let era = rhel7_era(build)?;
        let note = (!RHEL7_CHECKED.contains(&build)).then(|| {
            format!(
                "RHEL 7 kernel {text}: build {build} is not one fragtrace has checked (3.10.0-514, -1062, -1127, -1160); chose {} by build number (0x100000 is __GFP_KMEMCG before 3.10.0-1127, __GFP_ACCOUNT from it)",
                era.label()
            )
        });
        return Some(EraMatch { era, note });
    }
    let era = upstream_era(r.triple())?;
    let uncertain = UNCERTAIN.iter().find(|(first, last, _)| (first..=last).contains(&&r.triple()));
    let note = upstream_note(text, &r, era).or_else(|| uncertain.map(|(_, _, why)| format!("kernel {text}: {why} ({})", era.label())));
    Some(EraMatch { era, note })
}

fn rhel7_era(build: u32) -> Option<Era> {
    Era::ALL.iter().copied().find(|e| matches!(e.spec().build, Build::Rhel7(lo, hi) if (lo..=hi).contains(&build)))
}

fn upstream_era(version: (u32, u32, u32)) -> Option<Era> {
    Era::ALL.iter().copied().find(|e| e.spec().build == Build::Upstream && (e.spec().first..=e.spec().last).contains(&version))
}

/// Why an upstream table may not be exactly right for this release, if it may not.
fn upstream_note(text: &str, r: &Release<'_>, era: Era) -> Option<String> {
    let spec = era.spec();
    let upstream = format!("{}.{}", r.major, r.minor);
    if let Some(vendor) = r.vendor() {
        let name = vendor.name();
        return Some(format!(
            "{name} kernel {text}: decoded with upstream {upstream}'s table ({}); {name} backports may differ",
            spec.label
        ));
    }
    let newest = release::parse(spec.source).map(|s| s.triple());
    if era == Era::NEWEST && newest.is_some_and(|n| r.triple() > n) {
        return Some(format!("kernel {text} is newer than the newest list fragtrace has ({}): decoded with that one", spec.source));
    }
    let split_minor = ERAS.iter().filter(|e| e.build == Build::Upstream).any(|e| {
        let covers = |v: (u32, u32, u32)| (v.0, v.1) == (r.major, r.minor);
        (covers(e.first) && e.first.2 > 0) || (covers(e.last) && e.last.2 != u32::MAX)
    });
    (r.patch.is_none() && split_minor).then(|| {
        format!("kernel {text} without a sublevel: read as {upstream}.0 ({}); later {upstream}.y releases print a different list", spec.label)
    })
}
