"""Untrusted text is shown as typed (issue 23, defect 5): a name, a tag or a server's answer that looks like
HTML must not turn into markup, a link or an image in the window. Qt's labels guess "rich text" from the text
itself (Qt::AutoText), so a saved name of `<b>…</b><img src=…>` would be drawn bold with an image fetched from a
path the name chose, unless every label that shows such text is plain."""

from __future__ import annotations

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from connhub.core.results import TestResult
from tests.gui.helpers import settle
from tests.gui.test_main_window import click_row

HOSTILE_NAME = "<b>Bold</b><img src='/etc/x.png'>"
HOSTILE_TAG = "<i>tag</i>"
HOSTILE_BANNER = "<a href='file:///etc/passwd'>Redis 7</a>"  # what a hostile server answers as its version


def label_texts(window) -> list[tuple[str, bool, str]]:
    """(source, drawn as rich text, the text a user sees) for every label of the window."""
    seen = []
    for label in window.findChildren(QLabel):
        text, fmt = label.text(), label.textFormat()
        rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(text))
        if rich:
            doc = QTextDocument()
            doc.setHtml(text)
            seen.append((text, True, doc.toPlainText()))
        else:
            seen.append((text, False, text))
    return seen


def test_a_name_and_tag_that_look_like_html_are_shown_as_typed(qtbot, qloop, make_window):
    window = make_window()
    window.hub.instances.create("redis", HOSTILE_NAME, {"host": "127.0.0.1", "port": 6379}, tags=[HOSTILE_TAG])
    record = window.hub.instances.list()[0]
    window.hub.prober.record(record.id, TestResult(ok=True, message="ok", latency_ms=1.0,
                                                   server_version=HOSTILE_BANNER))
    window.reload()
    click_row(qtbot, window, HOSTILE_NAME)
    settle(qtbot, qloop)
    labels = label_texts(window)
    shown = [visible for _source, _rich, visible in labels]
    assert any(HOSTILE_NAME in text for text in shown), "the detail pane shows the name as typed"
    assert any(HOSTILE_TAG in text for text in shown), "the detail pane shows the tag as typed"
    assert any(HOSTILE_BANNER in text for text in shown), "the detail pane shows the server's version as sent"
    markup = [source for source, rich, _visible in labels if rich and any(h in source for h in ("<b>Bold", "<i>tag", "<a href"))]
    assert markup == [], "a label draws untrusted text as markup"


def test_a_servers_error_and_hint_are_shown_as_sent(qtbot):
    from connhub.core.errors import ErrorClass
    from connhub.gui.probing.probe_panel import ProbePanel

    panel = ProbePanel()
    qtbot.addWidget(panel)
    message, hint = "<h1>Refused</h1><img src='/etc/x.png'>", "<a href='https://evil.example'>fix it</a>"
    panel.show_result(TestResult(ok=False, message=message, hint=hint, error_class=ErrorClass.AUTH))
    seen = label_texts(panel)
    assert any(message in visible for _s, _r, visible in seen)
    assert any(hint in visible for _s, _r, visible in seen)
    assert [s for s, rich, _v in seen if rich and ("<h1>" in s or "<a href" in s)] == []
