//! A row as read → a validated tenure-core record → the values of its table's columns.
//! Every check of `docs/schema.md` that needs only the row happens here; references to other
//! rows are checked by the importer in SQL.

use crate::error::{Loc, RowError};
use crate::input::{Cell, RawRow};
use crate::schema::KindSpec;
use rust_decimal::Decimal;
use std::fmt::Display;
use std::str::FromStr;
use tenure_core::{
    parse_bool, parse_count, parse_in_range, parse_whole, BillingInterval, Campaign, CaseStatus,
    Cohort, Cost, CostCategory, CostTarget, Currency, Customer, Feedback, FeedbackKind,
    FeedbackScore, Interaction, InteractionKind, InvalidRecord, JsonObject, MinorUnits,
    PaymentEvent, PaymentKind, RecordError, RecordId, RecordKind, Subscription, SubscriptionStatus,
    SupportCase, Timestamp, Touch, Transaction, TransactionKind, UsageEvent,
};

/// A value bound to a column. Money is `Int` minor units; nothing is a float.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Time(Timestamp),
    /// Exact decimal, normalised (`1.50` → `1.5`).
    Decimal(Decimal),
    /// Canonical JSON text.
    Json(String),
}

impl Value {
    /// The value as text for SQLite and for PostgreSQL's COPY; `None` for NULL.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Text(s) | Value::Json(s) => Some(s.clone()),
            Value::Time(t) => Some(t.to_string()),
            Value::Decimal(d) => Some(d.to_string()),
        }
    }
}

fn text(s: Option<String>) -> Value {
    s.map(Value::Text).unwrap_or(Value::Null)
}
fn id_value(s: Option<&RecordId>) -> Value {
    s.map(|i| Value::Text(i.as_str().to_string()))
        .unwrap_or(Value::Null)
}
fn time(t: Option<Timestamp>) -> Value {
    t.map(Value::Time).unwrap_or(Value::Null)
}
/// Booleans are stored as 0/1 on both backends.
fn flag(b: bool) -> Value {
    Value::Int(i64::from(b))
}

/// A converted row: its id (given or derived) and the table's values, `id` first.
pub(crate) struct Converted {
    pub id: String,
    /// The id was derived from the row's content (usage, feedback without `id`).
    pub derived: bool,
    pub values: Vec<Value>,
}

/// A raw row with the names and locations of its kind's columns.
pub(crate) struct Row<'a> {
    pub raw: &'a RawRow,
    pub locs: &'a [Loc],
    pub spec: &'static KindSpec,
}

