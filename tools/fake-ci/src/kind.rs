//! Which server the fake plays, as `--kind` names it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jenkins,
    TeamCity,
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        match s {
            "jenkins" => Ok(Kind::Jenkins),
            "teamcity" => Ok(Kind::TeamCity),
            other => Err(format!(
                "unknown kind {other:?}: expected jenkins or teamcity"
            )),
        }
    }
}
