//! `fragtrace_extfrag_polluter_fallbacks_total{comm,pod,kind}`: who fragments, on /metrics.
//! Bounded like every other label: the first [`MAX_POLLUTER_SERIES`] (comm, pod) pairs get
//! series of their own, every later one counts under `comm="_other",pod="_other"`, so at
//! most `3 × (MAX_POLLUTER_SERIES + 1)` series exist whatever the workload.

use std::collections::HashSet;

use prometheus_client::{encoding::EncodeLabelSet, metrics::counter::Counter, metrics::family::Family, registry::Registry};

use super::{OVERFLOW_POD, label_value, pod_key};
use crate::{aggregate::FallbackKind, definitions::Definitions, event::Extfrag};

/// (comm, pod) pairs with series of their own.
pub const MAX_POLLUTER_SERIES: usize = 20;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolluterLabels {
    comm: String,
    /// `namespace/name` with `--pod-labels` for tasks in pods, else "".
    pod: String,
    /// `stolen`, `fragmenting` or `other` (`aggregate::FallbackKind`).
    kind: &'static str,
}

pub fn register(registry: &mut Registry) -> Family<PolluterLabels, Counter> {
    let family = Family::<PolluterLabels, Counter>::default();
    registry.register(
        "extfrag_polluter_fallbacks",
        "Extfrag fallbacks by task name, pod (with --pod-labels) and kind: stolen = an unmovable or reclaimable allocation took a pageblock over, fragmenting = it split a block smaller than a pageblock, other = the rest; the first 20 (comm, pod) pairs have series, later ones count as comm=\"_other\",pod=\"_other\"",
        family.clone(),
    );
    family
}

/// Decides each fallback's series.
#[derive(Default)]
pub struct PolluterSeries {
    labelled: HashSet<(String, String)>,
}

impl PolluterSeries {
    pub fn labels(&mut self, e: &Extfrag, pageblock_order: u32, definitions: &Definitions, pod_labels: bool) -> PolluterLabels {
        let kind = FallbackKind::of(e, pageblock_order).label();
        let pod = if pod_labels {
            definitions.workload(e.task.cgroup_id).and_then(|w| pod_key(&w)).map(|(ns, name)| format!("{ns}/{name}")).unwrap_or_default()
        } else {
            String::new()
        };
        let key = (label_value(&e.task.comm), pod);
        if self.labelled.contains(&key) || self.labelled.len() < MAX_POLLUTER_SERIES {
            self.labelled.insert(key.clone());
            let (comm, pod) = key;
            return PolluterLabels { comm, pod, kind };
        }
        PolluterLabels { comm: OVERFLOW_POD.into(), pod: OVERFLOW_POD.into(), kind }
    }
}
