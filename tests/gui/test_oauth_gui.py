"""The "Sign in with GitLab" row of the instance dialog, against the real authlib authorization server.

The browser is the only fake: `open_url` hands the URL to a thread that plays the browser (GET the
authorization URL, follow the redirect to connhub's loopback listener), as a real browser would from its own
process.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PySide6.QtCore import Qt

from connhub.gui.editor.instance_dialog import InstanceDialog
from connhub.gui.editor.oauth import OAuthSignIn
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.services.oauth_server import fake_provider, play_browser


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def provider():
    with fake_provider() as running:
        yield running


@pytest.fixture
def hub(tmp_path, registry, memory_keyring, provider):
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
    hub.app_config.save("gitlab", {"cfg:oauth_client_id": provider.client.client_id,
                                    "cfg:oauth_client_secret": provider.client.client_secret})
    yield hub
    hub.close()


class Browser:
    def __init__(self, follow: bool = True):
        self.follow = follow
        self.urls: list[str] = []

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        if self.follow:
            threading.Thread(target=play_browser, args=(url,), daemon=True).start()


def open_dialog(qtbot, hub, record=None) -> InstanceDialog:
    dialog = InstanceDialog(hub, hub.types.entry("gitlab"), record)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def choose_oauth(dialog: InstanceDialog, base_url: str) -> OAuthSignIn:
    dialog.form.field_widget("base_url").setText(base_url)
    method = dialog.form.field_widget("auth_method")
    method.setCurrentIndex(method.findData("oauth2"))
    return dialog.form.field_widget("oauth_access_token")


def click_sign_in(qtbot, row: OAuthSignIn) -> None:
    assert row.sign_in_button.isVisible() and row.sign_in_button.isEnabled()
    qtbot.mouseClick(row.sign_in_button, Qt.MouseButton.LeftButton)


def test_sign_in_then_save_stores_the_tokens_in_the_keyring(qtbot, qloop, hub, provider, memory_keyring):
    dialog = open_dialog(qtbot, hub)
    assert not dialog.form.is_field_visible("oauth_access_token")  # the token method is the default
    dialog.name_edit.setText("work")
    row = choose_oauth(dialog, provider.url)
    assert row.isVisible() and not dialog.form.is_field_visible("token")
    assert not dialog.form.is_field_visible("oauth_refresh_token")  # kept, never shown
    assert row.sign_in_button.text() == "Sign in with GitLab" and row.status.text() == "Not signed in."

    row.open_url = Browser()
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: "Signed in as jsmith" in row.status.text(), timeout=10_000)
    assert not row.cancel_button.isVisible() and row.sign_in_button.isEnabled()

    task = qloop.create_task(dialog.save())
    qtbot.waitUntil(task.done, timeout=5000)
    record = hub.instances.find("work")
    assert record.config == {"base_url": provider.url, "auth_method": "oauth2", "verify_tls": True}
    secrets = hub.secrets.known(record)
    assert secrets["oauth_access_token"] == provider.tokens[-1].access_token
    assert secrets["oauth_refresh_token"] == provider.tokens[-1].refresh_token
    test = qloop.create_task(hub.prober.test_instance(record, timeout=5))
    qtbot.waitUntil(test.done, timeout=5000)
    assert test.result().ok


def test_progress_and_cancel_close_the_listener(qtbot, qloop, hub, provider):
    dialog = open_dialog(qtbot, hub)
    row = choose_oauth(dialog, provider.url)
    browser = Browser(follow=False)  # the user never finishes in the browser
    row.open_url = browser
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: bool(browser.urls), timeout=5000)
    assert row.status.text() == "Waiting for the browser…"
    assert row.cancel_button.isVisible() and not row.sign_in_button.isEnabled()

    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in row.status.text(), timeout=5000)
    assert row.sign_in_button.isEnabled() and not row.cancel_button.isVisible() and row.text() == ""
    redirect = parse_qs(urlsplit(browser.urls[0]).query)["redirect_uri"][0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(redirect + "?code=x&state=y", timeout=2)


def test_missing_client_id_points_to_settings(qtbot, qloop, hub, provider):
    hub.app_config.save("gitlab", {}, unset=["cfg:oauth_client_id"])
    dialog = open_dialog(qtbot, hub)
    row = choose_oauth(dialog, provider.url)
    browser = Browser()
    row.open_url = browser
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: "Settings" in row.status.text(), timeout=5000)
    assert "OAuth application ID" in row.status.text() and browser.urls == []


def test_denied_consent_is_shown(qtbot, qloop, hub, provider):
    provider.consent = "deny"
    dialog = open_dialog(qtbot, hub)
    row = choose_oauth(dialog, provider.url)
    row.open_url = Browser()
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: "declined" in row.status.text(), timeout=10_000)
    assert row.text() == ""


def test_instance_needing_reauth_offers_sign_in_again(qtbot, qloop, hub, provider, memory_keyring):
    dialog = open_dialog(qtbot, hub)
    dialog.name_edit.setText("work")
    row = choose_oauth(dialog, provider.url)
    row.open_url = Browser()
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: "Signed in as" in row.status.text(), timeout=10_000)
    task = qloop.create_task(dialog.save())
    qtbot.waitUntil(task.done, timeout=5000)

    # the refresh is refused before a test: the instance is kept and flagged
    record = hub.instances.find("work")
    provider.refuse_refresh = True
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")
    test = qloop.create_task(hub.prober.test_instance(record, timeout=5))
    qtbot.waitUntil(test.done, timeout=5000)
    assert hub.instances.find("work").needs_reauth

    provider.refuse_refresh = False
    again = open_dialog(qtbot, hub, hub.instances.find("work"))
    row = again.form.field_widget("oauth_access_token")
    assert row.sign_in_button.text() == "Sign in again with GitLab"
    assert "sign in again" in row.status.text() and "kept" in row.status.text()
    row.open_url = Browser()
    click_sign_in(qtbot, row)
    qtbot.waitUntil(lambda: "Signed in as jsmith" in row.status.text(), timeout=10_000)
    task = qloop.create_task(again.save())
    qtbot.waitUntil(task.done, timeout=5000)
    saved = hub.instances.find("work")
    assert not saved.needs_reauth and saved.id == record.id
    assert hub.secrets.known(saved)["oauth_access_token"] == provider.tokens[-1].access_token


def test_detail_pane_offers_sign_in_again_after_a_refused_refresh(qtbot, qloop, make_window, provider,
                                                                   memory_keyring):

    window = make_window()
    hub = window.hub
    hub.app_config.save("gitlab", {"cfg:oauth_client_id": provider.client.client_id,
                                    "cfg:oauth_client_secret": provider.client.client_secret})
    values = {"base_url": provider.url, "auth_method": "oauth2"}
    signing = qloop.create_task(hub.oauth.sign_in_values("gitlab", values, Browser(), timeout=10))
    qtbot.waitUntil(signing.done, timeout=10_000)
    record = hub.instances.create("gitlab", "work", {**values, **signing.result()})
    window.reload()
    window.select(record.id)
    assert not window.detail.reauth_button.isVisible()

    provider.refuse_refresh = True
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")
    test = qloop.create_task(window.test(window.selected()))
    qtbot.waitUntil(test.done, timeout=10_000)
    assert test.result().error_class == "auth"
    assert "sign in again" in window.detail.status_detail.text()
    assert window.detail.reauth_button.isVisible() and window.detail.reauth_button.isEnabled()

    qtbot.mouseClick(window.detail.reauth_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, InstanceDialog) and window.active_dialog.isVisible())
    dialog = window.active_dialog
    row = dialog.form.field_widget("oauth_access_token")
    assert row.isVisible() and row.sign_in_button.text() == "Sign in again with GitLab"
    dialog.reject()
    qtbot.waitUntil(lambda: window.active_dialog is None)
    assert hub.instances.find("work").needs_reauth  # nothing changed by looking
