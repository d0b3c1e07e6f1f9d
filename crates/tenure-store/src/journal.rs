//! What the decision layer writes: segment and stage moves, account goals, the playbooks'
//! fires and the delivery outbox (migration 2). One implementation over a tiny SQL interface
//! ([`Sql`]) serves both backends.
//!
//! Invariants:
//! - **Histories are append-only in day order.** A segment or stage move is stored only when
//!   it differs from the customer's newest stored one, and a day older than the newest day
//!   already recorded is refused (evaluate later days, or do not record).
//! - **A fire happens once.** `(rule, customer, occurrence)` is unique; enqueueing a fire
//!   that exists inserts neither it nor its outbox items, in one transaction with the rest.
//! - **Delivery is at-least-once.** A claimed item is leased (`sending`, `lease_until`); a
//!   worker that dies leaves it to be claimed again when the lease runs out. Each claim counts
//!   an attempt. The outbox id is the receiver's idempotency key, stable across retries and
//!   replays.

use crate::error::StoreError;
use std::collections::HashMap;

/// A statement parameter. `None` is SQL NULL of that type.
pub(crate) enum P<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

/// A value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Null => String::new(),
        }
    }
    fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            c => Some(c.text()),
        }
    }
    pub(crate) fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            Cell::Text(s) => s.parse().unwrap_or(0),
            Cell::Null => 0,
        }
    }
    pub(crate) fn opt_int(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            c => Some(c.int()),
        }
    }
}

/// The two backends as the journal needs them: parameters are `$1, $2, …`, numbered in order
/// of first appearance (SQLite binds them by position that way too).
pub(crate) trait Sql {
    fn exec(&mut self, sql: &str, params: &[P]) -> Result<u64, StoreError>;
    fn rows(&mut self, sql: &str, params: &[P]) -> Result<Vec<Vec<Cell>>, StoreError>;
    /// `BEGIN IMMEDIATE` (SQLite: take the write lock now) or `BEGIN`.
    fn begin_write(&mut self) -> Result<(), StoreError>;
    fn is_postgres(&self) -> bool;
}

/// One customer's move to a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMove {
    pub customer_id: String,
    /// The evaluated day, `YYYY-MM-DD`.
    pub day: String,
    pub segment: String,
    /// The segment before (`None`: first recorded).
    pub previous: Option<String>,
    pub reason: String,
}

/// One customer's move to a lifecycle stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    pub customer_id: String,
    /// The evaluated day on which the move was seen, `YYYY-MM-DD`.
    pub day: String,
    pub stage: String,
    pub previous: Option<String>,
    /// When the customer entered the stage, as far as the records tell (≤ `day`).
    pub since: String,
    pub reason: String,
}

/// Status of an account goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoalStatus {
    Planned,
    OnTrack,
    AtRisk,
    Done,
    Dropped,
}

impl GoalStatus {
    pub const ALL: [GoalStatus; 5] = [
        GoalStatus::Planned,
        GoalStatus::OnTrack,
        GoalStatus::AtRisk,
        GoalStatus::Done,
        GoalStatus::Dropped,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Planned => "planned",
            GoalStatus::OnTrack => "on_track",
            GoalStatus::AtRisk => "at_risk",
            GoalStatus::Done => "done",
            GoalStatus::Dropped => "dropped",
        }
    }
}

impl std::str::FromStr for GoalStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GoalStatus::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a goal status (planned, on_track, at_risk, done, dropped)")
            })
    }
}

/// An account goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub id: i64,
    pub customer_id: String,
    pub title: String,
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub target_day: String,
    pub status: GoalStatus,
    /// The linked metric (e.g. `health`, `mrr`, `usage:report_run`) and its target.
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new goal (status `planned` unless given).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewGoal {
    pub customer_id: String,
    pub title: String,
    pub owner: String,
    pub target_day: String,
    pub status: Option<GoalStatus>,
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
}

/// The fields of a goal to change (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoalUpdate {
    pub title: Option<String>,
    pub owner: Option<String>,
    pub target_day: Option<String>,
    pub status: Option<GoalStatus>,
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
}

