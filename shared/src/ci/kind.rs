//! Which CI server ci-fleet talks to. Its own leaf module because errors, configuration
//! and the adapters all name it, and none of them should depend on another for it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiKind {
    Jenkins,
    TeamCity,
}

impl fmt::Display for CiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CiKind::Jenkins => "jenkins",
            CiKind::TeamCity => "teamcity",
        })
    }
}
