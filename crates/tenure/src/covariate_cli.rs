//! Covariates on the command line: `tenure fit bgnbd|paretonbd --covariates CUSTOMERS.csv`
//! and `tenure predict --covariates` for a model fitted with them.
//!
//! The covariates file has a `customer_id` column (or `id`) and one column per covariate;
//! every customer of the summary file needs a row. Numeric columns are standardised, others
//! one-hot encoded against their most frequent level (`tenure_models::covariates::Design`);
//! the encoding is stored in the model file so `predict` encodes new customers the same way.

use crate::error::CliError;
use crate::model_file::ModelFile;
use crate::table::{num, Table};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tenure_engine::SummaryRow;
use tenure_models::bootstrap::BootstrapOptions;
use tenure_models::bootstrap_covariates::{
    covariate_prediction_spreads, replicate_covariates, CovariatePredictionSpreads,
};
use tenure_models::clv::{discounted_expected_purchases, ClvConfig};
use tenure_models::covariates::{
    fit_covariates, CovariateError, CovariateFit, CovariateModel, CovariateParams, CovariateSpec,
    Design, Encoding,
};
use tenure_models::fit::{delta_method, normal_quantile_two_sided};
use tenure_models::{Estimate, FitOptions, ModelError, RfmRow, Scale};

/// Options of a covariate fit (flattened into `tenure fit`).
#[derive(Args, Debug, Clone, Default)]
pub struct CovariateArgs {
    /// Customer covariates for bgnbd or paretonbd: a CSV with `customer_id` and one column per
    /// covariate (numbers are standardised, anything else is a category, one-hot against its
    /// most frequent level). Each process's scale parameter is multiplied by exp(γ'z)
    /// (CLVTools): α·exp(−γ_trans'z); Pareto/NBD β·exp(−γ_life'z); BG/NBD a and b ·exp(γ_life'z).
    #[arg(long, value_name = "FILE")]
    pub covariates: Option<PathBuf>,
    /// Covariate columns on the purchase process (comma-separated). Default, when none of
    /// --trans, --life, --constrain is given: every column on both processes.
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub trans: Vec<String>,
    /// Covariate columns on the lifetime process (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub life: Vec<String>,
    /// Covariate columns with one coefficient shared by both processes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub constrain: Vec<String>,
    /// L2 penalty λ on the purchase coefficients: the fit maximises ℓ − λ Σγ².
    #[arg(long, default_value_t = 0.0, value_name = "LAMBDA")]
    pub l2_trans: f64,
    /// L2 penalty λ on the lifetime coefficients.
    #[arg(long, default_value_t = 0.0, value_name = "LAMBDA")]
    pub l2_life: f64,
    /// Time-varying covariates for paretonbd (Bachmann, Meierer & Näf 2021): a CSV with
    /// `period_start` (YYYY-MM-DD, equally spaced periods) and one column per covariate,
    /// values as given. --input is then a transaction log (customer_id, date; CSV or Parquet)
    /// summarised up to --end; --trans/--life pick the grid's columns (default: all on both).
    #[arg(long, value_name = "GRID", conflicts_with = "covariates")]
    pub time_covariates: Option<PathBuf>,
}

