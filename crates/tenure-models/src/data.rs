//! Sufficient statistics the models fit on, validated and grouped: identical rows are stored
//! once with a weight, so a fit costs in proportion to distinct rows, not customers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::group::{self, Groups};

/// A fast hasher for keys made of `f64` bit patterns: each word is folded in and the result is
/// finished with the splitmix64 mixer, so the low bits (which pick the bucket) depend on every
/// input bit — f64 patterns of round numbers have all-zero low bits. Not DoS-resistant; keys here
/// are numbers from the user's own data.
#[derive(Default, Clone, Copy)]
pub struct RowHasher(u64);

impl Hasher for RowHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// A `HashMap` keyed by row bit patterns, with [`RowHasher`].
pub type RowMap<K, V> = HashMap<K, V, BuildHasherDefault<RowHasher>>;

/// The key of a row: the bit patterns of (x, t_x, T). Rows are equal exactly when their keys are.
#[inline]
pub fn row_key(r: &RfmRow) -> (u64, u64, u64) {
    (r.x.to_bits(), r.t_x.to_bits(), r.t.to_bits())
}

/// Rows mapped to their distinct values: `distinct[index[i]] == rows[i]`, and `first[j]` is the
/// first row equal to `distinct[j]`. Distinct rows are in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    pub distinct: Vec<RfmRow>,
    pub first: Vec<usize>,
    pub index: Vec<u32>,
}

/// Group rows by value (no validation), so per-row work can be done once per distinct row.
pub fn group_rows(rows: impl ExactSizeIterator<Item = RfmRow>) -> Grouping {
    let rows: Vec<RfmRow> = rows.collect();
    group_rows_of(&rows, |r| *r)
}

/// [`group_rows`] over any slice, reading each element's row with `row`: no copy of the rows,
/// and on large inputs the work is shared between threads (see [`crate::group`]; the result is
/// the same whatever the number of threads).
pub fn group_rows_of<T: Sync>(rows: &[T], row: impl Fn(&T) -> RfmRow + Sync) -> Grouping {
    let g = group::group::<T, 3, false, true>(rows, |t| (key3(&row(t)), 0.0));
    Grouping {
        distinct: g.table.keys().iter().map(from_key3).collect(),
        first: g.first,
        index: g.index,
    }
}

#[inline]
fn key3(r: &RfmRow) -> [u64; 3] {
    [r.x.to_bits(), r.t_x.to_bits(), r.t.to_bits()]
}

#[inline]
fn from_key3(k: &[u64; 3]) -> RfmRow {
    RfmRow {
        x: f64::from_bits(k[0]),
        t_x: f64::from_bits(k[1]),
        t: f64::from_bits(k[2]),
    }
}

/// What is wrong with one input row. `row` is the 0-based index in the slice given; callers
/// that read files map it to a line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("no rows: a model needs at least one customer")]
    Empty,
    #[error("row {row}: {field} = {value} is not a finite number")]
    NotFinite {
        row: usize,
        field: &'static str,
        value: f64,
    },
    #[error("row {row}: {field} = {value} is negative")]
    Negative {
        row: usize,
        field: &'static str,
        value: f64,
    },
    #[error("row {row}: {field} = {value} is not a whole number")]
    NotInteger {
        row: usize,
        field: &'static str,
        value: f64,
    },
    #[error("row {row}: {reason}")]
    Inconsistent { row: usize, reason: String },
    #[error("{0}")]
    Degenerate(String),
}

