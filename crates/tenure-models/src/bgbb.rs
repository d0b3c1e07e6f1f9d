//! BG/BB: the beta-geometric/beta-binomial model of repeat transactions at discrete opportunities
//! (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time noncontractual
//! setting", Marketing Science 29(6), 1086–1108; "FHS" below).
//!
//! At each of `n` opportunities after the first transaction an alive customer transacts with
//! probability p; before each opportunity she dies with probability θ (and stays dead).
//! p ~ Beta(α, β) and θ ~ Beta(γ, δ) across customers. A customer is summarised by `x`
//! transactions among the `n` opportunities, the last at opportunity `t_x` (0 when x = 0).

use std::collections::HashMap;

use crate::data::{check_count, check_nonneg, DataError};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::special::{digamma, ln_beta, ln_gamma, log_add_exp};
use crate::ModelError;

/// Largest number of opportunities accepted: the likelihood costs O(n − t_x) per row and
/// builds tables of size max n.
pub const MAX_PERIODS: f64 = 1_000_000.0;

/// One customer's summary for the BG/BB: `x` transactions at the `n` opportunities after the
/// first, the last at opportunity `t_x`. All three are whole numbers with x ≤ t_x ≤ n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBbRow {
    pub x: f64,
    pub t_x: f64,
    pub n: f64,
}

/// Validated, grouped BG/BB data. Invariants: every row has whole numbers 0 ≤ x ≤ t_x ≤ n,
/// 1 ≤ n ≤ [`MAX_PERIODS`], t_x = 0 when x = 0 and t_x ≥ 1 when x > 0; weights are positive;
/// rows are distinct.
#[derive(Debug, Clone, Default)]
pub struct BgBbData {
    x: Vec<usize>,
    t_x: Vec<usize>,
    n: Vec<usize>,
    w: Vec<f64>,
    total: f64,
    max_n: usize,
}

/// Check one row's invariants (see [`BgBbData`]); `i` is the 0-based row index for errors.
pub fn validate_bgbb_row(i: usize, r: &BgBbRow) -> Result<(), DataError> {
    check_count(i, "frequency", r.x)?;
    check_count(i, "recency", r.t_x)?;
    check_count(i, "periods", r.n)?;
    if r.n == 0.0 {
        return Err(DataError::Inconsistent {
            row: i,
            reason: "periods = 0: a customer must have at least one transaction opportunity".into(),
        });
    }
    if r.n > MAX_PERIODS {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "periods = {} exceeds the supported maximum {MAX_PERIODS}",
                r.n
            ),
        });
    }
    if r.t_x > r.n {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "recency {} > periods {}: the last transaction cannot come after the last opportunity",
                r.t_x, r.n
            ),
        });
    }
    if r.x > r.t_x {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "frequency {} > recency {}: x transactions need at least x opportunities up to the last",
                r.x, r.t_x
            ),
        });
    }
    if r.x == 0.0 && r.t_x != 0.0 {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "frequency 0 with recency {}: recency must be 0 without transactions",
                r.t_x
            ),
        });
    }
    Ok(())
}

impl BgBbData {
    /// Validate and group rows, each with weight 1.
    pub fn new(rows: &[BgBbRow]) -> Result<BgBbData, DataError> {
        Self::weighted(rows.iter().map(|r| (*r, 1.0)))
    }

    /// Validate and group rows with weights (number of customers each row stands for; rows
    /// with weight 0 are dropped).
    pub fn weighted(rows: impl IntoIterator<Item = (BgBbRow, f64)>) -> Result<BgBbData, DataError> {
        let mut index: HashMap<(usize, usize, usize), usize> = HashMap::new();
        let mut out = BgBbData::default();
        for (i, (r, w)) in rows.into_iter().enumerate() {
            validate_bgbb_row(i, &r)?;
            check_nonneg(i, "weight", w)?;
            if w == 0.0 {
                continue;
            }
            // Whole numbers in [0, MAX_PERIODS]: the casts are exact.
            let key = (r.x as usize, r.t_x as usize, r.n as usize);
            match index.get(&key) {
                Some(&j) => out.w[j] += w,
                None => {
                    index.insert(key, out.x.len());
                    out.x.push(key.0);
                    out.t_x.push(key.1);
                    out.n.push(key.2);
                    out.w.push(w);
                    out.max_n = out.max_n.max(key.2);
                }
            }
            out.total += w;
        }
        if out.x.is_empty() {
            return Err(DataError::Empty);
        }
        if !out.total.is_finite() {
            return Err(DataError::Degenerate(
                "the weights add up to infinity".into(),
            ));
        }
        Ok(out)
    }

