"""Asks for an "ask every time" connection's secrets before its first test of the session. They go to the
Hub's memory only (never the keyring or the database) and are forgotten when connhub quits."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from connhub.core.fields import FieldSpec
from connhub.core.records import InstanceRecord
from connhub.gui.editor.widgets import PasswordEdit
from connhub.gui.theme import styled


class SecretPrompt(QDialog):
    def __init__(self, record: InstanceRecord, specs: list[FieldSpec], parent=None):
        super().__init__(parent)
        self.setObjectName("secretPrompt")
        self.setWindowTitle("Secrets for this session")
        intro = QLabel(f"<b>{html.escape(record.name)}</b> asks for its secrets every time. They are kept in "
                       "memory until connhub quits, and never saved.")
        intro.setWordWrap(True)
        rows = QFormLayout()
        self.edits: dict[str, PasswordEdit] = {}
        for spec in specs:
            edit = PasswordEdit()
            edit.setAccessibleName(spec.title)
            label = QLabel(f"{spec.title}:")
            label.setBuddy(edit)
            rows.addRow(label, edit)
            self.edits[spec.key] = edit
        self.error = styled(QLabel(), "fieldError")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use for this session")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(rows)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        if self.edits:
            next(iter(self.edits.values())).setFocus()

    def values(self) -> dict[str, str]:
        return {key: edit.text() for key, edit in self.edits.items()}

    def accept(self) -> None:
        """Only with every secret filled in: an empty one would just fail the test."""
        if empty := [key for key, edit in self.edits.items() if not edit.text()]:
            self.error.setText(f"Enter {', '.join(self.edits[k].accessibleName() for k in empty)} to test")
            self.error.show()
            self.edits[empty[0]].setFocus()
            return
        super().accept()
