use std::{collections::BTreeSet, path::PathBuf};

use super::{Era, decode_all, value_in};
use crate::{gfp::GfpTable, host::tracefs::EventFormat};

fn decoded(release: &str, mask: u64) -> String {
    let era = Era::for_release(release).unwrap_or_else(|| panic!("no era for {release}"));
    era.table().decode_joined(mask)
}

fn fixture_table(name: &str) -> GfpTable {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/format").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = EventFormat::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    GfpTable::from_page_alloc_format(&format).unwrap()
}

fn name_set(table: &GfpTable, mask: u64) -> BTreeSet<String> {
    table.decode(mask).into_iter().collect()
}

#[test]
fn hex_only_reports_decode_per_their_kernel() {
    // (kernel as printed in the report, mode, expected), from the kernel-logs INDEX.
    let rows: [(&str, u64, &str); 19] = [
        ("3.10.0-957.1.3.el7.x86_64", 0x10c0d0, "GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG"),
        ("3.13.0-29-generic", 0x10c0d0, "GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG"),
        ("2.6.28-15-generic", 0x40d0, "GFP_KERNEL|__GFP_COMP"),
        ("2.6.32-24-generic", 0x4020, "GFP_ATOMIC|__GFP_COMP"),
        ("2.6.32-279.9.1.el6.x86_64", 0x20, "GFP_ATOMIC"),
        ("4.3.3-coreos-r2", 0x20, "GFP_ATOMIC"),
        // Row 33 leaves 3.18 undecoded; this is what the 3.18 layout (= 3.10 era) gives.
        ("3.18.18+40-ph", 0x204010, "GFP_NOIO|__GFP_COMP|__GFP_NOTRACK"),
        ("4.9.0-5-amd64", 0x2080020, "GFP_ATOMIC"),
        ("4.9.0-0.rc8.git2.1.fc26.x86_64", 0x2280020, "GFP_ATOMIC|__GFP_NOTRACK"),
        ("4.9.0-0.rc8.git2.1.fc26.x86_64", 0x24201ca, "GFP_HIGHUSER_MOVABLE|__GFP_COLD"),
        ("4.12.0-next-20170705+", 0x1604040, "GFP_NOFS|__GFP_COMP|__GFP_NOTRACK"),
        ("4.14.0", 0x1080120, "GFP_ATOMIC|__GFP_COLD"),
        ("5.7.0+bcachefs.git20200629.278fe397-1-generic", 0x40cc0, "GFP_KERNEL|__GFP_COMP"),
        ("5.8.0-00013-g192f2fd7b678", 0x40cc0, "GFP_KERNEL|__GFP_COMP"),
        ("5.8.0-00013-g192f2fd7b678", 0xa20, "GFP_ATOMIC"),
        ("5.9.0-0.rc4.5.fc34.x86_64+debug", 0x800, "GFP_NOWAIT"),
        ("5.10.2", 0x40dc0, "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"),
        ("6.7.0", 0x40d00, "GFP_NOIO|__GFP_COMP|__GFP_ZERO"),
        ("6.8.0", 0x820, "GFP_ATOMIC"),
    ];
    for (release, mask, expected) in rows {
        assert_eq!(decoded(release, mask), expected, "{release} {mask:#x}");
    }
    assert_eq!(decoded("5.15.0-1087-azure", 0xcc0), "GFP_KERNEL");
    assert_eq!(decoded("4.9.0", 0), "none");
}

#[test]
fn composites_per_era_match_kernel_facts() {
    let eras = Era::ALL;
    let expect = |name: &str, values: [u64; 5]| {
        for (era, value) in eras.iter().zip(values) {
            assert_eq!(value_in(*era, name), Some(value), "{name} in {}", era.label());
        }
    };
    expect("GFP_KERNEL", [0xd0, 0x24000c0, 0x14000c0, 0x6000c0, 0xcc0]);
    expect("GFP_ATOMIC", [0x20, 0x2080020, 0x1080020, 0x480020, 0xa20]);
    expect("GFP_HIGHUSER_MOVABLE", [0x200da, 0x24200ca, 0x14200ca, 0x6200ca, 0x100cca]);
    expect("GFP_NOFS", [0x50, 0x2400040, 0x1400040, 0x600040, 0xc40]);
    expect("GFP_NOIO", [0x10, 0x2400000, 0x1400000, 0x600000, 0xc00]);
    expect("GFP_USER", [0x200d0, 0x24200c0, 0x14200c0, 0x6200c0, 0x100cc0]);
    expect("GFP_TRANSHUGE", [0x4352da, 0x4342ca, 0x4342ca, 0x2342ca, 0x1c24ca]);
    assert_eq!(value_in(Era::V4_4, "GFP_KERNEL"), Some(0x24000c0));
    assert_eq!(value_in(Era::V3_10, "GFP_KERNEL_ACCOUNT"), None);
    assert_eq!(value_in(Era::V4_4, "GFP_KERNEL_ACCOUNT"), Some(0x25000c0));
    assert_eq!(value_in(Era::V5_1, "GFP_KERNEL_ACCOUNT"), Some(0x400cc0));
    assert_eq!(value_in(Era::V4_10, "GFP_NOWAIT"), Some(0x1000000));
    // Both values the 5.1+ era carries; value_in gives the first.
    assert_eq!(value_in(Era::V5_1, "GFP_NOWAIT"), Some(0x2800));
    let atomics: Vec<u64> = Era::V5_1.table().names.iter().filter(|e| e.name == "GFP_ATOMIC").map(|e| e.value).collect();
    assert_eq!(atomics, [0xa20, 0x820]);
}