impl DataError {
    /// The 0-based row the error is about, if it is about one row.
    pub fn row(&self) -> Option<usize> {
        match self {
            DataError::NotFinite { row, .. }
            | DataError::Negative { row, .. }
            | DataError::NotInteger { row, .. }
            | DataError::Inconsistent { row, .. } => Some(*row),
            _ => None,
        }
    }
    /// The message without the row index, for callers that name the line themselves.
    pub fn reason(&self) -> String {
        match self {
            DataError::NotFinite { field, value, .. } => {
                format!("{field} = {value} is not a finite number")
            }
            DataError::Negative { field, value, .. } => format!("{field} = {value} is negative"),
            DataError::NotInteger { field, value, .. } => {
                format!("{field} = {value} is not a whole number")
            }
            DataError::Inconsistent { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            DataError::NotFinite { field, .. }
            | DataError::Negative { field, .. }
            | DataError::NotInteger { field, .. } => Some(field),
            _ => None,
        }
    }
}

pub(crate) fn check_nonneg(row: usize, field: &'static str, value: f64) -> Result<(), DataError> {
    if !value.is_finite() {
        return Err(DataError::NotFinite { row, field, value });
    }
    if value < 0.0 {
        return Err(DataError::Negative { row, field, value });
    }
    Ok(())
}

pub(crate) fn check_count(row: usize, field: &'static str, value: f64) -> Result<(), DataError> {
    check_nonneg(row, field, value)?;
    if value.fract() != 0.0 {
        return Err(DataError::NotInteger { row, field, value });
    }
    Ok(())
}

/// One customer's recency-frequency summary: `x` repeat purchases, the last at `t_x`, observed
/// for `t` time units since the first purchase. All times in one unit chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmRow {
    pub x: f64,
    pub t_x: f64,
    pub t: f64,
}

/// Validated, grouped recency-frequency data. Invariants: every row has x a non-negative whole
/// number, 0 ≤ t_x ≤ T, T > 0, t_x = 0 when x = 0; weights are positive; rows are distinct.
#[derive(Debug, Clone, Default)]
pub struct Rfm {
    pub(crate) x: Vec<f64>,
    pub(crate) t_x: Vec<f64>,
    pub(crate) t: Vec<f64>,
    pub(crate) w: Vec<f64>,
    total: f64,
}

impl Rfm {
    /// Validate and group rows, each with weight 1.
    pub fn new(rows: &[RfmRow]) -> Result<Rfm, DataError> {
        Self::from_rows(rows, |r| (*r, 1.0))
    }

    /// Validate and group rows with weights (number of customers each row stands for).
    pub fn weighted(rows: impl IntoIterator<Item = (RfmRow, f64)>) -> Result<Rfm, DataError> {
        let rows: Vec<(RfmRow, f64)> = rows.into_iter().collect();
        Self::from_rows(&rows, |r| *r)
    }

