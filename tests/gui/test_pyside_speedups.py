"""PySide's check of every imported module, done on the file's bytes (gui/shell/pyside_speedups.py), must answer
exactly as PySide's own: it decides which modules PySide's `__feature__` switching applies to."""

from __future__ import annotations

import json  # noqa: F401 - modules the check is asked about
import sqlite3  # noqa: F401
import sys

import PySide6.QtCore  # noqa: F401 - loads shibokensupport

from connhub.gui.shell.pyside_speedups import use_quick_feature_check


def test_the_quick_check_answers_as_pysides_own():
    from shibokensupport import feature

    use_quick_feature_check()
    use_quick_feature_check()  # a second call keeps the one replacement
    quick = feature._mod_uses_pyside
    assert quick.__module__ == "connhub.gui.shell.pyside_speedups" and not getattr(quick.original, "quick", False)
    names = [name for name in sys.modules if name.split(".")[0] in {
        "connhub", "PySide6", "shiboken6", "json", "sqlite3", "_sqlite3", "asyncio", "math", "sys", "builtins",
        "pytest", "sqlalchemy", "_pytest"}]
    modules = [sys.modules[name] for name in names if sys.modules[name] is not None]
    assert len(modules) > 50
    answers = {module.__name__: quick(module) for module in modules}
    assert answers == {module.__name__: quick.original(module) for module in modules}
    assert answers["connhub.gui.shell.main_window"] and answers["connhub.gui.shell.pyside_speedups"]
    assert not answers["json"] and not answers["sys"] and not answers["_sqlite3"]
