"""GUI tests run without a screen; form-only fixtures live here."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from connhub.plugins.registry import Registry  # noqa: E402


@pytest.fixture(scope="session")
def builtin_types():
    """The real built-in manifests (an entry may carry an icon error; its manifest is still usable)."""
    registry = Registry.discover(plugins=False)
    return {entry.type: entry for entry in registry.entries() if entry.manifest is not None}


@pytest.fixture
def make_form(qtbot, builtin_types):
    """make_form("postgres") or make_form(specs=…, schema=…) → a CredentialForm owned by qtbot."""
    from connhub.gui.form import CredentialForm

    def make(type_name=None, *, specs=None, schema=None):
        if type_name is not None:
            entry = builtin_types[type_name]
            specs, schema = entry.specs, entry.manifest.credentials
        form = CredentialForm(specs, schema)
        qtbot.addWidget(form)
        return form

    return make
