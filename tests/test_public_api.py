"""The declared public API: everything in ``__all__`` exists, is documented, and nothing else is promised."""

from __future__ import annotations

import importlib
import pkgutil

import cxlens


def test_all_names_exist_and_have_docstrings() -> None:
    for name in cxlens.__all__:
        obj = getattr(cxlens, name)
        if callable(obj) and name != "__version__":
            assert obj.__doc__, f"{name} has no docstring"


def test_every_module_declares_all() -> None:
    missing = []
    for mod in pkgutil.walk_packages(cxlens.__path__, "cxlens."):
        if mod.name.endswith("__main__"):
            continue
        m = importlib.import_module(mod.name)
        if not hasattr(m, "__all__"):
            missing.append(mod.name)
    assert not missing, f"modules without __all__: {missing}"


def test_workspace_methods_are_documented() -> None:
    for name in ("add", "import_file", "count", "query", "info", "sql", "table", "close"):
        assert getattr(cxlens.Workspace, name).__doc__, name
