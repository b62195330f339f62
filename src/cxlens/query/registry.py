"""The query contract: ``Workspace.query(q)`` looks up ``q["kind"]`` here.

A query kind is a pydantic model (the contract shared by the Python API, the CLI and the HTTP API) plus a
function that runs it on a workspace and returns a JSON-serialisable dict. Kinds register themselves with
:func:`register_query`; there is no ``if kind == ...`` chain to extend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cxlens.errors import QueryError, UnknownQueryKindError

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["QUERY_KINDS", "QueryKind", "QueryModel", "parse_query", "register_query", "run_query"]


class QueryModel(BaseModel):
    """Base of every query object: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str


M = TypeVar("M", bound=QueryModel)
Runner = Callable[["Workspace", Any], dict[str, Any]]


@dataclass(frozen=True)
class QueryKind:
    """A registered query kind."""

    name: str
    model: type[QueryModel]
    run: Runner
    description: str


QUERY_KINDS: dict[str, QueryKind] = {}


def register_query(name: str, model: type[M], description: str = "") -> Callable[[Runner], Runner]:
    """Decorator registering ``fn(ws, query) -> dict`` as the runner of query kind ``name``."""

    def deco(fn: Runner) -> Runner:
        if name in QUERY_KINDS:
            raise ValueError(f"query kind {name!r} is registered twice")
        QUERY_KINDS[name] = QueryKind(name, model, fn, description or (fn.__doc__ or "").strip())
        return fn

    return deco


def _describe(err: ValidationError, model: type[QueryModel]) -> str:
    fields = ", ".join(model.model_fields)
    msgs = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "query"
        if e["type"] == "extra_forbidden":
            msgs.append(f"unknown field {loc!r}")
        elif e["type"] == "missing":
            msgs.append(f"missing field {loc!r}")
        else:
            msgs.append(f"{loc}: {e['msg']}")
    return "; ".join(msgs) + f". Valid fields: {fields}"


def parse_query(q: dict[str, Any] | QueryModel) -> QueryModel:
    """Validate a query dict into its kind's model, with errors that name the valid kinds or fields."""
    if isinstance(q, QueryModel):
        return q
    if not isinstance(q, dict):
        raise QueryError(f"a query is a JSON object with a 'kind', not a {type(q).__name__}")
    kind = q.get("kind")
    valid = sorted(QUERY_KINDS)
    if kind not in QUERY_KINDS:
        what = "missing 'kind'" if kind is None else f"unknown query kind {kind!r}"
        raise UnknownQueryKindError(f"{what}; valid kinds: {', '.join(valid)}", kind=kind, valid_kinds=valid)
    model = QUERY_KINDS[kind].model
    try:
        return model.model_validate(q)
    except ValidationError as e:
        raise QueryError(f"invalid {kind} query: {_describe(e, model)}", kind=kind,
                         valid_fields=list(model.model_fields)) from None


def run_query(ws: Workspace, q: dict[str, Any] | QueryModel) -> dict[str, Any]:
    """Validate and run a query on ``ws``."""
    parsed = parse_query(q)
    return QUERY_KINDS[parsed.kind].run(ws, parsed)

