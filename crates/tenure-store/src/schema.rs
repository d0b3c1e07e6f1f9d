//! The tables of the store as data: each kind's file columns (what a CSV header or a JSON key
//! may name, `docs/schema.md`), its database columns and types, and the references checked on
//! import. The SQL that the import runs is generated from these, the same text for both
//! backends except the types of the staging table; the migrations define the real tables and a
//! test checks the two agree.

use tenure_core::RecordKind;

/// One migration: a version, a name and its SQL for each backend. Applied in order, each in its
/// own transaction, recorded in `tenure_schema_version`.
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, embedded in the binary. Append only: a released migration never changes.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "records",
        sqlite: include_str!("../migrations/sqlite/0001_records.sql"),
        postgres: include_str!("../migrations/postgres/0001_records.sql"),
    },
    Migration {
        version: 2,
        name: "journal",
        sqlite: include_str!("../migrations/sqlite/0002_journal.sql"),
        postgres: include_str!("../migrations/postgres/0002_journal.sql"),
    },
    Migration {
        version: 3,
        name: "tokens",
        sqlite: include_str!("../migrations/sqlite/0003_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0003_tokens.sql"),
    },
    Migration {
        version: 4,
        name: "wider_records",
        sqlite: include_str!("../migrations/sqlite/0004_wider_records.sql"),
        postgres: include_str!("../migrations/postgres/0004_wider_records.sql"),
    },
    Migration {
        version: 5,
        name: "record_actions",
        sqlite: include_str!("../migrations/sqlite/0005_record_actions.sql"),
        postgres: include_str!("../migrations/postgres/0005_record_actions.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 5;

/// How a value is stored. SQLite: TEXT, INTEGER, TEXT (UTC, fixed width), TEXT (exact
/// decimal), TEXT (canonical JSON). PostgreSQL: text, bigint, timestamptz, numeric, jsonb.
/// Booleans (cases' `escalated`, touches' flags) are `Int` 0/1 on both backends, `NOT NULL`
/// (absent is false), so one generated SQL text compares and upserts them everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColType {
    Text,
    Int,
    Time,
    Decimal,
    Json,
}

impl ColType {
    pub fn sqlite(self) -> &'static str {
        match self {
            ColType::Int => "INTEGER",
            _ => "TEXT",
        }
    }
    pub fn postgres(self) -> &'static str {
        match self {
            ColType::Text => "TEXT",
            ColType::Int => "BIGINT",
            ColType::Time => "TIMESTAMPTZ",
            ColType::Decimal => "NUMERIC",
            ColType::Json => "JSONB",
        }
    }
}

/// A column of the database table.
pub(crate) struct DbColumn {
    pub name: &'static str,
    pub ty: ColType,
}

/// A column a file may have.
pub(crate) struct FileColumn {
    pub name: &'static str,
    /// Must be in a CSV header (JSON lines: must be in every record).
    pub required: bool,
}

/// A column whose value must be the `id` of a row of another (or the same) table.
pub(crate) struct Reference {
    /// The database column (and the file column: they share the name).
    pub column: &'static str,
    /// The table referred to (`customers`, `campaigns`); also the kind to import first.
    pub table: &'static str,
    /// What one row of `table` is called in messages (`customer`, `campaign`).
    pub noun: &'static str,
    /// Whether a row of the same file may be the one referred to (customers' `referred_by`;
    /// only for a kind that refers to its own table).
    pub same_file: bool,
}

pub(crate) struct KindSpec {
    pub table: &'static str,
    pub file: &'static [FileColumn],
    /// `id` first.
    pub db: &'static [DbColumn],
    pub references: &'static [Reference],
    /// Columns of which each row needs exactly one (costs' attachment); empty for other kinds.
    pub one_of: &'static [&'static str],
}

impl KindSpec {
    /// The index of a file column by its schema name.
    pub fn file_index(&self, name: &str) -> Option<usize> {
        self.file.iter().position(|c| c.name == name)
    }
}

const fn f(name: &'static str, required: bool) -> FileColumn {
    FileColumn { name, required }
}
const fn d(name: &'static str, ty: ColType) -> DbColumn {
    DbColumn { name, ty }
}
use ColType::*;

