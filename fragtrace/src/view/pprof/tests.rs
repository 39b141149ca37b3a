use std::io::Read;

use prost::Message as _;

use super::{proto::Profile, *};
use crate::{
    event::{FailureHook, Task},
    gfp::eras::Era,
    identity::Workload,
};

const START_WALL: u64 = 1_764_000_000_000_000_000;
const START: u64 = 5_000_000_000;
const KERNEL_ACCOUNT: u64 = 0x400cc0;
const PIPE: [&str; 5] = ["__alloc_frozen_pages_noprof", "___kmalloc_large_node", "pipe_resize_ring", "pipe_set_size", "pipe_fcntl"];

fn failure(comm: &str, cgroup_id: u64, order: u32, stack_id: Option<u32>, ts_ns: u64) -> Event {
    Event::Failure(Failure {
        task: Task { ts_ns, cpu: 0, pid: 7, tgid: 7, cgroup_id, comm: comm.into() },
        order,
        gfp_mask: KERNEL_ACCOUNT,
        migratetype: 0,
        stack_id,
        ancestry: vec![],
        captured_cgroup: None,
        hook: FailureHook::MemcgCharge,
    })
}

/// Three pipe resizes (two alike) in a pod, one failure without a stack, one whose stack was
/// never defined; then the profile, gzip'd and decoded back with the same messages.
fn profile_of_a_small_stream() -> (FailureProfile, Profile) {
    let mut p = FailureProfile::new(Era::V5_1.table(), 4096, START_WALL, START).with_comment("host test-node");
    let defs = Definitions::new();
    p.use_definitions(&defs);
    defs.define_stack(1, &PIPE.map(String::from));
    defs.define_cgroup(10, Some("/kubepods/pod1/c1"));
    let mut w = Workload::default();
    w.pod.pod_namespace = Some("shop".into());
    w.pod.pod_name = Some("web-0".into());
    defs.define_workload(10, w);
    for (order, ts) in [(6, 1), (6, 2), (9, 3)] {
        p.event(&failure("alloc-trigger", 10, order, Some(1), START + ts * 1_000_000)).unwrap();
    }
    p.event(&failure("kworker/0:1", 11, 3, None, START + 4_000_000)).unwrap();
    p.event(&failure("kworker/0:1", 11, 3, Some(99), START + 5_000_000)).unwrap();
    p.tick(START + 2_000_000_000, &Counters::default()).unwrap();
    let gz = p.write_gzip(Vec::new()).unwrap();
    (p, decode(&gz))
}

fn decode(gz: &[u8]) -> Profile {
    assert_eq!(&gz[..2], [0x1f, 0x8b], "gzip magic");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw).expect("gunzip");
    Profile::decode(raw.as_slice()).expect("a perftools.profiles.Profile")
}

fn s(p: &Profile, i: i64) -> &str {
    &p.string_table[i as usize]
}

/// One line per sample, pprof `-raw`-like: values, labels, then the stack from the root.
fn render(p: &Profile) -> String {
    let frame = |id: &u64| {
        let loc = p.location.iter().find(|l| l.id == *id).expect("location");
        let f = p.function.iter().find(|f| f.id == loc.line[0].function_id).expect("function");
        s(p, f.name).to_string()
    };
    let mut out = String::new();
    for sample in &p.sample {
        let labels: Vec<String> = sample
            .label
            .iter()
            .map(|l| if l.str != 0 { format!("{}={}", s(p, l.key), s(p, l.str)) } else { format!("{}={}", s(p, l.key), l.num) })
            .collect();
        let stack: Vec<String> = sample.location_id.iter().rev().map(frame).collect();
        out += &format!("{:?} {}\n    {}\n", sample.value, labels.join(" "), stack.join(";"));
    }
    out
}

