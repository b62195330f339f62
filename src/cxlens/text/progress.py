"""A progress hook for long text work run through query kinds (the CLI draws it as a bar).

Query runners take only the query, so a caller that wants progress sets a hook for the duration of the
call; :func:`report` forwards ``(stage, done, total)`` to it and does nothing when no hook is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Hook", "counter", "progress_hook", "report"]

Hook = Callable[[str, int, int], None]
_hook: ContextVar[Hook | None] = ContextVar("cxlens_text_progress", default=None)


@contextmanager
def progress_hook(fn: Hook) -> Iterator[None]:
    """Send progress of cxlens.text work done inside the block to ``fn(stage, done, total)``."""
    token = _hook.set(fn)
    try:
        yield
    finally:
        _hook.reset(token)


def report(stage: str, done: int, total: int) -> None:
    """Tell the current hook (if any) that ``done`` of ``total`` items of ``stage`` are finished."""
    fn = _hook.get()
    if fn is not None:
        fn(stage, done, total)


def counter(stage: str, total: int) -> Callable[[int], None] | None:
    """A ``progress(n)`` callback that accumulates chunk sizes and reports them (None without a hook)."""
    if _hook.get() is None:
        return None
    done = 0
    report(stage, 0, total)

    def step(n: int) -> None:
        nonlocal done
        done = min(total, done + n)
        report(stage, done, total)

    return step