/// How an outbox item is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Webhook,
    Email,
    /// A task in a queue: not sent anywhere; open until closed.
    Task,
    /// A record (support case, interaction) written to the store when the fire is recorded,
    /// in the same transaction: the target is its kind (`cases`, `interactions`), the payload
    /// one line of that kind's JSON-lines import format. Stored as `delivered` at once.
    Record,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Task => "task",
            Channel::Record => "record",
        }
    }
    fn parse(s: &str) -> Channel {
        match s {
            "webhook" => Channel::Webhook,
            "email" => Channel::Email,
            "record" => Channel::Record,
            _ => Channel::Task,
        }
    }
}

/// Where an outbox item is. Webhooks and emails: pending → sending → delivered, or back to
/// pending for a retry, or dead when retries are exhausted (or the failure is permanent);
/// replay turns dead into pending. Tasks: open → closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    Pending,
    Sending,
    Delivered,
    Dead,
    Open,
    Closed,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 6] = [
        OutboxStatus::Pending,
        OutboxStatus::Sending,
        OutboxStatus::Delivered,
        OutboxStatus::Dead,
        OutboxStatus::Open,
        OutboxStatus::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
            OutboxStatus::Open => "open",
            OutboxStatus::Closed => "closed",
        }
    }
}

impl std::str::FromStr for OutboxStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OutboxStatus::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not an outbox status (pending, sending, delivered, dead, open, closed)"
                )
            })
    }
}

/// One action of a fire, to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// The idempotency key (e.g. a hash of rule, customer, occurrence and action index).
    pub id: String,
    pub channel: Channel,
    /// Webhook: the endpoint's name in the configuration; email: the address; task: the queue;
    /// record: the record kind.
    pub target: String,
    /// JSON text.
    pub payload: String,
}

/// A playbook rule fired for a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    pub rule: String,
    pub customer_id: String,
    /// What fired it, unique per rule and customer (e.g. `nps:2025-03-02`).
    pub occurrence: String,
    /// The evaluated day, `YYYY-MM-DD`.
    pub day: String,
    pub actions: Vec<NewAction>,
}

/// An outbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    pub rule: String,
    pub customer_id: String,
    pub day: String,
    pub channel: Channel,
    pub target: String,
    pub payload: String,
    pub status: OutboxStatus,
    /// Claims so far (each delivery attempt, finished or not).
    pub attempts: u32,
    /// Unix seconds.
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Settle {
    Delivered,
    /// Try again at this Unix second.
    Retry {
        at: i64,
        error: String,
    },
    Dead {
        error: String,
    },
}

/// What [`Journal::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enqueued {
    pub fires: u64,
    pub items: u64,
    /// Fires already recorded, skipped.
    pub duplicates: u64,
    /// Records (cases, interactions) the fires' `record` actions created.
    pub records: u64,
}

