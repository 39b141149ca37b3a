//! Whether a failure happened while a container was being started, told from the failing
//! task's name and ancestry as the kernel captured them.
//!
//! OCI runtimes create a container in helper processes of their own before the container's
//! first process runs: runc's `runc:[0:PARENT]` joins the cgroups and clones
//! `runc:[1:CHILD]`, which creates the namespaces (a new network namespace allocates its
//! per-namespace tables here, charged to the container), then `runc:[2:INIT]` mounts,
//! applies the seccomp filter and executes the container's process. youki and crun do the
//! same under their own names. A failure in one of them means the container never got to run
//! its own code: a pod stuck in `ContainerCreating`, not a misbehaving application.

use crate::event::Ancestor;

/// A runtime's own process, and what it does while a container starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartingTask {
    /// The runtime's name for the step, e.g. `runc:[1:CHILD]`.
    pub step: &'static str,
    /// What that step does, for a reader who does not know the runtime's internals.
    pub does: &'static str,
}

const STEPS: [StartingTask; 8] = [
    StartingTask { step: "runc:[0:PARENT]", does: "runc's bootstrap process: joins the container's cgroups and clones the child that creates its namespaces" },
    StartingTask { step: "runc:[1:CHILD]", does: "runc's child that creates the container's namespaces (a new network namespace allocates its per-namespace tables here, charged to the container's memory cgroup)" },
    StartingTask { step: "runc:[2:INIT]", does: "runc's init: mounts the container's filesystems, applies its seccomp filter and then executes the container's process" },
    StartingTask { step: "runc", does: "runc itself, creating or starting the container" },
    StartingTask { step: "youki:[1:INTER]", does: "youki's intermediate process that creates the container's namespaces" },
    StartingTask { step: "youki:[2:INIT]", does: "youki's init, which sets the container up and executes its process" },
    StartingTask { step: "youki", does: "youki itself, creating or starting the container" },
    StartingTask { step: "crun", does: "crun, creating the container's namespaces and setting it up" },
];

/// The runtime step a failing task was, if it was one: by its own name, or else (for a hook
/// or helper that a runtime process spawned) by its closest ancestor's.
pub fn starting_task(comm: &str, ancestry: &[Ancestor]) -> Option<StartingTask> {
    let step = |name: &str| STEPS.iter().copied().find(|s| s.step == name);
    step(comm).or_else(|| ancestry.first().and_then(|parent| step(&parent.comm)).filter(|s| s.step.contains('[')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(comm: &str) -> Vec<Ancestor> {
        vec![Ancestor { pid: 1, comm: comm.into() }]
    }

    #[test]
    fn runtime_steps_are_recognised_by_name() {
        assert_eq!(starting_task("runc:[1:CHILD]", &[]).map(|s| s.step), Some("runc:[1:CHILD]"));
        assert_eq!(starting_task("runc:[2:INIT]", &parent("containerd-shim")).map(|s| s.step), Some("runc:[2:INIT]"));
        assert_eq!(starting_task("youki:[2:INIT]", &[]).map(|s| s.step), Some("youki:[2:INIT]"));
        assert_eq!(starting_task("crun", &[]).map(|s| s.step), Some("crun"));
    }

    #[test]
    fn a_task_spawned_by_a_runtime_step_counts_but_the_containers_own_process_does_not() {
        assert_eq!(starting_task("hook.sh", &parent("runc:[2:INIT]")).map(|s| s.step), Some("runc:[2:INIT]"));
        // The container's first process runs under the shim once runc has exited.
        assert_eq!(starting_task("mysqld", &parent("containerd-shim")), None);
        // `runc` as a parent is `runc create` or `runc exec`: its children are the steps.
        assert_eq!(starting_task("sh", &parent("runc")), None);
        assert_eq!(starting_task("runcible", &[]), None);
    }
}