/// The covariates section of a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CovariateSection {
    /// The covariates file the model was fitted with.
    pub file: String,
    /// How each design column was made, in design order.
    pub encodings: Vec<EncodingOut>,
    /// Every level of each categorical column.
    pub levels: BTreeMap<String, Vec<String>>,
    /// Design columns with a coefficient on each process (parameter `trans.NAME` etc.).
    pub trans: Vec<String>,
    pub life: Vec<String>,
    pub constrained: Vec<String>,
    pub l2_trans: f64,
    pub l2_life: f64,
    /// The log-likelihood without the penalty (equal to `log_likelihood` without one).
    pub log_likelihood_unpenalised: f64,
    /// The model without covariates, fitted on the same customers.
    pub plain_log_likelihood: f64,
    /// 2 (ℓ − ℓ_plain) with `df` = number of coefficients.
    pub likelihood_ratio: f64,
    pub df: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodingOut {
    pub name: String,
    pub column: String,
    /// `standardised` or `level`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl EncodingOut {
    fn of(e: &Encoding) -> EncodingOut {
        match e {
            Encoding::Standardised { column, mean, sd } => EncodingOut {
                name: e.name(),
                column: column.clone(),
                kind: "standardised".into(),
                mean: Some(*mean),
                sd: Some(*sd),
                level: None,
                reference: None,
            },
            Encoding::Level {
                column,
                level,
                reference,
            } => EncodingOut {
                name: e.name(),
                column: column.clone(),
                kind: "level".into(),
                mean: None,
                sd: None,
                level: Some(level.clone()),
                reference: Some(reference.clone()),
            },
        }
    }
    fn encoding(&self, path: &Path) -> Result<Encoding, CliError> {
        let bad = || {
            CliError::input(format!(
                "{}: covariate encoding `{}` is incomplete",
                path.display(),
                self.name
            ))
        };
        match self.kind.as_str() {
            "standardised" => Ok(Encoding::Standardised {
                column: self.column.clone(),
                mean: self.mean.ok_or_else(bad)?,
                sd: self.sd.filter(|s| *s > 0.0).ok_or_else(bad)?,
            }),
            "level" => Ok(Encoding::Level {
                column: self.column.clone(),
                level: self.level.clone().ok_or_else(bad)?,
                reference: self.reference.clone().ok_or_else(bad)?,
            }),
            _ => Err(bad()),
        }
    }
}

/// A small CSV (trimmed fields, `#` comments) and its header; errors name the file (a missing
/// file is exit 2, other I/O errors exit 1).
pub(crate) fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, Vec<String>), CliError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Io(io) => {
                CliError::io(path, std::io::Error::new(io.kind(), io.to_string()))
            }
            _ => CliError::input(format!("{}: {e}", path.display())),
        })?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| CliError::input(format!("{}:1: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((rdr, header))
}

/// A covariates file: its id column and raw values by customer id.
struct CovFile {
    path: PathBuf,
    header: Vec<String>,
    /// customer id → (line, values in header order).
    by_id: HashMap<String, (usize, Vec<String>)>,
    id_col: usize,
}

impl CovFile {
    fn read(path: &Path) -> Result<CovFile, CliError> {
        let (mut rdr, header) = open_csv(path)?;
        let id_col = header
            .iter()
            .position(|h| h.eq_ignore_ascii_case("customer_id") || h.eq_ignore_ascii_case("id"))
            .ok_or_else(|| {
                CliError::at(
                    path,
                    1,
                    None,
                    format!("no `customer_id` column (found: {})", header.join(", ")),
                )
            })?;
        let mut by_id = HashMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                CliError::at(path, line, None, format!("not a well-formed CSV row: {e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.len() != header.len() {
                return Err(CliError::at(
                    path,
                    line,
                    None,
                    format!("{} fields, the header has {}", rec.len(), header.len()),
                ));
            }
            let id = rec[id_col].to_string();
            let values: Vec<String> = rec.iter().map(str::to_string).collect();
            if let Some((first, _)) = by_id.insert(id.clone(), (line, values)) {
                return Err(CliError::at(
                    path,
                    line,
                    Some(id_col + 1),
                    format!("customer `{id}` appears twice (first on line {first})"),
                ));
            }
        }
        Ok(CovFile {
            path: path.to_path_buf(),
            header,
            by_id,
            id_col,
        })
    }

    fn column(&self, name: &str) -> Result<usize, CliError> {
        self.header
            .iter()
            .position(|h| h == name)
            .filter(|i| *i != self.id_col)
            .ok_or_else(|| {
                CliError::input(format!(
                    "{}:1: no covariate column `{name}` (found: {})",
                    self.path.display(),
                    self.header.join(", ")
                ))
            })
    }

    /// Each summary row's covariate line and values, in summary order; a customer without a
    /// row is an error at the summary file's line.
    fn for_rows<'a>(
        &'a self,
        summary: &Path,
        rows: &[SummaryRow],
    ) -> Result<Vec<&'a (usize, Vec<String>)>, CliError> {
        rows.iter()
            .map(|r| {
                self.by_id.get(&r.id).ok_or_else(|| {
                    CliError::at(
                        summary,
                        r.line as usize,
                        None,
                        format!(
                            "customer `{}` has no row in the covariates file {}",
                            r.id,
                            self.path.display()
                        ),
                    )
                })
            })
            .collect()
    }
}

