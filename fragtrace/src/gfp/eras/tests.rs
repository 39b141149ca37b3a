use std::path::PathBuf;

use super::{Build, Era, decode_all, registry::ERAS, value_in};
use crate::{gfp::GfpTable, host::tracefs::EventFormat};

fn decoded(release: &str, mask: u64) -> String {
    let era = Era::for_release(release).unwrap_or_else(|| panic!("no era for {release}"));
    era.decode(mask).join("|")
}

fn label(release: &str) -> &'static str {
    Era::for_release(release).map_or("-", Era::label)
}

fn note(release: &str) -> Option<String> {
    Era::resolve(release).and_then(|m| m.note)
}

#[test]
fn rhel_7_8_and_later_print_account_as_hex_not_kmemcg() {
    assert_eq!(decoded("3.10.0-1160.el7.x86_64", 0x10c0d0), "GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000");
    assert_eq!(decoded("3.10.0-1127.19.1.el7.x86_64", 0x10c0d0), "GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000");
    let era = Era::for_release("3.10.0-1160.el7.x86_64").unwrap();
    assert_eq!(era.unlisted(0x100000), [(0x100000, "__GFP_ACCOUNT")]);
    assert_eq!(value_in(era, "GFP_KERNEL_ACCOUNT"), Some(0x1000d0));
    assert_eq!(value_in(era, "__GFP_KMEMCG"), None);
    // RHEL 7.3 is still upstream 3.10.
    assert_eq!(decoded("3.10.0-514.el7", 0x10c0d0), "GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG");
    assert_eq!(decoded("3.10.0-957.1.3.el7.x86_64", 0x10c0d0), "GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG");
}

#[test]
fn linux_4_4_has_noaccount_and_no_kernel_account() {
    assert_eq!(decoded("4.4", 0x25000c0), "GFP_KERNEL|0x100000");
    assert_eq!(decoded("4.4.0-21-generic", 0x25000c0), "GFP_KERNEL|0x100000");
    let era = Era::for_release("4.4").unwrap();
    assert_eq!(era.unlisted(0x100000), [(0x100000, "__GFP_NOACCOUNT")]);
    assert_eq!(value_in(era, "GFP_KERNEL_ACCOUNT"), None);
    // 4.4's GFP_TRANSHUGE keeps direct reclaim and NORETRY; 4.8's is TRANSHUGE_LIGHT|DIRECT.
    assert_eq!(value_in(era, "GFP_TRANSHUGE"), Some(0x4352ca));
    assert_eq!(value_in(Era::for_release("4.9").unwrap(), "GFP_TRANSHUGE"), Some(0x4342ca));
    assert_eq!(decoded("4.9", 0x25000c0), "GFP_KERNEL_ACCOUNT");
}

#[test]
fn linux_4_14_67_has_no_temporary_and_no_notrack() {
    assert_eq!(decoded("4.14.67", 0x14000d0), "GFP_KERNEL|__GFP_RECLAIMABLE");
    assert_eq!(decoded("4.14.67", 0x1080020 | 0x200000), "GFP_ATOMIC|0x200000");
    assert_eq!(decoded("4.14.0", 0x1080020 | 0x200000), "GFP_ATOMIC|__GFP_NOTRACK");
    assert_eq!(decoded("4.13.4", 0x14000d0), "GFP_TEMPORARY");
}

#[test]
fn linux_5_15_highuser_movable_includes_skip_kasan_poison() {
    assert_eq!(decoded("5.15", 0x1100cca), "GFP_HIGHUSER_MOVABLE");
    assert_eq!(decoded("5.15.0-91-generic", 0x1100cca), "GFP_HIGHUSER_MOVABLE");
}

#[test]
fn newest_kernels_print_singles_in_bit_order() {
    let mask = 0x400cc0 | 0x100 | 0x2000 | 0x40000;
    assert_eq!(decoded("6.18", mask), "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_NOWARN|__GFP_COMP");
    assert_eq!(decoded("6.12", mask), "GFP_KERNEL_ACCOUNT|__GFP_NOWARN|__GFP_COMP|__GFP_ZERO");
}

#[test]
fn zero_printed_gfp_nowait_up_to_4_5() {
    assert_eq!(decoded("2.6.32", 0), "GFP_NOWAIT");
    assert_eq!(decoded("4.5", 0), "GFP_NOWAIT");
    assert_eq!(decoded("4.6", 0), "");
    assert_eq!(decoded("6.18", 0), "");
}

