use super::*;

fn pool_yaml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml")
}

fn workspace_params() -> ScalingParams {
    ScalingParams::load(&pool_yaml()).expect("pool.yaml parses")
}

#[test]
fn reads_the_workspace_pool_yaml() {
    let params = workspace_params();
    for name in NAMES {
        assert!(params.get(name).is_finite(), "{name}");
    }
    assert!(params.get("ScaleOutPeriodSeconds") >= 10.0);
}

#[test]
fn names_the_culprit() {
    let text = "Parameters:\n  ScaleOutPeriodSeconds:\n    Type: Number\n    Default: lots\n";
    let err = ScalingParams::parse(text, "p.yaml").expect_err("not a number");
    assert_eq!(
        err.to_string(),
        "p.yaml: Parameters.ScaleOutPeriodSeconds.Default: invalid value: string \"lots\", expected a number at line 4 column 14"
    );
    let err = ScalingParams::parse("Resources: {}\n", "p.yaml").expect_err("no section");
    assert_eq!(err.to_string(), "p.yaml: no `Parameters:` section");
    let text = "Parameters:\n  ScaleOutPeriodSeconds:\n    Default: 10\n";
    let err = ScalingParams::parse(text, "p.yaml").expect_err("missing");
    assert!(
        err.to_string()
            .contains("ScaleOutEvaluationPeriods is missing"),
        "{err}"
    );
    let err = ScalingParams::parse("Parameters: [\n", "p.yaml").expect_err("not YAML");
    assert!(err.to_string().starts_with("p.yaml: "), "{err}");
}

fn workspace_template() -> yaml_serde::Value {
    let text = std::fs::read_to_string(pool_yaml()).expect("pool.yaml");
    yaml_serde::from_str(&text).expect("YAML")
}

#[test]
fn a_missing_parameter_is_named() {
    let mut template = workspace_template();
    let parameters = template["Parameters"]
        .as_mapping_mut()
        .expect("a Parameters mapping");
    parameters.remove("IdleGraceSeconds");
    let text = yaml_serde::to_string(&template).expect("YAML");
    let err = ScalingParams::parse(&text, "pool.yaml").expect_err("missing");
    assert_eq!(
        err.to_string(),
        "pool.yaml: parameter IdleGraceSeconds is missing or has no Default"
    );
}

/// The same template in another layout: every mapping's keys in reverse order, written
/// as JSON (flow style, JSON's indentation and quoting; YAML reads JSON), the short-form
/// tags turned into one-key mappings on the way.
fn reformatted(text: &str) -> String {
    fn reverse(value: yaml_serde::Value) -> yaml_serde::Value {
        match value {
            yaml_serde::Value::Mapping(mapping) => {
                let mut entries: Vec<_> = mapping.into_iter().collect();
                entries.reverse();
                yaml_serde::Value::Mapping(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key, reverse(value)))
                        .collect(),
                )
            }
            yaml_serde::Value::Sequence(items) => {
                yaml_serde::Value::Sequence(items.into_iter().map(reverse).collect())
            }
            yaml_serde::Value::Tagged(tagged) => {
                let mut mapping = yaml_serde::Mapping::new();
                mapping.insert(tagged.tag.to_string().into(), reverse(tagged.value));
                yaml_serde::Value::Mapping(mapping)
            }
            other => other,
        }
    }
    let template: yaml_serde::Value = yaml_serde::from_str(text).expect("YAML");
    serde_json::to_string_pretty(&reverse(template)).expect("JSON")
}

#[test]
fn a_reformatted_template_gives_the_same_parameters() {
    let text = std::fs::read_to_string(pool_yaml()).expect("pool.yaml");
    let json = reformatted(&text);
    assert!(json.starts_with("{\n  \"Outputs\""), "{}", &json[..40]);
    let params = ScalingParams::parse(&json, "pool.json").expect("parses");
    assert_eq!(params, workspace_params());
    assert_eq!(
        params.scale_out_steps(),
        workspace_params().scale_out_steps()
    );
}

