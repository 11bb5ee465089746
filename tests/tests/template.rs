//! The SAM template, the pool stack and the example pool stack lint clean with cfn-lint
//! (pinned in the project venv) and with `sam validate --lint` (the SAM CLI pinned in its
//! own venv, `.venv-sam`, made by `infra/local/setup-sam.sh`; `make test` runs it first).
//! What the expanded template promises a deploy is in deploy_checks.rs.

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
