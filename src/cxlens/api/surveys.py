"""Survey definitions for the widget, stored in the workspace table ``_cxlens_surveys`` (migration 3).

A definition says what to ask (NPS 0-10, CES 1-5 or 1-7, CSAT 1-5, with an optional open-text follow-up),
where (targeting by page URL and/or by a tracked event) and how often (once per person per period, kept in
the browser's localStorage). Answers arrive as ordinary ``responses`` rows through ``POST /api/responses``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cxlens.errors import CxlensInputError, NotFoundError
from cxlens.store.base import Store

__all__ = ["ConflictError", "SurveyDefinition", "SurveyStore", "Targeting"]

_TABLE = "_cxlens_surveys"


class ConflictError(CxlensInputError):
    """The object exists already."""

    status = 409
    code = "conflict"


class Targeting(BaseModel):
    """Where the survey shows: every condition given must hold (none given: every page)."""

    model_config = ConfigDict(extra="forbid")

    url_contains: str | None = Field(None, description="show on pages whose URL contains this text")
    url_regex: str | None = Field(None, description="show on pages whose URL matches this JavaScript regex")
    event: str | None = Field(None, description="show after the page calls cxlens.track(event)")


class SurveyDefinition(BaseModel):
    """One widget survey: one rating question and an optional open-text follow-up."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="stored as `survey` on answers")
    question_type: Literal["nps", "ces", "csat"] = "nps"
    question: str = Field(..., min_length=1, max_length=500, description="the question shown")
    scale_min: int | None = Field(None, description="default: NPS 0, CES 1, CSAT 1")
    scale_max: int | None = Field(None, description="default: NPS 10, CES 7, CSAT 5")
    low_label: str | None = Field(None, max_length=80)
    high_label: str | None = Field(None, max_length=80)
    follow_up: str | None = Field(None, max_length=500, description="open-text question after the score")
    targeting: Targeting = Field(default_factory=Targeting)
    once_per_days: int = Field(90, ge=0, le=3650, description="ask a person at most once per this many days")
    active: bool = True

    @model_validator(mode="after")
    def _scale(self) -> SurveyDefinition:
        default = {"nps": (0, 10), "ces": (1, 7), "csat": (1, 5)}[self.question_type]
        lo = default[0] if self.scale_min is None else self.scale_min
        hi = default[1] if self.scale_max is None else self.scale_max
        allowed = {"nps": [(0, 10)], "ces": [(1, 5), (1, 7)], "csat": [(1, 5), (1, 7)]}[self.question_type]
        if (lo, hi) not in allowed:
            raise ValueError(f"scale {lo}-{hi} is not allowed for {self.question_type}; allowed: "
                             + ", ".join(f"{a}-{b}" for a, b in allowed))
        self.scale_min, self.scale_max = lo, hi
        return self


class SurveyStore:
    """Create, list and get survey definitions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def create(self, survey: SurveyDefinition) -> dict[str, Any]:
        """Store a new definition; a second one with the same id is a :class:`ConflictError`."""
        with self._lock:
            if self._row(survey.id) is not None:
                raise ConflictError(f"survey {survey.id!r} exists already", field="id", value=survey.id)
            now = datetime.now(UTC).replace(tzinfo=None)
            row = pa.table({"survey_id": [survey.id], "definition": [orjson.dumps(survey.model_dump()).decode()],
                            "created_at": pa.array([now], pa.timestamp("us")),
                            "updated_at": pa.array([now], pa.timestamp("us"))})
            self.store.append_internal(_TABLE, row)
        return self.get(survey.id)

    def _row(self, survey_id: str) -> dict[str, Any] | None:
        rows = self.store.execute(f'SELECT * FROM "{_TABLE}" WHERE survey_id = ?', [survey_id]).to_pylist()
        return rows[0] if rows else None

    @staticmethod
    def _out(row: dict[str, Any]) -> dict[str, Any]:
        return {**orjson.loads(row["definition"]), "created_at": row["created_at"].isoformat()}

    def get(self, survey_id: str) -> dict[str, Any]:
        """One definition, or :class:`~cxlens.errors.NotFoundError`."""
        row = self._row(survey_id)
        if row is None:
            raise NotFoundError(f"no survey {survey_id!r}", survey=survey_id)
        return self._out(row)

    def list(self) -> list[dict[str, Any]]:
        """Every definition, oldest first."""
        rows = self.store.execute(f'SELECT * FROM "{_TABLE}" ORDER BY created_at, survey_id').to_pylist()
        return [self._out(r) for r in rows]
