//! A kernel release string (`uname -r`, or the release a report's task line printed) taken
//! apart: the upstream version, and the distribution build when the suffix names one.
//!
//! Hand-rolled: release strings are not semver (`3.10.0-1160.119.1.el7.x86_64`,
//! `5.15.0-1087-azure`, `6.8.0-rc1+`, `2.6.32-279.el6`), and all that is needed is the leading
//! `major.minor[.patch]` plus a handful of suffix patterns.

/// A parsed release. `patch` is `None` when the string has only `major.minor` (`--kernel 4.14`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release<'a> {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
    /// Everything after the version numbers (`-1160.el7.x86_64`, `-rc1+`, ``).
    pub suffix: &'a str,
}

/// A distribution whose kernels carry backports the upstream version does not tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// `.elN`: RHEL, CentOS, Rocky, Alma, Oracle's RHCK. `build` is the number after
    /// `major.minor.patch-` (1160 in `3.10.0-1160.119.1.el7`).
    Rhel { major: u32, build: Option<u32> },
    /// `-generic`, `-azure`, `-aws`, … with an ABI number: `patch` says nothing about the
    /// stable release it follows.
    Ubuntu,
    /// `-N-amd64`, `-N-arm64`, `-N-cloud-amd64`: as Ubuntu.
    Debian,
    /// `-default`, `-azure` with a SUSE build (`5.14.21-150500.55.39-default`).
    Suse,
    /// `.fcN`, `.amzn2`, `-uek`, `.elNuek`: other vendors, named by their tag.
    Other(&'static str),
}

impl Vendor {
    pub fn name(self) -> String {
        match self {
            Vendor::Rhel { major, .. } => format!("RHEL {major}"),
            Vendor::Ubuntu => "Ubuntu".into(),
            Vendor::Debian => "Debian".into(),
            Vendor::Suse => "SUSE".into(),
            Vendor::Other(tag) => tag.into(),
        }
    }
}

/// The decimal number at the start of `s` and what follows it; `None` without a digit or when
/// it does not fit a `u32` (no release number is that long).
pub(super) fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = s[..end].parse().ok()?;
    Some((number, &s[end..]))
}

/// `major.minor[.patch]…`, with an optional leading `v` (`v6.8`) and surrounding blanks. `None`
/// when it does not start that way.
pub fn parse(release: &str) -> Option<Release<'_>> {
    let release = release.trim();
    let release = release.strip_prefix('v').unwrap_or(release);
    let (major, rest) = leading_number(release)?;
    let (minor, rest) = leading_number(rest.strip_prefix('.')?)?;
    let (patch, suffix) = match rest.strip_prefix('.').and_then(leading_number) {
        Some((patch, suffix)) => (Some(patch), suffix),
        None => (None, rest),
    };
    Some(Release { major, minor, patch, suffix })
}

impl Release<'_> {
    /// `(major, minor, patch)` with a missing patch as 0, for range checks.
    pub fn triple(&self) -> (u32, u32, u32) {
        (self.major, self.minor, self.patch.unwrap_or(0))
    }

    /// The distribution build the suffix names, if any.
    pub fn vendor(&self) -> Option<Vendor> {
        let s = self.suffix;
        if let Some(major) = el_major(s) {
            let build = s.strip_prefix('-').and_then(leading_number).map(|(n, _)| n);
            return Some(Vendor::Rhel { major, build });
        }
        if s.contains("uek") {
            return Some(Vendor::Other("Oracle UEK"));
        }
        if s.contains(".amzn") {
            return Some(Vendor::Other("Amazon Linux"));
        }
        if s.contains(".fc") {
            return Some(Vendor::Other("Fedora"));
        }
        if s.ends_with("-default") || s.contains("-150") {
            return Some(Vendor::Suse);
        }
        let abi_number = s.strip_prefix('-').and_then(leading_number).is_some_and(|(_, rest)| rest.starts_with('-'));
        if abi_number && ["-amd64", "-arm64", "-686", "-686-pae", "-armmp", "-rt-amd64"].iter().any(|t| s.ends_with(t)) {
            return Some(Vendor::Debian);
        }
        if abi_number {
            return Some(Vendor::Ubuntu);
        }
        None
    }
}

/// `N` of an `.elN` / `.elN_M` tag in the suffix (`.el7.x86_64`, `.el8_10`, `.el9uek`).
fn el_major(suffix: &str) -> Option<u32> {
    suffix.match_indices(".el").find_map(|(i, _)| leading_number(&suffix[i + 3..]).map(|(n, _)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_vendors() {
        type Case = (&'static str, (u32, u32, Option<u32>), Option<Vendor>);
        let cases: [Case; 14] = [
            ("3.10.0-1160.119.1.el7.x86_64", (3, 10, Some(0)), Some(Vendor::Rhel { major: 7, build: Some(1160) })),
            ("3.10.0-514.el7", (3, 10, Some(0)), Some(Vendor::Rhel { major: 7, build: Some(514) })),
            ("2.6.32-279.9.1.el6.x86_64", (2, 6, Some(32)), Some(Vendor::Rhel { major: 6, build: Some(279) })),
            ("4.18.0-553.el8_10.x86_64", (4, 18, Some(0)), Some(Vendor::Rhel { major: 8, build: Some(553) })),
            ("4.14.67-1.el7", (4, 14, Some(67)), Some(Vendor::Rhel { major: 7, build: Some(1) })),
            ("5.15.0-1087-azure", (5, 15, Some(0)), Some(Vendor::Ubuntu)),
            ("4.4.0-21-generic", (4, 4, Some(0)), Some(Vendor::Ubuntu)),
            ("4.9.0-5-amd64", (4, 9, Some(0)), Some(Vendor::Debian)),
            ("7.0.0-1-amd64", (7, 0, Some(0)), Some(Vendor::Debian)),
            ("5.14.21-150500.55.39-default", (5, 14, Some(21)), Some(Vendor::Suse)),
            ("4.9.0-0.rc8.git2.1.fc26.x86_64", (4, 9, Some(0)), Some(Vendor::Other("Fedora"))),
            ("6.8.0-rc1+", (6, 8, Some(0)), None),
            ("v6.8", (6, 8, None), None),
            ("4.14.336", (4, 14, Some(336)), None),
        ];
        for (text, (major, minor, patch), vendor) in cases {
            let r = parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((r.major, r.minor, r.patch), (major, minor, patch), "{text}");
            assert_eq!(r.vendor(), vendor, "{text}");
        }
        for bad in ["", "garbage", "6", "6.", ".10", "99999999999.1", "é.1"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
