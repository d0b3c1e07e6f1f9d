//! One record written by the decision layer rather than imported: a playbook's support case or
//! CRM interaction ([`crate::journal::Channel::Record`]).
//!
//! Invariants:
//! - The record is one line of its kind's JSON-lines import format (`docs/schema.md`) and goes
//!   through the importer's own reader and converter, so it meets every rule an imported one
//!   does; it is refused (with the field and reason) otherwise.
//! - Only kinds that refer to nothing but a customer may be written this way
//!   ([`RECORD_KINDS`]); the customer must be stored.
//! - Written with `ON CONFLICT (id) DO NOTHING` inside the caller's transaction: the same
//!   record id twice is one record, and an imported record of that id is never overwritten.

use crate::convert::{convert, Row, Value};
use crate::input::{Mapping, RowSource};
use crate::journal::{t, Sql, P};
use crate::jsonl::JsonlSource;
use crate::schema::{spec, ColType};
use crate::StoreError;
use std::path::Path;
use tenure_core::RecordKind;

/// The kinds an outbox `record` item may create.
pub const RECORD_KINDS: [RecordKind; 2] = [RecordKind::Cases, RecordKind::Interactions];

fn refused(kind: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("a playbook's {kind} record was refused: {reason}"))
}

/// Insert one record of `kind` (named as in [`RecordKind::as_str`]) from its JSON-lines
/// text; true when it was new.
pub(crate) fn insert(db: &mut dyn Sql, kind: &str, json: &str) -> Result<bool, StoreError> {
    let k: RecordKind = kind
        .parse()
        .ok()
        .filter(|k| RECORD_KINDS.contains(k))
        .ok_or_else(|| refused(kind, "only cases and interactions can be created"))?;
    let spec = spec(k);
    let mapping = Mapping {
        spec,
        pairs: &[],
        kind,
    };
    let place = Path::new("action");
    let mut source =
        JsonlSource::new(json.as_bytes(), place, &mapping).map_err(|e| refused(kind, e))?;
    let raw = match source.next_row().map_err(|e| refused(kind, e))? {
        Some(Ok(raw)) => raw,
        Some(Err(e)) => return Err(refused(kind, e.in_file(place))),
        None => return Err(refused(kind, "no record")),
    };
    let row = Row {
        raw: &raw,
        locs: source.locs(),
        spec,
    };
    let converted = convert(k, &row).map_err(|e| refused(kind, e.in_file(place)))?;
    let customer = converted
        .values
        .get(1)
        .and_then(Value::to_text)
        .unwrap_or_default();
    let known = db.rows("SELECT 1 FROM customers WHERE id = $1", &[t(&customer)])?;
    if known.is_empty() {
        return Err(refused(kind, format!("no stored customer `{customer}`")));
    }
    let pg = db.is_postgres();
    let texts: Vec<Option<String>> = converted.values.iter().map(Value::to_text).collect();
    let mut params = Vec::with_capacity(spec.db.len());
    let mut slots = Vec::with_capacity(spec.db.len());
    for (n, (col, text)) in spec.db.iter().zip(&texts).enumerate() {
        let slot = format!("${}", n + 1);
        match col.ty {
            ColType::Int => {
                let v = match text {
                    Some(s) => Some(s.parse::<i64>().map_err(|e| refused(kind, e))?),
                    None => None,
                };
                params.push(P::Int(v));
                slots.push(slot);
            }
            ty => {
                params.push(P::Text(text.as_deref()));
                slots.push(match (pg, ty) {
                    (true, ColType::Text) | (false, _) => slot,
                    (true, ty) => format!("CAST({slot} AS TEXT)::{}", ty.postgres()),
                });
            }
        }
    }
    let names: Vec<&str> = spec.db.iter().map(|c| c.name).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
        spec.table,
        names.join(", "),
        slots.join(", ")
    );
    Ok(db.exec(&sql, &params)? > 0)
}
