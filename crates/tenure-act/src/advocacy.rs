//! Advocacy: the customers to ask for references, case studies and referrals.
//!
//! A candidate is a promoter (newest NPS answer ≥ `min_nps`, within `health.nps_within`),
//! healthy (score ≥ `min_health`), of enough tenure (≥ `min_tenure`) and not churned.
//! Candidates are ranked by NPS, then health, then the customers they already referred, then
//! realised profit (referral credit included: the ledger credits a referrer with a share of
//! what her referrals bring), then customer order.

use crate::config::AdvocacySettings;
use crate::facts::Facts;
use crate::health::Health;
use tenure_reports::status::Status;

/// One candidate: her facts and health, by index into the slices given to [`advocates`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub index: usize,
    pub nps: u8,
    pub health: f64,
}

/// The ranked candidates (at most `cfg.limit`). `facts` and `health` are parallel.
pub fn advocates(facts: &[Facts], health: &[Health], cfg: &AdvocacySettings) -> Vec<Candidate> {
    let mut v: Vec<Candidate> = facts
        .iter()
        .zip(health)
        .enumerate()
        .filter_map(|(i, (f, h))| {
            let (nps, _) = f.nps?;
            let score = h.score?;
            (nps >= cfg.min_nps
                && score >= cfg.min_health
                && f.tenure_days >= cfg.min_tenure.0 as i32
                && f.status != Status::Churned)
                .then_some(Candidate {
                    index: i,
                    nps,
                    health: score,
                })
        })
        .collect();
    v.sort_by(|a, b| {
        let (fa, fb) = (&facts[a.index], &facts[b.index]);
        b.nps
            .cmp(&a.nps)
            .then(b.health.total_cmp(&a.health))
            .then(fb.referrals.cmp(&fa.referrals))
            .then(fb.realised_profit.cmp(&fa.realised_profit))
            .then(a.index.cmp(&b.index))
    });
    v.truncate(cfg.limit);
    v
}
