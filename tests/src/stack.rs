//! One end-to-end test's own corner of the shared local stack: an Auto Scaling group
//! with the drain hook, a fresh bucket, the clients to look at both, and the function
//! binaries pointed at them.

use std::process::Command;

use serde_json::{Value, json};

use crate::asg::{Clients, clients, group_with_hook};
use crate::commands::{CiLogin, checkpoint_command, function_command};
use crate::fake_ci::FakeCi;
use crate::local_aws::LocalAws;
use crate::names::unique;
use crate::s3::fresh_bucket;

#[derive(Debug)]
pub struct Stack {
    pub aws: &'static LocalAws,
    /// Auto Scaling and EC2 (`c`, as the `asg` helpers call them).
    pub c: Clients,
    pub s3: aws_sdk_s3::Client,
    pub group: String,
    pub bucket: String,
    /// The group's instances, sorted.
    pub ids: Vec<String>,
}

impl Stack {
    /// On the stack shared by the test binary: a group of `size` instances with the drain
    /// hook, named after `group_prefix`, and an empty bucket named after `bucket_prefix`.
    pub async fn new(group_prefix: &str, bucket_prefix: &str, size: i32) -> Stack {
        let aws = LocalAws::shared();
        let c = clients(aws).await;
        let group = unique(group_prefix);
        let ids = group_with_hook(&c, &group, size).await;
        let (s3, bucket) = fresh_bucket(aws, bucket_prefix).await;
        Stack {
            aws,
            c,
            s3,
            group,
            bucket,
            ids,
        }
    }

    /// The pool the tests use: `linux`, CI label `linux`, over this group.
    pub fn pool(&self, executors_per_instance: u32) -> Value {
        json!({"name": "linux", "ci_label": "linux", "asg": self.group, "executors_per_instance": executors_per_instance})
    }

    /// `POOLS` with that one pool.
    pub fn pools(&self, executors_per_instance: u32) -> String {
        json!([self.pool(executors_per_instance)]).to_string()
    }

    /// The function `binary` against this stack and `fake` (see [`function_command`]),
    /// with `POOLS` and the bucket as `CHECKPOINT_BUCKET` (path-style S3).
    pub fn function_command(
        &self,
        binary: &str,
        fake: &FakeCi,
        login: CiLogin,
        pools: &str,
    ) -> Command {
        let mut cmd = function_command(binary, self.aws, fake, login);
        cmd.envs([
            ("POOLS", pools),
            ("CHECKPOINT_BUCKET", self.bucket.as_str()),
            ("S3_FORCE_PATH_STYLE", "true"),
        ]);
        cmd
    }

    /// `ci-checkpoint` against this stack's bucket.
    pub fn checkpoint_command(&self) -> Command {
        checkpoint_command(self.aws, &self.bucket)
    }
}
