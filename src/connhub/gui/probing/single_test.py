"""Testing the selected saved connection from the window: secrets asked first, stages shown, cancel at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connhub.gui.ops import background, load_integration, spawn

if TYPE_CHECKING:
    import asyncio

    from connhub.core.records import InstanceRecord
    from connhub.gui.shell.main_window import MainWindow


class SingleTest:
    def __init__(self, window: MainWindow):
        self.window = window
        self.task: asyncio.Task | None = None

    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start_selected(self) -> None:
        w = self.window
        if (record := w.selected()) is not None and not self.running() and not w.test_all.running:
            self.task = spawn(self.test(record))

    async def test(self, record: InstanceRecord):
        """Test a saved instance; its Status row then shows the outcome (with the hint when it failed)."""
        import asyncio

        from connhub.core.records import InstanceNotFound

        w = self.window
        self.task = task = asyncio.current_task()
        panel = w.detail.test_panel

        def mine() -> bool:  # a cancelled test must not touch the UI of a test started after it
            return self.task is task

        if needed := w.hub.secrets.needed(record):  # "ask every time": once per session, before a test
            if not await self.ask_secrets(record, needed):
                if mine():
                    self.task = None
                return None
        self._set_testing(True)
        panel.start()
        try:
            if record.type in w.hub.registry:
                await load_integration(w.hub.types.entry(record.type))
            result = await w.hub.prober.test_instance(record, on_stage=lambda stage: mine() and panel.set_stage(stage))
            updated = await background(w.hub.instances.find, record.id)
        except asyncio.CancelledError:
            if mine():
                panel.show_cancelled()
            return None
        except InstanceNotFound:  # removed by another window or `connhub remove` meanwhile
            w.model.remove(record.id)
            w._update_empty_state()
            w._current_changed()
            w.statusBar().showMessage(f"{record.name} was deleted elsewhere", 6000)
            return None
        finally:
            if mine():
                self.task = None
                self._set_testing(False)
        w.model.upsert(updated)
        if (current := w.selected()) is not None and current.id == record.id:
            w.detail.show_record(updated)
            panel.clear()  # the Status row now says the same, hint included: don't say it twice
            spawn(w._load_history(record.id))
        w.statusBar().showMessage(f"{record.name}: {'working' if result.ok else 'failed'}", 4000)
        return result

    async def ask_secrets(self, record: InstanceRecord, keys: list[str]) -> bool:
        """Prompt for an "ask every time" instance's secrets; they stay in memory until connhub quits."""
        from connhub.gui.editor.secret_prompt import SecretPrompt

        w = self.window
        if record.type not in w.hub.registry:
            return False
        prompt = SecretPrompt(record, [s for s in w.hub.types.entry(record.type).specs if s.key in keys], w)
        async with w._dialog(prompt) as code:
            values = prompt.values() if code == SecretPrompt.DialogCode.Accepted else None
        if values is None:
            return False
        w.hub.secrets.remember(record.id, values)
        return True

    def _set_testing(self, testing: bool) -> None:
        self.window.detail.set_testing(testing)
        self.window._update_actions()

    def cancel(self) -> None:
        """Stop the running test at once; its task unwinds in the background and leaves the UI alone."""
        if self.running():
            self.task.cancel()
            self.task = None
            self._set_testing(False)
            self.window.detail.test_panel.show_cancelled()