impl Row<'_> {
    fn index(&self, name: &str) -> usize {
        self.spec
            .file_index(name)
            .expect("converters name only their kind's columns")
    }
    fn cell(&self, name: &str) -> Option<&Cell> {
        self.raw.cells[self.index(name)].as_ref()
    }
    /// An error at the column `name` (where its value is, or where it would be).
    pub fn error(&self, name: &str, reason: impl Display) -> RowError {
        let (line, loc) = match self.cell(name) {
            Some(c) => (c.line, c.loc.clone()),
            None => (self.raw.line, self.locs[self.index(name)].clone()),
        };
        RowError {
            line,
            loc,
            field: name.to_string(),
            reason: reason.to_string(),
        }
    }
    fn invalid(&self, e: InvalidRecord) -> RowError {
        self.error(e.field, e.error)
    }
    /// Trimmed text; `None` when absent or blank.
    fn text(&self, name: &str) -> Option<String> {
        self.cell(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
    fn required_text(&self, name: &str) -> Result<String, RowError> {
        self.text(name)
            .ok_or_else(|| self.error(name, "required value is missing"))
    }
    fn parse<T>(
        &self,
        name: &str,
        f: impl FnOnce(&str) -> Result<T, RecordError>,
    ) -> Result<Option<T>, RowError> {
        match self.text(name) {
            None => Ok(None),
            Some(t) => f(&t).map(Some).map_err(|e| self.error(name, e)),
        }
    }
    fn required<T>(
        &self,
        name: &str,
        f: impl FnOnce(&str) -> Result<T, RecordError>,
    ) -> Result<T, RowError> {
        self.parse(name, f)?
            .ok_or_else(|| self.error(name, "required value is missing"))
    }
    fn id(&self, name: &str) -> Result<Option<RecordId>, RowError> {
        self.parse(name, RecordId::new)
    }
    fn required_id(&self, name: &str) -> Result<RecordId, RowError> {
        self.required(name, RecordId::new)
    }
    fn money(&self, name: &str, currency: Currency) -> Result<Option<MinorUnits>, RowError> {
        self.parse(name, |s| MinorUnits::parse(s, currency))
    }
    /// A boolean column: absent is false.
    fn flag(&self, name: &str) -> Result<bool, RowError> {
        Ok(self.parse(name, parse_bool)?.unwrap_or(false))
    }
    /// Text kept as written (not trimmed; `None` when absent or blank): feedback's `comment`,
    /// interactions' `summary`.
    fn verbatim(&self, name: &str) -> Option<String> {
        self.cell(name)
            .map(|c| c.text.clone())
            .filter(|t| !t.trim().is_empty())
    }
}

/// Convert one row of `kind`.
pub(crate) fn convert(kind: RecordKind, row: &Row<'_>) -> Result<Converted, RowError> {
    match kind {
        RecordKind::Customers => customer(row),
        RecordKind::Transactions => transaction(row),
        RecordKind::Subscriptions => subscription(row),
        RecordKind::Costs => cost(row),
        RecordKind::Usage => usage(row),
        RecordKind::Feedback => feedback(row),
        RecordKind::Cases => case(row),
        RecordKind::Payments => payment(row),
        RecordKind::Interactions => interaction(row),
        RecordKind::Campaigns => campaign(row),
        RecordKind::Touches => touch(row),
    }
}

fn given(id: RecordId, values: Vec<Value>) -> Converted {
    Converted {
        id: id.as_str().to_string(),
        derived: false,
        values,
    }
}

/// Parse a JSON object and write it canonically: keys sorted, no whitespace.
fn canonical_json(s: &str) -> Result<JsonObject, RecordError> {
    let v: serde_json::Value =
        serde_json::from_str(s).map_err(|_| RecordError::NotJsonObject(s.to_string()))?;
    if !v.is_object() {
        return Err(RecordError::NotJsonObject(s.to_string()));
    }
    let mut out = String::with_capacity(s.len());
    write_canonical(&v, &mut out);
    JsonObject::from_canonical(out)
}

pub(crate) fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn customer(r: &Row<'_>) -> Result<Converted, RowError> {
    let c = Customer {
        id: r.required_id("id")?,
        name: r.text("name"),
        acquired_at: r.required("acquired_at", Timestamp::parse)?,
        channel: r.text("channel"),
        plan: r.text("plan"),
        region: r.text("region"),
        referred_by: r.id("referred_by")?,
        attributes: r.parse("attributes", canonical_json)?,
    };
    c.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&c.id)),
        text(c.name),
        Value::Time(c.acquired_at),
        text(c.channel),
        text(c.plan),
        text(c.region),
        id_value(c.referred_by.as_ref()),
        c.attributes
            .map(|a| Value::Json(a.as_str().to_string()))
            .unwrap_or(Value::Null),
    ];
    Ok(given(c.id, values))
}

fn transaction(r: &Row<'_>) -> Result<Converted, RowError> {
    let id = r.required_id("id")?;
    let customer_id = r.required_id("customer_id")?;
    let date = r.required("date", Timestamp::parse)?;
    let currency = r.required("currency", Currency::parse)?;
    let amount = r
        .money("amount", currency)?
        .ok_or_else(|| r.error("amount", "required value is missing"))?;
    let t = Transaction {
        id,
        customer_id,
        date,
        amount,
        kind: r.required("kind", TransactionKind::from_str)?,
        cogs: r.money("cogs", currency)?,
        product: r.text("product"),
    };
    t.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&t.id)),
        id_value(Some(&t.customer_id)),
        Value::Time(t.date),
        Value::Int(t.amount.units()),
        Value::Text(t.amount.currency().code().to_string()),
        Value::Text(t.kind.as_str().to_string()),
        t.cogs.map(|c| Value::Int(c.units())).unwrap_or(Value::Null),
        text(t.product),
    ];
    Ok(given(t.id, values))
}

