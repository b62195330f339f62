"""Canonical tables: the one definition of every signal cxlens stores.

Each :class:`Table` lists typed columns. Hot columns (time, person, event name, score) are typed; everything
else a source carries goes into ``properties`` (JSON), which stays queryable. The store derives its DDL and
the importer its validation from these definitions, so a column is declared exactly once.

Timestamps are stored as UTC without a zone (``TIMESTAMP``); importers convert offsets to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

__all__ = [
    "KINDS",
    "QUESTION_TYPES",
    "TABLES",
    "Column",
    "LogicalType",
    "Table",
    "table",
]

LogicalType = Literal["string", "int", "float", "bool", "timestamp", "json"]

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "json": pa.string(),
}

QUESTION_TYPES = ("nps", "ces", "csat", "rating", "choice", "text")
"""Question types of a survey answer. ``rating`` covers any n-point item (SUS, SEQ, UMUX-Lite, FFT)."""

ANSWER_STATUSES = ("answered", "skipped", "seen", "dismissed")
"""Status of one answer, so that denominators are explicit: answered, skipped (shown, no answer),
seen (question displayed, survey abandoned before it), dismissed (survey closed)."""


@dataclass(frozen=True)
class Column:
    """One typed column of a canonical table."""

    name: str
    type: LogicalType
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]


@dataclass(frozen=True)
class Table:
    """A canonical table: name, columns, and what it is for."""

    name: str
    description: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=not c.required) for c in self.columns])


def _c(name: str, type_: LogicalType, required: bool = False, description: str = "", **kw: object) -> Column:
    return Column(name, type_, required, description, **kw)  # type: ignore[arg-type]


PROPS = _c("properties", "json", description="Everything else the source carries, as a JSON object.")

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "persons",
            "A human behind events, answers, tickets, reviews and purchases. Several distinct ids map to "
            "one person (see person_distinct_ids).",
            (
                _c("person_id", "string", True, "Stable person id."),
                _c("account_id", "string", description="B2B account this person belongs to, if any."),
                _c("role", "string", description="Role in the account, e.g. 'buyer' or 'user'."),
                _c("created_at", "timestamp", description="When the person was first seen (UTC)."),
                PROPS,
            ),
        ),
        Table(
            "person_distinct_ids",
            "Identity map: every distinct id (device, user id, CRM id, desk id) to its person.",
            (
                _c("distinct_id", "string", True, "An id seen in a signal."),
                _c("person_id", "string", True, "The person it belongs to."),
            ),
        ),
        Table(
            "accounts",
            "B2B customer organisations (plan, ARR, segment in properties).",
            (
                _c("account_id", "string", True, "Stable account id."),
                _c("name", "string", description="Display name."),
                _c("created_at", "timestamp", description="Customer since (UTC)."),
                PROPS,
            ),
        ),
        Table(
            "events",
            "Product events (pageviews, clicks, purchases) from SDKs, exports and clickstreams.",
            (
                _c("timestamp", "timestamp", True, "When it happened (UTC)."),
                _c("distinct_id", "string", True, "Who did it (any distinct id of a person)."),
                _c("event", "string", True, "Event name, e.g. '$pageview' or 'add_to_cart'."),
                _c("event_id", "string", description="Source id of the event, if any (for de-duplication)."),
                PROPS,
            ),
            order_by=("distinct_id", "timestamp"),
        ),
        Table(
            "responses",
            "Survey answers, one row per answer to one question. response_id groups the answers of one "
            "submission.",
            (
                _c("survey", "string", True, "Survey id or name."),
                _c("question", "string", True, "Question id within the survey."),
                _c("question_type", "string", True, "nps | ces | csat | rating | choice | text.",
                   choices=QUESTION_TYPES),
                _c("response_id", "string", description="Submission id: answers given together."),
                _c("distinct_id", "string", description="Respondent."),
                _c("timestamp", "timestamp", description="When it was answered (UTC)."),
                _c("score", "float", description="Numeric answer on the question's scale."),
                _c("scale_min", "int", description="Lowest possible score (nps 0, csat 1, ces 1, rating 1)."),
                _c("scale_max", "int", description="Highest possible score (nps 10, csat 5, ces 5 or 7)."),
                _c("choice", "string", description="Chosen option(s) of a choice question."),
                _c("text", "string", description="Free text (open question or a comment on a score)."),
                _c("status", "string", True, "answered | skipped | seen | dismissed.",
                   choices=ANSWER_STATUSES),
                _c("touchpoint", "string", description="Where it was asked (page, channel, journey step)."),
                PROPS,
            ),
            order_by=("survey", "question", "timestamp"),
        ),
        Table(
            "tickets",
            "Support contacts: complaints, chats, e-mails, calls.",
            (
                _c("ticket_id", "string", description="Source id."),
                _c("distinct_id", "string", description="Customer who raised it."),
                _c("account_id", "string", description="Account, if B2B."),
                _c("opened_at", "timestamp", description="Opened / received (UTC)."),
                _c("first_response_at", "timestamp", description="First reply (UTC)."),
                _c("closed_at", "timestamp", description="Closed / resolved (UTC)."),
                _c("channel", "string", description="web, phone, email, chat, ..."),
                _c("product", "string", description="Product the contact is about."),
                _c("sub_product", "string"),
                _c("category", "string", description="Issue / category / intent group."),
                _c("sub_category", "string", description="Sub-issue / intent."),
                _c("text", "string", description="What the customer wrote."),
                _c("status", "string", description="open, closed, in progress, ..."),
                _c("response", "string", description="How the company responded."),
                _c("timely", "bool", description="Was the response on time?"),
                PROPS,
            ),
        ),
        Table(
            "reviews",
            "Public reviews (app stores, review sites) with a star rating.",
            (
                _c("review_id", "string", description="Source id."),
                _c("source", "string", description="app_store, google_play, trustpilot, ..."),
                _c("app", "string", description="App or product reviewed."),
                _c("rating", "int", description="Stars, 1-5."),
                _c("title", "string"),
                _c("text", "string"),
                _c("version", "string", description="App version reviewed."),
                _c("timestamp", "timestamp", description="When it was posted (UTC)."),
                _c("distinct_id", "string", description="Reviewer, if known."),
                PROPS,
            ),
        ),
        Table(
            "transactions",
            "Purchases: input to retention, churn and lifetime value.",
            (
                _c("distinct_id", "string", True, "Customer."),
                _c("timestamp", "timestamp", True, "When (UTC)."),
                _c("amount", "float", True, "Money value (negative for refunds)."),
                _c("quantity", "float", description="Units bought."),
                _c("transaction_id", "string", description="Source id."),
                _c("currency", "string"),
                PROPS,
            ),
            order_by=("distinct_id", "timestamp"),
        ),
        Table(
            "sessions",
            "Visits summarised per session (for sources that only give sessions, not events).",
            (
                _c("session_id", "string", True, "Session id."),
                _c("distinct_id", "string", description="Visitor."),
                _c("started_at", "timestamp", description="Session start (UTC), if known."),
                _c("duration_s", "float", description="Total time in the session, seconds."),
                _c("pageviews", "int", description="Pages viewed."),
                _c("bounced", "bool", description="Left after one page."),
                _c("converted", "bool", description="Reached the goal (purchase, signup)."),
                PROPS,
            ),
        ),
        Table(
            "tasks",
            "Usability-test task attempts: one row per participant and task.",
            (
                _c("study", "string", True, "Study id."),
                _c("participant", "string", True, "Participant id."),
                _c("task", "string", True, "Task id or name."),
                _c("variant", "string", description="Product version / design under test."),
                _c("completed", "bool", description="Task success."),
                _c("time_s", "float", description="Time on task, seconds."),
                _c("errors", "int", description="Errors made."),
                _c("clicks", "int", description="Clicks to completion."),
                _c("satisfaction", "float", description="Post-task rating (e.g. SEQ 1-7, or 1-5)."),
                _c("timestamp", "timestamp", description="When (UTC)."),
                PROPS,
            ),
        ),
    ]
}

KINDS: tuple[str, ...] = tuple(k for k in TABLES if k != "person_distinct_ids")
"""The kinds a user can add or import (``person_distinct_ids`` is filled through ``persons``)."""


def table(kind: str) -> Table:
    """Return the canonical table of ``kind`` or raise a clear error listing the valid kinds."""
    from cxlens.errors import CxlensInputError

    try:
        return TABLES[kind]
    except KeyError:
        raise CxlensInputError(
            f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}", kind=kind, valid=list(KINDS)
        ) from None