#[test]
fn hex_only_corpus_reports_decode_per_their_kernel() {
    // (kernel as printed in the report, mode, expected), from the kernel-logs INDEX.
    let rows: [(&str, u64, &str); 8] = [
        ("3.13.0-29-generic", 0x10c0d0, "GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG"),
        ("2.6.28-15-generic", 0x40d0, "GFP_KERNEL|GFP_COMP"),
        ("2.6.32-24-generic", 0x4020, "GFP_ATOMIC|GFP_COMP"),
        ("2.6.32-279.9.1.el6.x86_64", 0x20, "GFP_ATOMIC"),
        ("4.3.3-coreos-r2", 0x20, "GFP_ATOMIC"),
        ("3.18.18+40-ph", 0x204010, "GFP_NOIO|GFP_COMP|GFP_NOTRACK"),
        // Printed by the kernel next to the mask (rows 09, 12, 23).
        ("4.9.0-5-amd64", 0x2080020, "GFP_ATOMIC"),
        ("4.12.0-next-20170705+", 0x1604040, "GFP_NOFS|__GFP_COMP|__GFP_NOTRACK"),
    ];
    for (release, mask, expected) in rows {
        assert_eq!(decoded(release, mask), expected, "{release} {mask:#x}");
    }
}

#[test]
fn release_strings_pick_eras() {
    let cases: [(&str, &str); 26] = [
        ("2.6.18-404.el5", "2.6.x–2.6.37"),
        ("3.10.0-1160.119.1.el7.x86_64", "RHEL 7.8+ (3.10.0-1127+)"),
        ("3.10.0-1062.el7.x86_64", "RHEL 7.0–7.7 (3.10.0-123…1062)"),
        ("3.10.108", "3.8–3.14"),
        ("3.18.18+40-ph", "3.15–4.0"),
        ("4.1.5", "4.1–4.3"),
        ("4.4.0-21-generic", "4.4"),
        ("4.5.7", "4.5"),
        ("4.7.10", "4.6–4.7"),
        ("4.9.0-5-amd64", "4.8–4.9"),
        ("4.12.0-next-20170705+", "4.10–4.12"),
        ("4.13.16", "4.13"),
        ("4.14.0", "4.14.0–4.14.12"),
        ("4.14.67-1.el7", "4.14.13+ (no NOTRACK)"),
        (" v4.14.336\n", "4.14.13+ (no NOTRACK)"),
        ("4.15.18", "4.15"),
        ("4.18.0-553.el8_10.x86_64", "4.16–5.0"),
        ("5.4.0-42-generic", "5.1–5.13"),
        ("5.15.0-1087-azure", "5.14–5.17"),
        ("6.1.0-26-amd64", "5.18–6.2"),
        ("6.8.0-rc1+", "6.3–6.11"),
        ("6.12.0", "6.12–6.14"),
        ("6.18.44-fc", "6.15–7.2 (bit order)"),
        ("7.0.0-1-amd64", "6.15–7.2 (bit order)"),
        ("7.3.4", "7.3+"),
        ("2.4.37", "-"),
    ];
    for (release, expected) in cases {
        assert_eq!(label(release), expected, "{release:?}");
    }
    for bad in ["garbage", "", "6", "6.", ".10", "99999999999.1", "é.1"] {
        assert_eq!(Era::for_release(bad), None, "{bad:?}");
    }
}

#[test]
fn upstream_eras_cover_every_release_once() {
    for major in 2..=8 {
        for minor in 0..=40 {
            if (major, minor) < (2, 6) {
                continue;
            }
            for patch in [0, 1, 8, 9, 66, 67, 300] {
                let v = (major, minor, patch);
                let n = ERAS.iter().filter(|e| e.build == Build::Upstream && (e.first..=e.last).contains(&v)).count();
                assert_eq!(n, 1, "{v:?} is in {n} upstream eras");
            }
        }
    }
}