fn subscription(r: &Row<'_>) -> Result<Converted, RowError> {
    let id = r.required_id("id")?;
    let customer_id = r.required_id("customer_id")?;
    let plan = r.required_text("plan")?;
    let started_at = r.required("started_at", Timestamp::parse)?;
    let ended_at = r.parse("ended_at", Timestamp::parse)?;
    let seats = r.required("seats", parse_count)?;
    let currency = r.required("currency", Currency::parse)?;
    let amount = r
        .money("amount", currency)?
        .ok_or_else(|| r.error("amount", "required value is missing"))?;
    let s = Subscription {
        id,
        customer_id,
        plan,
        started_at,
        ended_at,
        seats,
        amount,
        interval: r.required("interval", BillingInterval::from_str)?,
        status: r.required("status", SubscriptionStatus::from_str)?,
    };
    s.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&s.id)),
        id_value(Some(&s.customer_id)),
        Value::Text(s.plan),
        Value::Time(s.started_at),
        time(s.ended_at),
        Value::Int(i64::from(s.seats)),
        Value::Int(s.amount.units()),
        Value::Text(s.amount.currency().code().to_string()),
        Value::Text(s.interval.as_str().to_string()),
        Value::Text(s.status.as_str().to_string()),
    ];
    Ok(given(s.id, values))
}

fn cost(r: &Row<'_>) -> Result<Converted, RowError> {
    let id = r.required_id("id")?;
    let date = r.required("date", Timestamp::parse)?;
    let currency = r.required("currency", Currency::parse)?;
    let amount = r
        .money("amount", currency)?
        .ok_or_else(|| r.error("amount", "required value is missing"))?;
    let category = r.required("category", CostCategory::from_str)?;
    let present: Vec<&str> = ["customer_id", "channel", "cohort"]
        .into_iter()
        .filter(|n| r.text(n).is_some())
        .collect();
    let target = match present.as_slice() {
        [] => {
            let at = ["customer_id", "channel", "cohort"]
                .into_iter()
                .find(|n| !matches!(r.locs[r.index(n)], Loc::Row))
                .unwrap_or("customer_id");
            return Err(r.error(
                at,
                "a cost is attached to one of customer_id, channel or cohort; this row has none",
            ));
        }
        [only] => match *only {
            "customer_id" => CostTarget::Customer(r.required_id("customer_id")?),
            "channel" => CostTarget::Channel(r.required_text("channel")?),
            _ => CostTarget::Cohort(r.required("cohort", Cohort::parse)?),
        },
        [first, second, ..] => {
            return Err(r.error(
                second,
                format!(
                    "a cost is attached to only one of customer_id, channel or cohort; \
                     this row has {first} and {second}"
                ),
            ))
        }
    };
    let c = Cost {
        id,
        date,
        amount,
        category,
        target,
    };
    c.validate().map_err(|e| r.invalid(e))?;
    let (cust, channel, cohort) = match &c.target {
        CostTarget::Customer(id) => (id_value(Some(id)), Value::Null, Value::Null),
        CostTarget::Channel(ch) => (Value::Null, Value::Text(ch.clone()), Value::Null),
        CostTarget::Cohort(co) => (Value::Null, Value::Null, Value::Text(co.to_string())),
    };
    let values = vec![
        id_value(Some(&c.id)),
        Value::Time(c.date),
        Value::Int(c.amount.units()),
        Value::Text(c.amount.currency().code().to_string()),
        Value::Text(c.category.as_str().to_string()),
        cust,
        channel,
        cohort,
    ];
    Ok(given(c.id, values))
}

fn quantity(s: &str) -> Result<Decimal, RecordError> {
    let d = tenure_core::parse_amount(s).map_err(|_| RecordError::BadAmount(s.to_string()))?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(RecordError::Negative(s.to_string()));
    }
    Ok(d.normalize())
}

