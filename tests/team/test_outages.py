"""Token missing, expired or revoked, OpenBao down, PostgreSQL down mid-session: a clear, classified error within
the timeout, nothing written anywhere else, and everything working again when the part is back."""

from __future__ import annotations

import asyncio
import time

import pytest

from connhub.core.errors import ErrorClass
from connhub.core.records import CatalogUnavailable, VaultError
from connhub.services.hub import Hub
from connhub.services.team import owner
from connhub.storage.vault import KeyringVault
from tests.support.keyrings import MemoryKeyring
from tests.support.openbao import Outage


def member(tmp_path, url, bao_addr, token, keyring=None):
    """A member's Hub, joined (its own data folder and keyring), rebuilt as the next start would build it."""
    keyring = keyring or MemoryKeyring()
    vault = KeyringVault(backend=keyring)
    Hub(data_dir=tmp_path / "data", vault=vault).team.join(url, bao_addr, "secret", token)
    return Hub(data_dir=tmp_path / "data", vault=vault), keyring


def redis_values(user, password):
    return {"host": "127.0.0.1", "port": 6379, "username": user, "password": password}


def run_test(hub, record):
    started = time.monotonic()
    result = asyncio.run(hub.prober.test_instance(record))
    return result, time.monotonic() - started


def test_openbao_down_then_back(tmp_path, bao, catalog, redis_user):
    url, catalog_id, _ = catalog
    user, password, _client = redis_user
    relay = Outage("127.0.0.1", int(bao.addr.rsplit(":", 1)[1]))
    try:
        hub, keyring = member(tmp_path, url, f"http://127.0.0.1:{relay.port}", bao.member_token(catalog_id))
        record = hub.instances.create("redis", "bao-down", redis_values(user, password), secret_mode="shared")
        relay.down()
        result, took = run_test(hub, record)
        assert not result.ok and result.error_class is ErrorClass.CONFIG and result.failed_stage == "secrets"
        assert "cannot be reached" in result.message and took < 8
        assert [r.name for r in hub.instances.list()] == ["bao-down"]  # the catalog still opens
        with pytest.raises(VaultError, match="nothing was saved elsewhere"):
            hub.instances.create("redis", "while-down", redis_values(user, password), secret_mode="shared")
        assert not hub.instances.name_taken("while-down")
        assert not any(password in v for v in keyring.secrets_of().values())  # no fallback to the keyring
        relay.up()
        assert run_test(hub, record)[0].ok  # back: the secret was kept
    finally:
        relay.close()


def test_token_revoked_expired_missing_and_rejoining(tmp_path, bao, catalog, redis_user):
    url, catalog_id, _ = catalog
    user, password, _client = redis_user
    token = bao.member_token(catalog_id)
    hub, keyring = member(tmp_path / "one", url, bao.addr, token)
    record = hub.instances.create("redis", "revoked", redis_values(user, password), secret_mode="shared")
    assert run_test(hub, record)[0].ok
    bao.bao("token", "revoke", token)
    result, _ = run_test(hub, record)
    assert not result.ok and "refused the token" in result.message and token not in result.message
    with pytest.raises(VaultError, match="refused the token"):
        hub.instances.update(record.id, redis_values(user, "new-value"))
    assert hub.instances.get(record.id).version == record.version  # nothing written

    hub, keyring = member(tmp_path / "one", url, bao.addr, bao.member_token(catalog_id), keyring)  # rejoined
    assert run_test(hub, record)[0].ok

    short = bao.member_token(catalog_id, ttl="2s")
    hub, _ = member(tmp_path / "two", url, bao.addr, short)
    time.sleep(2.5)
    result, _ = run_test(hub, record)
    assert not result.ok and "refused the token" in result.message

    keyring.entries.pop(("connhub", f"{owner(tmp_path / 'one' / 'data')}:openbao-token"))
    hub = Hub(data_dir=tmp_path / "one" / "data", vault=KeyringVault(backend=keyring))
    result, _ = run_test(hub, hub.instances.get(record.id))
    assert not result.ok and "No OpenBao token in your keyring" in result.message


def test_the_catalog_database_down_mid_session_and_back(tmp_path, bao, catalog, cli):
    url, catalog_id, _ = catalog
    relay = Outage("127.0.0.1", 5432)
    try:
        via_relay = url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
        hub, _ = member(tmp_path, via_relay, bao.addr, bao.member_token(catalog_id))
        record = hub.instances.create("redis", "pg-down", {"host": "127.0.0.1", "port": 6379, "password": "pw"},
                                      secret_mode="shared")
        relay.down()
        started = time.monotonic()
        with pytest.raises(CatalogUnavailable, match="does not answer"):
            hub.instances.list()
        assert time.monotonic() - started < 12
        listed = cli(tmp_path / "data", "list")
        assert listed.returncode == 1 and "does not answer" in listed.stderr and "nothing was changed" in listed.stderr
        assert "Traceback" not in listed.stderr
        relay.up()
        assert "pg-down" in [r.name for r in hub.instances.list()]  # back, nothing lost
        assert hub.secrets.read(hub.instances.get(record.id)) == {"password": "pw"}
    finally:
        relay.close()
