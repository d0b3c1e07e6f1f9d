//! Time-invariant covariates for BG/NBD and Pareto/NBD, in CLVTools' parameterisation
//! (Meierer, Bachmann, Näf et al., CLVTools; Fader & Hardie 2007, "Incorporating time-invariant
//! covariates into the Pareto/NBD and BG/NBD models").
//!
//! Each process's scale parameter is multiplied by exp(·) of a linear predictor of the
//! customer's covariates z:
//! - purchase process (both models): α_i = α · exp(−γ_trans'z_i), so a positive coefficient
//!   means a higher purchase rate (E[λ_i] = r/α_i);
//! - lifetime process, Pareto/NBD: β_i = β · exp(−γ_life'z_i), so a positive coefficient means a
//!   higher dropout rate (E[μ_i] = s/β_i), i.e. a shorter lifetime;
//! - lifetime process, BG/NBD: a_i = a · exp(γ_life'z_i) and b_i = b · exp(γ_life'z_i).
//!
//! With every coefficient 0 the models are exactly the plain ones. A covariate may enter one
//! process, both with separate coefficients, or both with one shared coefficient (a
//! constraint, `constr.NAME`). L2 regularisation subtracts λ_trans Σγ_trans² + λ_life Σγ_life²
//! from the log-likelihood (a constrained coefficient carries both penalties).
//!
//! Invariants: rows with identical (x, t_x, T, z) are grouped and weighted, so categorical
//! covariates cost per distinct row; the gradient is analytic (chain rule through each row's
//! own α_i, β_i or a_i, b_i), summed in row order whatever the number of threads.

use std::collections::HashMap;

use crate::bgnbd::{BgNbdParams, GeoNbd, Variant};
use crate::data::{validate_rfm, DataError, Rfm, RfmRow};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::ggomnbd::GGomNbdParams;
use crate::paretonbd::{par_map, row_value_grad, ParetoNbdParams};
use crate::rfm::RfmModel;
use crate::special::Compensated;
use crate::ModelError;

/// The models that take covariates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CovariateModel {
    BgNbd,
    ParetoNbd,
    /// GGom/NBD: α_i = α·exp(−γ_trans'z), β_i = β·exp(−γ_life'z) (CLVTools).
    GGomNbd,
}

impl CovariateModel {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            CovariateModel::BgNbd => "bgnbd",
            CovariateModel::ParetoNbd => "paretonbd",
            CovariateModel::GGomNbd => "ggomnbd",
        }
    }
    /// The base parameters' names in the papers' order.
    pub fn base_names(self) -> &'static [&'static str] {
        match self {
            CovariateModel::BgNbd => &["r", "alpha", "a", "b"],
            CovariateModel::ParetoNbd => &["r", "alpha", "s", "beta"],
            CovariateModel::GGomNbd => &["r", "alpha", "b", "s", "beta"],
        }
    }
    /// Number of base parameters.
    pub fn k(self) -> usize {
        self.base_names().len()
    }
    /// The lifetime parameters scaled by the lifetime covariates, with the sign of the
    /// exponent: (index, +1 for exp(γ'z), −1 for exp(−γ'z)). α (index 1) is always the purchase
    /// scale, exp(−γ_trans'z).
    fn life_scaled(self) -> &'static [(usize, f64)] {
        match self {
            CovariateModel::BgNbd => &[(2, 1.0), (3, 1.0)],
            CovariateModel::ParetoNbd => &[(3, -1.0)],
            CovariateModel::GGomNbd => &[(4, -1.0)],
        }
    }
}

/// Why covariates could not be encoded or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CovariateError {
    #[error("covariate {column}, row {row}: {reason}")]
    Value {
        column: String,
        row: usize,
        reason: String,
    },
    #[error("covariate {column}: {reason}")]
    Column { column: String, reason: String },
    #[error("{0}")]
    Spec(String),
}

/// How one design column was made from a raw column.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoding {
    /// A numeric column, standardised: z = (v − mean) / sd (sd with divisor n − 1).
    Standardised { column: String, mean: f64, sd: f64 },
    /// One level of a categorical column: z = 1 when the value is `level`, else 0. The
    /// column's `reference` level (its most frequent) has no indicator.
    Level {
        column: String,
        level: String,
        reference: String,
    },
}