    /// Number of distinct rows.
    pub fn distinct(&self) -> usize {
        self.x.len()
    }

    /// Total weight (number of customers).
    pub fn customers(&self) -> f64 {
        self.total
    }

    /// Iterate over (row, weight).
    pub fn iter(&self) -> impl Iterator<Item = (BgBbRow, f64)> + '_ {
        (0..self.x.len()).map(move |i| {
            (
                BgBbRow {
                    x: self.x[i] as f64,
                    t_x: self.t_x[i] as f64,
                    n: self.n[i] as f64,
                },
                self.w[i],
            )
        })
    }

    /// Fails when no parameters can be estimated: nobody transacted (p → 0), or everybody
    /// transacted at every opportunity (p → 1, θ → 0).
    pub fn require_variation(&self) -> Result<(), DataError> {
        if self.x.iter().all(|&x| x == 0) {
            return Err(DataError::Degenerate(
                "no customer made a transaction (every frequency is 0): the transaction probability cannot be estimated".into(),
            ));
        }
        if self.x.iter().zip(&self.n).all(|(x, n)| x == n) {
            return Err(DataError::Degenerate(
                "every customer transacted at every opportunity: the model's parameters run to infinity".into(),
            ));
        }
        Ok(())
    }

    /// Total weighted log-likelihood (FHS eq. 5) at `params`.
    pub fn log_likelihood(&self, params: &BgBbParams) -> f64 {
        self.eval(&params.to_vec(), false).0
    }

    /// Log-likelihood and, when `grad`, its gradient in (α, β, γ, δ).
    ///
    /// With integer x, t_x, n every Beta function in FHS eq. 5 is
    /// B(θ₁ + i, θ₂ + j) for whole i, j ≤ max n + 1, so ln Γ (and ψ for the gradient) is
    /// tabulated once per evaluation and each row costs n − t_x + 1 additions and exponentials.
    fn eval(&self, theta: &[f64], grad: bool) -> (f64, [f64; 4]) {
        let (a, b, g, d) = (theta[0], theta[1], theta[2], theta[3]);
        if !(a > 0.0 && b > 0.0 && g > 0.0 && d > 0.0) || theta.iter().any(|v| !v.is_finite()) {
            return (f64::NAN, [f64::NAN; 4]);
        }
        let m = self.max_n + 1;
        let (la, lb, lab) = (
            lgamma_table(a, m),
            lgamma_table(b, m),
            lgamma_table(a + b, m),
        );
        let (lg, ld, lgd) = (
            lgamma_table(g, m),
            lgamma_table(d, m),
            lgamma_table(g + d, m),
        );
        let lnb_ab = la[0] + lb[0] - lab[0];
        let lnb_gd = lg[0] + ld[0] - lgd[0];
        let empty = Vec::new;
        let (pa, pb, pab, pg, pd, pgd) = if grad {
            (
                digamma_table(a, m),
                digamma_table(b, m),
                digamma_table(a + b, m),
                digamma_table(g, m),
                digamma_table(d, m),
                digamma_table(g + d, m),
            )
        } else {
            (empty(), empty(), empty(), empty(), empty(), empty())
        };
        let mut ll = 0.0;
        let mut gr = [0.0; 4];
        let mut terms: Vec<f64> = Vec::with_capacity(m);
        for i in 0..self.x.len() {
            let (x, tx, n, w) = (self.x[i], self.t_x[i], self.n[i], self.w[i]);
            // ln of B(α+x, β+n−x) B(γ, δ+n), less the ln Γ(α+x) common to every term.
            let l_alive = lb[n - x] - lab[n] + lg[0] + ld[n] - lgd[n];
            // ln of B(α+x, β+t−x) B(γ+1, δ+t) for death after opportunity t = t_x..n−1.
            terms.clear();
            let mut mx = l_alive;
            for t in tx..n {
                let l = lb[t - x] - lab[t] + lg[1] + ld[t] - lgd[t + 1];
                mx = mx.max(l);
                terms.push(l);
            }
            let e_alive = (l_alive - mx).exp();
            let mut s = e_alive;
            for l in terms.iter_mut() {
                *l = (*l - mx).exp();
                s += *l;
            }
            ll += w * (la[x] + mx + s.ln() - lnb_ab - lnb_gd);
            if grad {
                let (mut ga, mut gb, mut gg, mut gdl) = (
                    e_alive * -pab[n],
                    e_alive * (pb[n - x] - pab[n]),
                    e_alive * (pg[0] - pgd[n]),
                    e_alive * (pd[n] - pgd[n]),
                );
                for (k, e) in terms.iter().enumerate() {
                    let t = tx + k;
                    ga -= e * pab[t];
                    gb += e * (pb[t - x] - pab[t]);
                    gg += e * (pg[1] - pgd[t + 1]);
                    gdl += e * (pd[t] - pgd[t + 1]);
                }
                gr[0] += w * (ga / s + pa[x] - pa[0] + pab[0]);
                gr[1] += w * (gb / s - pb[0] + pab[0]);
                gr[2] += w * (gg / s - pg[0] + pgd[0]);
                gr[3] += w * (gdl / s - pd[0] + pgd[0]);
            }
        }
        (ll, gr)
    }
}

