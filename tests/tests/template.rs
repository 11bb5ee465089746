//! The SAM template, the pool stack and the example pool stack lint clean with cfn-lint
//! (pinned in the project venv) and with `sam validate --lint` (the SAM CLI pinned in its
//! own venv, `.venv-sam`, made by `infra/local/setup-sam.sh`; `make test` runs it first),
//! and the pools the functions are configured with have a pool stack each.

use std::path::PathBuf;
use std::process::Command;

use ci_fleet_tests::local_aws::venv_dir;
use ci_fleet_tests::repo_root;

/// Every CloudFormation template the project ships.
const TEMPLATES: [&str; 3] = [
    "template.yaml",
    "infra/pool.yaml",
    "infra/example-pool.yaml",
];

fn sam_venv_dir() -> PathBuf {
    std::env::var_os("CI_FLEET_SAM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv-sam"))
}

#[test]
fn templates_lint_clean() {
    let cfn_lint = venv_dir().join("bin/cfn-lint");
    assert!(
        cfn_lint.exists(),
        "{} missing: run infra/local/setup-venv.sh",
        cfn_lint.display()
    );
    let output = Command::new(cfn_lint)
        .current_dir(repo_root())
        .args(TEMPLATES)
        .output()
        .expect("cfn-lint runs");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `sam validate --lint`, offline: no AWS account, no credentials, no telemetry. Required,
/// not skipped: without `.venv-sam` this fails and says how to make it.
#[test]
fn sam_validate_lint_clean() {
    let sam = sam_venv_dir().join("bin/sam");
    assert!(
        sam.exists(),
        "{} missing: run infra/local/setup-sam.sh (make setup does)",
        sam.display()
    );
    // One process per template, all at once: each takes seconds to start.
    let runs: Vec<_> = TEMPLATES
        .iter()
        .map(|template| {
            let child = Command::new(&sam)
                .current_dir(repo_root())
                .args(["validate", "--lint", "--template", template])
                .env("SAM_CLI_TELEMETRY", "0")
                .env_remove("AWS_PROFILE")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("sam runs");
            (template, child)
        })
        .collect();
    let mut failures = String::new();
    for (template, child) in runs {
        let output = child.wait_with_output().expect("sam finishes");
        if !output.status.success() {
            failures.push_str(&format!(
                "sam validate --lint {template}:\n{}{}\n",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn every_default_pool_has_a_pool_stack_and_its_group_is_writable() {
    let template =
        std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let pools_default = template
        .lines()
        .skip_while(|l| !l.starts_with("  Pools:"))
        .find_map(|l| l.trim().strip_prefix("Default: '"))
        .expect("Pools has a default");
    let pools: serde_json::Value = serde_json::from_str(pools_default.trim_end_matches('\''))
        .expect("the Pools default is JSON");
    let groups_default = template
        .lines()
        .skip_while(|l| !l.starts_with("  PoolGroupNames:"))
        .find_map(|l| l.trim().strip_prefix("Default: "))
        .expect("PoolGroupNames default");
    for pool in pools.as_array().expect("a list") {
        let (name, asg) = (
            pool["name"].as_str().expect("name"),
            pool["asg"].as_str().expect("asg"),
        );
        assert!(
            template.contains(&format!(
                "PoolName: {name}\n        AutoScalingGroupName: {asg}"
            )),
            "pool {name} has no pool stack in template.yaml"
        );
        assert!(
            groups_default.split(',').any(|g| g.trim() == asg),
            "group {asg} missing from PoolGroupNames"
        );
    }
}