/// A finished covariate fit with what the reports and the model file need.
pub struct CovFitted {
    pub fit: CovariateFit,
    pub distinct: usize,
    pub design: Design,
    /// Every customer's T, in the design's row order (for `--bootstrap`).
    pub ages: Vec<f64>,
    pub section: CovariateSection,
}

fn summary_rfm(path: &Path, rows: &[SummaryRow]) -> Result<Vec<RfmRow>, CliError> {
    rows.iter()
        .map(|r| {
            if r.weight != 1.0 {
                return Err(CliError::at(
                    path,
                    r.line as usize,
                    None,
                    "a covariate fit needs one row per customer (this row has a weight)",
                ));
            }
            Ok(RfmRow {
                x: r.x,
                t_x: r.t_x,
                t: r.t,
            })
        })
        .collect()
}

/// Fit `model` with covariates: read and join the covariates, encode, fit.
pub fn fit(
    model: CovariateModel,
    summary: &Path,
    rows: &[SummaryRow],
    a: &CovariateArgs,
    cov_path: &Path,
) -> Result<CovFitted, CliError> {
    let file = CovFile::read(cov_path)?;
    let joined = file.for_rows(summary, rows)?;
    // Raw columns in use and their roles.
    let none_given = a.trans.is_empty() && a.life.is_empty() && a.constrain.is_empty();
    let all: Vec<String> = file
        .header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != file.id_col)
        .map(|(_, h)| h.clone())
        .collect();
    let (trans, life) = if none_given {
        (all.clone(), all.clone())
    } else {
        (a.trans.clone(), a.life.clone())
    };
    let mut used: Vec<String> = Vec::new();
    for c in trans.iter().chain(&life).chain(&a.constrain) {
        if !used.contains(c) {
            file.column(c)?;
            used.push(c.clone());
        }
    }
    if used.is_empty() {
        return Err(CliError::input(format!(
            "{}: no covariate columns besides the customer id",
            cov_path.display()
        )));
    }
    let columns: Vec<(String, Vec<String>)> = used
        .iter()
        .map(|c| {
            let j = file.column(c).unwrap_or(0);
            (
                c.clone(),
                joined.iter().map(|(_, v)| v[j].clone()).collect(),
            )
        })
        .collect();
    let design = Design::encode(&columns).map_err(|e| match e {
        CovariateError::Value {
            column,
            row,
            reason,
        } => {
            let line = joined.get(row).map_or(0, |(l, _)| *l);
            let col = file.column(&column).ok().map(|j| j + 1);
            CliError::at(cov_path, line, col, format!("{column}: {reason}"))
        }
        other => CliError::input(format!("{}: {other}", cov_path.display())),
    })?;
    let cols_of = |names: &[String]| -> Vec<usize> {
        design
            .encodings
            .iter()
            .enumerate()
            .filter(|(_, e)| names.iter().any(|n| n == e.column()))
            .map(|(j, _)| j)
            .collect()
    };
    let spec = CovariateSpec {
        trans: cols_of(&trans),
        life: cols_of(&life),
        constrained: cols_of(&a.constrain),
        l2_trans: a.l2_trans,
        l2_life: a.l2_life,
    };
    let rfm = summary_rfm(summary, rows)?;
    let fit =
        fit_covariates(model, &rfm, &design, &spec, &FitOptions::default()).map_err(
            |e| match e {
                ModelError::Data(d) => match d.row().and_then(|i| rows.get(i)) {
                    Some(r) => CliError::at(summary, r.line as usize, None, d.reason()),
                    None => CliError::input(format!("{}: {d}", summary.display())),
                },
                ModelError::Fit(f) => CliError::failure(format!("{}: {f}", summary.display())),
            },
        )?;
    let names = design.names();
    let pick = |cols: &[usize]| cols.iter().map(|j| names[*j].clone()).collect();
    let (lr, df) = fit.likelihood_ratio();
    let section = CovariateSection {
        file: cov_path.display().to_string(),
        encodings: design.encodings.iter().map(EncodingOut::of).collect(),
        levels: design.levels.iter().cloned().collect(),
        trans: pick(&spec.trans),
        life: pick(&spec.life),
        constrained: pick(&spec.constrained),
        l2_trans: spec.l2_trans,
        l2_life: spec.l2_life,
        log_likelihood_unpenalised: fit.log_likelihood_unpenalised,
        plain_log_likelihood: fit.plain.log_likelihood,
        likelihood_ratio: lr,
        df,
    };
    Ok(CovFitted {
        distinct: fit.distinct,
        ages: rfm.iter().map(|r| r.t).collect(),
        fit,
        design,
        section,
    })
}

