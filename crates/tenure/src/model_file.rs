//! The fitted-model file (`tenure fit --output MODEL.json`, read by `tenure predict`). This is
//! the only place that knows its JSON layout; the maths crates know nothing of serde.

use crate::error::CliError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;
use tenure_models::Fit;

/// A fitted model as stored and printed. `params` and `standard_errors` use the papers'
/// names, in the papers' order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    pub model: String,
    pub params: Map<String, Value>,
    pub standard_errors: Map<String, Value>,
    pub log_likelihood: f64,
    pub n: f64,
    pub converged: bool,
    pub aic: f64,
    pub bic: f64,
    /// Inverse observed information (rows and columns in `params` order); null if singular.
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Unit of every time quantity the model was fitted on (`weeks`, `days`, `months`,
    /// `periods`), or null for spend models.
    pub time_unit: Option<String>,
    pub optimizer: OptimizerReport,
    pub input: InputReport,
    pub tenure_version: String,
    /// Present for a model fitted with covariates (`tenure fit --covariates`): how they were
    /// encoded and which process each enters; `params` then also holds the coefficients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariates: Option<crate::covariate_cli::CovariateSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptimizerReport {
    pub method: String,
    pub iterations: u64,
    pub gradient_norm: f64,
    pub starts_tried: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputReport {
    pub file: String,
    pub rows: usize,
    pub distinct_rows: usize,
}

fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

impl ModelFile {
    pub fn from_fit(
        model: &str,
        fit: &Fit,
        time_unit: Option<&str>,
        input: InputReport,
    ) -> ModelFile {
        let mut params = Map::new();
        let mut ses = Map::new();
        for (i, name) in fit.names.iter().enumerate() {
            params.insert(name.to_string(), num(fit.params[i]));
            ses.insert(name.to_string(), num(fit.standard_errors[i]));
        }
        ModelFile {
            model: model.to_string(),
            params,
            standard_errors: ses,
            log_likelihood: fit.log_likelihood,
            n: fit.n,
            converged: fit.converged,
            aic: fit.aic,
            bic: fit.bic,
            covariance: fit.covariance.clone(),
            time_unit: time_unit.map(str::to_string),
            optimizer: OptimizerReport {
                method: fit.method.to_string(),
                iterations: fit.iterations,
                gradient_norm: fit.gradient_norm,
                starts_tried: fit.starts_tried,
            },
            input,
            tenure_version: env!("CARGO_PKG_VERSION").to_string(),
            covariates: None,
        }
    }

    /// Read and check a model file; errors name the file.
    pub fn read(path: &Path) -> Result<ModelFile, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        let m: ModelFile = serde_json::from_str(&text).map_err(|e| {
            CliError::at(
                path,
                e.line(),
                Some(e.column()),
                format!("not a Tenure model file: {e}"),
            )
        })?;
        if let Some(c) = &m.covariance {
            let k = m.params.len();
            if c.len() != k
                || c.iter()
                    .any(|row| row.len() != k || row.iter().any(|v| !v.is_finite()))
            {
                return Err(CliError::input(format!(
                    "{}: the covariance is not a finite {k} × {k} matrix (one row and column per parameter)",
                    path.display()
                )));
            }
        }
        Ok(m)
    }

    /// A real-valued parameter (a coefficient, or the correlated Pareto/NBD's u) by name.
    pub fn real_param(&self, path: &Path, name: &str) -> Result<f64, CliError> {
        self.params
            .get(name)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                CliError::input(format!(
                    "{}: model `{}` has no finite parameter `{name}`",
                    path.display(),
                    self.model
                ))
            })
    }

    /// Parameters in the order of `names`; an error names the missing or invalid one.
    pub fn params_in_order(&self, path: &Path, names: &[&str]) -> Result<Vec<f64>, CliError> {
        names
            .iter()
            .map(|n| match self.params.get(*n).and_then(Value::as_f64) {
                Some(v) if v.is_finite() && v > 0.0 => Ok(v),
                Some(v) => Err(CliError::input(format!(
                    "{}: parameter `{n}` = {v} must be a positive number",
                    path.display()
                ))),
                None => Err(CliError::input(format!(
                    "{}: model `{}` has no parameter `{n}`",
                    path.display(),
                    self.model
                ))),
            })
            .collect()
    }
}