fn usage(r: &Row<'_>) -> Result<Converted, RowError> {
    let given_id = r.id("id")?;
    let customer_id = r.required_id("customer_id")?;
    let user = r.text("user");
    let feature = r.required_text("feature")?;
    let occurred_at = r.required("occurred_at", Timestamp::parse)?;
    let quantity = r.parse("quantity", quantity)?.unwrap_or(Decimal::ONE);
    let derived = given_id.is_none();
    let id = given_id.unwrap_or_else(|| {
        UsageEvent::derived_id(&customer_id, user.as_deref(), &feature, occurred_at)
    });
    let u = UsageEvent {
        id,
        customer_id,
        user,
        feature,
        occurred_at,
        quantity,
    };
    u.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&u.id)),
        id_value(Some(&u.customer_id)),
        text(u.user),
        Value::Text(u.feature),
        Value::Time(u.occurred_at),
        Value::Decimal(u.quantity),
    ];
    Ok(Converted {
        id: u.id.as_str().to_string(),
        derived,
        values,
    })
}

fn feedback(r: &Row<'_>) -> Result<Converted, RowError> {
    let given_id = r.id("id")?;
    let customer_id = r.required_id("customer_id")?;
    let occurred_at = r.required("occurred_at", Timestamp::parse)?;
    let kind = r.required("kind", FeedbackKind::from_str)?;
    let score = r.required("score", |s| {
        parse_whole(s).and_then(|v| FeedbackScore::new(kind, v))
    })?;
    let derived = given_id.is_none();
    let id = given_id.unwrap_or_else(|| Feedback::derived_id(&customer_id, kind, occurred_at));
    let comment = r.verbatim("comment");
    let f = Feedback {
        id,
        customer_id,
        occurred_at,
        score,
        comment,
    };
    f.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&f.id)),
        id_value(Some(&f.customer_id)),
        Value::Time(f.occurred_at),
        Value::Text(f.score.kind().as_str().to_string()),
        Value::Int(i64::from(f.score.value())),
        text(f.comment),
    ];
    Ok(Converted {
        id: f.id.as_str().to_string(),
        derived,
        values,
    })
}

fn case(r: &Row<'_>) -> Result<Converted, RowError> {
    let c = SupportCase {
        id: r.required_id("id")?,
        customer_id: r.required_id("customer_id")?,
        opened_at: r.required("opened_at", Timestamp::parse)?,
        closed_at: r.parse("closed_at", Timestamp::parse)?,
        severity: r.required("severity", |s| parse_in_range(s, 1, 4))?,
        category: r.text("category"),
        product: r.text("product"),
        status: r.required("status", CaseStatus::from_str)?,
        owner: r.text("owner"),
        escalated: r.flag("escalated")?,
        escalated_to: r.text("escalated_to"),
        satisfaction: r.parse("satisfaction", |s| parse_in_range(s, 1, 5))?,
    };
    c.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&c.id)),
        id_value(Some(&c.customer_id)),
        Value::Time(c.opened_at),
        time(c.closed_at),
        Value::Int(i64::from(c.severity)),
        text(c.category),
        text(c.product),
        Value::Text(c.status.as_str().to_string()),
        text(c.owner),
        flag(c.escalated),
        text(c.escalated_to),
        c.satisfaction
            .map(|s| Value::Int(i64::from(s)))
            .unwrap_or(Value::Null),
    ];
    Ok(given(c.id, values))
}

