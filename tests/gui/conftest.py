"""GUI tests run without a screen; the form and main-window fixtures they share live here."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import shiboken6  # noqa: E402

from connhub.gui.shell.main_window import MainWindow  # noqa: E402
from connhub.plugins.registry import Registry  # noqa: E402
from connhub.services.hub import Hub  # noqa: E402
from connhub.storage.vault import KeyringVault  # noqa: E402
from tests.gui.helpers import settle  # noqa: E402


@pytest.fixture(scope="session")
def builtin_types():
    """The real built-in manifests (an entry may carry an icon error; its manifest is still usable)."""
    registry = Registry.discover(plugins=False)
    return {entry.type: entry for entry in registry.entries() if entry.manifest is not None}


@pytest.fixture
def make_form(qtbot, builtin_types):
    """make_form("postgres") or make_form(specs=…, schema=…) → a CredentialForm owned by qtbot."""
    from connhub.gui.editor.form import CredentialForm

    def make(type_name=None, *, specs=None, schema=None):
        if type_name is not None:
            entry = builtin_types[type_name]
            specs, schema = entry.specs, entry.manifest.credentials
        form = CredentialForm(specs, schema)
        qtbot.addWidget(form)
        return form

    return make


@pytest.fixture
def make_window(qtbot, qloop, tmp_path, memory_keyring):
    """make_window(data_dir=…, backend=…, registry=…) → a shown MainWindow on its own Hub (the built-in types
    unless given a registry, e.g. one that found the plugins on sys.path now); all closed at teardown."""
    builtin = Registry.discover(plugins=False)
    made: list[tuple[Hub, MainWindow]] = []

    def make(data_dir: Path | None = None, backend=None, registry: Registry | None = None) -> MainWindow:
        hub = Hub(data_dir=data_dir or tmp_path / "data", registry=registry or builtin,
                  vault=KeyringVault(backend=memory_keyring if backend is None else backend))
        window = MainWindow(hub)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        # The keyring check and the start-up reconciliation begin right after the first paint: started, so
        # that settle() waits for them.
        qtbot.waitUntil(lambda: hasattr(window, "_keyring_check"))
        made.append((hub, window))
        return window

    yield make
    # pytest-qt has closed the windows (qtbot.addWidget) and asked Qt to delete them; the first event loop run
    # below may do it, so a window is only closed here if it still exists.
    settle(qtbot, qloop)
    for hub, window in made:
        if shiboken6.isValid(window):
            window.close()
    settle(qtbot, qloop)
    for hub, _window in made:
        hub.close()
