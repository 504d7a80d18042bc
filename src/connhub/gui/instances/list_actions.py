"""What New, Edit, Duplicate, Rename, Environment and Delete do to the saved connections in the list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connhub.gui.ops import HubOp, background, pasted, show_error, spawn

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.gui.shell.main_window import MainWindow


class InstanceActions:
    def __init__(self, window: MainWindow):
        self.window = window

    # --- the slots of the toolbar, the shortcuts and the context menu -----------------------------------

    def new_instance(self) -> None:
        spawn(self.create_flow())

    def edit_selected(self) -> None:
        if (record := self.window.selected()) is not None:
            spawn(self.edit_flow(record))

    def duplicate_selected(self) -> None:
        if (record := self.window.selected()) is not None:
            spawn(self.duplicate(record))

    def rename_selected(self) -> None:
        index = self.window.list_view.currentIndex()
        if index.isValid() and not self.window._testing():
            self.window.list_view.edit(index)

    def copy_summary(self) -> None:
        from PySide6.QtWidgets import QApplication

        if (record := self.window.selected()) is not None:
            QApplication.clipboard().setText(record.summary)
            self.window.statusBar().showMessage(f"Copied {record.summary}", 4000)

    def delete_selected(self) -> None:
        if records := self.window.selected_records():
            spawn(self.delete(records[0]) if len(records) == 1 else self.delete_many(records))

    def open_settings(self) -> None:
        spawn(self.settings_flow())

    def _saved(self, record: InstanceRecord, message: str) -> None:
        self.window._put(record)
        self.window.statusBar().showMessage(message, 4000)

    def paste_connection(self) -> None:
        """Quick connect (Ctrl+Shift+V): the clipboard's connection URL opens a new connection of its type,
        filled in from it, the password in the password field."""
        from PySide6.QtWidgets import QApplication

        self.quick_connect(QApplication.clipboard().text(), "The clipboard holds")

    def quick_connect(self, text: str, holder: str = "That is") -> bool:
        type_name = self.window.hub.types.type_for_url(text)
        if type_name is None:
            self.window.statusBar().showMessage(f"{holder} no connection URL connhub reads (postgres://…, "
                                                "redis://…, jdbc:…, host=… dbname=…)", 6000)
            return False
        spawn(self.create_flow(type_name, url=text))
        return True

    def search_edited(self, before: str, text: str) -> None:
        """A connection URL pasted into the filter box is quick connect, not a filter: the box is emptied
        (the URL may hold a password) and a new connection opens filled from it."""
        if pasted(before, text) and self.window.hub.types.type_for_url(text) is not None:
            self.window.search.setText(before)  # unlike undo, forgets the pasted text
            self.quick_connect(text)

    async def create_flow(self, type_name: str | None = None, url: str | None = None) -> InstanceRecord | None:
        from connhub.gui.editor.instance_dialog import InstanceDialog
        from connhub.gui.editor.type_picker import TypePicker

        w = self.window
        if type_name is None:
            picker = TypePicker(w.hub.registry, w)
            async with w._dialog(picker) as code:
                if code != TypePicker.DialogCode.Accepted or not picker.chosen:
                    return None
                type_name = picker.chosen
        dialog = InstanceDialog(w.hub, w.hub.types.entry(type_name), parent=w)
        if url:
            dialog.fill_from_pasted(url)
        async with w._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
            existing = dialog.open_existing
        if saved:
            self._saved(saved, f"Saved {saved.name}")
        elif existing is not None:  # the duplicate warning's "Open …": show the one already saved
            w.select(existing.id)
            return await self.edit_flow(existing)
        return saved

    async def edit_flow(self, record: InstanceRecord) -> InstanceRecord | None:
        from connhub.gui.editor.instance_dialog import InstanceDialog

        w = self.window
        if record.type not in w.hub.registry or not w.hub.types.entry(record.type).ok:
            show_error(w, "Cannot edit", f"The type {record.type!r} is not available: it may be disabled "
                       "or its plugin uninstalled.")
            return None
        dialog = InstanceDialog(w.hub, w.hub.types.entry(record.type), record, parent=w)
        async with w._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
            existing = dialog.open_existing
        if existing is not None:
            w.select(existing.id)
            return await self.edit_flow(existing)
        if saved:
            self._saved(saved, f"Saved {saved.name}")
        return saved

    async def duplicate(self, record: InstanceRecord) -> InstanceRecord | None:
        return await HubOp(self.window, "Cannot duplicate", self.window.hub.instances.duplicate, record.id).success(
            lambda copy: self._saved(copy, f"Duplicated as {copy.name}"))

    async def rename(self, instance_id: str, name: str) -> InstanceRecord | None:
        return await HubOp(self.window, "Not renamed", self.window.hub.instances.rename, instance_id, name).field(
            "name").success(lambda renamed: self._saved(renamed, f"Renamed to {renamed.name}"))

    async def set_environment(self, environment: str) -> None:
        w = self.window
        for record in w.selected_records():
            w.model.upsert(await background(w.hub.instances.set_environment, record.id, environment))
        w._current_changed()

    async def delete(self, record: InstanceRecord, confirmed: bool | None = None) -> bool:
        return await self.delete_many([record], confirmed)

    async def delete_many(self, records: list[InstanceRecord], confirmed: bool | None = None) -> bool:
        """Confirm, then delete each (keyring entries first). A production connection must be named to go."""
        w = self.window
        if confirmed is None:
            confirmed = await self.confirm_delete(records)
        if not confirmed:
            return False
        deleted = []
        for record in records:
            op = HubOp(w, "Not deleted", w.hub.instances.delete, record.id).worded(
                lambda exc, record=record: f"{record.name}: {exc}\n\nThe connection was kept.")
            await op
            if op.failed:
                break
            w.model.remove(record.id)
            deleted.append(record.name)
        w._update_empty_state()
        w._current_changed()
        if deleted:
            w.statusBar().showMessage(f"Deleted {', '.join(deleted)}", 4000)
        return len(deleted) == len(records)

    async def confirm_delete(self, records: list[InstanceRecord]) -> bool:
        from PySide6.QtWidgets import QInputDialog, QMessageBox  # set up on first use, not for the first paint

        w = self.window
        prod = [r for r in records if r.environment == "prod"]
        if len(records) == 1:
            text = (f"Delete “{records[0].name}”?\n\nIts saved secrets are removed from the keyring. "
                    "This cannot be undone.")
        else:
            names = "\n".join(f"  • {r.name}" + ("  (production)" if r.environment == "prod" else "")
                              for r in records[:12])
            more = f"\n  … and {len(records) - 12} more" if len(records) > 12 else ""
            text = (f"Delete these {len(records)} connections?\n\n{names}{more}\n\nTheir saved secrets are "
                    "removed from the keyring. This cannot be undone.")
        if prod:
            word = prod[0].name if len(prod) == 1 else "delete production"
            dialog = QInputDialog(w)
            dialog.setObjectName("confirmProdDelete")
            dialog.setWindowTitle("Delete production connection" + ("s" if len(prod) > 1 else ""))
            dialog.setLabelText(f"{text}\n\n⚠ Production. Type “{word}” to confirm:")
            dialog.setOkButtonText("Delete")
            async with w._dialog(dialog) as code:
                return code == QInputDialog.DialogCode.Accepted and dialog.textValue().strip() == word
        box = QMessageBox(QMessageBox.Icon.Question, "Delete connection" if len(records) == 1 else
                          "Delete connections", text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, w)
        box.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        async with w._dialog(box) as code:
            return code == QMessageBox.StandardButton.Yes

    async def settings_flow(self) -> None:
        """The dialog saves on OK itself (the database and the keyring off the GUI thread), so that a value it
        refuses keeps it open. App-level secrets are never read: the database says which ones are saved."""
        from connhub.gui.settings.dialog import SettingsDialog

        w = self.window
        hub = w.hub
        timeout, app_settings, concurrency, plugins = await background(
            lambda: (hub.settings.default_timeout, hub.app_config.all(), hub.settings.concurrency,
                     hub.plugin_hooks.overview()))
        dialog = SettingsDialog(timeout, str(hub.data_dir), w.vault_status, w, hub=hub,
                                app_types=hub.app_config.types(), app_settings=app_settings, concurrency=concurrency,
                                plugins=plugins)
        async with w._dialog(dialog) as code:
            pass
        if code == SettingsDialog.DialogCode.Accepted:
            w.statusBar().showMessage("Settings saved", 4000)