#[test]
fn samples_labels_and_stacks_survive_the_round_trip() {
    let (p, profile) = profile_of_a_small_stream();
    assert_eq!(p.failures(), 5);
    insta::assert_snapshot!(render(&profile));
    let failures: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(failures, 5, "every failure counts, with or without a stack");
    let merged = profile.sample.iter().find(|s| s.value[0] == 2).expect("the two order-6 resizes are one sample");
    assert_eq!(merged.value[1], 2 * (4096 << 6), "requested bytes: 2 × 2^6 pages");
}

#[test]
fn header_types_mapping_and_comments() {
    let (_, p) = profile_of_a_small_stream();
    assert_eq!(p.string_table[0], "", "string_table[0] must be empty");
    let types: Vec<(&str, &str)> = p.sample_type.iter().map(|t| (s(&p, t.ty), s(&p, t.unit))).collect();
    assert_eq!(types, [("failures", "count"), ("requested", "bytes")]);
    assert_eq!(s(&p, p.default_sample_type), "failures");
    assert_eq!((p.time_nanos, p.duration_nanos), (START_WALL as i64, 2_000_000_000));
    assert_eq!(p.comment.iter().map(|&c| s(&p, c)).collect::<Vec<_>>(), ["host test-node"]);
    assert_eq!(p.mapping.len(), 1);
    assert!(p.mapping[0].has_functions, "pprof must not try to symbolise kernel frames");
    // One location and one function per distinct frame, ids from 1, all in the mapping.
    assert_eq!(p.location.len(), PIPE.len() + 2);
    assert_eq!(p.function.len(), p.location.len());
    assert!(p.location.iter().enumerate().all(|(i, l)| l.id == i as u64 + 1 && l.mapping_id == 1 && l.line.len() == 1));
}

#[test]
fn the_leaf_is_the_innermost_frame_and_causes_are_labels() {
    let (_, p) = profile_of_a_small_stream();
    let sample = p.sample.iter().find(|s| s.value[0] == 2).expect("the order-6 resizes");
    let leaf = &p.location[(sample.location_id[0] - 1) as usize];
    assert_eq!(s(&p, p.function[(leaf.line[0].function_id - 1) as usize].name), PIPE[0]);
    let label = |key: &str| sample.label.iter().find(|l| s(&p, l.key) == key).map(|l| if l.str != 0 { s(&p, l.str).to_string() } else { l.num.to_string() });
    assert_eq!(label("cause").as_deref(), Some("pipe-resize-memcg"));
    assert_eq!(label("pod").as_deref(), Some("shop/web-0"));
    assert_eq!(label("gfp").as_deref(), Some("kernel"));
    assert_eq!(label("hook").as_deref(), Some("memcg-charge"));
    assert_eq!(label("order").as_deref(), Some("6"));
    let unlabelled = p.sample.iter().find(|s| s.label.len() == 5).expect("no cgroup, pod or cause: only the five labels");
    assert_eq!(unlabelled.location_id.len(), 1, "a placeholder frame");
}

#[test]
fn unsymbolised_frames_keep_their_address() {
    let mut p = FailureProfile::new(GfpTable::default(), 4096, 0, 0);
    let defs = Definitions::new();
    p.use_definitions(&defs);
    defs.define_stack(1, &["0xffffffffc0a1b2c3".to_string(), "vfs_write".to_string()]);
    p.event(&failure("x", 1, 0, Some(1), 1)).unwrap();
    let profile = p.to_profile();
    let addresses: Vec<u64> = profile.location.iter().map(|l| l.address).collect();
    assert_eq!(addresses, [0xffff_ffff_c0a1_b2c3, 0]);
}

#[test]
fn no_failures_is_a_valid_empty_profile() {
    let p = FailureProfile::new(GfpTable::default(), 4096, START_WALL, START);
    let profile = decode(&p.write_gzip(Vec::new()).unwrap());
    assert!(profile.sample.is_empty() && profile.location.is_empty());
    assert_eq!(profile.sample_type.len(), 2);
    assert_eq!(profile.duration_nanos, 0);
}
