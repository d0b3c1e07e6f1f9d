//! [`Store::load`](crate::Store::load): the stored records into a [`Dataset`], streaming each
//! table once (no `ORDER BY`: the builder sorts with a counting sort on the customer).
//!
//! The same column lists and row handlers serve both backends; they differ only in how a day
//! is read (SQLite: the first ten bytes of the UTC text; PostgreSQL: the date difference,
//! computed by the server) and how a usage quantity is read (SQLite: its decimal text;
//! PostgreSQL: `float8`).

use crate::dataset::{day_of_text, Dataset, DatasetBuilder, Day, LoadOptions};
use crate::error::StoreError;
use std::collections::HashSet;
use tenure_core::{
    BillingInterval, CaseStatus, Cohort, CostCategory, CostTarget, Currency, FeedbackKind,
    InteractionKind, MinorUnits, PaymentKind, RecordId, SubscriptionStatus, TransactionKind,
};

/// Above this many customer ids, `only` filters rows as they are read instead of in SQL.
const SQL_FILTER_MAX: usize = 500;

/// One row's cells, by position.
pub(crate) trait Cells {
    fn text(&self, i: usize) -> Result<Option<&str>, String>;
    fn int(&self, i: usize) -> Result<Option<i64>, String>;
    fn day(&self, i: usize) -> Result<Option<Day>, String>;
    fn quantity(&self, i: usize) -> Result<Option<f64>, String>;
}

/// The table, the columns (in handler order) and the `WHERE` on `customer_id`, if any.
pub(crate) struct Query {
    pub table: &'static str,
    pub columns: &'static [(&'static str, Col)],
    /// Whether `only` restricts the rows (and how: costs keep their unattached rows).
    pub filter: Filter,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Text,
    Int,
    Day,
    Quantity,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    None,
    Customer,
    CustomerOrShared,
}

pub(crate) const CUSTOMERS: Query = Query {
    table: "customers",
    columns: &[
        ("id", Col::Text),
        ("acquired_at", Col::Day),
        ("channel", Col::Text),
        ("plan", Col::Text),
        ("region", Col::Text),
        ("referred_by", Col::Text),
    ],
    filter: Filter::None,
};
pub(crate) const TRANSACTIONS: Query = Query {
    table: "transactions",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("date", Col::Day),
        ("amount_minor", Col::Int),
        ("cogs_minor", Col::Int),
        ("currency", Col::Text),
        ("kind", Col::Text),
    ],
    filter: Filter::Customer,
};
pub(crate) const SUBSCRIPTIONS: Query = Query {
    table: "subscriptions",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("plan", Col::Text),
        ("started_at", Col::Day),
        ("ended_at", Col::Day),
        ("seats", Col::Int),
        ("amount_minor", Col::Int),
        ("currency", Col::Text),
        ("billing_interval", Col::Text),
        ("status", Col::Text),
    ],
    filter: Filter::Customer,
};
pub(crate) const COSTS: Query = Query {
    table: "costs",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("date", Col::Day),
        ("amount_minor", Col::Int),
        ("currency", Col::Text),
        ("category", Col::Text),
        ("channel", Col::Text),
        ("cohort", Col::Text),
    ],
    filter: Filter::CustomerOrShared,
};
pub(crate) const USAGE: Query = Query {
    table: "usage_events",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("user_id", Col::Text),
        ("feature", Col::Text),
        ("occurred_at", Col::Day),
        ("quantity", Col::Quantity),
    ],
    filter: Filter::Customer,
};
pub(crate) const FEEDBACK: Query = Query {
    table: "feedback",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("occurred_at", Col::Day),
        ("kind", Col::Text),
        ("score", Col::Int),
    ],
    filter: Filter::Customer,
};