    /// Validate and group any slice, reading each element's row and weight with `row` (no copy
    /// of the rows; large inputs are grouped on several threads, with the same result whatever
    /// their number, see [`crate::group`]).
    ///
    /// Distinct rows are in order of first appearance among rows of positive weight; rows of
    /// weight 0 are validated and left out. An error names the first bad row. Weights are summed
    /// per distinct row in input order within fixed chunks of rows, then across chunks, and the
    /// total is the sum of the distinct rows' weights.
    pub fn from_rows<T: Sync>(
        rows: &[T],
        row: impl Fn(&T) -> (RfmRow, f64) + Sync,
    ) -> Result<Rfm, DataError> {
        let g = group::group::<T, 3, true, false>(rows, |t| {
            let (r, w) = row(t);
            (key3(&r), w)
        });
        // Validation depends on the values only, so it is done once per distinct row, at its
        // first row; groups are in order of first appearance, so the first failing group is the
        // earliest failing row with a bad value. A bad weight may come earlier.
        let bad_value = g
            .table
            .keys()
            .iter()
            .zip(&g.first)
            .find(|(k, &i)| validate_rfm(i, &from_key3(k)).is_err())
            .map(|(_, &i)| i);
        if let Some(i) = earliest(bad_value, g.bad_weight) {
            let (r, w) = row(&rows[i]);
            validate_rfm(i, &r)?;
            check_nonneg(i, "weight", w)?;
        }
        let mut order: Vec<usize> = (0..g.len()).collect();
        if g.zero_weight {
            // Rows of weight 0 are not part of the data: a distinct row is placed at its first
            // row of positive weight, and dropped if it has none.
            let first_positive = first_positive_rows(rows, &g, |t| {
                let (r, w) = row(t);
                (key3(&r), w)
            });
            order.retain(|&j| first_positive[j] != usize::MAX);
            order.sort_by_key(|&j| first_positive[j]);
        }
        let mut out = Rfm::default();
        for j in order {
            let r = from_key3(&g.table.keys()[j]);
            out.x.push(r.x);
            out.t_x.push(r.t_x);
            out.t.push(r.t);
            out.w.push(g.weight[j]);
            out.total += g.weight[j];
        }
        if out.x.is_empty() {
            return Err(DataError::Empty);
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
    pub fn iter(&self) -> impl Iterator<Item = (RfmRow, f64)> + '_ {
        (0..self.x.len()).map(move |i| {
            (
                RfmRow {
                    x: self.x[i],
                    t_x: self.t_x[i],
                    t: self.t[i],
                },
                self.w[i],
            )
        })
    }
    /// Fails when no customer made a repeat purchase: no model of repeat buying can be fitted.
    pub fn require_repeat_buyers(&self) -> Result<(), DataError> {
        if self.x.iter().all(|&x| x == 0.0) {
            return Err(DataError::Degenerate(
                "no customer made a repeat purchase (every frequency is 0): the purchase rate cannot be estimated".into(),
            ));
        }
        Ok(())
    }
}

/// Check one row's invariants (see [`Rfm`]).
pub fn validate_rfm(i: usize, r: &RfmRow) -> Result<(), DataError> {
    check_count(i, "frequency", r.x)?;
    check_nonneg(i, "recency", r.t_x)?;
    check_nonneg(i, "T", r.t)?;
    if r.t == 0.0 {
        return Err(DataError::Inconsistent {
            row: i,
            reason: "T = 0: a customer must be observed for some time".into(),
        });
    }
    if r.t_x > r.t {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "recency {} > T {}: the last purchase cannot come after the end of observation",
                r.t_x, r.t
            ),
        });
    }
    if r.x == 0.0 && r.t_x != 0.0 {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "frequency 0 with recency {}: recency must be 0 without repeat purchases",
                r.t_x
            ),
        });
    }
    if r.x > 0.0 && r.t_x == 0.0 {
        return Err(DataError::Inconsistent {
            row: i,
            reason: format!(
                "frequency {} with recency 0: repeat purchases must come after the first",
                r.x
            ),
        });
    }
    Ok(())
}

