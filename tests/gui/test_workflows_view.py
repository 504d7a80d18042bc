"""The Workflows window against real things: a SQLite file (queries that pass their values along, one that
fails), a TCP server that never answers (for Cancel) and the real catalog. What is asserted is what a user
sees: the list's rows, the problems under the text, the run's step rows and the history."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from connhub.gui.workflows.window import WorkflowsWindow
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.gui.helpers import settle

VALID = """name: count-orders
description: Count the orders, then read the figure back  # a comment the copy keeps
steps:
  - id: count
    instance: shop
    action: query
    params: {sql: "select count(*) as n from orders"}
  - id: echo
    instance: shop
    action: query
    params: {sql: "select ? as seen", parameters: ["${steps.count.result.rows[0].n}"]}
"""

INVALID = """name: wrong
steps:
  - id: a
    instance: shop
    action: query
    params: {sql: "select 1", max_rows: "${steps.b.result.x}"}
  - id: b
    instance: nowhere
    action: query
    params: {sql: "select 1"}
"""

FAILING = """name: failing
steps:
  - {id: bad, instance: shop, action: query, params: {sql: "select * from no_such_table_at_all"}}
  - {id: after, instance: shop, action: query, params: {sql: "select 1"}}
"""


@pytest.fixture(scope="module")
def registry():
    return Registry.discover(plugins=False)


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("create table orders (id integer primary key, customer text)")
        db.executemany("insert into orders values (?, ?)", [(1, "Ada"), (2, "Grace"), (3, "Linus")])
    return path


@pytest.fixture
def hub(tmp_path, memory_keyring, registry, qtbot, qloop, db_file):
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
    hub.instances.create("sqlite", "shop", {"path": str(db_file), "mode": "ro"})
    yield hub
    settle(qtbot, qloop)
    hub.close()


@pytest.fixture
def window(qtbot, qloop, hub, arun):
    window = WorkflowsWindow(lambda: hub)
    qtbot.addWidget(window)
    window.show()
    arun(window.refresh())
    yield window
    window.cancel()
    settle(qtbot, qloop)


@pytest.fixture
def silent_server():
    """A TCP server that accepts and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def step_rows(window) -> list[tuple[str, str]]:
    view = window.run_view.steps
    return [(view.topLevelItem(i).text(0), view.topLevelItem(i).text(3)) for i in range(view.topLevelItemCount())]


def listed(window) -> list[str]:
    return [window.list.topLevelItem(i).text(0) for i in range(window.list.topLevelItemCount())]


def history_rows(window) -> list[tuple[str, str]]:
    runs = window.history.runs
    return [(runs.topLevelItem(i).text(0), runs.topLevelItem(i).text(1)) for i in range(runs.topLevelItemCount())]


def find_dialog(qtbot, kind, name):
    found = []

    def there():
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, kind) and w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(there, timeout=5000)
    return found[0]


def test_an_invalid_workflow_is_refused_with_each_problem_at_its_path_and_nothing_is_saved(qtbot, window, hub):
    window.new()
    window.editor.text.setPlainText(INVALID)
    qtbot.mouseClick(window.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.editor.errors.count() > 0, timeout=5000)
    errors = window.editor.error_texts()
    assert any(e.startswith("steps[0].params.max_rows: ") for e in errors), errors
    assert any(e.startswith("steps[1].instance: ") and "nowhere" in e for e in errors), errors
    assert window.editor.errors.isVisible()
    assert window.editor.status.text().startswith("Not saved: 2 problems")
    assert window.editor.text.toPlainText() == INVALID  # nothing lost
    assert hub.workflows.list() == [] and listed(window) == []
    # a problem clicked: the cursor goes to the value it is about
    item = next(window.editor.errors.item(i) for i in range(window.editor.errors.count())
                if window.editor.errors.item(i).text().startswith("steps[1].instance"))
    window.editor.errors.itemClicked.emit(item)
    cursor = window.editor.text.textCursor()
    line = INVALID[:cursor.selectionStart()].count("\n")
    assert INVALID.splitlines()[line].strip().startswith("instance: nowhere")


def test_check_lists_the_problems_and_then_says_none(window, arun):
    window.new()
    window.editor.text.setPlainText("name: x\nsteps: 3\n")
    assert set(arun(window.check())) == {"steps"}
    assert window.editor.error_texts() == ["steps: a list of at least one step"]
    window.editor.text.setPlainText(VALID)
    assert arun(window.check()) == {}
    assert window.editor.status.text() == "No problems: count-orders has 2 steps."
    assert not window.editor.errors.isVisible()


