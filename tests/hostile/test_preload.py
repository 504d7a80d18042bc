"""A type's first test must not import its driver on the GUI thread (that froze the window for 50-420 ms, and
made Cancel wait behind the import): every module a test imports lazily is listed in the integration's
`drivers`, which the GUI imports on a worker thread first (gui.tasks.load_integration → preload)."""

from __future__ import annotations

import ast
import sys

import pytest

from connhub.plugins.registry import BUILTIN_FOLDER, Registry

WITH_CODE = sorted(p.parent.name for p in BUILTIN_FOLDER.glob("*/__init__.py"))


def lazy_imports(source: str) -> set[str]:
    """Third-party modules imported inside functions (not at the top of the module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found |= {alias.name for alias in inner.names}
                elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    found.add(inner.module)
    return {m for m in found if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("connhub")}


@pytest.mark.parametrize("type_name", WITH_CODE)
def test_every_lazy_driver_import_is_preloaded(type_name):
    entry = Registry.discover(plugins=False).get(type_name)
    integration = entry.integration()
    lazy = lazy_imports((BUILTIN_FOLDER / type_name / "__init__.py").read_text(encoding="utf-8"))
    covered = {m for m in lazy if any(d == m or d.startswith(m + ".") for d in integration.drivers)}
    assert lazy == covered, f"add {sorted(lazy - covered)} to {type(integration).__name__}.drivers"
    integration.preload()  # and they import
    assert all(d in sys.modules for d in integration.drivers)
