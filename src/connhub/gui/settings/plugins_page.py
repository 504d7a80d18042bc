"""Settings → Plugins: each installed plugin with its version, what it adds, its status and the time its hooks
took, and a switch to turn it off without uninstalling it (services/plugin_hooks.py `overview`, `set_enabled`).
A switch takes effect at the next start: the types are found once per start."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout

from connhub.services.plugin_hooks import hooks_text


class PluginsPage(QGroupBox):
    def __init__(self, plugins: list[dict[str, Any]], parent=None):
        super().__init__("Plugins", parent)
        self.setObjectName("pluginsPage")
        self.switches: dict[str, QCheckBox] = {}
        self._saved = {row["name"]: not row["disabled"] for row in plugins}
        layout = QVBoxLayout(self)
        if not plugins:
            layout.addWidget(_plain("No plugins installed. A plugin is a Python package with a "
                                    "`connhub.integrations` entry point: `connhub new-plugin NAME` starts one."))
        for row in plugins:
            switch = QCheckBox(f"{row['name']} {row['version']}")
            switch.setObjectName(f"plugin_{row['name']}")
            switch.setChecked(not row["disabled"])
            switch.setToolTip("Off: its types and actions are not used (from the next start); its saved "
                              "connections are kept")
            self.switches[row["name"]] = switch
            layout.addWidget(switch)
            adds = ", ".join([*row["types"], *row["actions"]]) or "nothing"
            failed = len(row["failed_hooks"])
            pending = f" · {failed} failed hook{'s' if failed != 1 else ''} to retry" if failed else ""
            detail = _plain(f"{row['status']} · adds {adds} · hooks: {hooks_text(row['hooks'])}{pending}")
            detail.setObjectName(f"pluginDetail_{row['name']}")
            detail.setContentsMargins(22, 0, 0, 4)
            layout.addWidget(detail)
        if plugins:
            layout.addWidget(_plain("Turning a plugin on or off takes effect when connhub starts next."))

    def changes(self) -> dict[str, bool]:
        """{plugin: enabled} for the switches moved."""
        return {name: box.isChecked() for name, box in self.switches.items() if box.isChecked() != self._saved[name]}


def _plain(text: str) -> QLabel:
    label = QLabel(text)  # a plugin's own words (its name, its error): plain text, never guessed rich text
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label