const fn customer_ref(column: &'static str, same_file: bool) -> Reference {
    Reference {
        column,
        table: "customers",
        noun: "customer",
        same_file,
    }
}

const CUSTOMER_REF: &[Reference] = &[customer_ref("customer_id", false)];

/// The specification of each kind.
pub(crate) fn spec(kind: RecordKind) -> &'static KindSpec {
    match kind {
        RecordKind::Customers => &CUSTOMERS,
        RecordKind::Transactions => &TRANSACTIONS,
        RecordKind::Subscriptions => &SUBSCRIPTIONS,
        RecordKind::Costs => &COSTS,
        RecordKind::Usage => &USAGE,
        RecordKind::Feedback => &FEEDBACK,
        RecordKind::Cases => &CASES,
        RecordKind::Payments => &PAYMENTS,
        RecordKind::Interactions => &INTERACTIONS,
        RecordKind::Campaigns => &CAMPAIGNS,
        RecordKind::Touches => &TOUCHES,
    }
}

static CUSTOMERS: KindSpec = KindSpec {
    table: "customers",
    file: &[
        f("id", true),
        f("name", false),
        f("acquired_at", true),
        f("channel", false),
        f("plan", false),
        f("region", false),
        f("referred_by", false),
        f("attributes", false),
    ],
    db: &[
        d("id", Text),
        d("name", Text),
        d("acquired_at", Time),
        d("channel", Text),
        d("plan", Text),
        d("region", Text),
        d("referred_by", Text),
        d("attributes", Json),
    ],
    references: &[customer_ref("referred_by", true)],
    one_of: &[],
};

