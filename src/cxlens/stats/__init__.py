"""Pure statistics for CX and UX metrics (numpy, scipy, statsmodels; no database, no IO).

Estimators take sufficient statistics (counts, sums, sums of squares; see :mod:`cxlens.stats.sufficient`)
or raw values, and return a :class:`StatResult` with estimate, confidence interval, n, method, p-value and
warnings.

>>> from cxlens.stats import NpsCounts, nps
>>> r = nps(NpsCounts(promoters=690, passives=392, detractors=1271))
>>> round(r.estimate, 1)
-24.7
"""

from __future__ import annotations

from cxlens.stats.drivers import DriverResult, driver_analysis, importance_performance, relative_weights, shapley_r2
from cxlens.stats.latency import percentile_ci
from cxlens.stats.means import ces, mean_ci, paired_t, welch_t
from cxlens.stats.multiple import adjust_pvalues, adjust_results
from cxlens.stats.nps import nps, nps_difference
from cxlens.stats.power import (
    problem_discovery,
    sample_size_discovery,
    sample_size_mean,
    sample_size_nps,
    sample_size_proportion,
)
from cxlens.stats.proportions import (
    best_point_estimate,
    csat,
    mcnemar_exact,
    proportion_ci,
    two_proportion_test,
)
from cxlens.stats.questionnaires import (
    parse_likert,
    seq,
    sus,
    sus_grade,
    sus_percentile,
    sus_scores,
    umux_lite,
    ux_lite,
)
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import (
    LogMeanStat,
    MeanStat,
    NpsCounts,
    PairedProportionStat,
    ProportionStat,
    RatingCounts,
)
from cxlens.stats.tasks import completion_rate, errors_per_attempt, geometric_mean_ci, median_ci, task_time

__all__ = [
    "DriverResult",
    "LogMeanStat",
    "MeanStat",
    "NpsCounts",
    "PairedProportionStat",
    "ProportionStat",
    "RatingCounts",
    "StatResult",
    "adjust_pvalues",
    "adjust_results",
    "best_point_estimate",
    "ces",
    "completion_rate",
    "csat",
    "driver_analysis",
    "errors_per_attempt",
    "geometric_mean_ci",
    "importance_performance",
    "mcnemar_exact",
    "mean_ci",
    "median_ci",
    "nps",
    "nps_difference",
    "paired_t",
    "parse_likert",
    "percentile_ci",
    "problem_discovery",
    "proportion_ci",
    "relative_weights",
    "sample_size_discovery",
    "sample_size_mean",
    "sample_size_nps",
    "sample_size_proportion",
    "seq",
    "shapley_r2",
    "sus",
    "sus_grade",
    "sus_percentile",
    "sus_scores",
    "task_time",
    "two_proportion_test",
    "umux_lite",
    "ux_lite",
    "welch_t",
]