impl Encoding {
    /// The design column's name: the column itself, or `column=level`.
    pub fn name(&self) -> String {
        match self {
            Encoding::Standardised { column, .. } => column.clone(),
            Encoding::Level { column, level, .. } => format!("{column}={level}"),
        }
    }
    /// The raw column this design column comes from.
    pub fn column(&self) -> &str {
        match self {
            Encoding::Standardised { column, .. } | Encoding::Level { column, .. } => column,
        }
    }
    /// Encode one raw value as at fitting time. A numeric column needs a finite number; a
    /// categorical one accepts any level (an unknown level is an error: the model has no
    /// coefficient for it).
    pub fn apply(&self, raw: &str, known_levels: &[String]) -> Result<f64, String> {
        match self {
            Encoding::Standardised { mean, sd, .. } => match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok((v - mean) / sd),
                _ => Err(format!("{raw:?} is not a finite number")),
            },
            Encoding::Level { level, .. } => {
                let raw = raw.trim();
                if !known_levels.iter().any(|l| l == raw) {
                    return Err(format!(
                        "level {raw:?} was not in the data the model was fitted on"
                    ));
                }
                Ok(if raw == level { 1.0 } else { 0.0 })
            }
        }
    }
}

/// A design matrix: one row per customer, one column per encoded covariate.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub encodings: Vec<Encoding>,
    /// The levels of each categorical raw column, sorted (for [`Encoding::apply`]).
    pub levels: Vec<(String, Vec<String>)>,
    /// Row-major values, `rows × encodings.len()`.
    pub values: Vec<f64>,
    pub rows: usize,
}

impl Design {
    /// Encode raw columns (name, one value per customer): a column whose every value is a
    /// finite number is standardised; any other is categorical, one indicator per level but
    /// the most frequent (ties: the first in sorted order). Errors: empty values, a constant
    /// column, columns of different lengths.
    pub fn encode(columns: &[(String, Vec<String>)]) -> Result<Design, CovariateError> {
        let rows = columns.first().map_or(0, |c| c.1.len());
        let mut encodings = Vec::new();
        let mut levels_out = Vec::new();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        for (name, raw) in columns {
            if raw.len() != rows {
                return Err(CovariateError::Column {
                    column: name.clone(),
                    reason: format!("{} values for {rows} customers", raw.len()),
                });
            }
            if let Some(row) = raw.iter().position(|v| v.trim().is_empty()) {
                return Err(CovariateError::Value {
                    column: name.clone(),
                    row,
                    reason: "empty value (every customer needs every covariate)".into(),
                });
            }
            let numbers: Option<Vec<f64>> = raw
                .iter()
                .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
                .collect();
            if let Some(v) = numbers {
                let n = v.len() as f64;
                let mean = v.iter().sum::<f64>() / n;
                let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
                let sd = var.sqrt();
                if !(sd > 0.0) || !sd.is_finite() {
                    return Err(CovariateError::Column {
                        column: name.clone(),
                        reason: "constant: it cannot explain differences between customers".into(),
                    });
                }
                cols.push(v.iter().map(|x| (x - mean) / sd).collect());
                encodings.push(Encoding::Standardised {
                    column: name.clone(),
                    mean,
                    sd,
                });
            } else {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in raw {
                    *counts.entry(v.trim()).or_default() += 1;
                }
                let mut levels: Vec<&str> = counts.keys().copied().collect();
                levels.sort_unstable();
                if levels.len() < 2 {
                    return Err(CovariateError::Column {
                        column: name.clone(),
                        reason: "has a single level: it cannot explain differences".into(),
                    });
                }
                let reference = *levels
                    .iter()
                    .max_by(|a, b| counts[*a].cmp(&counts[*b]).then(b.cmp(a)))
                    .unwrap_or(&levels[0]);
                for level in levels.iter().filter(|l| **l != reference) {
                    cols.push(
                        raw.iter()
                            .map(|v| if v.trim() == *level { 1.0 } else { 0.0 })
                            .collect(),
                    );
                    encodings.push(Encoding::Level {
                        column: name.clone(),
                        level: level.to_string(),
                        reference: reference.to_string(),
                    });
                }
                levels_out.push((name.clone(), levels.iter().map(|l| l.to_string()).collect()));
            }
        }
        let p = cols.len();
        let mut values = vec![0.0; rows * p];
        for (j, c) in cols.iter().enumerate() {
            for (i, v) in c.iter().enumerate() {
                values[i * p + j] = *v;
            }
        }
        Ok(Design {
            encodings,
            levels: levels_out,
            values,
            rows,
        })
    }