/// The table printed after the parameter table of a covariate fit: the encodings and the
/// comparison with the plain model.
pub fn render(c: &CovFitted) -> String {
    let mut e = Table::new(&["design column", "from", "encoding"]);
    for enc in &c.design.encodings {
        let how = match enc {
            Encoding::Standardised { mean, sd, .. } => {
                format!("(value − {}) / {}", num(*mean, 6), num(*sd, 6))
            }
            Encoding::Level { reference, .. } => format!("1 if this level, reference {reference}"),
        };
        e.row(vec![enc.name(), enc.column().to_string(), how]);
    }
    let s = &c.section;
    let mut g = Table::new(&["covariates", "value"]);
    g.row(vec![
        "log-likelihood without covariates".into(),
        format!("{:.4}", s.plain_log_likelihood),
    ]);
    g.row(vec![
        "log-likelihood with covariates (no penalty)".into(),
        format!("{:.4}", s.log_likelihood_unpenalised),
    ]);
    g.row(vec![
        "likelihood ratio".into(),
        format!("{:.3} on {} df", s.likelihood_ratio, s.df),
    ]);
    if s.l2_trans > 0.0 || s.l2_life > 0.0 {
        g.row(vec![
            "L2 penalty (trans, life)".into(),
            format!("{}, {}", s.l2_trans, s.l2_life),
        ]);
    }
    format!(
        "\nCovariates ({}):\n{}\n{}\
         Coefficients (trans.*, life.*, constr.*) are per standardised unit or per level vs the reference; \
         their intervals are linear (estimate ± z·se). Signs: trans > 0 buys more; paretonbd life > 0 \
         drops out sooner; bgnbd life scales a and b together.\n",
        s.file,
        e.render(),
        g.render()
    )
}

/// Rebuild the design's encodings and the spec from a model file.
fn from_section(
    path: &Path,
    mf: &ModelFile,
    s: &CovariateSection,
) -> Result<(CovariateParams, Design), CliError> {
    let model = match mf.model.as_str() {
        "bgnbd" => CovariateModel::BgNbd,
        "paretonbd" => CovariateModel::ParetoNbd,
        "ggomnbd" => CovariateModel::GGomNbd,
        other => {
            return Err(CliError::input(format!(
                "{}: covariates are for bgnbd, paretonbd and ggomnbd, not `{other}`",
                path.display()
            )))
        }
    };
    let encodings: Vec<Encoding> = s
        .encodings
        .iter()
        .map(|e| e.encoding(path))
        .collect::<Result<_, _>>()?;
    let design = Design {
        encodings,
        levels: s.levels.clone().into_iter().collect(),
        values: Vec::new(),
        rows: 0,
    };
    let names = design.names();
    let idx = |list: &[String]| -> Result<Vec<usize>, CliError> {
        list.iter()
            .map(|n| {
                names.iter().position(|m| m == n).ok_or_else(|| {
                    CliError::input(format!(
                        "{}: covariate `{n}` has no encoding",
                        path.display()
                    ))
                })
            })
            .collect()
    };
    let spec = CovariateSpec {
        trans: idx(&s.trans)?,
        life: idx(&s.life)?,
        constrained: idx(&s.constrained)?,
        l2_trans: s.l2_trans,
        l2_life: s.l2_life,
    };
    let base = mf.params_in_order(path, model.base_names())?;
    let mut theta = base;
    for n in spec.coefficient_names(&names) {
        let v = mf
            .params
            .get(&n)
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                CliError::input(format!("{}: no finite coefficient `{n}`", path.display()))
            })?;
        theta.push(v);
    }
    Ok((CovariateParams::from_theta(model, spec, &theta), design))
}

