//! TEMPORARY stub; replaced by the full implementation from the helper-cgroup branch.
use std::path::{Path, PathBuf};

pub struct CgroupResolver {
    root: Option<PathBuf>,
}

impl CgroupResolver {
    pub fn discover() -> Self {
        Self { root: None }
    }
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }
    pub fn resolve(&mut self, _id: u64) -> Option<String> {
        None
    }
}