/// The decision layer's state in the store.
pub trait Journal {
    /// Each customer's newest stored segment: id → (segment, day).
    fn last_segments(&mut self) -> Result<HashMap<String, (String, String)>, StoreError>;
    /// Store the moves of one evaluated day (all or none). Refused when a later day is stored.
    fn record_segments(&mut self, day: &str, moves: &[SegmentMove]) -> Result<(), StoreError>;
    /// Stored moves, oldest first (of one customer, or all).
    fn segment_history(&mut self, customer: Option<&str>) -> Result<Vec<SegmentMove>, StoreError>;
    /// Each customer's newest stored stage move: id → move.
    fn last_stages(&mut self) -> Result<HashMap<String, StageMove>, StoreError>;
    fn record_stages(&mut self, day: &str, moves: &[StageMove]) -> Result<(), StoreError>;
    fn stage_history(&mut self, customer: Option<&str>) -> Result<Vec<StageMove>, StoreError>;
    /// Add a goal; `now` in Unix seconds. The customer must exist.
    fn add_goal(&mut self, goal: &NewGoal, now: i64) -> Result<Goal, StoreError>;
    fn update_goal(&mut self, id: i64, update: &GoalUpdate, now: i64) -> Result<Goal, StoreError>;
    /// Goals of one customer, or all, by customer then target day then id.
    fn goals(&mut self, customer: Option<&str>) -> Result<Vec<Goal>, StoreError>;
    /// The newest fire day of each (rule, customer).
    fn last_fires(&mut self) -> Result<HashMap<(String, String), String>, StoreError>;
    /// Record fires and their actions in one transaction; fires already recorded are skipped
    /// with their actions. Webhooks and emails start `pending` at `now`; tasks `open`; a
    /// `record` action writes its record (validated as an import would be, refused with the
    /// whole call otherwise) and is `delivered` at `now`.
    fn enqueue(&mut self, fires: &[Fire], now: i64) -> Result<Enqueued, StoreError>;
    /// Claim up to `limit` webhook/email items due at `now` (pending and due, or sending with
    /// an expired lease), oldest due first: each becomes `sending` with `lease_until = now +
    /// lease_secs` and one more attempt.
    fn claim_due(
        &mut self,
        now: i64,
        lease_secs: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Record an attempt's outcome. Only a `sending` item is settled (a late worker whose lease
    /// ran out and whose item was claimed again still settles it: delivery is at-least-once).
    fn settle(&mut self, id: &str, outcome: &Settle, now: i64) -> Result<(), StoreError>;
    /// Dead items (all, or the one given) back to pending, due at `now`; how many.
    fn replay(&mut self, id: Option<&str>, now: i64) -> Result<u64, StoreError>;
    /// Close an open task; false when there is no open task of that id.
    fn close_task(&mut self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Outbox items (of a status, or all), newest first (ties by id), at most `limit` after
    /// skipping `offset`.
    fn outbox(
        &mut self,
        status: Option<OutboxStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Items per status.
    fn outbox_counts(&mut self) -> Result<Vec<(OutboxStatus, u64)>, StoreError>;
    /// One customer's outbox items, newest first, at most `limit`.
    fn customer_outbox(
        &mut self,
        customer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Store a new API token by the SHA-256 of its text (hex); the name must be new.
    fn add_token(&mut self, token: &crate::tokens::NewToken, now: i64) -> Result<(), StoreError>;
    /// Every token, revoked ones included, by name. Never the hashes.
    fn tokens(&mut self) -> Result<Vec<crate::tokens::Token>, StoreError>;
    /// Revoke a token by name; false when no live token has that name.
    fn revoke_token(&mut self, name: &str, now: i64) -> Result<bool, StoreError>;
    /// The live token whose SHA-256 (hex) is this, marking it used at `now`.
    fn token_by_sha256(
        &mut self,
        sha256: &str,
        now: i64,
    ) -> Result<Option<crate::tokens::Token>, StoreError>;
}

pub(crate) fn other(msg: String) -> StoreError {
    StoreError::Other(msg)
}

/// Run `f` in a write transaction: committed when it returns Ok, rolled back otherwise.
pub(crate) fn in_tx<T>(
    db: &mut dyn Sql,
    f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    db.begin_write()?;
    match f(db) {
        Ok(v) => {
            db.exec("COMMIT", &[])?;
            Ok(v)
        }
        Err(e) => {
            let _ = db.exec("ROLLBACK", &[]);
            Err(e)
        }
    }
}

pub(crate) fn t(s: &str) -> P<'_> {
    P::Text(Some(s))
}
fn ot(s: &Option<String>) -> P<'_> {
    P::Text(s.as_deref())
}
pub(crate) fn i(v: i64) -> P<'static> {
    P::Int(Some(v))
}

fn check_day(db: &mut dyn Sql, table: &str, day: &str) -> Result<(), StoreError> {
    let rows = db.rows(&format!("SELECT MAX(day) FROM {table}"), &[])?;
    if let Some(latest) = rows
        .first()
        .and_then(|r| r.first())
        .and_then(Cell::opt_text)
    {
        if latest.as_str() > day {
            return Err(other(format!(
                "the history is recorded up to {latest}; {day} is earlier (histories are kept in day order: evaluate a later day, or leave out --record)"
            )));
        }
    }
    Ok(())
}

pub(crate) fn last_segments(
    db: &mut dyn Sql,
) -> Result<HashMap<String, (String, String)>, StoreError> {
    let rows = db.rows(
        "SELECT h.customer_id, h.segment, h.day FROM tenure_segment_history h
         JOIN (SELECT customer_id, MAX(day) AS day FROM tenure_segment_history GROUP BY customer_id) m
           ON m.customer_id = h.customer_id AND m.day = h.day",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| (r[0].text(), (r[1].text(), r[2].text())))
        .collect())
}

pub(crate) fn record_segments(
    db: &mut dyn Sql,
    day: &str,
    moves: &[SegmentMove],
) -> Result<(), StoreError> {
    in_tx(db, |db| {
        check_day(db, "tenure_segment_history", day)?;
        for m in moves {
            db.exec(
                "INSERT INTO tenure_segment_history (customer_id, day, segment, previous, reason)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (customer_id, day) DO UPDATE SET segment = excluded.segment,
                    previous = excluded.previous, reason = excluded.reason",
                &[
                    t(&m.customer_id),
                    t(day),
                    t(&m.segment),
                    ot(&m.previous),
                    t(&m.reason),
                ],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn segment_history(
    db: &mut dyn Sql,
    customer: Option<&str>,
) -> Result<Vec<SegmentMove>, StoreError> {
    let sql = "SELECT customer_id, day, segment, previous, reason FROM tenure_segment_history";
    let rows = match customer {
        Some(c) => db.rows(
            &format!("{sql} WHERE customer_id = $1 ORDER BY day, customer_id"),
            &[t(c)],
        )?,
        None => db.rows(&format!("{sql} ORDER BY day, customer_id"), &[])?,
    };
    Ok(rows
        .into_iter()
        .map(|r| SegmentMove {
            customer_id: r[0].text(),
            day: r[1].text(),
            segment: r[2].text(),
            previous: r[3].opt_text(),
            reason: r[4].text(),
        })
        .collect())
}

fn stage_row(r: &[Cell]) -> StageMove {
    StageMove {
        customer_id: r[0].text(),
        day: r[1].text(),
        stage: r[2].text(),
        previous: r[3].opt_text(),
        since: r[4].text(),
        reason: r[5].text(),
    }
}

const STAGE_COLS: &str = "customer_id, day, stage, previous, since, reason";

pub(crate) fn last_stages(db: &mut dyn Sql) -> Result<HashMap<String, StageMove>, StoreError> {
    let rows = db.rows(
        "SELECT h.customer_id, h.day, h.stage, h.previous, h.since, h.reason FROM tenure_stage_history h
         JOIN (SELECT customer_id, MAX(day) AS day FROM tenure_stage_history GROUP BY customer_id) m
           ON m.customer_id = h.customer_id AND m.day = h.day",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let m = stage_row(r);
            (m.customer_id.clone(), m)
        })
        .collect())
}

pub(crate) fn record_stages(
    db: &mut dyn Sql,
    day: &str,
    moves: &[StageMove],
) -> Result<(), StoreError> {
    in_tx(db, |db| {
        check_day(db, "tenure_stage_history", day)?;
        for m in moves {
            db.exec(
                &format!(
                    "INSERT INTO tenure_stage_history ({STAGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (customer_id, day) DO UPDATE SET stage = excluded.stage,
                        previous = excluded.previous, since = excluded.since, reason = excluded.reason"
                ),
                &[
                    t(&m.customer_id),
                    t(day),
                    t(&m.stage),
                    ot(&m.previous),
                    t(&m.since),
                    t(&m.reason),
                ],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn stage_history(
    db: &mut dyn Sql,
    customer: Option<&str>,
) -> Result<Vec<StageMove>, StoreError> {
    let sql = format!("SELECT {STAGE_COLS} FROM tenure_stage_history");
    let rows = match customer {
        Some(c) => db.rows(
            &format!("{sql} WHERE customer_id = $1 ORDER BY day, customer_id"),
            &[t(c)],
        )?,
        None => db.rows(&format!("{sql} ORDER BY day, customer_id"), &[])?,
    };
    Ok(rows.iter().map(|r| stage_row(r)).collect())
}

const GOAL_COLS: &str =
    "id, customer_id, title, owner, target_day, status, metric, target, note, created_at, updated_at";

fn goal_row(r: &[Cell]) -> Goal {
    Goal {
        id: r[0].int(),
        customer_id: r[1].text(),
        title: r[2].text(),
        owner: r[3].text(),
        target_day: r[4].text(),
        status: r[5].text().parse().unwrap_or(GoalStatus::Planned),
        metric: r[6].opt_text(),
        target: r[7].opt_text(),
        note: r[8].opt_text(),
        created_at: r[9].int(),
        updated_at: r[10].int(),
    }
}

fn goal(db: &mut dyn Sql, id: i64) -> Result<Goal, StoreError> {
    let rows = db.rows(
        &format!("SELECT {GOAL_COLS} FROM tenure_goals WHERE id = $1"),
        &[i(id)],
    )?;
    rows.first()
        .map(|r| goal_row(r))
        .ok_or_else(|| other(format!("there is no goal {id}")))
}

fn customer_exists(db: &mut dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(!db
        .rows("SELECT 1 FROM customers WHERE id = $1", &[t(id)])?
        .is_empty())
}

pub(crate) fn add_goal(db: &mut dyn Sql, g: &NewGoal, now: i64) -> Result<Goal, StoreError> {
    in_tx(db, |db| {
        if !customer_exists(db, &g.customer_id)? {
            return Err(other(format!("there is no customer `{}`", g.customer_id)));
        }
        let status = g.status.unwrap_or(GoalStatus::Planned).as_str();
        let rows = db.rows(
            "INSERT INTO tenure_goals (customer_id, title, owner, target_day, status, metric, target, note, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                t(&g.customer_id),
                t(&g.title),
                t(&g.owner),
                t(&g.target_day),
                t(status),
                ot(&g.metric),
                ot(&g.target),
                ot(&g.note),
                i(now),
                i(now),
            ],
        )?;
        let id = rows
            .first()
            .and_then(|r| r.first())
            .map(Cell::int)
            .ok_or_else(|| other("the new goal's id did not come back".into()))?;
        goal(db, id)
    })
}

pub(crate) fn update_goal(
    db: &mut dyn Sql,
    id: i64,
    u: &GoalUpdate,
    now: i64,
) -> Result<Goal, StoreError> {
    in_tx(db, |db| {
        let mut g = goal(db, id)?;
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                field.clone_from(v);
            }
        };
        set(&mut g.title, &u.title);
        set(&mut g.owner, &u.owner);
        set(&mut g.target_day, &u.target_day);
        if let Some(s) = u.status {
            g.status = s;
        }
        for (field, v) in [
            (&mut g.metric, &u.metric),
            (&mut g.target, &u.target),
            (&mut g.note, &u.note),
        ] {
            if v.is_some() {
                field.clone_from(v);
            }
        }
        db.exec(
            "UPDATE tenure_goals SET title = $1, owner = $2, target_day = $3, status = $4,
                metric = $5, target = $6, note = $7, updated_at = $8 WHERE id = $9",
            &[
                t(&g.title),
                t(&g.owner),
                t(&g.target_day),
                t(g.status.as_str()),
                ot(&g.metric),
                ot(&g.target),
                ot(&g.note),
                i(now),
                i(id),
            ],
        )?;
        goal(db, id)
    })
}

pub(crate) fn goals(db: &mut dyn Sql, customer: Option<&str>) -> Result<Vec<Goal>, StoreError> {
    let sql = format!("SELECT {GOAL_COLS} FROM tenure_goals");
    let rows = match customer {
        Some(c) => db.rows(
            &format!("{sql} WHERE customer_id = $1 ORDER BY customer_id, target_day, id"),
            &[t(c)],
        )?,
        None => db.rows(&format!("{sql} ORDER BY customer_id, target_day, id"), &[])?,
    };
    Ok(rows.iter().map(|r| goal_row(r)).collect())
}

pub(crate) fn last_fires(
    db: &mut dyn Sql,
) -> Result<HashMap<(String, String), String>, StoreError> {
    let rows = db.rows(
        "SELECT rule, customer_id, MAX(day) FROM tenure_playbook_fires GROUP BY rule, customer_id",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| ((r[0].text(), r[1].text()), r[2].text()))
        .collect())
}

pub(crate) fn enqueue(db: &mut dyn Sql, fires: &[Fire], now: i64) -> Result<Enqueued, StoreError> {
    in_tx(db, |db| {
        let mut done = Enqueued::default();
        for f in fires {
            let n = db.exec(
                "INSERT INTO tenure_playbook_fires (rule, customer_id, occurrence, day)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[t(&f.rule), t(&f.customer_id), t(&f.occurrence), t(&f.day)],
            )?;
            if n == 0 {
                done.duplicates += 1;
                continue;
            }
            done.fires += 1;
            for a in &f.actions {
                let status = match a.channel {
                    Channel::Task => OutboxStatus::Open,
                    Channel::Record => OutboxStatus::Delivered,
                    _ => OutboxStatus::Pending,
                };
                let delivered_at = match a.channel {
                    Channel::Record => {
                        done.records +=
                            u64::from(crate::one_record::insert(db, &a.target, &a.payload)?);
                        Some(now)
                    }
                    _ => None,
                };
                done.items += db.exec(
                    "INSERT INTO tenure_outbox (id, rule, customer_id, day, channel, target, payload, status, attempts, next_attempt_at, created_at, delivered_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                    &[
                        t(&a.id),
                        t(&f.rule),
                        t(&f.customer_id),
                        t(&f.day),
                        t(a.channel.as_str()),
                        t(&a.target),
                        t(&a.payload),
                        t(status.as_str()),
                        i(now),
                        i(now),
                        P::Int(delivered_at),
                    ],
                )?;
            }
        }
        Ok(done)
    })
}

const OUTBOX_COLS: &str = "id, rule, customer_id, day, channel, target, payload, status, attempts, next_attempt_at, lease_until, last_error, created_at, delivered_at";

fn outbox_row(r: &[Cell]) -> OutboxItem {
    OutboxItem {
        id: r[0].text(),
        rule: r[1].text(),
        customer_id: r[2].text(),
        day: r[3].text(),
        channel: Channel::parse(&r[4].text()),
        target: r[5].text(),
        payload: r[6].text(),
        status: r[7].text().parse().unwrap_or(OutboxStatus::Pending),
        attempts: r[8].int().clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: r[9].int(),
        lease_until: r[10].opt_int(),
        last_error: r[11].opt_text(),
        created_at: r[12].int(),
        delivered_at: r[13].opt_int(),
    }
}

pub(crate) fn claim_due(
    db: &mut dyn Sql,
    now: i64,
    lease_secs: i64,
    limit: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    in_tx(db, |db| {
        // PostgreSQL: two workers never claim the same row (the second skips the first's
        // locked rows); SQLite: the write lock taken at BEGIN IMMEDIATE serialises claims.
        let lock = if db.is_postgres() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let ids = db.rows(
            &format!(
                "SELECT id FROM tenure_outbox
                 WHERE (status = 'pending' AND next_attempt_at <= $1)
                    OR (status = 'sending' AND lease_until <= $2)
                 ORDER BY next_attempt_at, id LIMIT $3{lock}"
            ),
            &[i(now), i(now), i(limit as i64)],
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for r in ids {
            let id = r[0].text();
            db.exec(
                "UPDATE tenure_outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1
                 WHERE id = $2",
                &[i(now + lease_secs), t(&id)],
            )?;
            let rows = db.rows(
                &format!("SELECT {OUTBOX_COLS} FROM tenure_outbox WHERE id = $1"),
                &[t(&id)],
            )?;
            out.extend(rows.iter().map(|r| outbox_row(r)));
        }
        Ok(out)
    })
}

pub(crate) fn settle(
    db: &mut dyn Sql,
    id: &str,
    outcome: &Settle,
    now: i64,
) -> Result<(), StoreError> {
    match outcome {
        Settle::Delivered => db.exec(
            "UPDATE tenure_outbox SET status = 'delivered', delivered_at = $1, lease_until = NULL,
                last_error = NULL WHERE id = $2 AND status = 'sending'",
            &[i(now), t(id)],
        )?,
        Settle::Retry { at, error } => db.exec(
            "UPDATE tenure_outbox SET status = 'pending', next_attempt_at = $1, lease_until = NULL,
                last_error = $2 WHERE id = $3 AND status = 'sending'",
            &[i(*at), t(error), t(id)],
        )?,
        Settle::Dead { error } => db.exec(
            "UPDATE tenure_outbox SET status = 'dead', lease_until = NULL, last_error = $1
             WHERE id = $2 AND status = 'sending'",
            &[t(error), t(id)],
        )?,
    };
    Ok(())
}

pub(crate) fn replay(db: &mut dyn Sql, id: Option<&str>, now: i64) -> Result<u64, StoreError> {
    let sql = "UPDATE tenure_outbox SET status = 'pending', next_attempt_at = $1, last_error = NULL
               WHERE status = 'dead'";
    match id {
        Some(id) => db.exec(&format!("{sql} AND id = $2"), &[i(now), t(id)]),
        None => db.exec(sql, &[i(now)]),
    }
}

pub(crate) fn close_task(db: &mut dyn Sql, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE tenure_outbox SET status = 'closed', delivered_at = $1 WHERE id = $2 AND status = 'open'",
        &[i(now), t(id)],
    )? > 0)
}

pub(crate) fn outbox(
    db: &mut dyn Sql,
    status: Option<OutboxStatus>,
    limit: usize,
    offset: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    let sql = format!("SELECT {OUTBOX_COLS} FROM tenure_outbox");
    let rows = match status {
        Some(s) => db.rows(
            &format!("{sql} WHERE status = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"),
            &[t(s.as_str()), i(limit as i64), i(offset as i64)],
        )?,
        None => db.rows(
            &format!("{sql} ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"),
            &[i(limit as i64), i(offset as i64)],
        )?,
    };
    Ok(rows.iter().map(|r| outbox_row(r)).collect())
}

pub(crate) fn customer_outbox(
    db: &mut dyn Sql,
    customer: &str,
    limit: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    let rows = db.rows(
        &format!(
            "SELECT {OUTBOX_COLS} FROM tenure_outbox WHERE customer_id = $1
             ORDER BY created_at DESC, id LIMIT $2"
        ),
        &[t(customer), i(limit as i64)],
    )?;
    Ok(rows.iter().map(|r| outbox_row(r)).collect())
}

pub(crate) fn outbox_counts(db: &mut dyn Sql) -> Result<Vec<(OutboxStatus, u64)>, StoreError> {
    let rows = db.rows(
        "SELECT status, COUNT(*) FROM tenure_outbox GROUP BY status",
        &[],
    )?;
    let mut n: HashMap<String, u64> = rows
        .into_iter()
        .map(|r| (r[0].text(), r[1].int().max(0) as u64))
        .collect();
    Ok(OutboxStatus::ALL
        .into_iter()
        .map(|s| (s, n.remove(s.as_str()).unwrap_or(0)))
        .collect())
}

/// `impl Journal for $t` by the functions above, `$t: Sql`.
macro_rules! impl_journal {
    ($t:ty) => {
        impl $crate::journal::Journal for $t {
            fn last_segments(
                &mut self,
            ) -> Result<std::collections::HashMap<String, (String, String)>, StoreError> {
                $crate::journal::last_segments(self)
            }
            fn record_segments(
                &mut self,
                day: &str,
                moves: &[$crate::journal::SegmentMove],
            ) -> Result<(), StoreError> {
                $crate::journal::record_segments(self, day, moves)
            }
            fn segment_history(
                &mut self,
                customer: Option<&str>,
            ) -> Result<Vec<$crate::journal::SegmentMove>, StoreError> {
                $crate::journal::segment_history(self, customer)
            }
            fn last_stages(
                &mut self,
            ) -> Result<std::collections::HashMap<String, $crate::journal::StageMove>, StoreError>
            {
                $crate::journal::last_stages(self)
            }
            fn record_stages(
                &mut self,
                day: &str,
                moves: &[$crate::journal::StageMove],
            ) -> Result<(), StoreError> {
                $crate::journal::record_stages(self, day, moves)
            }
            fn stage_history(
                &mut self,
                customer: Option<&str>,
            ) -> Result<Vec<$crate::journal::StageMove>, StoreError> {
                $crate::journal::stage_history(self, customer)
            }
            fn add_goal(
                &mut self,
                goal: &$crate::journal::NewGoal,
                now: i64,
            ) -> Result<$crate::journal::Goal, StoreError> {
                $crate::journal::add_goal(self, goal, now)
            }
            fn update_goal(
                &mut self,
                id: i64,
                update: &$crate::journal::GoalUpdate,
                now: i64,
            ) -> Result<$crate::journal::Goal, StoreError> {
                $crate::journal::update_goal(self, id, update, now)
            }
            fn goals(
                &mut self,
                customer: Option<&str>,
            ) -> Result<Vec<$crate::journal::Goal>, StoreError> {
                $crate::journal::goals(self, customer)
            }
            fn last_fires(
                &mut self,
            ) -> Result<std::collections::HashMap<(String, String), String>, StoreError> {
                $crate::journal::last_fires(self)
            }
            fn enqueue(
                &mut self,
                fires: &[$crate::journal::Fire],
                now: i64,
            ) -> Result<$crate::journal::Enqueued, StoreError> {
                $crate::journal::enqueue(self, fires, now)
            }
            fn claim_due(
                &mut self,
                now: i64,
                lease_secs: i64,
                limit: usize,
            ) -> Result<Vec<$crate::journal::OutboxItem>, StoreError> {
                $crate::journal::claim_due(self, now, lease_secs, limit)
            }
            fn settle(
                &mut self,
                id: &str,
                outcome: &$crate::journal::Settle,
                now: i64,
            ) -> Result<(), StoreError> {
                $crate::journal::settle(self, id, outcome, now)
            }
            fn replay(&mut self, id: Option<&str>, now: i64) -> Result<u64, StoreError> {
                $crate::journal::replay(self, id, now)
            }
            fn close_task(&mut self, id: &str, now: i64) -> Result<bool, StoreError> {
                $crate::journal::close_task(self, id, now)
            }
            fn outbox(
                &mut self,
                status: Option<$crate::journal::OutboxStatus>,
                limit: usize,
                offset: usize,
            ) -> Result<Vec<$crate::journal::OutboxItem>, StoreError> {
                $crate::journal::outbox(self, status, limit, offset)
            }
            fn outbox_counts(
                &mut self,
            ) -> Result<Vec<($crate::journal::OutboxStatus, u64)>, StoreError> {
                $crate::journal::outbox_counts(self)
            }
            fn customer_outbox(
                &mut self,
                customer: &str,
                limit: usize,
            ) -> Result<Vec<$crate::journal::OutboxItem>, StoreError> {
                $crate::journal::customer_outbox(self, customer, limit)
            }
            fn add_token(
                &mut self,
                token: &$crate::tokens::NewToken,
                now: i64,
            ) -> Result<(), StoreError> {
                $crate::tokens::add_token(self, token, now)
            }
            fn tokens(&mut self) -> Result<Vec<$crate::tokens::Token>, StoreError> {
                $crate::tokens::tokens(self)
            }
            fn revoke_token(&mut self, name: &str, now: i64) -> Result<bool, StoreError> {
                $crate::tokens::revoke_token(self, name, now)
            }
            fn token_by_sha256(
                &mut self,
                sha256: &str,
                now: i64,
            ) -> Result<Option<$crate::tokens::Token>, StoreError> {
                $crate::tokens::token_by_sha256(self, sha256, now)
            }
        }
    };
}
pub(crate) use impl_journal;
