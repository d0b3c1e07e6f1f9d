//! What every recency-frequency ("buy till you die") model predicts. Times are in the unit of
//! the data the model was fitted on; the caller keeps track of which.

use crate::data::RfmRow;

/// Predictions of a fitted recency-frequency model (BG/NBD, Pareto/NBD, MBG/NBD).
///
/// Conventions (as in the papers): a customer is summarised by `x` repeat purchases, the last
/// at `t_x`, observed for `t` time units since the first purchase.
pub trait RfmModel: Sync {
    /// The model's name as used on the command line (`bgnbd`, `paretonbd`, `mbgnbd`).
    fn name(&self) -> &'static str;
    /// Parameter names in the paper's order.
    fn param_names(&self) -> &'static [&'static str];
    /// Parameters in the paper's order.
    fn params(&self) -> Vec<f64>;
    /// The same model with other parameters (same order as [`RfmModel::params`]).
    fn with_params(&self, theta: &[f64]) -> Self
    where
        Self: Sized;
    /// Individual log-likelihood of (x, t_x, T).
    fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64;
    /// P(alive | x, t_x, T), in [0, 1].
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64;
    /// E[X(T, T + horizon) | x, t_x, T]: expected repeat purchases in the next `horizon`.
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64;
    /// P(alive at T + `future` | x, t_x, T): alive now and not dropping out in the next
    /// `future` (PyMC-Marketing's `expected_probability_alive`). Equals [`RfmModel::p_alive`]
    /// at 0, non-increasing in `future`, 0 at infinity. Models without a closed form give NaN.
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        let _ = (future, x, t_x, t);
        f64::NAN
    }
    /// P(X(T, T + horizon) = n | x, t_x, T): the distribution of the customer's repeat
    /// purchases in the next `horizon` (sums to 1 over n; its mean is
    /// [`RfmModel::conditional_expected_purchases`]). NaN where a model has none.
    fn prob_future_purchases(&self, horizon: f64, n: u32, x: f64, t_x: f64, t: f64) -> f64 {
        let _ = (horizon, n, x, t_x, t);
        f64::NAN
    }
    /// E[X(t)]: expected purchases in (0, t] of a customer who made a first purchase at 0.
    fn expected_purchases(&self, t: f64) -> f64;
    /// P(X(t) = n) for a new customer.
    fn prob_purchases(&self, t: f64, n: u32) -> f64;
    /// (P(alive), E[purchases in the next `horizon`]) of every row: exactly, to the bit, what
    /// [`RfmModel::p_alive`] and [`RfmModel::conditional_expected_purchases`] give row by row.
    /// Models override it to share the work rows have in common (terms per distinct T, series
    /// per distinct (x, T)), which makes scoring many rows several times cheaper.
    fn score_rows(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        rows.iter()
            .map(|r| {
                (
                    self.p_alive(r.x, r.t_x, r.t),
                    self.conditional_expected_purchases(horizon, r.x, r.t_x, r.t),
                )
            })
            .collect()
    }
}