/// ln Γ(a + k) for k = 0..=m.
fn lgamma_table(a: f64, m: usize) -> Vec<f64> {
    (0..=m).map(|k| ln_gamma(a + k as f64)).collect()
}

/// ψ(a + k) for k = 0..=m by the recurrence ψ(z + 1) = ψ(z) + 1/z (all terms positive).
fn digamma_table(a: f64, m: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(m + 1);
    let mut p = digamma(a);
    for k in 0..=m {
        out.push(p);
        p += 1.0 / (a + k as f64);
    }
    out
}

impl Likelihood for BgBbData {
    fn names(&self) -> &'static [&'static str] {
        &["alpha", "beta", "gamma", "delta"]
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.eval(theta, false).0
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.eval(theta, true);
        (ll, g.to_vec())
    }
    fn observations(&self) -> f64 {
        self.total
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        // The mean transaction rate per opportunity sets E[p] = α/(α+β) of the first start.
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..self.x.len() {
            num += self.w[i] * self.x[i] as f64;
            den += self.w[i] * self.n[i] as f64;
        }
        let pbar = (num / den).clamp(0.05, 0.95);
        vec![
            vec![pbar, 1.0 - pbar, 1.0, 3.0],
            vec![1.0, 1.0, 1.0, 1.0],
            vec![0.5, 0.5, 0.5, 5.0],
        ]
    }
}

/// Fitted BG/BB parameters: p ~ Beta(`alpha`, `beta`) (transaction probability), θ ~
/// Beta(`gamma`, `delta`) (dropout probability per opportunity). All positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBbParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

impl BgBbParams {
    /// Parameters from a vector in the order (α, β, γ, δ).
    pub fn from_slice(theta: &[f64]) -> Option<BgBbParams> {
        match theta {
            [alpha, beta, gamma, delta] => Some(BgBbParams {
                alpha: *alpha,
                beta: *beta,
                gamma: *gamma,
                delta: *delta,
            }),
            _ => None,
        }
    }

    /// (α, β, γ, δ).
    pub fn to_vec(&self) -> Vec<f64> {
        vec![self.alpha, self.beta, self.gamma, self.delta]
    }

    /// ln B(α, β) + ln B(γ, δ), the normalising constant of every probability below.
    fn ln_norm(&self) -> f64 {
        ln_beta(self.alpha, self.beta) + ln_beta(self.gamma, self.delta)
    }

    /// Individual log-likelihood of (x, t_x, n) (FHS eq. 5), in log space:
    /// L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    ///   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).
    ///
    /// Arguments are whole numbers with x ≤ t_x ≤ n.
    pub fn log_likelihood_one(&self, x: f64, t_x: f64, n: f64) -> f64 {
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let mut l = ln_beta(a + x, b + n - x) + ln_beta(g, d + n);
        let mut t = t_x;
        while t < n {
            l = log_add_exp(l, ln_beta(a + x, b + t - x) + ln_beta(g + 1.0, d + t));
            t += 1.0;
        }
        l - self.ln_norm()
    }

