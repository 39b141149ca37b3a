//! Who a cgroup path belongs to, for capture summaries and reports.

use fragtrace::capture::Identify;
use serde_json::Value;

/// Until the pod/container parser lands, identity is the cgroup path alone.
pub fn identifier() -> Identify {
    Box::new(|_path: Option<&str>| (Vec::new(), Value::Null))
}