def test_a_valid_workflow_is_listed_and_runs_step_by_step_into_the_history(qtbot, window, hub, arun):
    window.new()
    window.editor.text.setPlainText(VALID)
    info = arun(window.save())
    assert info is not None and listed(window) == ["count-orders"]
    assert window.row_texts("count-orders")[:3] == ["count-orders", "2", "never"]
    assert window.editor.status.text() == "Saved count-orders."
    seen = []
    shown = window.run_view.update_step
    window.run_view.update_step = lambda step: (shown(step), seen.append(step_rows(window)))
    qtbot.mouseClick(window.run_view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=10_000)
    # live: each step's row changed as that step went, before the next began
    assert [("count", "running…"), ("echo", "waiting")] in seen
    assert [("count", "✔ ok"), ("echo", "waiting")] in seen
    assert step_rows(window) == [("count", "✔ ok"), ("echo", "✔ ok")]
    assert window.run_view.status.text().startswith("count-orders: finished: every step ok or skipped")
    durations = [window.run_view.steps.topLevelItem(i).text(4) for i in range(2)]
    assert all(d.endswith(" ms") or d.endswith(" s") for d in durations), durations
    qtbot.waitUntil(lambda: history_rows(window) == [("✔ ok", "manual")], timeout=5000)
    assert window.row_texts("count-orders")[2].startswith("ok, ")
    detail = window.history.detail.toPlainText()
    assert "1. count — shop · query — ok" in detail
    assert '"parameters": ["3"]' in detail or '"parameters": [3]' in detail  # the count, passed along
    assert "result:" in detail and "seen" in detail
    # Re-run: a second run, newest first
    qtbot.mouseClick(window.history.rerun_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(history_rows(window)) == 2, timeout=10_000)
    assert [r.trigger for r in hub.workflows.runs("count-orders")] == ["manual", "manual"]


def test_a_failing_step_shows_its_error_and_the_rest_is_skipped(qtbot, window, hub, arun):
    arun(window.save(FAILING))
    run = arun(window.run("failing"), timeout=10_000)
    assert run.status == "failed"
    assert step_rows(window) == [("bad", "✖ failed"), ("after", "skipped")]
    message = window.run_view.steps.topLevelItem(0).text(5)
    assert "no such table" in message, message
    assert window.run_view.status.text().startswith("failing: failed")
    qtbot.waitUntil(lambda: history_rows(window)[:1] == [("✖ failed", "manual")], timeout=5000)
    detail = window.history.detail.toPlainText()
    assert "1. bad — shop · query — failed" in detail
    error_line = next(line for line in detail.splitlines() if line.strip().startswith("error:"))
    assert "no such table" in error_line and error_line.strip() != "error: unknown:"
    assert "2. after — shop · query — skipped" in detail


def test_cancel_stops_the_step_in_flight_and_skips_the_rest(qtbot, qloop, window, hub, arun, silent_server):
    hub.instances.create("redis", "silent", {"host": "127.0.0.1", "port": silent_server, "db": 0})
    arun(window.save("""name: hangs
steps:
  - {id: first, instance: shop, action: query, params: {sql: "select 1"}}
  - {id: wait, instance: silent, action: get, params: {key: k}, timeout: 60}
  - {id: never, instance: shop, action: query, params: {sql: "select 2"}}
"""))
    qtbot.mouseClick(window.run_view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ("wait", "running…") in step_rows(window), timeout=10_000)
    qtbot.wait(300)
    assert window.run_view.run_button.text() == "Ca&ncel"
    started = time.monotonic()
    qtbot.mouseClick(window.run_view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.run_view.running, timeout=3000)
    assert time.monotonic() - started < 1.5
    assert step_rows(window) == [("first", "✔ ok"), ("wait", "cancelled"), ("never", "skipped")]
    assert window.run_view.status.text().startswith("hangs: cancelled")
    assert window.run_view.run_button.text() == "&Run"
    qtbot.waitUntil(lambda: history_rows(window)[:1] == [("cancelled", "manual")], timeout=5000)
    (last,) = hub.workflows.runs("hangs")
    assert last.status == "cancelled"