static TRANSACTIONS: KindSpec = KindSpec {
    table: "transactions",
    file: &[
        f("id", true),
        f("customer_id", true),
        f("date", true),
        f("amount", true),
        f("currency", true),
        f("kind", true),
        f("cogs", false),
        f("product", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("date", Time),
        d("amount_minor", Int),
        d("currency", Text),
        d("kind", Text),
        d("cogs_minor", Int),
        d("product", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static SUBSCRIPTIONS: KindSpec = KindSpec {
    table: "subscriptions",
    file: &[
        f("id", true),
        f("customer_id", true),
        f("plan", true),
        f("started_at", true),
        f("ended_at", false),
        f("seats", true),
        f("amount", true),
        f("currency", true),
        f("interval", true),
        f("status", true),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("plan", Text),
        d("started_at", Time),
        d("ended_at", Time),
        d("seats", Int),
        d("amount_minor", Int),
        d("currency", Text),
        d("billing_interval", Text),
        d("status", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static COSTS: KindSpec = KindSpec {
    table: "costs",
    file: &[
        f("id", true),
        f("date", true),
        f("amount", true),
        f("currency", true),
        f("category", true),
        f("customer_id", false),
        f("channel", false),
        f("cohort", false),
    ],
    db: &[
        d("id", Text),
        d("date", Time),
        d("amount_minor", Int),
        d("currency", Text),
        d("category", Text),
        d("customer_id", Text),
        d("channel", Text),
        d("cohort", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &["customer_id", "channel", "cohort"],
};

static USAGE: KindSpec = KindSpec {
    table: "usage_events",
    file: &[
        f("id", false),
        f("customer_id", true),
        f("user", false),
        f("feature", true),
        f("occurred_at", true),
        f("quantity", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("user_id", Text),
        d("feature", Text),
        d("occurred_at", Time),
        d("quantity", Decimal),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static FEEDBACK: KindSpec = KindSpec {
    table: "feedback",
    file: &[
        f("id", false),
        f("customer_id", true),
        f("occurred_at", true),
        f("kind", true),
        f("score", true),
        f("comment", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("occurred_at", Time),
        d("kind", Text),
        d("score", Int),
        d("comment", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static CASES: KindSpec = KindSpec {
    table: "cases",
    file: &[
        f("id", true),
        f("customer_id", true),
        f("opened_at", true),
        f("closed_at", false),
        f("severity", true),
        f("category", false),
        f("product", false),
        f("status", true),
        f("owner", false),
        f("escalated", false),
        f("escalated_to", false),
        f("satisfaction", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("opened_at", Time),
        d("closed_at", Time),
        d("severity", Int),
        d("category", Text),
        d("product", Text),
        d("status", Text),
        d("owner", Text),
        d("escalated", Int),
        d("escalated_to", Text),
        d("satisfaction", Int),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static PAYMENTS: KindSpec = KindSpec {
    table: "payment_events",
    file: &[
        f("id", true),
        f("customer_id", true),
        f("occurred_at", true),
        f("kind", true),
        f("amount", false),
        f("currency", false),
        f("invoice", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("occurred_at", Time),
        d("kind", Text),
        d("amount_minor", Int),
        d("currency", Text),
        d("invoice", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static INTERACTIONS: KindSpec = KindSpec {
    table: "interactions",
    file: &[
        f("id", true),
        f("customer_id", true),
        f("occurred_at", true),
        f("kind", true),
        f("owner", false),
        f("summary", false),
    ],
    db: &[
        d("id", Text),
        d("customer_id", Text),
        d("occurred_at", Time),
        d("kind", Text),
        d("owner", Text),
        d("summary", Text),
    ],
    references: CUSTOMER_REF,
    one_of: &[],
};

static CAMPAIGNS: KindSpec = KindSpec {
    table: "campaigns",
    file: &[
        f("id", true),
        f("name", true),
        f("channel", false),
        f("started_at", false),
        f("cost", true),
        f("currency", true),
    ],
    db: &[
        d("id", Text),
        d("name", Text),
        d("channel", Text),
        d("started_at", Time),
        d("cost_minor", Int),
        d("currency", Text),
    ],
    references: &[],
    one_of: &[],
};

static TOUCHES: KindSpec = KindSpec {
    table: "touches",
    file: &[
        f("id", false),
        f("campaign_id", true),
        f("customer_id", true),
        f("sent_at", true),
        f("opened", false),
        f("clicked", false),
        f("replied", false),
    ],
    db: &[
        d("id", Text),
        d("campaign_id", Text),
        d("customer_id", Text),
        d("sent_at", Time),
        d("opened", Int),
        d("clicked", Int),
        d("replied", Int),
    ],
    references: &[
        Reference {
            column: "campaign_id",
            table: "campaigns",
            noun: "campaign",
            same_file: false,
        },
        customer_ref("customer_id", false),
    ],
    one_of: &[],
};

/// The staging table of an import (a temporary table, gone at the end of the transaction).
pub(crate) const STAGE: &str = "tenure_stage";

fn columns(spec: &KindSpec, prefix: &str) -> String {
    spec.db
        .iter()
        .map(|c| format!("{prefix}{}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a.c IS DISTINCT FROM b.c OR …` over every column but `id`: true when a row would change.
fn differs(spec: &KindSpec, a: &str, b: &str) -> String {
    spec.db[1..]
        .iter()
        .map(|c| format!("{a}.{0} IS DISTINCT FROM {b}.{0}", c.name))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Rows staged, how many are new, how many would change a stored row.
pub(crate) fn count_sql(spec: &KindSpec) -> String {
    format!(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN t.id IS NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN t.id IS NOT NULL AND ({}) THEN 1 ELSE 0 END), 0) \
         FROM {STAGE} s LEFT JOIN {} t ON t.id = s.id",
        differs(spec, "s", "t"),
        spec.table
    )
}

/// Upsert every staged row by id, leaving rows equal in every column untouched. (`WHERE true`
/// keeps SQLite's parser from reading `ON CONFLICT` as a join constraint.)
pub(crate) fn merge_sql(spec: &KindSpec) -> String {
    let sets = spec.db[1..]
        .iter()
        .map(|c| format!("{0} = excluded.{0}", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {t} ({cols}) SELECT {cols} FROM {STAGE} WHERE true \
         ON CONFLICT (id) DO UPDATE SET {sets} WHERE {cond}",
        t = spec.table,
        cols = columns(spec, ""),
        cond = differs(spec, spec.table, "excluded"),
    )
}

/// The condition on a staged row `s` whose reference names no row of its table.
fn dangling(r: &Reference) -> String {
    let (c, t) = (r.column, r.table);
    let mut cond =
        format!("s.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {t} k WHERE k.id = s.{c})");
    if r.same_file {
        cond.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {STAGE} s2 WHERE s2.id = s.{c})"
        ));
    }
    cond
}

/// Staged rows whose reference names no row of its table: (line, value), the first `limit`
/// by line.
pub(crate) fn reference_sql(r: &Reference, limit: usize) -> String {
    format!(
        "SELECT s.line, s.{c} FROM {STAGE} s WHERE {cond} ORDER BY s.line LIMIT {limit}",
        c = r.column,
        cond = dangling(r)
    )
}

/// The SQL counting staged rows with at least one dangling reference (a row with two is one
/// bad row); `None` for a kind without references.
pub(crate) fn dangling_count_sql(spec: &KindSpec) -> Option<String> {
    if spec.references.is_empty() {
        return None;
    }
    let any = spec
        .references
        .iter()
        .map(|r| format!("({})", dangling(r)))
        .collect::<Vec<_>>()
        .join(" OR ");
    Some(format!("SELECT COUNT(*) FROM {STAGE} s WHERE {any}"))
}

/// `CREATE TEMP TABLE` for the staging table, with each backend's types.
pub(crate) fn stage_ddl(spec: &KindSpec, ty: fn(ColType) -> &'static str, suffix: &str) -> String {
    let cols = spec
        .db
        .iter()
        .map(|c| {
            let key = if c.name == "id" { " PRIMARY KEY" } else { "" };
            format!("{} {}{key}", c.name, ty(c.ty))
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TEMP TABLE {STAGE} (line {} NOT NULL, {cols}){suffix}",
        ty(ColType::Int)
    )
}

/// The columns of the staging table in insertion order: `line`, then the table's.
pub(crate) fn stage_columns(spec: &KindSpec) -> String {
    format!("line, {}", columns(spec, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_starts_with_id_and_names_its_references() {
        for k in RecordKind::ALL {
            let s = spec(*k);
            assert_eq!(s.db[0].name, "id", "{k}");
            assert_eq!(s.file[0].name, "id", "{k}");
            for r in s.references {
                assert!(s.db.iter().any(|c| c.name == r.column), "{k}");
                assert!(s.file_index(r.column).is_some(), "{k}");
            }
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn generated_sql_reads_as_intended() {
        let s = spec(RecordKind::Feedback);
        assert_eq!(
            merge_sql(s),
            "INSERT INTO feedback (id, customer_id, occurred_at, kind, score, comment) \
             SELECT id, customer_id, occurred_at, kind, score, comment FROM tenure_stage WHERE true \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
             occurred_at = excluded.occurred_at, kind = excluded.kind, score = excluded.score, \
             comment = excluded.comment WHERE feedback.customer_id IS DISTINCT FROM \
             excluded.customer_id OR feedback.occurred_at IS DISTINCT FROM excluded.occurred_at \
             OR feedback.kind IS DISTINCT FROM excluded.kind OR feedback.score IS DISTINCT FROM \
             excluded.score OR feedback.comment IS DISTINCT FROM excluded.comment"
        );
        let q = reference_sql(&spec(RecordKind::Customers).references[0], 100);
        assert!(q.contains("s2.id = s.referred_by"), "{q}");
    }

    /// The migrations create every kind's table with exactly the spec's columns, in order,
    /// with the spec's SQLite types (PostgreSQL's names are checked in
    /// `tests/wider_records.rs`; its types by every import, which casts each staged column).
    #[test]
    fn the_migrations_create_the_tables_the_specs_describe() {
        let dir = std::env::temp_dir().join(format!("tenure-schema-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let path = dir.join("t.db");
        drop(crate::SqliteStore::open(&path).expect("a fresh store"));
        let c = rusqlite::Connection::open(&path).expect("the store's file");
        for k in RecordKind::ALL {
            let s = spec(*k);
            let mut st = c
                .prepare(&format!("PRAGMA table_info({})", s.table))
                .expect("table_info");
            let actual: Vec<(String, String)> = st
                .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
                .expect("columns")
                .collect::<Result<_, _>>()
                .expect("columns");
            let expected: Vec<(String, String)> =
                s.db.iter()
                    .map(|d| (d.name.to_string(), d.ty.sqlite().to_string()))
                    .collect();
            assert_eq!(actual, expected, "{k}");
        }
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
