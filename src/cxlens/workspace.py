"""The workspace: one analytics database holding every signal, and the entry point of the Python API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from cxlens.errors import CxlensInputError, ImportValidationError
from cxlens.ingest.importer import ImportReport, import_files, prepare
from cxlens.ingest.records import to_arrow
from cxlens.query import QUERY_KINDS, run_query
from cxlens.schema.tables import KINDS, TABLES, table
from cxlens.store.base import Store
from cxlens.store.duckdb import DuckDBStore
from cxlens.store.rollup import DIMENSIONS, SCORE_ROLLUP

__all__ = ["Workspace"]


class Workspace:
    """One analytics database: surveys, events, tickets, reviews, purchases, usability tests.

    Parameters
    ----------
    path:
        DuckDB file to open or create; ``None`` keeps the workspace in memory.
    read_only:
        Open an existing file for reading only (several processes can do this at once).
    store:
        A ready :class:`~cxlens.store.base.Store` to use instead of DuckDB.

    Examples
    --------
    >>> ws = Workspace()
    >>> ws.add("events", [{"distinct_id": "u1", "event": "signup", "timestamp": "2024-05-01T10:00:00Z"}])
    1
    >>> ws.query({"kind": "count", "table": "events", "by": ["event"]})["rows"]
    [{'event': 'signup', 'count': 1}]
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 store: Store | None = None) -> None:
        self.store: Store = store if store is not None else DuckDBStore(path, read_only=read_only)
        self.path = None if path is None else Path(path)
        #: set by a server's ingest writer: waits until acknowledged batches are applied (read your writes)
        self._read_barrier: Callable[[], None] | None = None

    # -- writing ----------------------------------------------------------------------------------
    def add(self, kind: str, records: Any) -> int:
        """Add records of ``kind`` (list of dicts, pandas/polars DataFrame or Arrow table).

        Columns named as the canonical fields fill them; other columns go into ``properties``. The batch
        is validated as a whole and written in one transaction: on a bad value nothing is written and an
        :class:`~cxlens.errors.ImportValidationError` names the row and column. Returns the rows added.
        """
        table(kind)
        raw = to_arrow(records)
        ready = prepare(kind, raw, file=f"{kind} batch")
        with self.store.transaction():
            self._before_append(ready)
            written = self.store.append(ready)
        return written.get(kind, 0)

    def import_file(
        self,
        kind: str,
        path: str | Path | Sequence[str | Path],
        preset: str | None = None,
        mapping: Mapping[str, str] | None = None,
        *,
        constants: Mapping[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import one or more files (CSV, JSON Lines, JSON, Parquet, whitespace text) into ``kind``.

        Parameters
        ----------
        kind: the table to fill (``events``, ``responses``, ``tickets``, ...).
        path: a file or a list of files; all of them are imported together or none is.
        preset: a known source format (see ``cxlens.ingest.presets.PRESETS``); detected from the header
            when omitted.
        mapping: ``{source column: canonical field}`` for files without a preset.
        constants: ``{canonical field: value}`` set on every row (e.g. ``{"survey": "onboarding"}``).
        progress: called with the number of bytes read, for progress bars.

        Returns an :class:`~cxlens.ingest.importer.ImportReport`. Raises
        :class:`~cxlens.errors.ImportValidationError` naming file, row, column and value on bad input; then
        nothing of the import is stored.
        """
        paths = [path] if isinstance(path, (str, Path)) else list(path)
        return import_files(self.store, kind, paths, preset=preset, mapping=mapping, constants=constants,
                            progress=progress, before_append=self._before_append)

    def _before_append(self, ready: Mapping[str, pa.Table]) -> None:
        """Keep persons and accounts unique: a re-added id replaces the old row; identities must agree."""
        if "person_distinct_ids" in ready and ready["person_distinct_ids"].num_rows:
            pairs = ready["person_distinct_ids"]
            clash = self._existing_owner(pairs)
            if clash:
                did, new, old = clash
                raise ImportValidationError(
                    f"distinct id {did!r} already belongs to person {old!r}", column="distinct_ids",
                    value=new, expected="one person per distinct id (merge persons before re-assigning)")
            self.store.delete_keys("person_distinct_ids", "distinct_id", pairs.column("distinct_id"))
        for name, key in (("persons", "person_id"), ("accounts", "account_id")):
            if name in ready and ready[name].num_rows:
                self.store.delete_keys(name, key, ready[name].column(key))

    def _existing_owner(self, pairs: pa.Table) -> tuple[str, str, str] | None:
        row = self.store.execute_with(
            "SELECT p.distinct_id, p.person_id AS new_id, d.person_id AS old_id FROM _cxlens_pairs p "
            "JOIN person_distinct_ids d ON d.distinct_id = p.distinct_id "
            "WHERE d.person_id <> p.person_id LIMIT 1",
            {"_cxlens_pairs": pairs},
        ).to_pylist()
        return None if not row else (row[0]["distinct_id"], row[0]["new_id"], row[0]["old_id"])

    # -- reading ----------------------------------------------------------------------------------
    def count(self, kind: str) -> int:
        """Number of rows in ``kind``."""
        table(kind)
        self._wait_for_writes()
        return self.store.count(kind)

    def info(self) -> dict[str, int]:
        """Rows per table, e.g. ``{"persons": 0, "events": 862, ...}``."""
        self._wait_for_writes()
        return {k: self.store.count(k) for k in KINDS}

    def query(self, q: dict[str, Any]) -> dict[str, Any]:
        """Run a query object (``{"kind": ..., ...}``) and return a JSON-serialisable dict.

        Valid kinds are listed in :attr:`query_kinds`; an unknown kind or field raises
        :class:`~cxlens.errors.QueryError` naming the valid ones.
        """
        self._wait_for_writes()
        return run_query(self, q)

    @property
    def query_kinds(self) -> list[str]:
        """Names of the registered query kinds."""
        return sorted(QUERY_KINDS)

    def sql(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read-only SQL statement in the store's dialect and return Arrow (for exploration)."""
        self._wait_for_writes()
        return self.store.execute(sql, params)

    def table(self, kind: str, limit: int | None = None) -> pa.Table:
        """The rows of ``kind`` as an Arrow table (``.to_pandas()`` for a DataFrame)."""
        table(kind)
        self._wait_for_writes()
        return self.store.execute(f'SELECT * FROM "{kind}"' + (f" LIMIT {int(limit)}" if limit else ""))

    def _wait_for_writes(self) -> None:
        if self._read_barrier is not None:
            self._read_barrier()

    # -- score rollup -----------------------------------------------------------------------------
    def rollup_info(self) -> dict[str, Any]:
        """What the score rollup keeps (:mod:`cxlens.store.rollup`): its dimensions, the promoted JSON
        properties, its size and the number of answers it stands for."""
        props = list(getattr(self.store, "score_rollup_properties", ()))
        if "score_rollup" not in self.store.capabilities:
            return {"available": False, "dimensions": [], "properties": [], "rows": 0, "answers": 0}
        t = self.store.execute(f'SELECT count(*) AS rows, coalesce(sum("n"), 0) AS answers FROM "{SCORE_ROLLUP}"')
        r = t.to_pylist()[0]
        return {"available": True, "dimensions": [*DIMENSIONS, "day"], "properties": props,
                "rows": int(r["rows"]), "answers": int(r["answers"]), "stored_answers": self.count("responses")}

    def set_rollup_properties(self, properties: Sequence[str]) -> dict[str, Any]:
        """Keep these JSON properties of survey answers in the score rollup (rebuilds it from the answers), so
        that ``nps``/``csat``/``ces``/``rating`` queries by or filtered on them are answered from it; ``[]``
        keeps none. Promote segment-like properties (stage, plan, region), not ids. Returns :meth:`rollup_info`.
        """
        if "score_rollup" not in self.store.capabilities:
            raise CxlensInputError("this store keeps no score rollup")
        self.store.rebuild_score_rollup(list(properties))  # type: ignore[attr-defined]
        return self.rollup_info()

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Flush and close the database."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"<Workspace {where}: " + ", ".join(f"{k}={n:,}" for k, n in self.info().items() if n) + ">"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{n:,}</td></tr>"
                       for k, n in self.info().items())
        where = str(self.path) if self.path else "in memory"
        return (f"<b>cxlens workspace</b> ({where})<table><tr><th>table</th><th>rows</th></tr>{rows}</table>"
                f"<small>{len(TABLES)} tables · query kinds: {', '.join(self.query_kinds)}</small>")
