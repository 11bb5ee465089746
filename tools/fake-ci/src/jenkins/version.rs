//! The Jenkins version the fake plays (`jenkins_version`): quotes in `why`, exported
//! labels, the built-in node's name and the crumb length all changed at a known release.

/// A Jenkins version such as `2.579` or `2.361.4`, compared component by component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JenkinsVersion(Vec<u32>);

impl JenkinsVersion {
    pub fn parse(text: &str) -> JenkinsVersion {
        // Anything unparsable (a snapshot suffix, garbage) counts as the newest, the
        // shape most tests expect.
        let parts: Option<Vec<u32>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        JenkinsVersion(
            parts
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| vec![u32::MAX]),
        )
    }

    pub fn at_least(&self, other: &str) -> bool {
        *self >= JenkinsVersion::parse(other)
    }

    /// U+2018/U+2019 around names in queue reasons since 2.125.
    pub fn fancy_quotes(&self) -> bool {
        self.at_least("2.125")
    }

    /// `(ETA: …)` with a space since 2.157, in every language (commit a60f37ec13, "Add
    /// space after ETA:"); `(ETA:…)` before.
    pub fn eta_space(&self) -> bool {
        self.at_least("2.157")
    }

    /// `assignedLabels` on computers and `labelExpression` on jobs since 2.94.
    pub fn exports_labels(&self) -> bool {
        self.at_least("2.94")
    }

    /// The built-in node's display name in English (hudson/model/Messages.properties
    /// `Hudson.Computer.DisplayName`); `Ctx::builtin_display_name` has the German one.
    pub fn builtin_display_name(&self) -> &'static str {
        if self.at_least("2.307") {
            "Built-In Node"
        } else {
            "master"
        }
    }

    pub fn builtin_label(&self) -> &'static str {
        if self.at_least("2.307") {
            "built-in"
        } else {
            "master"
        }
    }

    /// Crumbs are SHA-256 hex (64 chars) since 2.190, MD5 (32) before.
    pub fn crumb_len(&self) -> usize {
        if self.at_least("2.190") { 64 } else { 32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let v = JenkinsVersion::parse("2.361.4");
        assert!(v.fancy_quotes());
        assert!(v.at_least("2.307"));
        assert!(!v.at_least("2.362"));
        assert!(!JenkinsVersion::parse("2.60.3").fancy_quotes());
        assert!(JenkinsVersion::parse("2.125").fancy_quotes());
        assert_eq!(
            JenkinsVersion::parse("2.306").builtin_display_name(),
            "master"
        );
    }
}