#[test]
fn single_bits_per_era_match_kernel_facts() {
    // KERNEL-FACTS "GFP bit values by era", one column per era; None where the era has no such flag.
    let rows: [(&str, [Option<u64>; 5]); 24] = [
        ("__GFP_DMA", [Some(0x1); 5]),
        ("__GFP_HIGHMEM", [Some(0x2); 5]),
        ("__GFP_MOVABLE", [Some(0x8); 5]),
        ("__GFP_WAIT", [Some(0x10), None, None, None, None]),
        ("__GFP_RECLAIMABLE", [Some(0x80000), Some(0x10), Some(0x10), Some(0x10), Some(0x10)]),
        ("__GFP_HIGH", [Some(0x20); 5]),
        ("__GFP_IO", [Some(0x40); 5]),
        ("__GFP_FS", [Some(0x80); 5]),
        ("__GFP_COLD", [Some(0x100), Some(0x100), Some(0x100), None, None]),
        ("__GFP_WRITE", [Some(0x1000000), Some(0x1000000), Some(0x800000), Some(0x100), Some(0x1000)]),
        ("__GFP_NOWARN", [Some(0x200), Some(0x200), Some(0x200), Some(0x200), Some(0x2000)]),
        ("__GFP_NOFAIL", [Some(0x800), Some(0x800), Some(0x800), Some(0x800), Some(0x8000)]),
        ("__GFP_NORETRY", [Some(0x1000), Some(0x1000), Some(0x1000), Some(0x1000), Some(0x10000)]),
        ("__GFP_MEMALLOC", [Some(0x2000), Some(0x2000), Some(0x2000), Some(0x2000), Some(0x20000)]),
        ("__GFP_COMP", [Some(0x4000), Some(0x4000), Some(0x4000), Some(0x4000), Some(0x40000)]),
        ("__GFP_ZERO", [Some(0x8000), Some(0x8000), Some(0x8000), Some(0x8000), Some(0x100)]),
        ("__GFP_NOMEMALLOC", [Some(0x10000), Some(0x10000), Some(0x10000), Some(0x10000), Some(0x80000)]),
        ("__GFP_HARDWALL", [Some(0x20000), Some(0x20000), Some(0x20000), Some(0x20000), Some(0x100000)]),
        ("__GFP_THISNODE", [Some(0x40000), Some(0x40000), Some(0x40000), Some(0x40000), Some(0x200000)]),
        ("__GFP_ATOMIC", [None, Some(0x80000), Some(0x80000), Some(0x80000), Some(0x200)]),
        ("__GFP_ACCOUNT", [None, Some(0x100000), Some(0x100000), Some(0x100000), Some(0x400000)]),
        ("__GFP_NOTRACK", [Some(0x200000), Some(0x200000), Some(0x200000), None, None]),
        ("__GFP_DIRECT_RECLAIM", [None, Some(0x400000), Some(0x400000), Some(0x200000), Some(0x400)]),
        ("__GFP_KSWAPD_RECLAIM", [None, Some(0x2000000), Some(0x1000000), Some(0x400000), Some(0x800)]),
    ];
    for (name, values) in rows {
        for (era, value) in Era::ALL.iter().zip(values) {
            assert_eq!(value_in(*era, name), value, "{name} in {}", era.label());
        }
    }
    let eras_of = |name: &str| Era::ALL.map(|era| value_in(era, name));
    assert_eq!(eras_of("__GFP_REPEAT"), [Some(0x400), Some(0x400), None, None, None]);
    assert_eq!(eras_of("__GFP_RETRY_MAYFAIL"), [None, None, Some(0x400), Some(0x400), Some(0x4000)]);
    assert_eq!(eras_of("__GFP_KMEMCG"), [Some(0x100000), None, None, None, None]);
    assert_eq!(eras_of("__GFP_NO_KSWAPD"), [Some(0x400000), None, None, None, None]);
    assert_eq!(eras_of("__GFP_OTHER_NODE"), [Some(0x800000), Some(0x800000), None, None, None]);
    assert_eq!(eras_of("__GFP_NOLOCKDEP"), [None, None, Some(0x2000000), Some(0x800000), None]);
    assert_eq!(eras_of("__GFP_ZEROTAGS"), [None, None, None, None, Some(0x800000)]);
    // 3.x spelling of singles, and names no era has.
    assert_eq!(value_in(Era::V3_10, "GFP_KMEMCG"), Some(0x100000));
    assert_eq!(value_in(Era::V3_10, "GFP_COMP"), Some(0x4000));
    assert_eq!(value_in(Era::V5_1, "NOT_A_FLAG"), None);
    assert_eq!(value_in(Era::V5_1, ""), None);
}