    /// A design of numbers used as they are (no standardisation), e.g. from a simulation.
    pub fn raw(names: &[&str], values: Vec<f64>) -> Design {
        let p = names.len().max(1);
        Design {
            encodings: names
                .iter()
                .map(|n| Encoding::Standardised {
                    column: n.to_string(),
                    mean: 0.0,
                    sd: 1.0,
                })
                .collect(),
            levels: Vec::new(),
            rows: values.len() / p,
            values,
        }
    }

    /// The design columns' names.
    pub fn names(&self) -> Vec<String> {
        self.encodings.iter().map(Encoding::name).collect()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.encodings.len();
        &self.values[i * p..(i + 1) * p]
    }

    /// Encode raw values of one customer (keyed by raw column) as at fitting time.
    pub fn encode_row(&self, raw: &dyn Fn(&str) -> Option<String>) -> Result<Vec<f64>, String> {
        self.encodings
            .iter()
            .map(|e| {
                let v = raw(e.column()).ok_or_else(|| format!("no column {}", e.column()))?;
                let known = self
                    .levels
                    .iter()
                    .find(|(c, _)| c == e.column())
                    .map_or(&[][..], |(_, l)| l.as_slice());
                e.apply(&v, known)
                    .map_err(|m| format!("column {}: {m}", e.column()))
            })
            .collect()
    }
}

/// Which design columns enter which process, and the penalties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CovariateSpec {
    /// Design columns with a coefficient on the purchase process.
    pub trans: Vec<usize>,
    /// Design columns with a coefficient on the lifetime process.
    pub life: Vec<usize>,
    /// Design columns with one coefficient shared by both processes.
    pub constrained: Vec<usize>,
    /// L2 penalty on the purchase coefficients (≥ 0).
    pub l2_trans: f64,
    /// L2 penalty on the lifetime coefficients (≥ 0).
    pub l2_life: f64,
}

impl CovariateSpec {
    /// Every column on both processes with separate coefficients, no penalty.
    pub fn both(p: usize) -> CovariateSpec {
        CovariateSpec {
            trans: (0..p).collect(),
            life: (0..p).collect(),
            ..CovariateSpec::default()
        }
    }

    fn check(&self, p: usize) -> Result<(), CovariateError> {
        for j in self.trans.iter().chain(&self.life).chain(&self.constrained) {
            if *j >= p {
                return Err(CovariateError::Spec(format!(
                    "covariate column {j} does not exist (the design has {p})"
                )));
            }
        }
        if let Some(j) = self
            .constrained
            .iter()
            .find(|j| self.trans.contains(j) || self.life.contains(j))
        {
            return Err(CovariateError::Spec(format!(
                "covariate column {j} is constrained to one coefficient on both processes and \
                 also has its own coefficient on one"
            )));
        }
        for (name, l) in [("trans", self.l2_trans), ("life", self.l2_life)] {
            if !(l >= 0.0) || !l.is_finite() {
                return Err(CovariateError::Spec(format!(
                    "the L2 penalty on {name} must be a non-negative number, not {l}"
                )));
            }
        }
        if self.trans.is_empty() && self.life.is_empty() && self.constrained.is_empty() {
            return Err(CovariateError::Spec(
                "no covariate enters either process".into(),
            ));
        }
        Ok(())
    }

    /// Coefficient names: `trans.NAME`, then `life.NAME`, then `constr.NAME`.
    pub fn coefficient_names(&self, design: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for (prefix, cols) in [
            ("trans", &self.trans),
            ("life", &self.life),
            ("constr", &self.constrained),
        ] {
            out.extend(cols.iter().map(|j| format!("{prefix}.{}", design[*j])));
        }
        out
    }
}

