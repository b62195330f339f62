"""Sufficient statistics: small, mergeable summaries that a database can compute with COUNT and SUM.

Every estimator in :mod:`cxlens.stats` works on one of these, so results can be computed in SQL (``count(*)``,
``sum(x)``, ``sum(x * x)``, counts per answer) and merged across shards, periods or segments without the raw
rows. All are frozen dataclasses; ``a + b`` merges two of the same kind and ``Type.merge(iterable)`` merges
many. Merging is exact for counts and, up to floating-point rounding, for sums.

Missing values (None, NaN) are skipped by every ``from_values``/``from_scores`` constructor; the caller
decides upstream whether a missing answer belongs in a denominator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from cxlens.stats._common import as_float_array

__all__ = ["LogMeanStat", "MeanStat", "NpsCounts", "PairedProportionStat", "ProportionStat", "RatingCounts"]

_T = TypeVar("_T")


def _nonneg_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer count, got a boolean")
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer count, got {value!r}") from None
    if as_int != value or as_int < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return as_int


def _merge(cls: type[_T], stats: Iterable[_T], zero: _T) -> _T:
    total = zero
    for s in stats:
        if not isinstance(s, cls):
            raise TypeError(f"cannot merge {type(s).__name__} into {cls.__name__}")
        total = total + s  # type: ignore[operator]
    return total


def _binary(values: ArrayLike, name: str) -> np.ndarray:
    arr = as_float_array(values, name=name)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be 0/1 or True/False; found {arr[i]!r}")
    return arr


@dataclass(frozen=True)
class ProportionStat:
    """Successes out of trials: a completion rate, a top-2-box share, a conversion.

    SQL: ``count(*) AS n, sum(CASE WHEN ok THEN 1 ELSE 0 END) AS successes``.
    """

    n: int
    successes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _nonneg_int("n", self.n))
        object.__setattr__(self, "successes", _nonneg_int("successes", self.successes))
        if self.successes > self.n:
            raise ValueError(f"successes ({self.successes}) cannot exceed n ({self.n})")

    @classmethod
    def from_values(cls, values: ArrayLike) -> ProportionStat:
        """Count 1/True as success and 0/False as failure; None and NaN are skipped."""
        arr = _binary(values, "values")
        return cls(n=int(arr.size), successes=int(arr.sum()))

    @classmethod
    def merge(cls, stats: Iterable[ProportionStat]) -> ProportionStat:
        """Merge any number of statistics (the empty merge is ``ProportionStat(0, 0)``)."""
        return _merge(cls, stats, cls(0, 0))

    @property
    def failures(self) -> int:
        """Number of failures, ``n - successes``."""
        return self.n - self.successes

    @property
    def p(self) -> float:
        """Observed proportion (NaN when ``n == 0``)."""
        return self.successes / self.n if self.n else math.nan

    def __add__(self, other: ProportionStat) -> ProportionStat:
        if not isinstance(other, ProportionStat):
            return NotImplemented
        return ProportionStat(self.n + other.n, self.successes + other.successes)

    def __radd__(self, other: Any) -> ProportionStat:
        if other == 0:  # lets the builtin sum() work
            return self
        return NotImplemented


@dataclass(frozen=True)
class MeanStat:
    """Count, sum and sum of squares of a numeric variable (plus min and max when known).

    SQL: ``count(x), sum(x), sum(x * x), min(x), max(x)``. ``minimum``/``maximum`` are optional; they let
    scale checks (e.g. CES 1-7) run on aggregated data. The variance comes from ``sum_sq - sum²/n``, which
    loses precision when values are huge relative to their spread (e.g. epoch timestamps): centre such
    data before aggregating.
    """

    n: int
    sum: float
    sum_sq: float
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _nonneg_int("n", self.n))
        object.__setattr__(self, "sum", float(self.sum))
        object.__setattr__(self, "sum_sq", float(self.sum_sq))
        for name in ("minimum", "maximum"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))
        if self.sum_sq < 0:
            raise ValueError(f"sum_sq must be non-negative, got {self.sum_sq!r}")

    @classmethod
    def from_values(cls, values: ArrayLike) -> MeanStat:
        """Summarise numbers; None and NaN are skipped."""
        arr = as_float_array(values)
        if arr.size == 0:
            return cls(0, 0.0, 0.0)
        return cls(
            n=int(arr.size),
            sum=float(arr.sum()),
            sum_sq=float(np.dot(arr, arr)),
            minimum=float(arr.min()),
            maximum=float(arr.max()),
        )

    @classmethod
    def merge(cls, stats: Iterable[MeanStat]) -> MeanStat:
        """Merge any number of statistics of the same kind."""
        return _merge(cls, stats, cls(0, 0.0, 0.0))

    @property
    def mean(self) -> float:
        """Arithmetic mean (NaN when ``n == 0``)."""
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Sample variance with ``n - 1`` in the denominator (NaN when ``n < 2``)."""
        if self.n < 2:
            return math.nan
        centred = self.sum_sq - self.sum * self.sum / self.n
        return max(centred, 0.0) / (self.n - 1)

    @property
    def sd(self) -> float:
        """Sample standard deviation (``n - 1``)."""
        return math.sqrt(self.variance)

    @property
    def se(self) -> float:
        """Standard error of the mean, ``sd / sqrt(n)``."""
        return self.sd / math.sqrt(self.n) if self.n >= 2 else math.nan

    def __add__(self, other: MeanStat) -> MeanStat:
        if type(other) is not type(self):
            return NotImplemented
        if self.n == 0:
            return other
        if other.n == 0:
            return self

        def both(a: float | None, b: float | None, f: Any) -> float | None:
            return None if a is None or b is None else f(a, b)

        return type(self)(
            self.n + other.n,
            self.sum + other.sum,
            self.sum_sq + other.sum_sq,
            both(self.minimum, other.minimum, min),
            both(self.maximum, other.maximum, max),
        )

    def __radd__(self, other: Any) -> MeanStat:
        if other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True)