pub(crate) const CASES: Query = Query {
    table: "cases",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("opened_at", Col::Day),
        ("closed_at", Col::Day),
        ("severity", Col::Int),
        ("status", Col::Text),
        ("category", Col::Text),
        ("product", Col::Text),
        ("owner", Col::Text),
        ("escalated", Col::Int),
        ("escalated_to", Col::Text),
        ("satisfaction", Col::Int),
    ],
    filter: Filter::Customer,
};
pub(crate) const PAYMENTS: Query = Query {
    table: "payment_events",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("occurred_at", Col::Day),
        ("kind", Col::Text),
        ("amount_minor", Col::Int),
        ("currency", Col::Text),
    ],
    filter: Filter::Customer,
};
pub(crate) const INTERACTIONS: Query = Query {
    table: "interactions",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("occurred_at", Col::Day),
        ("kind", Col::Text),
        ("owner", Col::Text),
    ],
    filter: Filter::Customer,
};
pub(crate) const CAMPAIGNS: Query = Query {
    table: "campaigns",
    columns: &[
        ("id", Col::Text),
        ("name", Col::Text),
        ("channel", Col::Text),
        ("started_at", Col::Day),
        ("cost_minor", Col::Int),
        ("currency", Col::Text),
    ],
    filter: Filter::None,
};
pub(crate) const TOUCHES: Query = Query {
    table: "touches",
    columns: &[
        ("id", Col::Text),
        ("customer_id", Col::Text),
        ("campaign_id", Col::Text),
        ("sent_at", Col::Day),
        ("opened", Col::Int),
        ("clicked", Col::Int),
        ("replied", Col::Int),
    ],
    filter: Filter::Customer,
};

/// The queries to run for `opts`, customers first, campaigns before touches. `id` is read only with `opts.ids` (and for
/// customers).
pub(crate) fn queries(opts: &LoadOptions) -> Vec<&'static Query> {
    let mut q = vec![&CUSTOMERS];
    for (on, query) in [
        (opts.transactions, &TRANSACTIONS),
        (opts.subscriptions, &SUBSCRIPTIONS),
        (opts.costs, &COSTS),
        (opts.usage, &USAGE),
        (opts.feedback, &FEEDBACK),
        (opts.cases, &CASES),
        (opts.payments, &PAYMENTS),
        (opts.interactions, &INTERACTIONS),
        (opts.campaigns || opts.touches, &CAMPAIGNS),
        (opts.touches, &TOUCHES),
    ] {
        if on {
            q.push(query);
        }
    }
    q
}

/// The SQL of a query: `expr(name, col)` renders each column for the backend; `marks` is the
/// backend's parameter list for the customer filter (when filtered in SQL).
pub(crate) fn sql(
    q: &Query,
    with_id: bool,
    expr: impl Fn(&str, Col) -> String,
    marks: Option<&str>,
) -> String {
    let cols: Vec<String> = q
        .columns
        .iter()
        .map(|(name, col)| {
            if *name == "id" && !with_id {
                "NULL".to_string()
            } else {
                expr(name, *col)
            }
        })
        .collect();
    let mut s = format!("SELECT {} FROM {}", cols.join(", "), q.table);
    if let Some(m) = marks {
        match q.filter {
            Filter::None => {}
            Filter::Customer => s.push_str(&format!(" WHERE customer_id IN ({m})")),
            Filter::CustomerOrShared => s.push_str(&format!(
                " WHERE customer_id IS NULL OR customer_id IN ({m})"
            )),
        }
    }
    s
}

/// Whether `only` is applied in SQL (small lists) or while reading.
pub(crate) fn sql_filter(opts: &LoadOptions) -> Option<&[String]> {
    opts.only
        .as_deref()
        .filter(|o| !o.is_empty() && o.len() <= SQL_FILTER_MAX)
}

/// Parsed enum values, looked up by their stored text without allocating.
#[derive(Default)]
struct Cache {
    currencies: Vec<(String, Currency)>,
}

impl Cache {
    fn currency(&mut self, s: &str) -> Result<Currency, String> {
        if let Some((_, c)) = self.currencies.iter().find(|(t, _)| t == s) {
            return Ok(*c);
        }
        let c = Currency::parse(s).map_err(|e| e.to_string())?;
        self.currencies.push((s.to_string(), c));
        Ok(c)
    }
}

/// Reads the rows of each query into a builder.
pub(crate) struct Loader {
    pub builder: DatasetBuilder,
    opts: LoadOptions,
    only: Option<HashSet<String>>,
    cache: Cache,
    /// The store's location, for messages.
    place: String,
}

fn need<T>(v: Option<T>, table: &str, col: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("{table}.{col} is NULL"))
}

