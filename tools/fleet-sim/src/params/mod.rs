//! The template's scaling parameters, read from the `Parameters` section of
//! `infra/pool.yaml` (the same defaults a `sam deploy` uses), with per-run overrides, and
//! the scale-out policy's step table, read from its resource.

mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scaling::StepAdjustment;

pub use template::{NAMES, SCALE_OUT_POLICY};

#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Not YAML, or a value fleet-sim reads is not a number (the parser names where).
    #[error("{path}: {source}")]
    Yaml {
        path: String,
        source: yaml_serde::Error,
    },
    #[error("{path}: no `Parameters:` section")]
    NoSection { path: String },
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
}

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
        let read = template::read(text).map_err(|source| ParamError::Yaml {
            path: path.to_owned(),
            source,
        })?;
        let Some(defaults) = read.defaults else {
            return Err(ParamError::NoSection {
                path: path.to_owned(),
            });
        };
        let mut values = BTreeMap::new();
        for name in NAMES {
            let value = defaults.get(name).ok_or(ParamError::Missing {
                path: path.to_owned(),
                name,
            })?;
            values.insert(name, *value);
        }
        if read.scale_out_steps.is_empty() {
            return Err(ParamError::NoSteps {
                path: path.to_owned(),
                resource: SCALE_OUT_POLICY,
            });
        }
        Ok(ScalingParams {
            values,
            scale_out_steps: read.scale_out_steps,
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

#[cfg(test)]
mod tests;
