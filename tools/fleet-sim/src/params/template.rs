//! Reads the two things fleet-sim takes from a CloudFormation template: the numeric
//! parameters' `Default`s and the scale-out policy's `StepAdjustments`. Any YAML layout
//! reads the same (indentation, flow or block style, key order, quoting, comments), and
//! the rest of the template, short-form intrinsics (`!Ref`, `!Sub`, `!If`, `!GetAtt`, …)
//! included, is skipped unread.
//!
//! The parser is `yaml_serde`: serde_yaml's code, maintained by the YAML organization since
//! serde_yaml 0.9 was deprecated, with its pure-Rust libyaml; it keeps custom tags (a
//! `Value::Tagged`) instead of refusing them, and names the line and the key path of a bad
//! value. Its other dependencies (indexmap, itoa, ryu, serde) are in the build already.
//! serde_norway and serde_yaml_ng are one-person forks of the same code; yaml-rust2 drops
//! tags and positions and would bring three crates more; saphyr is not at 0.1 yet.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Unexpected, Visitor};

use crate::scaling::StepAdjustment;

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

/// The template's scale-out policy (on `MissingInstances`); its step table is read from the
/// resource itself, since step bounds are not parameters.
pub const SCALE_OUT_POLICY: &str = "ScaleOutPolicy";

/// What a template gives the simulation.
pub struct Read {
    /// The Defaults of the parameters in `NAMES` that have one; None without a
    /// `Parameters` section.
    pub defaults: Option<BTreeMap<&'static str, f64>>,
    /// Empty when the template has no such resource or it has no steps.
    pub scale_out_steps: Vec<StepAdjustment>,
}

/// Fails on text that is not YAML, and on a value fleet-sim reads that is not a number
/// (the error names the key path and the line).
pub fn read(text: &str) -> Result<Read, yaml_serde::Error> {
    let template: Template = yaml_serde::from_str(text)?;
    let steps = template
        .resources
        .and_then(|r| r.scale_out_policy)
        .map(|policy| policy.properties.step_adjustments)
        .unwrap_or_default();
    Ok(Read {
        defaults: template.parameters.map(|p| p.0),
        scale_out_steps: steps.into_iter().map(StepAdjustment::from).collect(),
    })
}

#[derive(Deserialize)]
struct Template {
    #[serde(rename = "Parameters")]
    parameters: Option<Parameters>,
    #[serde(rename = "Resources")]
    resources: Option<Resources>,
}

/// The Defaults of the parameters fleet-sim reads; the others may hold anything.
struct Parameters(BTreeMap<&'static str, f64>);

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ParametersVisitor)
    }
}

struct ParametersVisitor;

impl<'de> Visitor<'de> for ParametersVisitor {
    type Value = Parameters;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of parameter names to their declarations")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parameters, A::Error> {
        let mut defaults = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            match NAMES.iter().find(|known| **known == name) {
                Some(known) => {
                    if let Some(Number(value)) = map.next_value::<NumericParameter>()?.default {
                        defaults.insert(*known, value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Parameters(defaults))
    }
}

#[derive(Deserialize)]
struct NumericParameter {
    #[serde(rename = "Default")]
    default: Option<Number>,
}

#[derive(Deserialize)]
struct Resources {
    #[serde(rename = "ScaleOutPolicy")]
    scale_out_policy: Option<ScalingPolicy>,
}

#[derive(Deserialize)]
struct ScalingPolicy {
    #[serde(rename = "Properties")]
    properties: ScalingPolicyProperties,
}

#[derive(Deserialize)]
struct ScalingPolicyProperties {
    #[serde(rename = "StepAdjustments", default)]
    step_adjustments: Vec<StepDeclaration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDeclaration {
    #[serde(rename = "MetricIntervalLowerBound")]
    lower: Option<Number>,
    #[serde(rename = "MetricIntervalUpperBound")]
    upper: Option<Number>,
    #[serde(rename = "ScalingAdjustment")]
    adjustment: Number,
}

impl From<StepDeclaration> for StepAdjustment {
    fn from(step: StepDeclaration) -> StepAdjustment {
        StepAdjustment {
            lower: step.lower.map(|n| n.0),
            upper: step.upper.map(|n| n.0),
            adjustment: step.adjustment.0,
        }
    }
}

/// A YAML number, or a string holding one: CloudFormation passes parameters as strings,
/// so templates often quote numeric Defaults.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        v.trim()
            .parse()
            .map(Number)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}