/// A stored 0/1 boolean.
fn flag(v: Option<i64>, table: &str, col: &str) -> Result<bool, String> {
    match need(v, table, col)? {
        0 => Ok(false),
        1 => Ok(true),
        x => Err(format!("{table}.{col}: {x} is not 0 or 1")),
    }
}

/// A stored small whole number (severity, satisfaction).
fn small(v: i64, table: &str, col: &str) -> Result<u8, String> {
    u8::try_from(v).map_err(|_| format!("{table}.{col}: {v}"))
}

fn parse_enum<T: std::str::FromStr>(s: &str, table: &str, col: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| format!("{table}.{col}: {e}"))
}

impl Loader {
    pub fn new(opts: &LoadOptions, place: &str) -> Self {
        let only = opts
            .only
            .as_ref()
            .filter(|o| o.len() > SQL_FILTER_MAX)
            .map(|o| o.iter().cloned().collect());
        Loader {
            builder: DatasetBuilder::new(opts.ids),
            opts: opts.clone(),
            only,
            cache: Cache::default(),
            place: place.to_string(),
        }
    }

    fn keep(&self, customer: Option<&str>) -> bool {
        match (&self.only, customer) {
            (None, _) => true,
            (Some(_), None) => true,
            (Some(set), Some(c)) => set.contains(c),
        }
    }

    /// Handle one row of `q`.
    pub fn row(&mut self, q: &Query, r: &dyn Cells) -> Result<(), StoreError> {
        self.row_inner(q, r).map_err(|e| {
            StoreError::Other(format!(
                "{}: a stored value does not read back: {e}",
                self.place
            ))
        })
    }

