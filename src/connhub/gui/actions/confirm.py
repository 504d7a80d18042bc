"""Asking before an action changes something: once per session per instance for `write`; every time for
`destructive`, and on a production instance the typed instance name, as deleting one asks for it
(gui/shell/main_window.py `_confirm_delete`, whose dialog this is)."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox, QWidget

from connhub.gui.ops import dialog_result


def typed_name_dialog(parent: QWidget, title: str, text: str, word: str, ok_text: str) -> QInputDialog:
    dialog = QInputDialog(parent)
    dialog.setObjectName("confirmProdAction")
    dialog.setWindowTitle(title)
    dialog.setLabelText(f"{text}\n\n⚠ Production. Type “{word}” to confirm:")
    dialog.setOkButtonText(ok_text)
    return dialog


async def confirm_typed_name(parent: QWidget, title: str, text: str, word: str, ok_text: str) -> bool:
    dialog = typed_name_dialog(parent, title, text, word, ok_text)
    try:
        code = await dialog_result(dialog)
        return code == QInputDialog.DialogCode.Accepted and dialog.textValue().strip() == word
    finally:
        forget(dialog)


async def confirm_yes(parent: QWidget, name: str, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName(name)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    try:
        return await dialog_result(box) == QMessageBox.StandardButton.Yes
    finally:
        forget(box)


def forget(dialog: QDialog) -> None:
    """Delete a finished dialog, unless its parent (a closed window) took it along already."""
    if shiboken6.isValid(dialog):
        dialog.deleteLater()
