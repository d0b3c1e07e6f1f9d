//! Summary files: read them for model fitting, write the output of
//! [`summarize`](crate::summarize).

use crate::error::{EngineError, FieldError};
use crate::summarize::CustomerSummary;
use crate::transactions::{csv_field, csv_reader, line_of, next_record, open, read_header, Header};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// One row of a summary file, as the models take it. Invariants: `x` is a whole number ≥ 0;
/// `0 ≤ t_x ≤ t`; `weight` is finite and ≥ 0; `monetary` is finite when present. Times are in
/// whatever unit the file uses. The models check the rest (T > 0, t_x = 0 exactly when x = 0);
/// `line` lets a caller point a model's row error back at the file.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The customer id as written; the 1-based data-row number when the file has no id column.
    pub id: String,
    /// Repeat purchases (lifetimes' `frequency`, the papers' x).
    pub x: f64,
    /// Time of the last repeat purchase since the first (`recency`, t_x).
    pub t_x: f64,
    /// Time observed since the first purchase (`T`), or the number of opportunities (`periods`).
    pub t: f64,
    /// Mean repeat-purchase amount (`monetary_value`, zbar); `None` without such a column.
    pub monetary: Option<f64>,
    /// How many customers the row stands for (`weights`); 1 without such a column.
    pub weight: f64,
    /// The 1-based line the row is on (the header is line 1).
    pub line: u64,
}

/// The fields a summary file can have and the header names that give them. Names are compared
/// after trimming, ignoring ASCII case and the characters `_`, `-`, `.` and space — except `T`,
/// which must be exactly `T` (a lower-case `t` is too easily another quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    X,
    Tx,
    T,
    Monetary,
    Weight,
}

impl Field {
    const ALL: [Field; 6] = [
        Field::Id,
        Field::X,
        Field::Tx,
        Field::T,
        Field::Monetary,
        Field::Weight,
    ];

    /// Accepted names, already normalized (see [`normalize`]).
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["customerid", "id", "customer", "custid"],
            Field::X => &["frequency", "x", "freq"],
            Field::Tx => &["recency", "tx"],
            Field::T => &["periods", "nperiods"],
            Field::Monetary => &["monetaryvalue", "monetary", "zbar", "mx"],
            Field::Weight => &["weights", "weight", "count"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Field::Id => "the customer id",
            Field::X => "`frequency` or `x`",
            Field::Tx => "`recency` or `t_x`",
            Field::T => "`T` or `periods`",
            Field::Monetary => "`monetary_value` or `zbar`",
            Field::Weight => "`weights`",
        }
    }

    fn matches(self, header: &str) -> bool {
        let h = header.trim();
        if self == Field::T && h == "T" {
            return true;
        }
        let n = normalize(h);
        self.names().contains(&n.as_str())
    }
}

fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Read a summary CSV (see [`SummaryRow`] for the columns recognised). Required: frequency,
/// recency and T; optional: id, monetary value, weights. Other columns are ignored.
pub fn read_summaries(path: &Path) -> Result<Vec<SummaryRow>, EngineError> {
    let file = open(path)?;
    // A large file gets room up front for as many rows as it could hold at 16 bytes a row (an
    // id and three short numbers), so its rows are not copied as the list grows (room never
    // written is never touched). A small file's list grows as usual: the copies are cheap, and
    // the buffers it outgrows are reused by what follows instead of fresh memory.
    let len = file.metadata().map_or(0, |m| m.len());
    let room = if len >= RESERVE_FROM_BYTES {
        usize::try_from(len / 16).unwrap_or(MAX_ROOM).min(MAX_ROOM)
    } else {
        0
    };
    read_rows(file, path, room)
}

/// Files at least this large get room for their rows up front (see [`read_summaries`]).
const RESERVE_FROM_BYTES: u64 = 16 << 20;

/// The most rows [`read_summaries`] makes room for up front.
const MAX_ROOM: usize = 1 << 24;

/// Read a summary CSV from any reader; `path` only names the source in error messages.
pub fn read_summaries_from<R: Read>(
    reader: R,
    path: &Path,
) -> Result<Vec<SummaryRow>, EngineError> {
    read_rows(reader, path, 0)
}

