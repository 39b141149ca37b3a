//! Builds the `Profile` message from the counted samples: the string table, one location and
//! function per distinct frame, labels.

use std::collections::HashMap;

use super::{
    FailureProfile, SampleKey,
    proto::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType},
};

/// The one mapping every location is in.
const KERNEL_MAPPING_ID: u64 = 1;

/// Interns strings (`string_table[0]` must be ""), frames (location id = function id) and
/// accumulates the profile.
struct Builder {
    profile: Profile,
    strings: HashMap<String, i64>,
    locations: HashMap<String, u64>,
}

impl Builder {
    fn new() -> Self {
        let mut b = Self { profile: Profile::default(), strings: HashMap::new(), locations: HashMap::new() };
        b.string("");
        b
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_string());
        self.strings.insert(s.to_string(), i);
        i
    }

    fn value_type(&mut self, kind: &str, unit: &str) -> ValueType {
        ValueType { ty: self.string(kind), unit: self.string(unit) }
    }

    /// The location of a frame, created with its function the first time it is seen.
    fn location(&mut self, frame: &str) -> u64 {
        if let Some(&id) = self.locations.get(frame) {
            return id;
        }
        let id = self.locations.len() as u64 + 1;
        let name = self.string(frame);
        self.profile.function.push(Function { id, name, system_name: name, filename: 0, start_line: 0 });
        self.profile.location.push(Location {
            id,
            mapping_id: KERNEL_MAPPING_ID,
            address: unsymbolised_address(frame).unwrap_or(0),
            line: vec![Line { function_id: id, line: 0 }],
            is_folded: false,
        });
        self.locations.insert(frame.to_string(), id);
        id
    }

    fn label(&mut self, key: &str, value: &str) -> Label {
        Label { key: self.string(key), str: self.string(value), num: 0, num_unit: 0 }
    }

    /// A numeric label with its unit. The unit is not optional: pprof drops a numeric label
    /// whose value and unit are both unset, so order 0 would vanish without one. An unknown
    /// unit is shown as the bare number and filters as one (`-tagfocus=order=0`).
    fn num_label(&mut self, key: &str, num: i64, unit: &str) -> Label {
        Label { key: self.string(key), str: 0, num, num_unit: self.string(unit) }
    }

    fn labels(&mut self, key: &SampleKey, gfp: &crate::gfp::GfpTable) -> Vec<Label> {
        let mut labels = vec![
            self.num_label("order", i64::from(key.order), "order"),
            self.label("gfp", crate::metrics::gfp_class(gfp, key.gfp_mask)),
            self.label("gfp_flags", &gfp.decode_joined(key.gfp_mask)),
            self.label("comm", &key.comm),
            self.label("hook", key.hook),
        ];
        let optional = [("cgroup", key.cgroup.as_deref()), ("pod", key.pod.as_deref()), ("cause", key.cause)];
        for (name, value) in optional {
            if let Some(value) = value {
                labels.push(self.label(name, value));
            }
        }
        labels
    }
}

/// A frame the symboliser left as an address (`0xffffffffc0a1b2c3`).
fn unsymbolised_address(frame: &str) -> Option<u64> {
    u64::from_str_radix(frame.strip_prefix("0x")?, 16).ok()
}

pub(super) fn build(p: &FailureProfile) -> Profile {
    let mut b = Builder::new();
    let failures = b.value_type("failures", "count");
    let bytes = b.value_type("requested", "bytes");
    b.profile.default_sample_type = failures.ty;
    b.profile.period_type = Some(failures);
    b.profile.period = 1;
    b.profile.sample_type = vec![failures, bytes];
    let filename = b.string("[kernel]");
    b.profile.mapping.push(Mapping { id: KERNEL_MAPPING_ID, filename, has_functions: true, ..Mapping::default() });
    for (key, &count) in &p.samples {
        let location_id = key.frames.iter().map(|f| b.location(f)).collect();
        let label = b.labels(key, &p.gfp);
        let requested = (p.page_size << key.order.min(40)).saturating_mul(count);
        b.profile.sample.push(Sample { location_id, value: vec![count as i64, requested as i64], label });
    }
    b.profile.time_nanos = p.start_wall_ns as i64;
    b.profile.duration_nanos = p.last_ts_ns.map_or(0, |t| t.saturating_sub(p.start_monotonic_ns)) as i64;
    for c in &p.comments {
        let i = b.string(c);
        b.profile.comment.push(i);
    }
    b.profile
}
