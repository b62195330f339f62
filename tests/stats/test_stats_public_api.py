"""The declared API of cxlens.stats: every export exists and is documented; modules stay small."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import cxlens.stats as stats


def test_exports_exist_and_are_documented() -> None:
    assert len(stats.__all__) == len(set(stats.__all__))
    for name in stats.__all__:
        obj = getattr(stats, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_every_module_declares_all_and_stays_small() -> None:
    for mod in pkgutil.walk_packages(stats.__path__, "cxlens.stats."):
        m = importlib.import_module(mod.name)
        assert hasattr(m, "__all__"), mod.name
        for name in m.__all__:
            assert hasattr(m, name), f"{mod.name}.{name}"
        lines = Path(m.__file__).read_text(encoding="utf-8").count("\n")
        assert lines < 600, f"{mod.name} has {lines} lines"


def test_stats_imports_nothing_else_from_cxlens() -> None:
    """Import rule (design.md §3): stats imports nothing internal outside cxlens.stats."""
    for path in Path(stats.__file__).parent.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("from cxlens", "import cxlens")):
                assert line.startswith("from cxlens.stats"), f"{path.name}: {line}"