fn payment(r: &Row<'_>) -> Result<Converted, RowError> {
    let id = r.required_id("id")?;
    let customer_id = r.required_id("customer_id")?;
    let occurred_at = r.required("occurred_at", Timestamp::parse)?;
    let kind = r.required("kind", PaymentKind::from_str)?;
    let currency = r.parse("currency", Currency::parse)?;
    let amount = match (r.text("amount"), currency) {
        (Some(a), Some(c)) => Some(MinorUnits::parse(&a, c).map_err(|e| r.error("amount", e))?),
        (Some(_), None) => {
            let e = RecordError::RequiredWhen("an amount is given".into());
            return Err(r.error("currency", e));
        }
        (None, _) => None,
    };
    let p = PaymentEvent {
        id,
        customer_id,
        occurred_at,
        kind,
        amount,
        invoice: r.text("invoice"),
    };
    p.validate().map_err(|e| r.invalid(e))?;
    if let (None, Some(c)) = (p.amount, currency) {
        let e = RecordError::AbsentWhen {
            value: c.to_string(),
            when: "there is no amount".into(),
        };
        return Err(r.error("currency", e));
    }
    let values = vec![
        id_value(Some(&p.id)),
        id_value(Some(&p.customer_id)),
        Value::Time(p.occurred_at),
        Value::Text(p.kind.as_str().to_string()),
        p.amount
            .map(|a| Value::Int(a.units()))
            .unwrap_or(Value::Null),
        p.amount
            .map(|a| Value::Text(a.currency().code().to_string()))
            .unwrap_or(Value::Null),
        text(p.invoice),
    ];
    Ok(given(p.id, values))
}

fn interaction(r: &Row<'_>) -> Result<Converted, RowError> {
    let i = Interaction {
        id: r.required_id("id")?,
        customer_id: r.required_id("customer_id")?,
        occurred_at: r.required("occurred_at", Timestamp::parse)?,
        kind: r.required("kind", InteractionKind::from_str)?,
        owner: r.text("owner"),
        summary: r.verbatim("summary"),
    };
    i.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&i.id)),
        id_value(Some(&i.customer_id)),
        Value::Time(i.occurred_at),
        Value::Text(i.kind.as_str().to_string()),
        text(i.owner),
        text(i.summary),
    ];
    Ok(given(i.id, values))
}

fn campaign(r: &Row<'_>) -> Result<Converted, RowError> {
    let id = r.required_id("id")?;
    let name = r.required_text("name")?;
    let channel = r.text("channel");
    let started_at = r.parse("started_at", Timestamp::parse)?;
    let currency = r.required("currency", Currency::parse)?;
    let cost = r
        .money("cost", currency)?
        .ok_or_else(|| r.error("cost", "required value is missing"))?;
    let c = Campaign {
        id,
        name,
        channel,
        started_at,
        cost,
    };
    c.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&c.id)),
        Value::Text(c.name),
        text(c.channel),
        time(c.started_at),
        Value::Int(c.cost.units()),
        Value::Text(c.cost.currency().code().to_string()),
    ];
    Ok(given(c.id, values))
}

fn touch(r: &Row<'_>) -> Result<Converted, RowError> {
    let given_id = r.id("id")?;
    let campaign_id = r.required_id("campaign_id")?;
    let customer_id = r.required_id("customer_id")?;
    let sent_at = r.required("sent_at", Timestamp::parse)?;
    let derived = given_id.is_none();
    let id = given_id.unwrap_or_else(|| Touch::derived_id(&campaign_id, &customer_id, sent_at));
    let t = Touch {
        id,
        campaign_id,
        customer_id,
        sent_at,
        opened: r.flag("opened")?,
        clicked: r.flag("clicked")?,
        replied: r.flag("replied")?,
    };
    t.validate().map_err(|e| r.invalid(e))?;
    let values = vec![
        id_value(Some(&t.id)),
        id_value(Some(&t.campaign_id)),
        id_value(Some(&t.customer_id)),
        Value::Time(t.sent_at),
        flag(t.opened),
        flag(t.clicked),
        flag(t.replied),
    ];
    Ok(Converted {
        id: t.id.as_str().to_string(),
        derived,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_canonical() {
        let j = canonical_json(r#"{ "b": [1, {"d":2,"c":"x"}], "a": null }"#).unwrap();
        assert_eq!(j.as_str(), r#"{"a":null,"b":[1,{"c":"x","d":2}]}"#);
        assert!(canonical_json("[1]").is_err());
        assert!(canonical_json("{").is_err());
    }

    #[test]
    fn quantities_are_exact_and_normalised() {
        assert_eq!(quantity("1.50").unwrap().to_string(), "1.5");
        assert_eq!(quantity("0").unwrap().to_string(), "0");
        assert!(matches!(quantity("-1"), Err(RecordError::Negative(_))));
        assert!(quantity("1e3").is_err());
    }
}
