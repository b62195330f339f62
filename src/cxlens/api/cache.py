"""Query results cached on (data version, canonical query JSON); every committed write bumps the version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson

from cxlens.query import parse_query
from cxlens.workspace import Workspace

__all__ = ["QueryCache", "canonical"]


def canonical(q: dict[str, Any]) -> bytes:
    """The query validated into its model (defaults filled in) as sorted JSON: equal queries, equal bytes."""
    parsed = parse_query(q)
    return orjson.dumps(parsed.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS,
                        default=str)


class QueryCache:
    """An LRU of query results in front of ``ws.query``."""

    def __init__(self, ws: Workspace, entries: int = 512) -> None:
        self.ws = ws
        self.entries = entries
        self.version = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[int, bytes], dict[str, Any]] = OrderedDict()

    def bump(self) -> None:
        """New data: results computed before are stale."""
        with self._lock:
            self.version += 1
            self._data.clear()

    def query(self, q: dict[str, Any]) -> dict[str, Any]:
        """``ws.query(q)``, from the cache when the same query ran on the same data version."""
        self.ws._wait_for_writes()  # acknowledged batches first, so the version below covers them
        key = (self.version, canonical(q))
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return hit
        result = self.ws.query(q)
        with self._lock:
            self.misses += 1
            if self.entries and key[0] == self.version:
                self._data[key] = result
                while len(self._data) > self.entries:
                    self._data.popitem(last=False)
        return result
