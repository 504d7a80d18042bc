"""Every way a secret is written goes through one path: `Secrets._write` (journal, vault, row, settle).

A vault that refuses any write made outside that path is planted in a Hub, and every use case that writes a
secret is run through it: create, edit, rotate, switching the secret mode both ways, duplicate, delete, a
type's app-level secret, an import, and an OAuth token refresh. Each must reach the vault (or, for "ask every
time", must not), and only from inside the one path.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Mapping

import pytest

from connhub.core.records import VaultStatus
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.secrets import Secrets
from connhub.services.transfer import read_import


class GuardedVault:
    """The Vault protocol over a dict, which fails the test when written to from anywhere but Secrets._write
    (or the start-up repair, reconcile, which settles what a crash left)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.writes: list[tuple[str, str, tuple[str, ...]]] = []  # (operation, owner, fields)

    def _through_the_one_path(self) -> None:
        frame = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            if code.co_filename.endswith(("services/secrets.py", "services/reconcile.py")) and \
                    code.co_name in ("_write", "reconcile"):
                return
            frame = frame.f_back
        raise AssertionError("a secret was written outside Secrets._write")

    def status(self) -> VaultStatus:
        return VaultStatus(True, "tests.GuardedVault")

    def ensure_usable(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def store(self, owner: str, secrets: Mapping[str, str]) -> None:
        if secrets:
            self._through_the_one_path()
            self.writes.append(("store", owner, tuple(sorted(secrets))))
            self.items.update({(owner, k): v for k, v in secrets.items()})

    def fetch(self, owner: str, keys: Iterable[str]) -> dict[str, str]:
        return {k: self.items[(owner, k)] for k in keys if (owner, k) in self.items}

    def delete(self, owner: str, keys: Iterable[str]) -> list[str]:
        keys = [k for k in keys if (owner, k) in self.items]
        if keys:
            self._through_the_one_path()
            self.writes.append(("delete", owner, tuple(sorted(keys))))
            for key in keys:
                del self.items[(owner, key)]
        return keys

    def list_users(self) -> set[str] | None:
        return {f"{owner}:{key}" for owner, key in self.items}

    def owners(self) -> set[str]:
        return {owner for owner, _ in self.items}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def vault():
    return GuardedVault()


@pytest.fixture
def hub(tmp_path, registry, vault):
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=vault)
    yield hub
    hub.close()


@pytest.fixture
def paths(monkeypatch):
    """Counts the calls of the one write path."""
    calls = []
    original = Secrets._write

    def counted(self, owner, put, drop, commit, vault=None):
        calls.append((owner, tuple(sorted(put)), tuple(sorted(drop))))
        return original(self, owner, put, drop, commit, vault)

    monkeypatch.setattr(Secrets, "_write", counted)
    return calls


REDIS = {"host": "127.0.0.1", "port": 6379}


def test_the_guard_itself_fails_a_direct_write(vault):
    with pytest.raises(AssertionError, match="outside Secrets._write"):
        vault.store("someone", {"password": "pw"})


def test_create_edit_rotate_duplicate_and_delete_go_through_the_one_path(hub, vault, paths):
    record = hub.instances.create("redis", "cache", {**REDIS, "password": "first"})
    assert vault.items[(record.id, "password")] == "first"
    hub.instances.update(record.id, {**REDIS, "password": "rotated"})  # rotate
    assert vault.items[(record.id, "password")] == "rotated"
    copy = hub.instances.duplicate(record.id)
    assert vault.items[(copy.id, "password")] == "rotated"
    hub.instances.delete(copy.id)
    assert copy.id not in vault.owners()
    assert [owner for owner, _, _ in paths] == [record.id, record.id, copy.id, copy.id]
    assert ("delete", copy.id, ("password",)) in vault.writes


def test_switching_the_secret_mode_both_ways_goes_through_the_one_path(hub, vault, paths):
    record = hub.instances.create("redis", "cache", {**REDIS, "password": "pw"})
    hub.instances.update(record.id, dict(REDIS), secret_mode="session")
    assert record.id not in vault.owners()  # off the keyring…
    assert hub.secrets.known(hub.instances.find("cache")) == {"password": "pw"}  # …into memory
    hub.instances.update(record.id, dict(REDIS), secret_mode="keyring")
    assert vault.items[(record.id, "password")] == "pw"
    assert paths[-2] == (record.id, (), ("password",)) and paths[-1] == (record.id, ("password",), ())


def test_an_ask_every_time_instance_never_reaches_the_vault(hub, vault):
    record = hub.instances.create("redis", "cache", {**REDIS, "password": "pw"}, secret_mode="session")
    hub.instances.update(record.id, {**REDIS, "password": "rotated"})
    hub.instances.duplicate(record.id)
    hub.instances.delete(record.id)
    assert vault.writes == []


def test_app_level_secrets_are_journalled_and_go_through_the_one_path(hub, vault, paths, tmp_path):
    from tests.services.synthetic import make_acme

    acme = Hub(data_dir=tmp_path / "acme", registry=Registry.from_folders([make_acme(tmp_path / "types")]),
               vault=vault)
    try:
        acme.app_config.save("acme", {"cfg:client_secret": "app-s3cret"})
        assert vault.items[("app:acme", "cfg:client_secret")] == "app-s3cret"
        acme.app_config.save("acme", {}, unset=["cfg:client_secret"])
        assert "app:acme" not in vault.owners()
        assert [p[0] for p in paths] == ["app:acme", "app:acme"]
        assert acme.store.journal() == {}  # settled: nothing left for a later start to clean up
    finally:
        acme.close()


def test_an_import_goes_through_the_one_path(hub, vault, paths, tmp_path, registry):
    hub.instances.create("redis", "cache", {**REDIS, "password": "pw"})
    bundle = hub.transfer.export_bundle(hub.instances.list(), "correct horse battery")
    target = Hub(data_dir=tmp_path / "target", registry=registry, vault=vault)
    try:
        paths.clear()
        target.transfer.apply_import(target.transfer.plan_import(read_import(bundle, "correct horse battery")))
        imported = target.instances.find("cache")
        assert vault.items[(imported.id, "password")] == "pw"
        assert [p[0] for p in paths] == [imported.id]
    finally:
        target.close()


def test_an_oauth_refresh_goes_through_the_one_path(hub, vault, paths):
    from tests.services.oauth_server import fake_provider, play_browser

    with fake_provider() as provider:
        hub.app_config.save("gitlab", {"cfg:oauth_client_id": provider.client.client_id,
                                       "cfg:oauth_client_secret": provider.client.client_secret})
        values = {"base_url": provider.url, "auth_method": "oauth2"}

        async def sign_in():
            def browser(url):
                asyncio.get_running_loop().run_in_executor(None, play_browser, url, False)
            return await hub.oauth.sign_in_values("gitlab", values, browser, timeout=10)

        tokens = asyncio.run(sign_in())
        record = hub.instances.create("gitlab", "work", {**values, **tokens})
        vault.items[(record.id, "oauth_expires_at")] = "1000"  # expired, and connhub knows it
        provider.expire_all()
        paths.clear()
        result = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))
        assert result.ok, result.message
        assert vault.items[(record.id, "oauth_access_token")] == provider.tokens[-1].access_token
        assert [p[0] for p in paths] == [record.id]  # the refreshed tokens: through the one path
