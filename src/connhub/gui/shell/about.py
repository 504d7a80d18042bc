"""Help → About: what a bug report needs (version, where the data and settings live, which keyring) in one
place, selectable. The catalog URL is never shown: a shared one may carry a password."""

from __future__ import annotations

import platform
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

if TYPE_CHECKING:
    from connhub.gui.shell.main_window import MainWindow

def about_facts(w: MainWindow) -> list[tuple[str, str]]:
    """The rows the dialog shows, as plain text (tests read them; the dialog escapes them)."""
    from PySide6 import __version__ as pyside_version

    from connhub import __version__

    status = w.vault_status
    keyring = "checking…" if status is None else (status.title if status.usable else f"unavailable: {status.problem}")
    catalog = "a shared database (CONNHUB_DB_URL)" if w.hub.db_url else "SQLite, in the data folder"
    return [("Version", __version__),
            ("Licence", "MIT"),
            ("Data folder", str(w._first.data_dir)),
            ("Catalog", catalog),
            ("Window settings", QSettings().fileName()),
            ("Keyring", keyring),
            ("Runtime", f"Python {platform.python_version()}, Qt for Python {pyside_version}")]


class AboutDialog(QDialog):
    def __init__(self, w: MainWindow):
        super().__init__(w)
        self.setWindowTitle("About connhub")
        self.facts = about_facts(w)
        rows = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(v)}</td></tr>" for k, v in self.facts)
        self.text = QLabel(f"<h3>connhub</h3><p>Manage, test and use your connections to services.</p>"
                           f"<table>{rows}</table>")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to paste in a report
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


def show_about(w: MainWindow) -> AboutDialog:
    dialog = AboutDialog(w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