def test_duplicate_asks_the_name_and_keeps_the_text(qtbot, window, hub, arun):
    arun(window.save(VALID))
    qtbot.mouseClick(window.duplicate_button, Qt.MouseButton.LeftButton)
    dialog = find_dialog(qtbot, QInputDialog, "duplicateWorkflow")
    assert dialog.textValue() == "count-orders-copy"
    dialog.setTextValue("orders-again")
    dialog.accept()
    qtbot.waitUntil(lambda: "orders-again" in listed(window), timeout=5000)
    assert listed(window) == ["count-orders", "orders-again"]
    copy = hub.workflows.get("orders-again").record.definition
    assert "# a comment the copy keeps" in copy and copy.startswith('name: "orders-again"')
    assert window.current == "orders-again"
    # a name taken is refused, nothing overwritten
    assert arun(window.duplicate_as("count-orders")) is None
    assert hub.workflows.get("count-orders").record.definition == VALID


def test_export_then_import_round_trips_and_remove_asks_first(qtbot, window, hub, arun, tmp_path):
    arun(window.save(VALID))
    out = tmp_path / "count.yaml"
    assert arun(window.export_to(str(out)))
    assert out.read_text(encoding="utf-8") == VALID
    as_json = tmp_path / "count.json"
    assert arun(window.export_to(str(as_json)))
    assert as_json.read_text(encoding="utf-8").lstrip().startswith("{")
    qtbot.mouseClick(window.remove_button, Qt.MouseButton.LeftButton)
    box = find_dialog(qtbot, QMessageBox, "confirmRemoveWorkflow")
    assert "count-orders" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: listed(window) == [], timeout=5000)
    assert hub.workflows.list() == []
    info = arun(window.import_path(str(out)))
    assert info is not None and listed(window) == ["count-orders"]
    assert hub.workflows.get("count-orders").record.definition == VALID
    assert window.editor.text.toPlainText() == VALID


def test_an_import_that_does_not_fit_lands_in_the_editor_with_its_problems(window, hub, arun, tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(INVALID, encoding="utf-8")
    assert arun(window.import_path(str(path))) is None
    assert hub.workflows.list() == []
    assert window.editor.text.toPlainText() == INVALID
    assert any(e.startswith("steps[1].instance") for e in window.editor.error_texts())
    assert window.editor.status.text().startswith("Not imported from wrong.yaml")


def test_a_workflow_whose_connection_was_deleted_is_shown_broken_naming_the_step(window, hub, arun, db_file):
    hub.instances.create("sqlite", "cache", {"path": str(db_file), "mode": "ro"})
    arun(window.save("""name: uses-cache
steps:
  - {id: first, instance: shop, action: query, params: {sql: "select 1"}}
  - {id: second, instance: cache, action: query, params: {sql: "select 2"}}
"""))
    assert window.row_texts("uses-cache")[4] == ""
    hub.instances.delete(hub.instances.find("cache").id)
    arun(window.refresh())
    problem = window.row_texts("uses-cache")[4]
    assert problem.startswith("broken: steps[1].instance: ") and "'cache'" in problem, problem
    assert window.row_texts("uses-cache")[0] == "⚠ uses-cache"
    assert "steps[1].instance: step 'second': there is no saved instance named 'cache'" in window.about.text()
    assert not window.run_view.run_button.isEnabled()
    assert any(e.startswith("steps[1].instance") for e in window.editor.error_texts())
    assert arun(window.run("uses-cache")) is None
    assert hub.workflows.runs("uses-cache") == []


def test_inputs_are_asked_in_a_form_before_the_run(qtbot, window, hub, arun):
    arun(window.save("""name: greet
inputs: {type: object, required: [who], properties: {who: {type: string}, times: {type: integer, default: 2}}}
steps:
  - {id: say, instance: shop, action: query, params: {sql: "select ? as hello, ? as n", parameters: ["${inputs.who}", "${inputs.times}"]}}
"""))
    qtbot.mouseClick(window.run_view.run_button, Qt.MouseButton.LeftButton)
    from connhub.gui.workflows.runs import InputsDialog

    dialog = find_dialog(qtbot, InputsDialog, "workflowInputs")
    assert dialog.edits["times"].text() == "2"
    dialog.edits["who"].setText("ops")
    dialog.accept()
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=10_000)
    assert window.last_run.status == "ok" and window.last_run.inputs == {"who": "ops", "times": 2}
    assert step_rows(window) == [("say", "✔ ok")]