/// The model file's covariate parameters and every summary row's encoded covariates (joined
/// by customer id, encoded as at fitting time), in the summary's order.
fn customers(
    a: &crate::cmd_predict::PredictArgs,
    mf: &ModelFile,
    s: &CovariateSection,
    rows: &[SummaryRow],
    cov_path: &Path,
) -> Result<(CovariateParams, Vec<Vec<f64>>), CliError> {
    let (params, design) = from_section(a.model.as_path(), mf, s)?;
    let file = CovFile::read(cov_path)?;
    let joined = file.for_rows(a.input.as_path(), rows)?;
    let zrows = joined
        .iter()
        .map(|(line, values)| {
            design
                .encode_row(&|c: &str| {
                    file.header
                        .iter()
                        .position(|h| h == c)
                        .map(|j| values[j].clone())
                })
                .map_err(|m| CliError::at(cov_path, *line, None, m))
        })
        .collect::<Result<_, _>>()?;
    Ok((params, zrows))
}

/// A covariate model's parametric bootstrap for `tenure predict --bootstrap N` (N from `a`): populations
/// drawn from the model file's parameters with every customer's covariates and T (recencies
/// on a grid of `grid`), refitted with the file's spec; the spreads of every customer's
/// P(alive) and expected purchases in the next `horizon` and of their total, and the number
/// of replicates that could not be refitted.
pub fn bootstrap(
    a: &crate::cmd_predict::PredictArgs,
    mf: &ModelFile,
    s: &CovariateSection,
    rows: &[SummaryRow],
    cov_path: &Path,
    horizon: f64,
    grid: f64,
) -> Result<(CovariatePredictionSpreads, usize), CliError> {
    let n = a
        .bootstrap
        .ok_or_else(|| CliError::failure("--bootstrap: no number of replications"))?;
    let (params, zrows) = customers(a, mf, s, rows, cov_path)?;
    let names: Vec<String> = s.encodings.iter().map(|e| e.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let design = Design::raw(&names, zrows.concat());
    let rfm = summary_rfm(a.input.as_path(), rows)?;
    let ages: Vec<f64> = rfm.iter().map(|r| r.t).collect();
    let opts = BootstrapOptions {
        replications: n,
        seed: a.seed,
        grid: Some(grid),
        threads: 0,
    };
    let bar = crate::progress::bar(n as u64, "bootstrap");
    let reps = replicate_covariates(
        &params,
        &design,
        &ages,
        &FitOptions::default(),
        &opts,
        &|d| bar.set_position(d as u64),
    )
    .map_err(|e| CliError::failure(format!("--bootstrap: {e}")))?;
    bar.finish_and_clear();
    if reps.params.len() < 2 {
        return Err(CliError::failure(format!(
            "--bootstrap: {} of {n} replicates could not be refitted",
            reps.failed
        )));
    }
    let spreads = covariate_prediction_spreads(&reps, &params, &design, &rfm, horizon, a.level)
        .map_err(|e| CliError::failure(format!("--bootstrap: {e}")))?;
    Ok((spreads, reps.failed))
}

/// One customer's scores: P(alive) and expected purchases, with delta-method intervals.
pub struct CovScore {
    /// With a CLV valuation: the discounted expected purchases (DET) of her own model, with a
    /// delta-method interval over every parameter when intervals are on.
    pub det: Option<Estimate>,
    pub p_alive: Estimate,
    pub expected: Estimate,
    /// With --alive-at-horizon: P(alive at T + horizon), a point (as for the plain models).
    pub alive_at: Option<f64>,
    /// With --purchase-pmf K: P(0), …, P(K−1) purchases in the horizon and P(≥ K), points.
    pub pmf: Option<Vec<f64>>,
}

/// Score every summary row with a covariate model: each customer's own parameters from her
/// covariates, delta-method intervals over all parameters (base and coefficients). With
/// `clv` (for `--spend`), also her DET: [`tenure_models::clv::discounted_expected_purchases`]
/// of her own model, its interval over all parameters likewise.
pub fn score(
    a: &crate::cmd_predict::PredictArgs,
    mf: &ModelFile,
    s: &CovariateSection,
    rows: &[SummaryRow],
    cov_path: &Path,
    horizon: f64,
    clv: Option<&ClvConfig>,
) -> Result<Vec<CovScore>, CliError> {
    let (summary, level) = (a.input.as_path(), a.level);
    // With --bootstrap the intervals come from the bootstrap ([`bootstrap`]), not from here.
    let intervals = !a.no_intervals && a.bootstrap.is_none() && mf.covariance.is_some();
    let (params, zrows) = customers(a, mf, s, rows, cov_path)?;
    let z = normal_quantile_two_sided(level);
    let theta: Vec<f64> = params.base.iter().chain(&params.gamma).copied().collect();
    let cov = mf.covariance.as_deref().filter(|c| c.len() == theta.len());
    rows.iter()
        .zip(zrows)
        .map(|(r, zrow)| {
            let (x, t_x, t) = (r.x, r.t_x, r.t);
            let p_of = |th: &[f64]| {
                CovariateParams::from_theta(params.model, params.spec.clone(), th)
                    .customer(&zrow)
                    .model()
                    .p_alive(x, t_x, t)
            };
            let e_of = |th: &[f64]| {
                CovariateParams::from_theta(params.model, params.spec.clone(), th)
                    .customer(&zrow)
                    .model()
                    .conditional_expected_purchases(horizon, x, t_x, t)
            };
            let (p_alive, expected) = match cov {
                Some(c) if intervals => (
                    delta_method(p_of, &theta, c, Scale::Logit, z),
                    delta_method(e_of, &theta, c, Scale::Log, z),
                ),
                _ => (
                    crate::cmd_predict::point(p_of(&theta)),
                    crate::cmd_predict::point(e_of(&theta)),
                ),
            };
            let own = CovariateParams::from_theta(params.model, params.spec.clone(), &theta)
                .customer(&zrow);
            let rfm = RfmRow { x, t_x, t };
            let det = match clv {
                None => None,
                Some(cfg) => {
                    let at_theta = discounted_expected_purchases(own.model(), &rfm, cfg)
                        .map_err(|e| CliError::at(summary, r.line as usize, None, e))?;
                    Some(match cov {
                        Some(c) if intervals => delta_method(
                            |th: &[f64]| {
                                let m = CovariateParams::from_theta(
                                    params.model,
                                    params.spec.clone(),
                                    th,
                                )
                                .customer(&zrow);
                                discounted_expected_purchases(m.model(), &rfm, cfg)
                                    .unwrap_or(f64::NAN)
                            },
                            &theta,
                            c,
                            Scale::Log,
                            z,
                        ),
                        _ => crate::cmd_predict::point(at_theta),
                    })
                }
            };
            let alive_at = a
                .alive_at_horizon
                .then(|| own.model().p_alive_at(horizon, x, t_x, t));
            let pmf = a.purchase_pmf.map(|k| {
                let mut head: Vec<f64> = (0..k)
                    .map(|n| own.model().prob_future_purchases(horizon, n, x, t_x, t))
                    .collect();
                // P(≥ K) = 1 − P(< K), never below 0 from rounding (as the plain models).
                let rest = (1.0 - head.iter().sum::<f64>()).max(0.0);
                head.push(rest);
                head
            });
            Ok(CovScore {
                det,
                p_alive,
                expected,
                alive_at,
                pmf,
            })
        })
        .collect()
}
