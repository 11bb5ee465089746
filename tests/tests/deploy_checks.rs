//! What a deploy into a real account relies on, checked on the template as CloudFormation
//! receives it: `template.yaml` through the SAM transform (`infra/local/sam_expand.py`, the
//! aws-sam-translator pinned in `.venv-sam`). The conditions are evaluated here with the
//! parameter values a user would give, so "no VPC by default" is a fact, not a hope.
//! (ministack's CloudFormation drops `VpcConfig` and reservations when it creates a
//! function: the smoke deployment cannot see them.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use ci_fleet_tests::repo_root;
use serde_json::{Map, Value, json};
use shared::ci::kind::CiKind;
use shared::config::{Env, pools_from_env};

const TERMINATE: &str = "EC2 Instance-terminate Lifecycle Action";

fn sam_expand(args: &[&str]) -> Value {
    let venv = std::env::var_os("CI_FLEET_SAM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv-sam"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run infra/local/setup-sam.sh (make setup does)",
        python.display()
    );
    let output = Command::new(python)
        .current_dir(repo_root())
        .arg("infra/local/sam_expand.py")
        .args(args)
        .output()
        .expect("sam_expand.py runs");
    assert!(
        output.status.success(),
        "sam_expand.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("sam_expand.py prints JSON")
}

fn expanded() -> Value {
    sam_expand(&[])
}

fn pool_template() -> Value {
    sam_expand(&["--parse", "infra/pool.yaml"])
}

fn resources<'a>(template: &'a Value, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(move |(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
}

/// Parameter values as CloudFormation resolves them: a CommaDelimitedList is a list (its
/// empty default is `[""]`), everything else a string.
struct Deploy<'a> {
    template: &'a Value,
    values: Map<String, Value>,
}

impl<'a> Deploy<'a> {
    fn with(template: &'a Value, given: Value) -> Deploy<'a> {
        let mut values = Map::new();
        for (name, parameter) in template["Parameters"].as_object().expect("Parameters") {
            let value = given
                .get(name)
                .cloned()
                .unwrap_or_else(|| parameter["Default"].clone());
            let value = match (parameter["Type"].as_str(), value) {
                (Some("CommaDelimitedList"), Value::String(s)) => {
                    json!(s.split(',').map(str::trim).collect::<Vec<_>>())
                }
                (_, Value::Number(n)) => json!(n.to_string()),
                (_, v) => v,
            };
            values.insert(name.clone(), value);
        }
        values.insert("AWS::StackName".into(), given["AWS::StackName"].clone());
        Deploy { template, values }
    }

    fn condition(&self, name: &str) -> bool {
        let condition = &self.template["Conditions"][name];
        self.eval(condition)
            .as_bool()
            .unwrap_or_else(|| panic!("condition {name} is not a boolean: {condition}"))
    }

    /// The intrinsic functions ci-fleet's templates use in conditions and names.
    fn eval(&self, expr: &Value) -> Value {
        let single = expr
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next());
        let Some((function, args)) =
            single.filter(|(f, _)| *f == "Ref" || f.starts_with("Fn::") || *f == "Condition")
        else {
            return match expr {
                Value::Object(o) => {
                    Value::Object(o.iter().map(|(k, v)| (k.clone(), self.eval(v))).collect())
                }
                Value::Array(a) => Value::Array(a.iter().map(|v| self.eval(v)).collect()),
                _ => expr.clone(),
            };
        };
        let arg = |i: usize| self.eval(&args[i]);
        match function.as_str() {
            "Ref" if args == "AWS::NoValue" => expr.clone(),
            "Ref" => self
                .values
                .get(args.as_str().expect("Ref names"))
                .cloned()
                .unwrap_or_else(|| panic!("Ref to {args}, not a parameter")),
            "Condition" => json!(self.condition(args.as_str().expect("a name"))),
            "Fn::Not" => json!(!arg(0).as_bool().expect("Fn::Not of a boolean")),
            "Fn::Equals" => json!(arg(0) == arg(1)),
            "Fn::If" => {
                let chosen = if self.condition(args[0].as_str().expect("a condition")) {
                    1
                } else {
                    2
                };
                arg(chosen)
            }
            "Fn::Join" => {
                let parts = arg(1);
                let parts: Vec<&str> = parts
                    .as_array()
                    .expect("Fn::Join of a list")
                    .iter()
                    .map(|p| p.as_str().expect("strings"))
                    .collect();
                json!(parts.join(arg(0).as_str().expect("a delimiter")))
            }
            "Fn::Sub" => json!(self.sub(args.as_str().expect("Fn::Sub of a string"))),
            _ => expr.clone(),
        }
    }

    fn sub(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_owned(), |text, (name, value)| {
                text.replace(&format!("${{{name}}}"), value.as_str().unwrap_or_default())
            })
    }
}

