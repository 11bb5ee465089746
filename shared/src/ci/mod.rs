//! The CI adapters, one folder per server (as tools/fake-ci is): what ci-fleet asks of a
//! CI server is the `CiServer` and `BuildControl` ports (`crate::ports`); here is how
//! Jenkins and TeamCity answer it, over one HTTP client that reads every failure as
//! "unknown", never as "zero".

pub mod error;
pub mod http;
pub mod jenkins;
pub mod kind;
pub mod log_tail;
pub mod teamcity;

use std::sync::Arc;

pub use error::{CiError, Problem};
pub use http::{Answer, CiHttp};
pub use kind::CiKind;

use crate::config::{CiConfig, Credentials};
use crate::ports::builds::BuildControl;
use crate::ports::ci::CiServer;

/// The two CI ports of one server.
pub type CiPorts = (Arc<dyn CiServer>, Arc<dyn BuildControl>);

/// Both CI ports for the configured server, over one HTTP client (one connection pool,
/// one TLS setup at cold start); `credentials` are resolved already (inline or from
/// Secrets Manager).
pub fn connect(config: &CiConfig, credentials: Option<Credentials>) -> Result<CiPorts, CiError> {
    let http = CiHttp::new(config, credentials)?;
    Ok(match config.kind {
        CiKind::Jenkins => (
            Arc::new(jenkins::Jenkins::new(http.clone())),
            Arc::new(jenkins::builds::JenkinsBuilds::new(http)),
        ),
        CiKind::TeamCity => (
            Arc::new(teamcity::TeamCity::new(http.clone())),
            Arc::new(teamcity::builds::TeamCityBuilds::new(http)),
        ),
    })
}