/// A fitted (or given) covariate model: base parameters and coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateParams {
    pub model: CovariateModel,
    /// The base parameters in the papers' order (the values for a customer with z = 0).
    pub base: Vec<f64>,
    pub spec: CovariateSpec,
    /// Coefficients in the order of [`CovariateSpec::coefficient_names`].
    pub gamma: Vec<f64>,
}

impl CovariateParams {
    /// From the full parameter vector (base then coefficients).
    pub fn from_theta(model: CovariateModel, spec: CovariateSpec, theta: &[f64]) -> Self {
        let k = model.k();
        let mut base = vec![f64::NAN; k];
        for (b, t) in base.iter_mut().zip(theta) {
            *b = *t;
        }
        CovariateParams {
            model,
            base,
            spec,
            gamma: theta.iter().skip(k).copied().collect(),
        }
    }

    /// The linear predictors (η_trans, η_life) of a customer with design row `z`.
    pub fn linear_predictors(&self, z: &[f64]) -> (f64, f64) {
        let spec = &self.spec;
        let (nt, nl) = (spec.trans.len(), spec.life.len());
        let mut et = 0.0;
        let mut el = 0.0;
        for (k, j) in spec.trans.iter().enumerate() {
            et += self.gamma[k] * z[*j];
        }
        for (k, j) in spec.life.iter().enumerate() {
            el += self.gamma[nt + k] * z[*j];
        }
        for (k, j) in spec.constrained.iter().enumerate() {
            let c = self.gamma[nt + nl + k] * z[*j];
            et += c;
            el += c;
        }
        (et, el)
    }

    /// The customer's own model parameters: (r, α_i, s, β_i), (r, α_i, a_i, b_i) or
    /// (r, α_i, b, s, β_i).
    pub fn individual(&self, z: &[f64]) -> Vec<f64> {
        let (et, el) = self.linear_predictors(z);
        individual(self.model, &self.base, et, el)[..self.model.k()].to_vec()
    }

    /// The customer's own model, for every prediction of [`RfmModel`].
    pub fn customer(&self, z: &[f64]) -> Individual {
        Individual::of(self.model, &self.individual(z))
    }
}

/// One customer's model under covariates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Individual {
    BgNbd(BgNbdParams),
    ParetoNbd(ParetoNbdParams),
    GGomNbd(GGomNbdParams),
}

impl Individual {
    /// The model of these parameters (in the papers' order).
    pub fn of(model: CovariateModel, p: &[f64]) -> Individual {
        let g = |i: usize| p.get(i).copied().unwrap_or(f64::NAN);
        match model {
            CovariateModel::BgNbd => Individual::BgNbd(BgNbdParams {
                r: g(0),
                alpha: g(1),
                a: g(2),
                b: g(3),
            }),
            CovariateModel::ParetoNbd => Individual::ParetoNbd(ParetoNbdParams {
                r: g(0),
                alpha: g(1),
                s: g(2),
                beta: g(3),
            }),
            CovariateModel::GGomNbd => Individual::GGomNbd(GGomNbdParams {
                r: g(0),
                alpha: g(1),
                b: g(2),
                s: g(3),
                beta: g(4),
            }),
        }
    }
    /// The model, for its predictions.
    pub fn model(&self) -> &dyn RfmModel {
        match self {
            Individual::BgNbd(m) => m,
            Individual::ParetoNbd(m) => m,
            Individual::GGomNbd(m) => m,
        }
    }
}

/// The customer's parameters: α scaled by exp(−η_trans), the lifetime scales by exp(±η_life).
/// The largest base (GGom/NBD's five parameters): per-row work uses fixed arrays of this size,
/// the entries past the model's own unused.
const MAX_BASE: usize = 5;

fn individual(model: CovariateModel, base: &[f64], et: f64, el: f64) -> [f64; MAX_BASE] {
    let mut p = [0.0; MAX_BASE];
    p[..base.len()].copy_from_slice(base);
    p[1] *= (-et).exp();
    for &(i, sign) in model.life_scaled() {
        p[i] *= (sign * el).exp();
    }
    p
}

