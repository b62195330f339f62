"""The one result type of :mod:`cxlens.stats`.

Every estimator returns a :class:`StatResult`: a point estimate, a confidence interval, the sample size, the
method used, a p-value where a test was run, and plain-language warnings (small samples, approximations).
It renders as a one-row :class:`pandas.DataFrame` (``.summary``), as JSON-safe ``dict`` (``to_dict()``) and as
HTML in Jupyter (``_repr_html_``), in the spirit of lifelines' fitters.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["StatResult"]

_SUMMARY_COLUMNS = ["estimate", "ci_low", "ci_high", "n", "confidence", "p_value", "method", "warnings"]


def _json_safe(value: Any) -> Any:
    """Convert numpy scalars, tuples and non-finite floats into plain JSON values (NaN/inf become None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    return str(value)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class StatResult:
    """A point estimate with its confidence interval, sample size, method and caveats.

    Parameters
    ----------
    estimate : float
        The point estimate, in the metric's own unit (NPS in points from -100 to 100, proportions from 0 to
        1, SUS from 0 to 100, times in seconds, differences as group a minus group b).
    ci_low, ci_high : float
        Bounds of the confidence interval (NaN when it cannot be computed, e.g. ``n < 2`` for a t-interval).
    n : int
        Number of observations (for two-group comparisons, both groups together).
    method : str
        Human-readable name of the interval or test, e.g. ``"adjusted-Wald"``.
    confidence : float
        Confidence level of the interval, e.g. 0.95.
    p_value : float or None
        Two-sided p-value when a test was run, else None.
    metric : str
        What was estimated, e.g. ``"nps"``, ``"completion_rate"``, ``"sus"``.
    warnings : tuple of str
        Caveats for the reader (small sample, approximate coverage, clipped interval, ...).
    extra : dict
        Method-specific details (adjusted estimate, degrees of freedom, grade, ...).
    """

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float = 0.95
    p_value: float | None = None
    metric: str = ""
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimate", float(self.estimate))
        object.__setattr__(self, "ci_low", float(self.ci_low))
        object.__setattr__(self, "ci_high", float(self.ci_high))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "confidence", float(self.confidence))
        if self.p_value is not None:
            object.__setattr__(self, "p_value", float(self.p_value))
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))
        object.__setattr__(self, "extra", dict(self.extra))

    @property
    def ci(self) -> tuple[float, float]:
        """The confidence interval as ``(ci_low, ci_high)``."""
        return (self.ci_low, self.ci_high)

    @property
    def summary(self) -> pd.DataFrame:
        """One-row DataFrame indexed by the metric name, with estimate, interval, n, p-value and method."""
        row = {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "confidence": self.confidence,
            "p_value": np.nan if self.p_value is None else self.p_value,
            "method": self.method,
            "warnings": "; ".join(self.warnings),
        }
        index = pd.Index([self.metric or "estimate"], name="metric")
        return pd.DataFrame([row], index=index, columns=_SUMMARY_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: plain floats and ints, None for NaN and infinities, lists for tuples."""
        return _json_safe(asdict(self))

    def __str__(self) -> str:
        pct = f"{self.confidence * 100:g}%"
        text = (
            f"{self.metric or 'estimate'} = {_fmt(self.estimate)} "
            f"({pct} CI {_fmt(self.ci_low)} to {_fmt(self.ci_high)}), n = {self.n}, {self.method}"
        )
        if self.p_value is not None:
            text += f", p = {_fmt(self.p_value, 3)}"
        for w in self.warnings:
            text += f"\n  warning: {w}"
        return text

    def _repr_html_(self) -> str:
        head = [
            ("metric", self.metric or "estimate"),
            ("method", self.method),
            ("confidence", f"{self.confidence * 100:g}%"),
            ("n", str(self.n)),
        ]
        head_rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in head
        )
        table = self.summary.drop(columns=["warnings"]).to_html(
            float_format=lambda v: f"{v:.4g}", na_rep="", border=0
        )
        parts = [f"<div class='cxlens-statresult'><table>{head_rows}</table>", table]
        if self.warnings:
            items = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
            parts.append(f"<p><b>Warnings</b></p><ul>{items}</ul>")
        parts.append("</div>")
        return "".join(parts)
