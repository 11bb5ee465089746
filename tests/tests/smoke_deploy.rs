//! Smoke deployment: template.yaml (and infra/example-pool.yaml before it) deployed into a
//! private ministack reaches CREATE_COMPLETE, and publish-workload, started by its
//! EventBridge schedule (nothing calls Invoke), reads the fake Jenkins and publishes the
//! pool's metrics to ministack's CloudWatch; a second stack of the same template, with the
//! VPC parameters, deploys beside it (stack-scoped names). The work is infra/local/smoke-deploy.sh; this
//! test runs it with this build's binaries. About two minutes: the schedule is rate(1 minute).

use std::process::Command;

use ci_fleet_tests::{repo_root, target_profile_dir};

#[test]
fn template_deploys_into_ministack_and_the_schedule_runs_publish_workload() {
    let script = repo_root().join("infra/local/smoke-deploy.sh");
    let output = Command::new(&script)
        .current_dir(repo_root())
        .env("CI_FLEET_BIN_DIR", target_profile_dir())
        .output()
        .expect("infra/local/smoke-deploy.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "smoke deployment failed (logs in .local/smoke-deploy/):\n{stdout}{stderr}"
    );
    for expected in [
        "stack ci-fleet-smoke CREATE_COMPLETE",
        "stack ci-fleet-smoke-pool (infra/example-pool.yaml) CREATE_COMPLETE",
        "first metrics in CloudWatch",
        // A second stack, in a VPC, beside the first: names scoped by stack.
        "stack ci-fleet-smoke-vpc (SubnetIds=",
        "alarms per stack, side by side",
        "dashboards side by side",
        // A terminate event whose handling fails is not lost.
        "the failed event is in the dead-letter queue after Lambda's retries",
        "GET /queue/api/json",
    ] {
        assert!(
            stdout.contains(expected),
            "the smoke deployment's output lacks {expected:?}:\n{stdout}"
        );
    }
}