    /// P(alive at opportunity n + 1 | x, t_x, n) (FHS 2010, P(alive)):
    /// B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L(x, t_x, n). In [0, 1].
    pub fn p_alive(&self, x: f64, t_x: f64, n: f64) -> f64 {
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let l = ln_beta(a + x, b + n - x) + ln_beta(g, d + n + 1.0)
            - self.ln_norm()
            - self.log_likelihood_one(x, t_x, n);
        l.exp().clamp(0.0, 1.0)
    }

    /// Σ_{t=1}^{h} B(γ, δ+n+t)/B(γ, δ): expected number of the opportunities n+1..n+h at which
    /// a customer drawn from the prior dropout distribution is alive. Closed form (the sum in
    /// FHS eq. 13): δ/(γ−1) · Γ(γ+δ)/Γ(1+δ) · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+h)/Γ(γ+δ+n+h)];
    /// near γ = 1, where that is 0/0, the sum itself (whole h).
    fn alive_opportunities(&self, n: f64, h: f64) -> f64 {
        let (g, d) = (self.gamma, self.delta);
        if h <= 0.0 {
            return 0.0;
        }
        if (g - 1.0).abs() < 1e-4 && h.fract() == 0.0 && h <= MAX_PERIODS {
            let lb0 = ln_beta(g, d);
            let mut s = 0.0;
            let mut t = 1.0;
            while t <= h {
                s += (ln_beta(g, d + n + t) - lb0).exp();
                t += 1.0;
            }
            return s;
        }
        let c = ln_gamma(g + d) - ln_gamma(1.0 + d);
        let r1 = (c + ln_gamma(1.0 + d + n) - ln_gamma(g + d + n)).exp();
        let r2 = (c + ln_gamma(1.0 + d + n + h) - ln_gamma(g + d + n + h)).exp();
        d / (g - 1.0) * (r1 - r2)
    }

    /// E[X(n, n + n_star) | x, t_x, n]: expected transactions in the next `n_star`
    /// opportunities of a customer with history (x, t_x, n) (FHS eq. 13):
    /// 1/L · B(α+x+1, β+n−x)/B(α,β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
    ///   · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)].
    pub fn conditional_expected_transactions(&self, n_star: f64, x: f64, t_x: f64, n: f64) -> f64 {
        let (a, b) = (self.alpha, self.beta);
        let lead =
            ln_beta(a + x + 1.0, b + n - x) - ln_beta(a, b) - self.log_likelihood_one(x, t_x, n);
        lead.exp() * self.alive_opportunities(n, n_star)
    }

    /// E[X(n)]: expected transactions of a new customer in her first `n` opportunities
    /// (FHS 2010, E[X(n)]):
    /// α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)/Γ(γ+δ+n) · Γ(1+δ+n)/Γ(1+δ)].
    pub fn expected_transactions(&self, n: f64) -> f64 {
        self.alpha / (self.alpha + self.beta) * self.alive_opportunities(0.0, n)
    }

    /// P(X(n) = x): probability that a new customer makes `x` transactions in her first `n`
    /// opportunities (FHS 2010, P(X(n) = x)):
    /// C(n,x) B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    ///   + Σ_{i=x}^{n−1} C(i,x) B(α+x, β+i−x)/B(α,β) · B(γ+1, δ+i)/B(γ,δ).
    ///
    /// 0 when x > n.
    pub fn prob_transactions(&self, n: u32, x: u32) -> f64 {
        if x > n {
            return 0.0;
        }
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let (xf, nf) = (f64::from(x), f64::from(n));
        let ln_choose = |m: f64| ln_gamma(m + 1.0) - ln_gamma(xf + 1.0) - ln_gamma(m - xf + 1.0);
        let mut l = ln_choose(nf) + ln_beta(a + xf, b + nf - xf) + ln_beta(g, d + nf);
        for i in x..n {
            let i = f64::from(i);
            l = log_add_exp(
                l,
                ln_choose(i) + ln_beta(a + xf, b + i - xf) + ln_beta(g + 1.0, d + i),
            );
        }
        (l - self.ln_norm()).exp().clamp(0.0, 1.0)
    }
}