/// The smaller of two optional row numbers.
pub(crate) fn earliest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// For each group, its first row of positive weight (`usize::MAX` if none): a second pass over
/// the rows, taken only when some weight is 0.
pub(crate) fn first_positive_rows<T, const K: usize>(
    rows: &[T],
    g: &Groups<K>,
    key: impl Fn(&T) -> ([u64; K], f64),
) -> Vec<usize> {
    let mut first = vec![usize::MAX; g.len()];
    for (i, t) in rows.iter().enumerate() {
        let (k, w) = key(t);
        if w > 0.0 {
            if let Some(j) = g.table.find(&k) {
                let f = &mut first[j as usize];
                if *f == usize::MAX {
                    *f = i;
                }
            }
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(x: f64, t_x: f64, t: f64) -> RfmRow {
        RfmRow { x, t_x, t }
    }

    #[test]
    fn group_rows_maps_every_row_to_its_distinct_value() {
        let rows = [
            row(0., 0., 10.),
            row(2., 5., 10.),
            row(0., 0., 10.),
            row(2., 5., 11.),
        ];
        let g = group_rows(rows.iter().copied());
        assert_eq!(g.distinct.len(), 3);
        assert_eq!(g.index, vec![0, 1, 0, 2]);
        assert_eq!(g.first, vec![0, 1, 3]);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(g.distinct[g.index[i] as usize], *r);
        }
    }

    /// Row-by-row validation and grouping, as `Rfm::weighted` did before it worked in chunks:
    /// the reference for the chunked, per-distinct-value implementation.
    fn row_by_row(rows: &[(RfmRow, f64)]) -> Result<(Vec<(RfmRow, f64)>, f64), DataError> {
        let mut index: HashMap<(u64, u64, u64), usize> = HashMap::new();
        let (mut out, mut total) = (Vec::<(RfmRow, f64)>::new(), 0.0);
        for (i, (r, w)) in rows.iter().enumerate() {
            validate_rfm(i, r)?;
            check_nonneg(i, "weight", *w)?;
            if *w == 0.0 {
                continue;
            }
            match index.get(&row_key(r)) {
                Some(&j) => out[j].1 += w,
                None => {
                    index.insert(row_key(r), out.len());
                    out.push((*r, *w));
                }
            }
            total += w;
        }
        if out.is_empty() {
            return Err(DataError::Empty);
        }
        Ok((out, total))
    }

    /// `n` rows drawn from `distinct` values (a few of them invalid when `bad`), weights whole
    /// numbers (so any order of summation is exact), some 0 when `zeros`.
    fn draw(n: usize, distinct: u64, bad: bool, zeros: bool, seed: u64) -> Vec<(RfmRow, f64)> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 33
        };
        (0..n)
            .map(|_| {
                let v = next() % distinct;
                let x = (v % 9) as f64;
                let t = 10.0 + (v / 9) as f64 * 0.5;
                let t_x = if x == 0.0 {
                    0.0
                } else {
                    t * ((v % 4) as f64 + 1.0) / 4.0
                };
                let mut r = row(x, t_x, t);
                if bad && next() % 50_000 == 0 {
                    r.t_x = t + 1.0;
                }
                let mut w = (1 + next() % 3) as f64;
                if zeros && next() % 4 == 0 {
                    w = 0.0;
                }
                if bad && next() % 70_000 == 0 {
                    w = -2.0;
                }
                (r, w)
            })
            .collect()
    }

    #[test]
    fn chunked_grouping_equals_row_by_row() {
        use crate::group::CHUNK;
        // One chunk and many (on several threads past 2^17 rows); valid, invalid and
        // zero-weight rows; a value first seen with weight 0 and later with a positive one.
        let mut cases = Vec::new();
        for (n, distinct) in [
            (7, 5),
            (2_000, 300),
            (3 * CHUNK + 11, 700),
            (300_001, 2_000),
        ] {
            for (bad, zeros) in [(false, false), (false, true), (true, false), (true, true)] {
                cases.push(draw(n, distinct, bad, zeros, n as u64 + 3));
            }
        }
        cases.push(vec![
            (row(1., 1., 5.), 0.0),
            (row(0., 0., 5.), 1.0),
            (row(1., 1., 5.), 2.0),
        ]);
        cases.push(vec![(row(1., 1., 5.), 0.0)]);
        for rows in cases {
            let got = Rfm::from_rows(&rows, |r| *r);
            match row_by_row(&rows) {
                Ok((want, total)) => {
                    let got = got.expect("valid rows");
                    let got_rows: Vec<(RfmRow, f64)> = got.iter().collect();
                    assert_eq!(got_rows, want, "{} rows", rows.len());
                    assert_eq!(got.customers(), total);
                }
                Err(e) => assert_eq!(got.unwrap_err(), e, "{} rows", rows.len()),
            }
        }
    }

    #[test]
    fn groups_identical_rows() {
        let d = Rfm::new(&[row(0., 0., 10.), row(2., 5., 10.), row(0., 0., 10.)]).unwrap();
        assert_eq!(d.distinct(), 2);
        assert_eq!(d.customers(), 3.0);
        let w: Vec<f64> = d.iter().map(|(_, w)| w).collect();
        assert_eq!(w, vec![2.0, 1.0]);
    }

    #[test]
    fn rejects_bad_rows_with_their_index() {
        let e = Rfm::new(&[row(1., 2., 3.), row(1., 4., 3.)]).unwrap_err();
        assert_eq!(e.row(), Some(1));
        assert!(matches!(
            Rfm::new(&[row(f64::NAN, 0., 1.)]),
            Err(DataError::NotFinite {
                field: "frequency",
                ..
            })
        ));
        assert!(matches!(
            Rfm::new(&[row(1.5, 1., 2.)]),
            Err(DataError::NotInteger { .. })
        ));
        assert!(matches!(
            Rfm::new(&[row(-1., 0., 2.)]),
            Err(DataError::Negative { .. })
        ));
        assert!(matches!(Rfm::new(&[]), Err(DataError::Empty)));
        assert!(Rfm::new(&[row(0., 0., 2.)])
            .unwrap()
            .require_repeat_buyers()
            .is_err());
    }
}