fn sandbox() -> Value {
    json!({"AWS::StackName": "prod"})
}

#[test]
fn functions_join_a_vpc_only_when_given_subnets() {
    let template = expanded();
    let functions: Vec<_> = resources(&template, "AWS::Lambda::Function").collect();
    assert_eq!(functions.len(), 4, "the four functions");
    let default = Deploy::with(&template, sandbox());
    let private = Deploy::with(
        &template,
        json!({"AWS::StackName": "prod", "SubnetIds": "subnet-a,subnet-b", "SecurityGroupIds": "sg-1"}),
    );
    for (id, function) in functions {
        let vpc = &function["Properties"]["VpcConfig"];
        assert_eq!(
            default.eval(vpc),
            json!({"Ref": "AWS::NoValue"}),
            "{id}: no VPC by default"
        );
        assert_eq!(
            private.eval(vpc),
            json!({"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]}),
            "{id}: in the given subnets"
        );
        let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .expect("a generated role");
        assert!(
            template["Resources"][role]["Properties"]["ManagedPolicyArns"]
                .to_string()
                .contains("AWSLambdaVPCAccessExecutionRole"),
            "{id}: its role may create the network interfaces a VPC needs"
        );
    }
}

#[test]
fn the_terminate_rule_matches_our_hook_only_and_names_it_per_stack() {
    let template = expanded();
    let rule = resources(&template, "AWS::Events::Rule")
        .map(|(_, r)| &r["Properties"]["EventPattern"])
        .find(|p| p["detail-type"] == json!([TERMINATE]))
        .expect("the terminate rule");
    let detail: BTreeSet<_> = rule["detail"]
        .as_object()
        .expect("a detail filter")
        .keys()
        .collect();
    assert_eq!(
        detail,
        BTreeSet::from([&"LifecycleHookName".to_owned()]),
        "no group list to keep in step: {rule}"
    );
    let hook = &rule["detail"]["LifecycleHookName"][0];
    for (id, function) in resources(&template, "AWS::Lambda::Function") {
        assert_eq!(
            &function["Properties"]["Environment"]["Variables"]["DRAIN_HOOK_NAME"], hook,
            "{id} owns the rule's hook"
        );
    }
    for (id, pool) in resources(&template, "AWS::CloudFormation::Stack") {
        assert_eq!(
            &pool["Properties"]["Parameters"]["DrainHookName"], hook,
            "{id} creates the rule's hook"
        );
    }
    let named = |given: Value| Deploy::with(&template, given).eval(hook);
    assert_eq!(named(json!({"AWS::StackName": "staging"})), "staging-drain");
    assert_eq!(
        named(json!({"AWS::StackName": "prod"})),
        "prod-drain",
        "two stacks, two hooks"
    );
    assert_eq!(
        named(json!({"AWS::StackName": "prod", "DrainHookName": "ours"})),
        "ours"
    );
}

#[test]
fn alarm_and_dashboard_names_are_stack_scoped() {
    let (template, pool) = (expanded(), pool_template());
    let names = |t: &Value, field: &str| -> Vec<String> {
        t["Resources"]
            .as_object()
            .expect("Resources")
            .values()
            .filter_map(|r| {
                r["Properties"][field]["Fn::Sub"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| r["Properties"].get(field).map(|v| v.to_string()))
            })
            .collect()
    };
    for field in ["AlarmName", "DashboardName"] {
        for name in names(&template, field) {
            assert!(
                name.starts_with("${AWS::StackName}-"),
                "template.yaml {field} {name}"
            );
        }
        let in_pool = names(&pool, field);
        assert!(!in_pool.is_empty());
        for name in in_pool {
            assert!(
                name.starts_with("${StackPrefix}-"),
                "infra/pool.yaml {field} {name}"
            );
        }
    }
    for (id, stack) in resources(&template, "AWS::CloudFormation::Stack") {
        assert_eq!(
            stack["Properties"]["Parameters"]["StackPrefix"],
            json!({"Ref": "AWS::StackName"}),
            "{id}"
        );
    }
}

/// A pool is its pool stack block: the functions' POOLS is the blocks' Entry outputs, and
/// what the blocks say parses as the functions parse POOLS.
#[test]
fn each_pool_is_one_pool_stack_block_and_its_entry_is_what_the_functions_read() {
    let (template, pool) = (expanded(), pool_template());
    let stacks: BTreeSet<&str> = resources(&template, "AWS::CloudFormation::Stack")
        .map(|(id, _)| id)
        .collect();
    assert!(!stacks.is_empty());
    let pools_env = |function: &Value| {
        function["Properties"]["Environment"]["Variables"]["POOLS"]["Fn::Sub"]
            .as_str()
            .expect("POOLS is a Fn::Sub")
            .to_owned()
    };
    let (_, first) = resources(&template, "AWS::Lambda::Function")
        .next()
        .expect("a function");
    let pools = pools_env(first);
    for (id, function) in resources(&template, "AWS::Lambda::Function") {
        assert_eq!(pools_env(function), pools, "{id} reads the same pools");
    }
    let referenced: BTreeSet<&str> = pools
        .split("${")
        .skip(1)
        .filter_map(|r| {
            r.strip_suffix(".Outputs.Entry}")
                .or_else(|| r.split_once(".Outputs.Entry}").map(|(id, _)| id))
        })
        .collect();
    assert_eq!(
        referenced, stacks,
        "every pool stack, and only they, in POOLS: {pools}"
    );

    let entry = |parameters: &Value| -> String {
        let mut given = parameters.clone();
        given["AWS::StackName"] = json!("prod");
        Deploy::with(&pool, given)
            .eval(&pool["Outputs"]["Entry"]["Value"])
            .as_str()
            .expect("a string")
            .to_owned()
    };
    let assembled = stacks.iter().fold(pools.clone(), |text, id| {
        text.replace(
            &format!("${{{id}.Outputs.Entry}}"),
            &entry(&template["Resources"][*id]["Properties"]["Parameters"]),
        )
    });
    let parsed = pools_from_env(
        &Env::from_pairs([("POOLS", assembled.as_str())]),
        CiKind::Jenkins,
    )
    .unwrap_or_else(|e| panic!("POOLS {assembled}: {e}"));
    assert_eq!(parsed.len(), stacks.len());

    // A one-build pool and a label with every character a Fn::Sub entry can carry.
    let gpu = json!({"PoolName": "gpu", "AutoScalingGroupName": "ci-gpu", "CiLabel": "gpu && (linux || arm64)", "ExecutorsPerInstance": 1, "MaxBuildsPerAgent": 1});
    let pools = format!("[{}]", entry(&gpu));
    let parsed = pools_from_env(
        &Env::from_pairs([("POOLS", pools.as_str())]),
        CiKind::Jenkins,
    )
    .unwrap_or_else(|e| panic!("{pools}: {e}"));
    assert_eq!(parsed[0].spec.max_builds_per_agent, Some(1), "{pools}");
    assert_eq!(parsed[0].spec.ci_label, "gpu && (linux || arm64)");
}

#[test]
fn concurrency_reservations_are_opt_in() {
    let template = expanded();
    let default = Deploy::with(&template, sandbox());
    let reserving = Deploy::with(
        &template,
        json!({"AWS::StackName": "prod", "ReserveConcurrency": "true"}),
    );
    let mut reserved = 0;
    for (id, function) in resources(&template, "AWS::Lambda::Function") {
        let Some(reservation) = function["Properties"].get("ReservedConcurrentExecutions") else {
            continue;
        };
        assert_eq!(
            default.eval(reservation),
            json!({"Ref": "AWS::NoValue"}),
            "{id}: a new account's quota of 10 refuses any reservation"
        );
        reserved += reserving.eval(reservation).as_u64().expect("a count");
    }
    assert_eq!(
        reserved, 12,
        "1 + 1 + 10, the figure the parameter's description gives"
    );
}

#[test]
fn scheduled_functions_are_not_retried_by_lambda() {
    let template = expanded();
    let configs: Vec<_> = resources(&template, "AWS::Lambda::EventInvokeConfig")
        .map(|(_, c)| &c["Properties"])
        .collect();
    let scheduled: Vec<_> = resources(&template, "AWS::Events::Rule")
        .filter(|(_, r)| r["Properties"].get("ScheduleExpression").is_some())
        .map(|(_, r)| r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0].clone())
        .collect();
    assert_eq!(scheduled.len(), 2);
    for function in scheduled {
        let config = configs
            .iter()
            .find(|c| c["FunctionName"]["Ref"] == function)
            .unwrap_or_else(|| panic!("{function} has no EventInvokeConfig"));
        assert_eq!(
            config["MaximumRetryAttempts"], 0,
            "{function}: the next minute's run replaces a failed one"
        );
    }
}

/// `sam build` of a `rust-cargolambda` function asks for the beta opt-in unless told; a CI
/// job answering nothing fails there.
#[test]
fn sam_build_and_deploy_need_no_prompt() {
    let config = std::fs::read_to_string(repo_root().join("samconfig.toml"))
        .expect("samconfig.toml at the root");
    let section = |name: &str| -> Vec<String> {
        config
            .lines()
            .skip_while(|l| l.trim() != format!("[{name}]"))
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .map(|l| l.replace(' ', ""))
            .collect()
    };
    assert!(
        section("default.build.parameters").contains(&"beta_features=true".to_owned()),
        "{config}"
    );
    let deploy = section("default.deploy.parameters");
    assert!(
        deploy.contains(&"confirm_changeset=false".to_owned()),
        "{config}"
    );
    assert!(
        deploy.iter().any(|l| l.starts_with("capabilities=")
            && l.contains("CAPABILITY_IAM")
            && l.contains("CAPABILITY_AUTO_EXPAND")),
        "{config}"
    );
}

/// `ci-metrics-missing` fires when publish-workload stops, whatever else runs: it watches
/// `CiServerUp` arriving at all (missing data breaches), and publish-workload is the only
/// function whose code publishes `CiServerUp` (protect-busy-agents' end-to-end test checks
/// the same on the wire).
#[test]
fn ci_metrics_missing_fires_when_publish_workload_stops() {
    let template = expanded();
    let alarm = &template["Resources"]["CiMetricsMissingAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "CiServerUp");
    assert_eq!(alarm["Namespace"], json!({"Ref": "MetricsNamespace"}));
    assert_eq!(alarm["Statistic"], "SampleCount");
    assert_eq!(alarm["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(alarm["TreatMissingData"], "breaching");
    assert!(
        alarm.get("Dimensions").is_none(),
        "CiServerUp has no dimension"
    );
    let functions = repo_root().join("functions");
    let mut publishers = BTreeSet::new();
    for function in std::fs::read_dir(&functions).expect("functions/") {
        let function = function.expect("an entry").path();
        let mut stack = vec![function.join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if path.is_dir() && name != "tests" {
                    stack.push(path);
                } else if name.ends_with(".rs") && name != "tests.rs" {
                    let code = std::fs::read_to_string(&path).expect("source");
                    if code.contains("Datum::new(\"CiServerUp\"") {
                        publishers.insert(
                            function
                                .file_name()
                                .expect("a name")
                                .to_string_lossy()
                                .into_owned(),
                        );
                    }
                }
            }
        }
    }
    assert_eq!(publishers, BTreeSet::from(["publish-workload".to_owned()]));
}
