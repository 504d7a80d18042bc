"""Settings: the default test timeout, and where data and secrets live."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
)

from connhub.storage.vault import VaultStatus


class SettingsDialog(QDialog):
    def __init__(self, timeout: float, data_dir: str, vault: VaultStatus | None, parent=None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.5, 600)
        self.timeout.setDecimals(1)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(timeout)
        self.timeout.setAccessibleName("Default test timeout")
        self.timeout.setToolTip("How long a connection test may take; also passed to each driver's own timeout.")
        keyring = QLabel(vault.backend if vault else "checking…")
        keyring.setWordWrap(True)
        if vault and vault.problem:
            keyring.setText(f"{vault.backend}\n⚠ {vault.problem}")
        location = QLabel(data_dir)
        location.setWordWrap(True)
        form = QFormLayout(self)
        label = QLabel("Default test &timeout")
        label.setBuddy(self.timeout)
        form.addRow(label, self.timeout)
        form.addRow("Keyring", keyring)
        form.addRow("Data folder", location)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