#[test]
fn era_of_release_strings() {
    let cases: [(&str, Option<Era>); 24] = [
        ("3.10.0-957.1.3.el7.x86_64", Some(Era::V3_10)),
        ("3.10.0-1160.119.1.el7.x86_64", Some(Era::V3_10)),
        ("2.6.32-279.el6", Some(Era::V3_10)),
        ("2.6.28-15-generic", Some(Era::V3_10)),
        ("4.3.3-coreos-r2", Some(Era::V3_10)),
        ("4.4.0-21-generic", Some(Era::V4_4)),
        ("4.9.0-5-amd64", Some(Era::V4_4)),
        ("4.10.0", Some(Era::V4_10)),
        ("4.12.0-next", Some(Era::V4_10)),
        ("4.14.336", Some(Era::V4_10)),
        ("4.15.0-20-generic", Some(Era::V4_15)),
        ("4.18.0-553.el8_10.x86_64", Some(Era::V4_15)),
        ("5.0.21", Some(Era::V4_15)),
        ("5.1.0", Some(Era::V5_1)),
        ("5.10.2", Some(Era::V5_1)),
        ("6.18.44-fc", Some(Era::V5_1)),
        (" v6.8\n", Some(Era::V5_1)),
        ("garbage", None),
        ("", None),
        ("6", None),
        ("6.", None),
        (".10", None),
        ("2.4.37", None),
        ("99999999999.1", None),
    ];
    for (release, era) in cases {
        assert_eq!(Era::for_release(release), era, "{release:?}");
    }
    assert_eq!(Era::for_release("é.1"), None);
}

#[test]
fn labels_and_json_names() {
    let labels = Era::ALL.map(Era::label);
    assert_eq!(labels, ["3.10", "4.4", "4.10–4.14", "4.15–5.0", "5.1+"]);
    for era in Era::ALL {
        assert_eq!(serde_json::to_string(&era).unwrap(), format!("\"{}\"", era.label()));
    }
}

#[test]
fn decode_all_shows_every_era() {
    let all = decode_all(0x10c0d0);
    let eras: Vec<Era> = all.iter().map(|(era, _, _)| *era).collect();
    assert_eq!(eras, Era::ALL);
    let names: Vec<String> = all.iter().map(|(_, names, _)| names.join("|")).collect();
    assert_eq!(
        names,
        [
            "GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG",
            "__GFP_IO|__GFP_FS|__GFP_COMP|__GFP_ZERO|__GFP_RECLAIMABLE|__GFP_ACCOUNT",
            "__GFP_IO|__GFP_FS|__GFP_COMP|__GFP_ZERO|__GFP_RECLAIMABLE|__GFP_ACCOUNT",
            "__GFP_IO|__GFP_FS|__GFP_COMP|__GFP_ZERO|__GFP_RECLAIMABLE|__GFP_ACCOUNT",
            "__GFP_IO|__GFP_FS|__GFP_RETRY_MAYFAIL|__GFP_NOFAIL|__GFP_HARDWALL|__GFP_RECLAIMABLE",
        ]
    );
    assert!(all.iter().all(|(_, _, leftover)| *leftover == 0));
    // Bits no era names come back as a number, not dropped.
    let leftovers: Vec<u64> = decode_all(0xcc0 | 0x8000_0000).iter().map(|(_, _, rest)| *rest).collect();
    assert_eq!(leftovers, [0x8000_0000; 5]);
    let (_, names, rest) = &decode_all(0x1000cc0)[4];
    assert_eq!((names.join("|"), *rest), ("GFP_KERNEL".to_string(), 0x1000000));
}

