"""Start-up reads no secret, opens no network connection and imports no integration code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.startup_probe import COUNTERS

PROBE = COUNTERS + textwrap.dedent(r"""
    import asyncio, json, sys

    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault
    backend = CountingKeyring()
    hub = Hub(vault=KeyringVault(backend=backend))
    for i in range(30):
        hub.instances.create("postgres", f"db {i}", {"host": f"db{i}.example.com", "port": 5432, "database": "app",
                                           "user": "app", "password": f"pw-{i}-secret"})
        hub.instances.create("http", f"api {i}", {"base_url": f"https://api{i}.example.com", "auth.method": "bearer",
                                        "auth.token": f"tok-{i}-secret"})
    hub.close()
    backend.reads = 0
    for name in [m for m in sys.modules if m.startswith("connhub.integrations.")]:
        del sys.modules[name]  # saving imported them; start-up must not

    count_connections()

    import qasync
    from PySide6.QtWidgets import QApplication
    from connhub.gui.shell.main_window import MainWindow
    app = QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(Hub(vault=KeyringVault(backend=backend)))
    window.show()
    async def settle():
        await asyncio.sleep(0.6)
    with loop:
        loop.run_until_complete(settle())
    print(json.dumps({
        "rows": window.model.rowCount(),
        "keyring_reads": backend.reads,
        "inet_connects": inet,
        "integration_modules": sorted(m for m in sys.modules if m.startswith("connhub.integrations.")),
        "drivers": sorted(m for m in ("asyncpg", "redis", "httpx") if m in sys.modules),
    }))
""")


def test_startup_reads_no_secret_and_opens_no_connection(tmp_path):
    env = {**os.environ, "CONNHUB_DATA_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["rows"] == 60, "the window should list every saved instance"
    assert report["keyring_reads"] == 0, "start-up must not read secrets"
    assert report["inet_connects"] == [], "start-up must not open network connections"
    assert report["integration_modules"] == [], "integration code must be imported on first use only"
    assert report["drivers"] == [], "drivers must not be imported at start-up"