/// Fit the BG/BB by maximum likelihood (FHS eq. 7: the weighted sum of eq. 5 over rows).
/// Errors when the data cannot identify the parameters (see
/// [`BgBbData::require_variation`]) or no start gives a finite likelihood.
pub fn fit_bgbb(data: &BgBbData, opts: &FitOptions) -> Result<(BgBbParams, Fit), ModelError> {
    data.require_variation()?;
    let fit = maximize(data, opts)?;
    let params = BgBbParams::from_slice(&fit.params).ok_or_else(|| {
        DataError::Degenerate(format!(
            "the fit returned {} parameters, not 4",
            fit.params.len()
        ))
    })?;
    Ok((params, fit))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fit::numeric_gradient;

    fn row(x: f64, t_x: f64, n: f64) -> BgBbRow {
        BgBbRow { x, t_x, n }
    }

    const P: BgBbParams = BgBbParams {
        alpha: 1.2,
        beta: 0.75,
        gamma: 0.66,
        delta: 2.8,
    };

    fn small() -> BgBbData {
        BgBbData::weighted([
            (row(0., 0., 6.), 30.0),
            (row(1., 3., 6.), 7.0),
            (row(2., 2., 4.), 5.0),
            (row(3., 6., 6.), 11.0),
            (row(6., 6., 6.), 4.0),
            (row(4., 7., 9.), 2.5),
        ])
        .unwrap()
    }

    #[test]
    fn tabulated_likelihood_equals_the_direct_formula() {
        let data = small();
        let direct: f64 = data
            .iter()
            .map(|(r, w)| w * P.log_likelihood_one(r.x, r.t_x, r.n))
            .sum();
        let tab = data.log_likelihood(&P);
        assert!(
            (tab - direct).abs() < 1e-10 * direct.abs(),
            "{tab} vs {direct}"
        );
    }

    #[test]
    fn likelihood_of_one_opportunity_by_hand() {
        // n = 1: transact (x = 1, t_x = 1) needs alive and p: E[(1−θ)] E[p].
        let (a, b, g, d) = (P.alpha, P.beta, P.gamma, P.delta);
        let l1 = P.log_likelihood_one(1.0, 1.0, 1.0).exp();
        assert!((l1 - a / (a + b) * d / (g + d)).abs() < 1e-14);
        // No transaction: dead (θ) or alive without buying.
        let l0 = P.log_likelihood_one(0.0, 0.0, 1.0).exp();
        assert!((l0 - (g / (g + d) + d / (g + d) * b / (a + b))).abs() < 1e-14);
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let data = small();
        let th = P.to_vec();
        let (_, g) = data.value_and_gradient(&th);
        let num = numeric_gradient(|t| data.eval(t, false).0, &th);
        for k in 0..4 {
            assert!(
                (g[k] - num[k]).abs() < 1e-6 * (1.0 + num[k].abs()),
                "{k}: {g:?} vs {num:?}"
            );
        }
    }

    #[test]
    fn probabilities_of_counts_sum_to_one_and_give_the_mean() {
        for n in [1u32, 6, 20] {
            let ps: Vec<f64> = (0..=n).map(|x| P.prob_transactions(n, x)).collect();
            let total: f64 = ps.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "n={n}: {total}");
            let mean: f64 = ps.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
            let e = P.expected_transactions(f64::from(n));
            assert!(
                (mean - e).abs() < 1e-12 * e.max(1.0),
                "n={n}: {mean} vs {e}"
            );
        }
        assert_eq!(P.prob_transactions(3, 4), 0.0);
    }

    #[test]
    fn closed_form_equals_sum_and_gamma_one_is_continuous() {
        let q = BgBbParams { gamma: 1.0, ..P };
        let near = BgBbParams {
            gamma: 1.0 + 2e-4,
            ..P
        };
        // At γ = 1 the sum is used; 2e-4 away the closed form: they must be close.
        let (a, b) = (
            q.expected_transactions(10.0),
            near.expected_transactions(10.0),
        );
        assert!(a.is_finite() && (a - b).abs() < 1e-3 * a, "{a} vs {b}");
        // Closed form vs the sum it stands for, away from γ = 1.
        let lb0 = ln_beta(P.gamma, P.delta);
        let sum: f64 = (1..=7)
            .map(|t| (ln_beta(P.gamma, P.delta + 5.0 + t as f64) - lb0).exp())
            .sum();
        let c = P.alive_opportunities(5.0, 7.0);
        assert!((c - sum).abs() < 1e-12 * sum, "{c} vs {sum}");
    }

    #[test]
    fn conditional_expectation_of_a_new_customer_is_the_unconditional_one() {
        // With no history (n = 0) the posterior is the prior.
        let e = P.conditional_expected_transactions(8.0, 0.0, 0.0, 0.0);
        assert!((e - P.expected_transactions(8.0)).abs() < 1e-13);
        // More transactions at the same recency → more expected; P(alive) in [0, 1].
        assert!(
            P.conditional_expected_transactions(5.0, 4.0, 6.0, 6.0)
                > P.conditional_expected_transactions(5.0, 1.0, 6.0, 6.0)
        );
        let pa = P.p_alive(0.0, 0.0, 6.0);
        assert!(pa > 0.0 && pa < 1.0);
        // Seen alive at opportunity n: alive at n + 1 with E[1 − θ | survived n] = (δ+n)/(γ+δ+n).
        let want = (P.delta + 6.0) / (P.gamma + P.delta + 6.0);
        assert!((P.p_alive(3.0, 6.0, 6.0) - want).abs() < 1e-14);
    }

    #[test]
    fn rejects_bad_rows_with_their_index() {
        let e = BgBbData::new(&[row(1., 2., 3.), row(2., 1., 3.)]).unwrap_err();
        assert_eq!(e.row(), Some(1));
        assert!(matches!(
            BgBbData::new(&[row(1., 4., 3.)]),
            Err(DataError::Inconsistent { row: 0, .. })
        ));
        assert!(matches!(
            BgBbData::new(&[row(0., 1., 3.)]),
            Err(DataError::Inconsistent { .. })
        ));
        assert!(matches!(
            BgBbData::new(&[row(0., 0., 0.)]),
            Err(DataError::Inconsistent { .. })
        ));
        assert!(matches!(
            BgBbData::new(&[row(f64::NAN, 0., 3.)]),
            Err(DataError::NotFinite {
                field: "frequency",
                ..
            })
        ));
        assert!(matches!(
            BgBbData::new(&[row(1., 1.5, 3.)]),
            Err(DataError::NotInteger {
                field: "recency",
                ..
            })
        ));
        assert!(matches!(BgBbData::new(&[]), Err(DataError::Empty)));
        assert!(matches!(
            BgBbData::weighted([(row(1., 1., 3.), -1.0)]),
            Err(DataError::Negative {
                field: "weight",
                ..
            })
        ));
        assert!(matches!(
            BgBbData::weighted([(row(1., 1., 3.), 0.0)]),
            Err(DataError::Empty)
        ));
    }

    #[test]
    fn groups_identical_rows() {
        let d = BgBbData::new(&[row(1., 2., 3.), row(0., 0., 3.), row(1., 2., 3.)]).unwrap();
        assert_eq!(d.distinct(), 2);
        assert_eq!(d.customers(), 3.0);
    }

    #[test]
    fn degenerate_data_is_an_error_not_a_panic() {
        let zeros = BgBbData::new(&[row(0., 0., 6.), row(0., 0., 3.)]).unwrap();
        assert!(matches!(
            fit_bgbb(&zeros, &FitOptions::default()),
            Err(ModelError::Data(DataError::Degenerate(_)))
        ));
        let full = BgBbData::new(&[row(6., 6., 6.), row(3., 3., 3.)]).unwrap();
        assert!(matches!(
            fit_bgbb(&full, &FitOptions::default()),
            Err(ModelError::Data(DataError::Degenerate(_)))
        ));
        // A single customer: the fit runs and returns, whatever it finds.
        let one = BgBbData::new(&[row(2., 4., 6.)]).unwrap();
        let _ = fit_bgbb(&one, &FitOptions::default());
        // Invalid parameters give NaN, not a panic.
        assert!(small()
            .log_likelihood(&BgBbParams { alpha: -1.0, ..P })
            .is_nan());
    }
}
