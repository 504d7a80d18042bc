"""Settings → Team: join a team catalog (shared PostgreSQL, the team's OpenBao), see whether both answer, leave.

The same service as `connhub team` (services/team.py): both ends are checked before anything is switched, the
token goes to the keyring only. The window shows the catalog it opened with; the joined (or local) one opens at
the next start, which the page says.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from connhub.gui.editor.widgets import PasswordEdit
from connhub.gui.ops import background, show_error, spawn


class TeamPage(QDialog):
    def __init__(self, hub, parent=None):
        super().__init__(parent)
        self.setObjectName("teamPage")
        self.setWindowTitle("Team")
        self.hub = hub
        self.status_label = QLabel("checking…")
        self.status_label.setObjectName("teamStatus")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # server answers and URLs are not ours
        self.status_label.setWordWrap(True)
        self.db_url = QLineEdit()
        self.db_url.setPlaceholderText("postgresql://you@db.example.com:5432/connhub")
        self.db_url.setAccessibleName("Catalog database URL")
        self.openbao_addr = QLineEdit()
        self.openbao_addr.setPlaceholderText("https://bao.example.com:8200 (optional: for shared secrets)")
        self.openbao_addr.setAccessibleName("OpenBao address")
        self.openbao_mount = QLineEdit("secret")
        self.openbao_mount.setAccessibleName("OpenBao KV mount")
        self.token = PasswordEdit()
        self.token.setAccessibleName("OpenBao token")
        self.join_button = QPushButton("&Join")
        self.leave_button = QPushButton("&Leave the team")
        self.join_button.clicked.connect(lambda: spawn(self.join()))
        self.leave_button.clicked.connect(lambda: spawn(self.leave()))
        form = QFormLayout()
        for text, widget in (("Catalog &database", self.db_url), ("&OpenBao", self.openbao_addr),
                             ("KV &mount", self.openbao_mount), ("&Token", self.token)):
            label = QLabel(text)
            label.setBuddy(widget)
            form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.join_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.leave_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 360)
        self.refreshing = spawn(self.refresh())

    async def refresh(self) -> dict:
        status = await background(self.hub.team.status)
        self.status_label.setText(describe(status))
        self.leave_button.setEnabled(status["team"])
        return status

    async def join(self) -> None:
        from connhub.services.team import TeamError

        self._busy(True)
        try:
            await background(self.hub.team.join, self.db_url.text(), self.openbao_addr.text().strip() or None,
                             self.openbao_mount.text().strip() or "secret", self.token.text().strip() or None)
        except TeamError as exc:
            show_error(self, "Not joined", f"{exc.stage}: {exc}")
            return
        finally:
            self._busy(False)
        self.token.clear()
        await self.refresh()
        self.status_label.setText(self.status_label.text() + "\n\nJoined: connhub opens the team catalog at its "
                                  "next start (the CLI already uses it).")

    async def leave(self) -> None:
        await background(self.hub.team.leave)
        await self.refresh()
        self.status_label.setText(self.status_label.text() + "\n\nLeft: the local catalog opens at the next start.")

    def _busy(self, busy: bool) -> None:
        for widget in (self.join_button, self.leave_button):
            widget.setEnabled(not busy)


def describe(status: dict) -> str:
    catalog, secrets, who = status["catalog"], status["secrets"], status["identity"]

    def answers(part: dict) -> str:
        return "answers" if part.get("answers") else f"does not answer: {part.get('problem') or '?'}"

    lines = [f"Catalog: {catalog['url']} — {answers(catalog)}"]
    if secrets["store"] == "openbao":
        lines.append(f"Shared secrets: OpenBao {secrets['addr']} ({secrets.get('path') or secrets['mount']}) — "
                     f"{answers(secrets)}")
    else:
        lines.append("Secrets: your keyring only")
    lines.append("You: " + ", ".join(f"{k} {v}" for k, v in who.items() if v))
    return "\n".join(lines) if status["team"] else "Not in a team.\n" + json.dumps(who)[1:-1]
