// The text each `data-figure` of the value review page (`GET /api/customers/{id}/review?format=html`)
// must show, computed from the JSON review of the same customer and quarter. Shared by
// review-e2e.js and dashboard-e2e.js.
"use strict";

function reviewFigures(r) {
  const n = (v, d) => (v === null ? "—" : v.toFixed(d));
  const count = (f) => String(r.goals.filter(f).length);
  const want = {
    customer: r.customer, period: r.period, as_of: r.as_of, tenure_days: String(r.tenure_days),
    realised_profit: r.realised_profit,
    goals: String(r.goals.length), goals_done: count((g) => g.status === "done"), goals_overdue: count((g) => g.overdue),
    usage_index: n(r.value.usage_index, 2),
    usage_trend: r.value.usage_trend === null ? "—" : (r.value.usage_trend >= 0 ? "+" : "") + (100 * r.value.usage_trend).toFixed(1) + " %",
    features_adopted: String(r.value.features_adopted.length),
    features_new_in_period: String(r.value.features_new_in_period),
    days_to_first_value: r.value.days_to_first_value === null ? "not reached" : String(r.value.days_to_first_value),
    cases_opened: String(r.support.opened), cases_closed: String(r.support.closed),
    cases_escalated: String(r.support.escalated), cases_open_at_end: String(r.support.open_at_end),
    mean_satisfaction: n(r.support.mean_satisfaction, 2),
    paid_total: r.paid.total, invoice_lines: String(r.paid.invoice_lines),
    payments_succeeded: String(r.paid.payments_succeeded), payments_failed: String(r.paid.payments_failed),
    refunds: String(r.paid.refunds), refunded: r.paid.refunded, chargebacks: String(r.paid.chargebacks),
    stage: r.lifecycle.stage, days_in_stage: String(r.lifecycle.days_in_stage),
    next_stage: r.lifecycle.next_stage === null ? "—" : r.lifecycle.next_stage,
  };
  r.support.opened_by_severity.forEach((c, i) => { want["cases_severity_" + (i + 1)] = String(c); });
  // Each goal's metric: the page rounds progress half up, as Math.round does.
  r.goals.forEach((g, i) => {
    const k = "goal_" + (i + 1) + "_";
    want[k + "value"] = g.value === null ? "—" : g.value;
    want[k + "start_value"] = g.start_value === null ? "—" : g.start_value;
    want[k + "target"] = g.target_value === null ? "—" : g.target_value;
    want[k + "progress"] = g.progress === null ? "—" : Math.round(100 * g.progress) + " %";
    want[k + "met"] = g.met === null ? "—" : g.met ? "met" : "not met";
  });
  const e = r.engagement;
  Object.assign(want, {
    interactions: String(e.interactions), touches: String(e.touches), touches_opened: String(e.touches_opened),
    touches_clicked: String(e.touches_clicked), touches_replied: String(e.touches_replied),
  });
  for (const [kind, c] of Object.entries(e.interactions_by_kind)) want["interactions_" + kind] = String(c);
  return want;
}

module.exports = { reviewFigures };