/// [`read_summaries_from`] with room for `room` rows made up front.
fn read_rows<R: Read>(reader: R, path: &Path, room: usize) -> Result<Vec<SummaryRow>, EngineError> {
    let mut rdr = csv_reader(reader, b',');
    let mut rec = csv::StringRecord::new();
    let header = read_header(&mut rdr, &mut rec, path)?;
    let mut cols: [Option<usize>; 6] = [None; 6];
    for (f, slot) in Field::ALL.iter().zip(cols.iter_mut()) {
        *slot = find(&header, *f, path)?;
    }
    let required = |f: Field| -> Result<usize, EngineError> {
        cols[f as usize].ok_or_else(|| EngineError::MissingColumn {
            path: path.to_path_buf(),
            line: header.line,
            wanted: f.describe().to_string(),
            found: header.names.join(","),
            hint: if f == Field::T && header.names.iter().any(|n| n.trim() == "t") {
                "; the column `t` is not taken for `T`: the name T is case-sensitive".into()
            } else {
                String::new()
            },
        })
    };
    let (x_col, tx_col, t_col) = (
        required(Field::X)?,
        required(Field::Tx)?,
        required(Field::T)?,
    );
    let (id_col, m_col, w_col) = (
        cols[Field::Id as usize],
        cols[Field::Monetary as usize],
        cols[Field::Weight as usize],
    );

    let mut out = Vec::with_capacity(room);
    while next_record(&mut rdr, &mut rec, path, &header.names)? {
        let line = line_of(&rec);
        let bad = |col: usize, reason| EngineError::BadField {
            path: path.to_path_buf(),
            line,
            column: col + 1,
            field: header.names[col].clone(),
            reason,
        };
        let number = |col: usize| -> Result<(f64, &str), EngineError> {
            let text = csv_field(&rec, col, line, path, &header.names)?;
            let v: f64 = text.parse().map_err(|_| {
                bad(
                    col,
                    FieldError::BadNumber {
                        value: text.to_string(),
                    },
                )
            })?;
            if !v.is_finite() {
                return Err(bad(
                    col,
                    FieldError::NotFinite {
                        value: text.to_string(),
                    },
                ));
            }
            Ok((v, text))
        };
        let nonneg = |col: usize| -> Result<(f64, &str), EngineError> {
            let (v, text) = number(col)?;
            if v < 0.0 {
                return Err(bad(
                    col,
                    FieldError::Negative {
                        value: text.to_string(),
                    },
                ));
            }
            Ok((v, text))
        };
        let (x, x_text) = nonneg(x_col)?;
        if x.fract() != 0.0 {
            return Err(bad(
                x_col,
                FieldError::NotWhole {
                    value: x_text.to_string(),
                },
            ));
        }
        let (t_x, tx_text) = nonneg(tx_col)?;
        let (t, t_text) = nonneg(t_col)?;
        if t_x > t {
            return Err(bad(
                tx_col,
                FieldError::Inconsistent {
                    value: tx_text.to_string(),
                    why: format!(
                        "the last purchase comes after the end of observation ({} = {t_text})",
                        header.names[t_col]
                    ),
                },
            ));
        }
        let monetary = match m_col {
            Some(c) => Some(number(c)?.0),
            None => None,
        };
        let weight = match w_col {
            Some(c) => nonneg(c)?.0,
            None => 1.0,
        };
        let id = match id_col {
            Some(c) => csv_field(&rec, c, line, path, &header.names)?.to_string(),
            None => (out.len() + 1).to_string(),
        };
        out.push(SummaryRow {
            id,
            x,
            t_x,
            t,
            monetary,
            weight,
            line,
        });
    }
    if out.is_empty() {
        return Err(EngineError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// The column giving `f`, if any; two such columns are an error.
fn find(header: &Header, f: Field, path: &Path) -> Result<Option<usize>, EngineError> {
    let mut hits = header
        .names
        .iter()
        .enumerate()
        .filter(|(_, n)| f.matches(n))
        .map(|(i, _)| i);
    let first = hits.next();
    if let (Some(a), Some(b)) = (first, hits.next()) {
        return Err(EngineError::DuplicateColumn {
            path: path.to_path_buf(),
            line: header.line,
            field: f.describe().to_string(),
            first: a + 1,
            second: b + 1,
        });
    }
    Ok(first)
}

/// Write summaries as CSV with lifetimes' column names: `customer_id,frequency,recency,T,
/// monetary_value`, plus `frequency_holdout,monetary_value_holdout,duration_holdout` when any row
/// has a holdout (a row without one gets empty holdout fields). Values are written as computed:
/// with rounding to N decimals, every time and money value has exactly N decimals.
pub fn write_summaries(path: &Path, rows: &[CustomerSummary]) -> Result<(), EngineError> {
    let file = File::create(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    write_summaries_to(std::io::BufWriter::new(file), path, rows)
}

/// Write summaries (as [`write_summaries`]) to any writer; `path` only names it in errors.
pub fn write_summaries_to<W: Write>(
    writer: W,
    path: &Path,
    rows: &[CustomerSummary],
) -> Result<(), EngineError> {
    let io = |e: csv::Error| EngineError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    };
    let mut w = csv::Writer::from_writer(writer);
    let holdout = rows.iter().any(|r| r.holdout.is_some());
    let mut head = vec!["customer_id", "frequency", "recency", "T", "monetary_value"];
    if holdout {
        head.extend([
            "frequency_holdout",
            "monetary_value_holdout",
            "duration_holdout",
        ]);
    }
    w.write_record(&head).map_err(io)?;
    let mut rec: Vec<String> = Vec::with_capacity(head.len());
    for r in rows {
        rec.clear();
        rec.push(r.customer_id.clone());
        rec.push(r.frequency.to_string());
        rec.push(r.recency.to_string());
        rec.push(r.t.to_string());
        rec.push(r.monetary_value.to_string());
        if holdout {
            match &r.holdout {
                Some(h) => {
                    rec.push(h.frequency.to_string());
                    rec.push(h.monetary_value.to_string());
                    rec.push(h.duration.to_string());
                }
                None => rec.extend([String::new(), String::new(), String::new()]),
            }
        }
        w.write_record(&rec).map_err(io)?;
    }
    w.flush().map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recognises_header_names() {
        assert!(Field::X.matches("Frequency"));
        assert!(Field::Tx.matches("t_x"));
        assert!(Field::Tx.matches("T_X"));
        assert!(Field::T.matches("T"));
        assert!(Field::T.matches(" T "));
        assert!(!Field::T.matches("t"));
        assert!(Field::T.matches("periods"));
        assert!(Field::Monetary.matches("monetary_value"));
        assert!(Field::Monetary.matches("zbar"));
        assert!(Field::Id.matches("ID"));
        assert!(Field::Id.matches("Customer ID"));
        assert!(Field::Weight.matches("weights"));
        assert!(!Field::X.matches("frequency_holdout"));
    }
}