/// One row's log-likelihood and its gradient in the customer's own parameters.
fn row_value_grad_of(
    model: CovariateModel,
    p: &[f64; MAX_BASE],
    row: RfmRow,
) -> (f64, [f64; MAX_BASE]) {
    let RfmRow { x, t_x, t } = row;
    let widen = |g: [f64; 4]| [g[0], g[1], g[2], g[3], 0.0];
    match model {
        CovariateModel::ParetoNbd => {
            let (v, g) = row_value_grad([p[0], p[1], p[2], p[3]], x, t_x, t);
            (v, widen(g))
        }
        CovariateModel::BgNbd => {
            let (v, g) = GeoNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
                variant: Variant::Bg,
            }
            .row_value_grad(x, t_x, t);
            (v, widen(g))
        }
        CovariateModel::GGomNbd => GGomNbdParams {
            r: p[0],
            alpha: p[1],
            b: p[2],
            s: p[3],
            beta: p[4],
        }
        .row_value_grad(x, t_x, t),
    }
}

/// One grouped row: the summary, its weight and its design values for the purchase process
/// (trans columns, then constrained) and the lifetime process (life, then constrained).
#[derive(Debug, Clone)]
struct Row {
    rfm: RfmRow,
    w: f64,
    zt: Vec<f64>,
    zl: Vec<f64>,
}

/// The log-likelihood of a covariate model over grouped rows, for [`maximize`].
pub struct CovariateLikelihood {
    model: CovariateModel,
    spec: CovariateSpec,
    names: Vec<String>,
    rows: Vec<Row>,
    customers: f64,
    starts: Vec<Vec<f64>>,
}

