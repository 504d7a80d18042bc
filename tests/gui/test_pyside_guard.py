"""Guard against the PySide6 6.12.0 / CPython 3.11 crash (TESTING.md, "Dependency pitfall").

That combination drops None's reference count on every void-returning binding call; after a few thousand
calls the process aborts with "Fatal Python error: none_dealloc". The calls run in a subprocess so that an
abort fails this test instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import PySide6
import pytest

CALLS = 20_000

PROBE = textwrap.dedent(f"""
    import sys
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv)
    label = QLabel()
    for i in range({CALLS // 2}):
        label.setText(str(i))                      # void-returning
    model = QStandardItemModel()
    for i in range({CALLS // 2}):
        model.appendRow(QStandardItem(str(i)))     # void-returning
    assert model.rowCount() == {CALLS // 2}
    print("ok", flush=True)
""")


def test_many_void_binding_calls_do_not_abort():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (
        f"{CALLS} void-returning PySide6 {PySide6.__version__} calls on Python {sys.version.split()[0]} "
        f"ended with exit code {proc.returncode} (a negative code is a signal, -6 = abort). "
        "PySide6-Essentials 6.12.0 on CPython < 3.12 aborts with 'Fatal Python error: none_dealloc': "
        f"see TESTING.md and the pin in pyproject.toml.\nstderr:\n{proc.stderr[-3000:]}"
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="CPython 3.12+ has an immortal None: 6.12.0 is fine")
def test_pyside6_6_12_0_is_not_installed_on_cpython_before_3_12():
    assert PySide6.__version__ != "6.12.0", (
        f"PySide6 {PySide6.__version__} is installed on CPython {sys.version.split()[0]}: this release drops "
        "None's reference count on every void-returning call (setText, appendRow, …) and aborts the app with "
        "'Fatal Python error: none_dealloc' after a few thousand calls. Keep the pin "
        "PySide6-Essentials==6.11.3 for python_version < '3.12' in pyproject.toml (TESTING.md)."
    )