    fn row_inner(&mut self, q: &Query, r: &dyn Cells) -> Result<(), String> {
        let t = q.table;
        let id = r.text(0)?.unwrap_or("");
        match q.table {
            "customers" => {
                let acquired = need(r.day(1)?, t, "acquired_at")?;
                self.builder.add_customer(
                    need(r.text(0)?, t, "id")?,
                    acquired,
                    r.text(2)?,
                    r.text(3)?,
                    r.text(4)?,
                    r.text(5)?,
                );
            }
            "transactions" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let currency = self.cache.currency(need(r.text(5)?, t, "currency")?)?;
                let kind: TransactionKind = parse_enum(need(r.text(6)?, t, "kind")?, t, "kind")?;
                self.builder.add_transaction(
                    id,
                    customer,
                    need(r.day(2)?, t, "date")?,
                    need(r.int(3)?, t, "amount_minor")?,
                    r.int(4)?,
                    currency,
                    kind,
                );
            }
            "subscriptions" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let currency = self.cache.currency(need(r.text(7)?, t, "currency")?)?;
                let interval: BillingInterval =
                    parse_enum(need(r.text(8)?, t, "billing_interval")?, t, "interval")?;
                let status: SubscriptionStatus =
                    parse_enum(need(r.text(9)?, t, "status")?, t, "status")?;
                let seats = need(r.int(5)?, t, "seats")?;
                let seats = u32::try_from(seats).map_err(|_| format!("{t}.seats: {seats}"))?;
                self.builder.add_subscription(
                    id,
                    customer,
                    need(r.text(2)?, t, "plan")?,
                    need(r.day(3)?, t, "started_at")?,
                    r.day(4)?,
                    seats,
                    need(r.int(6)?, t, "amount_minor")?,
                    currency,
                    interval,
                    status,
                );
            }
            "costs" => {
                let customer = r.text(1)?;
                if !self.keep(customer) {
                    return Ok(());
                }
                let currency = self.cache.currency(need(r.text(4)?, t, "currency")?)?;
                let category: CostCategory =
                    parse_enum(need(r.text(5)?, t, "category")?, t, "category")?;
                let target = match (customer, r.text(6)?, r.text(7)?) {
                    (Some(c), _, _) => CostTarget::Customer(
                        RecordId::new(c).map_err(|e| format!("{t}.customer_id: {e}"))?,
                    ),
                    (None, Some(ch), _) => CostTarget::Channel(ch.to_string()),
                    (None, None, Some(m)) => CostTarget::Cohort(
                        Cohort::parse(m).map_err(|e| format!("{t}.cohort: {e}"))?,
                    ),
                    (None, None, None) => return Err(format!("{t}: a cost attached to nothing")),
                };
                self.builder.add_cost(
                    id,
                    need(r.day(2)?, t, "date")?,
                    need(r.int(3)?, t, "amount_minor")?,
                    currency,
                    category,
                    &target,
                );
            }
            "usage_events" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                self.builder.add_usage(
                    id,
                    customer,
                    r.text(2)?,
                    need(r.text(3)?, t, "feature")?,
                    need(r.day(4)?, t, "occurred_at")?,
                    need(r.quantity(5)?, t, "quantity")?,
                );
            }
            "feedback" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let kind: FeedbackKind = parse_enum(need(r.text(3)?, t, "kind")?, t, "kind")?;
                let score = need(r.int(4)?, t, "score")?;
                let score = u8::try_from(score).map_err(|_| format!("{t}.score: {score}"))?;
                self.builder.add_feedback(
                    id,
                    customer,
                    need(r.day(2)?, t, "occurred_at")?,
                    kind,
                    score,
                );
            }
            "cases" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let status: CaseStatus = parse_enum(need(r.text(5)?, t, "status")?, t, "status")?;
                let severity = small(need(r.int(4)?, t, "severity")?, t, "severity")?;
                let satisfaction = match r.int(11)? {
                    Some(v) => Some(small(v, t, "satisfaction")?),
                    None => None,
                };
                self.builder.add_case(
                    id,
                    customer,
                    need(r.day(2)?, t, "opened_at")?,
                    r.day(3)?,
                    severity,
                    status,
                    r.text(6)?,
                    r.text(7)?,
                    r.text(8)?,
                    flag(r.int(9)?, t, "escalated")?,
                    r.text(10)?,
                    satisfaction,
                );
            }
            "payment_events" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let kind: PaymentKind = parse_enum(need(r.text(3)?, t, "kind")?, t, "kind")?;
                let amount = match (r.int(4)?, r.text(5)?) {
                    (Some(units), Some(c)) => Some(MinorUnits::new(units, self.cache.currency(c)?)),
                    (None, None) => None,
                    _ => return Err(format!("{t}: an amount without a currency, or the reverse")),
                };
                self.builder.add_payment(
                    id,
                    customer,
                    need(r.day(2)?, t, "occurred_at")?,
                    kind,
                    amount,
                );
            }
            "interactions" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                let kind: InteractionKind = parse_enum(need(r.text(3)?, t, "kind")?, t, "kind")?;
                self.builder.add_interaction(
                    id,
                    customer,
                    need(r.day(2)?, t, "occurred_at")?,
                    kind,
                    r.text(4)?,
                );
            }
            "campaigns" => {
                let currency = self.cache.currency(need(r.text(5)?, t, "currency")?)?;
                let cost = MinorUnits::new(need(r.int(4)?, t, "cost_minor")?, currency);
                self.builder.add_campaign(
                    need(r.text(0)?, t, "id")?,
                    need(r.text(1)?, t, "name")?,
                    r.text(2)?,
                    r.day(3)?,
                    cost,
                );
            }
            "touches" => {
                let customer = need(r.text(1)?, t, "customer_id")?;
                if !self.keep(Some(customer)) {
                    return Ok(());
                }
                self.builder.add_touch(
                    id,
                    need(r.text(2)?, t, "campaign_id")?,
                    customer,
                    need(r.day(3)?, t, "sent_at")?,
                    flag(r.int(4)?, t, "opened")?,
                    flag(r.int(5)?, t, "clicked")?,
                    flag(r.int(6)?, t, "replied")?,
                );
            }
            other => return Err(format!("unknown table {other}")),
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Dataset, StoreError> {
        let place = self.place;
        self.builder
            .build(self.opts)
            .map_err(|e| StoreError::Other(format!("{place}: {e}")))
    }
}

// ---- SQLite ----

