"""Small helpers shared by the :mod:`cxlens.stats` modules (not public API)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

__all__ = ["SMALL_N", "as_float_array", "check_confidence", "z_for", "z_to_confidence"]

#: Below this many observations t- and NPS intervals get a small-sample warning.
SMALL_N = 30


def check_confidence(confidence: float) -> float:
    """Validate a confidence level in the open interval (0, 1) and return it as a float."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    return c


def z_for(confidence: float) -> float:
    """Two-sided standard-normal critical value for a confidence level (1.959964 for 0.95)."""
    return _z_cached(check_confidence(confidence))


@functools.lru_cache(maxsize=64)
def _z_cached(confidence: float) -> float:
    # scipy's ppf costs ~60 us a call; a query computes one interval per group with the same level
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def z_to_confidence(z: float) -> float:
    """The two-sided confidence level that a critical value ``z`` corresponds to."""
    if not (z > 0 and math.isfinite(z)):
        raise ValueError(f"z must be a positive finite number, got {z!r}")
    return float(1.0 - 2.0 * _st.norm.sf(z))


def as_float_array(values: ArrayLike | Any, *, name: str = "values") -> np.ndarray:
    """1-D float array of ``values`` with missing entries (None, NaN) removed."""
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        objs = np.asarray(values, dtype=object).ravel()
        arr = np.empty(objs.shape, dtype=float)
        for i, v in enumerate(objs):
            try:
                arr[i] = np.nan if v is None else float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{name}[{i}] = {v!r} is not a number") from None
    return arr[~np.isnan(arr)]
