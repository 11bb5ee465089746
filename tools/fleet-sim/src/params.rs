//! The template's scaling parameters, read from the `Parameters` section of
//! `infra/pool.yaml` (the same defaults a `sam deploy` uses), with per-run overrides.
//!
//! The reader understands exactly the shape of that block — `  Name:` entries with
//! `    Default: value` under them — which is all a CloudFormation Parameters section is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scaling::StepAdjustment;

/// The template's scale-out policy (on `MissingInstances`); its step table is read from the
/// resource itself (one flow mapping per step), since step bounds are not parameters.
pub const SCALE_OUT_POLICY: &str = "ScaleOutPolicy";

#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: no `Parameters:` section")]
    NoSection { path: String },
    #[error("{path}:{line}: parameter {name}: Default {value:?} is not a number")]
    NotANumber {
        path: String,
        line: usize,
        name: String,
        value: String,
    },
    #[error("{path}: parameter {name} is missing or has no Default")]
    Missing { path: String, name: &'static str },
    #[error("unknown parameter {0:?} (known: {1})")]
    Unknown(String, String),
    #[error("parameter {name}: {value:?} is not a number")]
    BadOverride { name: String, value: String },
    #[error("{path}: resource {resource} has no StepAdjustments")]
    NoSteps {
        path: String,
        resource: &'static str,
    },
    #[error("{path}:{line}: step adjustment {text:?}: {reason}")]
    BadStep {
        path: String,
        line: usize,
        text: String,
        reason: &'static str,
    },
}

/// Every scaling parameter the simulation reads, by its template name.
pub const NAMES: [&str; 12] = [
    "ScaleOutPeriodSeconds",
    "ScaleOutEvaluationPeriods",
    "ScaleOutDatapointsToAlarm",
    "InstanceWarmupSeconds",
    "ScaleInThreshold",
    "ScaleInPeriodSeconds",
    "ScaleInEvaluationPeriods",
    "ScaleInDatapointsToAlarm",
    "ScaleInPercent",
    "IdleGraceSeconds",
    "BootGraceSeconds",
    "DrainHeartbeatTimeoutSeconds",
];

/// The template's scaling parameters (names as in `infra/pool.yaml`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct ScalingParams {
    values: BTreeMap<&'static str, f64>,
    /// The scale-out policy's steps (ChangeInCapacity), from its resource.
    #[serde(skip)]
    scale_out_steps: Vec<StepAdjustment>,
    /// What-if, not the template: scale out by this PercentChangeInCapacity (at least one
    /// instance) instead of the step table, as the template did before MissingInstances.
    #[serde(skip)]
    percent_scale_out: Option<f64>,
}

