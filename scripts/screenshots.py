"""Regenerate the README's screenshots from the real app (offscreen): `python scripts/screenshots.py [DIR]`.

Instances are made with faker; tests really run (the local Redis and PostgreSQL if they are up, and a
closed port for the failure). Secrets live in an in-memory keyring for the run, so nothing touches yours.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def shoot(out: Path) -> None:
    import keyring.backend
    from faker import Faker

    from connhub.gui.editor.instance_dialog import InstanceDialog
    from connhub.gui.shell.main_window import MainWindow
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    class MemoryKeyring(keyring.backend.KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.entries = {}

        def get_password(self, service, user):
            return self.entries.get((service, user))

        def set_password(self, service, user, password):
            self.entries[(service, user)] = password

        def delete_password(self, service, user):
            self.entries.pop((service, user), None)

    fake = Faker()
    Faker.seed(7)
    hub = Hub(data_dir=Path(tempfile.mkdtemp(prefix="connhub-shots-")), vault=KeyringVault(backend=MemoryKeyring()))
    made = [
        hub.instances.create("postgres", "Orders (local)", {"host": "127.0.0.1", "port": 5432, "database": "test",
                                                  "user": "postgres"}, environment="dev", tags=["orders"]),
        hub.instances.create("redis", "Session cache", {"host": "127.0.0.1", "port": 6379, "db": 0}, environment="dev"),
        hub.instances.create("redis", "Rate limiter (staging)", {"host": "127.0.0.1", "port": closed_port(), "db": 2,
                                                       "password": fake.password()}, environment="staging",
                   tags=["edge"]),
    ]
    for n in range(4):
        company = fake.company().split()[0].strip(",")
        made.append(hub.instances.create("postgres", f"{company} analytics",
                               {"host": fake.hostname(), "port": 5432, "database": fake.word(),
                                "user": fake.user_name(), "password": fake.password()},
                               environment=("prod", "staging", None, "prod")[n], tags=[fake.word()]))
        made.append(hub.instances.create("http", f"{company} API", {"base_url": f"https://api.{fake.domain_name()}/v1",
                                                          "auth.method": "bearer", "auth.token": fake.sha1()},
                               environment=(None, "prod", "dev", None)[n]))
    shop_db = Path(tempfile.mkdtemp(prefix="connhub-shots-db-")) / "shop.db"
    db = sqlite3.connect(shop_db)
    with db:
        db.execute("create table orders (id integer primary key, customer text, city text, total real, placed text)")
        db.executemany("insert into orders values (?, ?, ?, ?, ?)",
                       [(n, fake.name(), fake.city(), round(fake.pyfloat(min_value=5, max_value=900), 2),
                         fake.date_this_year().isoformat()) for n in range(1, 61)])
    db.close()
    shop = hub.instances.create("sqlite", "Shop orders (SQLite)", {"path": str(shop_db), "mode": "ro"},
                                environment="dev", tags=["orders"])
    for record in made[:3]:
        await hub.prober.test_instance(record, timeout=3)
    for _ in range(11):  # a history for the sparkline
        await hub.prober.test_instance(made[0], timeout=3)

    window = MainWindow(hub)
    window.resize(1280, 760)
    window.show()
    await window.check_keyring()
    window.select(made[2].id)
    await asyncio.sleep(0.4)
    window.grab().save(str(out / "main.png"))

    dialog = InstanceDialog(hub, hub.types.entry("http"), parent=window)
    dialog.name_edit.setText("Billing API")
    dialog.form.set_values({"base_url": "https://billing.example.com/v2", "auth.method": "bearer",
                            "auth.token": fake.sha1(), "test_path": "/health"})
    dialog.resize(620, 720)
    dialog.show()
    await asyncio.sleep(0.2)
    dialog.grab().save(str(out / "form.png"))
    dialog.reject()

    dialog = InstanceDialog(hub, hub.types.entry("postgres"), parent=window)
    dialog.name_edit.setText("Warehouse")
    dialog.form.set_values({"host": "127.0.0.1", "port": closed_port(), "database": "warehouse",
                            "user": "etl", "password": fake.password()})
    dialog.resize(620, 720)
    dialog.show()
    await asyncio.ensure_future(dialog.run_test())  # its own task: closing the dialog cancels only that
    await asyncio.sleep(0.2)
    dialog.grab().save(str(out / "failed-test.png"))
    dialog.reject()
    from connhub.gui.editor.type_picker import TypePicker

    picker = TypePicker(hub.registry, parent=window)
    picker.resize(520, 760)
    picker.show()
    await asyncio.sleep(0.2)
    picker.grab().save(str(out / "type-picker.png"))
    picker.reject()

    window.select(shop.id)  # the Actions tab on a query's rows, the list narrower to give the rows room
    window.resize(1280, 900)
    sizes = window.splitter.sizes()
    window.splitter.setSizes([sizes[0], 380, sum(sizes) - sizes[0] - 380])
    panel = next(w for w in (window.detail.tabs.widget(i) for i in range(window.detail.tabs.count()))
                 if w.objectName() == "actionsPanel")
    window.detail.tabs.setCurrentWidget(panel)
    while panel._load is None or not panel._load.done():
        await asyncio.sleep(0.05)
    panel.select_action("query").set_params({
        "sql": "SELECT id, customer, city, total, placed\nFROM orders WHERE total > ?\nORDER BY total DESC",
        "parameters": [100]})
    await panel.run()
    await asyncio.sleep(0.4)
    window.grab().save(str(out / "actions.png"))
    window.detail.tabs.setCurrentIndex(0)

    await shoot_webhooks(hub, window, out)  # the Webhooks tab: a receiver, two deliveries, the invalid one shown
    window.detail.tabs.setCurrentIndex(0)
    window.splitter.setSizes(sizes)
    window.resize(1280, 760)

    await shoot_workflows(window, hub, shop, made[1], out)

    from PySide6.QtWidgets import QApplication

    from connhub.gui.theme import apply_theme

    apply_theme(QApplication.instance(), "dark")
    window.select(made[0].id)
    await asyncio.sleep(0.4)
    window.grab().save(str(out / "main-dark.png"))
    apply_theme(QApplication.instance(), "light")
    window.close()
    hub.close()


async def shoot_webhooks(hub, window, out: Path) -> None:
    import json
    import time

    import httpx

    from connhub.core.webhooks import Scheme, sign

    secret = "whsec-screenshots"
    gh = hub.instances.create("github", "platform-repo", {"base_url": "https://api.github.com",
                              "token": "ghp_" + "x" * 36, "webhook_secret": secret}, environment="dev")
    window.reload()
    window.select(gh.id)
    view = next(w for w in (window.detail.tabs.widget(i) for i in range(window.detail.tabs.count()))
                if w.objectName() == "webhooksView")
    window.detail.tabs.setCurrentWidget(view)
    sizes = window.splitter.sizes()
    window.splitter.setSizes([sizes[0], 340, sum(sizes) - sizes[0] - 340])
    view.listen_button.setChecked(True)  # as a click does: the receiver starts on this loop
    while view._starting is not None or not view.listening():
        await asyncio.sleep(0.05)
    await view.send_test()
    bad = hub.webhooks.sample("github", "push")
    bad["ref"] = 42
    bad["commits"][0].pop("timestamp", None)
    body = json.dumps(bad).encode()
    headers = {"Content-Type": "application/json",
               **sign(Scheme("github"), secret, body, time.time(), "push", "d-invalid")}
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        await client.post(view.url.text(), content=body, headers=headers)
    await asyncio.sleep(0.3)
    await view.refresh()
    view.list.setCurrentItem(view.list.topLevelItem(0))
    await asyncio.sleep(0.4)
    window.grab().save(str(out / "events.png"))
    view.stop()


async def shoot_workflows(window, hub, shop, cache, out: Path) -> None:
    """The Workflows window just after a run: three saved ones (one on a schedule, one broken), the run's rows."""
    from connhub.gui.workflows.window import show_workflows

    hub.workflows.save(f"""name: nightly-orders
description: Count the big orders, cache the figure, read it back
schedule: {{every: 1d}}
steps:
  - id: count
    instance: {shop.name}
    action: query
    params: {{sql: "select count(*) as n from orders where total > 100"}}
  - id: cache
    instance: {cache.name}
    action: set
    params: {{key: "connhub:shots:big-orders", value: "${{steps.count.result.rows[0].n}}", ttl_seconds: 60}}
  - id: check
    instance: {cache.name}
    action: get
    params: {{key: "connhub:shots:big-orders"}}
""")
    hub.workflows.save(f"""name: tables-report
steps:
  - {{id: tables, instance: {shop.name}, action: list_tables}}
""")
    gone = hub.instances.create("redis", "Old queue", {"host": "127.0.0.1", "port": 6379, "db": 3})
    hub.workflows.save("""name: drain-old-queue
steps:
  - {id: peek, instance: Old queue, action: get, params: {key: jobs}}
""")
    hub.instances.delete(gone.id)
    await hub.workflows.run("tables-report", trigger="manual")
    wf = show_workflows(window)
    wf.resize(1240, 470)
    await wf.refresh(select="nightly-orders")
    await wf.run("nightly-orders")
    await asyncio.sleep(0.3)
    wf.grab().save(str(out / "workflows.png"))
    wf.close()


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="connhub-shots-config-"))
    app = QApplication(sys.argv[:1])
    from connhub.gui.theme import apply_theme

    apply_theme(app, "light")  # the README's pictures do not depend on the machine's own theme
    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    with loop:  # closing the loop shuts the executor down
        loop.run_until_complete(shoot(out))
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
