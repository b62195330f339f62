"""Query kind ``clv``: non-contractual customer lifetime value from the transactions table.

``{"kind": "clv", "model": "bgnbd", "calibration_end": "1997-09-30", "time_unit": "week", "horizon": 39,
"discount_rate": 0.01, "margin": 0.3}`` returns ``{"params": {"r", "alpha", "a", "b"}, "customers": [...],
"totals": {...}, "holdout": {...}, ...}``.

Pipeline: the (frequency, recency, T, monetary value) summary is computed in the database in one query
(:func:`cxlens.query.lifetime_source.rft_summary`); the models (:mod:`cxlens.lifetime`, compact scipy
maximum-likelihood fits, see there why not the ``lifetimes`` package) then run on those per-customer arrays:

* ``bgnbd`` / ``mbgnbd`` / ``pareto_nbd`` - purchases and P(alive); the spend per purchase comes from a
  Gamma-Gamma fit on the repeat customers (``spend_model: "gamma_gamma"``) or the observed mean;
* ``gamma_gamma`` - the spend model itself (``params`` p, q, gamma), with CLV from ``transaction_model``;
* ``bgbb`` - discrete opportunities: per-period purchase indicators from the transactions
  (``opportunity_period``, optionally capped at ``opportunities`` per customer), or compressed histories
  given in the query (``histories``: frequency, recency, periods, weights; e.g. the donations data).

CLV = margin x expected spend per purchase x expected purchases, each discounting period's purchases
discounted by ``discount_rate`` (per ``discount_period``) at the end of the period
(:func:`cxlens.lifetime.value.discounted_value`). When the data extend past ``calibration_end`` the hold-out
check compares the purchases predicted for (calibration_end, observation_end] with the actual ones, in total and
by calibration frequency (as Figure 4 of Fader, Hardie & Lee 2005). ``by`` adds CLV and churn by segment
(NPS group, RFM segment, account, role, person property) with intervals and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cxlens.errors import QueryError
from cxlens.lifetime import (
    RFM_SEGMENT_RULES,
    BetaGeoBetaBinomFitter,
    BetaGeoFitter,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
    quintile_scores,
    rfm_segment,
)
from cxlens.lifetime.base import ConvergenceError, json_safe
from cxlens.lifetime.value import discounted_value
from cxlens.query.lifetime_segments import compare_segments, segment_labels, segment_warnings
from cxlens.query.lifetime_source import (
    UNIT_DAYS,
    TransactionSource,
    opportunity_summary,
    parse_day,
    rft_summary,
    transaction_bounds,
)
from cxlens.query.registry import register_query

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["BOUNDS", "RFM_ORDER", "ClvQuery", "CompressedHistories", "clv_result"]

Model = Literal["bgnbd", "pareto_nbd", "mbgnbd", "gamma_gamma", "bgbb"]
CountModel = Literal["bgnbd", "pareto_nbd", "mbgnbd"]
Progress = Callable[[str], None]

RFM_ORDER = [name for name, *_ in RFM_SEGMENT_RULES]
BOUNDS = {"clv": (0.0, float("inf")), "p_alive": (0.0, 1.0), "expected_purchases": (0.0, float("inf")),
           "active_in_holdout": (0.0, 1.0), "active_after_as_of": (0.0, 1.0)}
_COUNT_MODELS: dict[str, Any] = {"bgnbd": BetaGeoFitter, "pareto_nbd": ParetoNBDFitter,
                                 "mbgnbd": ModifiedBetaGeoFitter}


class CompressedHistories(BaseModel):
    """BG/BB input given directly: distinct (x, t_x, n) histories and how many customers share each."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    frequency: list[float]
    recency: list[float]
    periods: list[float]
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _same_length(self) -> CompressedHistories:
        n = {len(self.frequency), len(self.recency), len(self.periods)} | (
            {len(self.weights)} if self.weights is not None else set())
        if len(n) != 1:
            raise ValueError("histories: frequency, recency, periods (and weights) must have the same length")
        return self


