//! The SAM template and the pool stack lint clean with cfn-lint (pinned in the project
//! venv), and the pools the functions are configured with have a pool stack each.

use std::process::Command;

use ci_fleet_tests::local_aws::venv_dir;
use ci_fleet_tests::repo_root;

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
        .args(["template.yaml", "infra/pool.yaml"])
        .output()
        .expect("cfn-lint runs");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