impl CovariateLikelihood {
    /// Group the rows (one per customer, in the design's order) and validate them.
    pub fn new(
        model: CovariateModel,
        rows: &[RfmRow],
        design: &Design,
        spec: &CovariateSpec,
    ) -> Result<CovariateLikelihood, ModelError> {
        let p = design.encodings.len();
        spec.check(p)
            .map_err(|e| DataError::Degenerate(e.to_string()))?;
        if rows.len() != design.rows {
            return Err(DataError::Degenerate(format!(
                "{} customers in the data but {} rows of covariates",
                rows.len(),
                design.rows
            ))
            .into());
        }
        if rows.is_empty() {
            return Err(DataError::Empty.into());
        }
        let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut grouped: Vec<Row> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            validate_rfm(i, r)?;
            let z = design.row(i);
            let zt: Vec<f64> = spec
                .trans
                .iter()
                .chain(&spec.constrained)
                .map(|j| z[*j])
                .collect();
            let zl: Vec<f64> = spec
                .life
                .iter()
                .chain(&spec.constrained)
                .map(|j| z[*j])
                .collect();
            let key: Vec<u64> = [r.x, r.t_x, r.t]
                .iter()
                .chain(&zt)
                .chain(&zl)
                .map(|v| v.to_bits())
                .collect();
            match index.get(&key) {
                Some(&k) => grouped[k].w += 1.0,
                None => {
                    index.insert(key, grouped.len());
                    grouped.push(Row {
                        rfm: *r,
                        w: 1.0,
                        zt,
                        zl,
                    });
                }
            }
        }
        let names = {
            let mut n: Vec<String> = model.base_names().iter().map(|s| s.to_string()).collect();
            n.extend(spec.coefficient_names(&design.names()));
            n
        };
        Ok(CovariateLikelihood {
            model,
            spec: spec.clone(),
            names,
            customers: rows.len() as f64,
            rows: grouped,
            starts: Vec::new(),
        })
    }

    /// Number of distinct rows (the unit of work per evaluation).
    pub fn distinct(&self) -> usize {
        self.rows.len()
    }

    /// The penalised log-likelihood and its gradient in (base, coefficients).
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let k = self.names.len();
        let nan = (f64::NAN, vec![f64::NAN; k]);
        let kb = self.model.k();
        if theta.len() != k
            || !theta.iter().all(|v| v.is_finite())
            || !theta[..kb].iter().all(|v| *v > 0.0)
        {
            return nan;
        }
        let base = &theta[..kb];
        let (nt, nl, nc) = (
            self.spec.trans.len(),
            self.spec.life.len(),
            self.spec.constrained.len(),
        );
        let gt: Vec<f64> = theta[kb..kb + nt]
            .iter()
            .chain(&theta[kb + nt + nl..])
            .copied()
            .collect();
        let gl: Vec<f64> = theta[kb + nt..].to_vec();
        let model = self.model;
        // Per row: ln L, ∂/∂(base), then ∂/∂η_trans and ∂/∂η_life (the last two entries).
        // d[..kb]: base parameters; d[MAX_BASE], d[MAX_BASE + 1]: η_trans, η_life.
        let per_row: Vec<(f64, [f64; MAX_BASE + 2])> = par_map(&self.rows, |row| {
            let et: f64 = row.zt.iter().zip(&gt).map(|(z, g)| z * g).sum();
            let el: f64 = row.zl.iter().zip(&gl).map(|(z, g)| z * g).sum();
            let ind = individual(model, base, et, el);
            let (v, g) = row_value_grad_of(model, &ind, row.rfm);
            // d ind/d base is ind/base for a scaled parameter, 1 otherwise; d ind/dη is ±ind.
            let mut d = [0.0; MAX_BASE + 2];
            d[..MAX_BASE].copy_from_slice(&g);
            d[1] = g[1] * ind[1] / base[1];
            let mut d_el = 0.0;
            for &(i, sign) in model.life_scaled() {
                d[i] = g[i] * ind[i] / base[i];
                d_el += sign * g[i] * ind[i];
            }
            d[MAX_BASE] = -g[1] * ind[1];
            d[MAX_BASE + 1] = d_el;
            (v, d)
        });
        let mut total = Compensated::default();
        let mut grad = vec![0.0; k];
        for (row, (v, d)) in self.rows.iter().zip(&per_row) {
            total.add(row.w * v);
            for i in 0..kb {
                grad[i] += row.w * d[i];
            }
            for (m, z) in row.zt.iter().enumerate() {
                let idx = if m < nt {
                    kb + m
                } else {
                    kb + nt + nl + (m - nt)
                };
                grad[idx] += row.w * d[MAX_BASE] * z;
            }
            for (m, z) in row.zl.iter().enumerate() {
                let idx = if m < nl {
                    kb + nt + m
                } else {
                    kb + nt + nl + (m - nl)
                };
                grad[idx] += row.w * d[MAX_BASE + 1] * z;
            }
        }
        let mut ll = total.total();
        // Penalties.
        let (lt, lf) = (self.spec.l2_trans, self.spec.l2_life);
        for m in 0..nt + nl + nc {
            let lam = if m < nt {
                lt
            } else if m < nt + nl {
                lf
            } else {
                lt + lf
            };
            let g = theta[kb + m];
            ll -= lam * g * g;
            grad[kb + m] -= 2.0 * lam * g;
        }
        (ll, grad)
    }
}

impl Likelihood for CovariateLikelihood {
    fn names(&self) -> &'static [&'static str] {
        self.model.base_names()
    }
    fn param_names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn real_params(&self) -> usize {
        self.names.len() - self.model.k()
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.eval(theta).0
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        self.eval(theta)
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn observations(&self) -> f64 {
        self.customers
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.starts.clone()
    }
}

/// A covariate fit, with the plain model's fit on the same customers for comparison.
#[derive(Debug, Clone)]
pub struct CovariateFit {
    pub params: CovariateParams,
    /// The fit: `names` are the base parameters then `trans.`/`life.`/`constr.` coefficients;
    /// `log_likelihood` is the penalised one when a penalty is set.
    pub fit: Fit,
    /// The log-likelihood without the L2 penalty.
    pub log_likelihood_unpenalised: f64,
    /// The model without covariates on the same customers.
    pub plain: Fit,
    /// Distinct (x, t_x, T, z) rows the likelihood summed over.
    pub distinct: usize,
}

impl CovariateFit {
    /// The likelihood-ratio statistic 2 (ℓ_cov − ℓ_plain) against the plain model, with its
    /// degrees of freedom (the number of coefficients).
    pub fn likelihood_ratio(&self) -> (f64, usize) {
        (
            2.0 * (self.log_likelihood_unpenalised - self.plain.log_likelihood),
            self.params.gamma.len(),
        )
    }
}