#[test]
fn distribution_builds_say_which_table_was_used() {
    assert_eq!(note("3.10.0-1160.el7.x86_64"), None);
    assert_eq!(note("3.10.0-514.el7"), None);
    assert_eq!(note("4.14.67"), None);
    assert_eq!(note("6.18.44-fc-v1252"), None);
    assert!(note("6.8.0-rc1+").expect("between two lists").contains("between 6.6 and 6.12"));
    let el8 = note("4.18.0-553.el8_10.x86_64").expect("el8 note");
    assert!(el8.starts_with("RHEL 8 kernel 4.18.0-553.el8_10.x86_64: decoded with upstream 4.18's table"), "{el8}");
    assert!(note("5.14.0-427.13.1.el9_4.x86_64").expect("el9").contains("RHEL 9"));
    assert!(note("5.15.0-1087-azure").expect("ubuntu").contains("Ubuntu"));
    assert!(note("7.0.0-1-amd64").expect("debian").contains("Debian"));
    let unknown_el7 = note("3.10.0-693.el7.x86_64").expect("unchecked build");
    assert!(unknown_el7.contains("build 693") && unknown_el7.contains("RHEL 7.0–7.7"), "{unknown_el7}");
    assert!(note("4.14").expect("no sublevel").contains("without a sublevel"));
    assert!(note("9.1.0").expect("newer").contains("newer than the newest"));
}

#[test]
fn names_are_looked_up_in_both_spellings() {
    let v3_10 = Era::for_release("3.10.108").unwrap();
    assert_eq!(value_in(v3_10, "GFP_KMEMCG"), Some(0x100000));
    assert_eq!(value_in(v3_10, "__GFP_KMEMCG"), Some(0x100000));
    assert_eq!(value_in(v3_10, "__GFP_FS"), Some(0x80));
    assert_eq!(value_in(v3_10, "GFP_FS"), Some(0x80));
    assert_eq!(value_in(v3_10, "GFP_ATOMIC"), Some(0x20));
    assert_eq!(value_in(v3_10, "__GFP_ATOMIC"), None, "not the composite");
    let v4_4 = Era::for_release("4.4").unwrap();
    assert_eq!(value_in(v4_4, "GFP_ATOMIC"), Some(0x2080020), "the composite comes first in 4.4's list");
    assert_eq!(value_in(v4_4, "__GFP_ATOMIC"), Some(0x80000));
    assert_eq!(value_in(Era::NEWEST, "__GFP_COMP"), Some(0x40000));
    assert_eq!(value_in(Era::NEWEST, "NOT_A_FLAG"), None);
    assert_eq!(value_in(Era::NEWEST, ""), None);
}

#[test]
fn named_eras_and_json() {
    assert_eq!(Era::V3_10.label(), "3.8–3.14");
    assert_eq!(Era::V4_4.label(), "4.4");
    assert_eq!(Era::V4_10.label(), "4.10–4.12");
    assert_eq!(Era::NEWEST, *Era::ALL.last().unwrap());
    for era in Era::ALL {
        assert_eq!(serde_json::to_string(era).unwrap(), format!("\"{}\"", era.label()));
        assert_eq!(Era::by_label(era.label()), Some(*era));
    }
}

#[test]
fn decode_all_agrees_with_decode() {
    for mask in [0, 0x10c0d0, 0x1000cc0, 0xffff_ffff, u64::MAX, 0x8000_0000_0000_0020] {
        let all = decode_all(mask);
        assert_eq!(all.len(), Era::ALL.len());
        for (era, mut names, rest) in all {
            if rest != 0 {
                names.push(format!("{rest:#x}"));
            }
            assert_eq!(names, era.decode(mask), "{mask:#x} in {}", era.label());
        }
    }
}

fn fixture_table(name: &str) -> GfpTable {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/format").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = EventFormat::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    GfpTable::from_page_alloc_format(&format).unwrap()
}

#[test]
fn format_fixtures_carry_their_eras_lists() {
    for (file, release) in [("3.10-mm_page_alloc", "3.10.108"), ("4.14-mm_page_alloc", "4.14.67"), ("6.18-mm_page_alloc", "6.18.44")] {
        // The 6.18 file ends with the kernel's `{ 0, NULL }` terminator, which the parser drops.
        let era = Era::for_release(release).unwrap();
        assert_eq!(fixture_table(file), era.table(), "{file}");
    }
}

#[test]
fn config_dependent_bits_say_so() {
    let era = Era::for_release("6.6").unwrap();
    assert_eq!(era.decode(0x1100cca), ["GFP_HIGHUSER_MOVABLE", "0x1000000"]);
    assert_eq!(era.unlisted(0x1000000), [(0x1000000, "__GFP_SKIP_ZERO")]);
    assert_eq!(super::config_of(era, "__GFP_SKIP_ZERO"), Some("CONFIG_KASAN_HW_TAGS"));
    assert_eq!(super::config_of(Era::for_release("5.15").unwrap(), "__GFP_SKIP_KASAN_POISON"), None, "unconditional in 5.14–5.17");
    assert_eq!(super::config_of(era, "__GFP_ACCOUNT"), None);
}
