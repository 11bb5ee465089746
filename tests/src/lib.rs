//! Harness for ci-fleet's workspace integration tests (`tests/tests/*.rs`).
//!
//! - [`LocalAws`]: a private moto server (EC2, Auto Scaling, S3, Secrets Manager,
//!   EventBridge) and ministack (CloudWatch) on free loopback ports, from `<repo>/.venv`
//!   (made by `infra/local/setup-venv.sh`); killed on drop.
//! - [`FakeCi`]: the fake Jenkins / TeamCity (`target/<profile>/fake-ci`) with its
//!   control API; killed on drop.
//! - [`Stack`]: one test's group (with the drain hook), bucket and clients on the shared
//!   [`LocalAws`]; [`commands`]: the function binaries and `ci-checkpoint` pointed at it
//!   and at a [`FakeCi`], with the credentials the fake expects.
//! - [`binary_path`]: a workspace binary built next to the test executable. Integration
//!   tests of this crate cannot make cargo build other packages' binaries, so run
//!   `cargo build --workspace --bins` before `cargo test -p ci-fleet-tests`.
//!
//! Logs of every server go to `<repo>/.local/test-runs/…`, deleted after a passing test
//! and kept (path printed) after a panic.

pub mod asg;
pub mod commands;
pub mod fake_ci;
pub mod faults;
pub mod local_aws;
pub mod names;
pub mod paths;
pub mod process;
pub mod s3;
pub mod stack;

pub use commands::{CiLogin, run_with_event};
pub use fake_ci::{CiKind, FakeCi};
pub use local_aws::LocalAws;
pub use paths::{binary_path, repo_root, target_profile_dir, try_binary_path};
pub use stack::Stack;
