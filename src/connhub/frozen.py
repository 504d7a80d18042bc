"""What changes when connhub runs from the PyInstaller bundle (the .deb): there is no entry-point metadata.

- keyring finds its backends through entry points, so inside a frozen app it may find none and fall back to
  its `fail` backend. `keyring_backend()` names the platform's real keyring explicitly instead.
- Third-party integration types are Python packages announced through entry points; nothing can be
  pip-installed into the bundle, so they are not supported there, and `connhub types` says so.

Qt-free and cheap to import; keyring is imported only when a backend is chosen (on the vault's worker thread).
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: The real keyring of each platform, by keyring's own name for it.
PLATFORM_BACKENDS = {
    "linux": "keyring.backends.SecretService.Keyring",
    "darwin": "keyring.backends.macOS.Keyring",
    "win32": "keyring.backends.Windows.WinVaultKeyring",
}

PLUGINS_UNSUPPORTED = ("note: this is the packaged connhub, which loads the built-in types only: third-party "
                       "types (the `connhub.integrations` entry-point group) need connhub installed with pip.")


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (it sets `sys.frozen`)."""
    return bool(getattr(sys, "frozen", False))


def keyring_backend() -> Any | None:
    """The keyring backend a frozen connhub uses, or None to leave the choice to keyring.

    None when not frozen, when PYTHON_KEYRING_BACKEND is set (keyring honours it), or when the platform's
    backend is not viable here (no D-Bus session, say): keyring then ends at its `fail` backend, which the
    vault refuses with its usual explanation. A backend named in keyring's own keyringrc.cfg is returned
    as configured. The vault still refuses null and plaintext backends, whichever way they were chosen.
    """
    if not is_frozen() or os.environ.get("PYTHON_KEYRING_BACKEND"):
        return None
    import keyring.core

    try:
        configured = keyring.core.load_config()
    except Exception:  # a broken keyringrc.cfg: fall through to the platform's keyring
        configured = None
    if configured is not None:
        return configured
    name = PLATFORM_BACKENDS.get(sys.platform)
    if name is None:
        return None
    try:
        return keyring.core.load_keyring(name)  # checks that the backend is viable here (RuntimeError if not)
    except Exception:
        return None
