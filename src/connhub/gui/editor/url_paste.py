"""The connection dialog's "Paste URL" row: a connection URL fills the form, on Enter, on "Fill", or at once when
pasted in (not on each keystroke). The box is masked like a password, because a pasted URL usually holds one,
with the same eye to check what was pasted; after a fill it is emptied (undo history included) and the URL is
kept nowhere. Parsing touches no network and no keyring, so it runs on the GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeyEvent, QPalette
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from connhub.core.urls import UrlError, example_url
from connhub.gui.editor.widgets import PasswordEdit
from connhub.gui.ops import pasted
from connhub.gui.theme import error_color, muted_color

if TYPE_CHECKING:
    from connhub.gui.editor.form import CredentialForm
    from connhub.plugins.registry import TypeEntry
    from connhub.services.types import Types


class UrlEdit(PasswordEdit):
    """The "Paste URL" box: masked, with the password box's eye to reveal it; Enter fills the form rather than
    pressing the dialog's default button (Save)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        super().keyPressEvent(event)  # emits returnPressed, then lets the key go on to the dialog
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()

    def _update_action(self) -> None:
        super()._update_action()
        revealed = self.is_revealed()
        self.reveal_action.setText("Hide" if revealed else "Show")
        self.reveal_action.setToolTip("Hide the URL" if revealed else "Show the URL")
        button = self.reveal_button()
        if button is not None:
            button.setAccessibleName("Show URL")
            button.setAccessibleDescription("Hides the URL again" if revealed else "Reveals the URL as plain text")


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class UrlPaste:
    """The row's box, Fill button and message, added to the dialog's name rows; it fills `form` (set once the
    dialog has made it) through the type service, never the Hub."""

    def __init__(self, hub, entry: TypeEntry, rows: QFormLayout):
        self.types: Types = hub.types
        self.entry = entry
        self.form: CredentialForm | None = None
        self._text = ""
        self._build(rows)

    def _build(self, rows: QFormLayout) -> None:
        self.edit = UrlEdit()
        self.edit.setObjectName("urlEdit")
        self.edit.setPlaceholderText(example_url(self.entry.manifest, self.entry.specs))
        self.edit.setAccessibleName("Connection URL")
        self.edit.setToolTip("Paste a connection URL to fill in the form. The URL itself is not kept.")
        self.edit.returnPressed.connect(self.fill)
        self.edit.textEdited.connect(self._edited)
        self.fill_button = QPushButton("&Fill")
        self.fill_button.setAutoDefault(False)
        self.fill_button.setToolTip("Fill in the form from the URL (Enter)")
        self.fill_button.clicked.connect(self.fill)
        self.message = QLabel()
        self.message.setObjectName("urlMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()
        # One cell holds the box, its button and the message under them, as the form's rows do.
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.edit, 1)
        line.addWidget(self.fill_button)
        column.addLayout(line)
        column.addWidget(self.message)
        self.label = QLabel("Paste &URL")
        self.label.setBuddy(self.edit)
        rows.addRow(self.label, cell)

    def _edited(self, text: str) -> None:
        before, self._text = self._text, text
        self.show_message("", "")  # an old message no longer matches what is in the box
        if pasted(before, text) and "://" in text:
            self.fill()  # pasted (or dropped) in one go: fill at once

    def fill_from(self, url: str) -> bool:
        """Quick connect: the URL goes through the URL box, as if pasted there (masked, then forgotten)."""
        self.edit.setText(url)
        self._text = url
        return self.fill()

    def fill(self) -> bool:
        """Fill the form from the URL box; on a bad URL, say why under the box and change nothing."""
        if self.edit.isReadOnly():
            return False
        url = self.edit.text()
        if not url.strip():
            self.show_message("error", f"Paste a connection URL first, like {self.edit.placeholderText()}")
            return False
        try:
            parsed = self.types.values_from_url(self.entry.type, url, keep=self.form.values())
        except UrlError as exc:
            self.show_message("error", sentence(str(exc)))
            return False
        self.form.set_values(parsed.values)
        self.edit.setText("")  # unlike clear(), also forgets the undo history: the URL may hold a password
        self.edit.set_revealed(False)  # the next URL is masked again
        self._text = ""
        if parsed.kept_params:
            extra = next((s.title for s in self.entry.specs if s.key == self.entry.manifest.url.extra), "")
            dropped = f" Left out: {', '.join(parsed.unknown_params)}" if parsed.unknown_params else ""
            self.show_message("warning", f"Filled in. These URL parameters were kept in {extra} (Advanced), "
                              f"for the driver: {', '.join(parsed.kept_params)}.{dropped}")
        elif parsed.unknown_params:
            self.show_message("warning", f"Filled in. {self.entry.name} does not know these URL parameters, "
                              f"which were left out: {', '.join(parsed.unknown_params)}")
        else:
            self.show_message("info", "Filled in from the URL (the URL itself is not kept)")
        return True

    def show_message(self, level: str, text: str) -> None:
        palette = self.message.palette()
        base = self.edit.palette()
        dark = base.color(QPalette.ColorRole.Window).lightness() < 128
        color = {"error": error_color(base), "warning": QColor("#ffcc80" if dark else "#8a5300")}.get(
            level, muted_color(base))
        palette.setColor(QPalette.ColorRole.WindowText, color)
        self.message.setPalette(palette)
        self.message.setProperty("level", level)
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.edit.setAccessibleDescription(text)

    def message_text(self) -> str:
        return self.message.text() if self.message.isVisibleTo(self.message.window()) else ""