#[test]
fn any_layout_reads_the_same() {
    // Block style, two-space indentation, the template's key order, the usual tags.
    let block = "\
Parameters:
  PoolName:
    Type: String
  ScaleOutPeriodSeconds:
    Type: Number
    Default: 10
    AllowedValues: [10, 30, 60]
  ScaleInThreshold:
    Type: Number
    Default: 0.85
Conditions:
  ScalingEnabled: !Equals [!Ref EnableScaling, \"true\"]
Resources:
  ScaleOutPolicy:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref AutoScalingGroupName
      StepAdjustments:
        - MetricIntervalLowerBound: 0
          MetricIntervalUpperBound: 1
          ScalingAdjustment: 1
        - MetricIntervalLowerBound: 1
          ScalingAdjustment: 3
  Alarm:
    Properties:
      AlarmName: !Sub \"ci-fleet-${PoolName}\"
      AlarmActions: !If [ScalingEnabled, [!Ref ScaleOutPolicy], []]
      Value: !GetAtt Queue.Arn
";
    // Flow style, four-space indentation, keys reordered, quoted numbers, comments.
    let flow = "\
Resources:
    Alarm: {Properties: {AlarmActions: !If [ScalingEnabled, [!Ref ScaleOutPolicy], []]}}
    ScaleOutPolicy:
        Properties:
            StepAdjustments: [
                {ScalingAdjustment: 1, MetricIntervalUpperBound: 1, MetricIntervalLowerBound: 0},
                {ScalingAdjustment: \"3\", MetricIntervalLowerBound: 1},  # open above
            ]
            AutoScalingGroupName: !Ref AutoScalingGroupName
Parameters: {ScaleInThreshold: {Default: \"0.85\", Type: Number},
             ScaleOutPeriodSeconds: {Default: 10},  PoolName: {Type: String, Default: !Ref X}}
";
    let read_block = template::read(block).expect("block parses");
    let read_flow = template::read(flow).expect("flow parses");
    assert_eq!(read_block.defaults, read_flow.defaults);
    let defaults = read_block.defaults.expect("a Parameters section");
    assert_eq!(defaults.get("ScaleInThreshold").copied(), Some(0.85));
    assert_eq!(defaults.get("ScaleOutPeriodSeconds").copied(), Some(10.0));
    assert_eq!(read_block.scale_out_steps, read_flow.scale_out_steps);
    assert_eq!(read_block.scale_out_steps.len(), 2);
    assert_eq!(read_block.scale_out_steps[1].upper, None);
}

#[test]
fn reads_the_scale_out_steps_from_the_policy_resource() {
    let params = workspace_params();
    let steps = params.scale_out_steps();
    assert!(steps.len() >= 2 && steps.len() <= 20, "AWS allows 20 steps");
    assert_eq!(
        steps[0].lower,
        Some(0.0),
        "the first step starts at the threshold"
    );
    assert_eq!(steps.last().and_then(|s| s.upper), None, "the last is open");
    for pair in steps.windows(2) {
        assert_eq!(
            pair[0].upper, pair[1].lower,
            "steps must not overlap or leave gaps"
        );
        assert!(pair[0].adjustment <= pair[1].adjustment);
    }

    let text = "Parameters: {}\nResources:\n  ScaleOutPolicy:\n    Properties:\n      StepAdjustments:\n        - {MetricIntervalLowerBound: 0, ScalingAdjustment: lots}\n";
    let err = template::read(text).err().expect("bad");
    assert_eq!(
        err.to_string(),
        "Resources.ScaleOutPolicy.Properties.StepAdjustments[0].ScalingAdjustment: invalid value: string \"lots\", expected a number at line 6 column 60"
    );
    let text = "Parameters: {}\nResources:\n  ScaleOutPolicy:\n    Properties:\n      StepAdjustments:\n        - {MetricIntervalLowerBound: 0, Adjustment: 1}\n";
    let err = template::read(text).err().expect("bad");
    assert!(
        err.to_string().contains("unknown field `Adjustment`"),
        "{err}"
    );
    let mut template = workspace_template();
    let resources = template["Resources"].as_mapping_mut().expect("Resources");
    resources.remove(SCALE_OUT_POLICY);
    let text = yaml_serde::to_string(&template).expect("YAML");
    let err = ScalingParams::parse(&text, "p.yaml").expect_err("absent");
    assert_eq!(
        err.to_string(),
        "p.yaml: resource ScaleOutPolicy has no StepAdjustments"
    );
}

#[test]
fn overrides_by_template_name() {
    let mut params = workspace_params();
    params.set_from("ScaleInPercent=50").expect("known");
    assert_eq!(params.get("ScaleInPercent"), 50.0);
    assert!(params.set_from("ScaleInPercnt=50").is_err());
    assert!(params.set_from("ScaleInPercent=half").is_err());
}