impl Cells for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<&str>, String> {
        self.get_ref(i)
            .and_then(|v| v.as_str_or_null().map_err(Into::into))
            .map_err(|e| e.to_string())
    }
    fn int(&self, i: usize) -> Result<Option<i64>, String> {
        self.get_ref(i)
            .and_then(|v| v.as_i64_or_null().map_err(Into::into))
            .map_err(|e| e.to_string())
    }
    fn day(&self, i: usize) -> Result<Option<Day>, String> {
        match self.text(i)? {
            None => Ok(None),
            Some(s) => day_of_text(s)
                .map(Some)
                .ok_or_else(|| format!("`{s}` is not a timestamp")),
        }
    }
    fn quantity(&self, i: usize) -> Result<Option<f64>, String> {
        match self.text(i)? {
            None => Ok(None),
            Some(s) => s
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("`{s}` is not a quantity")),
        }
    }
}

/// Load a dataset from a SQLite connection.
pub(crate) fn load_sqlite(
    conn: &rusqlite::Connection,
    place: &str,
    opts: &LoadOptions,
) -> Result<Dataset, StoreError> {
    let e = |source| StoreError::Sqlite {
        place: place.to_string(),
        source,
    };
    let mut loader = Loader::new(opts, place);
    let only = sql_filter(opts);
    let marks = only.map(|o| {
        (1..=o.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    // One read transaction: every table from the same snapshot.
    conn.execute_batch("BEGIN").map_err(e)?;
    let result = (|| {
        for q in queries(opts) {
            let text = sql(
                q,
                opts.ids || q.table == "customers" || q.table == "campaigns",
                |n, _| n.to_string(),
                {
                    if q.filter == Filter::None {
                        None
                    } else {
                        marks.as_deref()
                    }
                },
            );
            let mut st = conn.prepare(&text).map_err(e)?;
            let params: Vec<&dyn rusqlite::ToSql> = match (only, q.filter) {
                (Some(o), f) if f != Filter::None => {
                    o.iter().map(|s| s as &dyn rusqlite::ToSql).collect()
                }
                _ => Vec::new(),
            };
            let mut rows = st.query(params.as_slice()).map_err(e)?;
            while let Some(r) = rows.next().map_err(e)? {
                loader.row(q, r)?;
            }
        }
        Ok(())
    })();
    let _ = conn.execute_batch("COMMIT");
    result?;
    loader.finish()
}

// ---- PostgreSQL ----

impl Cells for postgres::Row {
    fn text(&self, i: usize) -> Result<Option<&str>, String> {
        self.try_get::<_, Option<&str>>(i)
            .map_err(|e| e.to_string())
    }
    fn int(&self, i: usize) -> Result<Option<i64>, String> {
        self.try_get::<_, Option<i64>>(i).map_err(|e| e.to_string())
    }
    fn day(&self, i: usize) -> Result<Option<Day>, String> {
        self.try_get::<_, Option<i32>>(i).map_err(|e| e.to_string())
    }
    fn quantity(&self, i: usize) -> Result<Option<f64>, String> {
        self.try_get::<_, Option<f64>>(i).map_err(|e| e.to_string())
    }
}

/// Load a dataset from a PostgreSQL connection (one repeatable-read transaction).
pub(crate) fn load_postgres(
    client: &mut postgres::Client,
    place: &str,
    opts: &LoadOptions,
) -> Result<Dataset, StoreError> {
    use postgres::fallible_iterator::FallibleIterator;
    let e = |source| StoreError::Postgres {
        place: place.to_string(),
        source,
    };
    let mut loader = Loader::new(opts, place);
    let only: Option<Vec<String>> = sql_filter(opts).map(<[String]>::to_vec);
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(e)?;
    for q in queries(opts) {
        let filtered = only.is_some() && q.filter != Filter::None;
        let text = sql(
            q,
            opts.ids || q.table == "customers" || q.table == "campaigns",
            |n, col| match col {
                Col::Day => format!("(({n} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"),
                Col::Quantity => format!("{n}::float8"),
                Col::Int | Col::Text => n.to_string(),
            },
            filtered.then_some("SELECT unnest($1::text[])"),
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = match (&only, filtered) {
            (Some(o), true) => vec![o],
            _ => Vec::new(),
        };
        let mut rows = tx.query_raw(text.as_str(), params).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            loader.row(q, &r)?;
        }
    }
    tx.commit().map_err(e)?;
    loader.finish()
}
