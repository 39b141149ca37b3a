//! No input may panic the parser, and none may make it superlinear: random bytes, every prefix
//! of every fixture, megabyte lines, long runs of blank or repeated lines.

use super::*;

const FIXTURES: [&str; 18] = [
    include_str!("../../../testdata/kernel-logs/01-ubuntu-2.6.28-iwlagn-order4.log"),
    include_str!("../../../testdata/kernel-logs/03-centos7-3.10.0-957-runc-nf_conntrack-order5.log"),
    include_str!("../../../testdata/kernel-logs/05-ubuntu-3.13-java-radeon-kmalloc-order4.log"),
    include_str!(
        "../../../testdata/kernel-logs/07-mips-ingenic-5.8.0-containerd-shim-order4-and-kswapd0-order0.QUOTED.log"
    ),
    include_str!("../../../testdata/kernel-logs/09-fedora-4.9.0-rc8-virtio-atomic-order0-x2-plus-oom.QUOTED.log"),
    include_str!("../../../testdata/kernel-logs/12-linux-next-4.12-c.out-page-allocation-STALLS-xfs.VARIANT.log"),
    include_str!("../../../testdata/kernel-logs/13-6.7.0-kworker-atlantic-resume-kmalloc-large-order6.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/15-arm64-5.10.2-cat-proc_sys-kmalloc-order5-lxc-and-order6.log"),
    include_str!("../../../testdata/kernel-logs/17-aks-5.15.0-1087-azure-memcg-oom-kubepods-oom-group.log"),
    include_str!("../../../testdata/kernel-logs/19-ubuntu-2.6.32-24-swapper-r8169-atomic-order0-slub.WRAPPED.log"),
    include_str!("../../../testdata/kernel-logs/21-coreos-4.3.3-ksoftirqd-atomic-order0.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/23-debian9-4.9.0-5-ixgbe-atomic-order0-INTERLEAVED.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/27-centos6-2.6.32-279-squid-analyzer-tcp-atomic-order1.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/29-ubuntu-5.7.0-bcachefs-updater-kmalloc-order7.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/31-fedora-5.9.0-rc4-earlyoom-nowait-order0-journal-prefix.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/33-3.18.18-dm-writeboost-slab-order8.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/35-xtensa-6.8.0-irq-thread-atomic-order0-nocpuset.FRAGMENT.log"),
    include_str!("../../../testdata/kernel-logs/39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log"),
];

/// Deterministic xorshift, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200 {
        let len = rng.below(4096);
        // Bias towards the bytes the matchers look at, so paths past the first check run.
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => b"[]<>():,.=*_ \n#012x?+/-kBT"[rng.below(26)],
                1 => b'0' + rng.below(10) as u8,
                _ => rng.next() as u8,
            })
            .collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn spliced_fixture_lines() {
    // Lines of all fixtures, cut at random character boundaries and shuffled together.
    let lines: Vec<&str> = FIXTURES.iter().flat_map(|f| f.lines()).collect();
    let mut rng = Rng(42);
    for _ in 0..100 {
        let mut text = String::new();
        for _ in 0..200 {
            let line = lines[rng.below(lines.len())];
            let cut = (0..=rng.below(line.len() + 1)).rev().find(|&c| line.is_char_boundary(c)).unwrap_or(0);
            text.push_str(line.get(..cut).unwrap_or(line));
            text.push('\n');
        }
        let _ = parse(&text);
    }
}

#[test]
fn every_prefix_of_every_fixture() {
    for fixture in FIXTURES {
        // Parser state after whole lines, then every cut of the next line: the same as
        // parse(&fixture[..cut]) for every cut, without re-parsing from the start each time.
        let mut parser = Parser::new();
        for line in fixture.split_inclusive('\n') {
            for cut in (0..line.len()).filter(|&c| line.is_char_boundary(c)) {
                let mut partial = parser.clone();
                let _ = partial.push_line(line.get(..cut).unwrap_or_default());
                let _ = partial.finish();
            }
            let _ = parser.push_line(line);
        }
        let mut all = Vec::new();
        let mut whole = Parser::new();
        for line in fixture.lines() {
            all.extend(whole.push_line(line));
        }
        all.extend(whole.finish());
        assert_eq!(all, parse(fixture));
    }
}

#[test]
fn megabyte_lines() {
    let mb = 1 << 20;
    let cases = [
        format!("{}: page allocation failure: order:1, mode:0x20", "c".repeat(mb)),
        format!("x: page allocation failure: order:{}", "9".repeat(mb)),
        "[1.0] ".repeat(mb / 6),
        "page allocation failure: order:".repeat(mb / 31),
        "#012".repeat(mb / 4),
        format!("Node 0 Normal: {}= 1kB", "1*4kB ".repeat(mb / 6)),
        format!("Node 0 Normal free:1kB {}", "min:1kB ".repeat(mb / 8)),
        format!("oom-kill:{}", "a=b,".repeat(mb / 4)),
        format!(" {}+0x1/0x2", "f".repeat(mb)),
        "(".repeat(mb),
        "é".repeat(mb / 2),
    ];
    for body in &cases {
        // Alone, inside a report, and as a run of wrapped (trailing-space) pieces.
        let _ = parse(body);
        let _ =
            parse(&format!("a: page allocation failure: order:1, mode:0x20\nCall Trace:\n{body}\n{body} \n{body}\n"));
    }
    let r = parse(&cases[0]);
    assert_eq!((r.len(), r[0].comm.as_ref().map(String::len)), (1, Some(256)));
}

#[test]
fn long_runs_of_blank_and_repeated_lines() {
    let header = "a: page allocation failure: order:1, mode:0x20\n";
    let blanks = format!("{header}{}{header}", "\n".repeat(100_000));
    assert_eq!(parse(&blanks).len(), 2);
    let mut kills = "x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n".to_string();
    for pid in 0..100_000 {
        kills.push_str(&format!("Killed process {pid} (a)\n"));
    }
    // 5000 lines per report (the body budget), each later one opened by a lone kill line.
    let r = parse(&kills);
    assert_eq!((r.len(), r[0].oom.as_ref().map(|o| o.killed.len())), (20, Some(4096)));
    let frames = format!("{header}Call Trace:\n{}", " f+0x1/0x2\n".repeat(100_000));
    assert_eq!(parse(&frames)[0].frames.len(), 512);
    let trailing = format!("{header}{}", "x \n".repeat(100_000));
    assert_eq!(parse(&trailing).len(), 1);
    let headers = header.repeat(10_000);
    assert_eq!(parse(&headers).len(), 1, "identical back-to-back headers are one report");
}

// Throughput is measured by `cargo xtask bench dmesg` (BENCHMARKS.md), not by a timed test.
