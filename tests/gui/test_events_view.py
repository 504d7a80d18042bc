"""The Webhooks tab on a real receiver: Listen, signed and forged GitHub deliveries posted with httpx, the
filters, the pretty body with its error lines highlighted, a signed test event, the port closed on Stop, and
the signing secret in no widget text."""

from __future__ import annotations

import json
import secrets
import socket
import time

import httpx
import pytest

from connhub.core.webhooks import Scheme, sign
from tests.gui.helpers import settle

SECRET = "Canary-whsec-" + secrets.token_hex(6)


@pytest.fixture
def tab(qtbot, qloop, make_window):
    window = make_window()
    record = window.hub.instances.create("github", "gh", {"base_url": "https://api.github.com",
                                                          "token": "ghp_" + "x" * 20, "webhook_secret": SECRET})
    settle(qtbot, qloop)
    window.reload()
    window.select(record.id)
    tabs = window.detail.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    view = tabs.widget(titles.index("Webhooks"))
    assert tabs.isTabVisible(titles.index("Webhooks"))
    tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.refreshing is not None and view.refreshing.done(), timeout=10_000)
    return window, view


def listen(qtbot, view):
    view.listen_button.click()
    qtbot.waitUntil(lambda: view.url.text().startswith("http://127.0.0.1:"), timeout=10_000)
    return view.url.text()


def post(qtbot, qloop, url, payload, secret=SECRET, delivery_id="d-1"):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(Scheme("github"), secret, body, time.time(), "push",
                                                          delivery_id)}

    async def go():
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            return (await client.post(url, content=body, headers=headers)).status_code

    task = qloop.create_task(go())
    qtbot.waitUntil(task.done, timeout=10_000)
    return task.result()


def test_deliveries_appear_with_their_verdicts_and_filter(qtbot, qloop, tab):
    window, view = tab
    url = listen(qtbot, view)
    push = window.hub.webhooks.sample("github", "push")
    assert post(qtbot, qloop, url, push) == 200
    qtbot.waitUntil(lambda: len(view.rows()) == 1, timeout=10_000)
    assert view.rows()[0][1:] == ("push", "accepted (200)")
    assert post(qtbot, qloop, url, push, secret="not-the-secret", delivery_id="d-2") == 401
    qtbot.waitUntil(lambda: len(view.rows()) == 2, timeout=10_000)
    assert view.rows()[0][2] == "bad signature (401)"  # newest first

    view.verdict_filter.setCurrentIndex(view.verdict_filter.findData("accepted"))
    qtbot.waitUntil(lambda: len(view.rows()) == 1 and view.rows()[0][2] == "accepted (200)", timeout=10_000)
    view.list.setCurrentItem(view.list.topLevelItem(0))
    assert view.body.toPlainText() == json.dumps(push, indent=2, ensure_ascii=False)
    assert "X-Hub-Signature-256: ********" in view.headers.toPlainText()
    assert all(SECRET not in text for text in view.texts())


def test_an_invalid_payload_lists_its_errors_and_highlights_their_lines(qtbot, qloop, tab):
    window, view = tab
    url = listen(qtbot, view)
    bad = window.hub.webhooks.sample("github", "push")
    bad["ref"] = 42
    assert post(qtbot, qloop, url, bad) == 400
    qtbot.waitUntil(lambda: len(view.rows()) == 1, timeout=10_000)
    view.list.setCurrentItem(view.list.topLevelItem(0))
    lines = view.body.toPlainText().splitlines()
    assert view.errors.count() >= 1 and "$.ref" in view.errors.item(0).text()
    assert any('"ref": 42' in lines[n] for n in view.highlighted_lines())
    task = qloop.create_task(view.replay())
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() and "problem" in view.message.text()


def test_send_test_event_then_stop_closes_the_port(qtbot, qloop, tab):
    _window, view = tab
    url = listen(qtbot, view)
    port = int(url.split(":")[2].split("/")[0])
    view.test_event.setCurrentIndex(view.test_event.findData("push"))
    task = qloop.create_task(view.send_test())
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() == 200 and "HTTP 200" in view.message.text()
    qtbot.waitUntil(lambda: len(view.rows()) == 1 and view.rows()[0][2] == "accepted (200)", timeout=10_000)

    view.listen_button.click()  # off
    assert view.url.text() == "" and view.listen_button.text() == "&Listen"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert all(SECRET not in text for text in view.texts())


def test_closing_the_window_closes_the_port(qtbot, qloop, tab):
    window, view = tab
    url = listen(qtbot, view)
    port = int(url.split(":")[2].split("/")[0])
    window.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_port_in_use_is_said_in_the_tab(qtbot, qloop, tab):
    _window, view = tab
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        view.port.setValue(taken.getsockname()[1])
        view.listen_button.click()
        qtbot.waitUntil(lambda: "cannot be used" in view.message.text(), timeout=10_000)
    assert not view.listen_button.isChecked() and view.url.text() == ""


def test_another_connection_stops_the_receiver_and_a_type_without_webhooks_has_no_tab(qtbot, qloop, tab):
    window, view = tab
    url = listen(qtbot, view)
    port = int(url.split(":")[2].split("/")[0])
    cache = window.hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
    window.reload()
    window.select(cache.id)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    tabs = window.detail.tabs
    assert not tabs.isTabVisible(tabs.indexOf(view))