/// Fit a covariate model: first the plain model on the same customers (grouped, fast), then
/// the covariate model from the plain estimate with every coefficient 0, and from the
/// caller's `opts.extra_starts`.
pub fn fit_covariates(
    model: CovariateModel,
    rows: &[RfmRow],
    design: &Design,
    spec: &CovariateSpec,
    opts: &FitOptions,
) -> Result<CovariateFit, ModelError> {
    let mut lik = CovariateLikelihood::new(model, rows, design, spec)?;
    let plain_data = Rfm::new(rows)?;
    let plain_opts = FitOptions {
        extra_starts: Vec::new(),
        only_extra_starts: false,
        ..opts.clone()
    };
    let plain = match model {
        CovariateModel::BgNbd => crate::bgnbd::fit_bgnbd(&plain_data, &plain_opts)?.1,
        CovariateModel::ParetoNbd => crate::paretonbd::fit_paretonbd(&plain_data, &plain_opts)?.1,
        CovariateModel::GGomNbd => crate::ggomnbd::fit_ggomnbd(&plain_data, &plain_opts)?.1,
    };
    let mut start = plain.params.clone();
    start.resize(lik.names.len(), 0.0);
    lik.starts = vec![start];
    let fit = maximize(&lik, opts)?;
    if !fit.log_likelihood.is_finite() || fit.params[..model.k()].iter().any(|p| !(*p > 0.0)) {
        return Err(DataError::Degenerate(format!(
            "the {} covariate likelihood has no finite maximum on these data",
            model.name()
        ))
        .into());
    }
    let distinct = lik.distinct();
    let unpenalised = {
        let free = CovariateLikelihood {
            spec: CovariateSpec {
                l2_trans: 0.0,
                l2_life: 0.0,
                ..spec.clone()
            },
            names: lik.names.clone(),
            rows: lik.rows.clone(),
            starts: Vec::new(),
            ..lik
        };
        free.log_likelihood(&fit.params)
    };
    Ok(CovariateFit {
        params: CovariateParams::from_theta(model, spec.clone(), &fit.params),
        fit,
        log_likelihood_unpenalised: unpenalised,
        plain,
        distinct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::numeric_gradient;

    fn data() -> (Vec<RfmRow>, Design) {
        let rows: Vec<RfmRow> = (0..60)
            .map(|i| {
                let x = (i % 7) as f64;
                let t = 20.0 + (i % 11) as f64;
                let t_x = if x == 0.0 {
                    0.0
                } else {
                    t * (0.3 + 0.1 * (i % 6) as f64)
                };
                RfmRow { x, t_x, t }
            })
            .collect();
        let plan: Vec<String> = (0..60)
            .map(|i| ["basic", "pro", "basic", "team"][i % 4].to_string())
            .collect();
        let size: Vec<String> = (0..60)
            .map(|i| format!("{}", (i * 37 % 17) as f64))
            .collect();
        let design = Design::encode(&[("plan".into(), plan), ("size".into(), size)]).unwrap();
        (rows, design)
    }

    #[test]
    fn encoding_one_hot_and_standardised() {
        let (_, d) = data();
        assert_eq!(d.names(), ["plan=pro", "plan=team", "size"]);
        let Encoding::Level { reference, .. } = &d.encodings[0] else {
            panic!("plan is categorical")
        };
        assert_eq!(reference, "basic");
        let col: Vec<f64> = (0..d.rows).map(|i| d.row(i)[2]).collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 59.0).sqrt();
        assert!(mean.abs() < 1e-12 && (sd - 1.0).abs() < 1e-12);
        assert_eq!(d.row(1)[0], 1.0);
        assert_eq!(d.row(3)[1], 1.0);
        assert!(Design::encode(&[("c".into(), vec!["1".into(), "1".into()])]).is_err());
        assert!(Design::encode(&[("c".into(), vec!["a".into(), " ".into()])]).is_err());
        // Encoding a new customer as at fitting time.
        let z = d
            .encode_row(&|c: &str| Some(if c == "plan" { "team" } else { "3" }.to_string()))
            .unwrap();
        assert_eq!(&z[..2], &[0.0, 1.0]);
        assert!(d
            .encode_row(&|c: &str| Some(if c == "plan" { "gold" } else { "3" }.to_string()))
            .is_err());
    }

    #[test]
    fn zero_coefficients_give_the_plain_likelihood_and_the_gradient_is_right() {
        let (rows, design) = data();
        let spec = CovariateSpec {
            trans: vec![0, 2],
            life: vec![1],
            constrained: vec![],
            l2_trans: 0.3,
            l2_life: 0.1,
        };
        for (model, base) in [
            (CovariateModel::ParetoNbd, vec![0.55, 10.6, 0.61, 11.7]),
            (CovariateModel::BgNbd, vec![0.24, 4.4, 0.79, 2.4]),
            (CovariateModel::GGomNbd, vec![0.55, 10.6, 0.05, 1.2, 3.0]),
        ] {
            let lik = CovariateLikelihood::new(model, &rows, &design, &spec).unwrap();
            let mut theta = base.to_vec();
            theta.extend([0.0, 0.0, 0.0]);
            let plain: f64 = rows
                .iter()
                .map(|r| {
                    Individual::of(model, &base)
                        .model()
                        .log_likelihood_one(r.x, r.t_x, r.t)
                })
                .sum();
            let v = lik.log_likelihood(&theta);
            assert!((v - plain).abs() < 1e-9 * plain.abs(), "{v} vs {plain}");
            for gamma in [[0.0, 0.0, 0.0], [0.4, -0.2, 0.3], [-0.7, 0.5, -0.25]] {
                let kb = base.len();
                theta[kb..].copy_from_slice(&gamma);
                let (_, g) = lik.value_and_gradient(&theta);
                let num = numeric_gradient(|t| lik.log_likelihood(t), &theta);
                for i in 0..theta.len() {
                    assert!(
                        (g[i] - num[i]).abs() < 1e-5 * num[i].abs().max(1.0),
                        "{model:?} {gamma:?} ∂{}: {} vs {}",
                        lik.names[i],
                        g[i],
                        num[i]
                    );
                }
                // Row by row with each customer's own parameters (and the penalties).
                let params = CovariateParams::from_theta(model, spec.clone(), &theta);
                let by_row: f64 = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        params
                            .customer(design.row(i))
                            .model()
                            .log_likelihood_one(r.x, r.t_x, r.t)
                    })
                    .sum::<f64>()
                    - 0.3 * (gamma[0].powi(2) + gamma[1].powi(2))
                    - 0.1 * gamma[2].powi(2);
                let v = lik.log_likelihood(&theta);
                assert!((v - by_row).abs() < 1e-9 * v.abs(), "{v} vs {by_row}");
            }
        }
    }

    #[test]
    fn constrained_coefficients_enter_both_processes() {
        let (rows, design) = data();
        let constrained = CovariateSpec {
            constrained: vec![2],
            ..CovariateSpec::default()
        };
        let both = CovariateSpec {
            trans: vec![2],
            life: vec![2],
            ..CovariateSpec::default()
        };
        let a = CovariateLikelihood::new(CovariateModel::ParetoNbd, &rows, &design, &constrained)
            .unwrap();
        let b = CovariateLikelihood::new(CovariateModel::ParetoNbd, &rows, &design, &both).unwrap();
        let base = [0.55, 10.6, 0.61, 11.7];
        let la = a.log_likelihood(&[base[0], base[1], base[2], base[3], 0.3]);
        let lb = b.log_likelihood(&[base[0], base[1], base[2], base[3], 0.3, 0.3]);
        assert_eq!(la, lb);
        assert_eq!(a.param_names()[4], "constr.size");
        let bad = CovariateSpec {
            trans: vec![2],
            constrained: vec![2],
            ..CovariateSpec::default()
        };
        assert!(CovariateLikelihood::new(CovariateModel::BgNbd, &rows, &design, &bad).is_err());
        let none = CovariateSpec::default();
        assert!(CovariateLikelihood::new(CovariateModel::BgNbd, &rows, &design, &none).is_err());
    }
}
