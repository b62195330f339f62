"""The default store: an embedded DuckDB file (or memory).

One connection writes (guarded by a lock: DuckDB allows one writer); reads run on cursors of that
connection, so many threads can read at once. Another process can open the same file with
``read_only=True`` while no process holds it for writing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from cxlens.errors import CxlensInputError, StoreError
from cxlens.schema.tables import TABLES
from cxlens.store import ingest_log
from cxlens.store.migrations import INTERNAL_TABLES, MIGRATIONS
from cxlens.store.rollup import PROPERTY_PREFIX, SCORE_ROLLUP, compact_sql, property_name, rollup_select
from cxlens.store.sql import field

__all__ = ["DuckDBStore"]

log = logging.getLogger(__name__)

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
}


class DuckDBStore:
    """Canonical tables in DuckDB.

    Parameters
    ----------
    path:
        Database file; ``None`` keeps everything in memory.
    read_only:
        Open an existing file without writing (several processes may do so at once).
    threads:
        DuckDB worker threads (default: DuckDB's own, i.e. all cores).
    """

    dialect = "duckdb"
    capabilities = frozenset({"transactions", "json", "window_functions", "asof_join", "score_rollup"})

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 threads: int | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.read_only = read_only
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if self.path is not None and read_only and not self.path.exists():
            raise CxlensInputError(f"workspace file {self.path} does not exist", path=str(self.path))
        if self.path is not None and read_only and ingest_log.has_records(ingest_log.log_dir(self.path)):
            # a server stopped before applying batches it acknowledged: apply them first (crash recovery)
            try:
                DuckDBStore(self.path).close()
            except ingest_log.ForeignLogError:
                raise
            except StoreError:  # held for writing: that process applies them itself
                pass
            if ingest_log.has_records(ingest_log.log_dir(self.path)):
                log.warning("%s: acknowledged batches in %s are not applied yet (the file is open elsewhere); "
                            "this read-only view does not include them", self.path, ingest_log.log_dir(self.path))
        try:
            self._con = duckdb.connect(
                ":memory:" if self.path is None else str(self.path), read_only=read_only, config=config
            )
        except (duckdb.IOException, duckdb.ConnectionException) as e:
            raise StoreError(
                f"cannot open {self.path}: {e}. Another process may have it open for writing; "
                "close it or open this one read-only.",
                path=str(self.path),
            ) from e
        self._lock = threading.RLock()
        self._in_tx = False
        self._rollup_added = 0  # rollup rows appended since the last compaction (see cxlens.store.rollup)
        self._rollup_base: int | None = None  # rollup size after the last compaction (None: not read yet)
        self._rollup_props: tuple[str, ...] | None = None  # promoted properties (None: not read yet)
        if not read_only:
            self._migrate()
            if self.path is not None:
                try:
                    ingest_log.replay(self, ingest_log.log_dir(self.path))
                except BaseException:
                    self._con.close()  # not opened after all: release the file
                    raise
        elif self.schema_version() < MIGRATIONS[-1].version:
            raise StoreError(
                f"{self.path} has schema version {self.schema_version()}, this cxlens needs "
                f"{MIGRATIONS[-1].version}; open it once for writing to migrate it.",
            )

    # -- schema -----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS _cxlens_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
            )
            done = {r[0] for r in self._con.execute("SELECT version FROM _cxlens_migrations").fetchall()}
            for m in MIGRATIONS:
                if m.version in done:
                    continue
                with self.transaction():
                    for stmt in m.statements(DUCKDB_TYPES):
                        self._con.execute(stmt)
                    self._con.execute(
                        "INSERT INTO _cxlens_migrations (version, name) VALUES (?, ?)", [m.version, m.name]
                    )

    def schema_version(self) -> int:
        """Highest migration applied to this database (0 for an empty one)."""
        try:
            row = self._cursor().execute("SELECT max(version) FROM _cxlens_migrations").fetchone()
        except duckdb.CatalogException:
            return 0
        return int(row[0] or 0) if row else 0

    # -- writing ----------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested uses join the outer one)."""
        with self._lock:
            if self._in_tx:
                yield
                return
            self._con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield
            except BaseException:
                self._in_tx = False
                self._con.execute("ROLLBACK")
                raise
            self._in_tx = False
            self._con.execute("COMMIT")

    def append(self, tables: Mapping[str, pa.Table]) -> dict[str, int]:
        """Append canonical Arrow tables in one transaction; returns rows written per table."""
        if self.read_only:
            raise CxlensInputError("this workspace was opened read-only")
        written: dict[str, int] = {}
        with self.transaction():
            for name, data in tables.items():
                if name not in TABLES:
                    raise CxlensInputError(f"unknown table {name!r}")
                if data.num_rows == 0:
                    written[name] = 0
                    continue
                view = f"_cxlens_src_{name}"
                self._con.register(view, data)
                try:
                    cols = ", ".join(f'"{c}"' for c in data.column_names)
                    self._con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM "{view}"')
                    if name == "responses":
                        self._add_to_rollup(view)
                finally:
                    self._con.unregister(view)
                written[name] = data.num_rows
        return written

    def _add_to_rollup(self, view: str) -> None:
        """Add a batch of answers to the score rollup (same transaction); compact it when it has doubled."""
        props = self.score_rollup_properties
        rows = self._con.execute(f'INSERT INTO "{SCORE_ROLLUP}" BY NAME {rollup_select(view, props)}').fetchall()
        self._rollup_added += int(rows[0][0]) if rows else 0
        if self._rollup_base is None:
            self._rollup_base = self._rollup_size()
            self._rollup_added = 0
        if self._rollup_added > max(10_000, self._rollup_base):
            for stmt in compact_sql(props):
                self._con.execute(stmt)
            self._rollup_base = self._rollup_size()
            self._rollup_added = 0

    def _rollup_size(self) -> int:
        return int(self._con.execute(f'SELECT count(*) FROM "{SCORE_ROLLUP}"').fetchall()[0][0])

    @property
    def score_rollup_properties(self) -> tuple[str, ...]:
        """The JSON properties of ``responses`` kept in the score rollup (see :mod:`cxlens.store.rollup`)."""
        if self._rollup_props is None:
            cols = self._cursor().execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [SCORE_ROLLUP]).fetchall()
            self._rollup_props = tuple(c[0].removeprefix(PROPERTY_PREFIX) for c in cols
                                       if c[0].startswith(PROPERTY_PREFIX))
        return self._rollup_props

    def rebuild_score_rollup(self, properties: Sequence[str] | None = None) -> None:
        """Recompute the score rollup from ``responses`` (after deletes, or to repair a file written around
        the store), keeping ``properties`` (default: the ones kept now) as promoted columns."""
        if self.read_only:
            raise CxlensInputError("this workspace was opened read-only")
        if properties is None:
            props = self.score_rollup_properties
        else:
            names = [(p, property_name(p)) for p in properties]
            if columns := [p for p, name in names if name is None]:
                raise CxlensInputError(f"{', '.join(columns)}: a column of responses, not a property; the rollup "
                                       "keeps the columns it can already", column=columns[0])
            props = tuple(dict.fromkeys(name for _, name in names if name))
            for p in props:
                field("responses", p)  # a name the queries could not address is an error now, not later
        with self.transaction():
            self._con.execute(f'DROP TABLE "{SCORE_ROLLUP}"')
            self._con.execute(f'CREATE TABLE "{SCORE_ROLLUP}" AS {rollup_select("responses", props)}')
            size = self._rollup_size()
        self._rollup_props, self._rollup_base, self._rollup_added = props, size, 0

    def append_internal(self, table: str, data: pa.Table, delete_where: exp.Expression | None = None) -> None:
        """Append ``data`` to an internal table (API keys, surveys, text scores), after deleting the rows that
        match ``delete_where`` when given, in one transaction."""
        if self.read_only:
            raise CxlensInputError(f"this workspace was opened read-only: cannot write {table}")
        if table not in INTERNAL_TABLES:
            raise CxlensInputError(f"unknown internal table {table!r}")
        view = f"_cxlens_src_{table}"
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        with self.transaction():
            if delete_where is not None:
                self._con.execute(exp.delete(exp.table_(table), where=delete_where).sql(dialect=self.dialect))
            self._con.register(view, data)
            try:
                self._con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{view}"')
            finally:
                self._con.unregister(view)

    def delete_keys(self, table: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        """Delete the rows of ``table`` whose ``column`` is one of ``keys`` (for upserts)."""
        if table not in TABLES:
            raise CxlensInputError(f"unknown table {table!r}")
        with self._lock:
            self._con.register("_cxlens_keys", pa.table({"k": keys}))
            try:
                self._con.execute(f'DELETE FROM "{table}" WHERE "{column}" IN (SELECT k FROM _cxlens_keys)')
            finally:
                self._con.unregister("_cxlens_keys")
            if table == "responses":
                self.rebuild_score_rollup()

    def execute_with(self, query: exp.Expression | str, tables: Mapping[str, pa.Table]) -> pa.Table:
        """Run a read query that also sees the given Arrow tables under their names."""
        with self._lock:
            for name, t in tables.items():
                self._con.register(name, t)
            try:
                return self._con.sql(self.render(query)).to_arrow_table()
            finally:
                for name in tables:
                    self._con.unregister(name)

    # -- reading ----------------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def render(self, query: exp.Expression | str) -> str:
        """SQL text of ``query`` in DuckDB's dialect."""
        return query if isinstance(query, str) else query.sql(dialect=self.dialect)

    def execute(self, query: exp.Expression | str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query; returns Arrow. Inside a transaction it sees the uncommitted writes."""
        sql = self.render(query)
        if self._in_tx:
            with self._lock:
                return self._con.sql(sql, params=params or None).to_arrow_table()
        return self._cursor().sql(sql, params=params or None).to_arrow_table()

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise CxlensInputError(f"unknown table {table!r}")
        return int(self.execute(f'SELECT count(*) AS n FROM "{table}"').column(0)[0].as_py())

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection (for power users and tests; writes should go through append)."""
        return self._con

    ROW_GROUP_ROWS = 122_880
    """Rows per DuckDB row group (its default). A checkpoint compresses every row group holding new rows,
    a partly filled one again at each checkpoint, so checkpoints at multiples of this do each row once."""

    def checkpoint(self) -> None:
        """Write the WAL into the database file now (the server's writer calls it at row-group boundaries,
        after answering, instead of letting a commit that crosses 16 MB of WAL do it while requests wait)."""
        if self.read_only:
            return
        with self._lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._lock:
            if not self.read_only:
                self._con.execute("CHECKPOINT")
            self._con.close()