class ClvQuery(TransactionSource):
    """Fit a CLV model on the transactions and score every customer."""

    kind: Literal["clv"] = "clv"
    model: Model = "bgnbd"
    calibration_end: str | date | None = Field(None, description="last calibration day; default: last "
                                                                 "transaction day (no hold-out)")
    observation_end: str | date | None = Field(None, description="end of the hold-out; default: last "
                                                                 "transaction day")
    time_unit: Literal["day", "week"] = "week"
    horizon: float = Field(39, gt=0, description="forecast length in time_unit (BG/BB: opportunities)")
    discount_rate: float = Field(0.01, gt=-1, description="per discount_period")
    discount_period: Literal["day", "week", "month", "quarter", "year"] = "month"
    margin: float = Field(1.0, gt=0, description="share of spend that is profit")
    spend_model: Literal["gamma_gamma", "mean"] = "gamma_gamma"
    transaction_model: CountModel = Field("bgnbd", description="purchase model for CLV when model is "
                                                               "gamma_gamma")
    opportunity_period: Literal["day", "week", "month", "quarter", "year"] = "year"
    opportunities: int | None = Field(None, ge=1, le=10_000, description="BG/BB: cap on opportunities")
    histories: CompressedHistories | None = None
    penalizer: float = Field(0.0, ge=0)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    by: str | None = Field(None, description="segments: nps, rfm, account, role or person.<property>")
    interval: Literal["t", "bootstrap"] = Field("t", description="interval of the segment means")
    sort: Literal["customer", "clv", "expected_purchases", "p_alive"] = "customer"
    limit: int | None = Field(None, ge=0, description="customers to list (default all; 0: none)")

    @model_validator(mode="after")
    def _check(self) -> ClvQuery:
        if self.histories is not None and self.model != "bgbb":
            raise ValueError("histories (compressed discrete-time data) are the input of model 'bgbb' only")
        return self


def _fit(cls: Any, q: ClvQuery, *args: Any, weights: Any = None) -> Any:
    return cls(penalizer_coef=q.penalizer, alpha=1 - q.confidence).fit(*args, weights=weights)


def _fit_info(m: Any, paper_names: bool = False) -> dict[str, Any]:
    d = m.to_dict()
    if paper_names:  # Gamma-Gamma: the paper's gamma is lifetimes' v
        ren = {"v": "gamma"}
        for key in ("params", "standard_errors", "confidence_intervals"):
            d[key] = {ren.get(k, k): v for k, v in d[key].items()}
    return d


