"""The layering rules: only connhub.gui (and the entry points) may import Qt, and connhub.gui imports no storage.

`connhub.core`, `.plugins`, `.storage`, `.services` and `.integrations` never import PySide6 or qasync, not
even lazily inside a function, and not through connhub.gui. Checked twice: statically over every .py file
(also the ones nothing imports yet, such as migration scripts), and dynamically by importing every module
in a fresh interpreter. Both work on whatever modules exist: nothing here lists them by hand.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import connhub

QT_FREE = ("core", "plugins", "storage", "services", "integrations")
FORBIDDEN = ("PySide6", "shiboken6", "qasync", "connhub.gui")
PACKAGE_DIR = Path(connhub.__file__).parent


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved, plus
    importlib.import_module("…") / __import__("…") calls with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    package = parts[:-1]  # the package a relative import starts from (also for __init__.py)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if not _forbidden(module):  # `from connhub import gui`
                found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module")))):
            found.append((node.lineno, node.args[0].value))
    return found


def test_qt_free_packages_do_not_import_qt_in_their_source():
    files = [f for layer in QT_FREE if (PACKAGE_DIR / layer).is_dir() for f in (PACKAGE_DIR / layer).rglob("*.py")]
    assert files, f"no Python files under {PACKAGE_DIR} for {QT_FREE}"
    offenders = sorted({
        f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: imports {module}"
        for path in files
        for line, module in _imports(path)
        if _forbidden(module)
    })
    assert not offenders, (
        "Qt belongs in connhub.gui only (DESIGN.md, Layers); move these imports there or behind a service:\n"
        + "\n".join(offenders)
    )


PROBE = textwrap.dedent(r"""
    import importlib, json, pkgutil, sys, traceback

    QT = ("PySide6", "shiboken6", "qasync")
    report = {"modules": [], "qt": {}, "errors": {}}

    def qt_loaded():
        return sorted({name.split(".")[0] for name in sys.modules} & set(QT))

    def load(name):
        try:
            module = importlib.import_module(name)
        except BaseException:
            report["errors"][name] = traceback.format_exc(limit=3)
            return None
        report["modules"].append(name)
        loaded = qt_loaded()
        if loaded and not report["qt"]:
            report["qt"][name] = loaded  # the first module after whose import Qt was loaded
        return module

    def skipped(name):
        # Alembic runs migration scripts itself (env.py needs alembic.context); they are scanned statically.
        return ".migrations." in name + "."

    for layer in sys.argv[1:]:
        package = load("connhub." + layer)
        if package is None or not hasattr(package, "__path__"):
            continue
        onerror = lambda name: report["errors"].setdefault(name, traceback.format_exc(limit=3))
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=onerror):
            if not skipped(info.name):
                load(info.name)
    print(json.dumps(report))
""")


def test_importing_every_qt_free_module_loads_no_qt():
    layers = [layer for layer in QT_FREE if (PACKAGE_DIR / layer).is_dir()]
    proc = subprocess.run([sys.executable, "-c", PROBE, *layers], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"the import probe crashed:\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["modules"], "the probe imported nothing"
    assert not report["errors"], "these modules fail to import:\n" + "\n".join(
        f"{name}:\n{error}" for name, error in report["errors"].items())
    assert not report["qt"], (
        "importing a Qt-free module loaded Qt (first culprit, then what was loaded): "
        f"{report['qt']}; Qt belongs in connhub.gui only (DESIGN.md, Layers)"
    )


def test_the_gui_does_not_import_storage():
    """Storage reaches the window through services, its errors as core's domain errors (DESIGN.md, Layers)."""
    files = list((PACKAGE_DIR / "gui").rglob("*.py"))
    assert files
    offenders = sorted(
        f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: imports {module}"
        for path in files
        for line, module in _imports(path)
        if module == "connhub.storage" or module.startswith("connhub.storage.")
    )
    assert not offenders, "go through a service or core instead:\n" + "\n".join(offenders)


def test_the_main_window_keeps_only_wiring():
    """What the window's actions do lives in the rooms (gui/instances, gui/probing, gui/shell/menus.py…)."""
    lines = len((PACKAGE_DIR / "gui" / "shell" / "main_window.py").read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"gui/shell/main_window.py has {lines} lines (at most 300: move behaviour to its room)"