class LogMeanStat(MeanStat):
    """A :class:`MeanStat` of natural logarithms, for geometric means (task times).

    SQL: ``count(t), sum(ln(t)), sum(ln(t) * ln(t)), min(ln(t)), max(ln(t))``. Kept as its own type so a
    mean of raw times is never mistaken for a mean of log times.
    """

    @classmethod
    def from_values(cls, values: ArrayLike) -> LogMeanStat:
        """Summarise ``ln(values)``; values must be positive (None and NaN are skipped)."""
        arr = as_float_array(values)
        if (arr <= 0).any():
            raise ValueError("geometric means need positive values (times > 0)")
        return cls(**vars(MeanStat.from_values(np.log(arr))))

    @property
    def geometric_mean(self) -> float:
        """``exp(mean of logs)``."""
        return math.exp(self.mean) if self.n else math.nan


@dataclass(frozen=True)
class NpsCounts:
    """Promoters (9-10), passives (7-8) and detractors (0-6) on the 0-10 likelihood-to-recommend item.

    SQL: three ``sum(CASE ...)`` columns, or counts per score via :meth:`RatingCounts.to_nps`.
    """

    promoters: int
    passives: int
    detractors: int

    def __post_init__(self) -> None:
        for name in ("promoters", "passives", "detractors"):
            object.__setattr__(self, name, _nonneg_int(name, getattr(self, name)))

    @classmethod
    def from_scores(cls, scores: ArrayLike) -> NpsCounts:
        """Band 0-10 scores; None and NaN are skipped, anything else outside 0..10 raises ValueError."""
        arr = as_float_array(scores, name="scores")
        bad = (arr < 0) | (arr > 10) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"NPS scores must be integers 0-10; found {arr[i]!r}")
        return cls(
            promoters=int((arr >= 9).sum()),
            passives=int(((arr >= 7) & (arr <= 8)).sum()),
            detractors=int((arr <= 6).sum()),
        )

    @classmethod
    def merge(cls, stats: Iterable[NpsCounts]) -> NpsCounts:
        """Merge any number of counts."""
        return _merge(cls, stats, cls(0, 0, 0))

    @property
    def n(self) -> int:
        """All scored respondents, the NPS denominator."""
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float:
        """(promoters - detractors) / n x 100, in points from -100 to 100 (NaN when n == 0)."""
        return 100.0 * (self.promoters - self.detractors) / self.n if self.n else math.nan

    def __add__(self, other: NpsCounts) -> NpsCounts:
        if not isinstance(other, NpsCounts):
            return NotImplemented
        return NpsCounts(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __radd__(self, other: Any) -> NpsCounts:
        if other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True)
