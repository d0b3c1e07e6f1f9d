//! One evaluated day of the decision layer, planned without I/O: every customer's segment and
//! stage, the moves to record, and the playbook fires — the work of `tenure run-playbooks` and
//! of `POST /api/playbooks/run`, which read the journal, call [`plan_day`] and write what it
//! returns.
//!
//! Invariants:
//! - A customer's *previous* segment and stage (what change triggers compare with) are her
//!   newest journaled moves dated **before** the day, so re-planning a day sees the same changes
//!   and the same fires (whose ids the store skips as duplicates).
//! - Moves are relative to her newest journaled move of any day: a re-planned day records none.
//! - [`DayPlan::latest`] is the newest day in either history; a caller must not record a plan
//!   for an earlier day ([`DayPlan::out_of_order`]).

use crate::playbooks::{evaluate, first_uses, Firing, Subject};
use crate::stages::{progress, renewal_days, stage, StageAssignment};
use crate::{facts, health, segment, thresholds, Assignment, Config, Facts, Health, Thresholds};
use std::collections::HashMap;
use tenure_reports::{Fx, ReportError};
use tenure_store::dataset::{ymd_of_day, Day};
use tenure_store::journal::{Fire, SegmentMove, StageMove};
use tenure_store::Dataset;

/// What the journal holds, as read by the caller: both histories oldest first (as
/// `Journal::segment_history(None)` and `stage_history(None)` return them) and each rule's
/// last fire per customer (`Journal::last_fires`).
#[derive(Debug, Clone, Default)]
pub struct Journaled {
    pub segments: Vec<SegmentMove>,
    pub stages: Vec<StageMove>,
    pub last_fires: HashMap<(String, String), String>,
}

/// The day's decisions and what to record.
#[derive(Debug, Clone)]
pub struct DayPlan {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The newest day in either history, if any.
    pub latest: Option<String>,
    pub facts: Vec<Facts>,
    pub health: Vec<Health>,
    pub segments: Vec<Assignment>,
    pub stages: Vec<StageAssignment>,
    /// Customers whose segment / stage differs from their newest journaled one.
    pub segment_moves: Vec<SegmentMove>,
    pub stage_moves: Vec<StageMove>,
    pub firings: Vec<Firing>,
}

impl DayPlan {
    /// A later day is already journaled: recording this plan would break day order.
    pub fn out_of_order(&self) -> bool {
        self.latest
            .as_deref()
            .is_some_and(|l| l > self.day.as_str())
    }
    /// The fires to enqueue.
    pub fn fires(&self) -> Vec<Fire> {
        self.firings.iter().map(|f| f.fire.clone()).collect()
    }
}

fn day_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

/// Every customer's decisions on one day, parallel to `facts` (customers acquired by the
/// day, in customer order): the same calls as `tenure segments`, `health` and `stages`.
#[derive(Debug, Clone)]
pub struct Decisions {
    pub facts: Vec<Facts>,
    pub health: Vec<Health>,
    pub thresholds: Thresholds,
    pub segments: Vec<Assignment>,
    pub stages: Vec<StageAssignment>,
    /// Each customer's next renewal, by customer index of `data` (all customers).
    pub renewals: Vec<Option<Day>>,
}

/// Decide `as_of` for every customer of `data` acquired by then. Errors as [`facts`].
pub fn decide(data: &Dataset, fx: &Fx, as_of: Day, cfg: &Config) -> Result<Decisions, ReportError> {
    let fs = facts(data, fx, as_of, cfg)?;
    let currency = fx.currency();
    let t = thresholds(&fs, &cfg.segments, currency);
    let segments: Vec<Assignment> = fs.iter().map(|f| segment(f, &t, currency)).collect();
    let hs: Vec<Health> = fs
        .iter()
        .map(|f| health(f, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0))
        .collect();
    let prog = progress(data, as_of, &cfg.stages);
    let renewals = renewal_days(data, as_of, &cfg.stages);
    let stages: Vec<StageAssignment> = fs
        .iter()
        .zip(&hs)
        .map(|(f, h)| {
            let c = f.customer as usize;
            stage(f, h, &prog[c], renewals[c], as_of, &cfg.stages)
        })
        .collect();
    Ok(Decisions {
        facts: fs,
        health: hs,
        thresholds: t,
        segments,
        stages,
        renewals,
    })
}

/// Plan `as_of` for every customer of `data` acquired by then. Errors as [`facts`].
pub fn plan_day(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    cfg: &Config,
    journaled: &Journaled,
) -> Result<DayPlan, ReportError> {
    let day = day_text(as_of);
    let Decisions {
        facts: fs,
        health: hs,
        segments,
        stages,
        renewals,
        ..
    } = decide(data, fx, as_of, cfg)?;
    let milestones: Vec<_> = fs
        .iter()
        .map(|f| first_uses(data, f.customer, as_of))
        .collect();

    let mut latest: Option<String> = None;
    let mut newest_seg: HashMap<&str, &str> = HashMap::new();
    let mut before_seg: HashMap<&str, &str> = HashMap::new();
    for m in &journaled.segments {
        if latest.as_deref().is_none_or(|l| m.day.as_str() > l) {
            latest = Some(m.day.clone());
        }
        newest_seg.insert(&m.customer_id, &m.segment);
        if m.day < day {
            before_seg.insert(&m.customer_id, &m.segment);
        }
    }
    let mut newest_stage: HashMap<&str, &str> = HashMap::new();
    let mut before_stage: HashMap<&str, &str> = HashMap::new();
    for m in &journaled.stages {
        if latest.as_deref().is_none_or(|l| m.day.as_str() > l) {
            latest = Some(m.day.clone());
        }
        newest_stage.insert(&m.customer_id, &m.stage);
        if m.day < day {
            before_stage.insert(&m.customer_id, &m.stage);
        }
    }
    let id = |f: &Facts| data.customer_ids[f.customer as usize].as_str();

    let segment_moves = fs
        .iter()
        .zip(&segments)
        .filter_map(|(f, s)| {
            let previous = newest_seg.get(id(f)).copied();
            (previous != Some(s.segment.as_str())).then(|| SegmentMove {
                customer_id: id(f).to_string(),
                day: day.clone(),
                segment: s.segment.as_str().to_string(),
                previous: previous.map(String::from),
                reason: s.reason.clone(),
            })
        })
        .collect();
    let stage_moves = fs
        .iter()
        .zip(&stages)
        .filter_map(|(f, s)| {
            let previous = newest_stage.get(id(f)).copied();
            (previous != Some(s.stage.as_str())).then(|| StageMove {
                customer_id: id(f).to_string(),
                day: day.clone(),
                stage: s.stage.as_str().to_string(),
                previous: previous.map(String::from),
                since: day_text(s.since),
                reason: s.reason.clone(),
            })
        })
        .collect();

    let subjects: Vec<Subject> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| Subject {
            id: id(f),
            facts: f,
            health: Some(&hs[i]),
            segment: Some(segments[i].segment.as_str()),
            previous_segment: before_seg.get(id(f)).copied(),
            stage: Some(stages[i].stage.as_str()),
            previous_stage: before_stage.get(id(f)).copied(),
            stage_since: Some(stages[i].since),
            next_renewal: renewals[f.customer as usize],
            milestones: &milestones[i],
        })
        .collect();
    let firings = evaluate(
        &cfg.playbooks,
        &subjects,
        data,
        as_of,
        &journaled.last_fires,
        cfg,
    );
    drop(subjects);
    Ok(DayPlan {
        day,
        latest,
        facts: fs,
        health: hs,
        segments,
        stages,
        segment_moves,
        stage_moves,
        firings,
    })
}
