"""Kaplan-Meier reference numbers from lifelines, for crates/tenure-reports/tests/km_lifelines.rs.

Writes three files into the folder given as the first argument:
  km_data.csv                     the inputs: dataset, duration (days), event (1 = churned)
  km_lifelines_<version>.csv      per dataset and timeline point: at risk, events, S(t),
                                  95% exponential-Greenwood ("log-log") bounds
  km_median_lifelines_<version>.csv  median survival time and its 95% interval
Run by bench/km_reference.sh in a pinned venv; the tests read the committed copies.
"""
import sys
import numpy as np
import pandas as pd
import lifelines
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

out = sys.argv[1]
datasets = {}
# Ties of events, censoring at event times (t = 3, 5, 8, 12), an all-censored tail (after 12).
datasets["ties"] = (
    [1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 5, 6, 7, 8, 8, 8, 9, 10, 12, 12, 12, 14, 15, 15, 20],
    [1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0],
)
# The last observation is an event: S reaches 0 and the median is finite with both bounds.
datasets["to_zero"] = ([2, 3, 3, 5, 6, 6, 7, 9, 11, 11], [1, 0, 1, 1, 1, 0, 1, 1, 1, 1])
# Everything censored: S = 1 throughout, no median.
datasets["all_censored"] = ([4, 4, 7, 30], [0, 0, 0, 0])
# One observation, an event at 0 days (a same-day start and cancel).
datasets["day_zero"] = ([0, 0, 1, 3, 3], [1, 0, 1, 0, 1])
# Seeded monthly-like tenures: geometric churn, censoring at a common horizon.
rng = np.random.default_rng(20261203)
n = 400
life = rng.geometric(0.06, n) * 30 + rng.integers(-2, 3, n)
start = rng.integers(0, 720, n)
horizon = 720 - start
dur = np.minimum(life, horizon)
ev = (life <= horizon).astype(int)
datasets["geometric"] = (dur.tolist(), ev.tolist())

header = "# lifelines %s, numpy %s, pandas %s; written by bench/km_reference.sh\n" % (
    lifelines.__version__, np.__version__, pd.__version__)
v = lifelines.__version__
with open(f"{out}/km_data.csv", "w") as f:
    f.write(header)
    f.write("dataset,duration,event\n")
    for name, (d, e) in datasets.items():
        for a, b in zip(d, e):
            f.write(f"{name},{a},{b}\n")
with open(f"{out}/km_lifelines_{v}.csv", "w") as f, open(f"{out}/km_median_lifelines_{v}.csv", "w") as g:
    f.write(header)
    f.write("dataset,time,at_risk,events,censored,survival,lower,upper\n")
    g.write(header)
    g.write("dataset,median,median_lower,median_upper\n")
    for name, (d, e) in datasets.items():
        k = KaplanMeierFitter().fit(d, event_observed=e, alpha=0.05)
        sf = k.survival_function_.iloc[:, 0]
        ci = k.confidence_interval_
        et = k.event_table
        for t in sf.index:
            f.write("%s,%r,%d,%d,%d,%r,%r,%r\n" % (
                name, float(t), int(et.loc[t, "at_risk"]), int(et.loc[t, "observed"]),
                int(et.loc[t, "censored"]), float(sf.loc[t]), float(ci.iloc[:, 0].loc[t]),
                float(ci.iloc[:, 1].loc[t])))
        m = median_survival_times(ci)
        g.write("%s,%r,%r,%r\n" % (name, float(k.median_survival_time_),
                                    float(m.iloc[0, 0]), float(m.iloc[0, 1])))