impl ScalingParams {
    /// Reads the Defaults from a pool.yaml.
    pub fn load(path: &Path) -> Result<ScalingParams, ParamError> {
        let text = std::fs::read_to_string(path).map_err(|source| ParamError::Io {
            path: path.display().to_string(),
            source,
        })?;
        ScalingParams::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<ScalingParams, ParamError> {
        let defaults = read_defaults(text, path)?;
        let mut values = BTreeMap::new();
        for name in NAMES {
            let (line, raw) = defaults.get(name).ok_or(ParamError::Missing {
                path: path.to_owned(),
                name,
            })?;
            let value = raw.parse::<f64>().map_err(|_| ParamError::NotANumber {
                path: path.to_owned(),
                line: *line,
                name: name.to_owned(),
                value: raw.clone(),
            })?;
            values.insert(name, value);
        }
        let scale_out_steps = read_flow_steps(text, path, SCALE_OUT_POLICY)?;
        Ok(ScalingParams {
            values,
            scale_out_steps,
            percent_scale_out: None,
        })
    }

    /// The steps of the scale-out policy on MissingInstances, as in the template.
    pub fn scale_out_steps(&self) -> &[StepAdjustment] {
        &self.scale_out_steps
    }

    /// What-if: scale out by `percent` of the warmed-up group per invocation (at least one
    /// instance) on the same alarm, to compare with the template's step table.
    pub fn use_percent_scale_out(&mut self, percent: f64) {
        self.percent_scale_out = Some(percent);
    }

    pub fn percent_scale_out(&self) -> Option<f64> {
        self.percent_scale_out
    }

    /// The pool.yaml of this workspace: `--params`, else `infra/pool.yaml` in the current
    /// directory or an ancestor, else the one next to this crate's sources.
    pub fn default_path() -> PathBuf {
        if let Ok(cwd) = std::env::current_dir() {
            for dir in cwd.ancestors() {
                let candidate = dir.join("infra").join("pool.yaml");
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml")
    }

    pub fn get(&self, name: &str) -> f64 {
        self.values.get(name).copied().unwrap_or(f64::NAN)
    }

    pub fn set(&mut self, name: &str, value: f64) -> Result<(), ParamError> {
        match NAMES.iter().find(|n| **n == name) {
            Some(n) => {
                self.values.insert(n, value);
                Ok(())
            }
            None => Err(ParamError::Unknown(name.to_owned(), NAMES.join(", "))),
        }
    }

    /// `Name=value`.
    pub fn set_from(&mut self, assignment: &str) -> Result<(), ParamError> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| ParamError::Unknown(assignment.to_owned(), NAMES.join(", ")))?;
        let parsed = value
            .trim()
            .parse::<f64>()
            .map_err(|_| ParamError::BadOverride {
                name: name.to_owned(),
                value: value.to_owned(),
            })?;
        self.set(name.trim(), parsed)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.values.iter().map(|(k, v)| (*k, *v))
    }
}

/// `name -> (line, raw Default)` for every parameter of the `Parameters:` section.
fn read_defaults(text: &str, path: &str) -> Result<BTreeMap<String, (usize, String)>, ParamError> {
    let mut defaults = BTreeMap::new();
    let mut in_section = false;
    let mut found = false;
    let mut current: Option<String> = None;
    for (index, indent, content) in yaml_lines(text) {
        if indent == 0 {
            in_section = content == "Parameters:";
            found |= in_section;
            current = None;
            continue;
        }
        if !in_section {
            continue;
        }
        if indent == 2 {
            current = content.strip_suffix(':').map(str::to_owned);
        } else if let (Some(name), Some(value)) = (&current, content.strip_prefix("Default:")) {
            let value = value
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_owned();
            defaults.insert(name.clone(), (index + 1, value));
        }
    }
    if !found {
        return Err(ParamError::NoSection {
            path: path.to_owned(),
        });
    }
    Ok(defaults)
}

/// The `StepAdjustments` of `resource`, written one step per line as flow mappings:
/// `- {MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 1, ScalingAdjustment: 1}`.
fn read_flow_steps(
    text: &str,
    path: &str,
    resource: &'static str,
) -> Result<Vec<StepAdjustment>, ParamError> {
    let mut in_resource = false;
    let mut in_steps = false;
    let mut steps = Vec::new();
    for (index, indent, content) in yaml_lines(text) {
        if indent <= 2 {
            in_resource = indent == 2 && content == format!("{resource}:");
            in_steps = false;
            continue;
        }
        if !in_resource {
            continue;
        }
        if content == "StepAdjustments:" {
            in_steps = true;
            continue;
        }
        if !in_steps {
            continue;
        }
        let Some(item) = content.strip_prefix("- ") else {
            if !content.starts_with('-') && indent <= 6 {
                in_steps = false;
            }
            continue;
        };
        let bad = |reason| ParamError::BadStep {
            path: path.to_owned(),
            line: index + 1,
            text: content.to_owned(),
            reason,
        };
        let body = item
            .trim()
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .ok_or_else(|| bad("write each step as one {…} flow mapping"))?;
        let mut step = StepAdjustment {
            lower: None,
            upper: None,
            adjustment: f64::NAN,
        };
        for pair in body.split(',') {
            let (key, value) = pair
                .split_once(':')
                .ok_or_else(|| bad("expected Key: value"))?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| bad("values must be plain numbers"))?;
            match key.trim() {
                "MetricIntervalLowerBound" => step.lower = Some(value),
                "MetricIntervalUpperBound" => step.upper = Some(value),
                "ScalingAdjustment" => step.adjustment = value,
                _ => return Err(bad("unknown key")),
            }
        }
        if step.adjustment.is_nan() {
            return Err(bad("no ScalingAdjustment"));
        }
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(ParamError::NoSteps {
            path: path.to_owned(),
            resource,
        });
    }
    Ok(steps)
}

/// The non-blank lines of a YAML text without comments: (index, indent, content).
fn yaml_lines(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    text.lines().enumerate().filter_map(|(index, raw_line)| {
        let line = strip_comment(raw_line);
        let content = line.trim();
        (!content.is_empty()).then(|| (index, line.len() - line.trim_start().len(), content))
    })
}

fn strip_comment(line: &str) -> &str {
    // Good enough for this file: no `#` inside quoted values.
    match line.find(" #") {
        Some(i) => &line[..i],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_pool_yaml() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
        let params = ScalingParams::load(&path).expect("pool.yaml parses");
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
            "p.yaml:4: parameter ScaleOutPeriodSeconds: Default \"lots\" is not a number"
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
    }

    #[test]
    fn reads_the_scale_out_steps_from_the_policy_resource() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
        let params = ScalingParams::load(&path).expect("pool.yaml parses");
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

        let text = "Parameters:\nResources:\n  ScaleOutPolicy:\n    Properties:\n      StepAdjustments:\n        - {MetricIntervalLowerBound: 0, ScalingAdjustment: lots}\n";
        let err = read_flow_steps(text, "p.yaml", SCALE_OUT_POLICY).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "p.yaml:6: step adjustment \"- {MetricIntervalLowerBound: 0, ScalingAdjustment: lots}\": values must be plain numbers"
        );
        let err = read_flow_steps("Resources:\n", "p.yaml", SCALE_OUT_POLICY).expect_err("absent");
        assert_eq!(
            err.to_string(),
            "p.yaml: resource ScaleOutPolicy has no StepAdjustments"
        );
    }

    #[test]
    fn overrides_by_template_name() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
        let mut params = ScalingParams::load(&path).expect("pool.yaml parses");
        params.set_from("ScaleInPercent=50").expect("known");
        assert_eq!(params.get("ScaleInPercent"), 50.0);
        assert!(params.set_from("ScaleInPercnt=50").is_err());
        assert!(params.set_from("ScaleInPercent=half").is_err());
    }
}