#[test]
fn decode_all_agrees_with_table_decode() {
    // GfpTable::decode puts the same leftover at the end as one hex string.
    let masks = [0, 0x10c0d0, 0x1000cc0, 0xffff_ffff, u64::MAX, 0x8000_0000_0000_0020];
    for mask in masks {
        for (era, mut names, rest) in decode_all(mask) {
            if rest != 0 {
                names.push(format!("{rest:#x}"));
            }
            assert_eq!(names, era.table().decode(mask), "{mask:#x} in {}", era.label());
        }
    }
}

#[test]
fn no_entry_is_shadowed_by_an_earlier_one() {
    // A later entry that is a strict superset of an earlier one could never match: the earlier
    // one would always have consumed part of its bits. The one exception copies the kernel:
    // __GFP_RECLAIM comes after GFP_NOIO (same value) and GFP_NOWAIT, so it is never printed, but
    // value_in knows it.
    for era in Era::ALL {
        let names = era.table().names;
        for (i, later) in names.iter().enumerate() {
            assert_ne!(later.value, 0, "{} in {}", later.name, era.label());
            if later.name == "__GFP_RECLAIM" {
                continue;
            }
            for earlier in &names[..i] {
                let strict_superset = later.value & earlier.value == earlier.value && later.value != earlier.value;
                assert!(!strict_superset, "{} after {} in {}", later.name, earlier.name, era.label());
            }
        }
    }
}

#[test]
fn latest_era_agrees_with_this_machines_6_18_table() {
    let live = fixture_table("6.18-mm_page_alloc");
    let ours = Era::V5_1.table();
    let pairs = |t: &GfpTable| -> BTreeSet<(String, u64)> { t.names.iter().map(|e| (e.name.clone(), e.value)).collect() };
    let (live_pairs, our_pairs) = (pairs(&live), pairs(&ours));
    // Bits from 0x1000000 up depend on the kernel's config; this era leaves them unnamed.
    let config_dependent: Vec<&(String, u64)> = live_pairs.iter().filter(|(_, v)| *v >= 0x1000000).collect();
    assert_eq!(config_dependent, [&("__GFP_NO_OBJ_EXT".to_string(), 0x1000000)]);
    let missing: Vec<&(String, u64)> = live_pairs.iter().filter(|p| p.1 < 0x1000000 && !our_pairs.contains(p)).collect();
    assert!(missing.is_empty(), "6.18 entries not in the 5.1+ table: {missing:?}");
    // What we carry beyond 6.18: the pre-6.3 ATOMIC values and the pre-NOWARN GFP_NOWAIT.
    let extra: Vec<(String, u64)> = our_pairs.difference(&live_pairs).cloned().collect();
    let expected_extra = [("GFP_ATOMIC", 0xa20), ("GFP_NOWAIT", 0x800), ("__GFP_ATOMIC", 0x200)];
    assert_eq!(extra, expected_extra.map(|(n, v)| (n.to_string(), v)));
    // Without those pre-6.3 / pre-NOWARN values, the same names for any two of 6.18's entries
    // together (order aside: 6.18 sorts singles by bit). With them, a leftover KSWAPD_RECLAIM
    // bit reads as the old GFP_NOWAIT, as an older 5.x/6.x kernel would print it.
    let mut as_6_18 = ours.clone();
    as_6_18.names.retain(|e| !extra.contains(&(e.name.clone(), e.value)));
    let values: Vec<u64> = live.names.iter().map(|e| e.value).filter(|v| *v < 0x1000000).collect();
    for a in &values {
        for b in &values {
            let mask = a | b;
            assert_eq!(name_set(&as_6_18, mask), name_set(&live, mask), "{mask:#x}");
        }
    }
    let transhuge_kswapd = 0x1c24ca | 0x800;
    assert_eq!(ours.decode(transhuge_kswapd), ["GFP_TRANSHUGE", "GFP_NOWAIT"]);
    assert_eq!(live.decode(transhuge_kswapd), ["GFP_TRANSHUGE", "__GFP_KSWAPD_RECLAIM"]);
}

#[test]
fn older_eras_agree_with_the_3_10_and_4_14_fixtures() {
    // Both fixtures were written from those releases' headers; every name they list has the
    // same value here (3.10 spells singles without the leading "__").
    for (file, era) in [("3.10-mm_page_alloc", Era::V3_10), ("4.14-mm_page_alloc", Era::V4_10)] {
        for entry in fixture_table(file).names {
            assert_eq!(value_in(era, &entry.name), Some(entry.value), "{} in {file}", entry.name);
        }
    }
}