class RatingCounts:
    """Counts per answer on an integer rating scale ``low..high`` (CSAT 1-5, CES 1-7, LTR 0-10).

    The scale travels with the counts: merging a 1-5 with a 1-7 distribution raises ValueError instead of
    silently mixing them. SQL: ``SELECT answer, count(*) ... GROUP BY answer``.
    """

    low: int
    high: int
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        low, high = int(self.low), int(self.high)
        if high <= low:
            raise ValueError(f"rating scale needs high > low, got {low}..{high}")
        counts = tuple(_nonneg_int(f"counts[{i}]", c) for i, c in enumerate(self.counts))
        if len(counts) != high - low + 1:
            raise ValueError(f"a {low}..{high} scale needs {high - low + 1} counts, got {len(counts)}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "counts", counts)

    @classmethod
    def from_values(cls, values: ArrayLike, low: int, high: int) -> RatingCounts:
        """Count integer answers on ``low..high``; None and NaN are skipped, anything else raises."""
        arr = as_float_array(values)
        bad = (arr < low) | (arr > high) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"answers must be integers {low}-{high}; found {arr[i]!r}")
        counts = np.bincount((arr - low).astype(int), minlength=high - low + 1)
        return cls(low, high, tuple(int(c) for c in counts))

    @classmethod
    def from_mapping(cls, counts: Mapping[int, int], low: int, high: int) -> RatingCounts:
        """Build from ``{answer: count}``, e.g. the rows of a GROUP BY; missing answers count 0."""
        unknown = [k for k in counts if not low <= int(k) <= high]
        if unknown:
            raise ValueError(f"answers {unknown} are outside the {low}..{high} scale")
        return cls(low, high, tuple(int(counts.get(v, 0)) for v in range(low, high + 1)))

    @classmethod
    def merge(cls, stats: Iterable[RatingCounts]) -> RatingCounts:
        """Merge counts on the same scale (raises ValueError on different scales or no input)."""
        items = list(stats)
        if not items:
            raise ValueError("RatingCounts.merge needs at least one item (the scale is unknown)")
        return _merge(cls, items[1:], items[0])

    @property
    def n(self) -> int:
        """Number of answers."""
        return sum(self.counts)

    @property
    def values(self) -> tuple[int, ...]:
        """The scale points ``low..high``."""
        return tuple(range(self.low, self.high + 1))

    def mean_stat(self) -> MeanStat:
        """Exact :class:`MeanStat` of the answers (with min and max of the answers given)."""
        if self.n == 0:
            return MeanStat(0, 0.0, 0.0)
        v = np.arange(self.low, self.high + 1, dtype=float)
        c = np.asarray(self.counts, dtype=float)
        seen = v[c > 0]
        return MeanStat(self.n, float(v @ c), float((v * v) @ c), float(seen.min()), float(seen.max()))

    def top_box(self, k: int = 2) -> ProportionStat:
        """Share of answers in the top ``k`` points (``k=2`` on 1-5: % answering 4 or 5)."""
        if not 1 <= k <= len(self.counts):
            raise ValueError(f"top box k must be 1..{len(self.counts)}, got {k}")
        return ProportionStat(self.n, sum(self.counts[-k:]))

    def bottom_box(self, k: int = 2) -> ProportionStat:
        """Share of answers in the bottom ``k`` points."""
        if not 1 <= k <= len(self.counts):
            raise ValueError(f"bottom box k must be 1..{len(self.counts)}, got {k}")
        return ProportionStat(self.n, sum(self.counts[:k]))

    def to_nps(self) -> NpsCounts:
        """Band a 0-10 distribution into promoters, passives and detractors."""
        if (self.low, self.high) != (0, 10):
            raise ValueError(f"NPS needs the 0-10 scale, this distribution is {self.low}-{self.high}")
        c = self.counts
        return NpsCounts(promoters=c[9] + c[10], passives=c[7] + c[8], detractors=sum(c[:7]))

    def __add__(self, other: RatingCounts) -> RatingCounts:
        if not isinstance(other, RatingCounts):
            return NotImplemented
        if (self.low, self.high) != (other.low, other.high):
            raise ValueError(
                f"cannot merge a {self.low}-{self.high} scale with a {other.low}-{other.high} scale; "
                "rescale explicitly first"
            )
        return RatingCounts(
            self.low, self.high, tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        )

    def __radd__(self, other: Any) -> RatingCounts:
        if other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True)
class PairedProportionStat:
    """A 2x2 table of paired binary outcomes (the same people on two tasks or designs).

    ``both``: success on both; ``first_only``/``second_only``: discordant pairs; ``neither``.
    """

    both: int
    first_only: int
    second_only: int
    neither: int

    def __post_init__(self) -> None:
        for name in ("both", "first_only", "second_only", "neither"):
            object.__setattr__(self, name, _nonneg_int(name, getattr(self, name)))

    @classmethod
    def from_values(cls, first: ArrayLike, second: ArrayLike) -> PairedProportionStat:
        """Cross-tabulate two equally long 0/1 sequences; pairs with a missing value are dropped."""
        a = np.asarray(first, dtype=float).ravel()
        b = np.asarray(second, dtype=float).ravel()
        if a.shape != b.shape:
            raise ValueError(f"paired data need equal lengths, got {a.size} and {b.size}")
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = _binary(a[keep], "first"), _binary(b[keep], "second")
        return cls(
            both=int(((a == 1) & (b == 1)).sum()),
            first_only=int(((a == 1) & (b == 0)).sum()),
            second_only=int(((a == 0) & (b == 1)).sum()),
            neither=int(((a == 0) & (b == 0)).sum()),
        )

    @classmethod
    def merge(cls, stats: Iterable[PairedProportionStat]) -> PairedProportionStat:
        """Merge any number of tables."""
        return _merge(cls, stats, cls(0, 0, 0, 0))

    @property
    def n(self) -> int:
        """Number of pairs."""
        return self.both + self.first_only + self.second_only + self.neither

    @property
    def first(self) -> ProportionStat:
        """Marginal successes of the first measure."""
        return ProportionStat(self.n, self.both + self.first_only)

    @property
    def second(self) -> ProportionStat:
        """Marginal successes of the second measure."""
        return ProportionStat(self.n, self.both + self.second_only)

    def __add__(self, other: PairedProportionStat) -> PairedProportionStat:
        if not isinstance(other, PairedProportionStat):
            return NotImplemented
        return PairedProportionStat(
            self.both + other.both,
            self.first_only + other.first_only,
            self.second_only + other.second_only,
            self.neither + other.neither,
        )

    def __radd__(self, other: Any) -> PairedProportionStat:
        if other == 0:
            return self
        return NotImplemented
