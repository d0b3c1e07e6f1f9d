//! Sufficient statistics the models fit on, validated and grouped: identical rows are stored
//! once with a weight, so a fit costs in proportion to distinct rows, not customers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
    let mut map: RowMap<(u64, u64, u64), u32> = RowMap::default();
    let mut g = Grouping {
        index: Vec::with_capacity(rows.len()),
        ..Grouping::default()
    };
    for (i, r) in rows.enumerate() {
        let next = g.distinct.len() as u32;
        let j = *map.entry(row_key(&r)).or_insert(next);
        if j == next {
            g.distinct.push(r);
            g.first.push(i);
        }
        g.index.push(j);
    }
    g
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
        Self::weighted(rows.iter().map(|r| (*r, 1.0)))
    }

    /// Validate and group rows with weights (number of customers each row stands for).
    pub fn weighted(rows: impl IntoIterator<Item = (RfmRow, f64)>) -> Result<Rfm, DataError> {
        let mut index: RowMap<(u64, u64, u64), usize> = RowMap::default();
        let mut out = Rfm::default();
        for (i, (r, w)) in rows.into_iter().enumerate() {
            validate_rfm(i, &r)?;
            check_nonneg(i, "weight", w)?;
            if w == 0.0 {
                continue;
            }
            let key = row_key(&r);
            match index.get(&key) {
                Some(&j) => out.w[j] += w,
                None => {
                    index.insert(key, out.x.len());
                    out.x.push(r.x);
                    out.t_x.push(r.t_x);
                    out.t.push(r.t);
                    out.w.push(w);
                }
            }
            out.total += w;
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
