//! The catalogue's entries as parsed from `causes.toml`, their validation, and the
//! first-match lookup.

use serde::{Deserialize, Serialize};

use super::{glob, input::CauseInput};
use crate::gfp::eras::{Era, value_in};

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("causes.toml is not valid TOML for the catalogue: {0}")]
    Syntax(String),
    #[error("causes.toml, entry {id:?}: {problem}")]
    Invalid { id: String, problem: String },
}

/// What failed: the memory cgroup's charge, or the page allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    Memcg,
    Allocator,
}

/// One alternative of an entry's `match`: all of its conditions must hold (the file's header
/// describes each).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default)]
    pub frames: Vec<String>,
    pub comm: Option<String>,
    pub order: Option<[u32; 2]>,
    #[serde(default)]
    pub gfp_all: Vec<String>,
    #[serde(default)]
    pub gfp_any: Vec<String>,
    #[serde(default)]
    pub gfp_none: Vec<String>,
    pub hook: Option<Hook>,
    pub kernel: Option<[String; 2]>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    pub id: String,
    pub title: String,
    pub explanation: String,
    /// The kernel version or commit that fixed it; empty when nothing did.
    pub fixed_in: String,
    pub remedy: String,
    pub references: Vec<String>,
    #[serde(rename = "match")]
    pub matches: Vec<Match>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    #[serde(rename = "cause", default)]
    pub causes: Vec<Cause>,
}

impl Catalogue {
    /// Parses and validates the catalogue's text.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for cause in &catalogue.causes {
            let invalid = |problem: String| CatalogueError::Invalid { id: cause.id.clone(), problem };
            if !seen.insert(cause.id.as_str()) {
                return Err(invalid("the id is used twice".into()));
            }
            cause.validate().map_err(invalid)?;
        }
        Ok(catalogue)
    }

    /// The first entry, in file order, that matches.
    pub fn find(&self, input: &CauseInput<'_>) -> Option<&Cause> {
        self.causes.iter().find(|c| c.matches.iter().any(|m| input.meets(m)))
    }

    pub fn get(&self, id: &str) -> Option<&Cause> {
        self.causes.iter().find(|c| c.id == id)
    }
}

impl Cause {
    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err("the id must be kebab-case: a-z, 0-9 and -".into());
        }
        for (field, text) in [("title", &self.title), ("explanation", &self.explanation), ("remedy", &self.remedy)] {
            if text.trim().is_empty() {
                return Err(format!("`{field}` is empty"));
            }
        }
        if self.references.is_empty() || self.references.iter().any(|r| r.trim().is_empty()) {
            return Err("`references` must name at least one source, none empty".into());
        }
        if self.matches.is_empty() {
            return Err("no [[cause.match]] alternative".into());
        }
        self.matches.iter().try_for_each(Match::validate)
    }
}

impl Match {
    fn validate(&self) -> Result<(), String> {
        let conditions = !self.frames.is_empty()
            || self.comm.is_some()
            || self.order.is_some()
            || !(self.gfp_all.is_empty() && self.gfp_any.is_empty() && self.gfp_none.is_empty())
            || self.hook.is_some()
            || self.kernel.is_some();
        if !conditions {
            return Err("a match alternative without conditions would match every failure".into());
        }
        if let Some(bad) = self.frames.iter().chain(&self.comm).find(|p| !glob::is_valid(p)) {
            return Err(format!("invalid pattern {bad:?}"));
        }
        if let Some([min, max]) = self.order
            && (min > max || max > 20)
        {
            return Err(format!("order range [{min}, {max}] is empty or beyond any kernel's MAX_ORDER"));
        }
        if let Some(bad) = self.gfp_all.iter().chain(&self.gfp_any).chain(&self.gfp_none).find(|f| !Era::ALL.iter().any(|e| value_in(*e, f).is_some())) {
            return Err(format!("{bad} is a GFP flag of no kernel era"));
        }
        if let Some(range) = &self.kernel
            && let Some(bad) = range.iter().find(|v| !v.is_empty() && super::input::version(v).is_none())
        {
            return Err(format!("kernel bound {bad:?} is not a version (major.minor[.patch])"));
        }
        Ok(())
    }
}
