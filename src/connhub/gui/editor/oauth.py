"""The "Sign in with …" row of the credential form, for a type's OAuth method.

It stands where the access-token field would be and answers the form like a line edit (`text`, `setText`,
`textChanged`), so the form saves, validates and marks the token as saved without knowing about OAuth. The
sign-in itself is `connhub.services.oauth.sign_in_values`: the browser opens through `open_url`
(QDesktopServices by default; tests put a fake browser there), progress and the outcome show in the row, and
Cancel closes the loopback listener at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from connhub.gui.editor.form import SAVED_SECRET_PLACEHOLDER as SAVED

if TYPE_CHECKING:
    from connhub.plugins.registry import TypeEntry
    from connhub.services.hub import Hub

log = logging.getLogger("connhub.gui")


def open_in_browser(url: str) -> None:
    QDesktopServices.openUrl(QUrl(url))


class OAuthSignIn(QWidget):
    """A sign-in button, a Cancel button while waiting, and a status line; its "text" is the access token."""

    textChanged = Signal(str)  # noqa: N815 - the form connects to these as to a QLineEdit's
    editingFinished = Signal()  # noqa: N815

    def __init__(self, parent: QWidget | None = None, title: str = "Account"):
        super().__init__(parent)
        self.setObjectName("oauthSignIn")
        self._token = ""
        self._saved = False
        self._needs_reauth = False
        self._provider = "the provider"
        self._task: asyncio.Task | None = None
        self._hub: Hub | None = None
        self._entry: TypeEntry | None = None
        self._values: Callable[[], dict[str, Any]] = dict
        self._set_tokens: Callable[[dict[str, str]], None] = lambda _tokens: None
        #: How the browser is opened; replace it to drive the sign-in without a desktop (tests, CLI).
        self.open_url: Callable[[str], Any] = open_in_browser
        self.timeout: float | None = None

        self.sign_in_button = QPushButton("Sign in", self)
        self.sign_in_button.setObjectName("oauthSignInButton")
        self.sign_in_button.clicked.connect(self.start_sign_in)
        self.cancel_button = QPushButton("Cancel sign-in", self)
        self.cancel_button.setObjectName("oauthCancelButton")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.status = QLabel(self)
        self.status.setObjectName("oauthStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.setAccessibleName(title)
        self._show_state()

    # --- wiring (the instance dialog calls this once) ----------------------------------------------------------

    def attach(self, hub: Hub, entry: TypeEntry, values: Callable[[], dict[str, Any]],
               set_tokens: Callable[[dict[str, str]], None], needs_reauth: bool = False) -> None:
        self._hub, self._entry, self._values, self._set_tokens = hub, entry, values, set_tokens
        self._provider = entry.name
        self._needs_reauth = needs_reauth
        self._show_state()

    # --- the line-edit face the form uses ---------------------------------------------------------------------

    def text(self) -> str:
        return self._token

    def setText(self, text: str) -> None:  # noqa: N802
        if text == self._token:
            return
        self._token = text or ""
        self._show_state()
        self.textChanged.emit(self._token)

    def clear(self) -> None:
        self.setText("")

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        self._saved = text == SAVED
        self._show_state()

    def placeholderText(self) -> str:  # noqa: N802
        return SAVED if self._saved else ""

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _show_state(self, message: str | None = None) -> None:
        if self.busy:
            return
        again = self._needs_reauth or self._saved or bool(self._token)
        self.sign_in_button.setText(f"Sign in again with {self._provider}" if again
                                    else f"Sign in with {self._provider}")
        self.sign_in_button.setAccessibleName(self.sign_in_button.text())
        if message is not None:
            self.status.setText(message)
        elif self._token:
            self.status.setText("Signed in: save to keep it.")
        elif self._needs_reauth:
            self.status.setText(f"The {self._provider} sign-in has expired or was revoked: sign in again. The "
                                "connection and its settings are kept.")
        elif self._saved:
            self.status.setText("Signed in (the tokens are in the keyring).")
        else:
            self.status.setText("Not signed in.")
        self.setAccessibleDescription(self.status.text())

    # --- the flow ---------------------------------------------------------------------------------------------

    def start_sign_in(self) -> None:
        if self.busy or self._hub is None:
            return
        from connhub.gui.ops import spawn

        self._task = spawn(self.sign_in())

    async def sign_in(self) -> bool:
        """Run one sign-in; True when tokens were put in the form."""
        from connhub.core.oauth import DEFAULT_SIGN_IN_TIMEOUT, OAuthError

        if self._task is None:
            self._task = asyncio.current_task()
        self.sign_in_button.setEnabled(False)
        self.cancel_button.show()
        self.status.setText(f"Opening {self._provider} in your browser…")
        outcome: str | None = None
        ok = False
        try:
            values = self._values()
            tokens = await self._hub.oauth.sign_in_values(self._entry.type, values, self.open_url,
                                          self.timeout or DEFAULT_SIGN_IN_TIMEOUT, self.status.setText)
            self.status.setText("Checking the account…")
            user = await self._who(values, tokens)
        except asyncio.CancelledError:
            outcome = "Sign-in cancelled: nothing was saved."
        except OAuthError as exc:
            outcome = str(exc)
        except Exception as exc:  # noqa: BLE001 - any other failure is shown, by type only
            log.error("sign-in failed: %s", type(exc).__name__)
            outcome = f"Sign-in failed ({type(exc).__name__})"
        else:
            self._set_tokens(tokens)
            self._needs_reauth = False
            self.setText(tokens.get(self._entry.manifest.oauth2.access_token_field, ""))
            outcome = f"Signed in as {user}: save to keep it." if user else "Signed in: save to keep it."
            ok = True
        finally:
            self._task = None
            self.cancel_button.hide()
            self.sign_in_button.setEnabled(True)
            self._show_state(outcome)
            self.editingFinished.emit()
        return ok

    async def _who(self, values: dict[str, Any], tokens: dict[str, str]) -> str | None:
        """The account the tokens belong to, from the type's own test (its `user` detail)."""
        result = await self._hub.prober.test_values(self._entry.type, {**values, **tokens})
        return result.details.get("user") if result.ok else None

    def cancel(self) -> None:
        if self.busy:
            self._task.cancel()


def attach_sign_in(form, hub: Hub, entry: TypeEntry, needs_reauth: bool = False) -> OAuthSignIn | None:
    """Connect the form's sign-in row (if the type has one) to the hub; the dialog calls this once."""
    spec = entry.manifest.oauth2 if entry.manifest else None
    if spec is None:
        return None
    widget = form.field_widget(spec.access_token_field)
    if not isinstance(widget, OAuthSignIn):
        return None

    def set_tokens(tokens: dict[str, str]) -> None:
        for key in (spec.refresh_token_field, spec.expires_at_field):
            form.field_widget(key).setText(tokens.get(key, ""))

    widget.attach(hub, entry, form.values, set_tokens, needs_reauth)
    return widget