def _spend(q: ClvQuery, s: dict[str, np.ndarray], warnings: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Expected value per future purchase for every customer, and what produced it."""
    x, z = s["frequency"], s["monetary_value"]
    rep = (x > 0) & (z > 0)
    if q.spend_model == "gamma_gamma" and rep.sum() >= 10:
        try:
            gg = _fit(GammaGammaFitter, q, x[rep], z[rep])
        except ConvergenceError as e:
            if q.model == "gamma_gamma":
                raise
            warnings.append(f"Gamma-Gamma did not converge, the mean repeat spend is used instead ({e.message})")
            gg = None
    else:
        gg = None
    if gg is not None:
        corr = float(np.corrcoef(x[rep], z[rep])[0, 1]) if rep.sum() > 2 else float("nan")
        if abs(corr) > 0.3:
            warnings.append(f"Gamma-Gamma assumes spend is independent of frequency; corr(x, zbar) = {corr:.2f}")
        info = {**_fit_info(gg, paper_names=True), "model": "gamma_gamma", "frequency_spend_correlation": corr}
        return np.asarray(gg.conditional_expected_average_profit(x, z), dtype=np.float64), info
    if q.spend_model == "gamma_gamma" and rep.sum() < 10:
        warnings.append("fewer than 10 repeat customers with spend: the mean repeat spend is used instead of "
                        "Gamma-Gamma")
    mean = float(z[rep].mean()) if rep.any() else 0.0
    spend = np.where(rep, z, mean)
    return spend, {"model": "mean", "mean_repeat_spend": mean}


def _holdout(model: Any, s: dict[str, np.ndarray]) -> dict[str, Any]:
    """Predicted vs actual hold-out purchases, in total and by calibration frequency (0..6, 7+)."""
    pred = np.asarray(model.conditional_expected_number_of_purchases_up_to_time(
        s["duration_holdout"], s["frequency"], s["recency"], s["T"]), dtype=np.float64)
    act = s["frequency_holdout"]
    x = s["frequency"]
    bins = np.minimum(x, 7).astype(np.int64)
    n = np.bincount(bins, minlength=8)
    a = np.bincount(bins, weights=act, minlength=8)
    p = np.bincount(bins, weights=pred, minlength=8)
    keep = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = pa.table({"frequency": [f"{k}" if k < 7 else "7+" for k in range(8)], "customers": n,
                         "actual_mean": a / n, "predicted_mean": p / n}).filter(pa.array(keep)).to_pylist()
        corr = float(np.corrcoef(act, pred)[0, 1]) if act.size > 2 and np.ptp(act) > 0 else float("nan")
    return {
        "duration": float(s["duration_holdout"][0]),
        "actual_purchases": float(act.sum()),
        "predicted_purchases": float(pred.sum()),
        "relative_error": float((pred.sum() - act.sum()) / act.sum()) if act.sum() else None,
        "mean_absolute_error": float(np.mean(np.abs(pred - act))),
        "correlation": corr,
        "by_calibration_frequency": rows,
    }


def _customers(q: ClvQuery, cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    n = cols["customer"].size
    order = np.arange(n) if q.sort == "customer" else np.argsort(-cols[q.sort], kind="stable")
    if q.limit is not None:
        order = order[: q.limit]
    t = pa.table({k: (pa.array(v[order].tolist()) if v.dtype == object else v[order]) for k, v in cols.items()})
    return json_safe(t.to_pylist())


def _rfm_of(s: dict[str, np.ndarray], unit: float) -> np.ndarray:
    recency_days = (s["T"] - s["recency"]) * unit
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(s["frequency"] + 1)
    return rfm_segment(r, f)


def _bgbb(ws: Workspace, q: ClvQuery, cal: date | None, out: dict[str, Any], tick: Progress) -> dict[str, Any]:
    """BG/BB on compressed histories or on per-period purchase indicators from the transactions."""
    if q.histories is not None:
        h = q.histories
        s = {"customer": np.asarray([f"history {i + 1}" for i in range(len(h.frequency))], dtype=object),
             "frequency": np.asarray(h.frequency, float), "recency": np.asarray(h.recency, float),
             "periods": np.asarray(h.periods, float)}
        w = np.asarray(h.weights if h.weights is not None else np.ones(len(h.frequency)), float)
        spend = np.ones(w.size)
        out["input"] = "compressed histories"
        out["spend"] = {"model": "none", "note": "no amounts in compressed histories: CLV counts transactions"}
    else:
        _lo, hi, _ = transaction_bounds(ws, q)
        cal = cal or hi
        tick("summary")
        s = opportunity_summary(ws, q, q.opportunity_period, cal, q.opportunities)
        w = np.ones(s["frequency"].size)
        x = s["frequency"]
        with np.errstate(invalid="ignore", divide="ignore"):
            zbar = np.where(x > 0, s["spend"] / np.maximum(x, 1), 0.0)
        s["monetary_value"] = zbar
        spend, out["spend"] = _spend(q, s, out["warnings"])
        out["input"] = f"per-{q.opportunity_period} purchase indicators from transactions"
        out["calibration_end"] = cal.isoformat()
    out["opportunity_period"] = q.opportunity_period
    tick("fit")
    t0 = time.perf_counter()
    m = _fit(BetaGeoBetaBinomFitter, q, s["frequency"], s["recency"], s["periods"], weights=w)
    out["timings"]["fit"] = time.perf_counter() - t0
    out.update(_fit_info(m))
    tick("predict")
    opp_days = UNIT_DAYS[q.opportunity_period]
    step = UNIT_DAYS[q.discount_period] / opp_days
    value, purchases = discounted_value(m, s["frequency"], s["recency"], s["periods"], spend, q.horizon,
                                        step, q.discount_rate, q.margin)
    alive = np.asarray(m.conditional_probability_alive(s["frequency"], s["recency"], s["periods"]), float)
    cols = {"customer": s["customer"], "frequency": s["frequency"], "recency": s["recency"],
            "periods": s["periods"], "weight": w, "expected_purchases": purchases, "p_alive": alive,
            "expected_spend": spend, "clv": value}
    out["totals"] = _totals(w, purchases, alive, value)
    return cols


def _totals(w: np.ndarray, purchases: np.ndarray, alive: np.ndarray, value: np.ndarray) -> dict[str, float]:
    n = float(w.sum())
    return {"customers": n, "expected_purchases": float(w @ purchases), "expected_alive": float(w @ alive),
            "mean_p_alive": float(w @ alive / n), "clv": float(w @ value), "mean_clv": float(w @ value / n)}


def clv_result(ws: Workspace, q: ClvQuery, progress: Progress | None = None) -> dict[str, Any]:
    """Run a ``clv`` query; ``progress(stage)`` is called before each stage (summary, fit, predict).

    Parameters
    ----------
    ws : Workspace
    q : ClvQuery
    progress : callable, optional
        Receives ``"summary"``, ``"fit"``, ``"predict"`` and ``"segments"``.

    Returns
    -------
    dict
        JSON-safe result (see the module docstring).
    """
    tick = progress or (lambda _stage: None)
    cal = parse_day(q.calibration_end, "calibration_end")
    obs = parse_day(q.observation_end, "observation_end")
    out: dict[str, Any] = {"kind": "clv", "model": q.model, "time_unit": q.time_unit, "horizon": q.horizon,
                           "discount_rate": q.discount_rate, "discount_period": q.discount_period,
                           "margin": q.margin, "warnings": [], "timings": {}}
    t_start = time.perf_counter()
    if q.model == "bgbb":
        cols = _bgbb(ws, q, cal, out, tick)
        if q.by:
            raise QueryError("by is not available for model 'bgbb'; use a continuous-time model")
    else:
        cols = _continuous(ws, q, cal, obs, out, tick)
    out["customers"] = _customers(q, cols)
    out["timings"]["total"] = time.perf_counter() - t_start
    return json_safe(out)


def _continuous(ws: Workspace, q: ClvQuery, cal: date | None, obs: date | None, out: dict[str, Any],
                tick: Progress) -> dict[str, np.ndarray]:
    tick("summary")
    t0 = time.perf_counter()
    _lo, hi, n_tx = transaction_bounds(ws, q)
    cal = cal or hi
    obs = obs or hi
    if obs < cal:
        raise QueryError(f"observation_end {obs.isoformat()} is before calibration_end {cal.isoformat()}")
    s = rft_summary(ws, q, cal, obs if obs > cal else None, q.time_unit)
    out["timings"]["summary"] = time.perf_counter() - t0
    x = s["frequency"]
    out.update({"calibration_end": cal.isoformat(), "observation_end": obs.isoformat(), "transactions": n_tx,
                "n_customers": int(x.size), "repeat_customers": int((x > 0).sum())})
    tick("fit")
    t0 = time.perf_counter()
    count_name = q.transaction_model if q.model == "gamma_gamma" else q.model
    count = _fit(_COUNT_MODELS[count_name], q, x, s["recency"], s["T"])
    spend, spend_info = _spend(q.model_copy(update={"spend_model": "gamma_gamma"})
                               if q.model == "gamma_gamma" else q, s, out["warnings"])
    out["timings"]["fit"] = time.perf_counter() - t0
    if q.model == "gamma_gamma":
        if spend_info["model"] != "gamma_gamma":
            raise QueryError("gamma_gamma needs at least 10 repeat customers with a positive spend")
        out.update({k: spend_info[k] for k in ("params", "standard_errors", "confidence_intervals",
                                               "log_likelihood", "n", "converged")})
        out["transaction_model"] = {**_fit_info(count), "model": count_name}
        out["frequency_spend_correlation"] = spend_info["frequency_spend_correlation"]
    else:
        out.update(_fit_info(count))
        out["spend"] = spend_info
    out["warnings"] += list(count.warnings_)
    tick("predict")
    t0 = time.perf_counter()
    step = UNIT_DAYS[q.discount_period] / UNIT_DAYS[q.time_unit]
    value, purchases = discounted_value(count, x, s["recency"], s["T"], spend, q.horizon, step,
                                        q.discount_rate, q.margin)
    alive = np.asarray(count.conditional_probability_alive(x, s["recency"], s["T"]), dtype=np.float64)
    if "frequency_holdout" in s:
        out["holdout"] = _holdout(count, s)
    else:
        out["holdout"] = None
    out["timings"]["predict"] = time.perf_counter() - t0
    cols = {"customer": s["customer"], "frequency": x, "recency": s["recency"], "T": s["T"],
            "monetary_value": s["monetary_value"], "expected_purchases": purchases, "p_alive": alive,
            "expected_spend": spend, "clv": value}
    if "frequency_holdout" in s:
        cols["frequency_holdout"] = s["frequency_holdout"]
    out["totals"] = _totals(np.ones(x.size), purchases, alive, value)
    if q.by:
        tick("segments")
        labels = segment_labels(ws, s["customer"], q.by, q.customer is not None,
                                rfm=_rfm_of(s, UNIT_DAYS[q.time_unit]) if q.by == "rfm" else None)
        values = {"clv": value, "p_alive": alive, "expected_purchases": purchases}
        if "frequency_holdout" in s:
            values["active_in_holdout"] = (s["frequency_holdout"] > 0).astype(np.float64)
        out["by"] = q.by
        out["warnings"] += segment_warnings(labels, q.by)
        out["segments"] = compare_segments(labels, values, q.confidence, sums=("clv",), order=RFM_ORDER,
                                           bounds=BOUNDS, interval=q.interval)
        cols["segment"] = labels
    return cols


@register_query("clv", ClvQuery, "Customer lifetime value: BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma or BG/BB "
                                 "on the transactions; expected purchases, P(alive), CLV per customer.")
def run_clv(ws: Workspace, q: ClvQuery) -> dict[str, Any]:
    return clv_result(ws, q)