def test_the_steps_tab_lists_the_steps_and_appends_a_picked_one(qtbot, window, arun):
    window.new()
    window.editor.text.setPlainText(VALID)
    window.tabs.setCurrentWidget(window.steps)
    qtbot.waitUntil(lambda: window.steps.instance.count() == 1, timeout=5000)
    rows = window.steps.list
    assert [rows.topLevelItem(i).text(0) for i in range(rows.topLevelItemCount())] == ["count", "echo"]
    window.steps.action.setCurrentText("list_tables")
    window.steps.add_step()
    text = window.editor.text.toPlainText()
    assert text.startswith(VALID.rstrip("\n"))  # the rest as written
    assert [rows.topLevelItem(i).text(2) for i in range(rows.topLevelItemCount())] == ["query", "query",
                                                                                        "list_tables"]
    assert arun(window.check()) == {}


def test_the_menu_opens_the_window_and_a_schedule_runs_while_the_app_does(qtbot, qloop, make_window, db_file):
    main = make_window()
    qtbot.waitUntil(lambda: main.monitoring is not None, timeout=10_000)
    hub = main.hub
    hub.instances.create("sqlite", "shop", {"path": str(db_file), "mode": "ro"})
    main.workflows_action.trigger()
    window = main.findChild(WorkflowsWindow)
    qtbot.waitUntil(lambda: window is not None and window.isVisible(), timeout=5000)
    assert window.windowTitle() == "Workflows"
    hub.workflows.save("""name: every-ten
schedule: {every: 10s}
steps:
  - {id: tick, instance: shop, action: query, params: {sql: "select 1"}}
""")
    main.monitoring.start_schedules(every=0.25)  # the app's tick is 30 s; the slots are every 10 s
    qtbot.waitUntil(lambda: [(r.trigger, r.status) for r in hub.workflows.runs("every-ten")] == [("schedule", "ok")],
                    timeout=15_000)
    qtbot.waitUntil(lambda: window.row_texts("every-ten")[2].startswith("ok, "), timeout=5000)  # the list follows
    main.monitoring.stop()
    assert not main.monitoring.schedules.isActive()
    settle(qtbot, qloop)


def test_unsaved_edits_survive_switching_to_another_workflow_and_back(window, hub, arun):
    arun(window.save(VALID))
    arun(window.save(FAILING))
    window.list.setCurrentItem(window._find("count-orders"))
    edited = VALID.replace("select ? as seen", "select ? as seen_twice")
    window.editor.text.selectAll()
    window.editor.text.insertPlainText(edited)  # as typed: the document is modified
    window.list.setCurrentItem(window._find("failing"))
    assert window.editor.text.toPlainText() == FAILING
    window.list.setCurrentItem(window._find("count-orders"))
    assert window.editor.text.toPlainText() == edited
    assert window.editor.status.text() == "Your unsaved changes to count-orders are back: Save keeps them."
    assert hub.workflows.get("count-orders").record.definition == VALID  # nothing written behind the user's back


def test_a_servers_error_that_looks_like_html_is_shown_as_sent(window, arun):
    arun(window.save("""name: hostile
steps:
  - {id: bad, instance: shop, action: query, params: {sql: 'select * from "<b>bold</b><img src=x>"'}}
"""))
    arun(window.run("hostile"), timeout=10_000)
    row = window.run_view.steps.topLevelItem(0)
    assert "<b>bold</b><img src=x>" in row.text(5)  # an item's text is never markup
    tip = row.toolTip(5)
    assert "<b>" not in tip and "&lt;b&gt;bold&lt;/b&gt;" in tip
    assert "<b>bold</b>" in window.history.detail.toPlainText()


def test_a_window_deleted_mid_run_cancels_the_run_and_touches_no_widget(qtbot, qloop, hub, arun, caplog,
                                                                       silent_server):
    hub.instances.create("redis", "silent", {"host": "127.0.0.1", "port": silent_server, "db": 0})
    hub.workflows.save("""name: hangs
steps:
  - {id: wait, instance: silent, action: get, params: {key: k}, timeout: 60}
""")
    window = WorkflowsWindow(lambda: hub)
    window.show()
    arun(window.refresh(select="hangs"))
    window.run_view.run_button.click()
    qtbot.waitUntil(lambda: ("wait", "running…") in step_rows(window), timeout=10_000)
    window.deleteLater()
    qtbot.waitUntil(lambda: [r.status for r in hub.workflows.runs("hangs")] == ["cancelled"], timeout=5000)
    settle(qtbot, qloop)
    assert not [r for r in caplog.records if "UI task failed" in r.getMessage()]
